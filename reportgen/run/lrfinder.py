"""The learning-rate range test (L. N. Smith 2017, "Cyclical Learning Rates for Training Neural
Networks", sec. 3.3): train one epoch while the learning rate grows exponentially from ``start_lr``
to ``end_lr``, record the loss of every step, and read a learning rate off the curve.

A run whose ``train.range_test`` is set is trained here instead of by :func:`reportgen.run.train.train_run`
(numerics component ``range_test``). Same model, optimizer, data split and data order as a normal
run; no validation passes (the curve is the result).
"""
from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F

from reportgen.data.mnist import MNIST
from reportgen.run.models import build
from reportgen.run.optim import make_optimizer
from reportgen.spec.config import RunConfig

#: Weight of the exponential moving average of the loss (fastai's ``lr_find`` uses 0.98), and the
#: bias correction of Kingma & Ba (2015) so the first steps are not pulled towards 0.
SMOOTHING = 0.98
#: The test stops once the smoothed loss exceeds this multiple of its minimum (divergence).
DIVERGED = 4.0


def range_test(config: RunConfig, seed: int, data: MNIST) -> dict[str, Any]:
    """One epoch of exponentially growing lr. Returns ``{"status", "reason", "params", "range_test":
    {"lr": [...], "loss": [...], "smoothed": [...], "min_loss_lr", "steepest_lr", "suggested_lr",
    "steps", "stopped_at"}}``; lrs are the optimizer's lr at each step, losses are nats.

    ``suggested_lr`` = ``min_loss_lr / 10``: the lr one decade below where the smoothed loss bottoms
    out (the rule of thumb of Smith 2017 and fastai's ``lr_find``, robust to a noisy slope);
    ``steepest_lr`` (the steepest descent of the smoothed loss) is recorded beside it.
    """
    rt = config.train.range_test
    device = data.x_train.device
    torch.manual_seed(seed)
    model = build(config.model.model_dump(), data.shape, data.classes).to(device)
    opt = make_optimizer(model, config.optim.model_copy(update={"lr": rt.start_lr}))
    x, y = data.split(config.data.val_size, config.data.train_subset, config.data.test_subset,
                      config.data.shuffled_labels, seed)["train"]
    order = torch.Generator().manual_seed(seed)
    perm = torch.randperm(len(x), generator=order).to(device)
    bs = config.train.batch_size
    steps = max(2, math.ceil(len(perm) / bs))
    growth = (rt.end_lr / rt.start_lr) ** (1 / (steps - 1))
    lrs, losses, smoothed, avg, best = [], [], [], 0.0, math.inf
    reason = "reached end_lr"
    model.train()
    for step in range(steps):
        lr = rt.start_lr * growth ** step
        for g in opt.param_groups:
            g["lr"] = lr
        idx = perm[step * bs:(step + 1) * bs]
        loss = F.cross_entropy(model(x[idx]).float(), y[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        value = loss.item()
        avg = SMOOTHING * avg + (1 - SMOOTHING) * value
        smooth = avg / (1 - SMOOTHING ** (step + 1))
        lrs.append(lr)
        losses.append(value)
        smoothed.append(smooth)
        best = min(best, smooth)
        if not math.isfinite(value) or smooth > DIVERGED * best:
            reason = f"loss diverged at lr {lr:.3g} (step {step + 1} of {steps})"
            break
    return {"status": "completed", "reason": reason, "params": sum(p.numel() for p in model.parameters()),
            "range_test": {"lr": lrs, "loss": losses, "smoothed": smoothed, **suggest(lrs, smoothed),
                           "steps": steps, "stopped_at": len(lrs)}, "model": model}


def suggest(lrs: list[float], smoothed: list[float]) -> dict[str, float]:
    """``min_loss_lr`` (lr at the smoothed minimum), ``suggested_lr`` (a tenth of it) and
    ``steepest_lr`` (most negative d loss / d log lr, by finite differences, before the minimum)."""
    i_min = min(range(len(smoothed)), key=smoothed.__getitem__)
    slopes = [(smoothed[i + 1] - smoothed[i]) / math.log(lrs[i + 1] / lrs[i]) for i in range(max(i_min, 1))
              if i + 1 < len(lrs)]
    i_steep = min(range(len(slopes)), key=slopes.__getitem__) if slopes else 0
    return {"min_loss_lr": lrs[i_min], "suggested_lr": lrs[i_min] / 10, "steepest_lr": lrs[i_steep]}
