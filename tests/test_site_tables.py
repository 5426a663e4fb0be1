"""Wide tables show what they hide, on a laptop (1400×900) and a phone (390×844): a table wider than
its box keeps its identifying column in view (sticky) and shows a shadow at the edge it can scroll to;
no table hides more than 10 % of its width without that cue. On a phone the leaderboard and the
comparison tables show their key columns (variant, study, the study's measure) with no sideways
scroll, the others one tap away. The interactive charts that replace a PNG where a reader wants to
point (the index's Pareto scatter, a confusion matrix, the lr × wd heat map, the roofline) draw."""
from __future__ import annotations

from urllib.parse import urljoin

import pytest

pytestmark = pytest.mark.xdist_group("site")  # with test_site.py: one site build per worker
PAGES = ("", "studies/optimizer_comparison/", "studies/lr_wd_grid/", "studies/architecture_comparison/",
         "studies/batch_size_noise/variants/", "performance/")
VIEWPORTS = {"laptop": {"width": 1400, "height": 900}, "phone": {"width": 390, "height": 844}}
MAX_HIDDEN_UNCUED = 0.10

#: Per table: the share of its width out of view, whether the right-edge cue shows, whether its first
#: cell stays put when the box scrolls (sticky), and its header texts.
_TABLES = """() => [...document.querySelectorAll("article table")].filter(t => t.offsetParent !== null).map(t => {
  const box = t.closest(".md-typeset__scrollwrap") || t.parentElement;
  const frame = t.closest(".table-frame");
  const first = t.tHead && t.tHead.rows[0] ? t.tHead.rows[0].cells[0] : null;
  return {hidden: Math.max(0, box.scrollWidth - box.clientWidth) / Math.max(1, box.scrollWidth),
          cue: !!frame && frame.classList.contains("more-right") && getComputedStyle(frame, "::after").opacity === "1",
          sticky: !!first && getComputedStyle(first).position === "sticky",
          heads: t.tHead ? [...t.tHead.rows[0].cells].filter(c => c.offsetParent !== null).map(c => c.textContent.trim()) : []};
})"""


def _open(page, base: str, rel: str) -> None:
    page.goto(urljoin(base, rel), wait_until="load")
    page.wait_for_function("() => [...document.querySelectorAll('article table')].every(t => t.dataset.wired)")


@pytest.mark.parametrize("size", tuple(VIEWPORTS))
def test_no_table_hides_much_of_itself_without_a_cue(browser, site, size):
    _, base = site
    # The edge shadows fade in over .15 s; a reader who asks for reduced motion gets them at once, so the
    # computed opacity is the shadow's final one as soon as the table is wired.
    context = browser.new_context(viewport=VIEWPORTS[size], reduced_motion="reduce")
    page = context.new_page()
    uncued, counted = [], 0
    for rel in PAGES:
        _open(page, base, rel)
        for i, t in enumerate(page.evaluate(_TABLES)):
            counted += 1
            if t["hidden"] > MAX_HIDDEN_UNCUED and not (t["cue"] and t["sticky"]):
                uncued.append(f"/{rel} table {i + 1} ({', '.join(t['heads'][:3])}…): {t['hidden']:.0%} hidden, "
                              f"cue {t['cue']}, sticky first column {t['sticky']}")
    context.close()
    print(f"\n{size}: {counted} tables on {len(PAGES)} pages")
    assert counted and not uncued, "\n".join(uncued)


def test_a_phone_shows_the_leaderboards_study_and_measure_without_scrolling(browser, site):
    _, base = site
    context = browser.new_context(viewport=VIEWPORTS["phone"])
    page = context.new_page()
    for rel, want in (("", ("variant", "test accuracy (%)", "study")),
                      ("studies/optimizer_comparison/", ("variant", "test accuracy (%)"))):
        _open(page, base, rel)
        tables = [t for t in page.evaluate(_TABLES) if set(want) <= set(t["heads"])]
        assert tables, f"/{rel}: no table shows {want} on a phone"
        key = tables[-1] if rel == "" else tables[0]  # the leaderboard is the index's last such table
        assert key["hidden"] <= MAX_HIDDEN_UNCUED, (rel, key)
        assert page.locator("button.cols-toggle").count() >= 1
    # One tap shows every column again (and then the table may scroll, with its cue).
    _open(page, base, "")
    button = page.locator("button.cols-toggle").last
    shown = len(page.evaluate(_TABLES)[-1]["heads"])
    button.click()
    assert len(page.evaluate(_TABLES)[-1]["heads"]) > shown
    context.close()


def test_the_charts_a_reader_points_at_draw(browser, site):
    """Pareto (index), lr × wd heat map, a confusion matrix and the roofline: drawn, no exception."""
    _, base = site
    context = browser.new_context(viewport=VIEWPORTS["laptop"])
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    for rel, spec in (("", "pareto.vl.json"), ("studies/lr_wd_grid/", "grid_heatmap.vl.json"),
                      ("studies/mlp_baseline/", "confusion_default.vl.json"), ("performance/", "roofline.vl.json")):
        page.goto(urljoin(base, rel), wait_until="load")
        box = page.locator(f".interactive-chart:has(a.chart-spec[href$='{spec}'])")
        assert box.count() == 1, f"/{rel}: no chart of {spec}"
        box.scroll_into_view_if_needed()  # a chart is drawn as it nears the viewport
        page.wait_for_function("b => b.classList.contains('chart-drawn') || b.classList.contains('chart-failed')",
                               arg=box.element_handle(), timeout=30_000)
        assert "chart-drawn" in box.get_attribute("class"), f"/{rel}: {spec} not drawn"
        assert box.locator("svg").count() >= 1
    context.close()
    assert not errors, errors


def test_a_chart_is_drawn_when_it_nears_the_viewport(browser, site):
    """The index's Pareto chart, several screens down, is not drawn (nor Vega loaded) at load; scrolled
    to, it is drawn. Drawing every chart at load was most of a page's main-thread time on a phone."""
    _, base = site
    context = browser.new_context(viewport=VIEWPORTS["laptop"])
    page = context.new_page()
    page.goto(base, wait_until="load")
    box = page.locator(".interactive-chart:has(a.chart-spec[href$='pareto.vl.json'])")
    top = box.evaluate("b => b.getBoundingClientRect().top")
    assert top > 2 * VIEWPORTS["laptop"]["height"], f"the Pareto chart is only {top:.0f} px down: no test of laziness"
    page.wait_for_timeout(1500)
    assert "chart-drawn" not in box.get_attribute("class")
    assert page.evaluate("() => typeof window.vegaEmbed") == "undefined"
    box.scroll_into_view_if_needed()
    page.wait_for_function("b => b.classList.contains('chart-drawn') || b.classList.contains('chart-failed')",
                           arg=box.element_handle(), timeout=30_000)
    assert "chart-drawn" in box.get_attribute("class")
    context.close()
