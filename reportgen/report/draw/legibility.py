"""How small a figure's text is drawn, so that the site can tell how small it is displayed.

The smallest font of any text a figure draws (titles, axis labels, tick labels, legends, annotations,
colour-bar ticks), in pixels at the resolution the figure is saved at. :func:`reportgen.report.draw.figures.save`
records it in the PNG (:data:`reportgen.report.draw.pngopt.TEXT_KEY`); a page shown at ``w`` CSS px
of a PNG ``W`` px wide displays that text at ``smallest × w / W`` px.
"""
from __future__ import annotations

import matplotlib
from matplotlib.axes import Axes
from matplotlib.axis import Axis
from matplotlib.text import Text

#: Displayed text below this many CSS px is not read comfortably on a phone (the site's browser test
#: checks every figure at a 390 px window against it).
MIN_DISPLAYED_PX = 9.0


def save_dpi(fig) -> float:
    """Dots per inch ``fig`` is saved at without an explicit ``dpi`` (``savefig.dpi``, or the figure's)."""
    dpi = matplotlib.rcParams["savefig.dpi"]
    return float(fig.dpi if dpi == "figure" else dpi)


def _texts(artist) -> list[Text]:
    """Every :class:`~matplotlib.text.Text` under ``artist`` (itself included), except the tick and axis
    labels of axes drawn without their axis (``ax.axis("off")``): their ``Axis`` is not walked, so its
    ticks are never made (``Artist.findobj`` would make every tick of every hidden axis)."""
    found, stack = [], [artist]
    while stack:
        a = stack.pop()
        if isinstance(a, Text):
            found.append(a)
        children = a.get_children()
        if isinstance(a, Axes) and not a.axison:
            children = [c for c in children if not isinstance(c, Axis)]
        stack.extend(reversed(children))
    return found


def drawn_texts(fig) -> list[Text]:
    """The text artists ``fig`` draws: visible, not empty, not on an axis that is turned off. Call it
    after the figure is drawn (``savefig``): tick labels get their text when drawn."""
    return [t for t in _texts(fig) if t.get_visible() and t.get_text().strip()]


def smallest_text_px(fig, dpi: float | None = None) -> float:
    """The smallest font size among :func:`drawn_texts`, in pixels at ``dpi`` (default: the save dpi),
    rounded to 0.01 px; 0.0 for a figure without text."""
    sizes = [t.get_fontsize() for t in drawn_texts(fig)]
    if not sizes:
        return 0.0
    return round(min(sizes) * (dpi or save_dpi(fig)) / 72, 2)


def min_font_pt(width_in: float, shown_px: float, displayed_px: float = MIN_DISPLAYED_PX) -> float:
    """The font size (points) a figure ``width_in`` inches wide needs so that its text is
    ``displayed_px`` CSS px when the whole figure is shown ``shown_px`` CSS px wide (independent of dpi)."""
    return displayed_px * 72 * width_in / shown_px
