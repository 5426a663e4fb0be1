"""The closed set of figure kinds the report draws (matplotlib/seaborn, Agg backend).

Each function takes plain numbers (lists/arrays from result JSON), draws one figure and saves it
as PNG via :func:`save`, which writes atomically and without a timestamp so that re-rendering
unchanged results leaves the files byte-identical.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import seaborn as sns  # noqa: E402

from reportgen.report.draw import phone  # noqa: E402
from reportgen.report.draw.colours import PALETTE, series_colour  # noqa: E402

#: Small multiples: at most MAX_COLS panels of PANEL_W inches side by side (two: ~970 px at 110 dpi), so
#: the site's content column (~870 CSS px in a 1400 px window) shows them near the size their fonts are drawn for.
MAX_COLS, PANEL_W = 2, 4.4
plt.rcParams.update({"figure.dpi": 110, "savefig.dpi": 110, "axes.grid": True, "grid.alpha": 0.3,
                     "axes.spines.top": False, "axes.spines.right": False, "font.size": 9,
                     "legend.fontsize": 8, "legend.title_fontsize": 8})


def save(fig: plt.Figure, path: Path, phone_layout: bool = True) -> Path:
    """Write ``fig`` to ``path`` (PNG) atomically, palette-quantized with its panel count and smallest
    text recorded (:mod:`~reportgen.report.draw.pngopt`); where a phone would show its text too small,
    laid out again for a phone (:func:`reportgen.report.draw.phone.save`; ``phone_layout=False`` for a
    figure a phone sees as an interactive chart). No timestamp: identical input → identical bytes."""
    try:
        phone.save(fig, path, phone_layout)
    finally:
        plt.close(fig)
    return path


def _band(ax, x, runs: np.ndarray, color, style: str, label: str | None) -> None:
    """Mean over seeds (rows) with a min–max band; runs of unequal length are cut to the shortest."""
    mean = runs.mean(0)
    ax.plot(x, mean, style, color=color, label=label, lw=1.6, marker="o" if len(x) <= 15 else None, ms=3)
    if len(runs) > 1:
        ax.fill_between(x, runs.min(0), runs.max(0), color=color, alpha=0.15, lw=0)


def learning_curves(curves: dict[str, dict[str, list[list[float]]]], path: Path,
                    marks: dict[str, float] | None = None) -> Path:
    """Loss and accuracy per epoch, train dashed, validation solid, one colour per variant.

    ``curves[label][metric]`` is a list over seeds of per-epoch values for metric in
    ``train_loss, val_loss, train_acc, val_acc``; lines are the seed mean, bands span min–max over
    seeds. ``marks``: optional epoch per label drawn as a dotted vertical line (e.g. early stop).
    """
    fig, (ax_l, ax_a) = plt.subplots(1, 2, figsize=(2 * PANEL_W, 3.4))
    for i, (label, c) in enumerate(curves.items()):
        color = series_colour(i)
        for ax, kind in ((ax_l, "loss"), (ax_a, "acc")):
            for split, style in (("train", "--"), ("val", "-")):
                seqs = c.get(f"{split}_{kind}") or []
                n = min((len(s) for s in seqs), default=0)
                if not n:
                    continue
                runs = np.array([s[:n] for s in seqs], dtype=float)
                if kind == "acc":
                    runs = runs * 100
                _band(ax, np.arange(1, n + 1), runs, color, style, label if (split == "val" and kind == "loss") else None)
            if marks and label in marks:
                ax.axvline(marks[label], color=color, ls=":", lw=1)
    ax_l.set(xlabel="epoch", ylabel="cross-entropy (nats)", title="Loss")
    ax_a.set(xlabel="epoch", ylabel="accuracy (%)", title="Accuracy")
    ax_l.legend(title="val (solid) · train (dashed)")
    return save(fig, path, phone_layout=False)  # the page shows the interactive chart in its place


def confusion_matrix(cm: Sequence[Sequence[float]], path: Path, title: str, names: Sequence[str] | None = None) -> Path:
    """Heat map of a K×K confusion matrix (rows true digit, columns predicted; 10×10 on MNIST), counts
    annotated; ``names``: the classes' names (a data set whose classes are not the digits 0 … K−1)."""
    cm = np.asarray(cm, dtype=float)
    fig, ax = plt.subplots(figsize=(5.2, 4.4))
    off = cm.copy()
    np.fill_diagonal(off, np.nan)  # colour the errors; the diagonal would swamp the scale
    sns.heatmap(off, annot=cm, fmt=".0f", cmap="rocket_r", cbar_kws={"label": "errors"}, ax=ax,
                annot_kws={"fontsize": 7}, linewidths=0.3, linecolor="white")
    what = "class" if names else "digit"
    ax.set(xlabel=f"predicted {what}", ylabel=f"true {what}", title=title)
    if names:
        ax.set_xticklabels(names, rotation=90)
        ax.set_yticklabels(names, rotation=0)
    return save(fig, path, phone_layout=False)  # the page shows the interactive chart in its place


