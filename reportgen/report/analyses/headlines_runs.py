"""Headlines of the analyses of trained runs' accuracy and training dynamics (see :mod:`.headline`):
comparison table, generalization gap, overfitting, early stopping, convergence and one-factor
tables. Each returns a :class:`~.headline.Headline` computed from the study's results, or None when it has nothing to say."""
from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy.stats import spearmanr

from reportgen.report.judge.significance import two_sample, within
from reportgen.report.judge.verdicts import comparisons
from reportgen.results.summary import TARGET_VAL_ACC
from reportgen.report.judge.words import count, join, plural, seeds
from reportgen.report.analyses.context import Context, epochs, runs_of
from reportgen.report.analyses.dynamics import STABILITY_EPOCHS, epochs_to, factors, gap_opens
from reportgen.report.analyses.headline import (
    ALPHA,
    Headline,
    accuracy,
    compared,
    detectable,
    judged,
    mean_of,
    p_text,
    tested_clause,
    tested_verdict,
    with_runs,
)


def _acc(values: list[float]) -> list[float]:
    return [x * 100 for x in values]


def _tests_named(tests) -> str:
    """The tests a study's comparisons used, e.g. "paired t test over seeds, Holm-adjusted"."""
    names = sorted({c.test.name for c in tests if not c.tested.why_not}) or ["t test"]
    return f"{' or '.join(names)} over seeds, adjusted over the study's claims and comparisons"


def _left_out(vs) -> str:
    """"Left out of every mean and test above as outliers: lr-1e-2 seed 2 collapsed to 11.35 % (chance
    level)." (:meth:`VariantResults.outliers`) or ""."""
    outs = [f"{v.label} {o.describe()}" for v in vs for o in v.outliers()]
    return f"Left out of every mean and test above as outliers: {'; '.join(outs)}." if outs else ""


def _against_targets(sr, v) -> list[str]:
    """A baseline's verdict against its declared test-accuracy targets (its threshold claims, as the
    claims table judges them) and against the figure its source notebook reported, or that it reported none."""
    from reportgen.report.judge.findings import check

    out = []
    for e in sr.spec.study.expect:
        if e.metric == "test_accuracy" and (e.at_least is not None or e.at_most is not None):
            c = check(sr, e)
            word = {"held": "meets it", "contradicted": "misses it"}.get(c.outcome, "cannot be told from it")
            out.append(f"Against its declared target ({c.claim}): it {word} ({c.outcome}; {c.evidence}).")
    reported = sr.spec.study.reported.get(v.slug, sr.spec.study.reported.get(v.label))
    source = sr.spec.study.reported_source or "the source notebook"
    if reported is not None:
        diff = v.clean.interval("test_accuracy").mean - reported * 100
        out.append(f"{source} reported {reported * 100:.2f} % for this model, a single run; our mean is "
                   f"{diff:+.2f} pp from it.")
    else:
        out.append("The seed notebook reports no test accuracy for this model to compare with.")
    return out


