"""What a model costs, measured from the model itself (never typed): parameters per layer, FLOPs per
image, and inference throughput. Not a numerics component (:mod:`reportgen.spec.numerics`): nothing here
changes a run's numbers.

FLOPs follow ``torch.utils.flop_counter.FlopCounterMode``: 2 FLOPs per multiply-add of convolutions
and matrix products (so a Linear(784, 128) costs 2·784·128 = 200,704 FLOPs per image); elementwise
ops, pooling, normalisation and activations are not counted.
"""
from __future__ import annotations

import time

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

#: MNIST's image (channels, height, width): the default input of the measurements.
IMAGE = (1, 28, 28)


def flops_per_image(model: nn.Module, shape: tuple[int, ...] = IMAGE) -> int:
    """Forward FLOPs for one ``shape`` (C, H, W) image in eval mode (see the module docstring for what counts)."""
    was_training = model.training
    model.eval()
    p = next(model.parameters())
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        model(torch.zeros((1, *shape), device=p.device, dtype=p.dtype))
    model.train(was_training)
    return int(counter.get_total_flops())


def architecture(model: nn.Module, shape: tuple[int, ...] = IMAGE) -> list[dict]:
    """One row per leaf module (no children), in call order:
    ``{"layer": dotted name, "type": class name, "output": [C, H, W] or [N], "params": int}``
    (trainable parameters of that module itself; their sum is the model's count)."""
    rows: list[dict] = []
    hooks = []

    def hook(name: str):
        def fn(module: nn.Module, inputs, output) -> None:
            rows.append({"layer": name, "type": type(module).__name__, "output": list(output.shape[1:]),
                         "params": sum(q.numel() for q in module.parameters(recurse=False) if q.requires_grad)})
        return fn

    for name, module in model.named_modules():
        if not list(module.children()):
            hooks.append(module.register_forward_hook(hook(name)))
    was_training = model.training
    model.eval()
    p = next(model.parameters())
    try:
        with torch.no_grad():
            model(torch.zeros((1, *shape), device=p.device, dtype=p.dtype))
    finally:
        for h in hooks:
            h.remove()
        model.train(was_training)
    return rows


@torch.no_grad()
def images_per_second(model: nn.Module, x: torch.Tensor, batch: int = 1000, repeats: int = 2) -> float:
    """Inference throughput, images/s, on ``x`` (N, C, H, W) on its device in eval mode: the best of
    ``repeats`` timed passes after one warm-up batch (best-of because other processes only slow it)."""
    from reportgen.run.train import precision

    model.eval()
    with precision(x.device):
        model(x[:batch])
        best = float("inf")
        for _ in range(repeats):
            if x.device.type == "cuda":
                torch.cuda.synchronize()
            t0 = time.perf_counter()
            for i in range(0, len(x), batch):
                model(x[i:i + batch])
            if x.device.type == "cuda":
                torch.cuda.synchronize()
            best = min(best, time.perf_counter() - t0)
    return len(x) / best


def describe(model: nn.Module, shape: tuple[int, ...] = IMAGE) -> dict:
    """``{"flops": int, "architecture": rows}`` for a result, measured on one ``shape`` (C, H, W) image."""
    return {"flops": flops_per_image(model, shape), "architecture": architecture(model, shape)}
