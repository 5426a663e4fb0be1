"""Analyses of training dynamics read from each run's per-epoch history: overfitting, early stopping,
convergence speed and stability, and one-factor-at-a-time tables."""
from __future__ import annotations

from typing import Any

import numpy as np

from reportgen.report.draw import figures
from reportgen.report.judge import timings
from reportgen.spec.expand import variants as study_variants
from reportgen.report.judge.findings import compare
from reportgen.report.judge.significance import within
from reportgen.results.stats import t_interval, verdict
from reportgen.results.summary import METRICS, TARGET_VAL_ACC, VariantResults, short_device
from reportgen.report.judge.words import count, join
from reportgen.report.analyses.context import Context, bounded, cell, devices, epochs, left_out, runs_of
from reportgen.report.analyses.headline import judged

#: The generalization gap "opens" at the first epoch from which train − val accuracy (eval mode)
#: stays at or above this many percentage points until the end of the run.
GAP_OPENS_PP = 1.0
#: Last epochs over which ``convergence`` measures the spread of validation loss within a run.
STABILITY_EPOCHS = 3


def gap_opens(train_acc: np.ndarray, val_acc: np.ndarray, threshold_pp: float = GAP_OPENS_PP) -> float:
    """First epoch (1-based) from which ``train_acc − val_acc`` (fractions) stays ≥ ``threshold_pp``
    percentage points to the end; NaN if the last epoch is below it."""
    above = (np.asarray(train_acc) - np.asarray(val_acc)) * 100 >= threshold_pp
    if not len(above) or not above[-1]:
        return float("nan")
    below = np.flatnonzero(~above)
    return float(below[-1] + 2 if len(below) else 1)


def epochs_to(val_acc: list[float], target: float = TARGET_VAL_ACC) -> float:
    """First epoch (1-based) whose validation accuracy is ≥ ``target``; NaN if none."""
    hit = np.flatnonzero(np.asarray(val_acc) >= target)
    return float(hit[0] + 1) if len(hit) else float("nan")


def _paired(a: list[float], b: list[float], scale: float = 100.0, digits: int = 2) -> str:
    """Mean ± 95 % CI of the per-seed difference a − b (paired over seeds, Student t)."""
    d = [(x - y) * scale for x, y in zip(a, b)]
    if not d:
        return "—"
    iv = t_interval(d)
    half = f" ± {iv.half_width:.{digits}f}" if iv.n > 1 and np.isfinite(iv.half_width) else ""
    return f"{iv.mean:+.{digits}f}{half}"


def _best_against_last(v: VariantResults) -> str:
    """The paired t test of the best-validation epoch's test accuracy against the last epoch's, in words."""
    t = within(v, "test_accuracy_best_epoch", "test_accuracy")
    if t.why_not:
        return f"{v.label}: best against last epoch not testable ({t.why_not})"
    w = t.test
    return f"{v.label}: " + verdict("the best-validation epoch", "the last epoch", w.diff, w.low, w.high, w.p,
                                    test=t.how) + t.note


def overfitting(ctx: Context) -> dict[str, Any]:
    """Where validation loss bottoms out, where the train/val gap opens, and what the best-epoch
    weights score on the test set against the last epoch's."""
    rows, gap_series, loss_series, marks = [], {}, {}, {}
    for v in (v for v in ctx.sr.variants if v.runs):
        tr, va = runs_of(v, "train_eval_acc"), runs_of(v, "val_acc")
        trl, val = runs_of(v, "train_eval_loss"), runs_of(v, "val_loss")
        x = np.arange(1, tr.shape[1] + 1)
        opens = [gap_opens(a, b) for a, b in zip(tr, va)]
        c = v.clean  # outlier seeds stay in the per-seed table, out of the lines and bands
        gap_series[v.label] = (x[:runs_of(c, "val_acc").shape[1]], (runs_of(c, "train_eval_acc") - runs_of(c, "val_acc")) * 100)
        loss_series[v.label] = (x[:runs_of(c, "val_loss").shape[1]], runs_of(c, "val_loss") - runs_of(c, "train_eval_loss"))
        finite = [o for o in opens if np.isfinite(o)]
        marks[v.label] = float(np.mean(finite)) if finite else float("nan")
        best, last = v.values("test_accuracy_best_epoch"), v.values("test_accuracy")
        rows.append({"label": v.label, "best_epochs": [r["best_epoch"] for r in v.runs],
                     "opens": ["—" if not np.isfinite(o) else f"{o:.0f}" for o in opens],
                     "min_val_loss": bounded([min(h["val_loss"] for h in r["history"]) for r in v.runs], 4, (0, np.inf)),
                     "last_val_loss": cell(v, "val_loss"),
                     "test_best": cell(v, "test_accuracy_best_epoch"),
                     "test_last": cell(v, "test_accuracy"),
                     "diff": _paired(best, last), "epochs": v.runs[0]["stopped_epoch"],
                     "verdict": _best_against_last(v)})
    path, url = ctx.figure("overfitting.png")
    figures.lines([
        figures.Panel("Generalization gap (accuracy)", "train − val accuracy (pp)", gap_series,
                      hlines=((GAP_OPENS_PP, f"{GAP_OPENS_PP:g} pp: the gap 'opens'"),), marks=marks),
        figures.Panel("Generalization gap (loss)", "val − train loss (nats)", loss_series, hlines=((0.0, ""),)),
    ], path, "Train (eval mode, 5,000 images) against validation, mean over seeds with min–max band")
    return {"url": url, "rows": rows, "threshold": GAP_OPENS_PP, "left_out": left_out(ctx.sr.variants) if url else []}


