"""A phone's layout of a figure, for figures whose text a phone would show too small.

A page at a 390 px window shows a figure at most :data:`SHOWN_PX` CSS px wide, so a PNG ``W`` px
wide whose smallest text is ``t`` px displays that text at ``t × SHOWN_PX / W`` px. Where that is
below :data:`reportgen.report.draw.legibility.MIN_DISPLAYED_PX`, a copy of the figure is laid out
again :data:`WIDTH_IN` inches wide (:func:`reflow`): its panels stacked in one column (a grid of
pictures in fewer columns), every text at least the size that reads at that width, long titles
wrapped. A single panel or a grid of pictures reads well in that layout on a desktop too, and is
drawn so for every screen; a figure of several panels keeps its layout for wide screens and gets the
phone's beside it, ``<stem>.phone.png`` (:func:`phone_path`), which the site's build hook offers to
narrow windows through ``<picture>``. The figure as drawn stays what a tap opens, at full resolution.
"""
from __future__ import annotations

import math
import os
import pickle
import tempfile
import textwrap
import warnings
from pathlib import Path

from matplotlib.gridspec import GridSpec

from reportgen.report.draw import legibility, pngopt

#: CSS px a figure is shown at in the content column of a 390 px window (Material's margins off).
SHOWN_PX = 358
#: The phone layout's width, and the shortest and tallest a stacked panel is drawn (inches).
WIDTH_IN, MIN_PANEL_H, MAX_PANEL_H = 4.0, 2.4, 3.2
#: Pixels per inch of the phone layout: its 4 in make about one image px per CSS px at :data:`SHOWN_PX`.
DPI = 90
SUFFIX = ".phone.png"
#: Palette sizes (:func:`reportgen.report.draw.pngopt.shrink`): a figure as drawn keeps 256 colours; its
#: phone layout, shown small, 128; a figure a page replaces with its interactive chart (seen only without
#: JavaScript, or printed) 48. Bytes: the site has a weight limit, and phone layouts add to it.
COLOURS, PHONE_COLOURS, FALLBACK_COLOURS = 256, 128, 48


def phone_path(path: Path) -> Path:
    """Where the phone layout of the figure at ``path`` (``x.png``) goes: ``x.phone.png``."""
    return path.with_name(path.stem + SUFFIX)


def write_png(fig, path: Path, dpi: float | None = None, colours: int = COLOURS) -> Path:
    """Write ``fig`` to ``path`` (PNG) atomically, quantized to ``colours`` with its panel count and
    smallest text (px at ``dpi``, default the save dpi) recorded; no timestamp: same figure → same bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".png", dir=path.parent)
    os.close(fd)
    try:
        fig.savefig(tmp, format="png", bbox_inches="tight", metadata={"Software": None}, dpi=dpi)
        text = legibility.smallest_text_px(fig, dpi)
        pngopt.shrink(Path(tmp), pngopt.panel_count(fig), colours, text)
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return path


def shown_text_px(path: Path, shown_px: float = SHOWN_PX) -> float | None:
    """Smallest text of the PNG at ``path`` as displayed ``min(shown_px, its width)`` CSS px wide (px);
    None when the PNG records no text size, ``inf`` when it records no text."""
    text = pngopt.text_px_of(path)
    if text is None:
        return None
    with pngopt.Image.open(path) as im:
        width = im.size[0]
    return text * min(shown_px, width) / width if text else math.inf


def _cells(fig) -> list | None:
    """The figure's grid cells as axes, in reading order (row, then column); None when an axes is
    not in a grid (an inset) or is a colour bar: such a figure is not laid out again."""
    cells = []
    for ax in fig.axes:
        spec = ax.get_subplotspec()
        if spec is None or pngopt.panel_count_excludes(ax):
            return None
        cells.append((spec.rowspan.start, spec.colspan.start, ax))
    return [ax for _, _, ax in sorted(cells, key=lambda c: c[:2])]


def _kept(axes: list) -> list:
    """Axes worth a cell of their own: visible, and drawn (an axis, an image) or holding a legend."""
    return [ax for ax in axes if ax.get_visible() and (ax.axison or ax.images or ax.get_legend() is not None)]


def _legend_height(ax) -> float:
    """Inches a cell holding only ``ax``'s legend needs: a line per entry."""
    return 0.3 + 0.24 * len(ax.get_legend().get_texts())


def _wrap(fig, points: float) -> None:
    """Titles and the suptitle wrapped to the phone layout's width at their font size."""
    texts = [ax.title for ax in fig.axes] + ([fig._suptitle] if fig._suptitle is not None else [])
    for t in texts:
        per_line = max(12, int(WIDTH_IN * 72 / (0.55 * max(t.get_fontsize(), points))))
        if len(t.get_text()) > per_line:
            t.set_text(textwrap.fill(t.get_text().replace("\n", " "), per_line))


