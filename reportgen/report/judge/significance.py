"""The comparisons a study makes and their tests. Reads result JSON only.

One rule picks the test for two variants compared over seeds (:func:`two_sample`): a paired t test
over the seeds both have when the design pairs them (:func:`paired_by_design`: the same seed gives
both the same initial weights and the same data order), Welch's t test otherwise. Seeds that are
outliers (:meth:`reportgen.results.summary.VariantResults.outliers`) are left out, and every sentence says
so. Per image, McNemar's exact test pools the discordant test images over seed pairs. Holm's
correction runs over the study's comparisons, separately for each family.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from reportgen.results.stats import (
    McNemar,
    TTest,
    correct_vector,
    holm,
    one_sample,
    paired_t,
    pooled_mcnemar,
    verdict,
    welch,
)
from reportgen.report.judge.words import plural, seed_list
from reportgen.results.summary import METRICS, StudyResults, VariantResults, value_of
from reportgen.spec.config import Data

ALPHA = 0.05

#: Model fields that add no weights and draw no random numbers while the model is built: variants
#: differing only in these start from the same initial weights under the same seed.
PARAMETER_FREE = ("activation", "dropout")


def paired_by_design(a: dict, b: dict) -> bool:
    """Whether two runs (result dicts) are paired by their seed.

    True when they share the seed, the data (split, training subset, label noise) and the model up
    to :data:`PARAMETER_FREE` fields. Then ``torch.manual_seed(seed)`` gives both the same initial
    weights, and the generator seeded by the seed alone gives both the same order of training images
    in every epoch (``reportgen.run.train``; batch size only cuts that order differently). Optimizer,
    learning rate, batch size, epochs, early stopping and regularization may differ: they act after
    initialization. A different architecture or initialization scheme shares only the data order,
    and those variants are compared unpaired. A result without its ``config`` is never paired; one
    recorded before its config named ``data.dataset`` is on the default data set.
    """
    ca, cb = a.get("config"), b.get("config")
    if not ca or not cb or "seed" not in a or a.get("seed") != b.get("seed"):
        return False

    def weights(model: dict) -> dict:
        return {k: v for k, v in model.items() if k not in PARAMETER_FREE}

    def data(config: dict) -> dict:  # a result recorded before ``data.dataset`` existed was on its default
        return {"dataset": Data.model_fields["dataset"].default, **(config.get("data") or {})}

    return data(ca) == data(cb) and weights(ca.get("model", {})) == weights(cb.get("model", {}))


@dataclass(frozen=True)
class Tested:
    """A t test of variant A against B on one metric, after the outlier and pairing rules."""

    test: TTest  # in display units (pp for accuracies)
    seeds: tuple[int, ...]  # the seeds paired (paired test), else ()
    left_out: tuple[str, ...]  # what was not tested, in words
    why_not: str = ""  # why there is no test (fewer than two seeds left), else ""

    @property
    def how(self) -> str:
        """``paired t test over seeds 0, 1``, ``paired t test over seeds 0–8`` (:func:`seed_list`) or
        ``Welch's t test over 3 + 3 seeds``."""
        t = self.test
        over = f"seeds {seed_list(self.seeds)}" if t.kind == "paired" else f"{t.n[0]} + {t.n[1]} seeds"
        return f"{t.name} over {over}"

    @property
    def note(self) -> str:
        """``; left out: lr-1e-2 seed 2 collapsed to 11.35 % (chance level); baseline seed 2 (its pair
        was left out)`` or ""."""
        return f"; left out: {'; '.join(self.left_out)}" if self.left_out else ""


def _scaled(v: VariantResults, metric: str) -> dict[int, float]:
    m = METRICS[metric]
    return {s: value_of(r, metric) * m.scale for s, r in zip(v.seeds(), v.runs)}


