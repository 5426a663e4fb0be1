"""A picture of a model, in the spirit of visualkeras: each layer a 3-D block whose height follows
its feature map's side (H), whose thickness follows its channel count (log scale) and whose depth
suggests W; dense layers are tall thin slabs whose height follows their width (log scale).

Drawn with matplotlib from the layer table every result records (``architecture``: layer name,
type, output shape, parameters), so rendering needs no torch. Activations, batch norm and dropout
are named on the block they follow instead of drawn; a residual block (torchvision's
``layerN.M`` blocks, or a ``body``/``skip`` pair) is one block with its skip drawn as an arc, and
identical residual blocks in a row are drawn once with "×n".
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from matplotlib.patches import FancyArrowPatch, Polygon

from reportgen.report.draw import figures

#: Layer types folded into the block before them, with the short name shown on it.
FOLDED = {"ReLU": "ReLU", "LeakyReLU": "LeakyReLU", "Tanh": "tanh", "Sigmoid": "sigmoid", "GELU": "GELU",
          "ELU": "ELU", "SiLU": "SiLU", "BatchNorm2d": "BN", "BatchNorm1d": "BN", "Dropout": "dropout",
          "Dropout2d": "dropout", "Identity": None}
KINDS = {"Conv2d": "conv", "MaxPool2d": "max pool", "AvgPool2d": "avg pool", "AdaptiveAvgPool2d": "global avg pool",
         "Linear": "dense", "Flatten": "flatten", "PadTo32": "pad"}
_RESIDUAL = (re.compile(r"^(.*\.layer\d+\.\d+)\."), re.compile(r"^(.+?)\.(?:body|skip)(?:\.|$)"))
_COLOURS = {"input": 7, "conv": 0, "max pool": 1, "avg pool": 1, "global avg pool": 3, "dense": 2, "flatten": 7,
            "residual block": 4, "pad": 8}
#: Inches: rows wrap here, and labels are drawn at LABEL_PT, so that one picture reads on a desktop and on
#: a phone (shown ≤ 358 px wide there: labels ≥ 9 px, reportgen.report.draw.legibility).
ROW_WIDTH, LABEL_PT = 3.7, 7.5


@dataclass
class Block:
    """One drawn block: ``kind`` (conv, dense, …), output ``shape`` (C, H, W) or (N,), parameters,
    the folded layers' names (``extras``) and how many identical blocks it stands for."""

    kind: str
    shape: tuple[int, ...]
    params: int = 0
    extras: list[str] = field(default_factory=list)
    repeat: int = 1
    convs: int = 0  # convolutions inside a residual block (its main path)


def _group(name: str) -> str | None:
    for pattern in _RESIDUAL:
        if m := pattern.match(name):
            return m.group(1)
    return None


