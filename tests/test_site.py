"""The published site: the Pages workflow is a valid GitHub workflow, and the built site works in a
real browser (headless Chromium driven by Playwright): every page loads without console errors, every
image loads, no internal link is broken, a table sorts on click, search finds a study, the lightbox
opens, the first click sorts a column descending and a long table folds its rest, figures carry
numbered captions. A screenshot of each page lands in ``.shots/`` (git-ignored; the README's comes from there).
Every page at 1400 and 390 px: no horizontal overflow, nothing loaded from another host, lazy images
with their sizes, multi-panel figures shown at ≥ 60 % of their drawn width; with the network blocked,
every interactive chart draws and toggling a variant changes it; a CSV under every table of a study
page and a link to each variant's page; search keeps "resnet-50" whole; the site under 12 MB with no
PNG over 300 KB.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urldefrag, urljoin, urlparse

import pytest

# One xdist worker runs this module (``--dist loadgroup``): the site is built once, and only one test
# writes the screenshots under .shots/.
pytestmark = pytest.mark.xdist_group("site")
REPO = Path(__file__).resolve().parents[1]
SHOTS = REPO / ".shots"
WIDTHS = (1400, 390)  # a laptop and a phone, CSS pixels
MIN_SHOWN = 0.6  # a figure with more than one panel is shown at least this share of its drawn width
MAX_SITE_BYTES = 12 * 1024 * 1024
MAX_PNG_BYTES = 300 * 1024


def test_pages_workflow_matches_the_github_workflow_schema():
    exe = shutil.which("check-jsonschema", path=os.path.dirname(sys.executable)) or shutil.which("check-jsonschema")
    if exe is None:
        pytest.skip("check-jsonschema is not installed (it comes with the dev extra)")
    wf = REPO / ".github" / "workflows" / "pages.yml"
    out = subprocess.run([exe, "--builtin-schema", "vendor.github-workflows", str(wf)], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    text = wf.read_text(encoding="utf-8")
    for step in ("actions/checkout", "invoke render", "mkdocs build --strict", "actions/upload-pages-artifact",
                 "actions/deploy-pages"):
        assert step in text, step
    assert "pages: write" in text and "id-token: write" in text


def _pages(root: Path) -> list[str]:
    """Every built page as a URL path, index first."""
    pages = sorted(p.relative_to(root).as_posix() for p in root.glob("**/index.html")
                   if not p.relative_to(root).as_posix().startswith(("assets/", "search/")))
    return sorted(pages, key=lambda p: (p != "index.html", p))


def test_every_page_loads_cleanly_in_a_real_browser(walk):
    assert len(walk.pages) >= 3
    assert not walk.loads, "\n".join(walk.loads)  # a page that did not answer 2xx, images that did not load
    assert not walk.errors, "\n".join(walk.errors)
    bad = {u: s for u, (s, _) in walk.links.items() if s >= 400}
    assert not bad, f"broken internal links: {bad}"
    print(f"\nbrowser test: {len(walk.pages)} pages, {walk.images} images, {len(walk.links)} internal links; "
          f"screenshots in {SHOTS}")


def test_a_table_sorts_on_click(site, browser):
    _, base = site
    page = browser.new_page()
    page.goto(urljoin(base, "studies/dropout_ablation/"), wait_until="networkidle")
    table = page.locator("article table").first
    header = table.locator("th", has_text="test accuracy").first
    column = f"tbody tr td:nth-child({header.evaluate('th => th.cellIndex') + 1})"
    header.click()
    assert header.get_attribute("aria-sort") == "descending"  # best first
    first = table.locator(column).all_inner_texts()
    means = [float(t.split()[0]) for t in first]
    assert means == sorted(means, reverse=True), first
    header.click()
    assert table.locator(column).all_inner_texts() == list(reversed(first))


def test_a_long_table_shows_its_top_rows_and_ranks_sort_from_one(site, browser):
    """The index leaderboard shows its first rows and a button for the rest; its rank column sorts
    ascending on the first click (rank 1 on top), a measure descending."""
    _, base = site
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.goto(base, wait_until="networkidle")
    table = page.locator("article table", has=page.locator("th", has_text="FLOPs")).first
    rows = table.locator("tbody tr")
    total = rows.count()
    assert total > 20
    visible = lambda: sum(1 for i in range(total) if rows.nth(i).is_visible())  # noqa: E731
    assert visible() < total
    button = page.locator("button.rows-toggle").first
    assert str(total) in button.inner_text()
    button.click()
    assert visible() == total
    rank = table.locator("th", has_text="#").first
    rank.click()
    assert rank.get_attribute("aria-sort") == "ascending"
    assert table.locator("tbody tr td:nth-child(1)").first.inner_text().strip() == "1"


def test_figures_carry_visible_numbered_captions(site, browser):
    _, base = site
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.goto(urljoin(base, "studies/failed_models/"), wait_until="networkidle")
    captions = page.locator("article figure.report-figure figcaption")
    assert captions.count() >= 2
    texts = captions.all_inner_texts()
    assert [t.split(":")[0] for t in texts] == [f"Figure {k}" for k in range(1, len(texts) + 1)]
    assert "diagnosis" in texts[0]  # the description the alt text holds
    assert page.locator("article figure.report-figure a.glightbox").count() == captions.count()


def test_search_finds_a_study_by_name(site, browser):
    _, base = site
    page = browser.new_page()
    page.goto(base, wait_until="networkidle")
    page.locator("input.md-search__input").click(force=True)  # the header overlays it until focused
    page.keyboard.type("dropout", delay=20)  # typed, so Material's search worker sees key events
    result = page.locator(".md-search-result__item", has_text="Dropout ablation").first
    result.wait_for(timeout=10000)
    assert "dropout_ablation" in result.locator("a").first.get_attribute("href")


def test_a_figure_opens_in_the_lightbox(site, browser):
    _, base = site
    page = browser.new_page()
    page.goto(urljoin(base, "studies/dropout_ablation/"), wait_until="networkidle")
    page.locator("a.glightbox:visible").first.click()  # (a static figure behind an interactive chart is hidden)
    page.locator(".gslide-image img").first.wait_for(state="visible", timeout=10000)


def test_the_tutorial_spec_is_valid(tmp_path):
    """The spec the "Write a study" page tells a newcomer to write loads, expands and names real variants."""
    import re

    from reportgen.spec.catalog import load_spec
    from reportgen.spec.expand import expand

    code = re.findall(r"```python\n(.*?)```", (REPO / "docs" / "tutorial.md").read_text(encoding="utf-8"), re.S)[0]
    path = tmp_path / "hidden_width.py"
    path.write_text(code, encoding="utf-8")
    spec = load_spec(path)
    assert len(expand(spec.study, spec.name, str(path))) == 9


def test_reference_pages_cover_every_spec_field(tmp_path):
    from reportgen.report.pages import reference
    from reportgen.report.pages.render import render_reference

    from reportgen.cli import parser

    render_reference(tmp_path, parser())
    page = (tmp_path / "reference" / "spec.md").read_text(encoding="utf-8")
    for model in reference.SPEC_MODELS:
        assert f"## {model.__name__}" in page
        for name in model.model_fields:
            assert f"`{name}`" in page, f"{model.__name__}.{name}"
    assert "reportgen run" in (tmp_path / "reference" / "cli.md").read_text(encoding="utf-8")
    assert "`history`" in (tmp_path / "reference" / "results.md").read_text(encoding="utf-8")


_LAYOUT = """() => {
  const doc = document.documentElement;
  const foreign = [...document.querySelectorAll('script[src], link[rel~="stylesheet"][href]')]
    .map(e => e.src || e.href).filter(u => new URL(u, location.href).origin !== location.origin);
  const imgs = [...document.querySelectorAll("article img")];
  const text = (document.querySelector("article") || document.body).innerText;
  return {overflow: doc.scrollWidth - doc.clientWidth, foreign, emoji: /[\u2705\u274c\u2796\u23f3]/u.test(text),
          unsized: imgs.filter(i => !(i.getAttribute("width") && i.getAttribute("height")
                                      && i.getAttribute("loading") === "lazy")).map(i => i.src)};
}"""

# Shown width of each multi-panel figure: its box when visible; when hidden (another tab, a closed
# block) the width it would get, the content box of its nearest visible ancestor (images are at most
# 100 % wide). A static figure an interactive chart replaces on screen is not shown.
_FIGURES = """() => [...document.querySelectorAll("article img[data-panels]")]
  .filter(i => +i.dataset.panels > 1 && !i.closest(".interactive-chart.chart-drawn .chart-static"))
  .map(i => {
    const drawn = +i.getAttribute("width");
    let shown = i.getBoundingClientRect().width;
    if (!shown) {
      let a = i.parentElement;
      while (a && !a.getBoundingClientRect().width) a = a.parentElement;
      const cs = getComputedStyle(a);
      shown = Math.min(drawn, a.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight));
    }
    return {src: i.getAttribute("src").split("/").slice(-2).join("/"), panels: +i.dataset.panels, drawn, shown};
  })"""


@dataclass
class _Walk:
    """What one visit of every page of the site recorded; each test asserts on its part. Every list
    holds the messages of what failed, each naming the page."""

    pages: list[str]
    charted: list[str] = field(default_factory=list)  # pages with an interactive chart
    loads: list[str] = field(default_factory=list)  # HTTP status not 2xx, images that did not load
    errors: list[str] = field(default_factory=list)  # console errors and uncaught exceptions
    images: int = 0
    links: dict[str, tuple[int, int]] = field(default_factory=dict)  # internal link → (status, lines)
    layout: list[str] = field(default_factory=list)  # overflow, foreign scripts, unsized images, emoji
    outside: list[tuple[int, str, str]] = field(default_factory=list)  # (width, page, URL) to another host
    small: list[str] = field(default_factory=list)  # multi-panel figures shown too small
    charts: list[str] = field(default_factory=list)  # charts not drawn, legends missing or inert
    chart_errors: list[str] = field(default_factory=list)  # uncaught exceptions on a page with a chart
    tables: dict[str, tuple[int, list[str], list[str]]] = field(default_factory=dict)  # study page →
    # (tables, their CSV links, links under the study's folder)


@pytest.fixture(scope="module")
def walk(site, browser) -> _Walk:
    """Every page visited once per width (``WIDTHS``) with the network blocked, recording what the
    browser tests check: at the first width all of it (and a screenshot), at the others the layout.

    The block is a proxy that refuses every connection (a bound port nobody listens on); the local
    server is never proxied. Request routing would block as well but turns the browser's cache off,
    which fetches every script and stylesheet again on every page."""
    from playwright.sync_api import Error

    root, base = site
    record = _Walk(_pages(root))
    record.charted = [rel for rel in record.pages if "interactive-chart" in (root / rel).read_text(encoding="utf-8")]
    SHOTS.mkdir(exist_ok=True)
    with socket.socket() as refuse:
        refuse.bind(("127.0.0.1", 0))
        proxy = {"server": f"http://127.0.0.1:{refuse.getsockname()[1]}", "bypass": "127.0.0.1"}
        current = [""]  # the page being visited, for the event handlers
        for width in WIDTHS:
            context = browser.new_context(viewport={"width": width, "height": 900}, proxy=proxy)

            def request(r, width=width):
                if urlparse(r.url).scheme in ("http", "https", "ws", "wss") and not r.url.startswith(base):
                    record.outside.append((width, current[0], r.url))

            context.on("request", request)
            page = context.new_page()
            if width == WIDTHS[0]:
                page.on("console", lambda m: record.errors.append(f"{current[0]}: console {m.type}: {m.text}")
                        if m.type == "error" else None)
                page.on("pageerror", lambda e: _page_error(record, current[0], e))
            for rel in record.pages:
                current[0] = rel
                try:
                    if width == WIDTHS[0]:
                        _visit(page, root, base, rel, record)
                    else:
                        page.goto(urljoin(base, rel.removesuffix("index.html")), wait_until="load")
                        _layout(page, rel, width, record)
                except Error as e:  # a step that failed or timed out: the tests it feeds fail, naming the page
                    fed = (record.layout,) if width != WIDTHS[0] else (
                        record.loads, record.layout, record.small) + ((record.charts,) if rel in record.charted else ())
                    for problems in fed:
                        problems.append(f"{rel} at {width} px: {e}")
            context.close()
    return record


def _page_error(record: _Walk, rel: str, e) -> None:
    record.errors.append(f"{rel}: page error: {e}")
    if rel in record.charted:
        record.chart_errors.append(f"{rel}: {e}")


def _layout(page, rel: str, width: int, record: _Walk) -> None:
    got = page.evaluate(_LAYOUT)
    if got["overflow"] > 1:
        record.layout.append(f"{rel} at {width} px: the page is {got['overflow']} px wider than the screen")
    record.layout.extend(f"{rel}: script or stylesheet from elsewhere: {u}" for u in got["foreign"])
    record.layout.extend(f"{rel}: image without width/height or lazy loading: {u}" for u in got["unsized"])
    if got["emoji"] and width == WIDTHS[0]:
        record.layout.append(f"{rel}: a status mark drawn as an emoji (needs an emoji font), not an icon")


def _visit(page, root: Path, base: str, rel: str, record: _Walk) -> None:
    """One page at the first width, in order: its status, its layout as loaded, its charts drawn, the
    shown size of its figures, its tables' CSVs, every image loaded, its internal links requested
    (each link once per walk), a screenshot, and a click on each chart's legend."""
    from playwright.sync_api import Error

    url = urljoin(base, rel.removesuffix("index.html"))
    response = page.goto(url, wait_until="load")
    if response is None or not response.ok:
        record.loads.append(f"{url}: {response and response.status}")
    _layout(page, rel, WIDTHS[0], record)

    charted = rel in record.charted
    if charted or page.locator(".interactive-chart").count():
        page.evaluate("() => window.reportgenCharts && window.reportgenCharts.drawAll()")  # charts are drawn as they near the viewport: all of them now
        try:
            page.wait_for_selector(".interactive-chart.chart-drawn, .interactive-chart.chart-failed", timeout=20000)
        except Error as e:
            record.small.append(f"{rel}: {e}")
            record.charts.append(f"{rel}: {e}")
            charted = False
        else:
            if charted and not page.locator(".interactive-chart").first.evaluate(
                    "e => e.classList.contains('chart-drawn')"):
                record.charts.append(f"{rel}: the interactive chart was not drawn (chart-failed)")
                charted = False
    record.small += [f"{rel}: {f['src']} ({f['panels']} panels) shown at {f['shown'] / f['drawn']:.0%} "
                     f"of {f['drawn']} px" for f in page.evaluate(_FIGURES) if f["shown"] < MIN_SHOWN * f["drawn"]]

    if rel.count("/") == 2 and rel.startswith("studies/"):
        name = rel.split("/")[1]
        record.tables[rel] = (page.locator("article table").count(),
                              page.eval_on_selector_all("article a.table-csv", "els => els.map(e => e.href)"),
                              page.eval_on_selector_all(f'article a[href*="{name}/"]', "els => els.map(e => e.href)"))

    # Images load lazily (when scrolled to): load them all now, then check each one arrived.
    page.evaluate("document.querySelectorAll('article img').forEach(i => { i.loading = 'eager'; })")
    try:
        page.wait_for_function("[...document.querySelectorAll('article img')].every(i => i.complete)",
                               timeout=30000)
    except Error as e:
        record.loads.append(f"{rel}: images still loading: {e}")
    broken = page.eval_on_selector_all(
        "article img", "els => els.filter(e => !(e.complete && e.naturalWidth > 0)).map(e => e.src)")
    if broken:
        record.loads.append(f"{rel}: images that did not load: {broken}")
    record.images += page.eval_on_selector_all("article img", "els => els.length")

    for href in page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)"):
        target = urldefrag(href)[0]
        if urlparse(target).netloc != urlparse(base).netloc or target in record.links:
            continue
        answer = page.request.get(target)
        record.links[target] = (answer.status, answer.body().count(b"\n"))

    name = rel.removesuffix("index.html").strip("/").replace("/", "_") or "index"
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=False)  # the window as the walk sees it

    if charted:
        _toggle(page, rel, record)


