"""An example of a model brought by import path (``Import(target="experiments.models.smallnet:SmallNet")``).

A compact all-convolutional network for small images: three 3×3 "same" convolutions with batch
normalisation (Ioffe & Szegedy 2015) and ReLU, one 2×2 max-pool after the second, then global
average pooling (Lin et al. 2014, "Network in Network") and one linear layer to the logits. It works
on any image size ≥ 2×2 and any number of channels and classes: ``in_channels`` and ``num_classes``
are filled from the data set by the runner when a spec leaves them out.

This module is on the project's allowlist (``[tool.reportgen] models`` in ``pyproject.toml``); the
SHA-256 of this file enters the key of every run that uses it, so editing it retrains exactly those
runs.
"""
from __future__ import annotations

import torch
from torch import nn


class SmallNet(nn.Module):
    """float (B, in_channels, H, W) → logits (B, num_classes); ``width`` is the first conv's channels
    (the next two have 2× and 4× as many)."""

    def __init__(self, in_channels: int = 1, num_classes: int = 10, width: int = 16) -> None:
        super().__init__()

        def conv(c_in: int, c_out: int) -> list[nn.Module]:
            return [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU()]

        self.features = nn.Sequential(*conv(in_channels, width), *conv(width, 2 * width), nn.MaxPool2d(2),
                                      *conv(2 * width, 4 * width), nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.head = nn.Linear(4 * width, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))
