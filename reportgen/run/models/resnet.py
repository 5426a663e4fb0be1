"""torchvision's ResNets (He et al. 2016), used as they are: input (B, 1, 28, 28) float32 → logits (B, 10).

Two adaptations only: conv1 takes 1 channel (same 7×7, stride 2, padding 3, no bias), and the 28×28
digit is zero-padded to 32×32 (2 pixels each side) so the stride-32 backbone ends on a 1×1 map.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torchvision import models as tvm


class PadTo32(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.pad(x, (2, 2, 2, 2))


def build(cfg: dict) -> nn.Module:
    """``cfg``: a ``ResNet`` spec as a dict (depth 18, 34 or 50). torchvision's own initialisation."""
    net = getattr(tvm, f"resnet{cfg['depth']}")(weights=None, num_classes=10)
    net.conv1 = nn.Conv2d(1, 64, kernel_size=7, stride=2, padding=3, bias=False)
    nn.init.kaiming_normal_(net.conv1.weight, mode="fan_out", nonlinearity="relu")  # as torchvision does
    return nn.Sequential(PadTo32(), net)
