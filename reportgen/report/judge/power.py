"""Seeds needed to decide an undecided comparison or claim, and what they would cost. Reads result JSON only.

The number of seeds per variant that gives a t test 80 % power (:data:`POWER`) at α = 0.05
(:data:`ALPHA`; two-sided for a comparison, one-sided in the observed direction for a directional or
threshold claim, as each is tested) if the true effect and spread were the ones observed: Cohen's effect size
d = effect / SD (Cohen 1988, *Statistical Power Analysis for the Behavioral Sciences*, 2nd ed.,
ch. 2), and the power of the test the comparison uses, from statsmodels (``statsmodels.stats.power``):

* paired by design (:func:`reportgen.report.judge.significance.paired_by_design`): the paired t test is a
  one-sample t test of the per-seed differences, ``TTestPower`` with d = mean difference / SD of the
  differences;
* otherwise two independent samples of equal size (Welch's test is planned as Student's, as
  ``TTestIndPower`` does), d = difference of the means / pooled SD;
* a threshold claim (mean against a fixed bound): one-sample ``TTestPower``, d = (mean − bound) / SD;
* an equivalence claim (equal within ±δ, judged by two one-sided tests, Schuirmann 1987): the power of
  both one-sided tests rejecting, approximated as P_lower + P_upper − 1, each the one-sided power
  (``alternative="larger"``) at d = (δ ∓ effect) / SD (Chow, Shao & Wang 2008, *Sample Size
  Calculations in Clinical Research*, 2nd ed., §3.2.3). A true effect at or beyond ±δ has no finite
  answer: more seeds make equivalence less likely, not more.

The answer is the smallest whole number of seeds n ≥ 2 whose power reaches 80 %, i.e.
``ceil(solve_power(...))``; beyond :data:`CAP` seeds it is "more than 1,000", and an observed effect of
exactly 0 has no finite answer. The spread of 3 seeds is itself a poor estimate (its 95 % interval
spans about 0.5× to 6× the SD), so the number is a rough guide, not a promise. The cost of the extra
seeds is each variant's mean recorded ``wall_seconds`` per run times its extra seeds, summed over the
variants, at the device and threads the runs recorded.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np
from statsmodels.stats.power import TTestIndPower, TTestPower
from statsmodels.tools.sm_exceptions import ConvergenceWarning  # imported first: it sets its own warning filter

from reportgen.report.judge.significance import Tested, _scaled, two_sample
from reportgen.results.summary import METRICS, VariantResults, device_of, short_device

ALPHA = 0.05
POWER = 0.80
CAP = 1000  # seeds per variant: beyond this the answer is "more than 1,000"
ZERO = 1e-9  # an observed effect smaller than this (display units) is 0: equal means up to rounding
#: Said beside every seeds-needed number: the SD of 3 seeds has a 95 % interval of about 0.52× to 6.3×
#: the true SD (chi-square with 2 degrees of freedom), so d, and the seeds it asks for, are rough.
CAVEAT = ("Three seeds estimate the spread poorly (the SD of 3 seeds can be half or six times the true one), "
          "so read the number as a rough guide")


def seeds_for(effect: float, sd: float, design: str, alpha: float = ALPHA, power: float = POWER,
              cap: int = CAP, alternative: str = "two-sided") -> float:
    """Seeds per variant for ``power`` at ``alpha`` if the true effect were ``effect`` with standard
    deviation ``sd`` (same unit as ``effect``; d = |effect| / sd, Cohen 1988). ``alternative``:
    ``"two-sided"`` (a comparison) or ``"larger"`` (a one-sided test in the observed direction, as a
    directional claim is tested).

    ``design``: ``"paired"`` or ``"one-sample"`` (statsmodels ``TTestPower``, n = pairs or seeds) or
    ``"independent"`` (``TTestIndPower``, n per group, equal groups). Returns the smallest integer n ≥ 2
    whose power reaches ``power`` (``ceil`` of statsmodels' ``solve_power``), ``math.inf`` beyond ``cap``,
    ``math.nan`` for an effect of exactly 0 or an SD that is not positive and finite.

    Raises:
        ValueError: an unknown ``design`` or ``alternative``.
    """
    if alternative not in ("two-sided", "larger"):
        raise ValueError(f"alternative {alternative!r}: one of two-sided, larger")
    engine = _engine(design)
    if not (np.isfinite(effect) and np.isfinite(sd)) or abs(effect) < ZERO or sd <= 0:
        return math.nan
    d = abs(effect) / sd

    def reaches(n: int) -> bool:  # statsmodels' power is nan only where it is within rounding of 1
        p = engine.power(d, n, alpha, alternative=alternative)
        return bool(np.isnan(p) or p >= power)

    def solved() -> float:  # a failed search gives nan: then the bisection decides
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            return float(engine.solve_power(d, None, alpha, power, alternative=alternative))

    return _smallest(reaches, cap, solved)


def _engine(design: str):
    """statsmodels' power engine for ``design``. Raises ValueError for an unknown design."""
    if design not in ("paired", "one-sample", "independent"):
        raise ValueError(f"design {design!r}: one of paired, one-sample, independent")
    return TTestIndPower() if design == "independent" else TTestPower()


def _smallest(reaches, cap: int, guess=None) -> float:
    """The smallest n in [2, ``cap``] with ``reaches(n)`` (power grows with n), ``math.inf`` when ``cap``
    does not reach it; ``guess()``, a closed-form n, is taken (rounded up, clipped) when it is finite,
    else the answer is bisected."""
    if reaches(2):  # a large effect: two seeds suffice
        return 2.0
    if not reaches(cap):
        return math.inf
    n = guess() if guess is not None else math.nan
    if np.isfinite(n):
        return float(min(max(2, math.ceil(n - 1e-9)), cap))
    lo, hi = 2, cap  # reaches(hi) holds, reaches(lo) does not
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if reaches(mid) else (mid, hi)
    return float(hi)


def seeds_for_equivalence(effect: float, sd: float, delta: float, design: str, alpha: float = ALPHA,
                          power: float = POWER, cap: int = CAP) -> float:
    """Seeds per variant for two one-sided tests at ``alpha`` each (Schuirmann 1987) to show equivalence
    within ±``delta`` with probability ``power``, if the true effect were ``effect`` with standard deviation
    ``sd`` (``effect``, ``sd`` and ``delta`` in one unit). Power is approximated as P_lower + P_upper − 1,
    the one-sided powers at d = (delta + effect) / sd and (delta − effect) / sd (Chow, Shao & Wang 2008,
    §3.2.3), from statsmodels' ``TTestPower`` (``design`` paired or one-sample) or ``TTestIndPower``
    (independent, n per group).

    Returns the smallest n ≥ 2 whose power reaches ``power`` (found by bisection: the power grows with n),
    ``math.inf`` beyond ``cap`` or where |effect| ≥ ``delta``, ``math.nan`` for an SD or δ that is not
    positive and finite.

    Raises:
        ValueError: an unknown ``design``.
    """
    engine = _engine(design)
    if not (np.isfinite(effect) and np.isfinite(sd) and np.isfinite(delta)) or sd <= 0 or delta <= 0:
        return math.nan
    if abs(effect) >= delta:
        return math.inf

    def reaches(n: int) -> bool:
        sides = [engine.power((delta + s * effect) / sd, n, alpha, alternative="larger") for s in (1, -1)]
        return float(np.nan_to_num(sum(sides) - 1, nan=1.0)) >= power

    return _smallest(reaches, cap)


@dataclass(frozen=True)
class Needed:
    """Seeds per variant for 80 % power at the observed effect and spread, and the cost of the extra seeds.

    design: ``paired``, ``independent`` or ``one-sample``; effect: observed difference (or mean − bound)
    in the metric's display unit; sd: the spread d is computed with (SD of the paired differences,
    pooled SD, or SD of the values), same unit; n_now: seeds used now per variant label; per_variant:
    seeds needed per variant (``inf``: more than :data:`CAP`; ``nan``: no finite number); extra: extra
    seeds per variant label; seconds: their recorded run time, s (``nan`` where a run time is missing);
    devices: where those run times were recorded (``2 threads``, ``AVX512, 1 thread`` for the CPU, else
    the GPU's name); why: when no number is computed, why; margin: for an equivalence claim, its ±δ
    (the seeds are then those two one-sided tests need, :func:`seeds_for_equivalence`).
    """

    design: str
    effect: float
    sd: float
    n_now: dict[str, int] = field(default_factory=dict)
    per_variant: float = math.nan
    extra: dict[str, int] = field(default_factory=dict)
    seconds: float = math.nan
    devices: tuple[str, ...] = ()
    why: str = ""
    caveat: str = CAVEAT
    alternative: str = "two-sided"
    margin: float | None = None  # an equivalence claim's ±δ (same unit as effect); None for a difference

    @property
    def seeds(self) -> str:
        """``6``, ``more than 1,000``, ``no finite number`` or ``—``."""
        if self.why:
            return "—"
        if math.isnan(self.per_variant):
            return "no finite number"
        return f"more than {CAP:,}" if math.isinf(self.per_variant) else f"{self.per_variant:.0f}"

    @property
    def enough(self) -> bool:
        """Whether every variant already has the seeds needed (undecided by chance, or by a correction
        for multiple comparisons that this α does not include)."""
        return math.isfinite(self.per_variant) and not any(self.extra.values())

    @property
    def cost(self) -> str:
        """``≈ 19 min CPU (2 threads)``, ``≈ 2.5 h CPU (…)``, ``run time not recorded`` or ``—``."""
        if self.why or not math.isfinite(self.per_variant) or self.enough:
            return "—"
        if not np.isfinite(self.seconds):
            return "run time not recorded"
        return f"≈ {duration(self.seconds)} {where(self.devices)}".rstrip()

    @property
    def short(self) -> str:
        """A table cell: ``≈ 6 seeds/variant for 80 % power (+3 each, ≈ 19 min CPU (2 threads))``."""
        if self.why:
            return self.why
        if math.isnan(self.per_variant):
            return "no finite number of seeds gives 80 % power (observed effect 0)"
        if math.isinf(self.per_variant) and self.margin is not None and abs(self.effect) >= self.margin:
            return f"no number of seeds shows equivalence: the observed difference is outside ±{self.margin:g}"
        if math.isinf(self.per_variant):
            return f"more than {CAP:,} seeds/variant for 80 % power"
        if self.enough:
            return (f"{self.seeds} seeds/variant give 80 % power, and it has them: undecided by chance or by a "
                    "multiple-comparison adjustment")
        return f"≈ {self.seeds} seeds/variant for 80 % power ({self.more}, {self.cost})"

    @property
    def more(self) -> str:
        """The extra seeds: ``+3``, ``+3 each`` or ``+3 a, +4 b`` ("" when none are computed)."""
        ks = set(self.extra.values())
        if len(ks) == 1:
            return f"+{ks.pop()}" + (" each" if len(self.extra) > 1 else "")
        return ", ".join(f"+{k} {label}" for label, k in self.extra.items())


def duration(seconds: float) -> str:
    """``45 s``, ``19 min``, ``2.5 h`` (seconds → the largest unit that reads well)."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 100 * 60:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def where(devices: tuple[str, ...] | list[str]) -> str:
    """``CPU (2 threads)``, ``CPU (1 thread and 2 threads)``, ``on NVIDIA H100 and CPU (1 thread)``: the
    devices of :attr:`Needed.devices` in words ("" for none)."""
    cpu = [d for d in devices if "thread" in d or d == "cpu"]
    other = [f"on {d}" for d in devices if d not in cpu]
    return " and ".join(other + ([f"CPU ({' and '.join(cpu)})"] if cpu else []))


def _cost(extra: list[tuple[VariantResults, int]]) -> tuple[float, tuple[str, ...]]:
    """(seconds, devices) of ``extra`` seeds per variant: the mean recorded ``wall_seconds`` of the
    variant's runs × its extra seeds, summed; the devices (and threads) those runs recorded."""
    total, devices = 0.0, []
    for v, k in extra:
        walls = [w for w in (r.get("wall_seconds") for r in v.runs) if w]
        if k and not walls:
            return math.nan, ()
        total += k * float(np.mean(walls)) if k else 0.0
        for d in (short_device(device_of(r)) for r in v.runs):
            devices += [d] if d not in devices else []
    return total, tuple(devices)


def _needed(design: str, effect: float, sd: float, now: list[tuple[VariantResults, int]],
            alternative: str = "two-sided", delta: float | None = None) -> Needed:
    n = (seeds_for(effect, sd, design, alternative=alternative) if delta is None else
         seeds_for_equivalence(effect, sd, delta, design))
    extra = [(v, max(0, int(n) - k)) for v, k in now] if math.isfinite(n) else []
    seconds, devices = _cost(extra) if extra else (math.nan, ())
    return Needed(design, effect, sd, {v.label: k for v, k in now}, n, {v.label: k for v, k in extra}, seconds,
                  devices, alternative=alternative, margin=delta)


def for_pair(a: VariantResults, b: VariantResults, metric: str, tested: Tested | None = None,
             alternative: str = "two-sided", delta: float | None = None) -> Needed | None:
    """Seeds needed for variant ``a`` against ``b`` on ``metric`` with the test
    :func:`reportgen.report.judge.significance.two_sample` picks (outlier seeds left out): paired → d over the
    per-seed differences, Welch → d over the pooled SD. ``tested``: that two-sided test, if already
    made; ``alternative``: as :func:`seeds_for` (``"larger"`` for a directional claim); ``delta``: an
    equivalence margin (display units): seeds for two one-sided tests against ±delta
    (:func:`seeds_for_equivalence`) instead of a difference. None where the pair is not testable
    (fewer than two seeds, no spread) or ``metric`` is a timing."""
    if METRICS[metric].timing:
        return None
    t = tested if tested is not None and tested.test.alternative == "two-sided" else two_sample(a, b, metric)
    if t.why_not:
        return None
    xa, xb = _scaled(a.clean, metric), _scaled(b.clean, metric)
    if t.test.kind == "paired":
        diffs = np.array([xa[s] - xb[s] for s in t.seeds])
        return _needed("paired", float(diffs.mean()), float(diffs.std(ddof=1)), [(a, len(diffs)), (b, len(diffs))],
                       alternative, delta)
    ya, yb = np.array(list(xa.values())), np.array(list(xb.values()))
    na, nb = len(ya), len(yb)
    pooled = math.sqrt(((na - 1) * ya.var(ddof=1) + (nb - 1) * yb.var(ddof=1)) / (na + nb - 2))
    return _needed("independent", float(ya.mean() - yb.mean()), pooled, [(a, na), (b, nb)], alternative, delta)


def for_threshold(v: VariantResults, metric: str, bound: float, alternative: str = "larger") -> Needed | None:
    """Seeds needed for ``v``'s mean on ``metric`` against ``bound`` (display units): one-sample
    ``TTestPower``, one-sided as the threshold is judged, with d = (mean − bound) / SD over the seeds
    that are not outliers. None with fewer than two finite values or none that differ (the rule then
    judges the value as it is)."""
    xs = np.array([x * METRICS[metric].scale for x in v.clean.values(metric) if np.isfinite(x)])
    if len(xs) < 2 or len(set(xs.tolist())) == 1:
        return None
    return _needed("one-sample", float(xs.mean() - bound), float(xs.std(ddof=1)), [(v, len(xs))], alternative)


def not_computed(why: str) -> Needed:
    """A :class:`Needed` that gives no number, with the reason (e.g. an equivalence claim)."""
    return Needed("", math.nan, math.nan, why=why)
