"""The published site: the Pages workflow is a valid GitHub workflow, and the built site works in a
real browser (headless Chromium driven by Playwright): every page loads without console errors, every
image loads, no internal link is broken, a table sorts on click, search finds a study, the lightbox
opens. A screenshot of each page lands in ``.shots/`` (git-ignored; the README's comes from there).
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

REPO = Path(__file__).resolve().parents[1]
SHOTS = REPO / ".shots"


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


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The committed docs built with ``mkdocs build --strict`` and served over HTTP on a free port."""
    out = tmp_path_factory.mktemp("site")
    build = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-d", str(out)], cwd=REPO,
                           capture_output=True, text=True, env={**os.environ, "DISABLE_MKDOCS_2_WARNING": "true"})
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
    header.click()
    assert header.get_attribute("aria-sort") in ("ascending", "descending")
    first = table.locator("tbody tr td:nth-child(3)").all_inner_texts()
    header.click()
    assert table.locator("tbody tr td:nth-child(3)").all_inner_texts() == list(reversed(first))


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
    page.locator("a.glightbox").first.click()
    page.locator(".gslide-image img").first.wait_for(state="visible", timeout=10000)


def test_the_tutorial_spec_is_valid(tmp_path):
    """The spec the "Write a study" page tells a newcomer to write loads, expands and names real variants."""
    import re

    from reportgen.catalog import load_spec
    from reportgen.expand import expand

    code = re.findall(r"```python\n(.*?)```", (REPO / "docs" / "tutorial.md").read_text(encoding="utf-8"), re.S)[0]
    path = tmp_path / "hidden_width.py"
    path.write_text(code, encoding="utf-8")
    spec = load_spec(path)
    assert len(expand(spec.study, spec.name, str(path))) == 9


def test_reference_pages_cover_every_spec_field(tmp_path):
    from reportgen import reference
    from reportgen.render import render_reference

    render_reference(tmp_path)
    page = (tmp_path / "reference" / "spec.md").read_text(encoding="utf-8")
    for model in reference.SPEC_MODELS:
        assert f"## {model.__name__}" in page
        for name in model.model_fields:
            assert f"`{name}`" in page, f"{model.__name__}.{name}"
    assert "reportgen run" in (tmp_path / "reference" / "cli.md").read_text(encoding="utf-8")
    assert "`history`" in (tmp_path / "reference" / "results.md").read_text(encoding="utf-8")
