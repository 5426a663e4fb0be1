"""Optimizer, learning-rate schedule and L2 penalty from a run config (torch.optim as it is)."""
from __future__ import annotations

import torch
from torch import nn

from reportgen.spec.config import Optim, Scheduler


def make_optimizer(model: nn.Module, o: Optim, flat: bool = False) -> torch.optim.Optimizer:
    """SGD / RMSprop / Adam / AdamW with the spec's lr, momentum, nesterov, weight_decay and ``fused``
    (torch's fused kernel, sgd / adam / adamw). ``flat``: over :func:`flat_parameters` (zero its
    gradients in place, ``zero_grad(set_to_none=False)``)."""
    params, kw = flat_parameters(model) if flat else model.parameters(), {"lr": o.lr, "weight_decay": o.weight_decay}
    if o.fused:
        kw["fused"] = True
    if o.name == "sgd":
        return torch.optim.SGD(params, momentum=o.momentum, nesterov=o.nesterov, **kw)
    if o.name == "rmsprop":
        return torch.optim.RMSprop(params, momentum=o.momentum, **kw)
    return {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW}[o.name](params, **kw)


def flat_parameters(model: nn.Module) -> list[nn.Parameter]:
    """The model's parameters moved into one contiguous buffer and their gradients into another: returns
    ``[flat]``, a Parameter over the first whose ``.grad`` is the second; each module parameter becomes a
    view of ``flat`` (same values, shape and order) and its ``.grad`` a view of ``flat.grad``, so the
    backward pass accumulates into the buffer and an optimizer updates every weight in a few kernel
    calls instead of a few per parameter tensor (for the 784-128-10 MLP, Adam's step took 0.43 ms over
    its 4 tensors and 0.32 ms over one, batch 32, one CPU thread).

    The numbers do not change: torch's SGD, RMSprop, Adam and AdamW compute each element from that
    element alone, with scalars shared by all, so one tensor or four give the same floats (compared
    bit for bit in ``tests/test_train.py``). The gradients must be zeroed in place
    (``zero_grad(set_to_none=False)``): set to None, the module's views would lose their buffer.

    Returns the module's own parameters unchanged when they are not all contiguous tensors of one
    dtype and device (a ``channels_last`` conv model keeps its layout)."""
    params = [p for p in model.parameters() if p.requires_grad]
    if not params or len({(p.dtype, p.device) for p in params}) > 1 or not all(p.is_contiguous() for p in params):
        return params
    with torch.no_grad():
        flat = nn.Parameter(torch.cat([p.reshape(-1) for p in params]))
    flat.grad = torch.zeros_like(flat)
    offset = 0
    for p in params:
        n = p.numel()
        p.data = flat.data[offset:offset + n].view_as(p)
        p.grad = flat.grad[offset:offset + n].view_as(p)
        offset += n
    return [flat]


def joined_optimizer_state(state: dict, opt: torch.optim.Optimizer) -> dict:
    """An optimizer ``state_dict`` saved over one tensor per parameter, made to fit ``opt`` when that
    updates the same parameters as one buffer (:func:`flat_parameters`): each per-parameter tensor
    (Adam's moments, a momentum buffer) is flattened and joined in parameter order, and a value every
    parameter shares (Adam's ``step``) is taken from the first. A checkpoint written before the buffer
    then resumes bit for bit. Any other ``state`` is returned as it is."""
    groups = state.get("param_groups") or []
    if len(groups) != 1 or len(groups[0]["params"]) < 2 or [len(g["params"]) for g in opt.param_groups] != [1]:
        return state
    per = [state["state"].get(i) for i in groups[0]["params"]]
    if any(not s or s.keys() != per[0].keys() for s in per):
        return state  # a parameter without state: nothing to join it from (load_state_dict says why)
    joined = {k: (torch.cat([s[k].reshape(-1) for s in per]) if torch.is_tensor(v) and v.dim() > 0 else v)
              for k, v in per[0].items()}
    return {"state": {0: joined}, "param_groups": [{**groups[0], "params": [0]}]}


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