def comparison_table(ctx: Context, out: dict[str, Any] | None = None) -> Headline | None:
    """Test accuracy: one variant's mean ± CI (and, paired over its seeds, the last epoch against the
    best-validation epoch), or the highest and lowest variant and how many differ from the reference."""
    sr = ctx.sr
    vs = with_runs(ctx)
    if sr.spec.study.diagnostic or not vs or not all(r.get("test") for v in vs for r in v.runs):
        return None
    if len(vs) == 1:
        v = vs[0]
        who = "The model" if v.label == "default" else f"**{v.label}**"
        acc = _acc(v.values("test_accuracy"))
        out = [f"{who} reaches a test accuracy of **{accuracy(v)}** (mean ± 95 % CI over seeds; per seed "
               f"{seeds(acc)} %)."]
        best = _acc(v.values("test_accuracy_best_epoch"))
        if all(math.isfinite(b) for b in best) and best != acc:
            t = within(v, "test_accuracy", "test_accuracy_best_epoch")  # the same runs: paired
            out.append(f"Validation loss is lowest at epoch {seeds([r['best_epoch'] for r in v.runs], 0)} of "
                       f"{v.runs[0]['stopped_epoch']} (per seed); the weights of that epoch score {seeds(best)} % on "
                       f"the test set, and the last epoch against them: {tested_clause(t, 'last', 'best-validation epoch')}"
                       f"{tested_verdict(t)}.")
        out += _against_targets(sr, v)
        return Headline(tuple(out), f"test accuracy {accuracy(v)}")
    ref = sr.variant(sr.reference)
    ranked = sorted(vs, key=lambda v: -mean_of(v, "test_accuracy"))
    best, worst = ranked[0], ranked[-1]
    first = (f"Test accuracy is highest for **{best.label}**, {accuracy(best)}, and lowest for **{worst.label}**, "
             f"{accuracy(worst)} (mean ± 95 % CI over seeds)")
    tests = comparisons(sr)
    apart = sorted((c for c in tests if c.detectable), key=lambda c: c.estimate)
    declared = bool(sr.spec.study.comparisons)
    moves = join(f"{c.a.label} {c.estimate:+.2f} pp" + ("" if not declared else f" against {c.b.label}")
                 for c in apart)
    what = f"of the {count(len(tests), 'declared comparison')}" if declared else \
        f"against the reference **{ref.label}**, of the {count(len(tests), 'other variant')}"
    if apart:
        first += (f"; {what}, {len(apart)} {'differs' if len(apart) == 1 else 'differ'} detectably "
                  f"({_tests_named(tests)}): {moves}")
    elif tests:
        first += f"; {what}, none differs detectably ({_tests_named(tests)})"
    out = [first + "."] + ([_left_out(vs)] if _left_out(vs) else [])
    short = f"best {best.label} {mean_of(best, 'test_accuracy'):.2f} %; {len(apart)} of {len(tests)} differ"
    return Headline(tuple(out), short)


def _trend(ctx: Context, metric: str) -> str:
    """Spearman's ρ between a one-path numeric grid's values and every run's ``metric``, in words;
    "" when the sweep is not such a grid."""
    grid = ctx.sr.spec.study.sweep.grid
    if len(grid) != 1:
        return ""
    (path, values), = grid.items()
    if not all(isinstance(x, (int, float)) for x in values) or len(values) < 3:
        return ""
    xs, ys = [], []
    for value, v in zip(values, ctx.sr.variants):
        for y in v.values(metric):
            if math.isfinite(y):
                xs.append(value)
                ys.append(y)
    rho, p = spearmanr(xs, ys)
    name = path.rsplit(".", 1)[-1].replace("_", " ")
    way = "falls" if rho < 0 else "rises"
    verdict = f"it {way} as {name} grows" if p < ALPHA else f"no detectable trend with {name}"
    return f"{verdict} (Spearman ρ = {rho:+.2f}, {p_text(p)}, {count(len(ys), 'run')})"


