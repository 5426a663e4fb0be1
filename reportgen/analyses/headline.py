"""What a headline is, and the small statistics and wordings the headline functions share.

A :class:`Headline` is an analysis's own finding in words: sentences filled with numbers computed from
the results and a verdict, plus a short form for the index. A :class:`Rule` says when a study's answer
uses it: where its topic appears in the study's question (``topics``, a regular expression: a headline
whose topic the question does not mention is left out), and whether it is a finding of its own
(``specific``), the generic test-accuracy sentence (``accuracy``: left out where another headline states
test accuracy) or a pointer to a figure (``pointer``: placed last).
:mod:`reportgen.answers` composes the answer from them.
"""
from __future__ import annotations

import math
import re
import warnings
from collections import Counter
from dataclasses import dataclass
from typing import Any, Callable, Literal, Sequence

import numpy as np
from scipy import stats as st

from ..stats import welch
from ..summary import METRICS, VariantResults
from ..words import count, seeds
from .context import Context

ALPHA = 0.05
#: Accuracy of guessing among MNIST's ten classes.
CHANCE = 0.10


@dataclass(frozen=True)
class Headline:
    """An analysis's finding: ``sentences`` (Markdown; the first states the quantity the analysis
    measures, its number and a verdict) and ``short`` (one line for an index table cell)."""

    sentences: tuple[str, ...]
    short: str

    @property
    def text(self) -> str:
        return " ".join(self.sentences)


@dataclass(frozen=True)
class Rule:
    """When and how a study's answer uses one analysis's headline.

    ``fn(ctx, out)`` returns the :class:`Headline` or None when it has nothing to say (no results, a
    diagnostic study's accuracy). ``out`` is the analysis's returned context when ``reads_output``
    (the answer composer runs the analysis if the caller has not), else None. ``topics``: a regular
    expression searched in the lowercased question; its first match orders the headline, and a
    headline without a match is left out (unless none matches). ``covers_accuracy``: the headline
    states test accuracy itself, so the generic ``accuracy`` sentence is not repeated beside it."""

    fn: Callable[[Context, dict[str, Any] | None], Headline | None]
    topics: str
    role: Literal["specific", "accuracy", "pointer"] = "specific"
    covers_accuracy: bool = False
    reads_output: bool = False


@dataclass(frozen=True)
class Paired:
    """Paired t test of a − b over matched seeds, in the unit of the inputs."""

    diff: float
    low: float
    high: float
    p: float
    n: int


def paired_t(a: Sequence[float], b: Sequence[float], confidence: float = 0.95) -> Paired:
    """Student's paired t test (``scipy.stats.ttest_rel``) of per-seed values ``a`` against ``b``
    measured on the same runs (same seed, one value each): mean difference a − b, its t confidence
    interval and the two-sided p. n < 2 gives NaN interval and p; differences that are all equal give
    that difference with a zero-width interval and p = 1 when they are 0 (identical), 0 otherwise.

    Raises:
        ValueError: a and b differ in length.
    Source: Student (1908); scipy.stats.ttest_rel and its ``confidence_interval``.
    """
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if x.shape != y.shape:
        raise ValueError(f"paired values differ in length: {x.size} against {y.size}")
    d = x - y
    n = int(d.size)
    diff = float(d.mean()) if n else math.nan
    if n < 2 or not np.isfinite(d).all():
        return Paired(diff, math.nan, math.nan, math.nan, n)
    if np.ptp(d) == 0:
        return Paired(diff, diff, diff, 1.0 if diff == 0 else 0.0, n)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        res = st.ttest_rel(x, y)
        ci = res.confidence_interval(confidence_level=confidence)
    return Paired(diff, float(ci.low), float(ci.high), float(res.pvalue), n)


def p_text(p: float) -> str:
    """"p = 0.065", "p < 0.001" or "p = n/a"."""
    return "p = n/a" if not math.isfinite(p) else "p < 0.001" if p < 0.001 else f"p = {p:.2g}"


def paired_clause(t: Paired, a: str, b: str, unit: str = "pp", digits: int = 2) -> str:
    """The difference ``a − b`` with the test that measured it, e.g. "+0.29 pp (last − best-validation
    epoch; paired t test over 3 seeds, 95 % CI -0.04 to 0.62, p = 0.065)"."""
    u = f" {unit}" if unit else ""
    if t.n < 2 or not math.isfinite(t.low):
        return f"{t.diff:+.{digits}f}{u} ({a} − {b}; {count(t.n, 'seed')}: no test)"
    if t.low == t.high:
        return f"{t.diff:+.{digits}f}{u} on every seed ({a} − {b})"
    return (f"{t.diff:+.{digits}f}{u} ({a} − {b}; paired t test over {count(t.n, 'seed')}, 95 % CI "
            f"{t.low:.{digits}f} to {t.high:.{digits}f}, {p_text(t.p)})")


def detectable(t: Paired) -> bool:
    """Whether a paired difference is detectable at ``ALPHA`` (a zero difference never is)."""
    return t.p < ALPHA and t.diff != 0


