"""The built site is accessible: axe-core finds no serious or critical violation on any page type
(home, study, variant, performance, reproducibility, cluster, tutorial, spec reference) on a laptop
(1400×900) and a phone (390×844), in the light and the dark colour scheme (Material switches its
palette on ``prefers-color-scheme``). Each run prints the violations per rule, of every impact.

axe-core is the copy bundled in the ``axe-playwright-python`` wheel (dev extra); nothing is fetched at
run time. WCAG 2.1 AA is what axe's ``color-contrast`` checks: 4.5:1 for text, 3:1 for large text.
"""
from __future__ import annotations

from collections import Counter
from urllib.parse import urljoin

import pytest

# Same xdist group as test_site.py: one worker builds the site once for both (``--dist loadgroup``).
pytestmark = pytest.mark.xdist_group("site")
PAGES = ("", "studies/optimizer_comparison/", "studies/architecture_comparison/",
         "studies/optimizer_comparison/variants/", "performance/", "reproducibility/", "cluster/",
         "tutorial/", "reference/spec/")
VIEWPORTS = {"laptop": {"width": 1400, "height": 900}, "phone": {"width": 390, "height": 844}}
BLOCKING = ("serious", "critical")
_CHARTS_DONE = """() => [...document.querySelectorAll(".interactive-chart")]
  .every(b => b.classList.contains("chart-drawn") || b.classList.contains("chart-failed"))"""


def _axe_script() -> str:
    try:
        from importlib.resources import files

        return (files("axe_playwright_python") / "axe.min.js").read_text(encoding="utf-8")
    except (ImportError, FileNotFoundError):
        pytest.skip("axe-playwright-python (axe-core) is not installed (it comes with the dev extra)")


@pytest.mark.parametrize("scheme", ("light", "dark"))
@pytest.mark.parametrize("size", tuple(VIEWPORTS))
def test_no_serious_axe_violations(browser, site, scheme, size):
    """Each page type loaded once in one browser context per viewport × scheme, interactive charts
    drawn, then audited by axe-core (its default rules: WCAG 2.0/2.1 A and AA and best practices)."""
    axe = _axe_script()
    _, base = site
    context = browser.new_context(viewport=VIEWPORTS[size], color_scheme=scheme)
    page = context.new_page()
    counts: Counter = Counter()  # (rule, impact) → nodes
    blocking: list[str] = []
    version = ""
    try:
        for rel in PAGES:
            page.goto(urljoin(base, rel), wait_until="load")
            expected = "slate" if scheme == "dark" else "default"
            assert page.get_attribute("body", "data-md-color-scheme") == expected, rel
            page.evaluate("() => window.reportgenCharts && window.reportgenCharts.drawAll()")  # every chart, not only those near the viewport
            page.wait_for_function(_CHARTS_DONE, timeout=20000)  # audit the drawn charts, with their menus
            page.evaluate(axe)
            result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
            version = result["testEngine"]["version"]
            for v in result["violations"]:
                counts[v["id"], v["impact"]] += len(v["nodes"])
                if v["impact"] in BLOCKING:
                    blocking += [f"/{rel} {v['id']} ({v['impact']}): {n['target']} {n['failureSummary']}"
                                 for n in v["nodes"][:3]]
    finally:
        context.close()
    print(f"\naxe-core {version}, {size} {VIEWPORTS[size]['width']} px, {scheme}: "
          + (", ".join(f"{rule} ({impact}) {n}" for (rule, impact), n in sorted(counts.items())) or "no violations"))
    assert not blocking, "\n".join(blocking)