def image_grid(images: np.ndarray, captions: list[str], path: Path, title: str, cols: int = 10,
               tight: bool = False) -> Path:
    """Grid of 28×28 grey images (uint8 or float, shape (N, 28, 28)) each with a caption; ``tight``
    packs the title onto the grid (tall grids otherwise leave a gap under it)."""
    n = len(images)
    rows = max(1, -(-n // cols))
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 1.05, rows * 1.45), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, img, cap in zip(axes.flat, images, captions):
        ax.imshow(img, cmap="gray_r", interpolation="nearest")
        ax.set_title(cap, fontsize=7, y=1.0)  # where auto-placement puts it (axes off): same PNG, no tick layout
    fig.suptitle(title, fontsize=9)
    if tight:
        fig.tight_layout()
    return save(fig, path)


def weight_grid(weights: np.ndarray, path: Path, title: str, cols: int = 16) -> Path:
    """Weight images (N, h, w), each on its own symmetric scale around 0 (blue negative, red positive),
    without captions: a dense layer's units as 28×28 images, or a conv layer's filters."""
    n = len(weights)
    cols = min(cols, n)
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 0.7, rows * 0.7 + 0.5), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, w in zip(axes.flat, weights):
        lim = float(np.abs(w).max()) or 1.0
        ax.imshow(w, cmap="bwr", vmin=-lim, vmax=lim, interpolation="nearest")
    fig.suptitle(title, fontsize=9)
    return save(fig, path)


def range_test(curves: list[tuple[list[float], list[float], int]], suggested: float, path: Path, title: str) -> Path:
    """LR range test: smoothed loss (nats) against lr (log x), one line per ``(lr, loss, seed)``, with
    the ``suggested`` lr as a dashed vertical line; y clipped to 1.5 × the first loss (the end diverges)."""
    fig, ax = plt.subplots(figsize=(7, 3.8))
    for i, (lr, loss, seed) in enumerate(curves):
        ax.plot(lr, loss, color=series_colour(i), lw=1.2, label=f"seed {seed}")
    ax.axvline(suggested, color="grey", ls="--", lw=1)
    ax.annotate(f"suggested {suggested:.3g}", (suggested, 0.97), xycoords=("data", "axes fraction"), fontsize=8,
                color="grey", ha="right", va="top", rotation=90)
    top = max(c[1][0] for c in curves) * 1.5
    ax.set_ylim(0, top)
    ax.set_xscale("log")
    ax.set(xlabel="learning rate", ylabel="smoothed training loss (nats)", title=title)
    ax.legend(fontsize=8)
    return save(fig, path)


def heatmap(values: np.ndarray, xlabels: list[str], ylabels: list[str], xname: str, yname: str, path: Path,
            title: str, mark: tuple[int, int] | None = None, annot: list[list[str]] | None = None,
            cbar: str = "%") -> Path:
    """Annotated heat map of ``values`` (rows × cols, drawn as they are); ``annot``: each cell's text
    (default: the value to 2 decimals); ``mark`` outlines one cell; ``cbar``: the colour bar's label."""
    fig, ax = plt.subplots(figsize=(1.5 * len(xlabels) + 2.8, 0.8 * len(ylabels) + 1.8))
    sns.heatmap(values, annot=np.asarray(annot, dtype=object) if annot is not None else True,
                fmt="" if annot is not None else ".2f", cmap="viridis", xticklabels=xlabels, yticklabels=ylabels,
                cbar_kws={"label": cbar}, ax=ax, annot_kws={"fontsize": 8})
    if mark is not None:
        ax.add_patch(plt.Rectangle((mark[1], mark[0]), 1, 1, fill=False, edgecolor="red", lw=2.5))
    ax.grid(False)
    ax.set(xlabel=xname, ylabel=yname, title=title)
    return save(fig, path)