def paired_verdict(t: Paired) -> str:
    """": a detectable difference", ": no detectable difference", or "" when there is no test."""
    if not math.isfinite(t.p):
        return ""
    return f": {'a detectable' if detectable(t) else 'no detectable'} difference"


def welch_words(a: VariantResults, b: VariantResults, metric: str) -> tuple[str, float]:
    """(clause, p) comparing variants ``a`` and ``b`` on ``metric`` with Welch's t test over seeds,
    e.g. "−1.27 pp (Welch's t test over seeds, 95 % CI −1.9 to −0.6, p = 0.004)"."""
    m = METRICS[metric]
    w = welch([x * m.scale for x in a.values(metric)], [x * m.scale for x in b.values(metric)])
    unit = "pp" if m.unit == "%" else m.unit
    u = f" {unit}" if unit else ""
    if not math.isfinite(w.low):
        return f"{w.diff:+.{m.digits}f}{u} (too few seeds for a test)", math.nan
    return (f"{w.diff:+.{m.digits}f}{u} (Welch's t test over seeds, 95 % CI {w.low:.{m.digits}f} to "
            f"{w.high:.{m.digits}f}, {p_text(w.p)})", w.p)


def collapsed(v: VariantResults) -> list[tuple[int, float]]:
    """Seeds of ``v`` that collapsed: (seed, test accuracy in %) for every run that ended ``diverged``
    or whose test accuracy is within 10 pp of chance (≤ 20 %) while another seed of the variant
    reached at least 50 %. Empty when all seeds behave alike (e.g. a model broken on purpose)."""
    acc = v.values("test_accuracy")
    if not any(a >= 0.5 for a in acc if math.isfinite(a)):
        return []
    return [(r["seed"], a * 100) for r, a in zip(v.runs, acc)
            if r.get("status") == "diverged" or not math.isfinite(a) or a <= 2 * CHANCE]


def accuracy(v: VariantResults, metric: str = "test_accuracy") -> str:
    """A variant's accuracy in words: "97.60 ± 0.44 % (n = 3)", or with a collapsed seed "2 of 3 seeds
    reach 97.73 and 97.60 %; seed 2 collapsed to 11.35 %" (never a mean over the collapsed seed)."""
    m = METRICS[metric]
    bad = collapsed(v) if metric == "test_accuracy" else []
    if bad:
        gone = {s for s, _ in bad}
        good = [a * m.scale for r, a in zip(v.runs, v.values(metric)) if r["seed"] not in gone]
        lost = "; ".join(f"seed {s} collapsed to {a:.{m.digits}f} %" for s, a in bad)
        return f"{len(good)} of {count(len(v.runs), 'seed')} reach {seeds(good, m.digits, ' and ')} %; {lost}"
    iv = v.interval(metric)
    half = f" ± {iv.half_width:.{m.digits}f}" if iv.n > 1 and math.isfinite(iv.half_width) else ""
    return f"{iv.mean:.{m.digits}f}{half} % (n = {iv.n})"


def mean_of(v: VariantResults, metric: str) -> float:
    """Mean over the seeds that did not collapse (:func:`collapsed`), in display units."""
    gone = {s for s, _ in collapsed(v)}
    m = METRICS[metric]
    vals = [x * m.scale for r, x in zip(v.runs, v.values(metric)) if r["seed"] not in gone]
    return float(np.mean(vals)) if vals else math.nan


def device(run: dict) -> str:
    """Where a run's timings were measured: the provenance's device, which names the thread count
    (e.g. "cpu (x86_64, 2 threads)"; "1 threads" is given as "1 thread")."""
    return re.sub(r"\b1 threads\b", "1 thread", run.get("provenance", {}).get("device", "unknown device"))


def timing_device(vs: Sequence[VariantResults]) -> tuple[str, int, int]:
    """(the device most of ``vs``' runs were timed on, runs on it, runs in all): timings are compared
    only between runs of one device and thread count."""
    devs = Counter(device(r) for v in vs for r in v.runs)
    if not devs:
        return "", 0, 0
    name, n = devs.most_common(1)[0]
    return name, n, sum(devs.values())


def seconds(v: VariantResults, on: str, key: str = "seconds_per_epoch") -> list[float]:
    """Per-run values of ``key`` (a METRICS name) for the runs of ``v`` timed on device ``on``."""
    return [x for r, x in zip(v.runs, v.values(key)) if device(r) == on and math.isfinite(x)]


def median_range(xs: Sequence[float], digits: int = 1, unit: str = "s") -> str:
    """"2.3 s (2.1–2.3)": median and range over runs, no t-interval (timings are not normal)."""
    if not xs:
        return "—"
    lo, mid, hi = min(xs), float(np.median(xs)), max(xs)
    u = f" {unit}" if unit else ""
    return f"{mid:.{digits}f}{u}" if len(xs) == 1 or f"{lo:.{digits}f}" == f"{hi:.{digits}f}" \
        else f"{mid:.{digits}f}{u} ({lo:.{digits}f}–{hi:.{digits}f})"


def with_runs(ctx: Context) -> list[VariantResults]:
    return [v for v in ctx.sr.variants if v.runs]
