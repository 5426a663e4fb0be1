"""How long planned runs will take, from the seconds per epoch that finished runs recorded.

A run is matched to recorded runs by decreasing similarity: the same model and batch size, then the
same model family and batch size, then the same family. The estimate is epochs × the median recorded
seconds per epoch; a run with nothing similar on record is counted as unknown, never guessed. A match
on the family alone (another model of the kind: a ResNet-50 planned, ResNet-18s recorded) is scaled
by FLOPs when both sides have them, as below: within a family the cost per FLOP is alike, the
FLOPs are not (ResNet-50 costs 2.3× ResNet-18's).

For those, :func:`scaled_estimate` gives a separate, labelled figure: the run's FLOPs per image ×
training images × epochs × the seconds per image-FLOP recorded by the models nearest to it in FLOPs
(training costs about three forward passes, Kaplan et al. 2020, §2.1, so time grows with forward
FLOPs at a rate each recorded model measured). It is a scale, not a measurement: a
memory-bound model (a ResNet's many small feature maps) runs slower per FLOP than its neighbours.
"""
from __future__ import annotations

import json
import math
from collections import defaultdict
from typing import Callable
from pathlib import Path
from statistics import median

from reportgen.data.catalog import split_sizes
from reportgen.results import store


def _levels(config: dict) -> list[str]:
    """Similarity keys, most specific first; runs on another data set than MNIST match only runs on theirs."""
    model, batch = config["model"], config["train"]["batch_size"]
    dataset = config["data"].get("dataset", "mnist")
    tag = "" if dataset == "mnist" else json.dumps(dataset, sort_keys=True)
    return [tag + json.dumps([model, batch], sort_keys=True), tag + json.dumps([model["kind"], batch]),
            tag + model["kind"]]


def finished(results: Path) -> list[dict]:
    """The finished runs under ``results`` that recorded a history and their config, read once so
    that :func:`estimate` and :func:`scaled_estimate` can share them."""
    return [r for _, r in store.iter_results(results)
            if r.get("status") in store.FINAL and r.get("history") and "config" in r]


def timing_table(results: Path, runs: list[dict] | None = None) -> dict[str, list[tuple[float, float | None]]]:
    """Per similarity key, each finished run on record as (median seconds per epoch, seconds per
    image-FLOP or None when it recorded no ``flops``); ``runs``: :func:`finished` of ``results``,
    when already read."""
    table: dict[str, list[tuple[float, float | None]]] = defaultdict(list)
    for r in finished(results) if runs is None else runs:
        for key in _levels(r["config"]):
            table[key].append((_per_epoch(r), _rate(r) if r.get("flops") else None))
    return table


def estimate(configs: list[dict], results: Path, runs: list[dict] | None = None,
             flops_of: Callable[[dict], int] | None = None) -> tuple[float, list[dict]]:
    """(estimated seconds for all ``configs`` with a similar record, the configs with none).
    ``flops_of(config)``: FLOPs per image, to scale matches on the family alone (module docstring);
    without it they count at the family's seconds per epoch."""
    table = timing_table(results, runs)
    total, unknown = 0.0, []
    for cfg in configs:
        level, match = next(((i, table[k]) for i, k in enumerate(_levels(cfg)) if table.get(k)), (None, None))
        if match is None:
            unknown.append(cfg)
            continue
        rates = [rate for _, rate in match if rate is not None]
        if level > 0 and flops_of is not None and rates:
            total += _scaled(cfg, flops_of(cfg), median(rates))
        else:
            total += cfg["train"]["epochs"] * median(per_epoch for per_epoch, _ in match)
    return total, unknown


def train_images(config: dict) -> int:
    """Images one epoch of ``config`` trains on: the data set's training split (MNIST's 60,000,
    scikit-learn digits' 1,437, a folder's images less its test share) less ``val_size``, capped by
    ``train_subset``."""
    d = config["data"]
    n = split_sizes(d.get("dataset", "mnist"))[0] - d["val_size"]
    return min(n, d["train_subset"]) if d.get("train_subset") else n


def _per_epoch(run: dict) -> float:
    return median(h["seconds"] for h in run["history"])


def _rate(run: dict) -> float:
    """Seconds per image-FLOP of a finished run that recorded its ``flops``."""
    return _per_epoch(run) / (run["flops"] * train_images(run["config"]))


def _scaled(config: dict, flops: int, rate: float) -> float:
    """Seconds for ``config`` at ``flops`` per image and ``rate`` seconds per image-FLOP."""
    return config["train"]["epochs"] * train_images(config) * flops * rate


def flop_rates(results: Path, runs: list[dict] | None = None) -> dict[str, tuple[int, float]]:
    """Per recorded model (its config as JSON): (FLOPs per image, median seconds per image-FLOP
    over its finished runs). Runs recorded without ``flops`` are left out."""
    rates: dict[str, list[float]] = defaultdict(list)
    flops: dict[str, int] = {}
    for r in finished(results) if runs is None else runs:
        if f := r.get("flops"):
            key = json.dumps(r["config"]["model"], sort_keys=True)
            flops[key] = f
            rates[key].append(_rate(r))
    return {k: (flops[k], median(v)) for k, v in rates.items()}


def scaled_estimate(configs: list[dict], flops_of: Callable[[dict], int], results: Path,
                    neighbours: int = 3, runs: list[dict] | None = None) -> float:
    """Seconds for ``configs`` scaled by FLOPs (module docstring) from the ``neighbours`` recorded
    models nearest in log FLOPs per image; ``flops_of(config)`` gives a config's FLOPs per image.

    Raises:
        LookupError: no run on record has FLOPs to scale from.
    """
    table = flop_rates(results, runs)
    if not table:
        raise LookupError(f"no finished run under {results} recorded its FLOPs per image")
    total = 0.0
    for cfg in configs:
        f = flops_of(cfg)
        near = sorted(table.values(), key=lambda fr: abs(math.log(fr[0] / f)))[:neighbours]
        total += _scaled(cfg, f, median(rate for _, rate in near))
    return total
