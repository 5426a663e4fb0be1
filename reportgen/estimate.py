"""How long planned runs will take, from the seconds per epoch that finished runs recorded.

A run is matched to recorded runs by decreasing similarity: the same model and batch size, then the
same model family and batch size, then the same family. The estimate is epochs × the median recorded
seconds per epoch; a run with nothing similar on record is counted as unknown, never guessed.
"""
from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from statistics import median

from . import store


def _levels(config: dict) -> list[str]:
    model, batch = config["model"], config["train"]["batch_size"]
    return [json.dumps([model, batch], sort_keys=True), json.dumps([model["kind"], batch]), model["kind"]]


def timing_table(results: Path) -> dict[str, list[float]]:
    """Per similarity key, the median seconds per epoch of each finished run on record."""
    table: dict[str, list[float]] = defaultdict(list)
    for _, r in store.iter_results(results):
        hist = r.get("history") or []
        if r.get("status") in store.FINAL and hist and "config" in r:
            per_epoch = median(h["seconds"] for h in hist)
            for key in _levels(r["config"]):
                table[key].append(per_epoch)
    return table


def estimate(configs: list[dict], results: Path) -> tuple[float, int]:
    """(estimated seconds for all ``configs`` with a similar record, how many have none)."""
    table = timing_table(results)
    total, unknown = 0.0, 0
    for cfg in configs:
        match = next((table[k] for k in _levels(cfg) if table.get(k)), None)
        if match is None:
            unknown += 1
        else:
            total += cfg["train"]["epochs"] * median(match)
    return total, unknown
