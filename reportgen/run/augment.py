"""Per-image random augmentation of a training batch on its device (kornia.augmentation).

Kornia draws one set of parameters per image from the global torch RNG, so a seeded run is
reproducible. Geometric transforms run in pixel space ([0, 1], background 0) so that padding is
background, then the batch is normalised again.
"""
from __future__ import annotations

from typing import Callable

import torch

from reportgen.data.mnist import MEAN, STD
from reportgen.spec.config import Augment


def make(cfg: Augment | None, mean: tuple[float, ...] = (MEAN,),
         std: tuple[float, ...] = (STD,)) -> Callable[[torch.Tensor], torch.Tensor] | None:
    """A function float (B, C, H, W) normalised with per-channel ``mean`` and ``std`` (MNIST's by
    default) → same shape, or None when ``cfg`` is None."""
    if cfg is None:
        return None
    import kornia.augmentation as K

    s = cfg.scale
    ops = [K.RandomAffine(degrees=cfg.rotation, translate=(cfg.translate,) * 2,
                          scale=(1 - s, 1 + s) if s else None, p=1.0)]
    if cfg.perspective > 0:
        ops.append(K.RandomPerspective(distortion_scale=cfg.perspective, p=cfg.perspective_p))
    pipeline = K.AugmentationSequential(*ops)
    if len(mean) == 1:
        m, s_ = mean[0], std[0]
    else:
        m, s_ = torch.tensor(mean).view(1, -1, 1, 1), torch.tensor(std).view(1, -1, 1, 1)

    def apply(x: torch.Tensor) -> torch.Tensor:
        mm, ss = (m.to(x.device), s_.to(x.device)) if isinstance(m, torch.Tensor) else (m, s_)
        return (pipeline(x * ss + mm) - mm) / ss

    return apply
