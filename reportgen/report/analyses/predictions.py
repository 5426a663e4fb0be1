"""Prediction behaviour: what each model says about single test images, how confident it is when it
is wrong, how well its confidence is calibrated, and which digits it confuses.

Read from the ``digit_panel`` and ``predictions`` probes and the recorded confusion matrices; the
images and true labels come from the verified MNIST test file (:class:`Context`).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from reportgen.report.draw import figures
from reportgen.results.stats import t_interval
from reportgen.report.analyses.context import Context, bounded, cell, probe_rows

#: Equal-width confidence bins of the ECE and the reliability diagram (Guo et al. 2017, "On Calibration
#: of Modern Neural Networks", ICML, Sec. 2, use M = 15).
ECE_BINS = 15
#: Images per list of the most confident errors and of the least confident correct predictions.
EXTREMES = 12
#: Most-confused pairs listed per model.
PAIRS = 6


def _predictions(run: dict) -> dict | None:
    rows = run.get("probes", {}).get("predictions") or []
    return rows[0] if rows else None


def prediction_panel(ctx: Context) -> dict[str, Any]:
    """The fixed digit panel (``digit_panel`` probe, test indices from the spec): each model's top-3
    classes with probabilities, first seed of each variant."""
    vs = [v for v in ctx.sr.variants if v.runs and probe_rows(v, "digit_panel")[0]]
    if not vs:
        return {"url": None}
    panels = {v.label: {r["index"]: r for r in probe_rows(v, "digit_panel")[0]} for v in vs}
    indices = sorted(set.intersection(*(set(p) for p in panels.values())))
    labels = ctx.test_labels
    path, url = ctx.figure("digit_panel.png")
    figures.image_grid(ctx.test_images[indices], [f"#{i}: a {labels[i]}" for i in indices], path,
                       "The digit panel (test index: true label)", cols=min(10, len(indices)))
    rows = []
    for i in indices:
        cells = []
        for label, p in panels.items():
            top = p[i]
            text = ", ".join(f"{c} ({q:.1%})" for c, q in zip(top["top"], top["prob"]))
            cells.append({"text": text, "correct": top["top"][0] == int(labels[i])})
        rows.append({"index": i, "label": int(labels[i]), "cells": cells})
    right = {label: sum(r["cells"][k]["correct"] for r in rows) for k, label in enumerate(panels)}
    per_seed, always_wrong = {}, {}  # every seed: images right, and images wrong on every seed
    for v in vs:
        seeds = [{r["index"]: r["top"][0] == int(labels[r["index"]]) for r in rs} for rs in probe_rows(v, "digit_panel")
                 if rs]
        per_seed[v.label] = [sum(s.get(i, False) for i in indices) for s in seeds]
        always_wrong[v.label] = sum(all(not s.get(i, False) for s in seeds) for i in indices)
    return {"url": url, "models": list(panels), "rows": rows, "right": right, "n": len(indices),
            "seeds": {v.label: v.runs[0]["seed"] for v in vs}, "per_seed": per_seed, "always_wrong": always_wrong}


def confidence_extremes(ctx: Context) -> dict[str, Any]:
    """Per variant (first seed): the ``EXTREMES`` most confident errors and the ``EXTREMES`` least
    confident correct predictions (``predictions`` probe), as images captioned true → predicted (confidence)."""
    tabs = []
    truth = ctx.test_labels.astype(int)
    for v in ctx.sr.variants:
        p = _predictions(v.runs[0]) if v.runs else None
        if p is None:
            continue
        pred, conf = np.asarray(p["predicted"]), np.asarray(p["confidence"])
        y = truth[:len(pred)]
        wrong, right = np.flatnonzero(pred != y), np.flatnonzero(pred == y)
        worst = wrong[np.argsort(-conf[wrong], kind="stable")][:EXTREMES]
        unsure = right[np.argsort(conf[right], kind="stable")][:EXTREMES]
        figs = {}
        for name, idx, what in (("errors", worst, "most confident errors"),
                                ("unsure", unsure, "least confident correct predictions")):
            path, url = ctx.figure(f"extremes_{name}_{v.slug}.png")
            figures.image_grid(ctx.test_images[idx], [f"#{i}\n{y[i]}→{pred[i]} ({conf[i]:.1%})" for i in idx], path,
                               f"{v.label}, seed {v.runs[0]['seed']}: {what} (test index: true→predicted)",
                               cols=min(EXTREMES, 12))
            figs[f"{name}_url"] = url
        tabs.append({"label": v.label, "seed": v.runs[0]["seed"], **figs, "errors": len(wrong),
                     "confident_errors": int((conf[wrong] >= 0.99).sum()),
                     "unsure_correct": int((conf[right] < 0.5).sum()), "n": len(pred)})
    return {"tabs": tabs}


def reliability_bins(confidence: np.ndarray, correct: np.ndarray, bins: int = ECE_BINS) -> dict[str, Any]:
    """Equal-width confidence bins over [0, 1]: per bin the accuracy, mean confidence and count
    (NaN for an empty bin), and the expected calibration error
    ECE = Σ_m |B_m|/n · |acc(B_m) − conf(B_m)| (Naeini et al. 2015; Guo et al. 2017, Eq. 3) as a fraction.

    Args:
        confidence: float (N,) in [0, 1], the probability of the predicted class.
        correct: bool (N,), whether the prediction was right.
    """
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1], right=True), 0, bins - 1)
    count = np.bincount(which, minlength=bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        acc = np.bincount(which, weights=correct.astype(float), minlength=bins) / count
        conf = np.bincount(which, weights=confidence, minlength=bins) / count
    ece = float(np.nansum(count / max(len(confidence), 1) * np.abs(acc - conf)))
    return {"edges": edges.tolist(), "acc": acc.tolist(), "conf": conf.tolist(), "count": count.tolist(), "ece": ece}


def calibration(ctx: Context) -> dict[str, Any]:
    """Reliability diagram per variant (seeds pooled) and ECE per variant (mean ± 95 % CI over seeds),
    with the test NLL and accuracy beside it."""
    diagrams, rows = {}, []
    truth = ctx.test_labels.astype(int)
    for v in ctx.sr.variants:
        ps = [p for p in (_predictions(r) for r in v.runs) if p is not None]
        if not ps:
            continue
        confs = [np.asarray(p["confidence"]) for p in ps]
        corrects = [np.asarray(p["predicted"]) == truth[:len(p["predicted"])] for p in ps]
        eces = [reliability_bins(c, k)["ece"] * 100 for c, k in zip(confs, corrects)]
        pooled = reliability_bins(np.concatenate(confs), np.concatenate(corrects))
        diagrams[v.label] = {**pooled, "ece": pooled["ece"] * 100}
        iv = t_interval(eces)
        over = np.mean([c.mean() - k.mean() for c, k in zip(confs, corrects)]) * 100
        rows.append({"label": v.label, "n": len(ps), "ece": bounded(eces, 2, (0, 100)), "ece_mean": iv.mean,
                     "confidence": f"{np.mean([c.mean() for c in confs]) * 100:.2f}",
                     "accuracy": cell(v, "test_accuracy"), "nll": bounded(v.values("test_loss"), 3, (0, np.inf)),
                     "over": f"{over:+.2f}"})
    if not rows:
        return {"url": None}
    path, url = ctx.figure("reliability.png")
    figures.reliability(diagrams, path, f"Reliability diagrams, test set, {ECE_BINS} bins, seeds pooled")
    best = min(rows, key=lambda r: r["ece_mean"])
    worst = max(rows, key=lambda r: r["ece_mean"])
    summary = (f"Best calibrated: **{best['label']}** (ECE {best['ece']} %); "
               f"least: **{worst['label']}** (ECE {worst['ece']} %; mean confidence minus accuracy {worst['over']} pp)."
               if best is not worst else f"ECE of {best['label']}: {best['ece']} %.")
    return {"summary": summary, "url": url, "rows": rows, "bins": ECE_BINS, "best": best["label"], "best_ece": best["ece"]}


def confused_pairs(ctx: Context) -> dict[str, Any]:
    """The most-confused digit pairs per variant: for each unordered pair {a, b} the test errors a→b
    and b→a from the recorded confusion matrices, mean per seed, the ``PAIRS`` largest totals."""
    tables = []
    for v in ctx.sr.variants:
        cms = [np.asarray(r["test"]["confusion_matrix"], dtype=float) for r in v.runs]
        if not cms:
            continue
        cm = np.mean(cms, axis=0)
        pairs = sorted(((cm[a, b] + cm[b, a], a, b) for a in range(10) for b in range(a + 1, 10)), reverse=True)
        errors = cm.sum() - np.trace(cm)
        rows = [{"pair": f"{a} ↔ {b}", "ab": f"{cm[a, b]:.1f}", "ba": f"{cm[b, a]:.1f}", "total": f"{t:.1f}",
                 "share": f"{t / errors:.0%}" if errors else "—"} for t, a, b in pairs[:PAIRS]]
        tables.append({"label": v.label, "n": len(cms), "errors": f"{errors:.1f}", "rows": rows})
    top = {}
    for t in tables:
        for r in t["rows"][:3]:
            top[r["pair"]] = top.get(r["pair"], 0) + 1
    common = [p for p, k in sorted(top.items(), key=lambda kv: -kv[1]) if k == len(tables) and len(tables) > 1]
    return {"tables": tables, "common": common}
