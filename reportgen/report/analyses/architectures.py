"""Analyses of model architectures and capacity: the cost table with per-model layer tables, the
capacity curve, per-epoch test accuracy against a target, first-layer weights and feature maps.
Everything is read from the results (``params``, ``flops``, ``architecture``, probes); nothing here
builds or loads a model."""
from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from reportgen.report.draw import figures, modelpics
from reportgen.report.judge import timings
from reportgen.report.judge.findings import check
from reportgen.results.quantized import decode
from reportgen.report.judge.significance import against
from reportgen.results.summary import device_of, short_device
from reportgen.spec.schema import Expect
from reportgen.report.analyses.context import Context, cell, devices, per_seed, probe_rows


def _reported(ctx: Context, label: str, slug: str) -> str:
    rep = ctx.sr.spec.study.reported
    value = rep.get(label, rep.get(slug))
    return "—" if value is None else f"{100 * value:.2f}"


def architecture(ctx: Context) -> dict[str, Any]:
    """Per variant: parameters, FLOPs per image, the study's controlled timing when it has one
    (:mod:`reportgen.report.judge.timings`: s / step, s / epoch, inference images/s), the timings recorded in
    training (the fastest epoch of any seed, and each run's median epoch as median and range over
    seeds; inference images/s, median and range), those per device and thread count, never pooled
    across them; test accuracy (mean ±
    95 % CI over seeds), the source's reported accuracy when the spec gives one, and the layer table
    of the model (from its first seed's result)."""
    timed_on = devices(ctx.sr)
    mixed = len(timed_on) > 1
    controlled = timings.measured(ctx.sr)
    rows, tables = [], []
    for v in ctx.sr.variants:
        if not v.runs:
            continue
        r0 = v.runs[0]
        rows.append({**{f"c_{k}": x for k, x in timings.cells(controlled, v.slug).items()},
                     "label": v.label, "n": len(v.runs), "params": cell(v, "params"),
                     "flops": _si(r0.get("flops")), "s_epoch": cell(v, "seconds_per_epoch", mixed=mixed),
                     "s_fastest": _fastest(v, mixed), "ips": cell(v, "inference_images_per_s", mixed=mixed),
                     "acc": cell(v, "test_accuracy"), "reported": _reported(ctx, v.label, v.slug)})
        layers = r0.get("architecture") or []
        tables.append({"label": v.label, "rows": [{**row, "output": "×".join(map(str, row["output"]))}
                                                   for row in layers],
                       "total": sum(row["params"] for row in layers),
                       "picture": _picture(ctx, v.slug, v.label, layers, input_shape(r0))})
    shapes = {input_shape(v.runs[0]) for v in ctx.sr.variants if v.runs} or {(1, 28, 28)}
    image = " or ".join(f"{h}×{w}" + ("" if c == 1 else f"×{c}") for c, h, w in sorted(shapes))
    return {"rows": rows, "tables": tables, "any_reported": bool(ctx.sr.spec.study.reported), "image": image,
            "controlled": controlled is not None, "controlled_ips": bool(controlled and controlled.ips),
            "timing_note": timings.note(controlled, ctx.sr, inference=True),
            "source": ctx.sr.spec.study.reported_source,
            "devices": [short_device(d) for d in timed_on] if mixed else []}


def _fastest(v, mixed: bool) -> str:
    """The fastest epoch of any seed, per device: ``325.0 [2 threads]; 636.1 [1 thread]``."""
    best: dict[str, float] = {}
    for r in v.runs:
        secs = [h["seconds"] for h in r.get("history", [])]
        if secs:
            best[device_of(r)] = min(best.get(device_of(r), float("inf")), min(secs))
    label = mixed or len(best) > 1
    return "; ".join(f"{s:.2f}" + (f" [{short_device(d)}]" if label else "") for d, s in best.items()) or "—"


def input_shape(result: dict[str, Any]) -> tuple[int, int, int]:
    """The (C, H, W) image a result's model read: its data set's (:func:`reportgen.spec.sources.shape_of`),
    MNIST's when the config names none; a folder without ``size``: the channels over the first layer's map."""
    from reportgen.spec.sources import ImageFolder, shape_of

    dataset = ((result.get("config") or {}).get("data") or {}).get("dataset", "mnist")
    spec = ImageFolder.model_validate(dataset) if isinstance(dataset, dict) else dataset
    shape = shape_of(spec)
    if shape is None:
        first = (result.get("architecture") or [{"output": [0, 0, 0]}])[0]["output"]
        shape = (spec.channels, *first[1:3]) if len(first) == 3 else (spec.channels, 0, 0)
    return shape