def bars(labels: list[str], means: list[float], errs: list[float], path: Path, ylabel: str, title: str) -> Path:
    """Bar per variant with an error bar (e.g. mean ± 95 % CI over seeds)."""
    fig, ax = plt.subplots(figsize=(max(4, 0.9 * len(labels) + 2), 3.2))
    x = np.arange(len(labels))
    ax.bar(x, means, yerr=[0 if not np.isfinite(e) else e for e in errs], capsize=4,
           color=[series_colour(i) for i in range(len(labels))])
    ax.set_xticks(x, labels, rotation=20 if len(labels) > 4 else 0, ha="right" if len(labels) > 4 else "center")
    ax.set(ylabel=ylabel, title=title)
    return save(fig, path)


@dataclass
class Panel:
    """One axes of :func:`lines`: ``series[label] = (x, runs)`` with ``runs`` shaped (seeds, len(x));
    drawn as the seed mean with a min–max band. ``hlines``: (y, text) reference lines; ``marks``:
    x per label drawn as a dotted vertical line in the label's colour; ``styles``: line style per label."""

    title: str
    ylabel: str
    series: dict[str, tuple[Sequence[float], np.ndarray]]
    xlabel: str = "epoch"
    logy: bool = False
    logx: bool = False
    hlines: tuple[tuple[float, str], ...] = ()
    marks: dict[str, float] = field(default_factory=dict)
    styles: dict[str, str] = field(default_factory=dict)
    ylim: tuple[float, float] | None = None


def _colours(labels: list[str]) -> dict[str, tuple]:
    """One colour per distinct label, in first-seen order (distinct up to ``len(colours.COLOURS)`` labels)."""
    return {k: series_colour(i) for i, k in enumerate(dict.fromkeys(labels))}


def _grid(n: int, cols: int, height: float):
    """A figure with ``n`` axes in rows of ``cols`` (≤ ``MAX_COLS``, ``PANEL_W`` in wide each); unused cells hidden."""
    cols = max(1, min(cols, n, MAX_COLS))
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(PANEL_W * cols, height * rows), squeeze=False)
    for ax in axes.flat[n:]:
        ax.axis("off")
    return fig, axes


def lines(panels: list[Panel], path: Path, title: str = "", cols: int = 2, shared_colours: bool = True) -> Path:
    """Panels of per-variant lines (mean over seeds with min–max band), one colour per label shared
    across panels (or, with ``shared_colours=False``, by position within each panel); a legend on the
    first panel and on any panel whose labels differ."""
    shared = _colours([k for p in panels for k in p.series])
    fig, axes = _grid(len(panels), cols, 3.4)
    for ax, p in zip(axes.flat, panels):
        colour = shared if shared_colours else {k: series_colour(i) for i, k in enumerate(p.series)}
        for label, (x, runs) in p.series.items():
            runs = np.atleast_2d(np.asarray(runs, dtype=float))
            if runs.size:
                _band(ax, np.asarray(x, dtype=float), runs, colour[label], p.styles.get(label, "-"), label)
            if label in p.marks and np.isfinite(p.marks[label]):
                ax.axvline(p.marks[label], color=colour[label], ls=":", lw=1)
        for y, text in p.hlines:
            ax.axhline(y, color="grey", ls="--", lw=0.9)
            ax.annotate(text, (0.01, y), xycoords=("axes fraction", "data"), fontsize=8, color="grey", va="bottom")
        ax.set(xlabel=p.xlabel, ylabel=p.ylabel, title=p.title, yscale="log" if p.logy else "linear")
        if p.ylim:  # (not through set: set_ylim(None) would switch autoscaling off)
            ax.set_ylim(*p.ylim)
        if p.logx:
            ax.set_xscale("log", base=2)
    spare = list(axes.flat[len(panels):])
    if spare and panels[0].series and all(list(p.series) == list(panels[0].series) for p in panels):
        spare[0].legend(*axes.flat[0].get_legend_handles_labels(), loc="center", frameon=False)  # one for all
    else:
        shown: list[str] = []
        for ax, p in zip(axes.flat, panels):  # a legend wherever a panel's labels differ from the last legend's
            if list(p.series) != shown:
                ax.legend()
                shown = list(p.series)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return save(fig, path)


