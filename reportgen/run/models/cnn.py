"""Conv blocks + dense head: input (B, C, H, W) float32 ((B, 1, 28, 28) on MNIST) → logits (B, classes)."""
from __future__ import annotations

import torch
from torch import nn

from reportgen.run.models.common import activation, dense_stack, init_weights


class Block(nn.Module):
    """``n`` × (Conv → [BN] → act), an optional skip (identity, or 1×1 conv when shapes differ), MaxPool(2)."""

    def __init__(self, c_in: int, c_out: int, cfg: dict) -> None:
        super().__init__()
        k, same = cfg["kernel_size"], cfg["padding"] == "same" or cfg["residual"]
        layers: list[nn.Module] = []
        for i in range(cfg["convs_per_block"]):
            layers.append(nn.Conv2d(c_in if i == 0 else c_out, c_out, k, padding=k // 2 if same else 0))
            if cfg["batchnorm"]:
                layers.append(nn.BatchNorm2d(c_out))
            layers.append(activation(cfg["activation"]))
        self.body = nn.Sequential(*layers)
        # A residual block must keep the spatial size, hence "same" padding whenever residual.
        self.skip = (nn.Identity() if c_in == c_out else nn.Conv2d(c_in, c_out, 1)) if cfg["residual"] else None
        self.pool = nn.MaxPool2d(2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.body(x)
        if self.skip is not None:
            y = y + self.skip(x)
        return self.pool(y)


def build(cfg: dict, shape: tuple[int, int, int] = (1, 28, 28), classes: int = 10) -> nn.Module:
    """``cfg``: a ``CNN`` spec as a dict. The flattened size is measured with a dummy forward pass."""
    blocks, c_in = [], shape[0]
    for c_out in cfg["channels"]:
        blocks.append(Block(c_in, c_out, cfg))
        c_in = c_out
    features = nn.Sequential(*blocks)
    if cfg["head"] == "gap":
        features.append(nn.AdaptiveAvgPool2d(1))
    with torch.no_grad():
        n_flat = features(torch.zeros(1, *shape)).numel()
    model = nn.Sequential(features, nn.Flatten(),
                          *dense_stack(n_flat, tuple(cfg["hidden"]), cfg["activation"], cfg["dropout"], classes))
    return init_weights(model, cfg["init"])
