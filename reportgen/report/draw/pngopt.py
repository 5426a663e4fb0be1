"""PNG figures for the web: palette-quantized to at most 256 colours (Pillow's median cut, no
dithering) and tagged with their panel count, so the site stays light and the browser test can tell
a multi-panel figure from a single one.

A matplotlib figure drawn with antialiasing holds tens of thousands of distinct colours, almost all
of them blends at line edges; 256 colours keep every line, marker, colormap step and label (a
colormap has 256 entries) and cut the file to about a quarter. The output is deterministic: the
same pixels give the same bytes.
"""
from __future__ import annotations

from pathlib import Path

from PIL import Image, PngImagePlugin

#: PNG text key holding the number of panels (axes with a visible frame, colorbars not counted).
PANELS_KEY = "panels"
#: PNG text key holding the smallest text size drawn, in px of the PNG
#: (:func:`reportgen.report.draw.legibility.smallest_text_px`).
TEXT_KEY = "min_text_px"


def panel_count(fig) -> int:
    """Panels of a matplotlib figure: axes that draw their axis (``ax.axison``), colorbars excluded.
    Image grids (digits, weight tiles) turn their axes off and count 0."""
    return sum(1 for ax in fig.axes if ax.axison and not panel_count_excludes(ax))


def panel_count_excludes(ax) -> bool:
    """Whether ``ax`` is a colour bar (not a panel of its own)."""
    return ax.get_label() == "<colorbar>" or getattr(ax, "_colorbar", None) is not None


def shrink(path: Path, panels: int | None = None, colours: int = 256, text_px: float | None = None) -> int:
    """Rewrite the PNG at ``path`` as a palette image of at most ``colours`` colours, recording
    ``panels`` and ``text_px`` (the smallest text drawn, px; when given) as text chunks; keep the
    original when it is already smaller (a palette image, or one with few colours) and nothing is to
    be recorded. Returns the size in bytes written.

    Raises:
        OSError: ``path`` is not a readable image.
    """
    path = Path(path)
    with Image.open(path) as im:
        im.load()
        original = path.stat().st_size
        info = PngImagePlugin.PngInfo()
        if panels is not None:
            info.add_text(PANELS_KEY, str(int(panels)))
        if text_px is not None:
            info.add_text(TEXT_KEY, f"{text_px:g}")
        if im.mode == "P":
            quantized = im
        elif im.mode == "RGBA" and im.getextrema()[3][0] < 255:  # real transparency: keep the alpha channel
            quantized = im.quantize(colours, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE)
        else:
            quantized = im.convert("RGB").quantize(colours, method=Image.Quantize.MEDIANCUT,
                                                   dither=Image.Dither.NONE)
    tmp = path.with_name(f".{path.name}.q")
    quantized.save(tmp, "PNG", optimize=True, pnginfo=info)
    if tmp.stat().st_size >= original and panels is None and text_px is None:
        tmp.unlink()
        return original
    tmp.replace(path)
    return path.stat().st_size


def panels_of(path: Path) -> int | None:
    """The panel count recorded by :func:`shrink`, or None for a PNG without it."""
    with Image.open(path) as im:
        value = (getattr(im, "text", None) or {}).get(PANELS_KEY)
    return int(value) if value and value.isdigit() else None


def text_px_of(path: Path) -> float | None:
    """The smallest text size (px of the PNG) recorded by :func:`shrink`, or None for a PNG without it."""
    with Image.open(path) as im:
        value = (getattr(im, "text", None) or {}).get(TEXT_KEY)
    try:
        return float(value) if value else None
    except ValueError:
        return None
