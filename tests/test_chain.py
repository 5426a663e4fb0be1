"""Tuning chains: a study computed from another study's recorded results (FromResults grid values, a
base=Selected config), staged execution, and saved models that reproduce their recorded metrics."""
from __future__ import annotations

from pathlib import Path

import pytest

from conftest import valid_result
from reportgen.results import store
from reportgen.spec.catalog import SpecError, load_spec
from reportgen.results.chain import Pending, levels, resolve
from reportgen.run.plan import plan
from reportgen.results.chain import collect

DOC = '"""Q?\n\nRun: x\nExpected: y\nCost: z\n"""\n'
IMPORTS = "from reportgen.spec import MLP, FromResults, Optim, RangeTest, Selected, Study, Sweep, Train\n"

PROBE = (DOC + IMPORTS + "STUDY = Study(title='probe', question='q', model=MLP(hidden=(8,)), optim=Optim(name='sgd'),\n"
         "    train=Train(epochs=1), sweep=Sweep(variants={'lr-0.1': {'optim.lr': 0.1}, 'lr-0.01': {'optim.lr': 0.01},\n"
         "    'range-test': {'train.range_test': RangeTest().model_dump()}}, seeds=(0, 1, 2)))\n")
GRID = (DOC + IMPORTS + "STUDY = Study(title='grid', question='q', base=Selected(study='probe', metric='val_acc'),\n"
        "    sweep=Sweep(grid={'optim.lr': FromResults(study='probe', variant='range-test',\n"
        "        field='range_test.suggested_lr', factors=(0.5, 1.0, 2.0)), 'optim.weight_decay': (0.0, 1e-4)},\n"
        "        common={'train.epochs': 3}, seeds=(0,)))\n")
FINAL = (DOC + IMPORTS + "STUDY = Study(title='final', question='q', base=Selected(study='grid'),\n"
         "    sweep=Sweep(common={'train.epochs': 5}, seeds=(0, 1)))\n")


@pytest.fixture
def chain(tmp_path: Path):
    folder = tmp_path / "experiments"
    folder.mkdir()
    for name, text in (("probe", PROBE), ("grid", GRID), ("final", FINAL)):
        (folder / f"{name}.py").write_text(text, encoding="utf-8")
    return {n: load_spec(folder / f"{n}.py") for n in ("probe", "grid", "final")}, tmp_path / "results"


def fake(planned, results: Path, val_acc: dict[str, float], suggested: dict[int, float]) -> None:
    """Store a completed result for each planned run: ``val_acc`` per variant, a range test whose
    suggested lr is ``suggested[seed]``."""
    for p in planned:
        extra = {"history": [{"epoch": 1, "train_loss": 1.0, "train_acc": 0.5, "train_eval_loss": 1.0,
                              "train_eval_acc": 0.5, "val_loss": 1.0, "val_acc": val_acc.get(p.run.variant, 0.5),
                              "lr": 0.1, "seconds": 1.0}]}
        if p.run.config.train.range_test:
            s = suggested[p.run.seed]
            extra = {"range_test": {"lr": [1e-7, 10 * s], "loss": [2.3, 1.0], "smoothed": [2.3, 1.0],
                                    "min_loss_lr": 10 * s, "suggested_lr": s, "steepest_lr": s, "steps": 2,
                                    "stopped_at": 2}}
        store.write_json(p.path, valid_result(p.key, study=p.run.study, variant=p.run.variant, seed=p.run.seed,
                                              config=p.run.config.model_dump(mode="json"), numerics=p.run.numerics,
                                              **extra))


def test_levels_put_every_study_after_those_it_reads(chain):
    specs, _ = chain
    stages = levels([specs["final"]])
    assert [[s.name for s in stage] for stage in stages] == [["probe"], ["grid"], ["final"]]


def test_downstream_waits_then_resolves_from_the_recorded_results(chain):
    specs, results = chain
    with pytest.raises(Pending, match="grid waits for the results of probe"):
        resolve(specs["grid"], results)
    assert plan([specs["grid"]], results) == []  # nothing to plan yet
    assert collect(specs["grid"], results).pending == ["probe"]
    fake(plan([specs["probe"]], results), results, {"lr-0.1": 0.91, "lr-0.01": 0.95}, {0: 0.02, 1: 0.03, 2: 0.5})
    grid = resolve(specs["grid"], results).study
    # The median of the three seeds' suggestions (0.03), times each factor, 3 significant digits.
    assert grid.sweep.grid["optim.lr"] == (0.015, 0.03, 0.06)
    # The base config is the probe's best variant on validation accuracy (lr 0.01, SGD).
    assert grid.optim.name == "sgd" and grid.model.hidden == (8,)
    runs = plan([specs["grid"]], results)
    assert len(runs) == 6 and {p.run.config.train.epochs for p in runs} == {3}
    assert {p.run.config.optim.lr for p in runs} == {0.015, 0.03, 0.06}


def test_a_changed_upstream_result_changes_downstream_keys_but_editing_downstream_retrains_nothing_upstream(chain):
    specs, results = chain
    probe_runs = plan([specs["probe"]], results)
    fake(probe_runs, results, {"lr-0.01": 0.95}, {0: 0.02, 1: 0.03, 2: 0.04})
    keys_before = {p.key for p in plan([specs["grid"]], results)}
    # Editing the downstream spec (its weight decays) leaves every upstream run cached.
    path = specs["grid"].path
    path.write_text(path.read_text().replace("(0.0, 1e-4)", "(0.0, 5e-4)"), encoding="utf-8")
    edited = load_spec(path)
    assert all(p.action == "cached" for p in plan([specs["probe"]], results))
    assert len({p.key for p in plan([edited], results)} & keys_before) == 3  # the weight-decay-0 cells
    # A different recorded suggestion moves the grid: new keys, so those runs retrain.
    fake(probe_runs, results, {"lr-0.01": 0.95}, {0: 0.05, 1: 0.05, 2: 0.05})
    assert not {p.key for p in plan([edited], results)} & keys_before


