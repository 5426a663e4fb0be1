"""Multi-run training: K runs of one architecture trained in one step (issue 8, "Speed in the runner").

A small model on a GPU is bound by kernel launches, not arithmetic, so K runs cost nearly the launches
of one when their weights are stacked and one vmapped forward/backward runs over all of them (PyTorch
docs, "Model ensembling", https://pytorch.org/tutorials/intermediate/ensembling.html; as there, a
weightless 'meta' skeleton of the model is called under ``torch.vmap`` with the stacked tensors, which
is what ``torch.func.functional_call`` does, minus its per-call overhead). Unlike
``torch.func.stack_module_state``, which makes the stack the leaf, each run keeps its own nn.Module as
the leaf and the stack is rebuilt (differentiably, ``torch.stack``) every step: gradients land in each
run's own parameters, so its optimizer, l2 penalty, best-epoch copy and final model are exactly
``train_run``'s, and a run can leave the pack (early stop, divergence, fewer epochs) while the others go
on. Everything that makes a run that run stays its own, as :func:`reportgen.run.train.train_run` sets it
up: weights from ``torch.manual_seed(seed); build(model)``, data order from its seeded CPU generator,
labels from ``data.split(..., seed)``, dropout masks from its own copy of the global RNG, optimizer,
lr schedule, early stopping and divergence. On the CPU a packed run's numbers therefore equal the run
trained alone up to float summation order (vmapped matmuls and convolutions sum in another order: in
float64 they agree to ~1e-14; in float32 a ReLU or max-pool at a near tie can take the other branch,
after which the two runs part by ~1e-2 in their gradients, as a run alone does on other CPU kernels;
``bench/packing_drift.py``); on CUDA they agree in distribution (bf16 autocast, and CUDA dropout masks
come from a per-run generator).
One family drifts further on the CPU too: ``CNN(batchnorm=True)`` keeps a conv bias before BatchNorm,
whose true gradient is 0, and Adam scales the rounding noise left in it to full-size steps; any change
of summation order (packing, thread count) moves those biases by ~lr per step (val_loss by ~1e-4).

What packs (:func:`pack_key`): the same model structure (``init`` and dropout rates may differ; whether
dropout is there may not), the same ``batch_size`` and the same train split (``val_size``,
``train_subset``); optimizer, lr, l2, epochs, scheduler, early stopping, ``shuffled_labels`` and
``test_subset`` may differ. Never packed: probes (they hook one module), augmentation (its RNG is not
reproduced here), ResNets (torchvision's, compute-bound; packing buys little). Packed runs are not
checkpointed per epoch; an interrupted pack starts again.
"""
from __future__ import annotations

import copy
import json
import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, TypeVar

import torch
import torch.nn.functional as F
from torch import nn

from reportgen.data.mnist import MNIST
from reportgen.run.optim import l2_penalty, make_optimizer, make_scheduler
# The loop's own pieces, imported rather than copied, so a packed run is set up, evaluated, decides best
# epoch / early stop / divergence, computes precision and closes exactly as an unpacked one.
from reportgen.run.train import (
    TRAIN_EVAL_IMAGES,
    TrainState,
    decide,
    evaluate,
    finish,
    outcome,
    precision,
    start,
)
from reportgen.spec.config import RunConfig

T = TypeVar("T")
PACKABLE_KINDS = ("mlp", "cnn", "layers")


def _structure(model: Any) -> Any:
    """The model config with what does not change the module tree taken out: ``init`` dropped, every
    ``dropout`` rate reduced to whether a Dropout module is there."""
    if isinstance(model, dict):
        return {k: (v > 0 if k == "dropout" else _structure(v)) for k, v in model.items() if k != "init"}
    if isinstance(model, (list, tuple)):
        return [_structure(v) for v in model]
    return model


