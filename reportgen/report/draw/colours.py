"""The colours of a figure's series: the first ten are seaborn's colour-blind palette, and a figure with
up to 40 series gives each its own colour. Shared by the static figures and the interactive charts."""
from __future__ import annotations

import seaborn as sns

PALETTE = sns.color_palette("colorblind", 10)
#: Every series colour, as RGB fractions: PALETTE's ten first, then eight that differ from all of them in
#: hue or lightness (dark grey, maroon, pale green, dark purple, olive, navy, teal, salmon), then 22
#: evenly spaced hues; a figure with up to 40 series gives each its own colour.
COLOURS = [tuple(c) for c in PALETTE] + [
    tuple(int(h[i:i + 2], 16) / 255 for i in (1, 3, 5))
    for h in ("#404040", "#7f0000", "#b2df8a", "#6a3d9a", "#808000", "#1f2f7a", "#00a6a6", "#fb9a99")
] + [tuple(c) for c in sns.color_palette("husl", 22)]


def series_colour(i: int) -> tuple[float, float, float]:
    """The ``i``-th series colour (RGB fractions); distinct for ``i`` < ``len(COLOURS)`` (40)."""
    return COLOURS[i % len(COLOURS)]
