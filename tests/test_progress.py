"""What ``run`` prints (live display, log lines, quiet) and what ``plan`` estimates."""
from __future__ import annotations

import io

import pytest
from rich.console import Console

from conftest import valid_result
from reportgen.results import store
from reportgen.run.estimate import estimate, scaled_estimate
from reportgen.run.progress import Reporter
from reportgen.spec import CNN, MLP, Data, RunConfig, Train

H = {"epoch": 1, "train_loss": 0.5, "val_acc": 0.9, "seconds": 1.0}


def drive(quiet: bool, terminal: bool) -> str:
    out = io.StringIO()
    console = Console(file=out, force_terminal=terminal, width=120)
    with Reporter(console, total=2, quiet=quiet) as r:
        for i in (1, 2):
            r.run_started(f"[{i}/2] s/v/seed0", epochs=1)
            r.epoch(H)
            r.run_done(f"[{i}/2] s/v/seed0 completed")
    return out.getvalue()


def test_log_lines_when_not_a_terminal():
    text = drive(quiet=False, terminal=False)
    assert text.count("epoch 1: train_loss 0.5000 val_acc 0.9000") == 2 and text.count("completed") == 2
    assert "\x1b[" not in text  # no escape codes in CI logs


def test_quiet_prints_one_line_per_finished_run():
    text = drive(quiet=True, terminal=False)
    assert "epoch 1:" not in text and text.count("completed") == 2


def test_live_display_on_a_terminal_shows_runs_and_eta():
    text = drive(quiet=False, terminal=True)
    assert "runs" in text and "2/2" in text and "ETA" in text and text.count("completed") == 2


def _record(results, name, config: RunConfig, per_epoch: float, **extra) -> None:
    row = {"train_loss": 0.1, "train_acc": 0.9, "train_eval_loss": 0.1, "train_eval_acc": 0.9, "val_loss": 0.1,
           "val_acc": 0.9, "lr": 1e-3}
    history = [{"epoch": i + 1, **row, "seconds": s} for i, s in enumerate((per_epoch, per_epoch * 3, per_epoch))]
    store.write_json(results / name / "v" / "seed0.json",
                     {**valid_result(name), "config": config.model_dump(mode="json"), "history": history, **extra})


def test_estimate_uses_the_most_similar_recorded_runs(tmp_path):
    mlp, cnn = RunConfig(model=MLP()), RunConfig(model=CNN(), train=Train(batch_size=64))
    _record(tmp_path, "a", mlp, 2.0)
    _record(tmp_path, "b", cnn, 25.0)
    wanted = [RunConfig(model=MLP(), train=Train(epochs=50)).model_dump(),            # same model: 2 s
              RunConfig(model=MLP(hidden=(64,)), train=Train(epochs=10)).model_dump(),  # same family+batch: 2 s
              RunConfig(model=CNN(dropout=0.5), train=Train(epochs=10, batch_size=64)).model_dump()]  # 25 s
    seconds, unknown = estimate(wanted, tmp_path)
    assert unknown == [] and seconds == pytest.approx(50 * 2 + 10 * 2 + 10 * 25)


def test_a_match_on_the_family_alone_is_scaled_by_flops(tmp_path):
    """A ResNet-50 planned beside recorded ResNet-18s costs their seconds per FLOP × its FLOPs, not
    their seconds per epoch; the same model recorded keeps its own seconds."""
    small = RunConfig(model=CNN(), train=Train(batch_size=64))
    _record(tmp_path, "a", small, 10.0, flops=1_000_000)
    big = RunConfig(model=CNN(channels=(64, 128)), train=Train(epochs=10, batch_size=64)).model_dump()
    seconds, unknown = estimate([big], tmp_path, flops_of=lambda c: 3_000_000)  # 3× the recorded FLOPs
    assert unknown == [] and seconds == pytest.approx(10 * 10.0 * 3)
    assert estimate([big], tmp_path)[0] == pytest.approx(10 * 10.0)  # without FLOPs: the family's seconds
    same = RunConfig(model=CNN(), train=Train(epochs=4, batch_size=64)).model_dump()
    assert estimate([same], tmp_path, flops_of=lambda c: 1 / 0)[0] == pytest.approx(4 * 10.0)


def test_estimate_admits_what_it_does_not_know(tmp_path):
    cnn = RunConfig(model=CNN()).model_dump()
    seconds, unknown = estimate([cnn], tmp_path)
    assert (seconds, unknown) == (0.0, [cnn])
    with pytest.raises(LookupError, match="FLOPs"):
        scaled_estimate([cnn], lambda c: 1, tmp_path)


def test_scaled_estimate_takes_the_rate_of_the_models_nearest_in_flops(tmp_path):
    small, big = RunConfig(model=MLP(hidden=(16,))), RunConfig(model=CNN(), train=Train(batch_size=64))
    _record(tmp_path, "a", small, 1.0, flops=1_000)
    _record(tmp_path, "b", big, 20.0, flops=1_000_000)
    images = 55_000
    wanted = RunConfig(model=CNN(channels=(64, 128)), train=Train(epochs=10, batch_size=64)).model_dump()
    got = scaled_estimate([wanted], lambda c: 4_000_000, tmp_path, neighbours=1)
    assert got == pytest.approx(10 * images * 4_000_000 * 20.0 / (1_000_000 * images))  # 4× big's FLOPs: 800 s
    tiny = RunConfig(model=MLP(hidden=(8,)), data=Data(train_subset=1_000)).model_dump()
    assert scaled_estimate([tiny], lambda c: 500, tmp_path, neighbours=1) == pytest.approx(
        10 * 1_000 * 500 * 1.0 / (1_000 * images))