def pack_key(config: RunConfig | dict) -> str | None:
    """A string equal for runs that can be trained together, or None when the run must train alone
    (probes, augmentation, a ResNet)."""
    c = (config if isinstance(config, RunConfig) else RunConfig.model_validate(config)).model_dump(mode="json")
    if c["probes"] or c["train"]["augment"] or c["model"]["kind"] not in PACKABLE_KINDS:
        return None
    return json.dumps({"model": _structure(c["model"]), "batch_size": c["train"]["batch_size"],
                       "val_size": c["data"]["val_size"], "train_subset": c["data"]["train_subset"],
                       **({"dataset": c["data"]["dataset"]} if c["data"].get("dataset", "mnist") != "mnist" else {})},
                      sort_keys=True)


def can_pack(configs: Iterable[RunConfig | dict]) -> bool:
    """True when every config has the same non-None :func:`pack_key`."""
    keys = {pack_key(c) for c in configs}
    return len(keys) == 1 and None not in keys


def groups(items: Iterable[T], config_of: Callable[[T], RunConfig | dict] = lambda item: item,
           max_runs: int = 8) -> list[list[T]]:
    """``items`` (configs, jobs, …) in packs of at most ``max_runs`` that :func:`can_pack`; a run that
    cannot be packed is a pack of one. Packs keep the items' order, by first appearance."""
    packs: dict[Any, list[list[T]]] = {}
    order: list[list[T]] = []
    for i, item in enumerate(items):
        key = pack_key(config_of(item))
        key = key if key is not None else ("alone", i)
        if key not in packs or len(packs[key][-1]) >= max_runs:
            packs.setdefault(key, []).append([])
            order.append(packs[key][-1])
        packs[key][-1].append(item)
    return order


