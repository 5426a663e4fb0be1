"""A study's results, gathered for reporting: which runs exist, which are missing or stale, the
standard per-run measures (``METRICS``) aggregated over seeds, the seeds that are outliers
(:meth:`VariantResults.outliers`) and the device each timing was measured on. Reads JSON only; no torch."""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace
from typing import Any, Callable

import numpy as np

from reportgen.spec.catalog import Spec
from reportgen.results.stats import Interval, t_interval


@dataclass(frozen=True)
class Metric:
    """How to read one measure from a result dict, and how to show it."""

    label: str
    get: Callable[[dict], float]
    unit: str = ""
    scale: float = 1.0  # display = value × scale (fractions shown as percent)
    digits: int = 2
    higher_is_better: bool = True
    # An epoch number: shown as median (min–max) over seeds, not mean ± t-interval, which for
    # three seeds of a bounded integer reads past its bounds ("8.0 ± 8.6 of 10").
    epoch: bool = False
    # A measured time or rate: it depends on the device and its thread count, so it is shown as
    # median (min–max) per device and compared only between runs on the same one; never a t-interval.
    timing: bool = False
    # The values it can take, in display units: an interval reaching past them is not shown.
    bounds: tuple[float, float] = (-math.inf, math.inf)


def _last(r: dict, k: str) -> float:
    return r["history"][-1][k] if r.get("history") else float("nan")


#: ``epochs_to_97``: the first epoch with validation accuracy ≥ 97 % (NaN when never reached).
TARGET_VAL_ACC = 0.97


def _epochs_to_target(r: dict) -> float:
    hit = [h["epoch"] for h in r["history"] if h["val_acc"] >= TARGET_VAL_ACC]
    return float(hit[0]) if hit else float("nan")


def _grad_norm_ratio(r: dict) -> float:
    """Mean over the recorded epochs of ‖∂L/∂W‖ of the first layer over that of the last layer
    (``grad_norms`` probe); NaN without the probe."""
    rows = r.get("probes", {}).get("grad_norms") or []
    ratios = [list(row["layers"].values()) for row in rows]
    return float(np.mean([g[0] / g[-1] for g in ratios if g[-1] > 0])) if ratios else float("nan")


PERCENT = (0.0, 100.0)
UNIT = (0.0, 1.0)
POSITIVE = (0.0, math.inf)

METRICS: dict[str, Metric] = {
    "test_accuracy": Metric("test accuracy", lambda r: r["test"]["accuracy"], "%", 100, bounds=PERCENT),
    "test_accuracy_best_epoch": Metric("test acc. at best val epoch", lambda r: r["test_best_epoch"]["accuracy"], "%",
                                       100, bounds=PERCENT),
    "macro_f1": Metric("macro F1 (test)", lambda r: r["test"]["macro_f1"], "", 1, 4, bounds=UNIT),
    "roc_auc_ovr": Metric("ROC-AUC (OvR, test)", lambda r: r["test"]["roc_auc_ovr"], "", 1, 5, bounds=UNIT),
    "test_loss": Metric("test loss", lambda r: r["test"]["loss"], "nats", 1, 4, False, bounds=POSITIVE),
    "ece": Metric("ECE (test)", lambda r: r["test"]["ece"], "%", 100, 2, False, bounds=PERCENT),
    "val_loss": Metric("val loss (last epoch)", lambda r: _last(r, "val_loss"), "nats", 1, 4, False, bounds=POSITIVE),
    "epochs_to_97": Metric("epochs to 97 % val accuracy", _epochs_to_target, "", 1, 1, False, epoch=True),
    "grad_norm_ratio": Metric("first/last layer gradient norm", _grad_norm_ratio, "", 1, 3, bounds=POSITIVE),
    "val_acc": Metric("val accuracy (last epoch)", lambda r: _last(r, "val_acc"), "%", 100, bounds=PERCENT),
    "train_acc": Metric("train accuracy (eval mode, last epoch)", lambda r: _last(r, "train_eval_acc"), "%", 100,
                        bounds=PERCENT),
    "generalization_gap": Metric("generalization gap (train − val acc.)",
                                 lambda r: _last(r, "train_eval_acc") - _last(r, "val_acc"), "pp", 100, 2, False,
                                 bounds=(-100.0, 100.0)),
    "best_epoch": Metric("best epoch (min val loss)", lambda r: r["best_epoch"], "", 1, 1, epoch=True),
    "stopped_epoch": Metric("epochs trained", lambda r: r["stopped_epoch"], "", 1, 1, epoch=True),
    # Median over a run's epochs: robust to the odd epoch slowed by another process on the machine.
    "seconds_per_epoch": Metric("s / epoch (median)", lambda r: float(np.median([h["seconds"] for h in r["history"]])),
                                "s", 1, 2, False, timing=True, bounds=POSITIVE),
    "params": Metric("parameters", lambda r: r["params"], "", 1, 0, False, bounds=POSITIVE),
    "flops": Metric("FLOPs per image", lambda r: r["flops"], "", 1, 0, False, bounds=POSITIVE),
    "inference_images_per_s": Metric("inference images / s", lambda r: r["inference_images_per_s"], "", 1, 0,
                                     timing=True, bounds=POSITIVE),
}