def test_selected_needs_complete_upstream_results(chain):
    specs, results = chain
    runs = plan([specs["probe"]], results)
    fake(runs[:-1], results, {}, {0: 0.02, 1: 0.03, 2: 0.04})  # one run missing
    with pytest.raises(Pending):
        resolve(specs["grid"], results)


def test_a_spec_naming_an_unknown_study_or_itself_is_rejected_with_its_file(tmp_path: Path):
    folder = tmp_path / "experiments"
    folder.mkdir()
    bad = folder / "bad.py"
    bad.write_text(DOC + IMPORTS + "STUDY = Study(title='t', question='q', base=Selected(study='nowhere'))\n")
    with pytest.raises(SpecError, match=r"bad\.py: base / FromResults name study 'nowhere': no such spec"):
        load_spec(bad)
    bad.write_text(DOC + IMPORTS + "STUDY = Study(title='t', question='q', base=Selected(study='bad'))\n")
    with pytest.raises(SpecError, match="cannot read its own results"):
        load_spec(bad)


def test_base_and_own_config_are_exclusive(tmp_path: Path):
    from pydantic import ValidationError

    from reportgen.spec import MLP, Selected, Study

    with pytest.raises(ValidationError, match="remove model"):
        Study(title="t", question="q", base=Selected(study="x"), model=MLP())


def test_range_test_runs_one_epoch_and_suggests_a_tenth_of_the_minimum(tiny_mnist):
    from reportgen.run.lrfinder import range_test, suggest
    from reportgen.spec import RangeTest, RunConfig

    config = RunConfig(optim={"name": "sgd", "lr": 0.01}, train={"batch_size": 50, "range_test": RangeTest(start_lr=1e-5, end_lr=10.0)},
                       data={"val_size": 100})
    out = range_test(config, 0, tiny_mnist)
    rt = out["range_test"]
    assert rt["steps"] == 20 and 2 <= rt["stopped_at"] <= 20
    assert rt["lr"][0] == pytest.approx(1e-5) and all(b > a for a, b in zip(rt["lr"], rt["lr"][1:]))
    assert rt["suggested_lr"] == pytest.approx(rt["min_loss_lr"] / 10)
    # By hand: the minimum of [3, 2, 1, 2] sits at lr 1e-2; the steepest fall per log-lr before it is the first.
    s = suggest([1e-4, 1e-3, 1e-2, 1e-1], [3.0, 2.0, 1.0, 2.0])
    assert s == {"min_loss_lr": 1e-2, "suggested_lr": pytest.approx(1e-3), "steepest_lr": 1e-4}


def test_late_config_fields_at_their_default_keep_earlier_keys():
    from reportgen.spec.expand import Run, key_config
    from reportgen.spec import RangeTest, RunConfig

    assert "range_test" not in key_config(RunConfig())["train"]
    assert key_config(RunConfig(train={"range_test": RangeTest()}))["train"]["range_test"]["end_lr"] == 10.0
    assert Run("s", "v", "v", 0, RunConfig()).key != Run("s", "v", "v", 0, RunConfig(train={"range_test": RangeTest()})).key


def test_a_saved_model_reloads_and_reproduces_its_recorded_predictions(tmp_path: Path, monkeypatch):
    import torch

    from conftest import write_raw_mnist
    from reportgen.data import fetch

    synthetic_md5 = write_raw_mnist(tmp_path / "mnist", n_train=130, n_test=40)
    monkeypatch.setattr(fetch, "MD5", dict(synthetic_md5.md5))

    from reportgen.run.execute import execute
    from reportgen.run.modelstore import evaluate, load, model_path

    folder = tmp_path / "experiments"
    folder.mkdir()
    (folder / "saved.py").write_text(
        DOC + IMPORTS + "STUDY = Study(title='t', question='q', model=MLP(hidden=(8,)), train=Train(epochs=1, batch_size=8),\n"
        "    data={'val_size': 100, 'train_subset': 10}, save_models=True, sweep=Sweep(seeds=(0,)))\n")
    spec = load_spec(folder / "saved.py")
    results = tmp_path / "results"
    execute(plan([spec], results), synthetic_md5.root, "cpu", quiet=True)
    path = model_path(results, "saved", "default", 0)
    assert path.is_file()
    out = evaluate(path, synthetic_md5.root)
    assert out["identical"] is True, out["differences"]
    recorded = store.read_result(store.result_path(results, "saved", "default", 0))["test"]
    assert out["metrics"]["misclassified"] == recorded["misclassified"]
    model, meta = load(path)
    assert meta["study"] == "saved" and not model.training
    # A tampered weight changes the predictions, and evaluate says so.
    from safetensors.torch import load_file, save_file

    state = load_file(str(path))
    first = next(k for k in state if k.endswith("weight"))
    state[first] = torch.zeros_like(state[first])
    from safetensors import safe_open

    with safe_open(str(path), "pt") as f:
        metadata = f.metadata()
    save_file(state, str(path), metadata=metadata)
    assert evaluate(path, synthetic_md5.root)["identical"] is False
