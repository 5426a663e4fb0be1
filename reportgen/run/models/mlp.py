"""The dense stack: input (B, 1, 28, 28) float32 → logits (B, 10)."""
from __future__ import annotations

from torch import nn

from reportgen.run.models.common import dense_stack, init_weights


def build(cfg: dict) -> nn.Module:
    """``cfg``: an ``MLP`` spec as a dict (hidden, activation, dropout, init)."""
    model = nn.Sequential(nn.Flatten(), *dense_stack(784, tuple(cfg["hidden"]), cfg["activation"], cfg["dropout"]))
    return init_weights(model, cfg["init"])
