"""Words from numbers: the answer admonition and the verdict on each expectation of a study.

Every sentence is a template filled with computed values; nothing here states a number or a
ranking that it did not compute. Intervals: Student t over seeds, outlier seeds left out;
differences between variants: the t test :func:`reportgen.report.judge.significance.two_sample` picks (paired by
seed where the design pairs the variants, else Welch). A claim on a comparison of the study's family
takes that comparison's one verdict (:func:`reportgen.report.judge.verdicts.found`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from reportgen.report.judge.cells import cell
from reportgen.report.judge.power import Needed, for_pair, for_threshold, not_computed
from reportgen.report.judge.significance import against, two_sample
from reportgen.spec.schema import Expect
from reportgen.results.stats import verdict
from reportgen.report.judge.words import plural
from reportgen.results.summary import METRICS, StudyResults, VariantResults, short_device

ALPHA = 0.05
#: A claim's outcomes and their marks; ``equivalent``: the variants are within the study's margin δ of each
#: other (:mod:`reportgen.report.judge.verdicts`; outside the family, :func:`_ahead_or_within`).
ICONS = {"held": "✅", "contradicted": "❌", "equivalent": "🟰", "inconclusive": "➖"}


@dataclass(frozen=True)
class Check:
    """One expectation's outcome: ``held``, ``contradicted``, ``equivalent`` or ``inconclusive``, with
    evidence, and for an inconclusive one the seeds per variant that would decide it
    (:mod:`reportgen.report.judge.power`; None otherwise, or where the claim is not testable)."""

    expect: Expect
    outcome: str
    evidence: str
    needed: Needed | None = None

    @property
    def icon(self) -> str:
        return ICONS[self.outcome]

    @property
    def claim(self) -> str:
        e, m = self.expect, METRICS.get(self.expect.metric)
        label = m.label if m else e.metric
        if e.at_least is not None or e.at_most is not None:
            bound = e.at_least if e.at_least is not None else e.at_most
            shown = f"{bound * m.scale:g} {m.unit}".strip() if m else f"{bound:g}"
            return f"{label} of {e.variant or 'the reference'} ≥ {shown}" if e.at_least is not None \
                else f"{label} of {e.variant or 'the reference'} ≤ {shown}"
        if e.equal_to:
            return (f"{label} of {e.variant or 'the reference'} equals that of {e.equal_to} within "
                    f"{e.delta * (m.scale if m else 1):g} {_diff_unit(m.unit) if m else ''}".rstrip())
        if e.monotone:
            return f"{label} {'rises' if e.monotone == 'increasing' else 'falls'} along the variants in declaration order"
        if e.higher_than or e.lower_than:
            return (f"{label} of {e.variant or 'the reference'} is "
                    f"{'higher' if e.higher_than else 'lower'} than that of {e.higher_than or e.lower_than}")
        return f"{e.highest or e.lowest} has the {'highest' if e.highest else 'lowest'} {label}"


def _mean_ci(v: VariantResults, metric: str) -> str:
    """``97.67 ± 0.83 % (n = 3)`` over the seeds that are not outliers (``n = 2 of 3, …`` when one
    was left out); a timing as median (min–max) per device; no interval past the metric's bounds."""
    m, c = METRICS[metric], v.clean
    if m.timing:
        return cell(v, metric, mixed=True) + (f" {m.unit}" if m.unit else "")
    n = f"n = {len(c.runs)}" + (f" of {len(v.runs)}, {_left_out(v)} left out" if c is not v else "")
    return f"{cell(v, metric, mark=False)} {m.unit}".strip() + f" ({n})"


def _left_out(v: VariantResults) -> str:
    seeds = [str(o.seed) for o in v.outliers()]
    return f"seed{'s' if len(seeds) > 1 else ''} {', '.join(seeds)}"


def _diff_unit(unit: str) -> str:
    """The unit of a difference: percentage points for percentages."""
    return "pp" if unit == "%" else unit