def _toggle(page, rel: str, record: _Walk) -> None:
    """Clicking a variant in the legend changes the drawing; a double-click shows everything again."""
    from playwright.sync_api import Error

    chart = page.locator(".interactive-chart:has(a.chart-spec[href$='learning_curves.vl.json'])").first
    if not chart.count():  # the page's charts are a scatter, a heat map or a roofline: no legend to toggle
        return
    svg = chart.locator(".chart-view svg").first
    before = svg.inner_html()
    legends = {name: chart.locator(f".{name}_legend_labels text") for name in ("variant", "seed", "split")}
    if not all(labels.count() for labels in legends.values()):
        record.charts.append(f"{rel}: a legend is missing")
        return
    # Clicking a variant shows only it: with a single variant that changes nothing, so click a seed.
    target = legends["variant"] if legends["variant"].count() > 1 else legends["seed"]
    target.last.click()
    try:  # (the drawing changes within a frame or two; give it 5 s on a busy machine)
        svg.evaluate("(svg, before) => new Promise((done, fail) => { const t0 = Date.now(); (function poll() {"
                     " if (svg.innerHTML !== before) done(); else if (Date.now() - t0 > 5000) fail(); "
                     "else requestAnimationFrame(poll); })(); })", before)
    except Error:
        record.charts.append(f"{rel}: clicking a legend entry changed nothing")
    page.mouse.dblclick(*_centre(chart.locator(".chart-view svg").first))  # double-click: everything again
    page.wait_for_timeout(200)


