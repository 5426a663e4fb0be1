"""Figures a phone can read, in the built site at a 390×844 window (Chromium via Playwright).

Every figure a reader sees on representative pages (the index, study pages with line plots, image
grids and model pictures, a variant page, Performance), in every tab, shows its smallest text at
≥ 9 px: the text size the drawing recorded in the PNG (px of the PNG, computed from the figure by
:mod:`reportgen.report.draw.legibility`) × the displayed width / the width of the PNG the browser
chose (a phone layout through ``<picture>``, or the figure itself). A tap on a figure opens the
full-resolution figure in the lightbox, which two fingers zoom to (at least) its natural size.
"""
from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urljoin, urlparse

import pytest

from reportgen.report.draw import legibility, pngopt

pytestmark = pytest.mark.xdist_group("site")
PHONE = {"width": 390, "height": 844}
PAGES = ("", "studies/cnn_variants/", "studies/architecture_comparison/", "studies/dataset_exploration/",
         "studies/l2_regularization/", "studies/prediction_analysis/", "studies/sanity_checks/",
         "studies/custom_images/", "studies/weight_inspection/", "studies/l2_regularization/variants/",
         "performance/")
ZOOM_PAGE = "studies/l2_regularization/"

# Charts drawn (they hide their static figure), every tab's and fold's content shown where it would
# be, every image loaded; then each shown image: the file the browser chose and its displayed width.
_SHOWN_IMAGES = """async () => {
  const boxes = [...document.querySelectorAll('.interactive-chart')];
  if (window.reportgenCharts) window.reportgenCharts.drawAll();  // not only the charts near the viewport
  for (let i = 0; i < 300 && boxes.some(b => !/chart-(drawn|failed)/.test(b.className)); i++)
    await new Promise(r => setTimeout(r, 100));
  const style = document.createElement('style');
  style.textContent = '.md-typeset .tabbed-set > .tabbed-content > .tabbed-block { display: block !important; }';
  document.head.appendChild(style);
  document.querySelectorAll('article details').forEach(d => { d.open = true; });
  const imgs = [...document.querySelectorAll('article img')];
  imgs.forEach(i => { i.loading = 'eager'; });
  await Promise.all(imgs.map(i => i.complete ? 0 : new Promise(r => { i.onload = i.onerror = r; })));
  return imgs.filter(i => i.getBoundingClientRect().width > 0)
    .map(i => ({src: i.currentSrc, shown: i.getBoundingClientRect().width, natural: i.naturalWidth}));
}"""


def _file(root: Path, url: str) -> Path:
    return root / unquote(urlparse(url).path).lstrip("/")


def test_every_figure_reads_at_9_px_on_a_phone(site, browser):
    root, base = site
    context = browser.new_context(viewport=PHONE, device_scale_factor=2)
    page = context.new_page()
    small, seen = [], 0
    for rel in PAGES:
        page.goto(urljoin(base, rel), wait_until="load")
        for img in page.evaluate(_SHOWN_IMAGES):
            path = _file(root, img["src"])
            if "/assets/" not in img["src"] or path.suffix != ".png":
                continue
            seen += 1
            text = pngopt.text_px_of(path)
            assert text is not None, f"/{rel}: {path.name} records no text size"
            shown = text * img["shown"] / img["natural"]
            if text and shown < legibility.MIN_DISPLAYED_PX:
                small.append(f"/{rel}: {path.name} text {shown:.1f} px ({text:g} px drawn, "
                             f"{img['shown']:.0f} of {img['natural']} px shown)")
    context.close()
    assert seen >= 30, f"only {seen} figures seen"
    assert not small, "\n".join(small)


def test_a_tap_opens_the_full_resolution_figure_which_zooms(site, browser):
    _, base = site
    context = browser.new_context(viewport=PHONE, has_touch=True, is_mobile=True, device_scale_factor=2)
    page = context.new_page()
    page.goto(urljoin(base, ZOOM_PAGE), wait_until="load")
    link = page.locator("figure.report-figure a.glightbox:has(picture)").first
    link.scroll_into_view_if_needed()
    img = link.locator("img")
    page.wait_for_function("i => i.complete && i.naturalWidth > 0", arg=img.element_handle())
    assert img.evaluate("i => i.currentSrc").endswith(".phone.png")  # the phone layout in the page
    full = link.get_attribute("href")
    assert not full.endswith(".phone.png")
    link.tap()
    slide = page.locator(".gslide.current img")
    slide.wait_for(state="visible", timeout=10_000)
    page.wait_for_function("i => i.complete && i.naturalWidth > 0", arg=slide.element_handle())
    assert urljoin(page.url, slide.get_attribute("src")) == urljoin(page.url, full)  # not the phone layout
    natural = slide.evaluate("i => i.naturalWidth")
    assert natural > PHONE["width"] and "zoomable" in slide.get_attribute("class")
    page.wait_for_timeout(600)  # the opening animation
    _pinch(context, page, slide.bounding_box())
    page.wait_for_function(f"i => i.getBoundingClientRect().width >= {natural}", arg=slide.element_handle(),
                           timeout=5_000)  # zoomed to (at least) the figure's full resolution
    context.close()


def _pinch(context, page, box: dict, steps: int = 10, spread: float = 12) -> None:
    """Two fingers moving apart on the middle of ``box`` (CSS px), through the DevTools protocol."""
    cdp = context.new_cdp_session(page)
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2

    def touch(kind: str, gap: float | None) -> None:
        points = [] if gap is None else [{"x": x - gap, "y": y, "id": 0}, {"x": x + gap, "y": y, "id": 1}]
        cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": points})

    touch("touchStart", 20)
    for k in range(1, steps + 1):
        touch("touchMove", 20 + spread * k)
        page.wait_for_timeout(16)
    touch("touchEnd", None)
