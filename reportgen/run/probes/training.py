"""Training-time probes: measurements the loop calls as hooks (see ``train.Probe``), recorded into the
run's JSON under ``probes.<name>``. Analyses read them from there; nothing is re-trained or re-loaded.

Every probe measures in evaluation mode on a forked RNG and restores the model's mode, so a probed
run trains exactly like an unprobed one (tested). Epoch 0 is the state before the first update.
A probe records at epoch 0, every ``every`` epochs and at the run's last planned epoch.
"""
from __future__ import annotations

import copy
import math
from contextlib import contextmanager
from typing import Any, Iterator

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from reportgen.run.models.common import ACTIVATIONS
from reportgen.results.quantized import encode
from reportgen.spec.config import ProbeSpec, RunConfig

#: Batch sizes at which ``grad_noise`` measures the minibatch gradient variance, besides the run's own.
NOISE_BATCH_SIZES = (8, 32, 128, 512)
#: Minibatches drawn per batch size and measurement point.
NOISE_DRAWS = 32
#: Images used by ``saturation`` (the first of the validation split: fixed across runs and epochs).
SATURATION_IMAGES = 1000
#: A squashing unit counts as saturated where its derivative is below this share of its maximum.
SATURATION_LEVEL = 0.05
#: Chunk for full-batch passes (memory bound, not a statistical choice).
CHUNK = 5000
HIST_BINS = 60
SQUASHING = {nn.Tanh: "tanh", nn.Sigmoid: "sigmoid", nn.Softsign: "softsign"}


def weighted_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """Conv2d and Linear modules in registration (forward) order, named ``conv1, conv2, …, fc1, fc2, …``."""
    out, count = [], {"conv": 0, "fc": 0}
    for m in model.modules():
        if isinstance(m, (nn.Linear, nn.Conv2d)):
            kind = "fc" if isinstance(m, nn.Linear) else "conv"
            count[kind] += 1
            out.append((f"{kind}{count[kind]}", m))
    return out


@contextmanager
def measuring(model: nn.Module) -> Iterator[None]:
    """Eval mode on a forked CPU/CUDA RNG; the model's mode is restored afterwards."""
    was_training = model.training
    devices = [torch.cuda.current_device()] if torch.cuda.is_available() else []
    with torch.random.fork_rng(devices=devices):
        model.eval()
        try:
            yield
        finally:
            model.train(was_training)


class Probe:
    """Base: records ``measure(model)`` at epoch 0, every ``every`` epochs and at ``last``."""

    name = ""

    def __init__(self, spec: ProbeSpec, config: RunConfig) -> None:
        self.every, self.last = spec.every, config.train.epochs
        self.rows: list[dict[str, Any]] = []

    def due(self, epoch: int) -> bool:
        return epoch == 0 or epoch % self.every == 0 or epoch == self.last

    def start(self, model: nn.Module, split: dict) -> None:
        self.split = split
        if not self.rows:  # a resumed run keeps its restored rows
            self._record(model, 0)

    def after_backward(self, model: nn.Module, step: int) -> None:
        pass

    def after_epoch(self, model: nn.Module, epoch: int) -> None:
        if self.due(epoch):
            self._record(model, epoch)

    def finish(self, model: nn.Module) -> None:
        pass

    def _record(self, model: nn.Module, epoch: int) -> None:
        with measuring(model):
            self.rows.append({"epoch": epoch, **self.measure(model)})

    def measure(self, model: nn.Module) -> dict[str, Any]:
        raise NotImplementedError

    def state_dict(self) -> dict:
        return {"rows": copy.deepcopy(self.rows)}

    def load_state_dict(self, state: dict) -> None:
        self.rows = copy.deepcopy(state["rows"])

    def result(self) -> Any:
        return self.rows


class WeightNorms(Probe):
    """Per layer, the Frobenius norm ‖W‖_F of the weight (biases excluded), dimensionless."""

    name = "weight_norms"

    @torch.no_grad()
    def measure(self, model: nn.Module) -> dict[str, Any]:
        return {"layers": {n: m.weight.float().norm().item() for n, m in weighted_layers(model)}}


class WeightHistograms(Probe):
    """Per layer, a histogram of the weight values (``HIST_BINS`` equal bins over [min, max]) at
    epoch 0 and at the end (the final weights, after any restore of the best epoch)."""

    name = "weight_histograms"

    def due(self, epoch: int) -> bool:
        return epoch == 0

    def finish(self, model: nn.Module) -> None:
        with measuring(model):
            self.rows.append({"epoch": "final", **self.measure(model)})

    @torch.no_grad()
    def measure(self, model: nn.Module) -> dict[str, Any]:
        out = {}
        for n, m in weighted_layers(model):
            w = m.weight.detach().float().flatten().cpu().numpy()
            counts, edges = np.histogram(w, bins=HIST_BINS)
            out[n] = {"counts": counts.tolist(), "low": float(edges[0]), "high": float(edges[-1]),
                      "mean": float(w.mean()), "std": float(w.std())}
        return {"layers": out}


