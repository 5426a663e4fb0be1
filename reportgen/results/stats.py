"""Statistics for comparing runs across seeds: intervals, paired tests, multiplicity.

Plain numbers / numpy arrays only (no torch), so results read back from JSON can be
compared without loading a model. scipy.stats does the distributional work; only Holm's
step-down is hand-written because scipy has none.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats as _st

@dataclass(frozen=True)
class Interval:
    mean: float
    half_width: float
    n: int
    low: float
    high: float


@dataclass(frozen=True)
class McNemar:
    b: int  # A right, B wrong
    c: int  # A wrong, B right
    p: float


@dataclass(frozen=True)
class TTest:
    """A two-sample t test of A against B, in the unit of the values.

    diff: mean(a) − mean(b) (Welch) or mean(a − b) (paired); low/high: its confidence interval,
    one bound infinite for a one-sided test; t, df, p for ``alternative`` ("two-sided", "greater":
    H1 diff > 0, "less": H1 diff < 0); kind: "Welch", "paired" or "one-sample" (B is then a fixed
    bound); n: values in A and in B (paired: the pairs, twice; one-sample: (n, 0)).
    """

    diff: float
    low: float
    high: float
    t: float
    df: float
    p: float
    kind: str = "Welch"
    alternative: str = "two-sided"
    n: tuple[int, int] = (0, 0)

    @property
    def name(self) -> str:
        """The test in words: "Welch's t test", "one-sided paired t test", ..."""
        side = "one-sided " if self.alternative != "two-sided" else ""
        return side + {"paired": "paired t test", "one-sample": "one-sample t test"}.get(self.kind, "Welch's t test")


ALTERNATIVES = ("two-sided", "greater", "less")


@dataclass(frozen=True)
class Bootstrap:
    diff: float
    low: float
    high: float
    method: str  # "BCa", "percentile", "degenerate" (all diffs equal) or "none" (n < 2)


def _vector(values, name: str) -> np.ndarray:
    # Materialise generators: np.asarray would wrap one as a 0-d object array.
    arr = np.asarray(values if isinstance(values, (np.ndarray, list, tuple)) else list(values), dtype=float)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {arr.shape}")
    return arr


def t_interval(values: Iterable[float], confidence: float = 0.95) -> Interval:
    """Student-t confidence interval for the mean of per-seed values.

    values: 1-D float sequence, one metric per seed (e.g. accuracy in [0, 1]); the result is
    in the same unit. half_width = t_{(1+c)/2, n-1} * s / sqrt(n), s = sample std (ddof=1).
    n == 1 gives half_width = low = high = nan (no spread estimate), not an error. Any
    non-finite value makes everything nan, so one diverged seed shows as "nan" in a report
    instead of aborting it.
    Raises ValueError for an empty or non-1-D input, or confidence outside (0, 1).
    Source: Student (1908) "The probable error of a mean"; scipy.stats.t.ppf docs.
    """
    x = _vector(values, "values")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    if (n := int(x.size)) == 0:
        raise ValueError("t_interval needs at least one value, got none")
    if not np.all(np.isfinite(x)):
        return Interval(math.nan, math.nan, n, math.nan, math.nan)
    mean = float(np.mean(x))
    if n == 1:
        return Interval(mean, math.nan, 1, math.nan, math.nan)
    half = float(_st.t.ppf((1.0 + confidence) / 2.0, n - 1) * np.std(x, ddof=1) / math.sqrt(n))
    return Interval(mean, half, n, mean - half, mean + half)


def _bool_vector(x, name: str) -> np.ndarray:
    arr = np.asarray(x)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {arr.shape}")
    # Accept 0/1 ints (common after JSON round trips) but not arbitrary numbers,
    # which would silently mean "correct" for any non-zero value.
    if arr.dtype != bool and (arr.size and not np.isin(arr, (0, 1)).all()):
        raise ValueError(f"{name} must be boolean (or 0/1), got dtype {arr.dtype}")
    return arr.astype(bool)


def _discordant(a_correct, b_correct) -> tuple[int, int]:
    a = _bool_vector(a_correct, "a_correct")
    b = _bool_vector(b_correct, "b_correct")
    if a.size != b.size:
        raise ValueError(f"paired arrays differ in length: a_correct has {a.size}, b_correct has {b.size}")
    return int(np.sum(a & ~b)), int(np.sum(~a & b))


def _exact(b: int, c: int) -> McNemar:
    # No discordant pairs means no evidence either way; binomtest rejects n == 0.
    p = 1.0 if b + c == 0 else float(_st.binomtest(b, b + c, 0.5).pvalue)
    return McNemar(b, c, p)


def mcnemar_exact(a_correct, b_correct) -> McNemar:
    """Exact (binomial) McNemar test on paired per-image correctness of two classifiers.

    a_correct, b_correct: 1-D bool arrays (0/1 ints accepted) of equal length, one entry
    per test image (e.g. 10 000 for MNIST). b = #(A right, B wrong), c = #(A wrong, B right);
    p is the two-sided exact binomial p of b out of b + c at 0.5; p = 1.0 when b + c == 0.
    Raises ValueError when the lengths differ (message names both) or values are not boolean.
    Source: McNemar (1947), Psychometrika 12:153-157; Dietterich (1998) "Approximate statistical
    tests for comparing supervised classification learning algorithms"; scipy.stats.binomtest.
    """
    return _exact(*_discordant(a_correct, b_correct))


def pooled_mcnemar(pairs: Iterable[tuple[Sequence[bool], Sequence[bool]]]) -> McNemar:
    """Exact McNemar test on discordant counts summed over several seed pairs.

    pairs: iterable of (a_correct, b_correct) bool arrays as for mcnemar_exact; an empty
    iterable gives b = c = 0, p = 1.0. Pooling treats every (image, seed pair) as independent,
    which overstates the evidence when seeds are correlated: a screen, not a seed-level test.
    Raises ValueError as mcnemar_exact. Source: as mcnemar_exact.
    """
    counts = [_discordant(a_correct, b_correct) for a_correct, b_correct in pairs]
    return _exact(sum(b for b, _ in counts), sum(c for _, c in counts))


def _alternative(alternative: str) -> str:
    if alternative not in ALTERNATIVES:
        raise ValueError(f"alternative must be one of {', '.join(ALTERNATIVES)}, got {alternative!r}")
    return alternative


def welch(a: Iterable[float], b: Iterable[float], confidence: float = 0.95,
          alternative: str = "two-sided") -> TTest:
    """Welch's unequal-variance t test on two samples of per-seed values.

    a, b: 1-D float sequences (same unit; the result is in that unit). diff = mean(a) - mean(b);
    low/high is the confidence interval of diff with Welch–Satterthwaite df (one-sided for a
    one-sided ``alternative``: "greater" gives (low, inf), "less" (-inf, high)); t, df, p.
    With fewer than 2 values in either group the variance is undefined: t, df, p, low, high
    are nan (diff still reported when both groups are non-empty), not an error.
    Raises ValueError for non-1-D input or an unknown alternative. Source: Welch (1947)
    Biometrika 34:28-35; Satterthwaite (1946); scipy.stats.ttest_ind(equal_var=False) and its
    confidence_interval().
    """
    x, y = _vector(a, "a"), _vector(b, "b")
    alt = _alternative(alternative)
    diff = float(np.mean(x) - np.mean(y)) if x.size and y.size else math.nan
    if x.size < 2 or y.size < 2:
        return TTest(diff, math.nan, math.nan, math.nan, math.nan, math.nan, "Welch", alt, (x.size, y.size))
    with warnings.catch_warnings():
        # Identical per-seed values (e.g. parameter counts) make scipy warn about precision; the
        # result (NaN or a degenerate interval) is what we report, so the warning is noise.
        warnings.simplefilter("ignore", RuntimeWarning)
        res = _st.ttest_ind(x, y, equal_var=False, alternative=alt)
        ci = res.confidence_interval(confidence_level=confidence)
    return TTest(diff, float(ci.low), float(ci.high), float(res.statistic), float(res.df), float(res.pvalue),
                 "Welch", alt, (x.size, y.size))


def paired_t(a: Iterable[float], b: Iterable[float], confidence: float = 0.95,
             alternative: str = "two-sided") -> TTest:
    """Paired t test on per-seed values matched by position (a[i] and b[i] share seed i).

    a, b: 1-D float sequences of equal length n (same unit; the result is in it). diff = mean(a - b);
    low/high its confidence interval with n - 1 df (one-sided for a one-sided ``alternative``);
    t, df, p. Fewer than 2 pairs: everything but diff is nan. All differences equal: scipy's
    result as it comes (t = ±inf and p = 0 for a non-zero constant, nan for zero).
    Raises ValueError for non-1-D input, a length mismatch or an unknown alternative.
    Source: Student (1908); scipy.stats.ttest_rel and its confidence_interval().
    """
    x, y = _vector(a, "a"), _vector(b, "b")
    alt = _alternative(alternative)
    if x.size != y.size:
        raise ValueError(f"paired samples differ in length: a has {x.size}, b has {y.size}")
    diff = float(np.mean(x - y)) if x.size else math.nan
    if x.size < 2:
        return TTest(diff, math.nan, math.nan, math.nan, math.nan, math.nan, "paired", alt, (x.size, y.size))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        res = _st.ttest_rel(x, y, alternative=alt)
        ci = res.confidence_interval(confidence_level=confidence)
    return TTest(diff, float(ci.low), float(ci.high), float(res.statistic), float(res.df), float(res.pvalue),
                 "paired", alt, (x.size, y.size))


def one_sample(values: Iterable[float], bound: float, alternative: str, confidence: float = 0.95) -> TTest:
    """One-sample t test of mean(values) against ``bound`` (same unit): diff = mean − bound, its
    confidence interval (one-sided for a one-sided alternative), t, df, p; kind "one-sample".
    Fewer than 2 values: everything but diff is nan. Raises ValueError for non-1-D input or an
    unknown alternative. Source: Student (1908); scipy.stats.ttest_1samp.
    """
    x = _vector(values, "values")
    alt = _alternative(alternative)
    diff = float(np.mean(x) - bound) if x.size else math.nan
    if x.size < 2:
        return TTest(diff, math.nan, math.nan, math.nan, math.nan, math.nan, "one-sample", alt, (x.size, 0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        res = _st.ttest_1samp(x - bound, 0.0, alternative=alt)
        ci = res.confidence_interval(confidence_level=confidence)
    return TTest(diff, float(ci.low), float(ci.high), float(res.statistic), float(res.df), float(res.pvalue),
                 "one-sample", alt, (x.size, 0))


def paired_bootstrap(a: Iterable[float], b: Iterable[float], n_resamples: int = 10000,
                     confidence: float = 0.95, seed: int = 0) -> Bootstrap:
    """Bootstrap confidence interval of mean(a - b) for paired samples (e.g. same seeds).

    a, b: 1-D float sequences of equal length n; the result is in their unit.
    Method: BCa when n >= 10, else percentile: BCa's acceleration is a jackknife over n
    points, erratic for the 3-5 seeds typical here, while percentile stays well defined
    (though too narrow for tiny n; prefer welch() there). All-equal differences collapse
    the interval to that value ("degenerate"; scipy's BCa would give nan). n == 1 or a
    non-finite value gives low = high = nan ("none"). Deterministic for a given seed.
    Raises ValueError for empty input or a length mismatch.
    Source: Efron & Tibshirani (1993) "An Introduction to the Bootstrap", ch. 13-14;
    Efron (1987) "Better bootstrap confidence intervals"; scipy.stats.bootstrap docs.
    """
    x, y = _vector(a, "a"), _vector(b, "b")
    if x.size != y.size:
        raise ValueError(f"paired samples differ in length: a has {x.size}, b has {y.size}")
    if x.size == 0:
        raise ValueError("paired_bootstrap needs at least one pair, got none")
    d = x - y
    diff = float(np.mean(d))
    if x.size == 1 or not np.all(np.isfinite(d)):
        return Bootstrap(diff, math.nan, math.nan, "none")
    if np.ptp(d) == 0:
        return Bootstrap(diff, diff, diff, "degenerate")
    method = "BCa" if x.size >= 10 else "percentile"
    mean_diff = lambda u, v, axis=-1: np.mean(u - v, axis=axis)  # noqa: E731 (vectorised over resamples)
    res = _st.bootstrap((x, y), mean_diff, n_resamples=n_resamples, paired=True, vectorized=True,
                        confidence_level=confidence, method=method, rng=np.random.default_rng(seed))
    return Bootstrap(diff, float(res.confidence_interval.low), float(res.confidence_interval.high), method)


def holm(pvalues: Iterable[float]) -> list[float]:
    """Holm–Bonferroni step-down adjusted p-values, in the input order.

    pvalues: sequence of floats in [0, 1]. With the m finite p-values sorted ascending,
    adj_(i) = max_{j <= i} min(1, (m - j + 1) * p_(j)); nan entries stay nan and do not
    count towards m. Rejecting where adj <= alpha controls the family-wise error rate.
    Raises ValueError for a p-value outside [0, 1] or non-1-D input.
    Source: Holm (1979) "A simple sequentially rejective multiple test procedure", SJS 6:65-70.
    """
    p = _vector(pvalues, "pvalues")
    out = np.full(p.shape, math.nan)
    ok = np.flatnonzero(~np.isnan(p))
    if np.any((p[ok] < 0) | (p[ok] > 1)):
        raise ValueError(f"p-values must lie in [0, 1], got {p[ok].tolist()}")
    order = ok[np.argsort(p[ok], kind="stable")]
    # Running max makes the adjusted values monotone in the sorted p (step-down rule).
    scaled = p[order] * (order.size - np.arange(order.size))
    out[order] = np.minimum(np.maximum.accumulate(scaled), 1.0)
    return out.tolist()


def correct_vector(misclassified: Iterable[int], n: int) -> np.ndarray:
    """Per-image correctness from a list of misclassified test indices.

    misclassified: integer indices into the test set (result JSON ``test.misclassified``);
    n: test-set size (10 000 for MNIST). Returns a bool array of length n, True where the
    index is not listed. Duplicates are harmless. Source: definition (inverse of that list).
    Raises ValueError for negative n, a non-integer index, or an index outside [0, n).
    """
    if n < 0:
        raise ValueError(f"n must be non-negative, got {n}")
    idx = np.asarray(list(misclassified))
    if idx.size and not np.issubdtype(idx.dtype, np.integer):
        raise ValueError(f"misclassified must hold integer indices, got dtype {idx.dtype}")
    bad = idx[(idx < 0) | (idx >= n)]
    if bad.size:
        raise ValueError(f"misclassified index {int(bad[0])} out of range for n={n}")
    out = np.ones(n, dtype=bool)
    out[idx.astype(np.intp)] = False
    return out


def _fmt_p(p: float) -> str:
    if math.isnan(p):
        return "p = n/a"
    return "p < 0.001" if p < 0.001 else f"p = {p:.2g}"


def verdict(a_name: str, b_name: str, diff: float, low: float, high: float, p: float,
            alpha: float = 0.05, unit: str = "pp", *, confidence: float = 0.95, test: str = "") -> str:
    """One-line human verdict for a two-way comparison.

    diff, low, high: difference A - B and its CI, already in the display unit (e.g. pp);
    p: the test's p-value; test: the test's name, shown before the p-value when given
    ("paired t test"). When p < alpha the winner is named with a positive margin
    ("B beats A by ..." with the CI negated and swapped when diff < 0); otherwise
    "no detectable difference between A and B (p = ...)". p is shown to 2 significant
    digits, or "p < 0.001"; confidence only labels the CI. Raises nothing.
    Source: presentation convention (APA style for p-value reporting).
    """
    named = f"{test}, " if test else ""
    if not (p < alpha) or diff == 0 or math.isnan(diff):
        return f"no detectable difference between {a_name} and {b_name} ({named}{_fmt_p(p)})"
    if diff < 0:
        a_name, b_name, diff, low, high = b_name, a_name, -diff, -high, -low
    u = f" {unit}" if unit else ""
    level = f"{confidence * 100:.3g} %"
    return f"{a_name} beats {b_name} by {diff:.2f}{u} ({named}{level} CI {low:.2f}–{high:.2f}, {_fmt_p(p)})"
