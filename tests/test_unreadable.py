"""A result file that cannot be used is named with its reason by list, render and the study page, and
is retrained only with --force or when it is plainly a partial write; a checkpoint that cannot be
loaded is reported and the run falls back to the previous checkpoint or to scratch."""
from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pytest
from rich.console import Console

from reportgen import cli
from reportgen.results import store
from reportgen.run import checkpoint
from reportgen.run.plan import plan
from reportgen.spec.catalog import load_all

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def baseline(tmp_path: Path):
    """A copy of the committed mlp_baseline results (three seeds) in a temporary results folder, and
    the study's spec."""
    results = tmp_path / "results"
    shutil.copytree(REPO / "results" / "mlp_baseline", results / "mlp_baseline")
    specs, errors = load_all(REPO / "experiments")
    assert not errors
    return results, specs["mlp_baseline"]


def _seed(results: Path, k: int) -> Path:
    return results / "mlp_baseline" / "default" / f"seed{k}.json"


def _edit(path: Path, change) -> None:
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


DAMAGES = {
    "schema 99": (lambda p: _edit(p, lambda d: d.update(schema_version=99)), "schema_version 99", False),
    "not JSON": (lambda p: p.write_text("\x00\x01 not json"), "not JSON", False),
    "not a result": (lambda p: p.write_text('{"hello": 1}'), "no key/status", False),
    "schema mismatch": (lambda p: _edit(p, lambda d: d.update(history="x")), "does not match the result schema", False),
    "key vs config": (lambda p: _edit(p, lambda d: d["config"]["optim"].update(lr=0.5)), "does not match its config",
                      False),
    "key edited": (lambda p: _edit(p, lambda d: d.update(key="0" * 64)), "does not match its config", False),
    "truncated": (lambda p: p.write_text(p.read_text()[:5000]), "truncated JSON", True),
    "truncated in a string": (lambda p: p.write_text('{"schema_version": 3, "key": "ab'), "truncated JSON", True),
    "empty": (lambda p: p.write_text(""), "truncated JSON", True),
}


@pytest.mark.parametrize("damage", DAMAGES)
def test_each_kind_of_damage_is_named_with_its_reason(baseline, damage):
    results, _ = baseline
    do, reason, partial = DAMAGES[damage]
    do(_seed(results, 1))
    got = store.inspect(_seed(results, 1))
    assert isinstance(got, store.Unreadable), got
    assert reason in got.reason and got.partial is partial
    assert str(results) not in got.reason  # the path is the Unreadable's, not repeated in the reason
    assert isinstance(store.inspect(_seed(results, 0)), dict)  # the others read as before
    assert [u.path for u in store.unreadable(results)] == [_seed(results, 1)]


def test_committed_results_are_all_readable_and_their_keys_match_their_configs():
    assert store.unreadable(REPO / "results") == []


def test_plan_keeps_an_unreadable_result_retrains_a_partial_write_and_force_replaces_both(baseline):
    results, spec = baseline
    _edit(_seed(results, 1), lambda d: d.update(schema_version=99))
    _seed(results, 2).write_text(_seed(results, 2).read_text()[:300])
    got = {p.run.seed: p for p in plan([spec], results)}
    assert got[0].action == "cached" and not got[0].unreadable
    assert got[1].action == "unreadable" and "schema_version 99" in got[1].unreadable
    assert got[2].action == "train" and "a partial write" in got[2].unreadable
    forced = {p.run.seed: p for p in plan([spec], results, force=True)}
    assert {p.action for p in forced.values()} == {"train"} and "schema_version 99" in forced[1].unreadable


def test_list_says_unreadable_not_missing_and_names_file_and_reason(baseline, capsys):
    results, _ = baseline
    _edit(_seed(results, 1), lambda d: d.update(schema_version=99))
    code = cli.main(["--experiments", str(REPO / "experiments"), "--results-dir", str(results), "list", "mlp_baseline"])
    err = " ".join(capsys.readouterr().err.split())  # rich wraps long lines
    assert code == 0
    assert "unreadable (1 unreadable)" in err and "missing" not in err
    assert "seed1.json" in err and "schema_version 99" in err and "reportgen run --force mlp_baseline" in err