def histograms(panels: dict[str, dict[str, dict]], path: Path, title: str = "", cols: int = 2,
               xlabel: str = "weight value") -> Path:
    """Step histograms as densities: ``panels[panel_title][label] = {"counts", "low", "high"}``
    (equal-width bins over [low, high], as :class:`reportgen.run.probes.training.WeightHistograms` records)."""
    colour = _colours([k for p in panels.values() for k in p])
    fig, axes = _grid(len(panels), cols, 3.2)
    for ax, (name, hs) in zip(axes.flat, panels.items()):
        for label, h in hs.items():
            counts = np.asarray(h["counts"], dtype=float)
            edges = np.linspace(h["low"], h["high"], len(counts) + 1)
            density = counts / max(counts.sum(), 1) / np.diff(edges)
            ax.stairs(density, edges, color=colour[label], label=label, lw=1.3)
        ax.set(xlabel=xlabel, ylabel="density", title=name)
        ax.set_yscale("log")
    axes.flat[0].legend()
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return save(fig, path)


def pareto_front(xs: Sequence[float], ys: Sequence[float]) -> list[int]:
    """Indices of the points no other point beats on both axes (smaller x, larger y), by ascending x."""
    order = sorted(range(len(xs)), key=lambda i: (xs[i], -ys[i]))
    front, best = [], -np.inf
    for i in order:
        if ys[i] > best:
            front.append(i)
            best = ys[i]
    return front


def pareto(xs: Sequence[float], seeds: Sequence[Sequence[float]], labels: Sequence[str], path: Path,
           xlabel: str, title: str) -> Path:
    """Test error rate (100 − accuracy, %, log scale) against ``xs`` (log scale): a dot per seed, a
    ring at each variant's median (a collapsed seed moves neither the ring nor the axes' span of the
    others), and the Pareto front of the medians (fewest x for the lowest error) as a step line; the
    front's points are numbered and named in the legend. ``seeds``: accuracies in % per variant."""
    err = [np.array([100 - a for a in s if np.isfinite(a)]) for s in seeds]
    keep = [i for i, e in enumerate(err) if len(e)]
    med = {i: max(float(np.median(err[i])), 0.01) for i in keep}  # 0 % error has no place on a log axis
    fig, ax = plt.subplots(figsize=(8.5, 5))
    for i in keep:
        ax.scatter([xs[i]] * len(err[i]), np.maximum(err[i], 0.01), s=9, color=PALETTE[0], alpha=0.45, lw=0)
    ax.scatter([xs[i] for i in keep], [med[i] for i in keep], s=30, facecolors="none", edgecolors=PALETTE[0],
               lw=1, label="median over seeds (dots: each seed)")
    front = [keep[j] for j in pareto_front([xs[i] for i in keep], [-med[i] for i in keep])]
    ax.step([xs[i] for i in front], [med[i] for i in front], where="post", color=PALETTE[3], lw=1.4,
            label="Pareto front")
    for k, i in enumerate(front, 1):
        ax.annotate(str(k), (xs[i], med[i]), textcoords="offset points", xytext=(0, 7), fontsize=8,
                    ha="center", color=PALETTE[3], fontweight="bold")
        ax.plot([], [], " ", label=f"{k}: {labels[i]} ({xs[i]:,.0f}, {med[i]:.2f} %)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda y, _: f"{y:g} %"))
    ax.set(xlabel=xlabel, ylabel="test error rate (100 − accuracy, %; log scale)", title=title)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False)
    return save(fig, path, phone_layout=False)  # the page shows the interactive chart in its place


def hbars(labels: list[str], values: list[float], path: Path, xlabel: str, title: str,
          targets: Sequence[float | None] = (), unit: str = "×") -> Path:
    """Horizontal bars (one per label, labels beside them so long ones never overlap) with each value
    written at the bar's end; ``targets[i]``: a dashed mark on bar i."""
    fig, ax = plt.subplots(figsize=(7, 0.55 * len(labels) + 1.2))
    y = np.arange(len(labels))[::-1]
    ax.barh(y, values, color=[series_colour(i) for i in range(len(labels))], height=0.6)
    for yi, v in zip(y, values):
        ax.annotate(f"{v:.1f}{unit}", (v, yi), textcoords="offset points", xytext=(3, 0), va="center", fontsize=8)
    marked = False
    for yi, t in zip(y, targets):
        if t is not None:
            ax.plot([t, t], [yi - 0.4, yi + 0.4], "--", color="black", lw=1.2, label=None if marked else "target")
            marked = True
    ax.set_yticks(y, labels)
    ax.set_xlim(0, max(list(values) + [t for t in targets if t is not None]) * 1.15)
    ax.set(xlabel=xlabel, title=title)
    if marked:
        ax.legend(fontsize=8, loc="lower right")
    return save(fig, path)