class GradNorms(Probe):
    """Per layer, the mean over an epoch's steps of ‖∂loss/∂W‖₂ (training loss incl. any L2 term, as
    the optimizer sees it). Epoch 0: the gradient of the first minibatch before any update is not
    available to an epoch-end hook, so rows start at epoch 1."""

    name = "grad_norms"

    def start(self, model: nn.Module, split: dict) -> None:
        self.layers = weighted_layers(model)
        self.sum: torch.Tensor | None = None
        self.steps = 0

    @torch.no_grad()
    def after_backward(self, model: nn.Module, step: int) -> None:
        norms = torch.stack([m.weight.grad.float().norm() if m.weight.grad is not None
                             else torch.zeros((), device=m.weight.device) for _, m in self.layers])
        self.sum = norms if self.sum is None else self.sum + norms  # stays on the device: no sync per step
        self.steps += 1

    def after_epoch(self, model: nn.Module, epoch: int) -> None:
        if self.due(epoch) and self.sum is not None:
            mean = (self.sum / self.steps).tolist()
            self.rows.append({"epoch": epoch, "layers": {n: v for (n, _), v in zip(self.layers, mean)}})
        self.sum, self.steps = None, 0

    def state_dict(self) -> dict:
        return {"rows": copy.deepcopy(self.rows)}  # checkpoints fall on epoch ends: accumulators are empty


class Saturation(Probe):
    """On the first ``SATURATION_IMAGES`` validation images, per activation layer:

    - ``dead``: share of units (features, or channels of a conv map) whose input is ≤ 0 for every
      image and position — for the rectifier family (relu, leaky_relu, gelu, elu, selu) such a unit
      passes (almost) no gradient (Lu et al. 2019, "Dying ReLU and Initialization");
    - ``saturated``: for tanh, sigmoid and softsign, share of activations whose derivative is below
      ``SATURATION_LEVEL`` of its maximum (tanh' = 1 − y², sigmoid' = y(1 − y), softsign' = (1 − |y|)²;
      Glorot & Bengio 2010, "Understanding the difficulty of training deep feedforward networks").
    """

    name = "saturation"

    def start(self, model: nn.Module, split: dict) -> None:
        self.x = split["val"][0][:SATURATION_IMAGES]
        super().start(model, split)

    @torch.no_grad()
    def measure(self, model: nn.Module) -> dict[str, Any]:
        seen: dict[str, dict[str, float]] = {}
        acts = [(f"act{i}", m) for i, m in enumerate(
            (m for m in model.modules() if isinstance(m, tuple(ACTIVATIONS.values()))), 1)]

        def hook(name: str, module: nn.Module):
            def fn(_m, inputs, output):
                x, y = inputs[0].float(), output.float()
                units = x.transpose(0, 1).flatten(1)  # (units, images × positions)
                row = {"dead": (units <= 0).all(1).float().mean().item()}
                kind = SQUASHING.get(type(module))
                if kind:
                    deriv = {"tanh": 1 - y.square(), "sigmoid": 4 * y * (1 - y), "softsign": (1 - y.abs()).square()}[kind]
                    row = {"saturated": (deriv < SATURATION_LEVEL).float().mean().item()}
                seen[name] = row
            return fn

        handles = [m.register_forward_hook(hook(n, m)) for n, m in acts]
        try:
            model(self.x)
        finally:
            for h in handles:
                h.remove()
        return {"layers": seen}


