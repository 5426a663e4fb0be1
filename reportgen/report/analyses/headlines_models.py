"""Headlines of the analyses of models, tuning and diagnosis (see :mod:`.headline`): architecture
cost, capacity curve, accuracy target, first-layer weights, LR range test, tuning grid, diagnosis and
sanity checks. Each returns a :class:`~.headline.Headline` computed from the study's results."""
from __future__ import annotations

import math
import statistics
from typing import Any

import numpy as np
from scipy import stats as st
from scipy.stats import spearmanr

from reportgen.results.quantized import decode
from reportgen.results.summary import METRICS
from reportgen.spec.schema import Expect
from reportgen.report.judge import timings
from reportgen.report.judge.words import count, join, seeds
from reportgen.report.analyses.architectures import _si, _stays_above
from reportgen.report.analyses.context import Context, probe_rows
from reportgen.report.analyses.headline import (
    ALPHA,
    Headline,
    accuracy,
    compared,
    detectable,
    judged,
    mean_of,
    p_text,
    with_runs,
)


def _params(n: float) -> str:
    """26,090 → "26.1 k", 1,199,882 → "1.20 M" (parameters, counts)."""
    return f"{n / 1e6:.2f} M" if n >= 1e6 else f"{n / 1e3:.1f} k" if n >= 1e3 else f"{n:.0f}"


def architecture(ctx: Context, out: dict[str, Any] | None = None) -> Headline | None:
    """Cost per model: parameters, FLOPs per image, and from the study's controlled timing
    (:mod:`reportgen.report.judge.timings`) seconds per training step and epoch and inference images/s, or
    that without one the timings recorded in training compare nothing; and the most accurate model's
    FLOPs against the costliest's."""
    vs = with_runs(ctx)
    if not vs:
        return None
    params = {v.label: float(np.mean(v.values("params"))) for v in vs}
    flops = {v.label: float(np.mean(v.values("flops"))) for v in vs}
    m = timings.measured(ctx.sr)
    sec = {v.label: m.s_epoch[v.slug] for v in vs if m and v.slug in m.s_epoch}
    ips = {v.label: m.ips[v.slug] for v in vs if m and v.slug in m.ips}
    lo_p, hi_p = min(params, key=params.get), max(params, key=params.get)
    first = f"Parameters range from {_params(params[lo_p])} ({lo_p}) to {_params(params[hi_p])} ({hi_p})"
    if all(math.isfinite(f) for f in flops.values()):
        lo_f, hi_f = min(flops, key=flops.get), max(flops, key=flops.get)
        first += f", FLOPs per image from {_si(flops[lo_f])} ({lo_f}) to {_si(flops[hi_f])} ({hi_f})"
    if sec:
        fast, slow = min(sec, key=sec.get), max(sec, key=sec.get)
        first += (f", and seconds per training epoch, timed side by side ({m.brief}; training steps only), from "
                  f"{timings.seconds(sec[fast])} s ({fast}) to {timings.seconds(sec[slow])} s ({slow}).")
        sentences = [first]
    else:
        sentences = [first + ".", timings.absent(ctx.sr)]
    quality = []  # the question's other accuracy measures, where the runs record them
    for metric, name in (("macro_f1", "Macro F1"), ("roc_auc_ovr", "ROC-AUC (one-vs-rest)")):
        means = {v.label: v.clean.interval(metric).mean for v in vs}
        if all(math.isfinite(x) for x in means.values()):
            lo, hi = min(means, key=means.get), max(means, key=means.get)
            digits = METRICS[metric].digits
            quality.append(f"{name} on the test set ranges from {means[lo]:.{digits}f} ({lo}) to "
                           f"{means[hi]:.{digits}f} ({hi})")
    if quality:
        sentences.insert(0, "; ".join(quality) + " (mean over seeds).")
    per = []
    for v in vs:
        k = v.label
        cell = f"{k} {_params(params[k])} · {_si(flops[k]) if math.isfinite(flops[k]) else '—'}"
        if sec:
            cell += " · " + (f"{timings.seconds(sec[k])} s" if k in sec else "not timed")
        if ips:
            cell += " · " + (f"{timings.rate(ips[k])}/s" if k in ips else "not timed")
        per.append(cell)
    head = "parameters · FLOPs per image" + (" · s per epoch, controlled" if sec else "") \
        + (" · inference images per s, controlled" if ips else "")
    sentences.append(f"Per model ({head}): " + "; ".join(per) + ".")
    if sec:
        sentences.append("The times the runs recorded while training, under unknown load, are their cost, not a "
                         "comparison.")
    if all(math.isfinite(f) for f in flops.values()):
        best = max(vs, key=lambda v: mean_of(v, "test_accuracy"))
        costly = max(vs, key=lambda v: flops[v.label])
        if best is not costly and flops[best.label] > 0:
            ratio = flops[costly.label] / flops[best.label]
            fewer = (f"{ratio:.0f}× fewer FLOPs per image than" if ratio >= 1.5 else
                     f"{100 * (1 - 1 / ratio):.0f} % fewer FLOPs per image than")
            sentences.append(f"The most accurate, **{best.label}** ({mean_of(best, 'test_accuracy'):.2f} %), needs "
                             f"{fewer} the costliest, **{costly.label}** ({mean_of(costly, 'test_accuracy'):.2f} %).")
    short = f"parameters {_params(params[lo_p])}–{_params(params[hi_p])}"
    if sec:
        short += f"; s/epoch {timings.seconds(sec[fast])}–{timings.seconds(sec[slow])}, timed side by side"
    return Headline(tuple(sentences), short)