def reflow(fig) -> bool:
    """Lay ``fig`` out again for a phone (see the module docstring), in place, its text not yet
    enlarged; False when it cannot be (not a grid of axes, or a colour bar beside one)."""
    cells = _cells(fig)
    if not cells:
        return False
    kept = _kept(cells)
    if not kept:
        return False
    w, h = fig.get_size_inches()
    spec = cells[0].get_subplotspec().get_gridspec()
    rows, cols = spec.get_geometry()
    images = all(not ax.axison for ax in kept)
    new_cols = max(1, min(cols, math.ceil(cols * WIDTH_IN / w))) if images else 1
    new_rows = -(-len(kept) // new_cols)
    if images:  # a grid of pictures: fewer columns, each cell as it was shaped
        heights = [h / rows * (WIDTH_IN / new_cols) / (w / cols)] * new_rows
    else:  # panels stacked; a cell that only holds the legend as tall as its entries
        heights = [max(MIN_PANEL_H, min(h / rows, MAX_PANEL_H)) if ax.axison else _legend_height(ax) for ax in kept]
    grid = GridSpec(new_rows, new_cols, figure=fig, height_ratios=heights)
    for ax in cells:
        ax.set_visible(ax in kept)
    for i, ax in enumerate(kept):
        ax.set_subplotspec(grid[i])
    fig.set_size_inches(WIDTH_IN, sum(heights) + _title_room(fig))
    return True


def _title_room(fig) -> float:
    """Inches the suptitle takes at the figure's top (0 without one)."""
    sup = fig._suptitle
    if sup is None or not sup.get_text():
        return 0.0
    return (sup.get_text().count("\n") + 1) * sup.get_fontsize() * 1.3 / 72 + 0.1


def _enlarge(fig, points: float) -> None:
    """Every drawn text at least ``points`` pt, long titles wrapped; then the layout made tight again,
    the suptitle above the panels."""
    for t in legibility.drawn_texts(fig):
        if t.get_fontsize() < points:
            t.set_fontsize(points)
    _wrap(fig, points)
    height = fig.get_size_inches()[1]
    room = _title_room(fig)
    if room:
        fig._suptitle.set_y(1 - 0.04 / height)
        fig._suptitle.set_verticalalignment("top")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fig.tight_layout(rect=(0, 0, 1, 1 - room / height))


def _write_legible(fig, out: Path, dpi: float | None, colours: int, tries: int = 5) -> Path:
    """Enlarge ``fig``'s text to what reads at :data:`WIDTH_IN` and write it to ``out``; again, with
    larger text, while its text would display below the minimum (a tight bounding box can come out
    wider than the figure)."""
    points = legibility.min_font_pt(WIDTH_IN, SHOWN_PX)
    for _ in range(tries):
        _enlarge(fig, points)
        write_png(fig, out, dpi, colours)
        shown = shown_text_px(out)
        if shown >= legibility.MIN_DISPLAYED_PX:
            break
        points *= legibility.MIN_DISPLAYED_PX / shown * 1.08
    return out


def _one_layout(fig) -> bool:
    """Whether ``fig`` reads well enough at a phone's width on a desktop too: a single panel, or a
    grid of pictures (digits, weights) without axes."""
    kept = _kept(_cells(fig) or [])
    return len(kept) == 1 or bool(kept) and all(not ax.axison for ax in kept)


def save(fig, path: Path, phone_layout: bool = True) -> Path:
    """Write ``fig`` to ``path`` (:func:`write_png`). Where its text would display below the minimum on
    a phone (and ``phone_layout``), a copy of it is laid out for a phone (:func:`reflow`): a single panel
    or a grid of pictures replaces the figure at ``path`` (one layout for every screen); a figure of
    several panels keeps its layout at ``path`` and gets the phone's at :func:`phone_path`. A phone
    layout left from an earlier figure is removed. ``phone_layout=False`` marks a figure a page replaces
    with its interactive chart: no phone layout, and a smaller palette (:data:`FALLBACK_COLOURS`).
    ``fig`` itself is left as drawn."""
    out = phone_path(path)
    write_png(fig, path, colours=COLOURS if phone_layout else FALLBACK_COLOURS)
    shown = shown_text_px(path)
    if not phone_layout or shown is None or shown >= legibility.MIN_DISPLAYED_PX:
        out.unlink(missing_ok=True)
        return path
    import matplotlib.pyplot as plt  # (the caller has chosen the backend)

    copy = pickle.loads(pickle.dumps(fig))
    try:
        if not reflow(copy):
            out.unlink(missing_ok=True)
        elif _one_layout(copy):
            out.unlink(missing_ok=True)
            _write_legible(copy, path, None, COLOURS)
        else:
            _write_legible(copy, out, DPI, PHONE_COLOURS)
    finally:
        plt.close(copy)
    return path