#: Chance accuracy of a classifier of MNIST's ten (roughly balanced) classes.
CHANCE_ACCURACY = 0.10
#: A run at or below this accuracy has *collapsed*: twice chance, no better than a constant guess
#: (always answering "1" scores 11.35 % on MNIST's test set).
COLLAPSED_ACCURACY = 2 * CHANCE_ACCURACY
#: A seed lies *far outside* the others when its error rate (1 − accuracy) is more than this many
#: times the median error rate of the variant's other seeds, or less than its inverse ...
OUTLIER_ERROR_RATIO = 3.0
#: ... and its error count on the test set is that far from the others' rate beyond binomial noise:
#: the exact two-sided binomial test (``scipy.stats.binomtest``) of its errors against the others'
#: median rate has p below this. On MNIST's 10,000 test images any 3× ratio passes; on a test set of
#: a few hundred images 2 errors against 6 does not.
OUTLIER_P = 0.001


def collapsed_accuracy(run: dict) -> float:
    """The accuracy at or below which a run has *collapsed*: chance + (1 − chance) / 9 for its number
    of classes K (chance 1/K, the confusion matrix's side): ``COLLAPSED_ACCURACY``, twice chance, at
    K = 10; 0.41 for three classes."""
    k = len((run.get("test") or {}).get("confusion_matrix") or ()) or 10
    return 1 / k + (1 - 1 / k) / 9


def _far_outside(run: dict, accuracy: float, ref: float) -> bool:
    """Error rate ``1 − accuracy`` outside [ref / ratio, ref · ratio] and beyond binomial noise
    (:data:`OUTLIER_P`) on the run's test images (its confusion matrix's total; without one, the ratio alone)."""
    if not ref > 0 or 1 / OUTLIER_ERROR_RATIO <= (1 - accuracy) / ref <= OUTLIER_ERROR_RATIO:
        return False
    n = int(np.sum((run.get("test") or {}).get("confusion_matrix") or 0))
    if n <= 0:
        return True
    from scipy.stats import binomtest

    return binomtest(round((1 - accuracy) * n), n, min(ref, 1.0)).pvalue < OUTLIER_P


def accuracy_of(run: dict) -> float:
    """The accuracy a run's outlier status is judged on: test accuracy, else the last epoch's
    validation accuracy (an lr range test has neither: NaN). A fraction."""
    try:
        if run.get("test"):
            return float(run["test"]["accuracy"])
        return float(run["history"][-1]["val_acc"])
    except (KeyError, IndexError, TypeError):
        return float("nan")


@dataclass(frozen=True)
class Outlier:
    """A seed left out of its variant's mean, interval and tests (see :meth:`VariantResults.outliers`)."""

    seed: int
    accuracy: float  # fraction; NaN when the run has none
    reason: str  # "diverged", "collapsed" or "far outside"
    others: float = math.nan  # "far outside": the median accuracy of the other seeds (fraction)

    def describe(self) -> str:
        """``seed 2 collapsed to 11.35 % (chance level)``, ``seed 1 diverged (...)`` or
        ``seed 0 ended at 61.20 % against 97.50 % for the other seeds (error rate 15× theirs)``."""
        acc = f"{100 * self.accuracy:.2f} %" if math.isfinite(self.accuracy) else "no finite accuracy"
        if self.reason == "diverged":
            return f"seed {self.seed} diverged (non-finite training loss; {acc})"
        if self.reason == "collapsed":
            return f"seed {self.seed} collapsed to {acc} (chance level)"
        ratio = (1 - self.accuracy) / (1 - self.others)
        return (f"seed {self.seed} ended at {acc} against {100 * self.others:.2f} % for the other seeds "
                f"(error rate {ratio:.2g}× theirs)")


def value_of(run: dict, metric: str) -> float:
    """``METRICS[metric]`` of one result, unscaled; NaN when the result lacks the field.
    Raises KeyError for an unknown metric."""
    m = METRICS[metric]
    try:
        return float(m.get(run))
    except (KeyError, TypeError, IndexError):
        return float("nan")