def generalization_gap(ctx: Context, out: dict[str, Any] | None = None) -> Headline | None:
    """The generalization gap (train − validation accuracy at the last epoch): the largest and the
    smallest, their difference (Welch) and, for a numeric one-path grid, its trend (Spearman)."""
    vs = [v for v in with_runs(ctx) if math.isfinite(v.interval("generalization_gap").mean)]
    if not vs:
        return None
    what = "The generalization gap (train − validation accuracy at the last epoch)"
    if len(vs) == 1:
        iv = vs[0].interval("generalization_gap")
        return Headline((f"{what} is {iv.mean:.2f} ± {iv.half_width:.2f} pp.",), f"gap {iv.mean:.2f} pp")
    ranked = sorted(vs, key=lambda v: -v.interval("generalization_gap").mean)
    hi, lo = ranked[0], ranked[-1]
    clause, word = judged(ctx.sr, hi, lo, "generalization_gap", len(vs) * (len(vs) - 1) // 2)
    trend = _trend(ctx, "generalization_gap")
    first = (f"{what} is largest for **{hi.label}**, {hi.interval('generalization_gap').mean:.2f} pp, and smallest for "
             f"**{lo.label}**, {lo.interval('generalization_gap').mean:.2f} pp: a difference of {clause}, "
             f"{word}" + (f"; {trend}" if trend else "") + ".")
    return Headline((first,), f"gap {hi.label} {hi.interval('generalization_gap').mean:.2f} pp → "
                              f"{lo.label} {lo.interval('generalization_gap').mean:.2f} pp")


def overfitting(ctx: Context, out: dict[str, Any] | None = None) -> Headline | None:
    """Per variant: the epoch of lowest validation loss, where the gap opens, and the test accuracy of
    the last epoch against the best-validation epoch, paired over seeds (the same runs)."""
    sentences, short = [], ""
    for v in with_runs(ctx):
        last, best = _acc(v.values("test_accuracy")), _acc(v.values("test_accuracy_best_epoch"))
        n = v.runs[0]["stopped_epoch"]
        t = within(v, "test_accuracy", "test_accuracy_best_epoch")  # the same runs: paired
        verb = ("changes" if t.why_not else "does not detectably change" if not detectable(t)
                else "detectably raises" if t.test.diff > 0
                else "detectably lowers")
        who = "" if v.label == "default" else f"**{v.label}**: "
        opens = [gap_opens(a, b) for a, b in zip(runs_of(v, "train_eval_acc"), runs_of(v, "val_acc"))]
        sentences.append(f"{who}Validation loss is lowest at epoch {seeds([r['best_epoch'] for r in v.runs], 0)} of "
                         f"{n} (per seed), and training on to epoch {n} {verb} test accuracy: "
                         f"{tested_clause(t, 'last', 'best-validation epoch')}.")
        sentences.append(f"The generalization gap (train − validation accuracy ≥ 1 pp to the end) opens at epoch "
                         f"{seeds(opens, 0)}; test accuracy is {accuracy(v)} at the last epoch and "
                         f"{accuracy(v, 'test_accuracy_best_epoch')} with the best-validation weights.")
        short = short or (f"val loss lowest at epoch {epochs([r['best_epoch'] for r in v.runs])}; last − best "
                          f"{t.test.diff:+.2f} pp, paired {p_text(t.test.p)}")
    return Headline(tuple(sentences), short) if sentences else None


def _patience(v) -> str:
    es = v.runs[0]["config"]["train"]["early_stopping"]
    return f"patience {es['patience']}" if es else v.label


def early_stopping(ctx: Context, out: dict[str, Any] | None = None) -> Headline | None:
    """Epochs saved by each early-stopped variant against the reference run without it, and the cost
    in test accuracy, paired by seed (an early-stopped run repeats the reference run up to its stop);
    variants that restore the same weights on every seed are reported once."""
    ref = ctx.sr.variant(ctx.sr.reference)
    es = [v for v in with_runs(ctx) if v is not ref and v.runs[0]["config"]["train"]["early_stopping"]]
    if not ref.runs or not es:
        return None
    by_seed = {r["seed"]: r for r in ref.runs}
    full = ref.runs[0]["stopped_epoch"]
    saved, groups = [], {}
    for v in es:
        pairs = [(r, by_seed[r["seed"]]) for r in v.runs if r["seed"] in by_seed]
        n_saved = [b["stopped_epoch"] - r["stopped_epoch"] for r, b in pairs]
        saved.append((v, float(np.median(n_saved)), 100 * float(np.median(n_saved)) / full))
        key = tuple(r["test"]["accuracy"] for r, _ in pairs)
        t = two_sample(v, ref, "test_accuracy")
        groups.setdefault(key, []).append((v, t, judged(ctx.sr, v, ref, "test_accuracy")))  # the pair's one verdict
    lo, hi = min(saved, key=lambda s: s[1]), max(saved, key=lambda s: s[1])
    span = (f"{hi[1]:g} of {full} epochs ({hi[2]:.0f} %)" if lo is hi else
            f"{lo[1]:g}–{hi[1]:g} of {full} epochs ({lo[2]:.0f}–{hi[2]:.0f} %; {_patience(lo[0])} to {_patience(hi[0])})")
    costs = [(t, word) for g in groups.values() for _, t, (_, word) in g]
    dropped = [t for t, word in costs if word == "detectable" and t.test.diff < 0]
    verdict = ("a cost in test accuracy that the seeds cannot test" if all(t.why_not for t, _ in costs) else
               "no detectable cost in test accuracy" if not any(w == "detectable" for _, w in costs) else
               f"a detectable cost in test accuracy for {len(dropped)} of {len(costs)}" if dropped else
               "a detectable gain in test accuracy")
    sentences = []
    if len(groups) == 1:
        (_, members), = groups.items()
        clause = members[0][2][0]
        same = f", the same for every patience (each restores the weights of epoch {seeds([r['best_epoch'] for r in es[0].runs], 0)})" \
            if len(members) > 1 else ""
        sentences.append(f"Early stopping saves {span}, median over seeds, at {verdict}: {clause}{same}.")
    else:
        sentences.append(f"Early stopping saves {span}, median over seeds, at {verdict}: " + "; ".join(
            f"{join(_patience(v) for v, *_ in g)}: {g[0][2][0]}" for g in groups.values()) + ".")
    after = join(f"{accuracy(g[0][0])} ({join(_patience(v) for v, *_ in g) if len(groups) > 1 else 'every patience'})"
                 for g in groups.values())
    sentences.append("Stopped at epoch " + join(f"{seeds([r['stopped_epoch'] for r in v.runs], 0)} ({_patience(v)})"
                                                 for v in es) + f" (per seed); test accuracy {accuracy(ref)} after "
                     f"{full} epochs against {after}.")
    return Headline(tuple(sentences), f"saves {span.split(' (')[0]}; {verdict}")


def _fastest(sr, by_label: dict, order: list[str], reach: dict[str, list[float]]) -> str:
    """The fastest variants on ``epochs_to_97``: the first of ``order`` (lowest median, then lowest worst
    seed) and those within ±δ of it; each other one slower or not told apart from it, by the test a
    claim on that metric uses (:func:`reportgen.report.judge.findings.standing`). A variant that never
    reaches the target is slower without a test."""
    from reportgen.report.judge.findings import ALPHA, standing
    from reportgen.report.judge.margins import margin_of

    lead, groups = order[0], {"ahead": [], "equivalent": [], "undecided": [], "behind": []}
    for k in order[1:]:
        never = not any(math.isfinite(x) for x in reach[k])
        groups["ahead" if never else standing(sr, by_label[lead], by_label[k], "epochs_to_97", False)[0]].append(k)
    d = margin_of(sr, "epochs_to_97")
    band = f"±{d:g} {plural('epoch', d)}"
    tied = groups["equivalent"]
    parts = [f"{join(groups['ahead'])} slower (one-sided t test at α = {ALPHA:g})" if groups["ahead"] else "",
             f"{join(groups['undecided'])} not told apart from {lead} (neither slower nor within {band} by the tests)"
             if groups["undecided"] else "",
             f"{join(groups['behind'])} faster than {lead} on average (one-sided t test)" if groups["behind"] else ""]
    return (f"fastest: **{join([lead, *tied])}**"
            + (f", {join(tied)} within {band} of {lead} (two one-sided tests at α = {ALPHA:g})" if tied else "")
            + "".join(f"; {x}" for x in parts if x))


def convergence(ctx: Context, out: dict[str, Any] | None = None) -> Headline | None:
    """Epochs each variant needs to reach the target validation accuracy (per seed and median), the
    fastest, and the stability of validation loss (its standard deviation over the last epochs)."""
    vs = with_runs(ctx)
    if not vs:
        return None
    target = f"{TARGET_VAL_ACC * 100:g} % validation accuracy"
    reach = {v.label: [epochs_to([h["val_acc"] for h in r["history"]]) for r in v.runs] for v in vs}

    def said(label: str) -> str:
        xs = reach[label]
        hit = [x for x in xs if math.isfinite(x)]
        n = len(xs)
        if not hit:
            return f"{label} not within {len(vs[0].runs[0]['history'])} epochs (0 of {n} seeds)"
        tail = "" if len(hit) == n else f", {len(hit)} of {n} seeds reach it"
        return f"{label} {epochs(xs)}{tail}"

    inf = [[x if math.isfinite(x) else np.inf for x in xs] for xs in reach.values()]
    med = {k: float(np.median(xs)) for k, xs in zip(reach, inf)}
    worst = {k: max(xs) for k, xs in zip(reach, inf)}
    order = sorted(reach, key=lambda k: (med[k], worst[k]))
    lead = order[0]
    verdict = _fastest(ctx.sr, {v.label: v for v in vs}, order, reach)
    first = (f"Epochs to reach {target} (median over seeds, range): " + "; ".join(said(k) for k in order)
             + f"; {verdict}." if math.isfinite(med[lead]) else f"No variant reaches {target}.")
    within = {v.label: float(np.mean([np.std([h["val_loss"] for h in r["history"][-STABILITY_EPOCHS:]], ddof=1)
                                       for r in v.runs])) for v in vs if len(v.runs[0]["history"]) >= 2}
    sentences = [first]
    if len(within) > 1:
        steady = sorted(within, key=within.get)
        a, b = steady[0], steady[-1]
        rise = {v.label: float(np.mean([r["history"][-1]["val_loss"] - min(h["val_loss"] for h in r["history"])
                                        for r in v.runs])) for v in vs}
        sentences.append(f"Validation loss is steadiest for **{a}** (standard deviation over the last "
                         f"{STABILITY_EPOCHS} epochs {within[a]:.4f} nats, mean over seeds) and least steady for **{b}** "
                         f"({within[b]:.4f} nats, {within[b] / within[a]:.0f}× more); at the last epoch it sits above its "
                         f"minimum by {join(f'{rise[k]:.3f} ({k})' for k in steady)} nats.")
    short = "epochs to 97 % val acc: " + ", ".join(f"{k} {epochs(reach[k])}" for k in order)
    return Headline(tuple(sentences), short)


def factor_tables(ctx: Context, out: dict[str, Any] | None = None) -> Headline | None:
    """Per factor of a one-factor-at-a-time study, the largest change of mean test and validation
    accuracy against the reference (outlier seeds left out and named), and how many differ."""
    ref = ctx.sr.variant(ctx.sr.reference)
    groups = {name: [v for v in vs if v.runs] for name, vs in factors(ctx).items()}
    groups = {k: vs for k, vs in groups.items() if vs}
    if not ref.runs or not groups:
        return None
    t0, v0 = mean_of(ref, "test_accuracy"), mean_of(ref, "val_acc")
    moves = []
    for name, vs in groups.items():
        top = max(vs, key=lambda v: abs(mean_of(v, "test_accuracy") - t0))
        moves.append((abs(mean_of(top, "test_accuracy") - t0), name, top))
    moves.sort(key=lambda m: -m[0])
    tests = {c.a.slug: c for c in comparisons(ctx.sr) if c.b is ref}
    apart = [c for c in tests.values() if c.detectable]

    def move(name: str, v) -> str:
        c = tests.get(v.slug)
        tag = "" if c is None else f", {'detectable' if c.detectable else 'not detectable'}"
        if v.outliers():
            tag += f"; {len(v.clean.runs)} of {len(v.runs)} seeds, {'; '.join(o.describe() for o in v.outliers())}"
        return (f"{name} {mean_of(v, 'test_accuracy') - t0:+.2f} pp test / {mean_of(v, 'val_acc') - v0:+.2f} pp "
                f"validation ({v.label}{tag})")

    top = moves[0]
    sentences = [f"Against **{ref.label}** ({mean_of(ref, 'test_accuracy'):.2f} % test, {v0:.2f} % validation "
                 f"accuracy, mean over seeds), the {top[1]} changes mean accuracy most: {move('', top[2]).strip()}."]
    if len(moves) > 1:
        sentences.append("The largest change for each other factor: " + "; ".join(move(n, v) for _, n, v in moves[1:]) + ".")
    sentences.append(f"{'None' if not apart else len(apart)} of the {count(len(tests), 'variant')} "
                     f"{'differs' if len(apart) <= 1 else 'differ'} detectably from {ref.label} in test accuracy "
                     f"({_tests_named(tests.values())}, outlier seeds left out)"
                     + (": " + join(f"{c.a.label} {c.estimate:+.2f} pp" for c in apart) if apart else "") + ".")
    note = _left_out([ref] + [v for vs in groups.values() for v in vs])
    if note:
        sentences.append(note)
    return Headline(tuple(sentences), f"largest change: {top[1]} ({top[2].label}, "
                                      f"{mean_of(top[2], 'test_accuracy') - t0:+.2f} pp test)")