def capacity_curve(ctx: Context, out: dict[str, Any] | None = None) -> Headline | None:
    """Train, validation and test accuracy from the smallest to the largest model, the peak test
    accuracy, the smallest model from which none is detectably below the peak (Welch, unadjusted),
    and the trend of the generalization gap with size (Spearman over runs)."""
    vs = sorted(with_runs(ctx), key=lambda v: v.interval("params").mean)
    if len(vs) < 2:
        return None
    a, z = vs[0], vs[-1]
    best = max(vs, key=lambda v: v.interval("test_accuracy").mean)

    def m(v, k: str) -> str:
        return f"{v.interval(k).mean:.2f}"

    tested = {v.label: compared(v, best, "test_accuracy")[1] for v in vs if v is not best}
    below = [v.label in tested and detectable(tested[v.label]) for v in vs]
    names = " or ".join(sorted({t.test.name for t in tested.values()})) or "t test"
    sat = next((v for i, v in enumerate(vs) if not any(below[i:])), best)
    first = (f"From {a.label} to {z.label}, test accuracy goes from {m(a, 'test_accuracy')} to {m(z, 'test_accuracy')} % "
             f"(peak {accuracy(best)} at {best.label}), validation accuracy from {m(a, 'val_acc')} to {m(z, 'val_acc')} % "
             f"and train accuracy (eval mode) from {m(a, 'train_acc')} to {m(z, 'train_acc')} %; from **{sat.label}** on, "
             f"no model is detectably below the peak ({names} over seeds, unadjusted).")
    xs, ys = [], []
    for v in vs:
        for r, g in zip(v.runs, v.values("generalization_gap")):
            if math.isfinite(g):
                xs.append(r["params"])
                ys.append(g)
    rho, p = spearmanr(xs, ys)
    trend = (f"{'widens' if rho > 0 else 'narrows'} with size" if p < ALPHA else "shows no detectable trend with size")
    second = (f"The generalization gap (train − validation accuracy) goes from {m(a, 'generalization_gap')} to "
              f"{m(z, 'generalization_gap')} pp and {trend} (Spearman ρ = {rho:+.2f}, {p_text(p)}, {count(len(ys), 'run')}).")
    return Headline((first, second), f"test {m(a, 'test_accuracy')} → peak {best.interval('test_accuracy').mean:.2f} % "
                                     f"({best.label}); none detectably lower from {sat.label}")


def target_accuracy(ctx: Context, out: dict[str, Any] | None = None) -> Headline | None:
    """Each variant's final test accuracy against the spec's ``target_accuracy``, judged by the same rule
    as the claims (:func:`reportgen.report.judge.findings.check` of an ``at_least`` expectation), per seed, and the
    epoch from which each seed's per-epoch test accuracy stays at or above it (shown only)."""
    from reportgen.report.judge.findings import check

    target = ctx.sr.spec.study.target_accuracy
    vs = with_runs(ctx)
    if target is None or not vs:
        return None
    words = {"held": "meets it", "contradicted": "misses it", "inconclusive": "cannot be told apart from it"}
    parts, stays, verdicts = [], [], {}
    for v in vs:
        c = check(ctx.sr, Expect("test_accuracy", variant=v.slug, at_least=target))
        verdicts[v.label] = c.outcome
        per = seeds([100 * x for x in v.values("test_accuracy")])
        parts.append(f"**{v.label}** {accuracy(v)} (per seed {per}) {words[c.outcome]}")
        curves = [[row["test_acc"] for row in rows] for rows in probe_rows(v, "test_curve") if rows]
        if curves:
            first = [_stays_above(c_, target) for c_ in curves]
            stays.append(f"never for {v.label}" if all(f is None for f in first) else
                         f"from epoch {'/'.join('never' if f is None else str(f) for f in first)} for {v.label} (per seed)")
    epochs = vs[0].runs[0]["stopped_epoch"]
    sentences = [f"Against the {100 * target:.2f} % target for test accuracy after {epochs} epochs, judged by the rule "
                 "the claims use: " + "; ".join(parts) + "."]
    if stays:
        sentences.append("Per-epoch test accuracy (shown only, never used to choose) stays at or above the target "
                         + join(stays) + ".")
    brief = {"held": "meets", "contradicted": "misses", "inconclusive": "inconclusive"}
    return Headline(tuple(sentences), f"{100 * target:.2f} % target: " + ", ".join(
        f"{k} {brief[o]}" for k, o in verdicts.items()))