def test_run_does_not_retrain_an_unreadable_result_and_names_it(baseline, capsys, monkeypatch):
    from reportgen.run import execute as execute_mod

    results, spec = baseline
    _edit(_seed(results, 1), lambda d: d.update(schema_version=99))
    before = _seed(results, 1).read_bytes()
    monkeypatch.setattr(execute_mod, "ensure", lambda root: pytest.fail("nothing should be trained"))
    summary = execute_mod.execute(plan([spec], results), REPO / "no-data", console=Console(file=io.StringIO()))
    assert summary.trained == 0 and summary.cached == 2
    assert len(summary.unreadable) == 1 and "seed1.json" in summary.unreadable[0]
    assert _seed(results, 1).read_bytes() == before  # kept as it is, for someone to repair


def test_render_warns_and_the_study_page_marks_the_seed(baseline, no_png, tmp_path):
    from reportgen.report.pages.render import render_study

    results, spec = baseline
    _edit(_seed(results, 2), lambda d: d.update(schema_version=99))
    out = io.StringIO()
    assert cli.warn_unreadable(results, ["mlp_baseline"], Console(file=out, width=400)) == 1
    assert "seed2.json" in out.getvalue() and "schema_version 99" in out.getvalue()
    docs = tmp_path / "docs"
    render_study(spec, results, docs)
    page = (docs / "studies" / "mlp_baseline.md").read_text()
    assert "Incomplete results" in page
    line = next(x for x in page.splitlines() if "unreadable" in x and "seed 2" in x)
    assert "seed 2 unreadable (schema_version 99" in line.replace("\\", "") and "missing" not in line
    assert "reportgen run --force mlp_baseline" in page


def test_a_damaged_checkpoint_is_reported_and_the_previous_one_used(tmp_path):
    import torch

    path = tmp_path / "k.pt"
    checkpoint.save(path, {"history": [{"epoch": 1}], "w": torch.ones(2)})
    checkpoint.save(path, {"history": [{"epoch": 1}, {"epoch": 2}], "w": torch.ones(2)})
    assert checkpoint.previous_path(path).exists()
    path.write_bytes(path.read_bytes()[:40])  # the newest cut short
    said: list[str] = []
    state = checkpoint.load(path, warn=said.append)
    assert state is not None and len(state["history"]) == 1
    assert len(said) == 2 and str(path) in said[0] and "cannot be loaded" in said[0]
    assert "previous checkpoint" in said[1] and "after epoch 1" in said[1]


def test_with_no_loadable_checkpoint_the_run_starts_from_scratch_and_says_so(tmp_path):
    path = tmp_path / "k.pt"
    path.write_bytes(b"garbage")
    checkpoint.previous_path(path).write_bytes(b"more garbage")
    said: list[str] = []
    assert checkpoint.load(path, warn=said.append) is None
    assert len(said) == 3 and "starts from scratch" in said[-1]
    assert not path.exists() and not checkpoint.previous_path(path).exists()
    assert checkpoint.load(path, warn=said.append) is None and len(said) == 3  # no checkpoint: nothing to say


def test_discard_removes_both_checkpoints(tmp_path):
    import torch

    results = tmp_path / "results"
    path = checkpoint.checkpoint_path(results, "k" * 64)
    for _ in range(2):
        checkpoint.save(path, {"history": [], "w": torch.ones(1)})
    checkpoint.discard(results, "k" * 64)
    assert not path.exists() and not checkpoint.previous_path(path).exists()


@pytest.mark.slow
def test_a_run_with_a_damaged_checkpoint_warns_and_trains_from_scratch(tmp_path, real_mnist):
    """Through the driver: the warning is printed and the result is the one trained from scratch."""
    from reportgen.run.execute import execute
    from reportgen.spec import MLP, Data, Study, Sweep, Train
    from reportgen.spec.catalog import Spec
    import os

    study = Study(title="t", question="q?", model=MLP(hidden=(16,)), train=Train(epochs=1, batch_size=64),
                  data=Data(train_subset=2000, val_size=500, test_subset=500), sweep=Sweep(seeds=(0,)))
    spec = Spec("tiny", tmp_path / "tiny.py", study, "")
    results = tmp_path / "results"
    planned = plan([spec], results)
    ckpt = checkpoint.checkpoint_path(results, planned[0].key)
    ckpt.parent.mkdir(parents=True)
    ckpt.write_bytes(b"not a checkpoint")
    out = io.StringIO()
    summary = execute(planned, Path(os.environ["REPORTGEN_DATA"]), device="cpu", quiet=True,
                      console=Console(file=out, width=400))
    text = out.getvalue()
    assert summary.trained == 1 and not summary.failed, text
    assert "warning" in text and str(ckpt) in text and "starts from scratch" in text
    result = store.read_result(planned[0].path)
    assert result["status"] == "completed" and len(result["history"]) == 1
    assert not ckpt.exists()
