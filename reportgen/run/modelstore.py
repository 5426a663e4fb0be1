"""Saved models: a run's final weights as safetensors with its config in the file's metadata, and
their re-evaluation (``reportgen evaluate --model PATH``), which must reproduce the run's recorded
test metrics. Files live in ``models/`` beside ``results/`` (git-ignored: weights are rebuilt by
training, results are what is committed)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, safe_open, save_file
from torch import nn


def model_path(results: Path, study: str, variant: str, seed: int) -> Path:
    """``<results>/../models/<study>/<variant>/seed<k>.safetensors``."""
    return Path(results).parent / "models" / study / variant / f"seed{seed}.safetensors"


def save(path: Path, model: nn.Module, header: dict[str, Any], result: str) -> Path:
    """Write ``model``'s state dict (parameters and buffers, on the CPU) with metadata ``config`` (the
    run's resolved RunConfig as JSON), ``key``, ``study``, ``variant``, ``seed`` and ``result`` (the
    result file, relative to the results folder's parent). Atomic: a temp file renamed into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # A copy of each tensor: the weights may be views of one buffer (flat_parameters), which safetensors refuses.
    state = {k: v.detach().cpu().clone(memory_format=torch.contiguous_format) for k, v in model.state_dict().items()}
    meta = {"config": json.dumps(header["config"]), "key": header["key"], "study": header["study"],
            "variant": header["variant"], "seed": str(header["seed"]), "result": result}
    tmp = path.with_suffix(".tmp")
    save_file(state, str(tmp), metadata=meta)
    tmp.replace(path)
    return path


def load(path: Path, device: str | torch.device = "cpu") -> tuple[nn.Module, dict[str, str]]:
    """The model rebuilt from the file's config with its saved weights, in eval mode, and the metadata.

    Raises:
        FileNotFoundError: no such file. ValueError: not a reportgen model file (no config metadata).
    """
    from reportgen.run.models import build_for
    from reportgen.spec.config import RunConfig

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such model file (models are saved when a study with "
                                "save_models=True trains; `invoke run --spec NAME --force` re-creates them)")
    with safe_open(str(path), "pt") as f:
        meta = f.metadata() or {}
    if "config" not in meta:
        raise ValueError(f"{path}: not a reportgen model (its metadata has no 'config')")
    config = RunConfig.model_validate_json(meta["config"])
    model = build_for(config)
    model.load_state_dict(load_file(str(path), device="cpu"))
    return model.to(device).eval(), meta


def evaluate(path: Path, data_root: Path, device: str = "cpu") -> dict[str, Any]:
    """Re-run the saved model on its run's test split. Returns ``{"metrics": test_metrics,
    "recorded": the result's test metrics or None, "identical": bool | None, "differences": [...],
    "meta": metadata}``; identical means accuracy, per-image predictions (confusion matrix and
    misclassified indices) and loss (to 1e-6 relative) all match the recorded run."""
    from reportgen.data import sets
    from reportgen.run import metrics
    from reportgen.results import store
    from reportgen.spec.config import RunConfig
    from reportgen.run.train import predict

    model, meta = load(path, device)
    config = RunConfig.model_validate_json(meta["config"])
    mnist = sets.load(config.data.dataset, Path(data_root), device)
    x, y = mnist.split(config.data.val_size, config.data.train_subset, config.data.test_subset,
                       config.data.shuffled_labels, int(meta["seed"]))["test"]
    got = metrics.test_metrics(predict(model, x), y)
    result_file = Path(path).parents[3] / meta["result"]
    recorded = store.read_result(result_file).get("test") if result_file.is_file() else None
    if recorded is None:
        return {"metrics": got, "recorded": None, "identical": None, "differences": [], "meta": meta}
    diffs = [k for k in ("accuracy", "confusion_matrix", "misclassified") if got[k] != recorded[k]]
    if abs(got["loss"] - recorded["loss"]) > 1e-6 * max(1.0, abs(recorded["loss"])):
        diffs.append("loss")
    return {"metrics": got, "recorded": recorded, "identical": not diffs, "differences": diffs, "meta": meta}
