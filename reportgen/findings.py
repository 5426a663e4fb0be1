"""Words from numbers: the answer admonition and the verdict on each expectation of a study.

Every sentence is a template filled with computed values; nothing here states a number or a
ranking that it did not compute. Intervals: Student t over seeds; differences between variants:
Welch's t test over seeds (``reportgen.stats``).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .spec import Expect
from .stats import verdict, welch
from .summary import METRICS, StudyResults, VariantResults

ALPHA = 0.05


@dataclass(frozen=True)
class Check:
    """One expectation's outcome: ``held``, ``contradicted`` or ``inconclusive``, with evidence."""

    expect: Expect
    outcome: str
    evidence: str

    @property
    def icon(self) -> str:
        return {"held": "✅", "contradicted": "❌", "inconclusive": "➖"}[self.outcome]

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
    iv, m = v.interval(metric), METRICS[metric]
    half = f" ± {iv.half_width:.{m.digits}f}" if iv.n > 1 and np.isfinite(iv.half_width) else ""
    return f"{iv.mean:.{m.digits}f}{half} {m.unit}".strip() + f" (n = {iv.n})"


def _diff_unit(unit: str) -> str:
    """The unit of a difference: percentage points for percentages."""
    return "pp" if unit == "%" else unit


def compare(sr: StudyResults, a: VariantResults, b: VariantResults, metric: str) -> tuple[str, float, float]:
    """(sentence, difference in display units, p) for a vs b on ``metric`` (Welch over seeds)."""
    m = METRICS[metric]
    w = welch([x * m.scale for x in a.values(metric)], [x * m.scale for x in b.values(metric)])
    diff, lo, hi = (w.diff, w.low, w.high) if m.higher_is_better else (-w.diff, -w.high, -w.low)
    unit = _diff_unit(m.unit)
    return verdict(a.label, b.label, diff, lo, hi, w.p, alpha=ALPHA, unit=unit), w.diff, w.p


def check(sr: StudyResults, e: Expect) -> Check:
    """Evaluate one expectation. Threshold claims: held when the whole 95 % CI of the mean is on the
    claimed side, contradicted when it is wholly on the other side. Ranking claims: held when the
    named variant ranks first and beats the runner-up significantly (Welch, p < 0.05)."""
    if e.metric not in METRICS:
        return Check(e, "inconclusive", f"unknown metric {e.metric!r}; known: {', '.join(METRICS)}")
    m = METRICS[e.metric]
    try:
        if e.at_least is not None or e.at_most is not None:
            v = sr.variant(e.variant) if e.variant else sr.variant(sr.reference)
            iv = v.interval(e.metric)
            bound = (e.at_least if e.at_least is not None else e.at_most) * m.scale
            sign = 1 if e.at_least is not None else -1
            lo, hi = (iv.low, iv.high) if np.isfinite(iv.half_width) else (iv.mean, iv.mean)
            if not np.isfinite(iv.mean):
                return Check(e, "inconclusive", _no_mean(v))
            held = sign * (min(lo, hi) if sign > 0 else max(lo, hi)) >= sign * bound
            contra = sign * (max(lo, hi) if sign > 0 else min(lo, hi)) < sign * bound
            outcome = "held" if held else "contradicted" if contra else "inconclusive"
            return Check(e, outcome, f"{v.label}: {_mean_ci(v, e.metric)}; 95 % CI {lo:.{m.digits}f} to {hi:.{m.digits}f}")
        if e.higher_than or e.lower_than:
            return _pair(sr, e, m)
        if e.equal_to:
            return _equivalent(sr, e, m)
        if e.monotone:
            return _monotone(sr, e, m)
        named = sr.variant(e.highest or e.lowest)
        want_high = e.highest is not None
        # A variant without a finite mean (e.g. never reached a target) cannot rank first.
        ranked = sorted((v for v in sr.variants if v.runs and np.isfinite(v.interval(e.metric).mean)),
                        key=lambda v: v.interval(e.metric).mean, reverse=want_high)
        if len(ranked) < 2:
            return Check(e, "inconclusive", "fewer than two variants with results")
        top = ranked[0]
        other = ranked[1] if top is named else top
        sentence, _, p = compare(sr, named, other, e.metric) if m.higher_is_better == want_high \
            else compare(sr, other, named, e.metric)
        if top is named and p < ALPHA:
            outcome = "held"
        elif top is not named and p < ALPHA:
            outcome = "contradicted"
        else:
            outcome = "inconclusive"
        means = "; ".join(f"{v.label}: {v.interval(e.metric).mean:.{m.digits}f}" for v in ranked)
        return Check(e, outcome, f"{sentence}. Means ({m.unit or 'value'}): {means}")
    except KeyError as err:
        return Check(e, "inconclusive", str(err.args[0]))


def _no_mean(v: VariantResults) -> str:
    """Why ``v`` has no mean to check: not trained yet, or no run with a finite value (diverged)."""
    return f"{v.label}: no results yet" if not v.runs else f"{v.label}: no finite results"


