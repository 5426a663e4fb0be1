"""The closed, named registry of analyses a spec may ask for (``ANALYSES``).

An analysis reads a study's results (JSON only: it never trains or loads a model), draws its
figures into the study's asset folder and returns the context its template
``templates/analyses/<name>.md.j2`` renders. Modules: :mod:`.standard` (tables, curves, confusion
matrices), :mod:`.dynamics` (per-epoch history), :mod:`.internals` (training-time probes), :mod:`.architectures` (model cost,
capacity, weights and feature maps), :mod:`.predictions` (panel, confidence, calibration, confused
pairs), :mod:`.custom` (your own digits, robustness), :mod:`.sanity` (checks before training), :mod:`.diagnosis` (what went wrong in a run), :mod:`.data` (the data
set itself, read from the MNIST files: what an ``explore`` study shows).
"""
from __future__ import annotations

from typing import Any, Callable

from ..spec import ANALYSIS_NAMES
from . import architectures, custom, data, diagnosis, dynamics, internals, predictions, sanity, standard, tuning
from .context import Context, fmt

__all__ = ["ANALYSES", "Context", "fmt"]

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
