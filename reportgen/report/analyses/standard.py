"""The standard analyses every study may use: comparison table, learning curves, confusion
matrices, misclassified examples and the generalization gap."""
from __future__ import annotations

import math

from typing import Any

import numpy as np

from reportgen.report.draw import figures, interactive
from reportgen.report.judge import timings
from reportgen.report.judge.power import CAVEAT, for_pair
from reportgen.report.judge.decisions import oriented
from reportgen.report.judge.verdicts import comparisons
from reportgen.results.summary import METRICS, short_device
from reportgen.report.analyses.context import OUTLIER_MARK, TABLE_METRICS, Context, cell, devices, left_out, per_seed


def _best_differs(ctx: Context) -> bool:
    """Whether any run's best-validation-epoch weights score differently from its final weights."""
    return any(r["test_best_epoch"]["accuracy"] != r["test"]["accuracy"] for r in ctx.sr.runs if "test_best_epoch" in r)


def comparison_table(ctx: Context) -> dict[str, Any]:
    """Each variant's standard measures over its seeds (mean ± 95 % CI; epochs and timings as median
    and range; outlier seeds left out and flagged; seconds per epoch labelled as recorded in training,
    beside the study's controlled timing when it has one: :mod:`reportgen.report.judge.timings`), every
    seed's test accuracy, the test accuracy of
    the best-validation epoch beside the last where they differ, and the study's comparisons (the
    t test :func:`reportgen.report.judge.significance.two_sample` picks and McNemar per image, Holm-adjusted)."""
    metrics = list(TABLE_METRICS)
    if _best_differs(ctx):
        metrics.insert(1, "test_accuracy_best_epoch")
    cols = [m for m in metrics if any(np.isfinite(v.values(m)).any() for v in ctx.sr.variants if v.runs)]
    timed_on = devices(ctx.sr)
    mixed = len(timed_on) > 1
    rows = []
    for v in ctx.sr.variants:
        cells = {m: cell(v, m, mixed=mixed) for m in cols}
        rows.append({"label": v.label, "slug": v.slug, "n": len(v.runs), "expected": v.expected,
                     "reference": v.slug == ctx.sr.reference, "cells": cells,
                     "per_seed": per_seed(v, "test_accuracy") if "test_accuracy" in cols else ""})
    tests = [{"a": c.a.label, "b": c.b.label, **_estimate(c), "p_holm": _adjusted(c), "mcnemar": c.per_image,
              "sentence": c.sentence, "needed": _needed(c)}
             for c in comparisons(ctx.sr)]
    columns = [(m, METRICS[m].label + (f" ({METRICS[m].unit})" if METRICS[m].unit else "")) for m in cols]
    timed = "seconds_per_epoch" in cols
    controlled = timings.measured(ctx.sr) if timed else None
    if timed:  # the recorded column says what it is; the controlled one, when measured, goes before it
        at = cols.index("seconds_per_epoch")
        columns[at] = ("seconds_per_epoch", f"s / epoch, {timings.RECORDED} (median) (s)")
        if controlled:
            columns.insert(at, ("controlled_s_epoch", "s / epoch, controlled (s)"))
            for r, v in zip(rows, ctx.sr.variants):
                r["cells"]["controlled_s_epoch"] = timings.cells(controlled, v.slug)["s_epoch"]
    return {"columns": columns, "rows": rows, "tests": tests, "per_seed": "test_accuracy" in cols,
            "flags": [{"label": v.label, "note": v.note()} for v in ctx.sr.variants if v.note()],
            "mark": OUTLIER_MARK, "timed": timed, "timing_note": timings.note(controlled, ctx.sr) if timed else "",
            "devices": [short_device(d) for d in timed_on] if mixed else [], "caveat": CAVEAT,
            "margin": _margin(ctx.sr), "n_test": scored_images(ctx.sr)}


def scored_images(sr) -> int:
    """Test images one run of the study is scored on (its confusion matrix's total; 10,000 on MNIST)."""
    for v in sr.variants:
        for r in v.runs:
            cm = (r.get("test") or {}).get("confusion_matrix")
            if cm:
                return int(np.sum(cm))
    return 10000