def test_every_page_fits_the_screen_and_loads_nothing_from_elsewhere(walk):
    problems = walk.layout + [f"request to another host at {width} px: {u}"
                              for width, u in sorted({(w, u) for w, _, u in walk.outside})]
    assert not problems, "\n".join(problems)


def test_multi_panel_figures_are_shown_at_a_legible_size(walk):
    assert not walk.small, "\n".join(walk.small)


def test_interactive_charts_draw_and_toggle_with_the_network_blocked(walk):
    """Every page with an interactive chart (the learning curves of every trained study): the chart
    draws from the vendored scripts alone, and clicking a variant in its legend changes the drawing."""
    assert walk.charted, "no page has an interactive chart"
    assert not walk.charts, "\n".join(walk.charts)
    outside = [u for w, rel, u in walk.outside if w == WIDTHS[0] and rel in walk.charted]
    assert not outside and not walk.chart_errors, (outside, walk.chart_errors)


def _centre(locator) -> tuple[float, float]:
    box = locator.bounding_box()
    return box["x"] + box["width"] / 4, box["y"] + box["height"] / 3


def test_every_study_table_has_a_csv_and_every_variant_a_page(site, walk):
    root, _ = site
    studies = [p for p in walk.pages if p.count("/") == 2 and p.startswith("studies/")]
    assert studies
    for rel in studies:
        assert rel in walk.tables, f"{rel}: not visited (see the other browser tests)"
        tables, links, variants = walk.tables[rel]
        assert len(links) == tables, f"{rel}: {tables} tables, {len(links)} CSV links"
        for href in links:
            status, lines = walk.links.get(urldefrag(href)[0], (0, 0))
            assert 200 <= status < 300 and lines >= 1, href
        name = rel.split("/")[1]
        has_runs = (root / "assets" / name / "runs.csv").exists()
        assert not has_runs or any(urlparse(h).path.rstrip("/").count("/") >= 3 for h in variants), rel


