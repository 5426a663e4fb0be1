"""Analyses of what happens inside the network, read from the training-time probes a spec declares
(``reportgen.run.probes.training``): weight norms and histograms, gradient noise, gradient flow, saturation."""
from __future__ import annotations

from typing import Any

import numpy as np

from reportgen.report.draw import figures
from reportgen.report.judge import timings
from reportgen.results.stats import t_interval
from reportgen.report.analyses.context import Context, bounded, cell, devices, fmt, probe_rows


def _aligned(v, probe: str) -> tuple[list[list[dict]], int, np.ndarray]:
    """(rows per seed that recorded ``probe``, rows all seeds share, their epochs as float)."""
    per_seed = [rows for rows in probe_rows(v, probe) if rows]
    n = min((len(r) for r in per_seed), default=0)
    epochs = np.array([row["epoch"] for row in per_seed[0][:n]], dtype=float) if per_seed else np.array([])
    return per_seed, n, epochs


def _layer_series(ctx: Context, probe: str, field: str = "layers", scale: float = 1.0):
    """``{layer: {variant label: (epochs, runs)}}`` from per-epoch probe rows ``{epoch, layers: {…}}``."""
    out: dict[str, dict[str, tuple[np.ndarray, np.ndarray]]] = {}
    for v in (v for v in ctx.sr.variants if v.runs):
        per_seed, n, epochs = _aligned(v, probe)
        if not per_seed:
            continue
        for layer in per_seed[0][0][field]:
            runs = np.array([[row[field][layer] for row in rows[:n]] for rows in per_seed], dtype=float) * scale
            out.setdefault(layer, {})[v.label] = (epochs, runs)
    return out


def _missing(ctx: Context, probe: str) -> list[str]:
    return [v.label for v in ctx.sr.variants if v.runs and not any(probe_rows(v, probe))]


def weight_norms(ctx: Context) -> dict[str, Any]:
    """The Frobenius norm ‖W‖_F of each layer's weight matrix per epoch (``weight_norms`` probe), and the
    final norms per variant."""
    layers = _layer_series(ctx, "weight_norms")
    url = None
    if layers:
        path, url = ctx.figure("weight_norms.png")
        figures.lines([figures.Panel(f"{name}: weight Frobenius norm", r"$\Vert W\Vert_F$", series) for name, series in layers.items()],
                      path, "Weight norm per layer (epoch 0 = initialization); mean over seeds with min–max band")
    rows = []
    for v in (v for v in ctx.sr.variants if v.runs):
        cells = [bounded(layers[name][v.label][1][:, -1], 2, (0, np.inf)) if v.label in layers[name] else "—"
                 for name in layers]
        rows.append({"label": v.label, "cells": cells, "val_loss": cell(v, "val_loss"),
                     "test": cell(v, "test_accuracy")})
    return {"url": url, "layers": list(layers), "rows": rows, "missing": _missing(ctx, "weight_norms")}


def weight_histograms(ctx: Context) -> dict[str, Any]:
    """Distribution of the final weights per layer, one line per variant (first seed), and the
    standard deviation of each layer's weights (mean ± CI over seeds)."""
    panels: dict[str, dict[str, dict]] = {}
    stds: dict[str, dict[str, list[float]]] = {}
    for v in (v for v in ctx.sr.variants if v.runs):
        for rows in probe_rows(v, "weight_histograms"):
            final = next((r for r in rows if r["epoch"] == "final"), None)
            if final is None:
                continue
            for layer, h in final["layers"].items():
                panels.setdefault(f"{layer}: final weights", {}).setdefault(v.label, h)
                stds.setdefault(v.label, {}).setdefault(layer, []).append(h["std"])
    url = None
    if panels:
        path, url = ctx.figure("weight_histograms.png")
        figures.histograms(panels, path, "Final weight distribution per layer (first seed; log density)")
    layers = list(dict.fromkeys(layer for s in stds.values() for layer in s))
    rows = [{"label": label, "cells": [bounded(s[layer], 4, (0, np.inf)) if layer in s else "—" for layer in layers]}
            for label, s in stds.items()]
    return {"url": url, "layers": layers, "rows": rows, "missing": _missing(ctx, "weight_histograms")}


def _loglog_slope(sizes: list[int], variances: list[float]) -> float:
    """Least-squares slope of log(variance) on log(B); −1 is the 1/B law."""
    return float(np.polyfit(np.log(sizes), np.log(variances), 1)[0])


