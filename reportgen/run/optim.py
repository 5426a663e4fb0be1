"""Optimizer, learning-rate schedule and L2 penalty from a run config (torch.optim as it is)."""
from __future__ import annotations

import torch
from torch import nn

from reportgen.spec.config import Optim, Scheduler


def make_optimizer(model: nn.Module, o: Optim) -> torch.optim.Optimizer:
    """SGD / RMSprop / Adam / AdamW with the spec's lr, momentum, nesterov and weight_decay."""
    params, kw = model.parameters(), {"lr": o.lr, "weight_decay": o.weight_decay}
    if o.name == "sgd":
        return torch.optim.SGD(params, momentum=o.momentum, nesterov=o.nesterov, **kw)
    if o.name == "rmsprop":
        return torch.optim.RMSprop(params, momentum=o.momentum, **kw)
    return {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW}[o.name](params, **kw)


def make_scheduler(opt: torch.optim.Optimizer, s: Scheduler | None, epochs: int):
    """The epoch-stepped scheduler, or None. ``plateau`` is stepped with val_loss."""
    if s is None:
        return None
    if s.name == "plateau":
        return torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=s.factor, patience=s.patience)
    if s.name == "step":
        return torch.optim.lr_scheduler.StepLR(opt, step_size=s.step_size, gamma=s.gamma)
    return torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)


def l2_penalty(model: nn.Module) -> torch.Tensor:
    """Σ‖W‖² over dense kernels (Linear weights, not biases), as Keras' ``kernel_regularizer=l2(λ)``
    adds λ·Σ‖W‖² to the loss (Keras docs, ``tf.keras.regularizers.L2``)."""
    return torch.stack([m.weight.square().sum() for m in model.modules() if isinstance(m, nn.Linear)]).sum()
