"""The closed, named registry of analyses a spec may ask for (``ANALYSES``).

An analysis reads a study's results (JSON only: it never trains or loads a model), draws its
figures into the study's asset folder and returns the context its template
``templates/analyses/<name>.md.j2`` renders. Modules: :mod:`.standard` (tables, curves, confusion
matrices), :mod:`.dynamics` (per-epoch history), :mod:`.internals` (training-time probes), :mod:`.architectures` (model cost,
capacity, weights and feature maps), :mod:`.predictions` (panel, confidence, calibration, confused
pairs), :mod:`.custom` (your own digits, robustness), :mod:`.sanity` (checks before training), :mod:`.diagnosis` (what went wrong in a run), :mod:`.data` (the data
set itself, read from the MNIST files: what an ``explore`` study shows).

``HEADLINES`` maps an analysis to the :class:`~.headline.Rule` of its headline finding (a sentence
of computed numbers and a verdict): the study's answer (:mod:`reportgen.report.answers`) is composed from the
headlines of the analyses its spec names whose topic its question asks about, in the question's
order. Analyses that only draw a figure or a matrix (learning curves, confusion matrices, …) have none.
"""
from __future__ import annotations

from typing import Any, Callable

from reportgen.spec.config import ANALYSIS_NAMES
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

__all__ = ["ANALYSES", "HEADLINES", "Context", "Headline", "Rule", "fmt"]

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

#: Analysis → its headline's :class:`Rule`: the function, the topic pattern searched in the lowercased
#: question, the role (``specific``; ``accuracy``: the generic test-accuracy sentence, left out where
#: another headline states test accuracy; ``pointer``: placed last), whether it states test accuracy
#: itself, and whether it reads the analysis's output.
_TEST_ACCURACY = r"(?<!validation )\b(?:test )?accura(?:cy|te)\b"
HEADLINES: dict[str, Rule] = {
    "comparison_table": Rule(hr.comparison_table, _TEST_ACCURACY, "accuracy"),
    "generalization_gap": Rule(hr.generalization_gap, r"generali[sz]ation gap|overfit"),
    "overfitting": Rule(hr.overfitting, r"validation loss (?:is )?lowest|overfit|gap open|training on", covers_accuracy=True),
    "early_stopping": Rule(hr.early_stopping, r"early stopping|saved|cost in test", covers_accuracy=True),
    "convergence": Rule(hr.convergence, r"how many epochs|to reach|converg|fastest|stab"),
    "factor_tables": Rule(hr.factor_tables, r"one factor|one at a time|each change|how much do", covers_accuracy=True),
    "weight_norms": Rule(hi.weight_norms, r"weight norm|\bweights\b"),
    "weight_histograms": Rule(hi.weight_histograms, r"distribut", "pointer"),
    "gradient_noise": Rule(hi.gradient_noise, r"gradient noise|noise scale"),
    "gradient_flow": Rule(hi.gradient_flow, r"gradient flow|vanish|\bgradient\b"),
    "saturation": Rule(hi.saturation, r"saturat|\bdead\b"),
    "architecture": Rule(hm.architecture, r"parameters|flops|training time|inference|\bcost\b"),
    "capacity_curve": Rule(hm.capacity_curve, r"width|capacity|model size", covers_accuracy=True),
    "target_accuracy": Rule(hm.target_accuracy, r"how close|target|reach \d", covers_accuracy=True),
    "first_layer_weights": Rule(hm.first_layer_weights, r"first-layer|first layer|look like", "pointer"),
    "lr_range_test": Rule(hm.lr_range_test, r"range test|which rate|best on validation"),
    "grid_heatmap": Rule(hm.grid_heatmap, r"which combination|best validation|\bgrid\b"),
    "diagnosis": Rule(hm.diagnosis, r"\bfit\b|\bfail|diagnos|broken"),
    "sanity_checks": Rule(hm.sanity_checks, r"sanity|output|ln 10|memori"),
    "prediction_panel": Rule(ho.prediction_panel, r"panel|predict", reads_output=True),
    "confidence_extremes": Rule(ho.confidence_extremes, r"most confidently|confident when", reads_output=True),
    "calibration": Rule(ho.calibration, r"calibrat"),
    "confused_pairs": Rule(ho.confused_pairs, r"confuse|digit pairs", reads_output=True),
    "custom_images": Rule(ho.custom_images, r"outside mnist|not in mnist|own digits|classified correctly",
                          reads_output=True),
    "robustness": Rule(ho.robustness, r"rotation|shift|gaussian noise|robust", covers_accuracy=True, reads_output=True),
    "split_overview": Rule(ho.split_overview, r"splits?\b|label counts|class balance", reads_output=True),
    "data_checks": Rule(ho.data_checks, r"invalid", reads_output=True),
    "pixel_statistics": Rule(ho.pixel_statistics, r"pixel", reads_output=True),
    "class_images": Rule(ho.class_images, r"look like|\bink\b", "pointer", reads_output=True),
    "duplicates": Rule(ho.duplicates, r"duplicate", reads_output=True),
}
assert set(HEADLINES) <= set(ANALYSES), "every headline belongs to an analysis of the registry"
