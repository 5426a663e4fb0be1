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

import functools
import http.server
import os
import shutil
import subprocess
import sys
import threading
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


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if path := shutil.which(name):
            return path
    return None


def _config(tmp: Path) -> Path:
    """``mkdocs.yml``, or with ``REPORTGEN_SITE_DOCS`` set (a docs folder rendered elsewhere, e.g. by
    ``reportgen render --docs-dir``), a config inheriting it with that ``docs_dir``."""
    docs = os.environ.get("REPORTGEN_SITE_DOCS")
    if not docs:
        return REPO / "mkdocs.yml"
    cfg = tmp / "mkdocs.yml"  # an inherited config's paths resolve against its folder: name them in full
    cfg.write_text(f"INHERIT: {REPO / 'mkdocs.yml'}\ndocs_dir: {Path(docs).resolve()}\n"
                   f"theme:\n  name: material\n  custom_dir: {REPO / 'overrides'}\n"
                   f"hooks:\n  - {REPO / 'reportgen' / 'report' / 'site_hooks.py'}\n", encoding="utf-8")
    return cfg


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The committed docs (or ``$REPORTGEN_SITE_DOCS``) built with ``mkdocs build --strict`` and served
    over HTTP on a free port."""
    out = tmp_path_factory.mktemp("site")
    cfg = _config(tmp_path_factory.mktemp("config"))
    build = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-f", str(cfg), "-d", str(out)],
                           cwd=REPO, capture_output=True, text=True,
                           env={**os.environ, "DISABLE_MKDOCS_2_WARNING": "true"})
    assert build.returncode == 0, build.stdout + build.stderr
    handler = functools.partial(_QuietHandler, directory=str(out))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield out, f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep pytest output clean
        pass


@pytest.fixture(scope="module")
def browser():
    exe = _chromium()
    if exe is None:
        pytest.skip("no Chromium on this machine (apt-get install chromium): the browser test cannot run")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("playwright is not installed (it comes with the dev extra)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=exe, args=["--no-sandbox"])
        yield b
        b.close()


def _pages(root: Path) -> list[str]:
    """Every built page as a URL path, index first."""
    pages = sorted(p.relative_to(root).as_posix() for p in root.glob("**/index.html")
                   if not p.relative_to(root).as_posix().startswith(("assets/", "search/")))
    return sorted(pages, key=lambda p: (p != "index.html", p))


def test_every_page_loads_cleanly_in_a_real_browser(site, browser):
    root, base = site
    pages = _pages(root)
    assert len(pages) >= 3
    SHOTS.mkdir(exist_ok=True)
    page = browser.new_page(viewport={"width": 1280, "height": 1400})
    errors: list[str] = []
    page.on("console", lambda m: errors.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(f"page error: {e}"))
    checked_links: dict[str, int] = {}
    images = 0
    for rel in pages:
        url = urljoin(base, rel.removesuffix("index.html"))
        response = page.goto(url, wait_until="networkidle")
        assert response is not None and response.ok, f"{url}: {response and response.status}"
        # Images load lazily (when scrolled to): load them all now, then check each one arrived.
        page.evaluate("document.querySelectorAll('article img').forEach(i => { i.loading = 'eager'; })")
        page.wait_for_function("[...document.querySelectorAll('article img')].every(i => i.complete)",
                               timeout=30000)
        broken = page.eval_on_selector_all(
            "article img", "els => els.filter(e => !(e.complete && e.naturalWidth > 0)).map(e => e.src)")
        assert not broken, f"{rel}: images that did not load: {broken}"
        images += page.eval_on_selector_all("article img", "els => els.length")
        for href in page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)"):
            target = urldefrag(href)[0]
            if urlparse(target).netloc != urlparse(base).netloc or target in checked_links:
                continue
            checked_links[target] = page.request.get(target).status
        name = rel.removesuffix("index.html").strip("/").replace("/", "_") or "index"
        page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=False)
    assert not errors, "\n".join(errors)
    bad = {u: s for u, s in checked_links.items() if s >= 400}
    assert not bad, f"broken internal links: {bad}"
    print(f"\nbrowser test: {len(pages)} pages, {images} images, {len(checked_links)} internal links; "
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
    from reportgen.report import reference
    from reportgen.report.render import render_reference

    from reportgen.cli import parser

    render_reference(tmp_path, parser())
    page = (tmp_path / "reference" / "spec.md").read_text(encoding="utf-8")
    for model in reference.SPEC_MODELS:
        assert f"## {model.__name__}" in page
        for name in model.model_fields:
            assert f"`{name}`" in page, f"{model.__name__}.{name}"
    assert "reportgen run" in (tmp_path / "reference" / "cli.md").read_text(encoding="utf-8")
    assert "`history`" in (tmp_path / "reference" / "results.md").read_text(encoding="utf-8")


def _offline_page(browser, base: str, width: int):
    """A page in a context that aborts every request not to the local server, recording each."""
    context = browser.new_context(viewport={"width": width, "height": 900})
    outside: list[str] = []

    def route(r):
        if r.request.url.startswith(base):
            r.continue_()
        else:
            outside.append(r.request.url)
            r.abort()

    context.route("**/*", route)
    return context, context.new_page(), outside


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


def test_every_page_fits_the_screen_and_loads_nothing_from_elsewhere(site, browser):
    root, base = site
    problems: list[str] = []
    for width in WIDTHS:
        context, page, outside = _offline_page(browser, base, width)
        for rel in _pages(root):
            page.goto(urljoin(base, rel.removesuffix("index.html")), wait_until="load")
            got = page.evaluate(_LAYOUT)
            if got["overflow"] > 1:
                problems.append(f"{rel} at {width} px: the page is {got['overflow']} px wider than the screen")
            problems += [f"{rel}: script or stylesheet from elsewhere: {u}" for u in got["foreign"]]
            problems += [f"{rel}: image without width/height or lazy loading: {u}" for u in got["unsized"]]
            if got["emoji"] and width == WIDTHS[0]:
                problems.append(f"{rel}: a status mark drawn as an emoji (needs an emoji font), not an icon")
        problems += [f"request to another host at {width} px: {u}" for u in sorted(set(outside))]
        context.close()
    assert not problems, "\n".join(problems)


def test_multi_panel_figures_are_shown_at_a_legible_size(site, browser):
    root, base = site
    context, page, _ = _offline_page(browser, base, WIDTHS[0])
    small = []
    for rel in _pages(root):
        page.goto(urljoin(base, rel.removesuffix("index.html")), wait_until="load")
        if page.locator(".interactive-chart").count():
            page.wait_for_selector(".interactive-chart.chart-drawn, .interactive-chart.chart-failed", timeout=20000)
        small += [f"{rel}: {f['src']} ({f['panels']} panels) shown at {f['shown'] / f['drawn']:.0%} "
                  f"of {f['drawn']} px" for f in page.evaluate(_FIGURES) if f["shown"] < MIN_SHOWN * f["drawn"]]
    context.close()
    assert not small, "\n".join(small)


def test_interactive_charts_draw_and_toggle_with_the_network_blocked(site, browser):
    """Every page with an interactive chart (the learning curves of every trained study): the chart
    draws from the vendored scripts alone, and clicking a variant in its legend changes the drawing."""
    root, base = site
    context, page, outside = _offline_page(browser, base, WIDTHS[0])
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    charted = []
    for rel in _pages(root):
        if "interactive-chart" not in (root / rel).read_text(encoding="utf-8"):
            continue
        page.goto(urljoin(base, rel.removesuffix("index.html")), wait_until="load")
        chart = page.locator(".interactive-chart").first
        page.wait_for_selector(".interactive-chart.chart-drawn", timeout=20000)
        svg = chart.locator(".chart-view svg").first
        before = svg.inner_html()
        legends = {name: chart.locator(f".{name}_legend_labels text") for name in ("variant", "seed", "split")}
        assert all(labels.count() for labels in legends.values()), f"{rel}: a legend is missing"
        # Clicking a variant shows only it: with a single variant that changes nothing, so click a seed.
        target = legends["variant"] if legends["variant"].count() > 1 else legends["seed"]
        target.last.click()
        page.wait_for_timeout(200)
        assert svg.inner_html() != before, f"{rel}: clicking a legend entry changed nothing"
        page.mouse.dblclick(*_centre(chart.locator(".chart-view svg").first))  # double-click: everything again
        page.wait_for_timeout(200)
        charted.append(rel)
    context.close()
    assert charted, "no page has an interactive chart"
    assert not outside and not errors, (outside, errors)


def _centre(locator) -> tuple[float, float]:
    box = locator.bounding_box()
    return box["x"] + box["width"] / 4, box["y"] + box["height"] / 3


def test_every_study_table_has_a_csv_and_every_variant_a_page(site, browser):
    root, base = site
    page = browser.new_page()
    studies = [p for p in _pages(root) if p.count("/") == 2 and p.startswith("studies/")]
    assert studies
    for rel in studies:
        page.goto(urljoin(base, rel.removesuffix("index.html")), wait_until="load")
        tables = page.locator("article table").count()
        links = page.eval_on_selector_all("article a.table-csv", "els => els.map(e => e.href)")
        assert len(links) == tables, f"{rel}: {tables} tables, {len(links)} CSV links"
        for href in links:
            response = page.request.get(href)
            assert response.ok and response.text().count("\n") >= 1, href
        name = rel.split("/")[1]
        has_runs = (root / "assets" / name / "runs.csv").exists()
        variants = page.eval_on_selector_all(f'article a[href*="{name}/"]', "els => els.map(e => e.href)")
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
    from reportgen.report.downloads import plain
    from reportgen.report.render import ENV

    badge = ENV.from_string('{% from "macros.md.j2" import verdict %}{{ verdict(s) }}').render(
        s="convnet beats dnn by 1.19 pp (Welch's t test, p = 0.017)")
    assert 'title="convnet beats dnn' in badge and "convnet ahead</span>" in badge
    assert plain(badge) == "convnet beats dnn by 1.19 pp (Welch's t test, p = 0.017)"
