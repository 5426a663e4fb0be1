"""The canonical PyTorch MNIST loop, the baseline of ``python -m bench.runner``.

Written in the style of pytorch/examples ``mnist/main.py`` (https://github.com/pytorch/examples/blob/main/mnist/main.py):
``torchvision.datasets.MNIST`` read from the data root, per-sample PIL → ``ToTensor`` →
``Normalize((0.1307,), (0.3081,))`` in a shuffling ``DataLoader``, ``train()`` with one optimizer step
per batch and ``test()`` after every epoch. On CUDA the loader uses ``num_workers=1`` and
``pin_memory=True``, as the example does. Augmentation, when a workload has it, is what a typical
notebook writes: torchvision ``RandomAffine`` / ``RandomPerspective`` on each PIL image.

What differs from the example, so that both sides of the benchmark train the same thing:

- the model, optimizer and schedule come from the same :class:`reportgen.spec.schema.RunConfig` as the
  runner's (the model built by :func:`reportgen.run.models.build`, which ends in logits, hence
  ``cross_entropy`` instead of ``log_softmax`` + ``nll_loss``);
- the training images are the runner's training split (a ``Subset`` of the first ``n_train``);
- the shuffle is ``shuffle=True``'s ``RandomSampler`` given its own generator seeded with the run's
  seed, so it draws the very permutation the runner draws each epoch, and the loader gets a second
  seeded generator for its base seed, so the global RNG (dropout masks) sees the same draws on both
  sides. Without augmentation, on the CPU, both sides then compute the same training run;
- nothing is printed.

Not a numerics component (:mod:`reportgen.spec.numerics`): nothing trained for a study runs through this module.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, RandomSampler, Subset
from torchvision import datasets, transforms

from reportgen.data.mnist import MEAN, STD
from reportgen.run.optim import l2_penalty

#: Batches between two reads of the loss (pytorch/examples ``--log-interval``): on CUDA each read
#: is a host sync, which the example pays too.
LOG_INTERVAL = 10


def transform(augment: dict | None = None) -> transforms.Compose:
    """PIL image → normalised float (1, 28, 28), with the spec's ``Augment`` (as a dict) applied to
    the PIL image first: rotation ±``rotation``°, translation ``translate`` × size, scale
    1 ± ``scale`` (all p=1), then perspective ``perspective`` with p=``perspective_p``. Bilinear
    interpolation and a black fill, as the runner's kornia pipeline (``reportgen.run.augment``)."""
    ops: list[Any] = []
    if augment:
        bilinear = transforms.InterpolationMode.BILINEAR
        s = augment["scale"]
        ops.append(transforms.RandomAffine(degrees=augment["rotation"], translate=(augment["translate"],) * 2,
                                           scale=(1 - s, 1 + s) if s else None, interpolation=bilinear))
        if augment["perspective"] > 0:
            ops.append(transforms.RandomPerspective(distortion_scale=augment["perspective"],
                                                    p=augment["perspective_p"], interpolation=bilinear))
    return transforms.Compose([*ops, transforms.ToTensor(), transforms.Normalize((MEAN,), (STD,))])


def loaders(root: Path, batch_size: int, n_train: int, n_test: int, device: torch.device,
            augment: dict | None = None, seed: int = 0, test_batch_size: int = 1000) -> tuple[DataLoader, DataLoader]:
    """(train, test) loaders over the first ``n_train`` training and ``n_test`` test images of the
    torchvision MNIST files under ``root`` (``root/MNIST/raw``; never downloads)."""
    train_set = Subset(datasets.MNIST(str(root), train=True, download=False, transform=transform(augment)),
                       range(n_train))
    test_set = Subset(datasets.MNIST(str(root), train=False, download=False, transform=transform()), range(n_test))
    kw: dict[str, Any] = {"num_workers": 1, "pin_memory": True} if device.type == "cuda" else {}
    order = torch.Generator().manual_seed(seed)
    train = DataLoader(train_set, batch_size=batch_size, sampler=RandomSampler(train_set, generator=order),
                       generator=torch.Generator().manual_seed(seed), **kw)
    test = DataLoader(test_set, batch_size=test_batch_size, **kw)
    return train, test


def train(model: nn.Module, device: torch.device, loader: DataLoader, optimizer: torch.optim.Optimizer,
          l2: float = 0.0) -> float:
    """One epoch, one optimizer step per batch; returns the last logged training loss (nats)."""
    model.train()
    logged = float("nan")
    for batch_idx, (data, target) in enumerate(loader):
        data, target = data.to(device), target.to(device)
        optimizer.zero_grad()
        output = model(data)
        loss = F.cross_entropy(output, target)
        (loss + l2 * l2_penalty(model) if l2 else loss).backward()
        optimizer.step()
        if batch_idx % LOG_INTERVAL == 0:
            logged = loss.item()
    return logged


@torch.no_grad()
def test(model: nn.Module, device: torch.device, loader: DataLoader) -> tuple[float, float]:
    """(mean cross-entropy in nats, accuracy as a fraction) on the test loader."""
    model.eval()
    loss, correct, n = 0.0, 0, 0
    for data, target in loader:
        data, target = data.to(device), target.to(device)
        output = model(data)
        loss += F.cross_entropy(output, target, reduction="sum").item()
        correct += (output.argmax(1) == target).sum().item()
        n += len(target)
    return loss / n, correct / n


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def fit(model: nn.Module, device: torch.device, train_loader: DataLoader, test_loader: DataLoader,
        optimizer: torch.optim.Optimizer, epochs: int, scheduler: Any = None, l2: float = 0.0) -> dict[str, Any]:
    """The example's ``for epoch: train(); test(); scheduler.step()``, timed.

    Returns ``{"train_seconds": [...], "test_seconds": [...], "test_loss", "test_acc"}``: wall seconds
    of each epoch's training pass and test pass (CUDA synchronised before the clock stops), and the
    last test pass's loss (nats) and accuracy (fraction). A ``ReduceLROnPlateau`` schedule is stepped
    with the logged training loss: this loop has no validation split, and stepping it on the test
    loss would let the test set choose.
    """
    out: dict[str, Any] = {"train_seconds": [], "test_seconds": []}
    for _ in range(epochs):
        _sync(device)
        start = time.perf_counter()
        train_loss = train(model, device, train_loader, optimizer, l2)
        _sync(device)
        mid = time.perf_counter()
        out["test_loss"], out["test_acc"] = test(model, device, test_loader)
        out["train_seconds"].append(mid - start)
        out["test_seconds"].append(time.perf_counter() - mid)
        if scheduler is not None:
            is_plateau = isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau)
            scheduler.step(train_loss) if is_plateau else scheduler.step()
    return out
