"""Run keys and the cache: what is cached, reused or trained, and what does (not) change a key."""
from __future__ import annotations

from pathlib import Path

import pytest

from conftest import valid_result
from reportgen.spec import expand as expand_mod
from reportgen.spec import numerics
from reportgen.results import store
from reportgen.spec.catalog import load_spec
from reportgen.cli import main
from reportgen.run.plan import plan
from reportgen.spec.expand import Run, expand
from reportgen.spec import CNN, Augment, ProbeSpec, RangeTest, RunConfig, Train

HEADER = "from reportgen.spec import MLP, Expect, Optim, Study, Sweep, Train\n"


def write_spec(folder: Path, name: str, *, doc: str = "Question?\n\nRun: x\nExpected: y\nCost: z",
               title: str = "T", analyses: str = '("comparison_table",)', expect: str = "()",
               lr: float = 1e-3, grid: str = '{"model.dropout": (0.0, 0.1)}', variants: str = "{}",
               seeds: str = "(0, 1)", section: str = "Data & baselines"):
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.py"
    path.write_text(
        f'"""{doc}\n"""\n{HEADER}'
        f"STUDY = Study(title={title!r}, question='How?', section={section!r}, model=MLP(hidden=(16,)),\n"
        f"    optim=Optim(lr={lr!r}), train=Train(epochs=2),\n"
        f"    sweep=Sweep(grid={grid}, variants={variants}, seeds={seeds}),\n"
        f"    analyses={analyses}, expect={expect})\n", encoding="utf-8")
    return load_spec(path)


def keys(spec) -> dict[tuple[str, int], str]:
    return {(r.variant, r.seed): r.key for r in expand(spec.study, spec.name, str(spec.path))}


def fake_results(planned, status: str = "completed") -> None:
    for p in planned:
        store.write_json(p.path, valid_result(p.key, status, p.run.study, p.run.variant, p.run.seed,
                                              numerics=p.run.numerics, config=p.run.config.model_dump(mode="json")))


def actions(planned) -> list[tuple[str, str, int, str]]:
    return [(p.run.study, p.run.variant, p.run.seed, p.action) for p in planned]


def test_fresh_plan_trains_everything_and_paths_follow_layout(tmp_path):
    spec = write_spec(tmp_path / "exp", "alpha")
    planned = plan([spec], tmp_path / "r")
    assert actions(planned) == [("alpha", "dropout-0", 0, "train"), ("alpha", "dropout-0", 1, "train"),
                                ("alpha", "dropout-0.1", 0, "train"), ("alpha", "dropout-0.1", 1, "train")]
    assert [p.path for p in planned] == [tmp_path / "r" / "alpha" / v / f"seed{s}.json"
                                         for v in ("dropout-0", "dropout-0.1") for s in (0, 1)]
    assert len({p.key for p in planned}) == 4
    assert all(len(p.key) == 64 and int(p.key, 16) >= 0 for p in planned)


def test_completed_or_diverged_result_is_cached_others_retrain(tmp_path):
    spec, results = write_spec(tmp_path / "exp", "alpha"), tmp_path / "r"
    first = plan([spec], results)
    fake_results(first[:2], "completed")
    fake_results(first[2:3], "diverged")
    fake_results(first[3:], "failed")
    assert [p.action for p in plan([spec], results)] == ["cached", "cached", "cached", "train"]
    # A result at the right place with another key (stale: here another run's) is retrained too.
    store.write_json(first[0].path, store.read_result(first[1].path))
    assert [p.action for p in plan([spec], results)] == ["train", "cached", "cached", "train"]


def test_same_run_in_another_study_is_reused(tmp_path):
    exp, results = tmp_path / "exp", tmp_path / "r"
    alpha = write_spec(exp, "alpha")
    beta = write_spec(exp, "beta", title="Another study", grid="{}", seeds="(1,)",
                      variants='{"base": {"model.dropout": 0.1}}')
    # Declared by both in one plan: trained once, copied to the second study.
    both = plan([alpha, beta], results)
    assert [p.action for p in both] == ["train"] * 4 + ["reuse"]
    assert both[-1].source == results / "alpha" / "dropout-0.1" / "seed1.json"
    assert both[-1].key == both[3].key
    fake_results(both[:4])
    planned = plan([beta], results)
    assert actions(planned) == [("beta", "base", 1, "reuse")]
    assert planned[0].source == results / "alpha" / "dropout-0.1" / "seed1.json"
    assert planned[0].path == results / "beta" / "base" / "seed1.json"


def test_force_trains_everything(tmp_path):
    spec, results = write_spec(tmp_path / "exp", "alpha"), tmp_path / "r"
    fake_results(plan([spec], results))
    assert {p.action for p in plan([spec], results)} == {"cached"}
    assert {p.action for p in plan([spec], results, force=True)} == {"train"}
    assert [p.key for p in plan([spec], results, force=True)] == [p.key for p in plan([spec], results)]


