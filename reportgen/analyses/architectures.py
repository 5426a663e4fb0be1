"""Analyses of model architectures and capacity: the cost table with per-model layer tables, the
capacity curve, per-epoch test accuracy against a target, first-layer weights and feature maps.
Everything is read from the results (``params``, ``flops``, ``architecture``, probes); nothing here
builds or loads a model."""
from __future__ import annotations

from typing import Any

import numpy as np

from .. import figures
from ..summary import METRICS
from .context import Context, fmt, probe_rows, runs_of


def _reported(ctx: Context, label: str, slug: str) -> str:
    rep = ctx.sr.spec.study.reported
    value = rep.get(label, rep.get(slug))
    return "—" if value is None else f"{100 * value:.2f}"


def architecture(ctx: Context) -> dict[str, Any]:
    """Per variant: parameters, FLOPs per image, seconds per training epoch (the fastest epoch of any
    seed, and the median epoch as mean ± 95 % CI over seeds), inference images/s and
    test accuracy (mean ± 95 % CI over seeds), the source's reported accuracy when the spec gives one,
    and the layer table of the model (from its first seed's result)."""
    rows, tables = [], []
    for v in ctx.sr.variants:
        if not v.runs:
            continue
        r0 = v.runs[0]
        rows.append({"label": v.label, "n": len(v.runs), "params": fmt(v.interval("params"), 0),
                     "flops": _si(r0.get("flops")), "s_epoch": fmt(v.interval("seconds_per_epoch"), 2),
                     "s_fastest": f"{min(h['seconds'] for r in v.runs for h in r['history']):.2f}",
                     "ips": fmt(v.interval("inference_images_per_s"), 0),
                     "acc": fmt(v.interval("test_accuracy"), 2), "reported": _reported(ctx, v.label, v.slug)})
        layers = r0.get("architecture") or []
        tables.append({"label": v.label, "rows": [{**row, "output": "×".join(map(str, row["output"]))}
                                                   for row in layers],
                       "total": sum(row["params"] for row in layers)})
    return {"rows": rows, "tables": tables, "any_reported": bool(ctx.sr.spec.study.reported),
            "source": ctx.sr.spec.study.reported_source}


def _si(n: float | None) -> str:
    """FLOPs with an SI prefix (k, M, G): 203,264 → "203.3 k"."""
    if n is None:
        return "—"
    for div, prefix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if n >= div:
            return f"{n / div:.1f} {prefix}"
    return f"{n:.0f}"


def capacity_curve(ctx: Context) -> dict[str, Any]:
    """Parameters (log x) against train (eval mode), validation and test accuracy at the last epoch,
    and the generalization gap (train − val, pp), mean ± 95 % CI over seeds."""
    vs = sorted((v for v in ctx.sr.variants if v.runs), key=lambda v: v.interval("params").mean)
    x = [v.interval("params").mean for v in vs]
    series = {name: (x, np.array([v.values(metric) for v in vs], dtype=float).T * 100)
              for name, metric in (("train (eval mode)", "train_acc"), ("validation", "val_acc"),
                                   ("test", "test_accuracy"))}
    gap = {"train − val": (x, np.array([v.values("generalization_gap") for v in vs], dtype=float).T * 100)}
    path, url = ctx.figure("capacity_curve.png")
    figures.lines([figures.Panel("Accuracy against model size", "accuracy (%)", series, xlabel="parameters",
                                 logx=True),
                   figures.Panel("Generalization gap", "pp", gap, xlabel="parameters", logx=True)],
                  path, shared_colours=False)
    rows = [{"label": v.label, "params": fmt(v.interval("params"), 0), "train": fmt(v.interval("train_acc"), 2),
             "val": fmt(v.interval("val_acc"), 2), "test": fmt(v.interval("test_accuracy"), 2),
             "gap": fmt(v.interval("generalization_gap"), 2)} for v in vs]
    best = max(vs, key=lambda v: v.interval("val_acc").mean) if vs else None
    return {"url": url, "rows": rows, "best_val": best.label if best else None}


def _stays_above(acc: list[float], target: float) -> int | None:
    """First epoch (1-based) from which every later epoch's accuracy is ≥ ``target``; None if never."""
    first = None
    for epoch, a in enumerate(acc, 1):
        if a >= target:
            first = first or epoch
        else:
            first = None
    return first


