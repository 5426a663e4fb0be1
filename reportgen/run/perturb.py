"""Perturbed test batches for robustness curves (the ``custom_images`` study): rotation, shift and
Gaussian noise in pixel space, each at a fixed ladder of severities (torchvision's functional
transforms)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch


def rotate(x: torch.Tensor, degrees: float) -> torch.Tensor:
    """Rotate a batch float (B, 1, 28, 28) in [0, 1] pixel space by ``degrees`` counter-clockwise about
    the image centre (bilinear; corners filled with background 0). Same shape, dtype and device."""
    from torchvision.transforms.v2 import InterpolationMode
    from torchvision.transforms.v2 import functional as TF

    return TF.rotate(x, float(degrees), interpolation=InterpolationMode.BILINEAR, fill=0.0)


def shift(x: torch.Tensor, pixels: float) -> torch.Tensor:
    """Translate a batch float (B, 1, 28, 28) in [0, 1] pixel space ``pixels`` px to the right
    (bilinear, exact for whole pixels; uncovered columns filled with background 0)."""
    from torchvision.transforms.v2 import InterpolationMode
    from torchvision.transforms.v2 import functional as TF

    return TF.affine(x, angle=0.0, translate=[float(pixels), 0.0], scale=1.0, shear=[0.0, 0.0],
                     interpolation=InterpolationMode.BILINEAR, fill=0.0)


def gaussian_noise(x: torch.Tensor, std: float, seed: int = 0) -> torch.Tensor:
    """Add Gaussian noise of standard deviation ``std`` (in [0, 1] pixel units) to a batch float
    (B, 1, 28, 28) in [0, 1], drawn from a generator seeded with ``seed`` (same seed, same noise),
    and clip back to [0, 1] so it stays an image."""
    import torch

    gen = torch.Generator(device=x.device).manual_seed(seed)
    noise = torch.randn(x.shape, generator=gen, device=x.device, dtype=x.dtype)
    return (x + std * noise).clamp(0.0, 1.0)


@dataclass(frozen=True)
class Perturbation:
    """One robustness axis: ``apply(x, severity, seed)`` on a batch float (B, 1, 28, 28) in [0, 1] pixel
    space (normalise afterwards), ``severities`` the default grid in ``unit``; severity 0 is the
    identity (returns a copy)."""

    name: str
    unit: str
    severities: tuple[float, ...]
    fn: Callable[..., torch.Tensor]
    seeded: bool = False

    def apply(self, x: torch.Tensor, severity: float, seed: int = 0) -> torch.Tensor:
        if severity == 0:
            return x.clone()
        return self.fn(x, severity, seed) if self.seeded else self.fn(x, severity)


def robustness_transforms() -> dict[str, Perturbation]:
    """The robustness axes of the ``custom_images`` study and their default severity grids:

    - ``rotation``: :func:`rotate`, 0, 10, 20, 30, 45, 60 degrees;
    - ``shift``: :func:`shift`, 0–6 px to the right in steps of 1 (MNIST digits sit 4 px from the edge);
    - ``noise``: :func:`gaussian_noise`, std 0, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0 in [0, 1] pixel units.

    All work on whole batches (torchvision ``transforms.v2.functional``) on the batch's device.
    """
    return {
        "rotation": Perturbation("rotation", "degrees", (0, 10, 20, 30, 45, 60), rotate),
        "shift": Perturbation("shift", "pixels", (0, 1, 2, 3, 4, 5, 6), shift),
        "noise": Perturbation("noise", "std", (0, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0), gaussian_noise,
                              seeded=True),
    }
