"""Probes of the prediction-behaviour studies, taken once on the final model (``predictions``,
``custom_digits``, ``robustness``) or once before the first update (``sanity``).

Each is its own numerics component (``probe.<name>``, :mod:`reportgen.spec.numerics`); ``custom_digits``
and ``robustness`` also use ``digits``. None of them draws from the training RNG (``measuring`` forks it; ``sanity`` works on a copy of the model), so a probed run trains
exactly like an unprobed one.
"""
from __future__ import annotations

import copy
import math
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from reportgen.data.digits import SYNTHETIC_PER_DIGIT, SYNTHETIC_SEED, to_hex
from reportgen.data.mnist import MEAN, STD
from reportgen.run.probes.training import Probe, measuring
from reportgen.spec.config import ProbeSpec, RunConfig

#: Training images ``sanity`` computes the initial loss and gradients on, and shows as a batch.
BATCH_SHOWN = 32
#: Random inputs of the ``sanity`` forward-pass check, and the seed of the generator that draws them.
RANDOM_BATCH, RANDOM_SEED = 8, 0


class _Final(Probe):
    """Base: nothing during training; ``measure_final(model)`` once on the final model."""

    def start(self, model: nn.Module, split: dict) -> None:
        self.split = split

    def after_epoch(self, model: nn.Module, epoch: int) -> None:
        pass

    @torch.no_grad()
    def finish(self, model: nn.Module) -> None:
        with measuring(model):
            self.rows = [self.measure_final(model)]

    def measure_final(self, model: nn.Module) -> dict[str, Any]:
        raise NotImplementedError


def probabilities(model: nn.Module, x: torch.Tensor, batch: int = 2000) -> torch.Tensor:
    """Softmax float32 (N, 10) of ``model`` on normalised images x (N, 1, 28, 28), in batches."""
    return torch.cat([F.softmax(model(x[i:i + batch]).float(), 1) for i in range(0, len(x), batch)])


class Predictions(_Final):
    """The final model's prediction for every test image: ``predicted`` (N,) digits and ``confidence``
    (N,) the softmax probability of the predicted class (4 decimals), in test-set order, plus
    ``true_prob`` (N,), the probability given to the true label. What calibration (ECE), the most
    confident errors and the least confident correct predictions are computed from."""

    name = "predictions"

    def measure_final(self, model: nn.Module) -> dict[str, Any]:
        x, y = self.split["test"]
        p = probabilities(model, x)
        conf, pred = p.max(1)
        true_prob = p.gather(1, y[:, None])[:, 0]
        return {"predicted": pred.cpu().tolist(), "confidence": np.round(conf.cpu().numpy(), 4).tolist(),
                "true_prob": np.round(true_prob.cpu().numpy(), 4).tolist()}


class CustomDigits(_Final):
    """Digits from outside MNIST (:mod:`reportgen.data.digits`): every image of the folder ``images``, brought
    to MNIST form (:func:`reportgen.data.digits.preprocess`), or the synthetic font set when the folder has
    none. Per image: ``name``, ``label`` (from the file name, or None), ``processed`` (the 28×28 the model
    saw, hex uint8), ``probs`` (10 softmax probabilities, 4 decimals); ``rejected``: one reason per file
    that was not used; ``source``: ``folder`` or ``synthetic``."""

    name = "custom_digits"

    def __init__(self, spec: ProbeSpec, config: RunConfig) -> None:
        super().__init__(spec, config)
        self.folder = spec.images_dir()

    def measure_final(self, model: nn.Module) -> dict[str, Any]:
        from reportgen.data import digits

        loaded, rejected = digits.load_folder(self.folder)
        source = "folder"
        if not loaded:
            loaded, source = digits.synthetic_digits(SYNTHETIC_PER_DIGIT, SYNTHETIC_SEED), "synthetic"
        device = self.split["test"][0].device
        x = torch.from_numpy(np.stack([d.processed for d in loaded])).to(device)[:, None]
        p = probabilities(model, (x - MEAN) / STD).cpu().numpy()
        images = [{"name": d.name, "label": d.label, "processed": to_hex(d.processed),
                   "probs": np.round(pi, 4).tolist()} for d, pi in zip(loaded, p)]
        return {"folder": self.folder, "source": source, "images": images,
                "rejected": [r.reason for r in rejected]}


class Robustness(_Final):
    """Test accuracy (fraction) of the final model under each perturbation of
    :func:`reportgen.run.perturb.robustness_transforms` at each of its severities, applied in pixel space
    to the whole test set (noise drawn with seed 0: the same noise for every model)."""

    name = "robustness"

    def measure_final(self, model: nn.Module) -> dict[str, Any]:
        from reportgen.run.perturb import robustness_transforms

        x, y = self.split["test"]
        pixels = x * STD + MEAN
        out = {}
        for name, axis in robustness_transforms().items():
            acc = []
            for s in axis.severities:
                p = probabilities(model, (axis.apply(pixels, s, seed=0) - MEAN) / STD)
                acc.append(round((p.argmax(1) == y).float().mean().item(), 6))
            out[name] = {"unit": axis.unit, "severities": list(axis.severities), "accuracy": acc}
        return out


class Sanity(Probe):
    """Checks before the first update (Karpathy 2019, "A Recipe for Training Neural Networks": verify
    the loss at init, overfit one small batch, visualise what goes into the network), on a copy of the
    initial model so training is untouched:

    - ``output_shape`` of a forward pass on ``RANDOM_BATCH`` standard-normal inputs;
    - ``initial_loss`` (nats) on the first ``BATCH_SHOWN`` training images, against ``expected_loss`` = ln 10 for ten
      balanced classes and near-uniform initial predictions;
    - ``params`` and ``no_grad``: the parameters that got no (or an all-zero) gradient from that batch;
    - ``batch``: the first ``BATCH_SHOWN`` images (hex uint8 28×28, de-normalised) and labels of the
      training split as the model gets them.

    The overfitting check reads the run's own history (train accuracy per epoch)."""

    name = "sanity"

    def start(self, model: nn.Module, split: dict) -> None:
        if self.rows:  # resumed: measured before the first epoch already
            return
        x, y = split["train"]
        probe = copy.deepcopy(model)  # the backward pass below must leave the real model's grads alone
        gen = torch.Generator(device=x.device).manual_seed(RANDOM_SEED)
        n = min(len(x), BATCH_SHOWN)
        with measuring(probe):  # eval mode on a forked RNG: the training RNG stream is not touched
            with torch.no_grad():
                out = probe(torch.randn((RANDOM_BATCH, *x.shape[1:]), generator=gen, device=x.device))
            loss = F.cross_entropy(probe(x[:n]).float(), y[:n])
            loss.backward()
        no_grad = [name for name, p in probe.named_parameters()
                   if p.requires_grad and (p.grad is None or not torch.any(p.grad != 0))]
        images = (x[:n] * STD + MEAN).squeeze(1).cpu().numpy()
        self.rows = [{"output_shape": list(out.shape), "random_batch": RANDOM_BATCH,
                      "initial_loss": loss.item(), "expected_loss": math.log(10),
                      "params": sum(p.numel() for p in probe.parameters()),
                      "param_tensors": sum(1 for _ in probe.parameters()), "no_grad": no_grad,
                      "batch": {"images": [to_hex(i) for i in images], "labels": y[:n].cpu().tolist()}}]

    def after_epoch(self, model: nn.Module, epoch: int) -> None:
        pass


PROBES: dict[str, type[Probe]] = {c.name: c for c in (Predictions, CustomDigits, Robustness, Sanity)}
