"""The comparisons a study makes and their tests: per comparison, Welch's t test over seeds (the
verdict) and McNemar's exact test on per-image correctness pooled over seed pairs, both with Holm's
correction over the study's comparisons. Reads result JSON only.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .stats import McNemar, Welch, correct_vector, holm, pooled_mcnemar, verdict, welch
from .summary import StudyResults, VariantResults

ALPHA = 0.05


@dataclass(frozen=True)
class Comparison:
    """Variant ``a`` against ``b`` on test accuracy (percentage points)."""

    a: VariantResults
    b: VariantResults
    welch: Welch  # a − b over seeds, pp
    mcnemar: McNemar | None  # pooled over seed pairs; None without paired seeds
    pairs: int  # seed pairs in the McNemar test
    p_holm: float  # Welch p, Holm-adjusted within the study
    mcnemar_holm: float

    @property
    def sentence(self) -> str:
        """"A beats B by 0.41 pp (95 % CI 0.22–0.60, p = 0.003)" or "no detectable difference …",
        from the Holm-adjusted Welch p."""
        w = self.welch
        return verdict(self.a.label, self.b.label, w.diff, w.low, w.high, self.p_holm, alpha=ALPHA)

    @property
    def per_image(self) -> str:
        """The McNemar result in words: discordant counts and the adjusted p."""
        if self.mcnemar is None:
            return "no paired seeds"
        m = self.mcnemar
        p = "p < 0.001" if self.mcnemar_holm < 0.001 else f"p = {self.mcnemar_holm:.2g}"
        return f"{m.b} vs {m.c} images ({self.pairs} seed pair{'' if self.pairs == 1 else 's'}), {p}"


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
    """Every comparison of the study with both tests and Holm-adjusted p-values (Holm 1979, within
    the study, separately for the Welch and the McNemar family).

    Raises:
        KeyError: a declared comparison names a variant the study lacks.
    """
    raw = []
    for a, b in pairs_of(sr):
        if not (a.runs and b.runs) or not all(r.get("test") for r in a.runs + b.runs):
            continue  # e.g. an lr range test: it has no test predictions to compare
        w = welch([x * 100 for x in a.values("test_accuracy")], [x * 100 for x in b.values("test_accuracy")])
        by_seed = {r["seed"]: r for r in b.runs}
        matched = [(_correct(r), _correct(by_seed[r["seed"]])) for r in a.runs if r["seed"] in by_seed]
        raw.append((a, b, w, pooled_mcnemar(matched) if matched else None, len(matched)))
    wp = holm([w.p for _, _, w, _, _ in raw]) if raw else []
    mp = holm([m.p if m else float("nan") for *_, m, _ in raw]) if raw else []
    return [Comparison(a, b, w, m, k, p, q) for (a, b, w, m, k), p, q in zip(raw, wp, mp)]
