"""Run keys and the cache: what is cached, reused or trained, and what does (not) change a key."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from conftest import valid_result
from reportgen import expand as expand_mod
from reportgen import store, version
from reportgen.catalog import load_spec
from reportgen.cli import main
from reportgen.execute import plan
from reportgen.expand import expand

REAL_PKG = version.PKG
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
        store.write_json(p.path, valid_result(p.key, status, p.run.study, p.run.variant, p.run.seed))


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
    # A file at the right place with another key (stale) is retrained too.
    store.write_json(first[0].path, {"key": "0" * 64, "status": "completed"})
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
    monkeypatch.setattr(expand_mod, "DATASET_MD5", "0" * 32)
    after = keys(spec)
    assert all(before[k] != after[k] for k in before)


# ------------------------------------------------------------------------------ runner version


@pytest.fixture
def package_copy(tmp_path, monkeypatch):
    """A copy of the reportgen sources that ``version`` hashes instead of the real ones."""
    copy = tmp_path / "pkg"
    shutil.copytree(version.PKG, copy, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(version, "PKG", copy)
    version._file_hash.cache_clear()
    yield copy
    version._file_hash.cache_clear()  # monkeypatch restores PKG after this; drop hashes of the copy


def edit(path: Path) -> None:
    path.write_text(path.read_text(encoding="utf-8") + "\n# an edit\n", encoding="utf-8")
    version._file_hash.cache_clear()  # a new process would not have the old hash cached


def versions() -> dict[str, str]:
    return {"mlp": version.runner_version("mlp"), "cnn": version.runner_version("cnn"),
            "mlp+aug": version.runner_version("mlp", augmented=True)}


def test_runner_version_of_an_identical_copy_matches_the_real_sources(package_copy, monkeypatch):
    ours = versions()
    monkeypatch.setattr(version, "PKG", REAL_PKG)
    version._file_hash.cache_clear()
    assert versions() == ours
    assert len(ours["mlp"]) == 16 and int(ours["mlp"], 16) >= 0
    assert len(set(ours.values())) == 3  # family and augmentation each enter the version


@pytest.mark.parametrize("hashed", ["train.py", "data.py", "optim.py", "metrics.py", "models/common.py"])
def test_editing_core_code_changes_every_runner_version(package_copy, hashed):
    before = versions()
    edit(package_copy / hashed)
    after = versions()
    assert all(before[k] != after[k] for k in before)


def test_editing_a_model_family_changes_only_its_runs(package_copy):
    before = versions()
    edit(package_copy / "models" / "cnn.py")
    after = versions()
    assert after["cnn"] != before["cnn"]
    assert (after["mlp"], after["mlp+aug"]) == (before["mlp"], before["mlp+aug"])


def test_editing_augmentation_changes_only_augmented_runs(package_copy):
    before = versions()
    edit(package_copy / "augment.py")
    after = versions()
    assert after["mlp+aug"] != before["mlp+aug"]
    assert (after["mlp"], after["cnn"]) == (before["mlp"], before["cnn"])


def test_editing_probes_changes_only_probed_runs(package_copy):
    before = versions() | {"mlp+probes": version.runner_version("mlp", probed=True)}
    edit(package_copy / "probes.py")
    after = versions() | {"mlp+probes": version.runner_version("mlp", probed=True)}
    assert after["mlp+probes"] != before["mlp+probes"]
    assert all(after[k] == before[k] for k in ("mlp", "cnn", "mlp+aug"))


def test_editing_digits_changes_only_runs_that_perturb_or_read_outside_digits(package_copy):
    """digits.py makes the robustness perturbations and the custom_digits inputs: it is hashed into
    those runs, and into no other (predictions and sanity runs keep their version)."""
    def probe_versions():
        return versions() | {"mlp+digits": version.runner_version("mlp", predict_probed=True, digits_probed=True),
                             "mlp+predict": version.runner_version("mlp", predict_probed=True)}

    before = probe_versions()
    edit(package_copy / "digits.py")
    after = probe_versions()
    assert after["mlp+digits"] != before["mlp+digits"]
    assert all(after[k] == before[k] for k in ("mlp", "cnn", "mlp+aug", "mlp+predict"))


@pytest.mark.parametrize("not_hashed", ["cli.py", "store.py", "execute.py", "spec.py", "catalog.py", "__init__.py",
                                        "fetch.py", "figures.py", "render.py", "findings.py", "summary.py",
                                        "analyses/dynamics.py", "analyses/internals.py", "analyses/standard.py"])
def test_editing_non_computing_code_keeps_runner_version(package_copy, not_hashed):
    before = versions()
    edit(package_copy / not_hashed)
    assert versions() == before


def test_runner_version_enters_the_key_and_marks_results_stale(tmp_path, monkeypatch):
    spec, results = write_spec(tmp_path / "exp", "alpha"), tmp_path / "r"
    fake_results(plan([spec], results))
    real = version._file_hash

    def patched(rel: str) -> str:
        return "edited" if rel == "train.py" else real(rel)

    monkeypatch.setattr(version, "_file_hash", patched)
    assert {p.action for p in plan([spec], results)} == {"train"}
    monkeypatch.setattr(version, "_file_hash", lambda rel: "edited" if rel == "cli.py" else real(rel))
    assert {p.action for p in plan([spec], results)} == {"cached"}


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
    assert "stale (4 to run)" in capsys.readouterr().err
    assert not (tmp_path / "d").exists()


def test_provenance_names_the_cpu_kernels_and_threads():
    """Hosts whose CPUs run other torch kernels (AVX2 vs AVX512) give the same seed slightly other
    numbers: the provenance says which ones a run used."""
    import torch

    from reportgen.execute import provenance
    from reportgen.resultschema import Provenance

    p = provenance(torch.device("cpu"))
    Provenance.model_validate(p)
    assert torch.backends.cpu.get_cpu_capability() in p["device"]
    assert p["device"].endswith(f"{torch.get_num_threads()} threads)")