class _NoiseDropout(nn.Module):
    """nn.Dropout for the packed skeleton: multiplies by ``noise`` (drawn per run outside vmap and
    passed in as a buffer), the same ``input * (bernoulli(1-p) / (1-p))`` as ATen's CPU dropout."""

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("noise", torch.empty(0), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.noise if self.training else x


@dataclass
class _Run:
    config: RunConfig
    seed: int
    model: nn.Module
    split: dict
    order: torch.Generator
    rng: torch.Generator  # dropout masks: the global RNG as train_run would find it after its set-up
    opt: Any = None
    sched: Any = None
    s: TrainState = field(default_factory=TrainState)

    @property
    def live(self) -> bool:
        return not self.s.done and len(self.s.history) < self.config.train.epochs


def _start(config: RunConfig, seed: int, data: MNIST) -> _Run:
    """train_run's set-up (:func:`reportgen.run.train.start`), plus the run's own dropout generator."""
    run = start(config, seed, data)
    device = data.x_train.device
    if device.type == "cpu":
        rng = torch.Generator().set_state(torch.get_rng_state())
    else:  # CUDA dropout is a fused kernel whose draws cannot be mirrored: same distribution, own stream
        rng = torch.Generator(device=device).manual_seed(seed)
    return _Run(config, seed, run.model, run.split, run.order, rng)


def _optimizers(runs: list[_Run]) -> None:
    """One optimizer per distinct optim config (over all its runs' parameters: SGD, RMSprop, Adam and
    AdamW update each parameter tensor on its own, so sharing one changes no number and saves launches);
    a run with a scheduler gets its own, since a plateau schedule follows that run's val_loss."""
    shared: dict[str, list[_Run]] = {}
    for i, r in enumerate(runs):
        key = r.config.optim.model_dump_json() + (f"#{i}" if r.config.train.scheduler else "")
        shared.setdefault(key, []).append(r)
    for rs in shared.values():
        opt = make_optimizer(nn.ModuleList([r.model for r in rs]), rs[0].config.optim)
        for r in rs:
            r.opt = opt
            r.sched = make_scheduler(opt, r.config.train.scheduler, r.config.train.epochs)


def _skeleton(model: nn.Module) -> tuple[nn.Module, dict[str, tuple[int, ...]]]:
    """A weightless copy of ``model`` (on 'meta') with Dropout swapped for :class:`_NoiseDropout`, and
    the per-image input shape of each Dropout, in the order the forward pass reaches them."""
    if any(isinstance(m, nn.modules.dropout._DropoutNd) and type(m) is not nn.Dropout for m in model.modules()):
        raise ValueError("only nn.Dropout can be packed")
    shapes: dict[str, tuple[int, ...]] = {}
    names = {m: n for n, m in model.named_modules()}

    def record(m: nn.Module, args: tuple) -> None:  # returns None: a pre-hook's return value replaces the input
        shapes.setdefault(names[m], tuple(args[0].shape[1:]))

    hooks = [m.register_forward_pre_hook(record) for m in model.modules() if isinstance(m, nn.Dropout)]
    p0 = next(model.parameters())
    with torch.no_grad():
        model.eval()(torch.zeros(1, 1, 28, 28, device=p0.device))
    for h in hooks:
        h.remove()
    skeleton = copy.deepcopy(model).to("meta")
    for name in shapes:
        parent, _, child = name.rpartition(".")
        setattr(skeleton.get_submodule(parent) if parent else skeleton, child, _NoiseDropout())
    return skeleton.train(), shapes


def _slots(skeleton: nn.Module, names: list[str]) -> list[tuple[dict, str]]:
    """(the owning module's ``_parameters`` or ``_buffers`` dict, attribute) per dotted name."""
    out = []
    for name in names:
        parent, _, attr = name.rpartition(".")
        m = skeleton.get_submodule(parent)
        out.append((m._parameters if attr in m._parameters else m._buffers, attr))
    return out


def _noise(runs: list[_Run], shapes: dict[str, tuple[int, ...]], batch: int, device) -> dict[str, torch.Tensor]:
    """Per Dropout, (K, batch, *shape) multipliers; each run draws from its own generator in the order
    its own forward pass would (ATen's CPU dropout: ``empty_like(x).bernoulli_(1 - p).div_(1 - p)``)."""
    out: dict[str, list[torch.Tensor]] = {f"{n}.noise": [] for n in shapes}
    for r in runs:
        for n, shape in shapes.items():
            q = 1 - r.model.get_submodule(n).p
            out[f"{n}.noise"].append(torch.empty((batch, *shape), device=device).bernoulli_(q, generator=r.rng).div_(q))
    return {n: torch.stack(v) for n, v in out.items()}


def _packed_epoch(runs: list[_Run], skeleton: nn.Module, shapes: dict, x: torch.Tensor) -> tuple[list, list]:
    """One epoch of every run in ``runs`` (same batch_size, same x): per run (train_loss, train_acc)."""
    device, k, bs = x.device, len(runs), runs[0].config.train.batch_size
    perms = torch.stack([torch.randperm(len(x), generator=r.order) for r in runs]).to(device)
    ys = torch.stack([r.split["train"][1] for r in runs])
    weights = [[dict(r.model.named_parameters())[n] for r in runs] for n, _ in skeleton.named_parameters()]
    names = [n for n, _ in skeleton.named_parameters()]
    # Buffers (BatchNorm running stats) stay stacked for the epoch: the in-place updates land in the
    # stacked copy, which is written back before evaluation reads the runs' own modules.
    bufs = {n: torch.stack([r.model.get_buffer(n) for r in runs]) for n, _ in runs[0].model.named_buffers()}
    opts = list({id(r.opt): r.opt for r in runs}.values())
    l2s = [(r.config.optim.l2, r.model) for r in runs if r.config.optim.l2]

    slots = _slots(skeleton, [*names, *bufs, *(f"{n}.noise" for n in shapes)])

    def forward(tensors, xb):
        # What torch.func.functional_call does, minus its per-call checks (measured ~0.5 ms a step,
        # a GPU step's whole budget): the skeleton's slots take this step's (vmapped) tensors.
        for (store, attr), t in zip(slots, tensors):
            store[attr] = t
        return skeleton(xb)

    packed_forward = torch.vmap(forward)

    loss_sum = torch.zeros(k, device=device)
    correct = torch.zeros(k, device=device, dtype=torch.long)
    for i in range(0, len(x), bs):
        idx = perms[:, i:i + bs]
        xb, yb = x[idx], ys.gather(1, idx)
        params = [torch.stack(w) for w in weights]  # differentiable: the gradients reach each run's own leaves
        noise = _noise(runs, shapes, idx.shape[1], device) if shapes else {}
        with precision(device):
            logits = packed_forward([*params, *bufs.values(), *noise.values()], xb)
            loss = F.cross_entropy(logits.float().flatten(0, 1), yb.flatten(), reduction="none").view(k, -1).mean(1)
        for opt in opts:
            opt.zero_grad(set_to_none=True)
        # Runs share no parameter, so the sum's gradient is each run's own loss gradient.
        total = loss.sum()
        for l2, model in l2s:
            total = total + l2 * l2_penalty(model)
        total.backward()
        for opt in opts:  # a run that left the pack has grad None and is skipped by the optimizer
            opt.step()
        loss_sum += loss.detach() * idx.shape[1]
        correct += (logits.argmax(-1) == yb).sum(1)
    with torch.no_grad():
        for j, r in enumerate(runs):
            r.s.step += -(-len(x) // bs)
            for n, b in bufs.items():
                r.model.get_buffer(n).copy_(b[j])
    return (loss_sum / len(x)).tolist(), (correct / len(x)).tolist()


def train_packed(configs: list[RunConfig], seeds: list[int], data: MNIST,
                 on_epoch: Callable[[int, dict], None] | None = None) -> list[dict[str, Any]]:
    """Train ``configs[i]`` with ``seeds[i]`` together, on ``data``'s device; one result per run, in
    order, shaped as :func:`reportgen.run.train.train_run`'s (``probes`` is ``{}``).

    A run leaves the pack when it stops (its epochs, early stopping or divergence); the others go on.
    ``history[*].seconds`` is the run's share: the packed training time divided by the runs in the
    pack that epoch, plus its own evaluation time (so seconds summed over runs give the wall time).
    ``on_epoch(i, row)`` is called with run ``i``'s history row. Raises ValueError when the configs
    cannot be packed (:func:`can_pack`) or the lists differ in length.
    """
    if len(configs) != len(seeds) or not can_pack(configs):
        raise ValueError("these runs cannot be trained together (see reportgen.run.multirun.pack_key)")
    runs = [_start(c, s, data) for c, s in zip(configs, seeds)]
    _optimizers(runs)
    skeleton, shapes = _skeleton(runs[0].model)
    x = runs[0].split["train"][0]
    epoch = 0
    while any(r.live for r in runs):
        epoch += 1
        live = [r for r in runs if r.live]
        start = time.perf_counter()
        train_loss, train_acc = _packed_epoch(live, skeleton, shapes, x)
        share = (time.perf_counter() - start) / len(live)
        for j, r in enumerate(live):
            t0 = time.perf_counter()
            y = r.split["train"][1]
            tr_loss, tr_acc = evaluate(r.model, x[:TRAIN_EVAL_IMAGES], y[:TRAIN_EVAL_IMAGES])
            val_loss, val_acc = evaluate(r.model, *r.split["val"])
            lr = r.opt.param_groups[0]["lr"]
            sched = r.config.train.scheduler
            if r.sched is not None and math.isfinite(val_loss):
                r.sched.step(val_loss) if sched.name == "plateau" else r.sched.step()
            r.s.history.append({"epoch": epoch, "train_loss": train_loss[j], "train_acc": train_acc[j],
                                   "train_eval_loss": tr_loss, "train_eval_acc": tr_acc, "val_loss": val_loss,
                                   "val_acc": val_acc, "lr": lr, "seconds": share + time.perf_counter() - t0})
            decide(r.s, epoch, r.model, r.config.train.early_stopping)
            if on_epoch:
                on_epoch(runs.index(r), r.s.history[-1])
    return [_result(r) for r in runs]


def _result(r: _Run) -> dict[str, Any]:
    """train_run's closing step (best-epoch weights, restore_best, test metrics), without probes."""
    final, best_model = finish(r.s, r.model, r.config.train.early_stopping)
    return {**outcome(r.s, r.model, final, best_model, r.split["test"]), "probes": {}}