def early_stopping(ctx: Context) -> dict[str, Any]:
    """Per variant: the epoch training stopped at, epochs saved against the reference (the run
    without early stopping), and test accuracy against it: the pair's one verdict
    (:func:`reportgen.report.analyses.headline.judged`; paired, as an early-stopped run repeats the
    reference run of its seed up to its stop); variants with the same test accuracy on every seed (they
    restored the same weights) share one verdict."""
    ref = ctx.sr.variant(ctx.sr.reference)
    by_seed = {r["seed"]: r for r in ref.runs}
    rows, series, marks, verdicts = [], {}, {}, {}
    for v in (v for v in ctx.sr.variants if v.runs):
        es = v.runs[0]["config"]["train"]["early_stopping"]
        paired = [(r, by_seed[r["seed"]]) for r in v.runs if r["seed"] in by_seed]
        saved = [b["stopped_epoch"] - r["stopped_epoch"] for r, b in paired]
        if v is not ref and paired:  # the same runs up to the stop: paired by seed, said once per outcome
            own = tuple(r["test"]["accuracy"] for r, _ in paired)
            verdicts.setdefault(own, {"variants": [], "test": judged(ctx.sr, v, ref, "test_accuracy")})
            verdicts[own]["variants"].append(v.label)
        rows.append({"label": v.label, "patience": es["patience"] if es else "—",
                     "stopped": [r["stopped_epoch"] for r in v.runs], "best": [r["best_epoch"] for r in v.runs],
                     "saved": epochs(saved) if saved and v is not ref else "—",
                     "share": f"{100 * np.median(saved) / np.median([b['stopped_epoch'] for _, b in paired]):.0f} %"
                     if saved and v is not ref else "—",
                     "test": cell(v, "test_accuracy"),
                     "diff": _paired([r["test"]["accuracy"] for r, _ in paired],
                                     [b["test"]["accuracy"] for _, b in paired]) if v is not ref else "—"})
        if es:
            marks[v.label] = float(np.mean([r["stopped_epoch"] for r in v.runs]))
    for v in (v for v in ctx.sr.variants if v.runs):
        seqs = [[h["val_loss"] for h in r["history"]] for r in v.clean.runs]  # outlier seeds out of the lines
        n = max(len(s) for s in seqs)
        # Runs stop at different epochs: pad with NaN and draw the mean of the runs still going.
        arr = np.array([s + [np.nan] * (n - len(s)) for s in seqs], dtype=float)
        series[v.label] = (np.arange(1, n + 1), arr)
    path, url = ctx.figure("early_stopping.png")
    _nan_lines(series, marks, path, ref.label)
    said = [f"{join(g['variants'])}{' (the same test accuracy on every seed)' if len(g['variants']) > 1 else ''} "
            f"against {ref.label}: {g['test'][0]}, {g['test'][1]}" for g in verdicts.values()]
    return {"url": url, "rows": rows, "reference": ref.label, "verdicts": said}


def _nan_lines(series: dict, marks: dict, path, ref_label: str) -> None:
    """Validation loss per variant with NaN-padded seeds (mean over the seeds still running)."""
    fig, ax = figures.plt.subplots(figsize=(8, 3.6))
    for i, (label, (x, arr)) in enumerate(series.items()):
        colour = figures.series_colour(i)
        with np.errstate(all="ignore"):
            mean = np.nanmean(arr, 0)
        ax.plot(x, mean, "-" if label != ref_label else "--", color=colour, lw=1.5, label=label)
        if label in marks:
            ax.axvline(marks[label], color=colour, ls=":", lw=1.2)
            stop = int(round(marks[label]))
            ax.plot([marks[label]], [mean[min(stop, len(mean)) - 1]], "v", color=colour, ms=7)
    ax.set(xlabel="epoch", ylabel="validation loss (nats)",
           title="Validation loss; ▼ and dotted line: mean epoch at which training stopped")
    ax.legend(fontsize=8)
    figures.save(fig, path)


