"""What a headline is, and the small statistics and wordings the headline functions share.

A :class:`Headline` is an analysis's own finding in words: sentences filled with numbers computed from
the results and a verdict, plus a short form for the index. A :class:`Rule` says how an analysis
states it and where it stands in a study's default answer: a finding of its own (``finding``), the
generic test-accuracy sentence (``accuracy``: left out where another headline states test accuracy) or
a pointer to a figure (``pointer``: placed last).
:mod:`reportgen.report.pages.answers` composes the answer from them.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Literal

from reportgen.report.judge.significance import ALPHA, Tested, two_sample
from reportgen.results.summary import METRICS, VariantResults
from reportgen.report.judge.words import seeds
from reportgen.report.analyses.context import Context


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
    """How one analysis states its headline.

    ``fn(ctx, out)`` returns the :class:`Headline` or None when it has nothing to say (no results, a
    diagnostic study's accuracy). ``out`` is the analysis's returned context when ``reads_output``,
    else None. ``role`` orders a study's default answer (one that declares no ``answer``): ``finding``
    in the order of the spec's analyses, ``pointer`` (a pointer to a figure) after them, ``accuracy``
    (the generic test-accuracy sentence) left out where another headline ``covers_accuracy``."""

    fn: Callable[[Context, dict[str, Any] | None], Headline | None]
    role: Literal["finding", "accuracy", "pointer"] = "finding"
    covers_accuracy: bool = False
    reads_output: bool = False


def p_text(p: float) -> str:
    """"p = 0.065", "p < 0.001" or "p = n/a"."""
    return "p = n/a" if not math.isfinite(p) else "p < 0.001" if p < 0.001 else f"p = {p:.2g}"


def tested_clause(t: Tested, a: str, b: str, unit: str = "pp", digits: int = 2) -> str:
    """A tested difference ``a − b`` naming its test and what it left out, e.g. "+0.29 pp (last −
    best-validation epoch; paired t test over seeds 0, 1, 2, 95 % CI -0.04 to 0.62, p = 0.065)"."""
    u = f" {unit}" if unit else ""
    x = t.test
    if t.why_not:
        return f"{x.diff:+.{digits}f}{u} ({a} − {b}; not testable: {t.why_not}{t.note})"
    return (f"{x.diff:+.{digits}f}{u} ({a} − {b}; {t.how}, 95 % CI {x.low:.{digits}f} to {x.high:.{digits}f}, "
            f"{p_text(x.p)}{t.note})")


def detectable(t: Tested) -> bool:
    """Whether a tested difference is detectable at ``ALPHA`` (a zero difference never is)."""
    return not t.why_not and t.test.p < ALPHA and t.test.diff != 0


def tested_verdict(t: Tested) -> str:
    """": a detectable difference", ": no detectable difference", or "" when there is no test."""
    if t.why_not:
        return ""
    return f": {'a detectable' if detectable(t) else 'no detectable'} difference"


def compared(a: VariantResults, b: VariantResults, metric: str) -> tuple[str, Tested]:
    """(clause, test) for variants ``a`` against ``b`` on ``metric`` by the study's one rule
    (:func:`reportgen.report.judge.significance.two_sample`: paired where the design pairs the seeds, else Welch;
    outlier seeds left out), e.g. "−1.27 pp (Welch's t test over 3 + 3 seeds, 95 % CI …, p = 0.004)"."""
    m = METRICS[metric]
    t = two_sample(a, b, metric)
    unit = "pp" if m.unit == "%" else m.unit
    u = f" {unit}" if unit else ""
    x = t.test
    if t.why_not:
        return f"{x.diff:+.{m.digits}f}{u} (not testable: {t.why_not}{t.note})", t
    return (f"{x.diff:+.{m.digits}f}{u} ({t.how}, 95 % CI {x.low:.{m.digits}f} to {x.high:.{m.digits}f}, "
            f"{p_text(x.p)}{t.note})", t)


def judged(sr: Any, a: VariantResults, b: VariantResults, metric: str, picked_from: int = 1) -> tuple[str, str]:
    """(clause, verdict word) for ``a`` against ``b`` on ``metric``: the pair's one verdict where the study's
    family holds it (:func:`reportgen.report.judge.verdicts.found`), else :func:`compared` with the p multiplied by
    ``picked_from`` when the pair was picked after looking (the largest against the smallest, the best
    against the runner-up: Bonferroni over the pairs it was picked from). The word: "detectable",
    "not detectable" or "equivalent"."""
    from reportgen.report.judge.decisions import detail
    from reportgen.report.judge.verdicts import found

    one = found(sr, metric, a.slug, b.slug)
    if one is not None:
        unit = "pp" if METRICS[metric].unit == "%" else METRICS[metric].unit
        word = {"a ahead": "detectable", "b ahead": "detectable", "equivalent": "equivalent"}.get(
            one.decision.verdict, "not detectable")
        return detail(one, a.label, b.label, a.slug, unit, named=False), word
    clause, t = compared(a, b, metric)
    if t.why_not or picked_from <= 1:
        return clause, "detectable" if detectable(t) else "not detectable"
    p = min(1.0, t.test.p * picked_from)
    clause = clause[:-1] + f"; × {picked_from} for picking this pair after looking (Bonferroni): {p_text(p)})"
    return clause, "detectable" if p < ALPHA and t.test.diff != 0 else "not detectable"


def accuracy(v: VariantResults, metric: str = "test_accuracy") -> str:
    """A variant's accuracy in words: "97.60 ± 0.44 % (n = 3)", or with outlier seeds
    (:meth:`VariantResults.outliers`) "2 of 3 seeds reach 97.73 and 97.60 %; seed 2 collapsed to
    11.35 % (chance level)": never a mean over an outlier."""
    m = METRICS[metric]
    outs = v.outliers()
    if outs:
        good = [x * m.scale for x in v.clean.values(metric)]
        return (f"{len(good)} of {len(v.runs)} seeds reach {seeds(good, m.digits, ' and ')} %; "
                + "; ".join(o.describe() for o in outs))
    iv = v.interval(metric)
    half = f" ± {iv.half_width:.{m.digits}f}" if iv.n > 1 and math.isfinite(iv.half_width) else ""
    return f"{iv.mean:.{m.digits}f}{half} % (n = {iv.n})"


def mean_of(v: VariantResults, metric: str) -> float:
    """Mean over the seeds that are not outliers, in display units (NaN without runs)."""
    c = v.clean
    return c.interval(metric).mean if c.runs else math.nan


def with_runs(ctx: Context) -> list[VariantResults]:
    return [v for v in ctx.sr.variants if v.runs]