def test_changing_a_grid_lr_changes_exactly_the_affected_keys(tmp_path):
    before = keys(write_spec(tmp_path / "a", "s", grid='{"optim.lr": (0.001, 0.01)}'))
    after = keys(write_spec(tmp_path / "b", "s", grid='{"optim.lr": (0.001, 0.02)}'))
    assert {k: before[k] for k in before if k[0] == "lr-0.001"} == {k: after[k] for k in after if k[0] == "lr-0.001"}
    assert set(before) - set(after) == {("lr-0.01", 0), ("lr-0.01", 1)}
    assert set(after) - set(before) == {("lr-0.02", 0), ("lr-0.02", 1)}
    assert not set(before.values()) & {after[("lr-0.02", s)] for s in (0, 1)}


def test_changing_a_labelled_variant_lr_changes_only_that_variant(tmp_path):
    v1 = '{"slow": {"optim.lr": 1e-4}, "fast": {"optim.lr": 1e-2}}'
    v2 = '{"slow": {"optim.lr": 1e-4}, "fast": {"optim.lr": 2e-2}}'
    before = keys(write_spec(tmp_path / "a", "s", grid="{}", variants=v1))
    after = keys(write_spec(tmp_path / "b", "s", grid="{}", variants=v2))
    assert set(before) == set(after) == {("slow", 0), ("slow", 1), ("fast", 0), ("fast", 1)}
    assert [k for k in before if before[k] != after[k]] == [("fast", 0), ("fast", 1)]


def test_changing_the_base_lr_changes_every_key(tmp_path):
    before = keys(write_spec(tmp_path / "a", "s"))
    after = keys(write_spec(tmp_path / "b", "s", lr=2e-3))
    assert set(before) == set(after)
    assert all(before[k] != after[k] for k in before)


def test_seed_and_value_order(tmp_path):
    a = keys(write_spec(tmp_path / "a", "s", grid='{"model.dropout": (0.0, 0.1)}', seeds="(0, 1)"))
    b = keys(write_spec(tmp_path / "b", "s", grid='{"model.dropout": (0.1, 0.0)}', seeds="(1, 0, 2)"))
    assert all(a[k] == b[k] for k in a)  # order of declaration is not part of a run's identity
    assert b[("dropout-0", 2)] not in a.values()
    assert a[("dropout-0", 0)] != a[("dropout-0", 1)]


def test_presentation_edits_do_not_change_keys(tmp_path):
    results = tmp_path / "r"
    original = write_spec(tmp_path / "a", "s")
    fake_results(plan([original], results))
    edited = write_spec(tmp_path / "b", "s", doc="A different question entirely.\n\nRun: y\nExpected: z\nCost: w",
                        title="Renamed", analyses='("learning_curves", "confusion_matrix", "generalization_gap")',
                        expect='(Expect("test_accuracy", at_least=0.5),)', section="Tuning")
    assert keys(edited) == keys(original)
    assert {p.action for p in plan([edited], results)} == {"cached"}
    # A different study name is a different folder, but the same runs: reuse, no training.
    renamed = write_spec(tmp_path / "c", "other_name")
    assert keys(renamed) == keys(original)
    assert {p.action for p in plan([renamed], results)} == {"reuse"}


def test_smoke_runs_have_their_own_keys(tmp_path):
    spec, results = write_spec(tmp_path / "exp", "alpha"), tmp_path / "r"
    fake_results(plan([spec], results))
    smoke = plan([spec], results, smoke=True)
    assert actions(smoke) == [("alpha", "dropout-0", 0, "train"), ("alpha", "dropout-0.1", 0, "train")]
    assert not {p.key for p in smoke} & set(keys(spec).values())


def test_data_checksum_is_part_of_the_key(tmp_path, monkeypatch):
    spec = write_spec(tmp_path / "exp", "alpha")
    before = keys(spec)
    from reportgen.data import catalog

    monkeypatch.setattr(catalog, "DATASET_MD5", "0" * 32)
    after = keys(spec)
    assert all(before[k] != after[k] for k in before)


# ------------------------------------------------------------------------------ numerics versions


def runs_by_kind() -> dict[str, Run]:
    aug = RunConfig(train=Train(augment=Augment()))
    return {"mlp": Run("s", "v", "v", 0, RunConfig()), "cnn": Run("s", "v", "v", 0, RunConfig(model=CNN())),
            "mlp+aug": Run("s", "v", "v", 0, aug),
            "mlp+probes": Run("s", "v", "v", 0, RunConfig(probes=(ProbeSpec(name="weight_norms"),))),
            "mlp+digits": Run("s", "v", "v", 0, RunConfig(probes=(ProbeSpec(name="robustness"),))),
            "range": Run("s", "v", "v", 0, RunConfig(train=Train(range_test=RangeTest())))}


@pytest.mark.parametrize("component, changed", [
    ("trainer", {"mlp", "cnn", "mlp+aug", "mlp+probes", "mlp+digits", "range"}),
    ("data", {"mlp", "cnn", "mlp+aug", "mlp+probes", "mlp+digits", "range"}),
    ("metrics", {"mlp", "cnn", "mlp+aug", "mlp+probes", "mlp+digits"}),
    ("model.cnn", {"cnn"}), ("augment", {"mlp+aug"}), ("probe.weight_norms", {"mlp+probes"}),
    ("digits", {"mlp+digits"}), ("probe.robustness", {"mlp+digits"}), ("range_test", {"range"}),
    ("probe.sanity", set())])
