"""One run: (resolved config, seed, data, device) → result dict. Pure: writes no files.

In the spirit of pytorch/examples ``mnist/main.py`` (train / evaluate / loop), with the data resident
on the device as one tensor and batches taken as index slices of a seeded permutation (no
DataLoader, no per-sample transforms). Probes and checkpoints are hooks the loop calls.
"""
from __future__ import annotations

import copy
import math
import time
from contextlib import nullcontext
from dataclasses import dataclass, field, fields
from typing import Any, Callable, Protocol

import torch
import torch.nn.functional as F
from torch import nn

from reportgen.run import augment, metrics
from reportgen.data.mnist import MNIST
from reportgen.run.models import build
from reportgen.run.optim import joined_optimizer_state, l2_penalty, make_optimizer, make_scheduler
from reportgen.spec.config import EarlyStopping, RunConfig

#: Images of the training split re-evaluated in eval mode each epoch (train_eval_*): running
#: train metrics are taken with dropout on and mid-update, which biases the generalization gap.
TRAIN_EVAL_IMAGES = 5000


class Probe(Protocol):
    """Training-time measurement; ``result()`` lands under ``probes.<name>`` in the run's JSON."""

    name: str

    def start(self, model: nn.Module, split: dict) -> None: ...
    def after_backward(self, model: nn.Module, step: int) -> None: ...
    def after_epoch(self, model: nn.Module, epoch: int) -> None: ...
    def finish(self, model: nn.Module) -> None: ...
    def state_dict(self) -> dict: ...
    def load_state_dict(self, state: dict) -> None: ...
    def result(self) -> Any: ...


def precision(device: torch.device):
    """bf16 autocast on CUDA (tensor cores); full fp32 on CPU, where bf16 was not faster on the
    2-core reference machine."""
    return torch.autocast("cuda", dtype=torch.bfloat16) if device.type == "cuda" else nullcontext()


@torch.no_grad()
def predict(model: nn.Module, x: torch.Tensor, batch: int = 2000) -> torch.Tensor:
    """Logits float32 (N, 10) in evaluation mode, in large batches."""
    model.eval()
    with precision(x.device):
        return torch.cat([model(x[i:i + batch]).float() for i in range(0, len(x), batch)])


def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    """(mean cross-entropy in nats, accuracy as a fraction) on (x, y)."""
    logits = predict(model, x)
    return F.cross_entropy(logits, y).item(), (logits.argmax(1) == y).float().mean().item()


def train_epoch(model, opt, x, y, perm, batch_size, l2, aug, probes, step) -> tuple[float, float, int]:
    """One pass over ``perm``; returns (mean train_loss, train_acc, global step)."""
    model.train()
    loss_sum = torch.zeros((), device=x.device)
    correct = torch.zeros((), device=x.device, dtype=torch.long)
    for i in range(0, len(perm), batch_size):
        idx = perm[i:i + batch_size]
        xb, yb = x.index_select(0, idx), y.index_select(0, idx)
        if aug:
            xb = aug(xb)
        with precision(x.device):
            logits = model(xb)
            loss = F.cross_entropy(logits.float(), yb)
        opt.zero_grad(set_to_none=False)  # in place: the gradients are views of one buffer (flat_parameters)
        (loss + l2 * l2_penalty(model) if l2 else loss).backward()
        step += 1
        for p in probes:
            p.after_backward(model, step)
        opt.step()
        loss_sum += loss.detach() * len(idx)  # summed on the device: no host sync per step
        correct += (logits.argmax(1) == yb).sum()
    return (loss_sum / len(perm)).item(), (correct / len(perm)).item(), step