def compare(sr: StudyResults, a: VariantResults, b: VariantResults, metric: str) -> tuple[str, float, float]:
    """(sentence, a − b in display units, p) for a vs b on ``metric``: the two-sided test
    :func:`reportgen.report.judge.significance.two_sample` picks (paired by seed where the design pairs the
    variants, else Welch; outlier seeds left out and named). A timing is not tested: the sentence
    gives both medians on a device they share, or says they share none; p is then NaN."""
    m = METRICS[metric]
    if m.timing:
        return _timings(a, b, metric), math.nan, math.nan
    from reportgen.report.judge.decisions import sentence
    from reportgen.report.judge.verdicts import found

    one = found(sr, metric, a.slug, b.slug)
    if one is not None:  # the pair's one verdict, as every other place shows it
        note = two_sample(a, b, metric).note
        return sentence(one, a.label, b.label, a.slug, _diff_unit(m.unit)) + note, one.decision.diff or math.nan, \
            one.decision.p if one.decision.p is not None else math.nan
    t = two_sample(a, b, metric)
    w = t.test
    if t.why_not:
        return f"{a.label} vs {b.label}: not testable ({t.why_not}){t.note}", w.diff, w.p
    diff, lo, hi = (w.diff, w.low, w.high) if m.higher_is_better else (-w.diff, -w.high, -w.low)
    return verdict(a.label, b.label, diff, lo, hi, w.p, alpha=ALPHA, unit=_diff_unit(m.unit), test=w.name) + t.note, \
        w.diff, w.p


def _timings(a: VariantResults, b: VariantResults, metric: str) -> str:
    """Two variants' timings side by side, only on a device (and thread count) both ran on."""
    m = METRICS[metric]
    sa, sb = {s.device: s for s in a.spread(metric)}, {s.device: s for s in b.spread(metric)}
    shared = [d for d in sa if d in sb]
    if not shared:
        where = "; ".join(f"{v.label} on {', '.join(short_device(d) for d in s)}" for v, s in ((a, sa), (b, sb)))
        return f"{a.label} and {b.label} not compared on {m.label}: no device in common ({where})"
    d = shared[0]
    both = ", ".join(f"{v.label} {s[d].median:.{m.digits}f} ({s[d].low:.{m.digits}f}–{s[d].high:.{m.digits}f}) {m.unit}"
                     for v, s in ((a, sa), (b, sb)))
    return f"{m.label} on {short_device(d)}, median (range) over seeds: {both}"


def check(sr: StudyResults, e: Expect) -> Check:
    """Evaluate one expectation; outlier seeds are left out and named in the evidence.

    A claim whose comparisons are in the study's family (every pair, bound and ranking claim a spec
    declares) takes their one verdict (:func:`from_record`). Otherwise (a claim checked on its own, an
    epoch count, a trend), the rules below. Thresholds (``at_least``/``at_most``): :func:`reportgen.report.judge.significance.against`, the rule the
    target column uses too (held when the one-sided 95 % confidence bound of the mean is on the
    claimed side). Directional claims (``higher_than``/``lower_than``, ``highest``/``lowest``): a
    one-sided t test in the claimed direction (paired where the design pairs the variants), held
    at p < 0.05; contradicted when the one-sided test the other way has p < 0.05. Equivalence: two
    one-sided tests; monotone trends: Spearman's rank correlation."""
    if e.metric not in METRICS:
        return Check(e, "inconclusive", f"unknown metric {e.metric!r}; known: {', '.join(METRICS)}")
    m = METRICS[e.metric]
    if m.timing:
        return Check(e, "inconclusive", f"{e.metric} is a timing: timings are compared per device, not tested")
    try:
        decided = from_record(sr, e, m)
        if decided is not None:
            return decided
        if e.at_least is not None or e.at_most is not None:
            v = sr.variant(e.variant) if e.variant else sr.variant(sr.reference)
            if not np.isfinite(v.values(e.metric)).any():
                return Check(e, "inconclusive", _no_mean(v))
            bound = (e.at_least if e.at_least is not None else e.at_most) * m.scale
            th = against(v, e.metric, bound, e.at_least is not None)
            needed = for_threshold(v, e.metric, bound) if th.outcome == "inconclusive" else None
            return Check(e, th.outcome, th.evidence, needed)
        if e.higher_than or e.lower_than:
            return _pair(sr, e, m)
        if e.equal_to:
            return _equivalent(sr, e, m)
        if e.monotone:
            return _monotone(sr, e, m)
        return _rank(sr, e, m)
    except KeyError as err:
        return Check(e, "inconclusive", str(err.args[0]))