def gradient_noise(ctx: Context) -> dict[str, Any]:
    """Minibatch gradient variance against batch size (with its log-log slope), ‖G‖² and the simple
    noise scale B_simple = tr(Σ)/‖G‖² over training (McCandlish et al. 2018), seconds per epoch (recorded
    in training, and s / step and s / epoch from the study's controlled timing when it has one:
    :mod:`reportgen.report.judge.timings`) and the generalization gap per variant."""
    rows, scale_series, grad_series, var_series = [], {}, {}, {}
    controlled = timings.measured(ctx.sr)
    for v in (v for v in ctx.sr.variants if v.runs):
        per_seed, n, epochs = _aligned(v, "grad_noise")
        if not per_seed:
            continue
        scale_series[v.label] = (epochs, np.array([[row["noise_scale"] for row in r[:n]] for r in per_seed]))
        grad_series[v.label] = (epochs, np.array([[row["grad_sq"] for row in r[:n]] for r in per_seed]))
        slopes = []
        for r in per_seed:
            sizes = sorted(int(b) for b in r[-1]["batch"])
            slopes.append(_loglog_slope(sizes, [r[-1]["batch"][str(b)]["variance"] for b in sizes]))
        if v.slug == ctx.sr.reference:
            sizes = sorted(int(b) for b in per_seed[0][0]["batch"])
            for at in (0, n - 1):
                var_series[f"{v.label}, epoch {int(epochs[at])}"] = (
                    sizes, np.array([[r[at]["batch"][str(b)]["variance"] for b in sizes] for r in per_seed]))
        rows.append({"label": v.label, "batch": v.runs[0]["config"]["train"]["batch_size"],
                     "lr": v.runs[0]["config"]["optim"]["lr"],
                     "scale0": bounded([r[0]["noise_scale"] for r in per_seed], 1, (0, np.inf)),
                     "scale_last": bounded([r[n - 1]["noise_scale"] for r in per_seed], 1, (0, np.inf)),
                     "slope": fmt(t_interval(slopes), 2), "sec": cell(v, "seconds_per_epoch", mixed=len(devices(ctx.sr)) > 1),
                     **{f"c_{k}": x for k, x in timings.cells(controlled, v.slug).items()},
                     "gap": cell(v, "generalization_gap"), "test": cell(v, "test_accuracy")})
    url = None
    if rows:
        path, url = ctx.figure("gradient_noise.png")
        ref_sizes = next(iter(var_series.values()))[0] if var_series else []
        panels = [figures.Panel("Minibatch gradient variance E‖g_B − G‖²", "variance", var_series,
                                xlabel="batch size B", logx=True, logy=True),
                  figures.Panel("Simple noise scale B_simple = tr(Σ)/‖G‖²", "examples", scale_series, logy=True),
                  figures.Panel("Full-batch gradient ‖G‖²", "‖G‖²", grad_series, logy=True)]
        if len(ref_sizes):
            first = next(iter(var_series.values()))[1].mean(0)
            ideal = first[0] * ref_sizes[0] / np.asarray(ref_sizes, dtype=float)
            panels[0].series["1/B law (from the smallest B)"] = (ref_sizes, ideal[None, :])
            panels[0].styles["1/B law (from the smallest B)"] = ":"
        figures.lines(panels, path, "Gradient noise at fixed points of training (clean training split, eval mode)")
    return {"url": url, "rows": rows, "missing": _missing(ctx, "grad_noise"), "controlled": controlled is not None,
            "timing_note": timings.note(controlled, ctx.sr)}


def gradient_flow(ctx: Context) -> dict[str, Any]:
    """Mean gradient norm per layer per epoch (``grad_norms`` probe) and, per variant, the ratio of
    the first layer's gradient norm to the last layer's (small: the first layer learns slowly)."""
    layers = _layer_series(ctx, "grad_norms")
    url = None
    if layers:
        path, url = ctx.figure("gradient_flow.png")
        figures.lines([figures.Panel(f"{name}: mean ‖∂L/∂W‖₂ per step", "gradient norm", series, logy=True)
                       for name, series in layers.items()], path,
                      "Gradient norm per layer, averaged over each epoch's steps; mean over seeds with min–max band")
    names = list(layers)
    rows = []
    for v in (v for v in ctx.sr.variants if v.runs):
        if not names or v.label not in layers[names[0]]:
            continue
        first = layers[names[0]][v.label][1].mean(1)
        own = [n for n in names if v.label in layers[n]][-1]  # variants may differ in depth
        last = bounded(layers[own][v.label][1].mean(1), 4, (0, np.inf))
        rows.append({"label": v.label, "first": bounded(first, 4, (0, np.inf)),
                     "last": last if own == names[-1] else f"{last} ({own})",
                     "ratio": cell(v, "grad_norm_ratio"), "test": cell(v, "test_accuracy")})
    return {"url": url, "rows": rows, "first": names[0] if names else "", "last": names[-1] if names else "",
            "missing": _missing(ctx, "grad_norms")}


def saturation(ctx: Context) -> dict[str, Any]:
    """Share of dead (rectifiers) or saturated (tanh, sigmoid, softsign) units per epoch
    (``saturation`` probe), at initialization and at the end."""
    series: dict[str, dict[str, tuple]] = {}
    rows = []
    for v in (v for v in ctx.sr.variants if v.runs):
        per_seed, n, epochs = _aligned(v, "saturation")
        if not per_seed:
            continue
        for layer, first in per_seed[0][0]["layers"].items():
            kind = "saturated" if "saturated" in first else "dead"
            runs = np.array([[row["layers"][layer][kind] * 100 for row in r[:n]] for r in per_seed])
            series.setdefault(layer, {})[f"{v.label} ({kind})"] = (epochs, runs)
            rows.append({"label": v.label, "layer": layer, "kind": kind,
                         "init": bounded(runs[:, 0], 1, (0, 100)), "last": bounded(runs[:, -1], 1, (0, 100)),
                         "peak": bounded(runs.max(1), 1, (0, 100))})
    url = None
    if series:
        path, url = ctx.figure("saturation.png")
        figures.lines([figures.Panel(f"{layer}: dead units or saturated activations", "share (%)", s)
                       for layer, s in series.items()], path,
                      "Saturation on 1,000 fixed validation images (epoch 0 = initialization)", cols=1)
    return {"url": url, "rows": rows, "missing": _missing(ctx, "saturation")}