def _margin(sr) -> str:
    """The study's equivalence margin for test accuracy in words ("" without one)."""
    from reportgen.report.judge.margins import fixed_margin, margin_of

    d = margin_of(sr, "test_accuracy")
    if d is None:
        return ""
    declared = sr.spec is not None and "test_accuracy" in sr.spec.study.margins
    why = ("declared by the spec" if declared else "the binomial standard error of the difference of two "
           "accuracies at the reference's mean on the test set, √(2p(1 − p)/n)"
           + (", fixed at the seeds the sequential design began with" if fixed_margin(sr, "test_accuracy") is not None
              else ""))
    return f"δ = ±{d:.2f} pp ({why})"


def _adjusted(c) -> str:
    """The pair's p as its one verdict judged it: adjusted over the study's family (Shaffer), or, decided by
    adding seeds, its p against the level of the look that decided it."""
    from reportgen.results.sequential import FIXED

    if c.decided is None:
        return _p(c.p_holm)
    d, rec = c.decided.decision, c.decided.record
    if rec.spending == FIXED:
        return _p(d.p_adjusted if d.p_adjusted is not None else math.nan)
    return f"{_p(d.p if d.p is not None else math.nan)} at look {c.decided.look} (level {d.level:.2g})"


def _estimate(c) -> dict[str, str]:
    """The row's difference (pp), 95 % CI, p and test, from the test its verdict came from: a pair decided
    by adding seeds shows the numbers of the look that decided it (seeds added to the reference later, for
    other pairs, are not in them), any other pair the test at the seeds the study has."""
    found = c.at_look
    if found is not None:
        diff, low, high = oriented(found, c.a.slug)
        p = found.decision.p
        return {"diff": f"{diff:+.2f}", "ci": "—" if low is None else f"{low:.2f} to {high:.2f}",
                "p": _p(p if p is not None else math.nan), "how": f"{found.over}, at look {found.look}"}
    return {"diff": f"{c.test.diff:+.2f}", "ci": f"{c.test.low:.2f} to {c.test.high:.2f}" if np.isfinite(c.test.low) else "—",
            "p": _p(c.test.p), "how": c.tested.how}


def _needed(c) -> str:
    """An undecided comparison's seeds per variant for 80 % power, and their cost
    (:func:`reportgen.report.judge.power.for_pair`); "" when it is decided or not testable."""
    if c.tested.why_not or c.settled:
        return ""
    n = for_pair(c.a, c.b, "test_accuracy", c.tested)
    return n.short if n is not None else ""


def _p(p: float) -> str:
    return "—" if not np.isfinite(p) else "< 0.001" if p < 0.001 else f"{p:.3f}"


def _curves(ctx: Context) -> dict[str, dict[str, list[list[float]]]]:
    """Per variant, each history series per seed, outlier seeds left out (:attr:`VariantResults.clean`)."""
    return {v.label: {k: [[h[k] for h in r["history"]] for r in v.clean.runs]
                      for k in ("train_loss", "val_loss", "train_acc", "val_acc")}
            for v in ctx.sr.variants if v.runs}


def learning_curves(ctx: Context) -> dict[str, Any]:
    """Train (dashed) and validation (solid) loss and accuracy per epoch, mean over seeds with band;
    outlier seeds are left out of the lines, bands and epochs (and named), the interactive chart shows
    every seed."""
    path, url = ctx.figure("learning_curves.png")
    vs = [v.clean for v in ctx.sr.variants if v.runs]
    stops = {v.label: float(np.mean([r["best_epoch"] for r in v.runs])) for v in vs
             if v.runs[0]["config"]["train"]["early_stopping"]}
    figures.learning_curves(_curves(ctx), path, marks=stops or None)
    best = {v.label: [r["best_epoch"] for r in v.runs] for v in vs}
    spec_path, spec_url = ctx.figure("learning_curves.vl.json")  # the same curves, interactive (every seed)
    interactive.learning_curves(ctx.sr, spec_path)
    return {"url": url, "best_epochs": best, "marked": bool(stops), "chart_url": spec_url,
            "left_out": left_out(ctx.sr.variants),
            "first_shown": interactive.first_shown([v.label for v in ctx.sr.variants if v.runs])}