def from_record(sr: StudyResults, e: Expect, m) -> Check | None:
    """The claim's outcome from the study's one verdict on each comparison it rests on
    (:func:`reportgen.report.judge.verdicts.found`: its record of seeds added until decided, else the one look
    at the seeds it has, Holm over the study's family), when every such comparison is in the family;
    else None (an epoch count, a trend). A pair decided different in the claimed direction: held; the other way: contradicted;
    within ±δ: equivalent (held for an ``equal_to`` claim); a bound: held on the claimed side.
    "highest"/"lowest": held when the named variant is decided ahead of every other, contradicted
    when one is decided ahead of it. Anything else stays inconclusive, with its seeds needed."""
    from reportgen.report.judge.decisions import signed
    from reportgen.report.judge.verdicts import found

    if e.monotone:
        return None
    own = sr.variant(e.variant).slug if e.variant else sr.reference
    named = [own, *(x for x in (e.higher_than, e.lower_than, e.equal_to) if x)]
    if all(len(set(sr.variant(x).clean.values(e.metric))) == 1 for x in named) and not (e.highest or e.lowest):
        return None  # the same on every seed (parameters, FLOPs): compared as it is, no test
    unit = _diff_unit(m.unit)
    if e.at_least is not None or e.at_most is not None:
        bound = (e.at_least if e.at_least is not None else e.at_most) * m.scale
        f = found(sr, e.metric, own, bound=bound)
        if f is None:
            return None
        side = {"above": e.at_least is not None, "below": e.at_most is not None}.get(f.decision.verdict)
        outcome = "inconclusive" if side is None else "held" if side else "contradicted"
        needed = for_threshold(sr.variant(own), e.metric, bound, "two-sided") if outcome == "inconclusive" else None
        return Check(e, outcome, f"{sr.variant(own).label}: mean − {bound:g} {m.unit} = {_interval(f, own, unit)}; "
                                 f"{f.how}", needed)
    others = ([sr.variant(e.higher_than or e.lower_than or e.equal_to).slug] if not (e.highest or e.lowest) else
              [v.slug for v in sr.variants if v.runs and v.slug != sr.variant(e.highest or e.lowest).slug
               and np.isfinite(v.clean.interval(e.metric).mean)])  # a variant without a finite mean cannot rank
    named = sr.variant(e.highest or e.lowest).slug if (e.highest or e.lowest) else own
    pairs = [(o, found(sr, e.metric, named, o)) for o in others]
    if not pairs or any(f is None for _, f in pairs):
        return None
    up = bool(e.higher_than or e.highest) if not e.equal_to else None
    states = []  # per other variant: "ahead" (named ahead in the claimed direction), "behind", "equivalent", "undecided"
    for o, f in pairs:
        v = f.decision.verdict
        if v in ("a ahead", "b ahead"):
            states.append("ahead" if up is None or (signed(f, named) > 0) == up else "behind")
        else:
            states.append(v)
    if e.equal_to:
        outcome = {"equivalent": "held", "ahead": "contradicted"}.get(states[0], "inconclusive")
    elif "behind" in states:
        outcome = "contradicted"
    elif all(s == "ahead" for s in states):
        outcome = "held"
    elif all(s in ("ahead", "equivalent") for s in states):
        outcome = "equivalent"
    else:
        outcome = "inconclusive"
    evidence = "; ".join(f"{sr.variant(named).label} − {sr.variant(o).label} = {_interval(f, named, unit)}: "
                         f"{_state(s)} ({f.how})" for (o, f), s in zip(pairs, states))
    needed = None
    if outcome == "inconclusive":
        open_ = [(o, f) for (o, f), s in zip(pairs, states) if s == "undecided"]
        margin = open_[0][1].member.delta if e.equal_to and open_ else None  # the ±δ the verdict uses
        needed = for_pair(sr.variant(named), sr.variant(open_[0][0]), e.metric, delta=margin) if open_ else None
    return Check(e, outcome, evidence, needed)


