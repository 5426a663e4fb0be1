"""The dense stack: input (B, C, H, W) float32 ((B, 1, 28, 28) on MNIST) → logits (B, classes)."""
from __future__ import annotations

from torch import nn

from reportgen.run.models.common import dense_stack, init_weights


def build(cfg: dict, shape: tuple[int, int, int] = (1, 28, 28), classes: int = 10) -> nn.Module:
    """``cfg``: an ``MLP`` spec as a dict (hidden, activation, dropout, init); C·H·W inputs."""
    n_in = shape[0] * shape[1] * shape[2]
    model = nn.Sequential(nn.Flatten(), *dense_stack(n_in, tuple(cfg["hidden"]), cfg["activation"], cfg["dropout"], classes))
    return init_weights(model, cfg["init"])
