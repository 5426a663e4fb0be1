"""Model families, one module each. A run's cache key hashes only the module of its own family
(plus ``common.py``), so adding a family never invalidates the results of the others."""
from __future__ import annotations

import importlib
from pathlib import Path

from torch import nn

FAMILIES = {"mlp": "mlp", "cnn": "cnn", "layers": "layers", "resnet": "resnet"}  # spec ``kind`` → module in this package


def build(model_cfg: dict) -> nn.Module:
    """The ``nn.Module`` for a model spec dict (``kind`` selects the family). Initialisation uses the
    global torch RNG: seed it first (the runner does)."""
    return importlib.import_module(f".{FAMILIES[model_cfg['kind']]}", __name__).build(model_cfg)


def sources(kind: str) -> list[Path]:
    """Files whose code decides a ``kind`` model's numbers (for the runner version)."""
    here = Path(__file__).parent
    return [here / "common.py", here / f"{FAMILIES[kind]}.py"]