def _interval(f, a: str, unit: str) -> str:
    """``+0.33 pp (95 % CI 0.10 to 0.56)`` as ``a`` − other, from a record's decision."""
    from reportgen.report.judge.decisions import oriented

    diff, lo, hi = oriented(f, a)
    u = f" {unit}" if unit else ""
    return f"{diff:+.3g}{u}" if lo is None else f"{diff:+.3g}{u} (95 % CI {lo:.3g} to {hi:.3g})"


def _state(state: str) -> str:
    return {"ahead": "decided in the claimed direction", "behind": "decided against it",
            "equivalent": "equivalent within the margin", "undecided": "undecided"}.get(state, state)


def _rank(sr: StudyResults, e: Expect, m) -> Check:
    """``highest``/``lowest``: held when the named variant ranks first (mean over its seeds, outliers
    left out) and a one-sided test shows it above (below) the runner-up; contradicted when another
    variant ranks first and a one-sided test shows it above (below) the named one; otherwise equivalent
    when it is ahead of or within ±δ of every other variant (:func:`_ahead_or_within`)."""
    named = sr.variant(e.highest or e.lowest)
    want_high = e.highest is not None
    # A variant without a finite mean (e.g. never reached a target) cannot rank first.
    ranked = sorted((v for v in sr.variants if v.runs and np.isfinite(v.clean.interval(e.metric).mean)),
                    key=lambda v: v.clean.interval(e.metric).mean, reverse=want_high)
    if len(ranked) < 2:
        return Check(e, "inconclusive", "fewer than two variants with results")
    top = ranked[0]
    first, second = (named, ranked[1]) if top is named else (top, named)
    text, p = _directional(first, second, e.metric, want_high)
    outcome = "inconclusive" if not p < ALPHA else "held" if top is named else "contradicted"
    means = "; ".join(f"{v.label}: {v.clean.interval(e.metric).mean:.{m.digits}f}" for v in ranked)
    tied = _ahead_or_within(sr, named, [v for v in ranked if v is not named], e.metric, want_high) \
        if outcome == "inconclusive" else None
    if tied is not None:
        return Check(e, "equivalent", f"{tied}. Means ({m.unit or 'value'}): {means}")
    needed = for_pair(first, second, e.metric, alternative="larger") if outcome == "inconclusive" else None
    return Check(e, outcome, f"{text}. Means ({m.unit or 'value'}): {means}", needed)


def standing(sr: StudyResults, named: VariantResults, other: VariantResults, metric: str, up: bool) -> tuple[str, str]:
    """``named`` against ``other`` on ``metric``, for a comparison outside the study's family (an epoch
    count): ``ahead`` when the one-sided test in the claimed direction (``up``: higher) gives p < ALPHA,
    ``behind`` when the one-sided test the other way does, ``equivalent`` when the 90 % CI of the
    difference lies inside ±δ (two one-sided tests, Schuirmann 1987; δ the study's margin for ``metric``,
    :func:`reportgen.report.judge.margins.margin_of`), else ``undecided``; with the evidence in words.
    A difference found both detectable and within δ counts as a difference (as in the family)."""
    from reportgen.report.judge.margins import margin_of

    d, m = margin_of(sr, metric), METRICS[metric]
    text, p = _directional(named, other, metric, up)
    if p < ALPHA:
        return "ahead", text
    back, p_back = _directional(other, named, metric, up)
    if p_back < ALPHA:
        return "behind", back
    w = two_sample(named, other, metric, confidence=0.90)
    inside = d is not None and _inside(w.test, d)
    unit = plural("epoch", d) if m.epoch else _diff_unit(m.unit)
    ci = (f"{named.label} − {other.label} = {w.test.diff:+.{m.digits}f}, 90 % CI {w.test.low:.{m.digits}f} to "
          f"{w.test.high:.{m.digits}f}" + (f" {'inside' if inside else 'not inside'} ±{d:g} {unit}" if d else "")
          + f" ({w.how}){w.note}")
    return ("equivalent" if inside else "undecided"), ci