def device_of(run: dict) -> str:
    """The device a run was timed on, as its provenance records it (e.g. ``cpu (x86_64, 2 threads)``)."""
    return str(run.get("provenance", {}).get("device", "unknown device"))


#: What a provenance field holds where it was not recorded.
UNKNOWN = "unknown"


def parse_device(device: str) -> tuple[str, str | None, int | None]:
    """``"cpu (x86_64, AVX2, 2 threads)"`` → ``("cpu", "AVX2", 2)``; the ISA is None where the string
    has none (results recorded before it was), threads None for a GPU (``("<GPU name>", None, None)``)."""
    m = re.match(r"cpu \((?P<inner>.*)\)$", device)
    if not m:
        return device, None, None
    parts = [p.strip() for p in m["inner"].split(",")]
    threads = next((int(p.split()[0]) for p in parts if re.fullmatch(r"\d+ threads?", p)), None)
    isa = next((p for p in parts[1:] if not re.fullmatch(r"\d+ threads?", p)), None)
    return "cpu", isa, threads


def device_words(device: str) -> str:
    """A recorded device as a page writes it: ``cpu (x86_64, AVX2, 1 threads)`` → ``… 1 thread)`` (the
    result keeps what was recorded)."""
    return re.sub(r"\b1 threads\)", "1 thread)", device)


def short_device(device: str) -> str:
    """``cpu (x86_64, AVX512, 1 threads)`` → ``AVX512, 1 thread``; anything else (a GPU's name) as it is."""
    dev, isa, n = parse_device(device)
    if dev != "cpu" or n is None:
        return device
    return (f"{isa}, " if isa else "") + f"{n} thread{'s' if n != 1 else ''}"


@dataclass(frozen=True)
class Spread:
    """Median and range of one timing over the runs of one device (display units)."""

    device: str
    median: float
    low: float
    high: float
    n: int


