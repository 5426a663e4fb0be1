"""Probes that only evaluate the model (no RNG, no update): test accuracy per epoch and the feature
maps of one digit. Numerics components ``probe.test_curve`` and ``probe.feature_maps``.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from reportgen.run.probes.training import Probe, measuring
from reportgen.results.quantized import encode
from reportgen.spec.config import ProbeSpec, RunConfig

#: Probe names implemented here.
NAMES = ("test_curve", "feature_maps")


class TestCurve(Probe):
    """Test accuracy (fraction) and loss (nats) after every epoch, for plots against a target line.
    Shown only: no selection reads it (choices are made on validation)."""

    name = "test_curve"
    __test__ = False  # not a pytest class

    def due(self, epoch: int) -> bool:
        return epoch > 0

    def start(self, model: nn.Module, split: dict) -> None:
        self.x, self.y = split["test"]

    @torch.no_grad()
    def measure(self, model: nn.Module) -> dict[str, Any]:
        from reportgen.run.train import evaluate

        loss, acc = evaluate(model, self.x, self.y)
        model.eval()  # evaluate() leaves eval mode on; measuring() restores the mode afterwards
        return {"test_loss": loss, "test_acc": acc}


class FeatureMaps(Probe):
    """For the test image ``indices[0]`` (default 0): the outputs of the first two Conv2d layers of the
    final model, (C, H, W) each, rounded to 4 decimals and stored as uint8 codes per channel
    (:func:`reportgen.results.quantized.encode`), with the image's label."""

    name = "feature_maps"

    def __init__(self, spec: ProbeSpec, config: RunConfig) -> None:
        super().__init__(spec, config)
        self.index = spec.indices[0] if spec.indices else 0

    def start(self, model: nn.Module, split: dict) -> None:
        self.x, self.y = split["test"]

    def after_epoch(self, model: nn.Module, epoch: int) -> None:
        pass

    @torch.no_grad()
    def finish(self, model: nn.Module) -> None:
        convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)][:2]
        maps: list[torch.Tensor] = []
        hooks = [c.register_forward_hook(lambda _m, _i, out: maps.append(out[0].float().cpu())) for c in convs]
        try:
            with measuring(model):
                model(self.x[self.index:self.index + 1])
        finally:
            for h in hooks:
                h.remove()
        self.rows = [{"layer": f"conv{i + 1}", "index": self.index, "label": int(self.y[self.index]),
                      "shape": list(m.shape), "maps": encode(np.round(m.numpy(), 4))} for i, m in enumerate(maps)]