def _ahead_or_within(sr: StudyResults, named: VariantResults, others: list[VariantResults], metric: str,
                     up: bool) -> str | None:
    """Evidence that ``named`` is ahead of or equivalent to every one of ``others`` (:func:`standing`), at
    least one of them equivalent; else None. Each test is at ALPHA with no adjustment: the outcome needs
    all of them, an intersection–union test (Berger & Hsu 1996, *Statistical Science* 11:283–319)."""
    states = [(o, *standing(sr, named, o, metric, up)) for o in others]
    if any(s not in ("ahead", "equivalent") for _, s, _ in states) or all(s == "ahead" for _, s, _ in states):
        return None
    parts = [f"{s} {'of' if s == 'ahead' else 'to'} {o.label}: {text}" for o, s, text in states]
    return "; ".join(parts) + f" (each at α = {ALPHA:g}, all needed: an intersection–union test)"


def _directional(a: VariantResults, b: VariantResults, metric: str, greater: bool) -> tuple[str, float]:
    """(evidence, p) of the one-sided test of "a > b" (``greater``) or "a < b" on ``metric``."""
    m = METRICS[metric]
    t = two_sample(a, b, metric, "greater" if greater else "less")
    w, unit = t.test, _diff_unit(m.unit)
    claim = f"{a.label} {'>' if greater else '<'} {b.label}"
    if t.why_not:
        return f"{claim}: not testable ({t.why_not}){t.note}", math.nan
    u = f" {unit}" if unit else ""
    edge = f"lower bound {w.low:.{m.digits}f}{u}" if greater else f"upper bound {w.high:.{m.digits}f}{u}"
    return (f"{a.label} − {b.label} = {w.diff:+.{m.digits}f}{u} (one-sided 95 % {edge}); "
            f"{t.how}, H1 {claim}: p = {w.p:.2g}{t.note}"), w.p


def _no_mean(v: VariantResults) -> str:
    """Why ``v`` has no mean to check: not trained yet, or no run with a finite value (diverged)."""
    return f"{v.label}: no results yet" if not v.runs else f"{v.label}: no finite results"


def _pair(sr: StudyResults, e: Expect, m) -> Check:
    """``variant`` higher/lower than another, tested one-sided in the claimed direction: held when
    that test gives p < ALPHA, contradicted when the one-sided test the other way does, equivalent within
    ±δ (:func:`_ahead_or_within`), else inconclusive. One equal on every seed (parameters) is compared as it is."""
    a = sr.variant(e.variant) if e.variant else sr.variant(sr.reference)
    b = sr.variant(e.higher_than or e.lower_than)
    ma, mb = a.clean.interval(e.metric).mean, b.clean.interval(e.metric).mean
    if not (np.isfinite(ma) and np.isfinite(mb)):
        return Check(e, "inconclusive", "; ".join(_no_mean(v) for v, mv in ((a, ma), (b, mb)) if not np.isfinite(mv)))
    claimed = 1 if e.higher_than else -1
    xa, xb = a.clean.values(e.metric), b.clean.values(e.metric)
    if len(set(xa)) == 1 and len(set(xb)) == 1:  # the same on every seed (parameters, FLOPs): no test to make
        outcome = "held" if np.sign(ma - mb) == claimed else "contradicted"
        return Check(e, outcome, f"{a.label}: {_value(ma, m)}; {b.label}: {_value(mb, m)} "
                                 "(the same on every seed)")
    text, p = _directional(a, b, e.metric, claimed > 0)
    _, p_other = _directional(a, b, e.metric, claimed < 0)
    outcome = "held" if p < ALPHA else "contradicted" if p_other < ALPHA else "inconclusive"
    tied = _ahead_or_within(sr, a, [b], e.metric, claimed > 0) if outcome == "inconclusive" else None
    if tied is not None:
        return Check(e, "equivalent", f"{a.label}: {_mean_ci(a, e.metric)}; {b.label}: {_mean_ci(b, e.metric)}; {tied}")
    return Check(e, outcome, f"{a.label}: {_mean_ci(a, e.metric)}; {b.label}: {_mean_ci(b, e.metric)}; {text}",
                 for_pair(a, b, e.metric, alternative="larger") if outcome == "inconclusive" else None)


