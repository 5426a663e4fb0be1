"""``python -m bench.runner`` on a tiny subset of real MNIST: the JSON's shape and that both sides agree.

No timing assertions: timings on a shared 2-core machine say nothing about correctness.
"""
from __future__ import annotations

import json
import math
import os
from pathlib import Path

import pytest

from bench import levers
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
def machine(mnist_root: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The whole JSON of one bench run through the CLI: the machine's peak at a small matmul, no levers,
    then every workload (named space- and comma-separated), 1 epoch on 640 training images, tested on 500."""
    out = tmp_path_factory.mktemp("bench") / "bench.json"
    assert bench.main(["--device", "cpu", "--workloads", "mlp,mlp_fused,examples_cnn", "budget_model3", "--epochs", "1",
                       "--images", "640", "--test-images", "500", "--val-size", "200", "--data-dir", str(mnist_root),
                       "--json", str(out), "--levers", "none", "--matmul-n", "128"]) == 0
    return json.loads(out.read_text())


@pytest.fixture(scope="module")
def records(machine: dict) -> list[dict]:
    """The workloads' records of the ``machine`` run."""
    return machine["workloads"]


def test_json_carries_the_measured_peak(machine: dict) -> None:
    import torch

    assert machine["device"] == "cpu" and machine["cpu_capability"] == torch.backends.cpu.get_cpu_capability()
    assert [p["threads"] for p in machine["peaks"]] == sorted({1, machine["threads"]})
    for p in machine["peaks"]:
        for key in ("peak_gflops_matmul", "peak_gflops_conv", "conv_gflops_default", "conv_gflops_channels_last",
                    "step_overhead_ms"):
            assert math.isfinite(p[key]) and p[key] > 0, (key, p)
        assert p["peak_gflops_conv"] == max(p["conv_gflops_default"], p["conv_gflops_channels_last"])
        assert p["matmul_n"] == 128 and p["conv_shape"] == list(levers.CONV)
    assert machine["peak_gflops_matmul"] == machine["peaks"][-1]["peak_gflops_matmul"]
    assert machine["levers"] == [] and [r["workload"] for r in machine["workloads"]] == list(bench.WORKLOADS)


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
        assert r["augmented"] is (r["workload"] == "budget_model3")  # the only workload that augments
    assert {r["workload"]: r["params"] for r in records}["examples_cnn"] == bench.EXAMPLES_CNN_PARAMS == 1_199_882


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
    # The fused Adam kernel rounds differently from the canonical loop's Adam: close, not equal.
    assert abs(by["mlp_fused"]["baseline_acc"] - by["mlp_fused"]["ours_acc"]) <= 0.02, by["mlp_fused"]
    assert by["mlp_fused"]["ours_acc"] > 0.3


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


def test_unknown_workload_is_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """Refused before anything is measured or loaded (no data folder is given): exit 2, no JSON."""
    assert bench.main(["--workloads", "mlp,nope", "--json", str(tmp_path / "b.json")]) == 2
    assert not (tmp_path / "b.json").exists()
    assert "unknown workload(s) nope" in capsys.readouterr().err


def test_conv_flops_match_the_flop_counter() -> None:
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    n, cin, cout, hw, k = 2, 3, 4, 8, 3
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        torch.nn.Conv2d(cin, cout, k, padding=k // 2)(torch.zeros(n, cin, hw, hw))
    assert levers.conv_flops(n, cin, cout, hw, k) == counter.get_total_flops()


def _no_conv_dropout(model: dict) -> dict:
    return {**model, "layers": [{**layer, "dropout": 0.0} if "dropout" in layer else layer for layer in model["layers"]]}


@pytest.mark.parametrize("model", [levers.CNN_BASELINE, _no_conv_dropout(levers.budget_model2())],
                         ids=["cnn_baseline", "budget_model2_without_dropout"])
def test_channels_last_trains_the_same_model_up_to_rounding(model: dict) -> None:
    """Both layouts take the same steps from the same weights: the losses of three steps agree to float
    rounding (whether the weights agree bit for bit is what the lever row reports, not asserted: it
    depends on the kernels; Adam divides by the gradient's magnitude, so a near-zero gradient's
    rounding moves a weight by up to the learning rate, which is why weights are not compared).
    Dropout on a channels_last feature map draws its mask in memory order, so conv dropout gets
    other masks (same distribution): budget model 2 is compared without it, and with it differs."""
    import torch

    losses = []
    for cl in (False, True):
        _, step, _ = levers._trainer(model, channels_last=cl, batch=8)
        torch.manual_seed(1)
        losses.append(torch.stack([step().detach() for _ in range(3)]))
    assert torch.allclose(losses[0], losses[1], rtol=1e-4, atol=1e-6), losses
    assert isinstance(levers._same_numbers(model, steps=1), bool)


def test_channels_last_draws_other_conv_dropout_masks() -> None:
    import torch

    x = torch.ones(8, 8, 26, 26)
    masks = []
    for fmt in (torch.contiguous_format, torch.channels_last):
        torch.manual_seed(0)
        masks.append(torch.nn.functional.dropout(x.contiguous(memory_format=fmt), 0.1, training=True))
    assert not torch.equal(masks[0], masks[1])


def test_a_lever_row_has_its_fields() -> None:
    row = levers.lever_channels_last(levers.CNN_BASELINE, "cnn step", repeats=1, steps=1)
    assert list(row)[: len(levers.LEVER_KEYS)] == list(levers.LEVER_KEYS)
    assert row["ratio"] == pytest.approx(row["baseline_ms"] / row["lever_ms"]) and row["kept"]
    assert isinstance(row["identical"], bool)


def test_channels_last_run_config_enters_the_key_only_when_used(tiny_mnist) -> None:
    """``train.channels_last`` at its default leaves the run key as it was; set, it changes the key,
    and the run trains to the same numbers up to float rounding."""
    from reportgen.run.train import train_run
    from reportgen.spec.config import CNN, Data, RunConfig, Train
    from reportgen.spec.expand import Run, key_config

    base = RunConfig(model=CNN(channels=(4, 8), hidden=(16,)), train=Train(epochs=1, batch_size=64),
                     data=Data(val_size=100))
    lever = base.model_copy(update={"train": base.train.model_copy(update={"channels_last": True})})
    assert "channels_last" not in key_config(base)["train"]
    assert Run("s", "v", "v", 0, base).key != Run("s", "v", "v", 0, lever).key
    a, b = train_run(base, 0, tiny_mnist), train_run(lever, 0, tiny_mnist)
    assert b["history"][0]["train_loss"] == pytest.approx(a["history"][0]["train_loss"], rel=1e-4)
    assert b["test"]["accuracy"] == pytest.approx(a["test"]["accuracy"], abs=0.01)


def test_fused_optimizer_enters_the_key_only_when_used(tiny_mnist) -> None:
    """``optim.fused`` at its default leaves the run key as it was; set, it changes the key and the run
    trains with torch's fused kernel to nearly the same numbers (not the same floats: that is why it
    is opt-in). RMSprop has no fused kernel: the config says so."""
    from pydantic import ValidationError

    from reportgen.run.train import train_run
    from reportgen.spec.config import MLP, Data, Optim, RunConfig, Train
    from reportgen.spec.expand import Run, key_config

    base = RunConfig(model=MLP(hidden=(32,)), train=Train(epochs=1, batch_size=32), data=Data(val_size=100))
    lever = base.model_copy(update={"optim": Optim(fused=True)})
    assert "fused" not in key_config(base)["optim"] and key_config(lever)["optim"]["fused"] is True
    assert Run("s", "v", "v", 0, base).key != Run("s", "v", "v", 0, lever).key
    a, b = train_run(base, 0, tiny_mnist), train_run(lever, 0, tiny_mnist)
    assert b["history"][0]["train_loss"] == pytest.approx(a["history"][0]["train_loss"], rel=1e-3)
    assert b["test"]["accuracy"] == pytest.approx(a["test"]["accuracy"], abs=0.02)
    with pytest.raises(ValidationError, match="fused kernel for sgd, adam and adamw, not 'rmsprop'"):
        Optim(name="rmsprop", fused=True)


def test_the_one_buffer_lever_keeps_every_number_and_the_fused_one_does_not() -> None:
    """The runner's one-buffer optimizer (kept by default) ends 30 MLP steps on the same weights bit for
    bit; torch's fused Adam (opt-in) rounds otherwise, which is why it must enter the run key."""
    one = levers.lever_one_buffer(repeats=1, steps=1)
    assert (one["name"], one["identical"], one["kept"]) == ("one_buffer", True, True) and one["ratio"] > 0
    fused = levers.lever_fused(repeats=1, steps=1)
    assert (fused["name"], fused["identical"], fused["kept"]) == ("fused_optimizer", False, True)
    assert fused["note"].startswith("opt-in: optim.fused")