def flat_grad(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """∇θ of the mean cross-entropy on (x, y) as one float32 vector (eval mode; no L2 term)."""
    params = [p for p in model.parameters() if p.requires_grad]
    loss = F.cross_entropy(model(x).float(), y)
    return torch.cat([g.flatten() for g in torch.autograd.grad(loss, params)])


def full_gradient(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The full-batch gradient G = (1/N) Σ ∇ℓᵢ over all of (x, y), in chunks of ``CHUNK``."""
    total = None
    for i in range(0, len(x), CHUNK):
        g = flat_grad(model, x[i:i + CHUNK], y[i:i + CHUNK]) * len(x[i:i + CHUNK])
        total = g if total is None else total + g
    return total / len(x)


def minibatch_variance(model: nn.Module, x: torch.Tensor, y: torch.Tensor, g_full: torch.Tensor,
                       batch_size: int, draws: int, gen: torch.Generator) -> float:
    """E‖g_B − G‖² over ``draws`` minibatches of ``batch_size`` drawn without replacement from (x, y).

    For sampling without replacement from N examples, E‖g_B − G‖² = tr(Σ)/B · (N − B)/(N − 1), with Σ
    the per-example gradient covariance (Cochran 1977, "Sampling Techniques", §2.4).
    """
    total = 0.0
    for _ in range(draws):
        idx = torch.randperm(len(x), generator=gen)[:batch_size].to(x.device)
        total += (flat_grad(model, x[idx], y[idx]) - g_full).square().sum().item()
    return total / draws


class GradNoise(Probe):
    """Gradient noise at fixed points of training (McCandlish et al. 2018, "An Empirical Model of
    Large-Batch Training", §2.2 and App. A), on the clean training split in eval mode:

    - ``grad_sq``: ‖G‖², the squared norm of the full-batch gradient;
    - per batch size B in ``NOISE_BATCH_SIZES`` ∪ {the run's}: ``variance`` = E‖g_B − G‖² measured over
      ``NOISE_DRAWS`` minibatches, and ``trace_cov`` = tr(Σ) recovered from it;
    - ``noise_scale``: the simple noise scale B_simple = tr(Σ)/‖G‖², from the run's own batch size.

    Minibatches come from a generator seeded with the epoch, so every run is probed at the same draws.
    """

    name = "grad_noise"

    def __init__(self, spec: ProbeSpec, config: RunConfig) -> None:
        super().__init__(spec, config)
        self.batch = config.train.batch_size
        self.sizes = sorted({*NOISE_BATCH_SIZES, self.batch})

    def _record(self, model: nn.Module, epoch: int) -> None:
        self.epoch = epoch
        super()._record(model, epoch)

    def measure(self, model: nn.Module) -> dict[str, Any]:
        x, y = self.split["train"]
        n = len(x)
        g = full_gradient(model, x, y)
        g_sq = g.square().sum().item()
        gen = torch.Generator().manual_seed(1000 + self.epoch)
        per = {}
        for b in self.sizes:
            if b >= n:
                continue
            var = minibatch_variance(model, x, y, g, b, NOISE_DRAWS, gen)
            per[str(b)] = {"variance": var, "trace_cov": var * b * (n - 1) / (n - b)}
        own = per.get(str(self.batch), {}).get("trace_cov", math.nan)
        return {"grad_sq": g_sq, "batch": per, "noise_scale": own / g_sq if g_sq > 0 else math.nan}


class FirstLayerWeights(Probe):
    """The final first-layer weights (Linear: (units, 784) as (units, 28, 28); Conv: (out, in, k, k)),
    rounded to 5 decimals and stored as uint8 codes per unit or filter (:func:`reportgen.results.quantized.encode`),
    and their shape."""

    name = "first_layer_weights"

    def start(self, model: nn.Module, split: dict) -> None:
        pass

    def after_epoch(self, model: nn.Module, epoch: int) -> None:
        pass

    @torch.no_grad()
    def finish(self, model: nn.Module) -> None:
        w = weighted_layers(model)[0][1].weight.detach().float().cpu()
        if w.dim() == 2 and w.shape[1] == 784:
            w = w.reshape(-1, 28, 28)
        self.rows = [{"epoch": "final", "shape": list(w.shape), "weights": encode(np.round(w.numpy(), 5))}]


class DigitPanel(Probe):
    """For the test images ``indices``: the final model's top-3 classes and probabilities."""

    name = "digit_panel"

    def __init__(self, spec: ProbeSpec, config: RunConfig) -> None:
        super().__init__(spec, config)
        self.indices = list(spec.indices)

    def start(self, model: nn.Module, split: dict) -> None:
        self.x = split["test"][0]

    def after_epoch(self, model: nn.Module, epoch: int) -> None:
        pass

    @torch.no_grad()
    def finish(self, model: nn.Module) -> None:
        idx = [i for i in self.indices if i < len(self.x)]
        with measuring(model):
            p = F.softmax(model(self.x[idx]).float(), 1)
        top = p.topk(3, 1)
        self.rows = [{"index": i, "top": c.tolist(), "prob": v.tolist()}
                     for i, c, v in zip(idx, top.indices.cpu(), top.values.cpu())]


PROBES: dict[str, type[Probe]] = {c.name: c for c in (WeightNorms, WeightHistograms, GradNorms, Saturation,
                                                         GradNoise, FirstLayerWeights, DigitPanel)}


def make_probes(config: RunConfig) -> tuple[Probe, ...]:
    """The probes a run config declares, in declaration order."""
    return tuple(PROBES[s.name](s, config) for s in config.probes)
