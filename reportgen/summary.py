"""A study's results, gathered for reporting: which runs exist, which are missing or stale, and
the standard per-run measures (``METRICS``) aggregated over seeds. Reads JSON only; no torch."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from . import store
from .catalog import Spec
from .expand import expand, variants
from .stats import Interval, t_interval


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


METRICS: dict[str, Metric] = {
    "test_accuracy": Metric("test accuracy", lambda r: r["test"]["accuracy"], "%", 100),
    "test_accuracy_best_epoch": Metric("test acc. at best val epoch", lambda r: r["test_best_epoch"]["accuracy"], "%", 100),
    "macro_f1": Metric("macro F1", lambda r: r["test"]["macro_f1"], "", 1, 4),
    "roc_auc_ovr": Metric("ROC-AUC (OvR)", lambda r: r["test"]["roc_auc_ovr"], "", 1, 5),
    "test_loss": Metric("test loss", lambda r: r["test"]["loss"], "nats", 1, 4, False),
    "ece": Metric("ECE", lambda r: r["test"]["ece"], "%", 100, 2, False),
    "val_loss": Metric("val loss (last epoch)", lambda r: _last(r, "val_loss"), "nats", 1, 4, False),
    "epochs_to_97": Metric("epochs to 97 % val accuracy", _epochs_to_target, "", 1, 1, False, epoch=True),
    "grad_norm_ratio": Metric("first/last layer gradient norm", _grad_norm_ratio, "", 1, 3),
    "val_acc": Metric("val accuracy (last epoch)", lambda r: _last(r, "val_acc"), "%", 100),
    "train_acc": Metric("train accuracy (eval mode, last epoch)", lambda r: _last(r, "train_eval_acc"), "%", 100),
    "generalization_gap": Metric("generalization gap (train − val acc.)",
                                 lambda r: _last(r, "train_eval_acc") - _last(r, "val_acc"), "pp", 100, 2, False),
    "best_epoch": Metric("best epoch (min val loss)", lambda r: r["best_epoch"], "", 1, 1, epoch=True),
    "stopped_epoch": Metric("epochs trained", lambda r: r["stopped_epoch"], "", 1, 1, epoch=True),
    # Median over a run's epochs: robust to the odd epoch slowed by another process on the machine.
    "seconds_per_epoch": Metric("s / epoch (median)", lambda r: float(np.median([h["seconds"] for h in r["history"]])), "s", 1, 2, False),
    "params": Metric("parameters", lambda r: r["params"], "", 1, 0, False),
    "flops": Metric("FLOPs per image", lambda r: r["flops"], "", 1, 0, False),
    "inference_images_per_s": Metric("inference images / s", lambda r: r["inference_images_per_s"], "", 1, 0),
}


@dataclass
class VariantResults:
    slug: str
    label: str
    runs: list[dict]  # final results (completed/diverged) with the expected key, by seed
    expected: int  # seeds declared
    missing: list[int] = field(default_factory=list)  # seeds with no usable result
    stale: list[int] = field(default_factory=list)  # seeds whose result has another key
    failed: list[dict] = field(default_factory=list)  # failed/interrupted results

    def values(self, metric: str) -> list[float]:
        """One value per run (seed order); a run lacking the field gives NaN."""
        out = []
        for r in self.runs:
            try:
                out.append(float(METRICS[metric].get(r)))
            except (KeyError, TypeError, IndexError):
                out.append(float("nan"))
        return out

    def interval(self, metric: str) -> Interval:
        """Mean ± 95 % Student-t half-width over seeds, in display units."""
        m = METRICS[metric]
        vals = [v * m.scale for v in self.values(metric)]
        return t_interval(vals) if vals else Interval(float("nan"), float("nan"), 0, float("nan"), float("nan"))


@dataclass
class StudyResults:
    spec: Spec
    variants: list[VariantResults]
    reference: str  # slug of the reference variant
    pending: list[str] = field(default_factory=list)  # upstream studies without results (reportgen.chain)

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


def collect(spec: Spec, results: Path, smoke: bool = False) -> StudyResults:
    """Read a study's result files, matching each against the key its spec expects now. A chained
    study is first resolved from its upstream results (:func:`reportgen.chain.resolve`); while those
    are missing it has no variants and ``pending`` names them."""
    from .chain import Pending, resolve

    try:
        spec = resolve(spec, results, smoke)
    except Pending as waiting:
        return StudyResults(spec, [], "", pending=waiting.studies)
    runs = expand(spec.study, spec.name, str(spec.path), smoke=smoke)
    by_variant: dict[str, VariantResults] = {}
    for slug, label, _ in variants(spec.study):
        by_variant[slug] = VariantResults(slug, label, [], len(spec.study.sweep.seeds[:1] if smoke else spec.study.sweep.seeds))
    for run in runs:
        v = by_variant[run.variant]
        path = store.result_path(results, run.study, run.variant, run.seed)
        try:
            result: dict[str, Any] | None = store.read_result(path)
        except (OSError, ValueError):
            result = None
        if result is None:
            v.missing.append(run.seed)
        elif result["status"] not in store.FINAL:
            v.failed.append(result)
            v.missing.append(run.seed)
        elif result["key"] != run.key:
            v.stale.append(run.seed)
        else:
            v.runs.append(result)
    ordered = list(by_variant.values())
    ref = spec.study.reference
    reference = ordered[0].slug if ordered else ""  # an explore study has no variants
    if ref:
        reference = next((v.slug for v in ordered if ref in (v.slug, v.label)), reference)
    return StudyResults(spec, ordered, reference)