def split_counts(counts: dict[str, Sequence[int]], path: Path, title: str) -> Path:
    """Images per split (left) and each digit's share of its split in % (right: grouped bars, a dashed
    line at the uniform 10 %). ``counts[split]``: the 10 per-digit label counts of that split."""
    names = list(counts)
    fig, (ax_n, ax_p) = plt.subplots(1, 2, figsize=(10, 3.4), gridspec_kw={"width_ratios": [1, 3]})
    totals = [int(np.sum(c)) for c in counts.values()]
    ax_n.bar(range(len(names)), totals, color=[series_colour(i) for i in range(len(names))])
    for i, t in enumerate(totals):
        ax_n.annotate(f"{t:,}", (i, t), ha="center", va="bottom", fontsize=8)
    ax_n.set_xticks(range(len(names)), names)
    ax_n.set(ylabel="images", title="Images per split")
    width = 0.8 / len(names)
    for i, (name, c) in enumerate(counts.items()):
        c = np.asarray(c, dtype=float)
        ax_p.bar(np.arange(len(c)) + (i - (len(names) - 1) / 2) * width, 100 * c / max(c.sum(), 1), width,
                 color=series_colour(i), label=f"{name} ({int(c.sum()):,})")
    ax_p.axhline(10, color="grey", ls="--", lw=0.9)
    ax_p.set_xticks(range(10))
    ax_p.set(xlabel="digit (label)", ylabel="share of the split (%)", title="Label counts per digit, as a share of each split")
    ax_p.set_ylim(0, ax_p.get_ylim()[1] * 1.18)  # headroom: the legend sits above the bars
    ax_p.legend(fontsize=8, loc="upper center", ncol=len(names))
    ax_n.yaxis.set_major_formatter(matplotlib.ticker.StrMethodFormatter("{x:,.0f}"))
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return save(fig, path)


def reliability(diagrams: dict[str, dict[str, Sequence[float]]], path: Path, title: str) -> Path:
    """Reliability diagrams (Guo et al. 2017, Fig. 1), one panel per label: per confidence bin
    (``edges``, fractions) the accuracy of the predictions in it (bars, %) against the diagonal of
    perfect calibration; ``diagrams[label] = {"edges", "acc", "conf", "count"}``, bins without
    predictions as NaN. The ECE, if given as ``"ece"`` (%), goes into the panel title."""
    fig, axes = _grid(len(diagrams), MAX_COLS, 3.4)
    for ax, (label, d) in zip(axes.flat, diagrams.items()):
        edges = np.asarray(d["edges"]) * 100
        acc = np.asarray(d["acc"], dtype=float) * 100
        ax.bar(edges[:-1], np.nan_to_num(acc), width=np.diff(edges), align="edge", color=PALETTE[0],
               edgecolor="white", label="accuracy in bin")
        ax.plot([0, 100], [0, 100], "--", color="grey", lw=1, label="perfect calibration")
        ax.set(xlim=(0, 100), ylim=(0, 100), xlabel="confidence (%)", ylabel="accuracy (%)",
               title=f"{label}" + (f" · ECE {d['ece']:.2f} %" if "ece" in d else ""))
        ax.legend(loc="upper left")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return save(fig, path)


def before_after(originals: Sequence[np.ndarray | None], processed: np.ndarray, captions: list[str], path: Path,
                 title: str, cols: int = 8) -> Path:
    """Pairs of images: the original as given (uint8 grayscale, any size, shown as is: dark ink stays
    dark; None when unavailable, its cell left blank) above its MNIST form (float (N, 28, 28), ink 1,
    shown dark), captioned. With no original at all, only the MNIST forms are drawn."""
    n = len(processed)
    cols = max(1, min(cols, n))
    rows = -(-n // cols)
    per = 2 if any(o is not None for o in originals) else 1  # figure rows per row of images
    fig, axes = plt.subplots(per * rows, cols, figsize=(cols * 1.15, rows * 1.25 * per), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for i in range(n):
        r, c = per * (i // cols), i % cols
        if per == 2:
            top = axes[r, c]
            if originals[i] is not None:
                top.imshow(originals[i], cmap="gray", vmin=0, vmax=255, interpolation="lanczos")
            top.set_title("given" if i < cols else "", fontsize=6)
        bottom = axes[r + per - 1, c]
        bottom.imshow(processed[i], cmap="gray_r", vmin=0, vmax=1, interpolation="nearest")
        bottom.set_title(captions[i], fontsize=6)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return save(fig, path)
