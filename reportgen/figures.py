"""The closed set of figure kinds the report draws (matplotlib/seaborn, Agg backend).

Each function takes plain numbers (lists/arrays from result JSON), draws one figure and saves it
as PNG via :func:`save`, which writes atomically and without a timestamp so that re-rendering
unchanged results leaves the files byte-identical.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import seaborn as sns  # noqa: E402

PALETTE = sns.color_palette("colorblind", 10)
plt.rcParams.update({"figure.dpi": 110, "savefig.dpi": 110, "axes.grid": True, "grid.alpha": 0.3,
                     "axes.spines.top": False, "axes.spines.right": False, "font.size": 9})


def save(fig: plt.Figure, path: Path) -> Path:
    """Write ``fig`` to ``path`` (PNG) atomically; no metadata, so identical input → identical bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".png", dir=path.parent)
    os.close(fd)
    try:
        fig.savefig(tmp, format="png", bbox_inches="tight", metadata={"Software": None})
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)
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
    fig, (ax_l, ax_a) = plt.subplots(1, 2, figsize=(10, 3.6))
    for i, (label, c) in enumerate(curves.items()):
        color = PALETTE[i % 10]
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
    ax_l.legend(fontsize=8, title="val (solid) · train (dashed)", title_fontsize=8)
    return save(fig, path)


def confusion_matrix(cm: Sequence[Sequence[float]], path: Path, title: str) -> Path:
    """Heat map of a 10×10 confusion matrix (rows true digit, columns predicted), counts annotated."""
    cm = np.asarray(cm, dtype=float)
    fig, ax = plt.subplots(figsize=(5.2, 4.4))
    off = cm.copy()
    np.fill_diagonal(off, np.nan)  # colour the errors; the diagonal would swamp the scale
    sns.heatmap(off, annot=cm, fmt=".0f", cmap="rocket_r", cbar_kws={"label": "errors"}, ax=ax,
                annot_kws={"fontsize": 7}, linewidths=0.3, linecolor="white")
    ax.set(xlabel="predicted digit", ylabel="true digit", title=title)
    return save(fig, path)


def image_grid(images: np.ndarray, captions: list[str], path: Path, title: str, cols: int = 10) -> Path:
    """Grid of 28×28 grey images (uint8 or float, shape (N, 28, 28)) each with a caption."""
    n = len(images)
    rows = max(1, -(-n // cols))
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 1.05, rows * 1.45), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, img, cap in zip(axes.flat, images, captions):
        ax.imshow(img, cmap="gray_r", interpolation="nearest")
        ax.set_title(cap, fontsize=7)
    fig.suptitle(title, fontsize=9)
    return save(fig, path)


def bars(labels: list[str], means: list[float], errs: list[float], path: Path, ylabel: str, title: str) -> Path:
    """Bar per variant with an error bar (e.g. mean ± 95 % CI over seeds)."""
    fig, ax = plt.subplots(figsize=(max(4, 0.9 * len(labels) + 2), 3.2))
    x = np.arange(len(labels))
    ax.bar(x, means, yerr=[0 if not np.isfinite(e) else e for e in errs], capsize=4,
           color=[PALETTE[i % 10] for i in range(len(labels))])
    ax.set_xticks(x, labels, rotation=20 if len(labels) > 4 else 0, ha="right" if len(labels) > 4 else "center")
    ax.set(ylabel=ylabel, title=title)
    return save(fig, path)