def confusion_matrix(ctx: Context) -> dict[str, Any]:
    """Per variant: the confusion matrix summed over seeds (a tab each) and its most-confused pairs;
    outlier seeds are left out of the sum and named in the tab and the figure's title."""
    tabs = []
    for full in ctx.sr.variants:
        if not full.runs:
            continue
        v, gone = full.clean, "; ".join(o.describe() for o in full.outliers())
        cm = np.sum([r["test"]["confusion_matrix"] for r in v.runs], axis=0)
        path, url = ctx.figure(f"confusion_{v.slug}.png")
        seeds = [str(o.seed) for o in full.outliers()]
        names = v.runs[0].get("class_names")
        figures.confusion_matrix(cm, path, f"{v.label} — summed over {len(v.runs)} seed(s)"
                                 + (f", seed{'s' if len(seeds) > 1 else ''} {', '.join(seeds)} left out" if seeds else ""),
                                 names)
        chart, chart_url = ctx.figure(f"confusion_{v.slug}.vl.json")  # the same matrix, hover for count and share
        interactive.write(interactive.confusion_spec(cm.astype(int).tolist(), f"{v.label}: confusion matrix summed over "
                                                     f"{len(v.runs)} seed{'s' if len(v.runs) != 1 else ''}", names), chart)
        k = len(cm)
        off = [(int(cm[i, j]), i, j) for i in range(k) for j in range(k) if i != j]
        pairs = [{"true": i, "pred": j, "count": c, "per_seed": c / len(v.runs)}
                 for c, i, j in sorted(off, key=lambda t: (-t[0], t[1], t[2]))[:5]]
        tabs.append({"label": v.label, "url": url, "pairs": pairs, "n": len(v.runs),
                     "left_out": gone, "chart_url": chart_url})
    return {"tabs": tabs}


def misclassified_examples(ctx: Context, per_variant: int = 30) -> dict[str, Any]:
    """The most confident errors of each variant's first seed, shown as true → predicted (confidence)."""
    tabs = []
    for v in ctx.sr.variants:
        if not v.runs:
            continue
        t = v.runs[0]["test"]
        if not t["misclassified"]:
            continue
        order = np.argsort(-np.asarray(t["misclassified_conf"]), kind="stable")[:per_variant]
        idx = [t["misclassified"][i] for i in order]
        truth = ctx.test_labels[idx]
        caps = [f"#{i}\n{y}→{t['misclassified_pred'][o]} ({t['misclassified_conf'][o]:.0%})"
                for i, y, o in zip(idx, truth, order)]
        path, url = ctx.figure(f"misclassified_{v.slug}.png")
        figures.image_grid(ctx.test_images[idx], caps, path,
                           f"{v.label}, seed {v.runs[0]['seed']}: most confident errors (test index: true→predicted)")
        tabs.append({"label": v.label, "url": url, "seed": v.runs[0]["seed"], "shown": len(idx),
                     "total": len(t["misclassified"])})
    return {"tabs": tabs}


def generalization_gap(ctx: Context) -> dict[str, Any]:
    """Train accuracy (eval mode) minus validation accuracy at the last epoch, per variant (outlier
    seeds left out, as in every table)."""
    vs = [v for v in ctx.sr.variants if v.runs]
    ivs = [v.clean.interval("generalization_gap") for v in vs]
    path, url = ctx.figure("generalization_gap.png")
    figures.bars([v.label for v in vs], [i.mean for i in ivs], [i.half_width for i in ivs], path,
                 "train − val accuracy (pp)", "Generalization gap at the last epoch (mean ± 95 % CI)")
    rows = [{"label": v.label, "train": cell(v, "train_acc"), "val": cell(v, "val_acc"),
             "gap": cell(v, "generalization_gap"), "best_epoch": cell(v, "best_epoch")} for v in vs]
    return {"url": url, "rows": rows}


