"""``python -m bench.runner`` on a tiny subset of real MNIST: the JSON's shape and that both sides agree.

No timing assertions: timings on a shared 2-core machine say nothing about correctness.
"""
from __future__ import annotations

import json
import math
import os
from pathlib import Path

import pytest

from bench import runner as bench
from conftest import RAW_NAMES

pytestmark = [pytest.mark.xdist_group("bench"), pytest.mark.slow]  # one xdist worker: the benchmark fixture runs once

TYPES = {"workload": str, "device": str, "baseline_s_per_epoch": float, "ours_s_per_epoch": float,
         "speedup": float, "baseline_acc": float, "ours_acc": float, "peak_mem_mb": float}


@pytest.fixture(scope="module")
def mnist_root() -> Path:
    root = os.environ.get("REPORTGEN_DATA")
    if not root or not all((Path(root) / "MNIST" / "raw" / n).exists() for n in RAW_NAMES):
        pytest.skip("no real MNIST under $REPORTGEN_DATA (e.g. export REPORTGEN_DATA=../shared/data)")
    return Path(root)


@pytest.fixture(scope="module")
def records(mnist_root: Path, tmp_path_factory: pytest.TempPathFactory) -> list[dict]:
    """Every workload, 1 epoch on 640 training images, tested on 500, through the CLI."""
    out = tmp_path_factory.mktemp("bench") / "bench.json"
    code = bench.main(["--device", "cpu", "--epochs", "1", "--images", "640", "--test-images", "500",
                     "--val-size", "200", "--data-dir", str(mnist_root), "--json", str(out)])
    assert code == 0
    return json.loads(out.read_text())


def test_json_shape(records: list[dict]) -> None:
    assert [r["workload"] for r in records] == list(bench.WORKLOADS)
    for r in records:
        assert list(r)[: len(bench.RECORD_KEYS)] == list(bench.RECORD_KEYS)
        for key, kind in TYPES.items():
            assert isinstance(r[key], kind), (r["workload"], key, r[key])
        for key in ("baseline_s_per_epoch", "ours_s_per_epoch", "speedup", "peak_mem_mb"):
            assert math.isfinite(r[key]) and r[key] > 0, (r["workload"], key, r[key])
        assert 0.0 <= r["baseline_acc"] <= 1.0 and 0.0 <= r["ours_acc"] <= 1.0
        assert r["device"] == "cpu" and r["epochs"] == 1 and r["images"] == 640 and r["test_images"] == 500
        assert isinstance(r["acc_agree"], bool) and r["ours_status"] == "completed"
    assert records[1]["params"] == bench.EXAMPLES_CNN_PARAMS == 1_199_882


def test_both_sides_reach_the_same_accuracy(records: list[dict]) -> None:
    """Without augmentation both sides train from the same weights on the same batches in the same
    order with the same dropout draws, so they reach the same accuracy (up to float noise). With
    augmentation (torchvision PIL vs kornia) the draws differ: after 10 steps on 640 images the two
    can differ by a few test images in a hundred."""
    by = {r["workload"]: r for r in records}
    for w in ("mlp", "examples_cnn"):
        assert abs(by[w]["baseline_acc"] - by[w]["ours_acc"]) <= 0.004, by[w]
        assert by[w]["ours_acc"] > 0.3  # it learned something: 10 classes, chance is 0.1
    assert abs(by["budget_model3"]["baseline_acc"] - by["budget_model3"]["ours_acc"]) <= 0.05


def test_examples_cnn_matches_the_pytorch_example() -> None:
    """conv 32 → conv 64 → max-pool → 9,216 → 128 → 10, as pytorch/examples mnist/main.py ``Net``."""
    import torch
    from torch import nn

    from reportgen.run.models import build

    class Net(nn.Module):  # pytorch/examples mnist/main.py, verbatim layers
        def __init__(self) -> None:
            super().__init__()
            self.conv1, self.conv2 = nn.Conv2d(1, 32, 3, 1), nn.Conv2d(32, 64, 3, 1)
            self.fc1, self.fc2 = nn.Linear(9216, 128), nn.Linear(128, 10)

    ours = build(bench.examples_cnn().model_dump())
    assert [tuple(p.shape) for p in ours.parameters()] == [tuple(p.shape) for p in Net().parameters()]
    assert ours(torch.zeros(2, 1, 28, 28)).shape == (2, 10)


def test_unknown_workload_is_bad_input(tmp_path: Path) -> None:
    assert bench.main(["--workloads", "nope", "--json", str(tmp_path / "b.json")]) == 2
    assert not (tmp_path / "b.json").exists()
