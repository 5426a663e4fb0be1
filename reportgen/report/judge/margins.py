"""The equivalence margin δ a study's verdicts use: declared by its spec, fixed by its sequential design when
it began, or by default the binomial standard error of the difference of two test accuracies (one epoch
for an epoch count)."""
from __future__ import annotations

import math

import numpy as np

from reportgen.results.summary import METRICS, StudyResults

#: The default margin of an epoch count (epochs to a target, best epoch), in epochs: a run's count is
#: read once per epoch, so one run cannot place its event more finely than one epoch.
EPOCH_MARGIN = 1.0


def default_margin(accuracy: float, n_test: int) -> float:
    """The default equivalence margin for an accuracy, as a fraction: the binomial standard error of
    the difference of two accuracies ``accuracy`` measured on ``n_test`` images each,
    √(2 p (1 − p) / n): two variants closer than that differ by less than one test set can resolve
    (0.0014, i.e. 0.14 pp, at 99 % on MNIST's 10,000 test images)."""
    return math.sqrt(2 * accuracy * (1 - accuracy) / n_test)


def margin_of(sr: StudyResults, metric: str) -> float | None:
    """δ for ``metric`` in display units: the study's declared margin, else for test accuracy the δ its
    sequential design fixed when it began (the one most of its pairs on the metric hold: δ is never
    recomputed from seeds added to decide), else :func:`default_margin` at the reference variant's mean;
    for an epoch count :data:`EPOCH_MARGIN`; None for other metrics."""
    m = METRICS[metric]
    declared = sr.spec.study.margins.get(metric) if sr.spec is not None else None
    if declared is not None:
        return declared * m.scale
    if m.epoch:
        return EPOCH_MARGIN
    if metric != "test_accuracy":
        return None
    fixed = fixed_margin(sr, metric)
    if fixed is not None:
        return fixed
    ref = sr.variant(sr.reference)
    runs = ref.clean.runs
    if not runs:
        return None
    cm = runs[0].get("test", {}).get("confusion_matrix")
    if cm is None or not np.sum(cm):  # no test-set size on record: no default margin
        return None
    acc = float(np.mean([r["test"]["accuracy"] for r in runs]))
    n_test = int(np.sum(cm))
    return default_margin(acc, n_test) * m.scale


def fixed_margin(sr: StudyResults, metric: str) -> float | None:
    """The default δ (display units) the study's sequential record gave its pairs on ``metric`` when the
    design began (pairs whose claim declares its own δ aside); None without a record or such a pair."""
    if sr.sequential is None:
        return None
    own: set[frozenset] = set()  # pairs a claim gives its own δ
    for e in (sr.spec.study.expect if sr.spec is not None else ()):
        other = e.higher_than or e.lower_than or e.equal_to
        if e.metric == metric and e.delta is not None and other:
            try:
                own.add(frozenset((sr.variant(e.variant).slug if e.variant else sr.reference, sr.variant(other).slug)))
            except KeyError:
                continue
    fixed = [x.delta for x in sr.sequential.family
             if x.metric == metric and x.b is not None and x.delta is not None and frozenset((x.a, x.b)) not in own]
    return max(set(fixed), key=fixed.count) if fixed else None