def test_a_version_bump_changes_exactly_the_keys_of_runs_that_use_the_component(monkeypatch, component, changed):
    before = {name: run.key for name, run in runs_by_kind().items()}
    monkeypatch.setitem(numerics.VERSIONS, component, numerics.VERSIONS[component] + 1)
    after = {name: run.key for name, run in runs_by_kind().items()}
    assert {name for name in before if before[name] != after[name]} == changed


def test_every_model_family_and_probe_has_a_numerics_version():
    from typing import get_args

    from reportgen.run.models import FAMILIES
    from reportgen.spec import ProbeName

    assert {f"model.{k}" for k in FAMILIES} | {f"probe.{p}" for p in get_args(ProbeName)} <= set(numerics.VERSIONS)


def test_changes_names_each_bumped_component():
    assert numerics.changes({"data": 1, "trainer": 1}, {"data": 1, "trainer": 2}) == ["trainer 1→2"]
    assert numerics.changes({"data": 1}, {"data": 1, "augment": 1}) == ["augment –→1"]
    assert numerics.changes(None, {"data": 1}) == ["no numerics versions"]
    assert numerics.changes({"data": 1}, {"data": 1}) == []


def test_a_bump_marks_results_stale_and_list_names_it(tmp_path, monkeypatch, capsys):
    exp, results = tmp_path / "exp", tmp_path / "r"
    spec = write_spec(exp, "alpha")
    planned = plan([spec], results)
    for p in planned:
        store.write_json(p.path, valid_result(p.key, "completed", p.run.study, p.run.variant, p.run.seed,
                                              numerics=p.run.numerics, config=p.run.config.model_dump(mode="json")))
    assert {p.action for p in plan([spec], results)} == {"cached"}
    monkeypatch.setitem(numerics.VERSIONS, "trainer", numerics.VERSIONS["trainer"] + 1)
    assert {p.action for p in plan([spec], results)} == {"train"}
    assert main(["--experiments", str(exp), "--results-dir", str(results), "list"]) == 0
    out = " ".join(capsys.readouterr().err.split())
    v = numerics.VERSIONS["trainer"]
    assert "stale (4 to run)" in out and f"alpha: 4 stale: trainer {v - 1}→{v}" in out


def test_cli_list_and_plan_report_cache_state(tmp_path, capsys):
    exp, results = tmp_path / "exp", tmp_path / "r"
    spec = write_spec(exp, "alpha")
    base = ["--experiments", str(exp), "--results-dir", str(results), "--docs-dir", str(tmp_path / "d")]
    assert main([*base, "plan"]) == 0
    assert "4 to train, 0 to reuse, 0 cached" in capsys.readouterr().err
    fake_results(plan([spec], results))
    assert main([*base, "plan"]) == 0
    assert "0 to train, 0 to reuse, 4 cached" in capsys.readouterr().err
    assert main([*base, "list"]) == 0
    assert "up to date" in capsys.readouterr().err
    write_spec(exp, "alpha", grid='{"model.dropout": (0.0, 0.2)}')
    assert main([*base, "list"]) == 0
    assert "missing (2 to run)" in capsys.readouterr().err
    write_spec(exp, "alpha", lr=2e-3)
    assert main([*base, "list"]) == 0
    err = capsys.readouterr().err
    assert "stale (4 to run)" in err and "alpha: 4 stale: config or inputs changed" in err
    assert not (tmp_path / "d").exists()


def test_provenance_names_the_cpu_kernels_and_threads():
    """Hosts whose CPUs run other torch kernels (AVX2 vs AVX512) give the same seed slightly other
    numbers: the provenance says which ones a run used."""
    import torch

    from reportgen.run.provenance import provenance
    from reportgen.results.schema import Provenance

    p = provenance(torch.device("cpu"))
    Provenance.model_validate(p)
    assert torch.backends.cpu.get_cpu_capability() in p["device"]
    assert p["device"].endswith(f"{torch.get_num_threads()} threads)")


def test_global_options_are_accepted_after_the_subcommand_too(tmp_path, capsys):
    exp, results = tmp_path / "exp", tmp_path / "r"
    spec = write_spec(exp, "alpha")
    fake_results(plan([spec], results))
    for argv in (["plan", "--experiments", str(exp), "--results-dir", str(results)],
                 ["--experiments", str(exp), "plan", "--results-dir", str(results)],
                 ["--experiments", str(exp), "--results-dir", str(tmp_path / "elsewhere"), "plan",
                  "--results-dir", str(results)]):
        assert main(argv) == 0
        assert "0 to train, 0 to reuse, 4 cached" in capsys.readouterr().err
    assert main(["--experiments", str(exp), "--results-dir", str(results), "plan"]) == 0  # before it, as always
    assert "4 cached" in capsys.readouterr().err