def _pair(sr: StudyResults, e: Expect, m) -> Check:
    """``variant`` higher/lower than another: held when the difference has the claimed sign and
    Welch's p < ALPHA, contradicted when it has the other sign with p < ALPHA, else inconclusive."""
    a = sr.variant(e.variant) if e.variant else sr.variant(sr.reference)
    b = sr.variant(e.higher_than or e.lower_than)
    ma, mb = a.interval(e.metric).mean, b.interval(e.metric).mean
    if not (np.isfinite(ma) and np.isfinite(mb)):
        return Check(e, "inconclusive", "; ".join(_no_mean(v) for v, mv in ((a, ma), (b, mb)) if not np.isfinite(mv)))
    claimed = 1 if e.higher_than else -1
    xa, xb = a.values(e.metric), b.values(e.metric)
    if len(set(xa)) == 1 and len(set(xb)) == 1:  # the same on every seed (parameters, FLOPs): no test to make
        outcome = "held" if np.sign(ma - mb) == claimed else "contradicted"
        return Check(e, outcome, f"{a.label}: {_value(ma * m.scale, m)}; {b.label}: {_value(mb * m.scale, m)} "
                                 "(the same on every seed)")
    w = welch([x * m.scale for x in xa], [x * m.scale for x in xb])
    outcome = "inconclusive" if not w.p < ALPHA else "held" if np.sign(w.diff) == claimed else "contradicted"
    return Check(e, outcome, f"{a.label}: {_mean_ci(a, e.metric)}; {b.label}: {_mean_ci(b, e.metric)}; "
                             f"difference {w.diff:+.{m.digits}f} (95 % CI {w.low:.{m.digits}f} to {w.high:.{m.digits}f}), "
                             f"Welch p = {w.p:.3g}")


def _value(x: float, m) -> str:
    return (f"{x:,.0f}" if m.digits == 0 else f"{x:.{m.digits}f}") + (f" {m.unit}" if m.unit else "")


def _equivalent(sr: StudyResults, e: Expect, m) -> Check:
    """Equal within ±delta by two one-sided tests (Schuirmann 1987): held when the 90 % Welch CI of
    the difference lies inside ±delta, contradicted when the 95 % CI lies wholly outside it."""
    a = sr.variant(e.variant) if e.variant else sr.variant(sr.reference)
    b = sr.variant(e.equal_to)
    xa, xb = [x * m.scale for x in a.values(e.metric)], [x * m.scale for x in b.values(e.metric)]
    d = e.delta * m.scale
    w90, w95 = welch(xa, xb, confidence=0.90), welch(xa, xb)
    if not (np.isfinite(w90.low) and np.isfinite(w90.high)):
        return Check(e, "inconclusive", "fewer than two seeds per variant: no interval")
    if -d < w90.low and w90.high < d:
        outcome = "held"
    elif w95.low > d or w95.high < -d:
        outcome = "contradicted"
    else:
        outcome = "inconclusive"
    unit = _diff_unit(m.unit)
    return Check(e, outcome, f"{a.label} − {b.label} = {w90.diff:+.{m.digits}f} {unit}, 90 % CI "
                             f"{w90.low:.{m.digits}f} to {w90.high:.{m.digits}f} against ±{d:g} {unit}")


def _monotone(sr: StudyResults, e: Expect, m) -> Check:
    """Monotone along the declared variant order: Spearman's rank correlation between position and
    every seed's value (scipy.stats.spearmanr); held with the claimed sign and p < ALPHA,
    contradicted with the other sign and p < ALPHA."""
    from scipy.stats import spearmanr

    pos, vals = [], []
    for i, v in enumerate(v for v in sr.variants if v.runs):
        for x in v.values(e.metric):
            if np.isfinite(x):
                pos.append(i)
                vals.append(x)
    if len(set(pos)) < 3:
        return Check(e, "inconclusive", "fewer than three variants with results")
    rho, p = spearmanr(pos, vals)
    want = 1 if e.monotone == "increasing" else -1
    outcome = "inconclusive" if not p < ALPHA else "held" if np.sign(rho) == want else "contradicted"
    means = " → ".join(f"{v.interval(e.metric).mean:.{m.digits}f}" for v in sr.variants if v.runs)
    return Check(e, outcome, f"Spearman ρ = {rho:+.2f} (p = {p:.2g}, n = {len(vals)} runs); means: {means} {m.unit}")


def answer(sr: StudyResults, outputs: dict | None = None, data_root=None) -> str:
    """The study's answer (Markdown): the headlines of the analyses its question asks about, composed by
    :func:`reportgen.answers.compose` (``outputs``: analysis name → its returned context, if already run)."""
    import tempfile
    from pathlib import Path

    from .analyses import Context
    from .answers import compose

    with tempfile.TemporaryDirectory(prefix="reportgen-answer-") as tmp:
        return compose(Context(sr, Path(tmp), "", data_root), outputs).text
