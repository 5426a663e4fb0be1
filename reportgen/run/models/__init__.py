"""Model families, one module each, and each its own numerics component (``model.<kind>`` in
:data:`reportgen.spec.numerics.VERSIONS`, which covers ``common.py`` too)."""
from __future__ import annotations

import importlib

from torch import nn

FAMILIES = {"mlp": "mlp", "cnn": "cnn", "layers": "layers", "resnet": "resnet"}  # spec ``kind`` → module in this package


def build(model_cfg: dict) -> nn.Module:
    """The ``nn.Module`` for a model spec dict (``kind`` selects the family). Initialisation uses the
    global torch RNG: seed it first (the runner does)."""
    return importlib.import_module(f".{FAMILIES[model_cfg['kind']]}", __name__).build(model_cfg)