def _value(x: float, m) -> str:
    return (f"{x:,.0f}" if m.digits == 0 else f"{x:.{m.digits}f}") + (f" {m.unit}" if m.unit else "")


def _equivalent(sr: StudyResults, e: Expect, m) -> Check:
    """Equal within ±delta by two one-sided tests (Schuirmann 1987): held when the 90 % CI of the
    difference lies inside ±delta, contradicted when the 95 % CI lies wholly outside it. The test
    (paired or Welch) and the seeds left out follow :func:`reportgen.report.judge.significance.two_sample`."""
    a = sr.variant(e.variant) if e.variant else sr.variant(sr.reference)
    b = sr.variant(e.equal_to)
    d = e.delta * m.scale
    t90, t95 = two_sample(a, b, e.metric, confidence=0.90), two_sample(a, b, e.metric)
    w90, w95 = t90.test, t95.test
    if not (np.isfinite(w90.low) and np.isfinite(w90.high)):
        return Check(e, "inconclusive", f"fewer than two seeds per variant: no interval{t90.note}")
    if _inside(w90, d):
        outcome = "held"
    elif w95.low > d or w95.high < -d:
        outcome = "contradicted"
    else:
        outcome = "inconclusive"
    unit = _diff_unit(m.unit)
    return Check(e, outcome, f"{a.label} − {b.label} = {w90.diff:+.{m.digits}f} {unit}, 90 % CI "
                             f"{w90.low:.{m.digits}f} to {w90.high:.{m.digits}f} against ±{d:g} {unit} "
                             f"({t90.how}){t90.note}",
                 not_computed("equivalence claim: seeds needed not computed") if outcome == "inconclusive" else None)


def _inside(w90, d: float) -> bool:
    """Whether a 90 % CI lies inside ±``d``: two one-sided tests at α = 0.05 (Schuirmann 1987)."""
    return bool(np.isfinite(w90.low) and np.isfinite(w90.high) and -d < w90.low and w90.high < d)


def _monotone(sr: StudyResults, e: Expect, m) -> Check:
    """Monotone along the declared variant order: Spearman's rank correlation between position and
    every seed's value, outlier seeds left out (scipy.stats.spearmanr); held with the claimed sign
    and p < ALPHA, contradicted with the other sign and p < ALPHA."""
    from scipy.stats import spearmanr

    pos, vals = [], []
    for i, v in enumerate(v for v in sr.variants if v.runs):
        for x in v.clean.values(e.metric):
            if np.isfinite(x):
                pos.append(i)
                vals.append(x)
    if len(set(pos)) < 3:
        return Check(e, "inconclusive", "fewer than three variants with results")
    rho, p = spearmanr(pos, vals)
    want = 1 if e.monotone == "increasing" else -1
    outcome = "inconclusive" if not p < ALPHA else "held" if np.sign(rho) == want else "contradicted"
    means = " → ".join(f"{v.clean.interval(e.metric).mean:.{m.digits}f}" for v in sr.variants if v.runs)
    gone = "; ".join(f"{o.describe()} of {v.label}" for v in sr.variants for o in v.outliers())
    return Check(e, outcome, f"Spearman ρ = {rho:+.2f} (p = {p:.2g}, n = {len(vals)} runs); means: {means} {m.unit}"
                             + (f"; left out: {gone}" if gone else ""),
                 not_computed("trend claim: seeds needed not computed") if outcome == "inconclusive" else None)