def blocks(layers: Sequence[dict], input_shape: tuple[int, ...] = (1, 28, 28)) -> list[Block]:
    """The blocks to draw for a layer table (rows with ``layer``, ``type``, ``output``, ``params``)."""
    out = [Block("input", tuple(input_shape))]
    current_group = None
    for row in layers:
        kind, shape, params = row["type"], tuple(row["output"]), int(row["params"])
        group = _group(row["layer"])
        if group is not None:
            if group != current_group:
                out.append(Block("residual block", shape))
                current_group = group
            b = out[-1]
            b.params += params
            skip = row["layer"].startswith((group + ".skip", group + ".downsample"))
            if not skip:
                b.shape = shape
            if kind == "Conv2d":
                b.convs += 0 if skip else 1
                if skip and "conv on the skip" not in b.extras:
                    b.extras.append("conv on the skip")
            elif FOLDED.get(kind) and FOLDED[kind] not in b.extras:
                b.extras.append(FOLDED[kind])
            continue
        current_group = None
        if kind in FOLDED:
            name = FOLDED[kind]
            if name and name not in out[-1].extras:
                out[-1].extras.append(name)
            if out[-1].kind != "input":
                out[-1].params += params
            continue
        if kind == "Flatten" and len(out[-1].shape) == 1:
            continue  # a flatten that changes nothing (after a dense layer)
        out.append(Block(KINDS.get(kind, kind), shape, params))
    merged: list[Block] = []
    for b in out:
        last = merged[-1] if merged else None
        if (last and b.kind == last.kind == "residual block" and b.shape == last.shape and b.extras == last.extras
                and b.params == last.params // last.repeat):
            last.repeat += 1
            last.params += b.params
        else:
            merged.append(b)
    return merged


def _size(b: Block) -> tuple[float, float, float]:
    """(thickness, height, depth) in inches."""
    if len(b.shape) == 3:
        c, h, _ = b.shape
        side = 0.25 + 0.95 * min(h, 32) / 32
        return 0.04 + 0.05 * math.log2(max(c, 1)), side, side * 0.45
    n = b.shape[0] if b.shape else 1
    return 0.07, 0.25 + 0.1 * math.log2(max(n, 2)), 0.08


def _si(n: int) -> str:
    for div, prefix in ((1e6, "M"), (1e3, "k")):
        if n >= div:
            return f"{n / div:.1f} {prefix}"
    return str(n)


def _label(b: Block) -> str:
    name = b.kind + (f" ×{b.repeat}" if b.repeat > 1 else "")
    lines = [name]
    inside = ([f"{b.convs} conv"] if b.convs else []) + [e for e in b.extras if e != "conv on the skip"]
    if inside:
        prefix = "" if b.convs else "+ "
        lines += [prefix + ", ".join(inside[:2])] + ([", ".join(inside[2:])] if inside[2:] else [])
    if "conv on the skip" in b.extras:
        lines.append("conv on the skip")
    lines.append("×".join(map(str, b.shape)))
    if b.params:
        lines.append(f"{_si(b.params)} params")
    return "\n".join(lines)


def _label_width(b: Block) -> float:
    """Inches the block's label takes at ``LABEL_PT`` (DejaVu Sans: about 0.6 em a character)."""
    return max(len(line) for line in _label(b).splitlines()) * 0.6 * LABEL_PT / 72


def _box(ax, x: float, y: float, t: float, h: float, d: float, colour) -> None:
    """A block with its front face's lower-left corner at (x, y): front, top and right faces."""
    dx, dy = d * 0.75, d * 0.5
    rgb = colour[:3]
    shade = [rgb, tuple(c + (1 - c) * 0.35 for c in rgb), tuple(c * 0.75 for c in rgb)]  # front, top (lit), side
    faces = ([(x, y), (x + t, y), (x + t, y + h), (x, y + h)],
             [(x, y + h), (x + t, y + h), (x + t + dx, y + h + dy), (x + dx, y + h + dy)],
             [(x + t, y), (x + t + dx, y + dy), (x + t + dx, y + h + dy), (x + t, y + h)])
    for face, col in zip(faces, shade):
        ax.add_patch(Polygon(face, closed=True, facecolor=col, edgecolor="#333333", lw=0.6))


def draw(layers: Sequence[dict], path: Path, title: str, input_shape: tuple[int, ...] = (1, 28, 28)) -> Path:
    """Draw the model of a layer table, fed ``input_shape`` (C, H, W) images, to ``path`` (PNG); rows
    wrap at ``ROW_WIDTH`` inches."""
    bs = blocks(layers, input_shape)
    slots = [max(_size(b)[0] + _size(b)[2] * 0.75, 0.7, _label_width(b)) + 0.1 for b in bs]
    rows: list[list[int]] = [[]]
    used = 0.0
    for i, w in enumerate(slots):
        if rows[-1] and used + w > ROW_WIDTH:
            rows.append([])
            used = 0.0
        rows[-1].append(i)
        used += w
    heights = [max(_size(bs[i])[1] + _size(bs[i])[2] * 0.5 for i in row) for row in rows]
    label_h = [max(_label(bs[i]).count("\n") + 1 for i in row) * LABEL_PT * 1.35 / 72 + 0.08 for row in rows]
    total_h = sum(heights) + sum(label_h) + 0.12 * (len(rows) - 1)
    width = max(sum(slots[i] for i in row) for row in rows)
    fig = figures.plt.figure(figsize=(width, total_h + 0.35))
    ax = fig.add_axes((0, 0, 1, total_h / (total_h + 0.35)))
    ax.set_xlim(0, width)
    ax.set_ylim(-total_h, 0)
    ax.axis("off")
    top = 0.0
    for row, hmax, below in zip(rows, heights, label_h):
        x, base = 0.0, top - hmax
        for i in row:
            b = bs[i]
            t, h, d = _size(b)
            colour = figures.PALETTE[_COLOURS.get(b.kind, 5)]
            x0 = x + (slots[i] - t - d * 0.75) / 2
            y0 = base + (hmax - h - d * 0.5) / 2
            for k in range(min(b.repeat, 3) - 1, 0, -1):  # a deck of copies behind a repeated block
                _box(ax, x0 + 0.06 * k, y0 + 0.06 * k, t, h, d, colour)
            _box(ax, x0, y0, t, h, d, colour)
            if b.kind == "residual block":
                ax.add_patch(FancyArrowPatch((x0 - 0.12, y0 + h + d * 0.5 + 0.03), (x0 + t + d * 0.75 + 0.12, y0 + h + d * 0.5 + 0.03),
                                             connectionstyle="arc3,rad=-0.45", arrowstyle="-|>", mutation_scale=7,
                                             lw=0.8, color="#555555"))
            ax.text(x + slots[i] / 2, base - 0.06, _label(b), ha="center", va="top", fontsize=LABEL_PT, linespacing=1.1)
            x += slots[i]
        top = base - below - 0.12
    fig.suptitle(title, fontsize=9, y=1.0, va="top")
    return figures.save(fig, path)
