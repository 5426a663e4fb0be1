"""The closed, named registry of analyses a spec may ask for (``ANALYSES``).

An analysis reads a study's results (JSON only: it never trains or loads a model), draws its
figures into the study's asset folder and returns the context its template
``templates/analyses/<name>.md.j2`` renders. Modules: :mod:`.standard` (tables, curves, confusion
matrices), :mod:`.dynamics` (per-epoch history), :mod:`.internals` (training-time probes), :mod:`.architectures` (model cost,
capacity, weights and feature maps), :mod:`.predictions` (panel, confidence, calibration, confused
pairs), :mod:`.custom` (your own digits, robustness), :mod:`.sanity` (checks before training), :mod:`.diagnosis` (what went wrong in a run), :mod:`.data` (the data
set itself, read from the MNIST files: what an ``explore`` study shows).

``HEADLINES`` maps an analysis to the :class:`~.headline.Rule` of its headline finding (a sentence
of computed numbers and a verdict). :func:`analyse` runs an analysis once and returns its page context
and its headline together (:class:`Analysed`); the study's answer (:mod:`reportgen.report.pages.answers`)
is composed from those headlines in the order the spec declares (``Study.answer``), and never runs an
analysis itself. Analyses that only draw a figure or a matrix (learning curves, confusion matrices, …)
have no headline.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from reportgen.spec.config import ANALYSIS_NAMES, HEADLINE_NAMES
from reportgen.report.analyses import (
    architectures,
    custom,
    data,
    diagnosis,
    dynamics,
    internals,
    predictions,
    sanity,
    standard,
    tuning,
)
from reportgen.report.analyses import headlines_internals as hi
from reportgen.report.analyses import headlines_models as hm
from reportgen.report.analyses import headlines_outputs as ho
from reportgen.report.analyses import headlines_runs as hr
from reportgen.report.analyses.context import Context, fmt
from reportgen.report.analyses.headline import Headline, Rule

__all__ = ["ANALYSES", "HEADLINES", "Analysed", "Context", "Headline", "Rule", "analyse", "fmt"]

ANALYSES: dict[str, Callable[[Context], dict[str, Any]]] = {
    "comparison_table": standard.comparison_table,
    "learning_curves": standard.learning_curves,
    "confusion_matrix": standard.confusion_matrix,
    "misclassified_examples": standard.misclassified_examples,
    "generalization_gap": standard.generalization_gap,
    "overfitting": dynamics.overfitting,
    "early_stopping": dynamics.early_stopping,
    "convergence": dynamics.convergence,
    "weight_norms": internals.weight_norms,
    "weight_histograms": internals.weight_histograms,
    "gradient_noise": internals.gradient_noise,
    "gradient_flow": internals.gradient_flow,
    "saturation": internals.saturation,
    "factor_tables": dynamics.factor_tables,
    "architecture": architectures.architecture,
    "capacity_curve": architectures.capacity_curve,
    "target_accuracy": architectures.target_accuracy,
    "first_layer_weights": architectures.first_layer_weights,
    "feature_maps": architectures.feature_maps,
    "lr_range_test": tuning.lr_range_test,
    "grid_heatmap": tuning.grid_heatmap,
    "diagnosis": diagnosis.diagnosis,
    "split_overview": data.split_overview,
    "data_checks": data.data_checks,
    "pixel_statistics": data.pixel_statistics,
    "class_images": data.class_images,
    "duplicates": data.duplicates,
    "prediction_panel": predictions.prediction_panel,
    "confidence_extremes": predictions.confidence_extremes,
    "calibration": predictions.calibration,
    "confused_pairs": predictions.confused_pairs,
    "custom_images": custom.custom_images,
    "robustness": custom.robustness,
    "sanity_checks": sanity.sanity_checks,
}
assert tuple(ANALYSES) == ANALYSIS_NAMES, "spec.ANALYSIS_NAMES and analyses.ANALYSES must list the same names"

#: Analysis → its headline's :class:`Rule`: the function, the role (``finding``; ``accuracy``: the
#: generic test-accuracy sentence; ``pointer``: a pointer to a figure), whether it states test accuracy
#: itself, and whether it reads the analysis's output. The roles order a study's default answer only.
HEADLINES: dict[str, Rule] = {
    "comparison_table": Rule(hr.comparison_table, "accuracy"),
    "generalization_gap": Rule(hr.generalization_gap),
    "overfitting": Rule(hr.overfitting, covers_accuracy=True),
    "early_stopping": Rule(hr.early_stopping, covers_accuracy=True),
    "convergence": Rule(hr.convergence),
    "factor_tables": Rule(hr.factor_tables, covers_accuracy=True),
    "weight_norms": Rule(hi.weight_norms),
    "weight_histograms": Rule(hi.weight_histograms, "pointer"),
    "gradient_noise": Rule(hi.gradient_noise),
    "gradient_flow": Rule(hi.gradient_flow),
    "saturation": Rule(hi.saturation),
    "architecture": Rule(hm.architecture),
    "capacity_curve": Rule(hm.capacity_curve, covers_accuracy=True),
    "target_accuracy": Rule(hm.target_accuracy, covers_accuracy=True),
    "first_layer_weights": Rule(hm.first_layer_weights, "pointer"),
    "lr_range_test": Rule(hm.lr_range_test),
    "grid_heatmap": Rule(hm.grid_heatmap),
    "diagnosis": Rule(hm.diagnosis),
    "sanity_checks": Rule(hm.sanity_checks),
    "prediction_panel": Rule(ho.prediction_panel, reads_output=True),
    "confidence_extremes": Rule(ho.confidence_extremes, reads_output=True),
    "calibration": Rule(ho.calibration),
    "confused_pairs": Rule(ho.confused_pairs, reads_output=True),
    "custom_images": Rule(ho.custom_images, reads_output=True),
    "robustness": Rule(ho.robustness, covers_accuracy=True, reads_output=True),
    "split_overview": Rule(ho.split_overview, reads_output=True),
    "data_checks": Rule(ho.data_checks, reads_output=True),
    "pixel_statistics": Rule(ho.pixel_statistics, reads_output=True),
    "class_images": Rule(ho.class_images, "pointer", reads_output=True),
    "duplicates": Rule(ho.duplicates, reads_output=True),
}
assert tuple(HEADLINES) == HEADLINE_NAMES, "spec.HEADLINE_NAMES and analyses.HEADLINES must list the same names"


@dataclass(frozen=True)
class Analysed:
    """What one analysis gives a page: ``context`` (the variables its template renders) and ``headline``
    (its finding in words, or None: the analysis has no headline rule, or nothing to say)."""

    context: dict[str, Any]
    headline: Headline | None


def analyse(name: str, ctx: Context) -> Analysed:
    """Run analysis ``name`` on ``ctx`` once: draw its figures into ``ctx.fig_dir`` and return its page
    context together with its headline (computed from that context where the headline reads it).

    Raises ``KeyError`` for a name not in :data:`ANALYSES` (a validated spec names none)."""
    out = ANALYSES[name](ctx)
    rule = HEADLINES.get(name)
    return Analysed(out, rule.fn(ctx, out if rule.reads_output else None) if rule else None)