@dataclass
class VariantResults:
    slug: str
    label: str
    runs: list[dict]  # final results (completed/diverged) with the expected key, by seed
    expected: int  # seeds declared
    missing: list[int] = field(default_factory=list)  # seeds with no usable result (unreadable ones included)
    stale: list[int] = field(default_factory=list)  # seeds whose result has another key
    failed: list[dict] = field(default_factory=list)  # failed/interrupted results
    unreadable: dict[int, str] = field(default_factory=dict)  # seed → why its result file cannot be used

    @property
    def absent(self) -> list[int]:
        """The :attr:`missing` seeds other than the :attr:`unreadable` ones."""
        return [s for s in self.missing if s not in self.unreadable]

    def values(self, metric: str) -> list[float]:
        """One value per run (seed order); a run lacking the field gives NaN."""
        return [value_of(r, metric) for r in self.runs]

    def seeds(self) -> list[int]:
        """The seed of each run (its position when a result names none)."""
        return [int(r.get("seed", i)) for i, r in enumerate(self.runs)]

    def interval(self, metric: str) -> Interval:
        """Mean ± 95 % Student-t half-width over every seed, in display units (outliers included:
        :attr:`clean` leaves them out).

        Raises:
            ValueError: ``metric`` is a timing (use :meth:`spread`: no t-interval on timings).
        """
        m = METRICS[metric]
        if m.timing:
            raise ValueError(f"{metric} is a timing: use VariantResults.spread() (median and range per device), "
                             "not a t-interval")
        vals = [v * m.scale for v in self.values(metric)]
        return t_interval(vals) if vals else Interval(float("nan"), float("nan"), 0, float("nan"), float("nan"))

    def spread(self, metric: str) -> list[Spread]:
        """A timing's median and range over seeds, one entry per device the runs were timed on (most
        runs first): timings from different devices or thread counts are never pooled."""
        m = METRICS[metric]
        groups: dict[str, list[float]] = {}
        for r, x in zip(self.runs, self.values(metric)):
            if np.isfinite(x):
                groups.setdefault(device_of(r), []).append(x * m.scale)
        return [Spread(d, float(np.median(xs)), min(xs), max(xs), len(xs))
                for d, xs in sorted(groups.items(), key=lambda kv: -len(kv[1]))]

    def outliers(self) -> list[Outlier]:
        """The seeds left out of this variant's means, intervals and tests, by one rule:

        * *diverged*: the run's status is ``diverged`` or its accuracy is not finite;
        * *collapsed*: accuracy (:func:`accuracy_of`) at or below :func:`collapsed_accuracy` (twice
          chance for ten classes);
        * *far outside*: with at least two other healthy seeds, an error rate more than
          ``OUTLIER_ERROR_RATIO`` times the median error rate of the others (or less than its inverse),
          by more than binomial noise on its test images (``OUTLIER_P``).

        A median of the others is robust to the outlier itself; the ratio of error rates is scale-free
        (a 3× error rate means as much for a 99 % model as for a 70 % one). A median absolute deviation
        does not work at three seeds: it is the smaller of two distances, zero whenever two seeds tie.
        Across the committed results healthy seeds differ by at most 1.5× in error rate. When no seed
        is healthy (a model broken on purpose, a shuffled-label run) nothing is left out: that is the
        variant's result, and :meth:`note` says so.
        """
        accs = [accuracy_of(r) for r in self.runs]
        bad = [r.get("status") == "diverged" or not np.isfinite(a) or a <= collapsed_accuracy(r)
               for r, a in zip(self.runs, accs)]
        if all(bad):
            return []
        out = []
        for i, (r, a, seed) in enumerate(zip(self.runs, accs, self.seeds())):
            if bad[i]:
                reason = "diverged" if r.get("status") == "diverged" or not np.isfinite(a) else "collapsed"
                out.append(Outlier(seed, a, reason))
                continue
            others = [1 - x for j, x in enumerate(accs) if j != i and not bad[j]]
            ref = float(np.median(others)) if len(others) >= 2 else math.nan
            if _far_outside(r, a, ref):
                out.append(Outlier(seed, a, "far outside", 1 - ref))
        return out

    @property
    def clean(self) -> "VariantResults":
        """This variant without its :meth:`outliers` (the same object when it has none)."""
        gone = {o.seed for o in self.outliers()}
        if not gone:
            return self
        return replace(self, runs=[r for r, s in zip(self.runs, self.seeds()) if s not in gone])

    def note(self) -> str:
        """The flag a page shows for this variant, or "" when every seed is in line:
        "2 of 3 seeds reach 97.67 % (mean); seed 2 collapsed to 11.35 % (chance level): left out of
        its mean, interval and tests", or "every seed diverged or stayed at chance level (...)". An LR range
        test records no accuracy by design: no flag."""
        if self.runs and all(r.get("range_test") for r in self.runs):
            return ""
        accs = [accuracy_of(r) for r in self.runs]
        if self.runs and all(r.get("status") == "diverged" or not np.isfinite(a) or a <= collapsed_accuracy(r)
                             for r, a in zip(self.runs, accs)):
            each = "; ".join(f"seed {s}: {'diverged, ' if r.get('status') == 'diverged' else ''}"
                             + (f"{100 * a:.2f} %" if np.isfinite(a) else "no accuracy")
                             for s, r, a in zip(self.seeds(), self.runs, accs))
            return f"every seed diverged or stayed at chance level ({each})"
        outs = self.outliers()
        if not outs:
            return ""
        kept = [a for a, s in zip(accs, self.seeds()) if s not in {o.seed for o in outs}]
        what = "; ".join(o.describe() for o in outs)
        return (f"{len(kept)} of {len(self.runs)} seeds reach {100 * float(np.mean(kept)):.2f} % (mean); {what}: "
                f"left out of its mean, interval and tests")


@dataclass
class StudyResults:
    spec: Spec
    variants: list[VariantResults]
    reference: str  # slug of the reference variant
    pending: list[str] = field(default_factory=list)  # upstream studies without results (reportgen.results.chain)
    #: The study's controlled timing (:func:`reportgen.results.timing.load`); None when never timed.
    timing: Any = None
    #: Its record of seeds added until decided (:func:`reportgen.results.sequential.load`); None without one.
    sequential: Any = None
    #: Every comparison's verdict, computed once (:func:`reportgen.report.judge.verdicts.judged`); None until asked.
    judged: Any = None

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def runs(self) -> list[dict]:
        return [r for v in self.variants for r in v.runs]

    def variant(self, ref: str) -> VariantResults:
        """By slug or label (``dropout=0.1`` and ``model.dropout=0.1`` both find ``dropout-0.1``).

        Raises:
            KeyError: no such variant; the message lists the variants.
        """
        for v in self.variants:
            if ref in (v.slug, v.label) or ref.rsplit(".", 1)[-1] == v.label:
                return v
        raise KeyError(f"{self.name}: no variant {ref!r}; variants: {', '.join(v.label for v in self.variants)}")

    @property
    def complete(self) -> bool:
        return all(not v.missing and not v.stale for v in self.variants)