def convergence(ctx: Context) -> dict[str, Any]:
    """Epochs to reach ``TARGET_VAL_ACC`` validation accuracy, and stability: the spread of
    validation loss within a run (std over its last ``STABILITY_EPOCHS`` epochs) and across seeds
    (std of the final validation loss)."""
    rows, acc, loss = [], {}, {}
    for v in (v for v in ctx.sr.variants if v.runs):
        reach = [epochs_to([h["val_acc"] for h in r["history"]]) for r in v.runs]
        hit = [e for e in reach if np.isfinite(e)]
        within = [float(np.std([h["val_loss"] for h in r["history"][-STABILITY_EPOCHS:]], ddof=1))
                  for r in v.runs if len(r["history"]) >= 2]
        finals = [r["history"][-1]["val_loss"] for r in v.runs]
        rows.append({"label": v.label, "per_seed": ["—" if not np.isfinite(e) else f"{e:.0f}" for e in reach],
                     "reached": f"{len(hit)}/{len(reach)}",
                     "mean": epochs(hit) if len(hit) == len(reach) else
                     (f"not reached by {count(len(reach) - len(hit), 'seed')}" if not hit else
                      f"{epochs(hit)} (seeds that reached it)"),
                     "within": f"{np.mean(within):.4f}" if within else "—",
                     "across": f"{np.std(finals, ddof=1):.4f}" if len(finals) > 1 else "—",
                     "final_val_loss": cell(v, "val_loss"), "test": cell(v, "test_accuracy")})
        c = v.clean  # outlier seeds stay in the per-seed table, out of the lines and bands
        acc[v.label] = (np.arange(1, runs_of(c, "val_acc").shape[1] + 1), runs_of(c, "val_acc") * 100)
        loss[v.label] = (np.arange(1, runs_of(c, "val_loss").shape[1] + 1), runs_of(c, "val_loss"))
    path, url = ctx.figure("convergence.png")
    figures.lines([figures.Panel("Validation accuracy", "accuracy (%)", acc,
                                 hlines=((TARGET_VAL_ACC * 100, f"{TARGET_VAL_ACC:.0%} target"),)),
                   figures.Panel("Validation loss", "cross-entropy (nats)", loss)], path,
                  "Per optimizer: mean over seeds with min–max band")
    return {"url": url, "rows": rows, "target": TARGET_VAL_ACC * 100, "last": STABILITY_EPOCHS,
            "left_out": left_out(ctx.sr.variants) if url else []}


#: Readable names for the dotted paths a one-factor variant may change.
FACTOR_NAMES = {"optim.lr": "learning rate", "optim.name": "optimizer", "train.batch_size": "batch size",
                "model.dropout": "dropout", "model.init": "weight initialization",
                "model.activation": "activation", "optim.weight_decay": "weight decay"}


def factors(ctx: Context) -> dict[str, list[VariantResults]]:
    """Variants grouped by the factor they change: the set of dotted paths they override (the optimizer
    when ``optim.name`` is among them). The reference variant changes nothing and heads each group."""
    groups: dict[str, list[VariantResults]] = {}
    overrides = {slug: over for slug, _, over in study_variants(ctx.sr.spec.study)}
    for v in ctx.sr.variants:
        paths = sorted(overrides.get(v.slug, {}))
        if not paths or v.slug == ctx.sr.reference:
            continue
        key = "optim.name" if "optim.name" in paths else paths[0]
        groups.setdefault(FACTOR_NAMES.get(key, key), []).append(v)
    return groups


def factor_tables(ctx: Context) -> dict[str, Any]:
    """One table per factor with the reference as first row: test and validation accuracy, best
    epoch, seconds per epoch (recorded in training: median and range, per device; and from the study's
    controlled timing, :mod:`reportgen.report.judge.timings`, when it has one) and the difference to the reference (the
    t test :func:`reportgen.report.judge.findings.compare` picks); validation curves per factor, outlier
    seeds left out of them (as of the table cells) and named."""
    ref = ctx.sr.variant(ctx.sr.reference)
    mixed = len(devices(ctx.sr)) > 1
    controlled = timings.measured(ctx.sr)
    tables, panels, grouped = [], [], factors(ctx)
    for name, vs in grouped.items():
        rows = []
        for v in [ref, *vs]:
            sentence = compare(ctx.sr, v, ref, "test_accuracy")[0] if v is not ref and v.runs and ref.runs else ""
            rows.append({"label": v.label, "reference": v is ref, "n": len(v.runs), "expected": v.expected,
                         "test": cell(v, "test_accuracy"), "val": cell(v, "val_acc"),
                         "best_epoch": cell(v, "best_epoch"),
                         "sec": cell(v, "seconds_per_epoch", mixed=mixed), "verdict": sentence,
                         "csec": timings.cells(controlled, v.slug)["s_epoch"]})
        tables.append({"name": name, "rows": rows})
        series = {v.label: (np.arange(1, runs_of(v, "val_acc").shape[1] + 1), runs_of(v, "val_acc") * 100)
                  for v in (v.clean for v in [ref, *vs] if v.runs)}
        panels.append(figures.Panel(name.capitalize(), "validation accuracy (%)", series,
                                    styles={ref.label: "--"}))
    url = None
    if panels:
        path, url = ctx.figure("factors.png")
        figures.lines(panels, path, f"Validation accuracy per factor (dashed: {ref.label})", shared_colours=False)
    shown = [ref, *(v for vs in grouped.values() for v in vs)]
    return {"tables": tables, "url": url, "reference": ref.label, "unit": METRICS["test_accuracy"].unit,
            "left_out": left_out(shown) if url else [],
            "controlled": controlled is not None, "timing_note": timings.note(controlled, ctx.sr),
            "devices": [short_device(d) for d in devices(ctx.sr)] if mixed else []}