def two_sample(a: VariantResults, b: VariantResults, metric: str, alternative: str = "two-sided",
               confidence: float = 0.95) -> Tested:
    """Variant ``a`` against ``b`` on ``metric`` (display units): outlier seeds of either left out
    (with a paired design, their partners too), then a paired t test over the seeds both have when
    every such pair is :func:`paired_by_design` and there are at least two, else Welch's t test.
    ``alternative`` as in :func:`reportgen.results.stats.welch` (one-sided for a directional claim).

    Raises:
        ValueError: ``metric`` is a timing (timings are not tested: see ``VariantResults.spread``).
    """
    s = samples(a, b, metric)
    if s.paired:
        t = paired_t(s.a, s.b, confidence, alternative)
    else:
        t = welch(s.a, s.b, confidence, alternative)
    return Tested(t, s.seeds, s.left_out, _why_not(t, a.clean, b.clean))


@dataclass(frozen=True)
class Samples:
    """The per-seed values (display units) a test of ``a`` against ``b`` uses: matched by seed when
    ``paired`` (``seeds`` lists them), else two independent samples; ``left_out``: what was not used,
    in words."""

    a: list[float]
    b: list[float]
    paired: bool
    seeds: tuple[int, ...]
    left_out: tuple[str, ...]


def samples(a: VariantResults, b: VariantResults, metric: str) -> Samples:
    """The one rule for which seeds a comparison uses: outlier seeds of either variant left out
    (with a paired design, their partners too), then the seeds both have when every such pair is
    :func:`paired_by_design` and there are at least two, else every remaining seed of each.

    Raises:
        ValueError: ``metric`` is a timing (timings are not tested: see ``VariantResults.spread``).
    """
    if METRICS[metric].timing:
        raise ValueError(f"{metric} is a timing: compared only as median and range per device, not tested")
    left = [f"{v.label} {o.describe()}" for v in (a, b) for o in v.outliers()]
    gone = {o.seed for v in (a, b) for o in v.outliers()}
    ca, cb = a.clean, b.clean
    xa, xb = _scaled(ca, metric), _scaled(cb, metric)
    runs_b = dict(zip(cb.seeds(), cb.runs))
    common = [s for s, r in zip(ca.seeds(), ca.runs) if s in runs_b and paired_by_design(r, runs_b[s])]
    if len(common) >= 2 and len(common) == len(set(xa) & set(xb)):
        pairless: dict[tuple[str, str], list[int]] = {}  # (variant, why) → its seeds without a partner
        for v, xs in ((ca, xa), (cb, xb)):
            for s in xs:
                if s not in common:
                    pairless.setdefault((v.label, "its pair was left out" if s in gone else "no pair"), []).append(s)
        unmatched = [f"{label} {plural('seed', len(ss))} {seed_list(ss)} ({why})" for (label, why), ss in pairless.items()]
        return Samples([xa[s] for s in common], [xb[s] for s in common], True, tuple(common),
                       tuple(left + unmatched))
    return Samples(list(xa.values()), list(xb.values()), False, (), tuple(left))


def _why_not(t: TTest, a: VariantResults, b: VariantResults) -> str:
    """Why a test has no p-value, or "" when it has one."""
    if math.isfinite(t.p):
        return ""
    few = list(dict.fromkeys(v.label for v in (a, b) if len(v.runs) < 2))
    if few:
        return f"fewer than two seeds left in {' and '.join(few)}"
    return "equal on every seed" if t.diff == 0 else "no spread between seeds to test against"


def within(v: VariantResults, metric_a: str, metric_b: str, alternative: str = "two-sided") -> Tested:
    """Two measures of the same runs (e.g. test accuracy of the last and of the best-validation
    epoch): a paired t test over the seeds, outliers left out. Display units of ``metric_a``."""
    c = v.clean
    xa, xb = _scaled(c, metric_a), _scaled(c, metric_b)
    t = paired_t([xa[s] for s in c.seeds()], [xb[s] for s in c.seeds()], alternative=alternative)
    return Tested(t, tuple(c.seeds()), tuple(o.describe() for o in v.outliers()), _why_not(t, c, c))


@dataclass(frozen=True)
class Threshold:
    """A variant's mean against a fixed bound: ``held``, ``contradicted`` or ``inconclusive``."""

    outcome: str
    mean: float  # display units
    edge: float  # the one-sided 95 % confidence bound of the mean on the claimed side
    n: int
    evidence: str