@dataclass
class TrainState:
    """Where a run stands between epochs: what :func:`train_run` decides from and what a checkpoint keeps.

    ``history``: one row per finished epoch (see :func:`train_run`); ``best_loss`` (nats) and
    ``best_epoch`` (1-based; 0 before the first) of the lowest val_loss, with that epoch's weights in
    ``best_state`` (a ``state_dict``); ``step``: optimizer steps so far; ``status`` ``completed`` or
    ``diverged`` with its ``reason``; ``done``: the run stops before its last epoch (divergence, early stop).
    """

    history: list[dict[str, Any]] = field(default_factory=list)
    best_loss: float = math.inf
    best_epoch: int = 0
    best_state: dict[str, torch.Tensor] | None = None
    step: int = 0
    status: str = "completed"
    reason: str = ""
    done: bool = False

    def as_dict(self) -> dict[str, Any]:
        """The fields as a plain dict (no copies: the checkpoint pickles it as it is)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass
class Start:
    """A run set up as it begins: its freshly initialised ``model`` on the data's device, its ``split``
    (:meth:`reportgen.data.mnist.MNIST.split`: ``train``/``val``/``test`` tensors) and the seeded CPU
    generator of its data ``order``."""

    model: nn.Module
    split: dict[str, tuple[torch.Tensor, torch.Tensor]]
    order: torch.Generator


def start(config: RunConfig, seed: int, data: MNIST) -> Start:
    """The set-up every run shares, alone (:func:`train_run`) or packed (:mod:`reportgen.run.multirun`):
    ``torch.manual_seed(seed)``, the model built (its initialisation is the global RNG's first draws),
    ``channels_last`` for conv models on CUDA or when ``train.channels_last`` asks, the seeded split and
    data order. The global RNG is left where the model's initialisation left it (dropout and
    augmentation draw from there)."""
    device = data.x_train.device
    torch.manual_seed(seed)
    model = build(config.model.model_dump(), data.shape, data.classes).to(device)
    if (device.type == "cuda" or config.train.channels_last) and config.model.kind != "mlp":
        model = model.to(memory_format=torch.channels_last)
    d = config.data
    split = data.split(d.val_size, d.train_subset, d.test_subset, d.shuffled_labels, seed)
    return Start(model, split, torch.Generator().manual_seed(seed))  # CPU generator: one order on every device


def train_run(config: RunConfig, seed: int, data: MNIST, probes: tuple[Probe, ...] = (),
              on_epoch: Callable[[dict], None] | None = None, resume: dict | None = None,
              checkpoint: Callable[[dict], None] | None = None) -> dict[str, Any]:
    """Train and test one run on ``data``'s device.

    ``checkpoint(state)`` is called after every epoch with everything needed to continue bit for bit
    (weights, optimizer, scheduler, RNG states, data-order generator, history); passing that dict
    back as ``resume`` continues the run.

    Returns a dict with ``status`` (``completed`` or ``diverged``), ``reason``, ``history`` (per epoch
    ``{epoch, train_loss, train_acc, train_eval_loss, train_eval_acc, val_loss, val_acc, lr,
    seconds}``; losses in nats, accuracies as fractions), ``best_epoch`` (lowest val_loss),
    ``stopped_epoch``, ``test`` (:func:`reportgen.run.metrics.test_metrics` of the final weights: the
    best epoch's when early stopping restores them, else the last), ``test_best_epoch`` (accuracy,
    loss, macro_f1 of the best epoch's weights), ``params``, ``probes`` and ``model``. A non-finite
    training loss ends the run as ``diverged``; it is not an error.
    """
    o, t = config.optim, config.train
    run = start(config, seed, data)
    model, split, order = run.model, run.split, run.order
    opt = make_optimizer(model, o, flat=True)
    sched = make_scheduler(opt, t.scheduler, t.epochs)
    aug = augment.make(t.augment, data.mean, data.std)
    (x, y), (xv, yv) = split["train"], split["val"]
    for p in probes:
        p.start(model, split)
    s = _restore(resume, model, opt, sched, order, probes) if resume else TrainState()
    while not s.done and len(s.history) < t.epochs:
        epoch, t0 = len(s.history) + 1, time.perf_counter()
        perm = torch.randperm(len(x), generator=order).to(x.device)
        train_loss, train_acc, s.step = train_epoch(model, opt, x, y, perm, t.batch_size, o.l2, aug, probes, s.step)
        tr_loss, tr_acc = evaluate(model, x[:TRAIN_EVAL_IMAGES], y[:TRAIN_EVAL_IMAGES])
        val_loss, val_acc = evaluate(model, xv, yv)
        lr = opt.param_groups[0]["lr"]
        if sched is not None and math.isfinite(val_loss):
            sched.step(val_loss) if t.scheduler.name == "plateau" else sched.step()
        for p in probes:
            p.after_epoch(model, epoch)
        s.history.append({"epoch": epoch, "train_loss": train_loss, "train_acc": train_acc,
                          "train_eval_loss": tr_loss, "train_eval_acc": tr_acc, "val_loss": val_loss,
                          "val_acc": val_acc, "lr": lr, "seconds": time.perf_counter() - t0})
        decide(s, epoch, model, t.early_stopping)
        if checkpoint:
            checkpoint(_snapshot(s, model, opt, sched, order, probes))
        if on_epoch:
            on_epoch(s.history[-1])
    final, best_model = finish(s, model, t.early_stopping)
    for p in probes:
        p.finish(final)
    return {**outcome(s, model, final, best_model, split["test"]), "probes": {p.name: p.result() for p in probes}}


def decide(s: TrainState, epoch: int, model: nn.Module, es: EarlyStopping | None) -> None:
    """Divergence, best epoch and early stopping, from the epoch just recorded (updates ``s``)."""
    h = s.history[-1]
    if not math.isfinite(h["train_loss"]):
        s.status, s.reason, s.done = "diverged", f"non-finite training loss ({h['train_loss']}) in epoch {epoch}", True
    elif h["val_loss"] < s.best_loss:
        s.best_loss, s.best_epoch, s.best_state = h["val_loss"], epoch, copy.deepcopy(model.state_dict())
    elif es and epoch - s.best_epoch >= es.patience:
        s.reason = f"early stop: val_loss did not improve for {es.patience} epochs after epoch {s.best_epoch}"
        s.done = True


def finish(s: TrainState, model: nn.Module, es: EarlyStopping | None) -> tuple[nn.Module, nn.Module]:
    """(final model, best-epoch model): the best epoch's weights are the final ones when early stopping
    restores them (``restore_best``), else the last epoch's."""
    best_model = copy.deepcopy(model)
    if s.best_state is not None:
        best_model.load_state_dict(s.best_state)
    final = best_model if es and es.restore_best and s.best_state is not None else model
    return final, best_model


def outcome(s: TrainState, model: nn.Module, final: nn.Module, best_model: nn.Module,
            test: tuple[torch.Tensor, torch.Tensor]) -> dict[str, Any]:
    """The result fields of a finished run (see :func:`train_run`), probes aside. When the final model
    is the best-epoch one (restored by early stopping) or the best epoch is the last, the test set is
    predicted once."""
    xt, yt = test
    tested = metrics.test_metrics(predict(final, xt), yt)
    same = final is best_model or (s.best_state is not None and s.best_epoch == len(s.history))
    at_best = tested if same else metrics.test_metrics(predict(best_model, xt), yt)
    return {"status": s.status, "reason": s.reason, "history": s.history, "best_epoch": s.best_epoch,
            "stopped_epoch": len(s.history), "test": tested,
            "test_best_epoch": {k: at_best[k] for k in ("accuracy", "loss", "macro_f1")},
            "params": sum(p.numel() for p in model.parameters()), "model": final}


def _snapshot(s: TrainState, model, opt, sched, order, probes) -> dict:
    return {**s.as_dict(), "model": model.state_dict(), "optim": opt.state_dict(),
            "sched": sched.state_dict() if sched else None, "order": order.get_state(),
            "torch_rng": torch.get_rng_state(),
            "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None,
            "probes": {p.name: p.state_dict() for p in probes}}


def _restore(c: dict, model, opt, sched, order, probes) -> TrainState:
    model.load_state_dict(c["model"])
    opt.load_state_dict(joined_optimizer_state(c["optim"], opt))
    if sched is not None:
        sched.load_state_dict(c["sched"])
    order.set_state(c["order"])
    torch.set_rng_state(c["torch_rng"])
    if c["cuda_rng"] is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(c["cuda_rng"])
    for p in probes:
        p.load_state_dict(c["probes"][p.name])
    return TrainState(**{f.name: c[f.name] for f in fields(TrainState)})

