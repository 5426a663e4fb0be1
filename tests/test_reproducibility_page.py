"""docs/reproducibility.md's measured block is the one bench/reproducibility.py writes from the
recorded reruns and the committed results, and its comparison finds the first differing epoch."""
from __future__ import annotations

import importlib.util
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _script():
    spec = importlib.util.spec_from_file_location("reproducibility_bench", REPO / "bench" / "reproducibility.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_page_shows_the_table_the_script_computes():
    bench = _script()
    page = (REPO / "docs" / "reproducibility.md").read_text(encoding="utf-8")
    block = page.split(bench.BEGIN, 1)[1].split(bench.END, 1)[0]
    assert block == "\n" + bench.table()
    assert "identical" in block and "AVX2" in block and "AVX512" in block


def test_first_difference_names_the_epoch_and_field():
    bench = _script()
    run = {"test_accuracy": 0.97, "test_loss": 0.1,
           "history": [{"epoch": 1, "train_loss": 0.2, "val_acc": 0.9}, {"epoch": 2, "train_loss": 0.1, "val_acc": 0.95}]}
    assert bench.first_difference(run, run) == "identical"
    moved = {**run, "history": [run["history"][0], {**run["history"][1], "val_acc": 0.95 * (1 + 1e-7)}]}
    assert bench.first_difference(run, moved) == "epoch 2 (`val_acc`, relative difference 1e-07)"
    assert bench.first_difference(run, {**run, "test_loss": 0.2}) == "test metrics"