def against(v: VariantResults, metric: str, bound: float, at_least: bool) -> Threshold:
    """The one rule for targets and thresholds: the mean over seeds (outliers left out) meets
    ``bound`` (display units) when its one-sided 95 % lower confidence bound is at or above it
    (``at_least``; upper bound at or below it for an upper limit), i.e. a one-sided one-sample t test
    at ALPHA; it misses when the other one-sided bound lies wholly beyond it; otherwise the seeds
    cannot tell. A value equal on every seed (a parameter count) or a single seed is judged as it is.
    """
    m, c = METRICS[metric], v.clean
    xs = [x * m.scale for x in c.values(metric) if np.isfinite(x)]
    if not xs:
        return Threshold("inconclusive", math.nan, math.nan, 0, f"{v.label}: no finite results")
    mean = float(np.mean(xs))
    sign = 1 if at_least else -1
    if len(set(xs)) == 1 or len(xs) == 1:
        outcome = "held" if sign * (mean - bound) >= 0 else "contradicted"
        how = "the same on every seed" if len(xs) > 1 else "one seed: no interval"
        return Threshold(outcome, mean, mean, len(xs), f"{v.label}: {_num(mean, m)} ({how})")
    claimed = one_sample(xs, bound, "greater" if at_least else "less")
    other = one_sample(xs, bound, "less" if at_least else "greater")
    edge = bound + (claimed.low if at_least else claimed.high)  # the one-sided bound on the claimed side
    far = bound + (other.high if at_least else other.low)
    held = sign * (edge - bound) >= 0
    outcome = "held" if held else "contradicted" if sign * (far - bound) < 0 else "inconclusive"
    side = "lower" if at_least else "upper"
    note = "; ".join(o.describe() for o in v.outliers())
    return Threshold(outcome, mean, edge, len(xs),
                     f"{v.label}: mean {_num(mean, m)} over {len(xs)} seeds, one-sided 95 % {side} bound "
                     f"{_num(edge, m)} against {_num(bound, m)} (one-sided t test, p = {claimed.p:.2g})"
                     + (f"; left out: {note}" if note else ""))


def _num(x: float, m) -> str:
    return (f"{x:,.0f}" if m.digits == 0 else f"{x:.{m.digits}f}") + (f" {m.unit}" if m.unit else "")


