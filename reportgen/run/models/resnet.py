"""torchvision's ResNets (He et al. 2016), used as they are: input (B, C, H, W) float32 ((B, 1, 28, 28) on
MNIST) → logits (B, classes).

Two adaptations only: conv1 takes the data set's C channels (same 7×7, stride 2, padding 3, no bias),
and a 28×28 image is zero-padded to 32×32 (2 pixels each side) so the stride-32 backbone ends on a
1×1 map (other sizes go in as they are: the backbone ends in adaptive average pooling).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torchvision import models as tvm


class PadTo32(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.pad(x, (2, 2, 2, 2))


def build(cfg: dict, shape: tuple[int, int, int] = (1, 28, 28), classes: int = 10) -> nn.Module:
    """``cfg``: a ``ResNet`` spec as a dict (depth 18, 34 or 50). torchvision's own initialisation."""
    net = getattr(tvm, f"resnet{cfg['depth']}")(weights=None, num_classes=classes)
    net.conv1 = nn.Conv2d(shape[0], 64, kernel_size=7, stride=2, padding=3, bias=False)
    nn.init.kaiming_normal_(net.conv1.weight, mode="fan_out", nonlinearity="relu")  # as torchvision does
    return nn.Sequential(PadTo32(), net) if tuple(shape[1:]) == (28, 28) else nn.Sequential(net)