def target_accuracy(ctx: Context) -> dict[str, Any]:
    """Test accuracy after every epoch (``test_curve`` probe) with the spec's ``target_accuracy`` line;
    per run, the first epoch from which test accuracy stays at or above the target; per variant, the
    final mean against the target and the source's reported accuracy. Shown only: choices are made
    on validation."""
    target = ctx.sr.spec.study.target_accuracy
    series, rows = {}, []
    for v in ctx.sr.variants:
        curves = [[row["test_acc"] for row in rows_] for rows_ in probe_rows(v, "test_curve") if rows_]
        if not curves:
            continue
        n = min(map(len, curves))
        series[v.label] = (list(range(1, n + 1)), np.array([c[:n] for c in curves]) * 100)
        stays = [_stays_above(c, target) if target else None for c in curves]
        acc = v.interval("test_accuracy")
        rows.append({"label": v.label, "params": fmt(v.interval("params"), 0), "acc": fmt(acc, 2),
                     "per_seed": ", ".join(f"{100 * a:.2f}" for a in v.values("test_accuracy")),
                     "stays": ", ".join("never" if s is None else str(s) for s in stays),
                     "meets": None if target is None else acc.mean >= 100 * target,
                     "reported": _reported(ctx, v.label, v.slug), "epochs": n})
    if not series:
        return {"url": None, "rows": [], "target": target}
    path, url = ctx.figure("target_accuracy.png")
    hl = ((100 * target, f"target {100 * target:.2f} %"),) if target else ()
    figures.lines([figures.Panel("Test accuracy per epoch (mean, min–max over seeds)", "test accuracy (%)", series,
                                 hlines=hl)], path, cols=1)
    finals = [float(np.min(runs[:, -1])) for _, runs in series.values()]
    low = min(finals + ([100 * target] if target else [])) - 0.4
    zoom_path, zoom_url = ctx.figure("target_accuracy_zoom.png")
    figures.lines([figures.Panel("The same, near the target", "test accuracy (%)", series, hlines=hl,
                                 ylim=(low, 100.0))], zoom_path, cols=1)
    def stays(r: dict) -> str:
        if set(r["stays"].split(", ")) == {"never"}:
            return "no seed stays at or above it to the end"
        return f"stays at or above it from epoch {r['stays']} (per seed)"

    summary = " ".join(f"{r['label']}: {r['acc']} % ({'meets' if r['meets'] else 'misses'} the {100 * target:.2f} % "
                       f"target; {stays(r)})." for r in rows) if target else ""
    return {"summary": summary, "url": url, "zoom_url": zoom_url, "rows": rows,
            "target": None if target is None else 100 * target,
            "any_reported": bool(ctx.sr.spec.study.reported), "source": ctx.sr.spec.study.reported_source}


def first_layer_weights(ctx: Context) -> dict[str, Any]:
    """The first layer's final weights of each variant's first seed (``first_layer_weights`` probe):
    a dense layer on 784 inputs as one 28×28 image per unit, a conv layer as its k×k filters
    (first input channel), each scaled symmetrically around 0 (blue < 0 < red)."""
    tabs = []
    for v in ctx.sr.variants:
        rows = probe_rows(v, "first_layer_weights")
        if not v.runs or not rows[0]:
            continue
        w = np.asarray(rows[0][-1]["weights"], dtype=float)
        images = w if w.ndim == 3 else w[:, 0]
        path, url = ctx.figure(f"first_layer_{v.slug}.png")
        kind = "dense units (784 → 28×28)" if w.ndim == 3 else f"conv filters {w.shape[-2]}×{w.shape[-1]}"
        figures.weight_grid(images, path, f"{v.label}, seed {v.runs[0]['seed']}: {len(images)} {kind}")
        tabs.append({"label": v.label, "url": url, "shape": "×".join(map(str, w.shape)), "count": len(images)})
    return {"tabs": tabs}


def feature_maps(ctx: Context) -> dict[str, Any]:
    """For the variant with the best mean validation accuracy (first seed): the input digit and the
    outputs of its first two conv layers (``feature_maps`` probe), each channel its own colour scale."""
    vs = [v for v in ctx.sr.variants if v.runs and probe_rows(v, "feature_maps")[0]]
    if not vs:
        return {"panels": []}
    best = max(vs, key=lambda v: v.interval("val_acc").mean)
    panels = []
    for row in probe_rows(best, "feature_maps")[0]:
        maps = np.asarray(row["maps"], dtype=float)
        path, url = ctx.figure(f"feature_maps_{best.slug}_{row['layer']}.png")
        figures.image_grid(maps[:32], [f"ch {i}" for i in range(min(32, len(maps)))], path,
                           f"{best.label}: {row['layer']} on test image #{row['index']} (a {row['label']}), "
                           + (f"all {len(maps)} channels" if len(maps) <= 32 else f"the first 32 of {len(maps)} channels")
                           + f", each {maps.shape[1]}×{maps.shape[2]}", cols=8)
        panels.append({"layer": row["layer"], "url": url, "channels": len(maps), "shown": min(32, len(maps)),
                       "size": f"{maps.shape[1]}×{maps.shape[2]}"})
    idx = probe_rows(best, "feature_maps")[0][0]["index"]
    path, url = ctx.figure("feature_maps_input.png")
    figures.image_grid(ctx.test_images[[idx]], [f"#{idx}"], path, "input", cols=1)
    return {"panels": panels, "variant": best.label, "input_url": url, "index": idx}