@dataclass(frozen=True)
class Comparison:
    """Variant ``a`` against ``b`` on test accuracy (percentage points)."""

    a: VariantResults
    b: VariantResults
    tested: Tested  # a − b over seeds, pp
    mcnemar: McNemar | None  # pooled over seed pairs; None without paired seeds
    pairs: int  # seed pairs in the McNemar test
    p_holm: float  # the t test's p, Holm-adjusted within the study
    mcnemar_holm: float
    #: The study's sequential decision on this pair (:func:`reportgen.report.judge.verdicts.found`), which then
    #: is the verdict everywhere the pair is shown; None without one.
    decided: Any = None

    @property
    def detectable(self) -> bool:
        """Whether the pair is called different: by its sequential decision where it has one, else by the
        Holm-adjusted p < ALPHA."""
        if self.decided is not None:
            return self.decided.decision.verdict in ("a ahead", "b ahead")
        return not self.tested.why_not and self.p_holm < ALPHA

    @property
    def settled(self) -> bool:
        """Whether the pair has a verdict: :attr:`detectable`, or found equivalent by its sequential decision."""
        return self.detectable or (self.decided is not None and self.decided.decision.verdict == "equivalent")

    @property
    def test(self) -> TTest:
        return self.tested.test

    @property
    def at_look(self) -> Any:
        """The look of the sequential design that decided this pair (a ``Found`` with an estimate), or None
        for a pair judged by the test at the seeds the study has."""
        d = self.decided
        return d if d is not None and d.sequential and d.decision.diff is not None else None

    @property
    def estimate(self) -> float:
        """a − b (pp) as the pair's verdict saw it: at the look that decided it (:attr:`at_look`; seeds the
        reference got later, for other pairs, are not in it); else the test at every seed."""
        from reportgen.report.judge.decisions import signed

        return signed(self.at_look, self.a.slug) if self.at_look is not None else self.test.diff

    @property
    def sentence(self) -> str:
        """"A beats B by 0.41 pp (paired t test, 95 % CI 0.22–0.60, p = 0.003)", "no detectable
        difference …" or "A vs B: not testable (…)", from the Holm-adjusted p, with what was left out."""
        t = self.tested.test
        if self.decided is not None:
            return self._decided_sentence() + self._decided_note()
        if self.tested.why_not:
            return f"{self.a.label} vs {self.b.label}: not testable ({self.tested.why_not}){self.tested.note}"
        return verdict(self.a.label, self.b.label, t.diff, t.low, t.high, self.p_holm, alpha=ALPHA,
                       test=t.name) + self.tested.note

    def _decided_note(self) -> str:
        """What the verdict's test left out: the test at the seeds the study has says it (:attr:`Tested.note`);
        a look of the sequential design had its own seeds, so only the outlier seeds, which every test
        leaves out, are named (not the seeds without a partner now)."""
        if not self.decided.sequential:
            return self.tested.note
        left = [f"{v.label} {o.describe()}" for v in (self.a, self.b) for o in v.outliers()]
        return f"; left out: {'; '.join(left)}" if left else ""

    def _decided_sentence(self) -> str:
        from reportgen.report.judge.decisions import sentence

        return sentence(self.decided, self.a.label, self.b.label, self.a.slug, "pp")

    @property
    def per_image(self) -> str:
        """The McNemar result in words: discordant counts and the adjusted p."""
        if self.mcnemar is None:
            return "no paired seeds"
        m = self.mcnemar
        p = "p < 0.001" if self.mcnemar_holm < 0.001 else f"p = {self.mcnemar_holm:.2g}"
        pairs = f"{self.pairs} seed pair{'s' if self.pairs != 1 else ''}"
        return f"{m.b} vs {m.c} images ({pairs}), {p}"


def _correct(run: dict) -> np.ndarray:
    n = int(np.sum(run["test"]["confusion_matrix"]))
    return correct_vector(run["test"]["misclassified"], n)


def pairs_of(sr: StudyResults) -> list[tuple[VariantResults, VariantResults]]:
    """The study's declared comparisons, else every variant with results against the reference."""
    declared = sr.spec.study.comparisons if sr.spec is not None else ()
    if declared:
        return [(sr.variant(a), sr.variant(b)) for a, b in declared]
    ref = sr.variant(sr.reference)
    return [(v, ref) for v in sr.variants if v.runs and v is not ref]


def comparisons(sr: StudyResults) -> list[Comparison]:
    """Every comparison of the study on test accuracy: :func:`two_sample` over seeds and McNemar
    per image (over the seed pairs, outliers left out), Holm-adjusted (Holm 1979) within the study,
    separately for the t tests and the McNemar tests.

    Raises:
        KeyError: a declared comparison names a variant the study lacks.
    """
    raw = []
    for a, b in pairs_of(sr):
        if not (a.runs and b.runs) or not all(r.get("test") for r in a.runs + b.runs):
            continue  # e.g. an lr range test: it has no test predictions to compare
        tested = two_sample(a, b, "test_accuracy")
        by_seed = dict(zip(b.clean.seeds(), b.clean.runs))
        matched = [(_correct(r), _correct(by_seed[s])) for s, r in zip(a.clean.seeds(), a.clean.runs) if s in by_seed]
        raw.append((a, b, tested, pooled_mcnemar(matched) if matched else None, len(matched)))
    tp = holm([t.test.p for _, _, t, _, _ in raw]) if raw else []
    mp = holm([m.p if m else float("nan") for *_, m, _ in raw]) if raw else []
    return [Comparison(a, b, t, m, k, p, q) for (a, b, t, m, k), p, q in zip(raw, tp, mp)]