def test_search_keeps_hyphenated_names_whole_and_skips_the_nav_file(site, browser):
    root, base = site
    index = (root / "search" / "search_index.json").read_text(encoding="utf-8")
    assert "SUMMARY" not in index
    page = browser.new_page()
    page.goto(base, wait_until="networkidle")
    page.locator("input.md-search__input").click(force=True)
    page.keyboard.type("resnet-50", delay=20)
    first = page.locator(".md-search-result__item").first
    first.wait_for(timeout=10000)
    assert "architecture_comparison" in first.locator("a").first.get_attribute("href")


def test_the_site_is_light(site):
    root, _ = site
    files = [p for p in root.rglob("*") if p.is_file()]
    total = sum(p.stat().st_size for p in files)
    heavy = {p.relative_to(root).as_posix(): p.stat().st_size for p in files
             if p.suffix == ".png" and p.stat().st_size > MAX_PNG_BYTES}
    assert total < MAX_SITE_BYTES, f"the site weighs {total / 2**20:.1f} MiB"
    assert not heavy, heavy
    assert not (root / "assets" / "readme").exists()


def test_a_verdict_badge_keeps_its_sentence_in_the_csv():
    from reportgen.report.pages.downloads import plain
    from reportgen.report.pages.render import ENV

    badge = ENV.from_string('{% from "macros.md.j2" import verdict %}{{ verdict(s) }}').render(
        s="convnet beats dnn by 1.19 pp (Welch's t test, p = 0.017)")
    assert 'title="convnet beats dnn' in badge and "convnet ahead</span>" in badge
    assert plain(badge) == "convnet beats dnn by 1.19 pp (Welch's t test, p = 0.017)"