def _picture(ctx: Context, slug: str, label: str, layers: list[dict], shape: tuple[int, int, int]) -> str | None:
    """The model drawn from its layer table (:mod:`reportgen.report.draw.modelpics`) on its ``shape``
    (C, H, W) input; its URL, None without a table."""
    if not layers:
        return None
    path, url = ctx.figure(f"model_{slug}.png")
    modelpics.draw(layers, path, f"{label}: {sum(row['params'] for row in layers):,} parameters", shape)
    return url


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
    rows = [{"label": v.label, "params": cell(v, "params"), "train": cell(v, "train_acc"),
             "val": cell(v, "val_acc"), "test": cell(v, "test_accuracy"),
             "gap": cell(v, "generalization_gap")} for v in vs]
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


#: How the target column and sentence show an outcome of :func:`reportgen.report.judge.significance.against`.
TARGET_OUTCOME = {"held": ("✅ meets", "meets"), "contradicted": ("❌ misses", "misses"),
                  "inconclusive": ("➖ cannot tell", "cannot be told from")}


def _target_verdict(sr, v, bound: float):
    """``v``'s mean against ``bound`` (%) as the claim ``test accuracy ≥ bound`` is judged
    (:func:`reportgen.report.judge.findings.check`: the study's one verdict where its family holds the
    bound, else :func:`reportgen.report.judge.significance.against`), with ``against``'s one-sided bound
    kept for the bound column; a :class:`Threshold`."""
    claim = check(sr, Expect("test_accuracy", variant=v.slug, at_least=bound / 100))
    return replace(against(v, "test_accuracy", bound, True), outcome=claim.outcome)


def target_accuracy(ctx: Context) -> dict[str, Any]:
    """Test accuracy after every epoch (``test_curve`` probe) with the spec's ``target_accuracy`` line;
    per run, the first epoch from which test accuracy stays at or above the target; per variant, the
    final mean against the target by the rule the claims use (:func:`reportgen.report.judge.significance.against`:
    met when the one-sided 95 % lower confidence bound of the mean is at or above it) and the
    source's reported accuracy. Shown only: choices are made on validation."""
    target = ctx.sr.spec.study.target_accuracy
    series, rows = {}, []
    for v in ctx.sr.variants:
        curves = [[row["test_acc"] for row in rows_] for rows_ in probe_rows(v, "test_curve") if rows_]
        if not curves:
            continue
        n = min(map(len, curves))
        series[v.label] = (list(range(1, n + 1)), np.array([c[:n] for c in curves]) * 100)
        stays = [_stays_above(c, target) if target else None for c in curves]
        judged = _target_verdict(ctx.sr, v, 100 * target) if target else None
        rows.append({"label": v.label, "params": cell(v, "params"), "acc": cell(v, "test_accuracy"),
                     "per_seed": per_seed(v, "test_accuracy"),
                     "stays": ", ".join("never" if s is None else str(s) for s in stays),
                     "meets": TARGET_OUTCOME[judged.outcome][0] if judged else None,
                     "verb": TARGET_OUTCOME[judged.outcome][1] if judged else None,
                     "edge": f"{judged.edge:.2f}" if judged and np.isfinite(judged.edge) else "—",
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

    summary = " ".join(f"{r['label']}: test accuracy {r['acc']} % ({r['verb']} the {100 * target:.2f} % target: "
                       f"one-sided 95 % lower bound {r['edge']} %; {stays(r)})." for r in rows) if target else ""
    return {"summary": summary, "url": url, "zoom_url": zoom_url, "rows": rows,
            "target": None if target is None else 100 * target,
            "any_reported": bool(ctx.sr.spec.study.reported), "source": ctx.sr.spec.study.reported_source}


#: At most this many weight images per figure (in unit order): 512 noisy 28×28 tiles weigh over a
#: megabyte, 256 still over 300 KB.
MAX_WEIGHT_TILES = 128


def first_layer_weights(ctx: Context) -> dict[str, Any]:
    """The first layer's final weights of each variant's first seed (``first_layer_weights`` probe):
    a dense layer on 784 inputs as one 28×28 image per unit, a conv layer as its k×k filters
    (first input channel), each scaled symmetrically around 0 (blue < 0 < red); the first
    ``MAX_WEIGHT_TILES`` units when the layer has more."""
    tabs = []
    for v in ctx.sr.variants:
        rows = probe_rows(v, "first_layer_weights")
        if not v.runs or not rows[0]:
            continue
        w = decode(rows[0][-1]["weights"])
        images = w if w.ndim == 3 else w[:, 0]
        path, url = ctx.figure(f"first_layer_{v.slug}.png")
        kind = "dense units (784 → 28×28)" if w.ndim == 3 else f"conv filters {w.shape[-2]}×{w.shape[-1]}"
        shown = min(len(images), MAX_WEIGHT_TILES)
        what = f"{len(images)} {kind}" if shown == len(images) else f"the first {shown} of {len(images)} {kind}"
        figures.weight_grid(images[:shown], path, f"{v.label}, seed {v.runs[0]['seed']}: {what}")
        tabs.append({"label": v.label, "url": url, "shape": "×".join(map(str, w.shape)), "count": len(images),
                     "shown": shown})
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
        maps = decode(row["maps"])
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