def first_layer_weights(ctx: Context, out: dict[str, Any] | None = None) -> Headline | None:
    """Where the first layer's weights are shown, and how many units (a pointer: the look of the
    units is shown, not measured)."""
    for v in ctx.sr.variants:
        rows = probe_rows(v, "first_layer_weights")
        if v.runs and rows[0]:
            w = decode(rows[0][-1]["weights"])
            kind = "28×28 images" if w.ndim == 3 else f"{w.shape[-2]}×{w.shape[-1]} filters"
            return Headline((f"The {len(w)} first-layer units of **{v.label}** (seed {v.runs[0]['seed']}) are drawn as "
                             f"{kind} under *First-layer weights*: their look is shown there, not measured.",),
                            f"{len(w)} first-layer units drawn")
    return None


def lr_range_test(ctx: Context, out: dict[str, Any] | None = None) -> Headline | None:
    """The fixed learning rate with the best validation accuracy against the runner-up (Welch), and the
    rate the range test suggests (median over seeds)."""
    fixed = sorted((v for v in with_runs(ctx) if all(r.get("history") for r in v.runs)),
                   key=lambda v: -v.interval("val_acc").mean)
    tests = [(v, [r["range_test"]["suggested_lr"] for r in v.runs if r.get("range_test")]) for v in with_runs(ctx)]
    tests = [(v, s) for v, s in tests if s]
    parts, short = [], []
    if fixed:
        best = fixed[0]
        epochs = len(best.runs[0]["history"])
        text = (f"After {count(epochs, 'epoch')}, **{best.label}** has the best validation accuracy, "
                f"{accuracy(best, 'val_acc')} (validation, last epoch)")
        if len(fixed) > 1:
            clause, word = judged(ctx.sr, best, fixed[1], "val_acc", len(fixed) * (len(fixed) - 1) // 2)
            text += (f", against the runner-up {fixed[1].label} ({fixed[1].interval('val_acc').mean:.2f} %) "
                     f"{clause}: {_difference(word)}")
        parts.append(text + ".")
        short.append(f"best on validation: {best.label}")
    for v, s in tests:
        parts.append(f"The LR range test ({v.label}) suggests lr **{statistics.median(s):.3g}** (median over "
                     f"{count(len(s), 'seed')}: {', '.join(f'{x:.3g}' for x in s)}).")
        short.append(f"range test suggests {statistics.median(s):.3g}")
    return Headline(tuple(parts), "; ".join(short)) if parts else None


def grid_heatmap(ctx: Context, out: dict[str, Any] | None = None) -> Headline | None:
    """The grid cell selected on validation accuracy (labelled validation), its test accuracy (labelled
    test), the runner-up on validation (Welch) and what the number of seeds per cell allows."""
    vs = sorted(with_runs(ctx), key=lambda v: -v.interval("val_acc").mean)
    if not vs:
        return None
    best = vs[0]
    n = len(best.runs)
    epochs = len(best.runs[0]["history"])
    sentences = [f"Selected on validation: **{best.label}**, with a validation accuracy of {accuracy(best, 'val_acc')} "
                 f"(last of {count(epochs, 'epoch')}, mean ± 95 % CI over seeds); its test accuracy is "
                 f"{accuracy(best)} (test set, not used to choose)."]
    if len(vs) > 1:
        clause, word = judged(ctx.sr, best, vs[1], "val_acc", len(vs) * (len(vs) - 1) // 2)
        sentences.append(f"The runner-up on validation, {vs[1].label} ({vs[1].interval('val_acc').mean:.2f} % validation), "
                         f"differs by {clause}: {_difference(word)}.")
    if n == 2:
        sentences.append(f"With 2 seeds per cell a 95 % interval is ±{st.t.ppf(0.975, 1):.1f} standard errors wide, so "
                         f"the grid cannot resolve differences between its best cells.")
    return Headline(tuple(sentences), f"selected on validation: {best.label} ({best.interval('val_acc').mean:.2f} % val, "
                                      f"{best.interval('test_accuracy').mean:.2f} % test)")


def diagnosis(ctx: Context, out: dict[str, Any] | None = None) -> Headline | None:
    """Each variant's diagnosis (the label most of its seeds get) from the recorded evidence alone."""
    from collections import Counter

    from reportgen.report.analyses.diagnosis import diagnose

    rows = []
    for v in with_runs(ctx):
        ds = [diagnose(r) for r in v.runs]
        label, k = Counter(d.label for d in ds).most_common(1)[0]
        rows.append((v, label, k, ds))
    if not rows:
        return None
    word = {"healthy": "healthy (a good fit)"}
    if len(rows) == 1:
        v, label, k, ds = rows[0]
        e = ds[0].evidence
        gap = np.mean([d.evidence.gap for d in ds]) * 100
        return Headline((f"Fit: **{word.get(label, label)}** on {k} of {count(len(ds), 'seed')}, diagnosed from the "
                         f"recorded curves: train accuracy {np.mean([d.evidence.train_acc for d in ds]) * 100:.1f} %, "
                         f"validation {np.mean([d.evidence.val_acc for d in ds]) * 100:.1f} %, gap {gap:.1f} pp at the "
                         f"last epoch (mean over seeds).",), f"{label}, {k}/{len(ds)} seeds")
    unanimous = all(k == len(ds) for _, _, k, ds in rows)
    distinct = len({label for _, label, _, _ in rows})
    labels = "; ".join(f"{v.label} → **{label}**" + ("" if unanimous else f" ({k}/{len(ds)} seeds)")
                       for v, label, k, ds in rows)
    first = (f"Diagnosed from the recorded curves and gradient norms alone, the {len(rows)} variants get "
             f"{count(distinct, 'distinct label')}{', each unanimous over its seeds' if unanimous else ''}: {labels}.")
    return Headline((first,), f"{count(distinct, 'distinct diagnosis')} of {len(rows)} variants"
                              + (", unanimous over seeds" if unanimous else ""))


def sanity_checks(ctx: Context, out: dict[str, Any] | None = None) -> Headline | None:
    """Per variant: how many of the sanity checks pass on every seed, with the evidence per seed."""
    from reportgen.report.analyses.sanity import _checks

    sentences, short = [], []
    for v in with_runs(ctx):
        pairs = [(r, rows[0]) for r, rows in zip(v.runs, probe_rows(v, "sanity")) if rows]
        if not pairs:
            continue
        per = [_checks(r, p) for r, p in pairs]
        names = [c["name"] for c in per[0]]
        ok = [all(cs[i]["passed"] for cs in per) for i in range(len(names))]
        failing = [n for n, good in zip(names, ok) if not good]
        loss = seeds([p["initial_loss"] for _, p in pairs], 3)
        reached = [next((i + 1 for i, h in enumerate(r["history"]) if h["train_eval_acc"] >= 1.0), None) for r, _ in pairs]
        r0, p0 = pairs[0]
        sentences.append(
            f"**{v.label}** passes {sum(ok)} of {len(names)} sanity checks on every one of its {count(len(pairs), 'seed')}"
            + (f" (failing: {join(failing)})." if failing else "."))
        sentences.append(
            f"Output {tuple(p0['output_shape'])} for {p0['random_batch']} random inputs; initial loss {loss} nats "
              f"(ln 10 = {math.log(10):.3f}); "
            + ("every one of the " + str(p0["param_tensors"]) + " parameter tensors gets a gradient" if not p0["no_grad"]
               else "no gradient for " + join(p0["no_grad"]))
            + f"; 100 % train accuracy on {r0['config']['data']['train_subset'] or 'all'} images at epoch "
              f"{'/'.join('never' if e is None else str(e) for e in reached)} of {r0['config']['train']['epochs']} (per seed).")
        short.append(f"{v.label}: {sum(ok)} of {len(names)} checks pass")
    return Headline(tuple(sentences), "; ".join(short)) if sentences else None


def _difference(word: str) -> str:
    """"a detectable difference", "no detectable difference" or "equivalent within the margin"."""
    return {"detectable": "a detectable difference", "equivalent": "equivalent within the margin"}.get(
        word, "no detectable difference")
