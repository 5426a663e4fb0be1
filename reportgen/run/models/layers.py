"""A model written as a list of layers in the spec (``spec.Layers``): input (B, C, H, W) float32
((B, 1, 28, 28) on MNIST) → logits (B, classes). The building blocks: conv block, residual block, max-pool, GAP head, dense layer."""
from __future__ import annotations

import torch
from torch import nn

from reportgen.run.models.common import activation, init_weights


def conv_block(c_in: int, cfg: dict) -> nn.Sequential:
    """Conv(k×k) → [BatchNorm] → [activation] → [Dropout]; the conv has no bias when BN follows it
    (BN's shift replaces it)."""
    k = cfg["kernel"]
    layers: list[nn.Module] = [nn.Conv2d(c_in, cfg["out"], k, padding=k // 2 if cfg["padding"] == "same" else 0,
                                         bias=not cfg["batchnorm"])]
    if cfg["batchnorm"]:
        layers.append(nn.BatchNorm2d(cfg["out"]))
    if cfg["activation"] != "none":
        layers.append(activation(cfg["activation"]))
    if cfg["dropout"] > 0:
        layers.append(nn.Dropout(cfg["dropout"]))
    return nn.Sequential(*layers)


class ResidualBlock(nn.Module):
    """``body(x) + skip(x)``; the skip is the identity, or a 1×1 conv when the channels change."""

    def __init__(self, c_in: int, body: list[dict]) -> None:
        super().__init__()
        blocks, c = [], c_in
        for cfg in body:
            blocks.append(conv_block(c, cfg))
            c = cfg["out"]
        self.body = nn.Sequential(*blocks)
        self.skip = nn.Identity() if c == c_in else nn.Conv2d(c_in, c, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x) + self.skip(x)


def dense(n_in: int, cfg: dict) -> nn.Sequential:
    layers: list[nn.Module] = [nn.Flatten(), nn.Linear(n_in, cfg["out"])]
    if cfg["activation"] != "none":
        layers.append(activation(cfg["activation"]))
    if cfg["dropout"] > 0:
        layers.append(nn.Dropout(cfg["dropout"]))
    return nn.Sequential(*layers)


def build(cfg: dict, input_shape: tuple[int, int, int] = (1, 28, 28), classes: int = 10) -> nn.Module:
    """``cfg``: a ``Layers`` spec as a dict. Shapes follow ``spec.layer_shapes`` (validated there, with
    the ``classes`` logits at the end)."""
    modules: list[nn.Module] = []
    shape: tuple[int, ...] = tuple(input_shape)
    for layer in cfg["layers"]:
        kind = layer["type"]
        if kind == "conv":
            modules.append(conv_block(shape[0], layer))
        elif kind == "residual":
            modules.append(ResidualBlock(shape[0], layer["body"]))
        elif kind == "maxpool":
            modules.append(nn.MaxPool2d(layer["size"]))
        elif kind == "gap":
            modules.append(nn.AdaptiveAvgPool2d(1))
        else:
            n_in = 1
            for d in shape:
                n_in *= d
            modules.append(dense(n_in, layer))
        with torch.no_grad():
            shape = tuple(nn.Sequential(*modules)(torch.zeros(1, *input_shape)).shape[1:])
    modules.append(nn.Flatten())
    return init_weights(nn.Sequential(*modules), cfg["init"])
