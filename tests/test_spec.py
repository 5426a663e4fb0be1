"""Malformed specs fail with a SpecError naming the file, the field and the value or what is allowed;
the CLI turns them into exit code 2 and writes nothing."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from reportgen.spec.catalog import load_all, load_spec, select
from reportgen.cli import main
from reportgen.spec.expand import SMOKE, SpecError, expand

REPO = Path(__file__).resolve().parents[1]

HEADER = "from reportgen.spec import CNN, MLP, Data, EarlyStopping, Expect, Optim, Study, Sweep, Train\n"
T = 'title="t", question="q"'
VALID = f'"""Doc.\n\nRun: x\nExpected: y\nCost: z\n"""\n{HEADER}STUDY = Study({T}, train=Train(epochs=1))\n'

# (id, body after the import line, stage where it must fail, regexes the message must contain).
# Each regex list names the field path and the given value or the allowed values. Constructor-level
# errors (``MLP(dropout=1.5)``) may report the path from the model being built or from the Study.
CASES = [
    ("unknown_top_level_field", f"STUDY = Study({T}, epochs=3)", "load",
     [r"\bepochs\b", r"[Ee]xtra inputs", r"given: 3\b"]),
    ("unknown_nested_field_dict", f'STUDY = Study({T}, train={{"epochs": 1, "bacth_size": 8}})', "load",
     [r"train\.bacth_size", r"[Ee]xtra inputs", r"given: 8\b"]),
    ("unknown_nested_field_ctor", f"STUDY = Study({T}, model=MLP(hidden=(8,), dropuot=0.1))", "load",
     [r"(MLP|model)\.dropuot", r"given: 0\.1"]),
    ("wrong_type", f'STUDY = Study({T}, train=Train(epochs="ten"))', "load",
     [r"(Train|train)\.epochs", r"integer", r"'ten'"]),
    ("dropout_out_of_range", f"STUDY = Study({T}, model=MLP(dropout=1.5))", "load",
     [r"(MLP|model)\.dropout", r"less than 1\b", r"given: 1\.5"]),
    ("lr_zero", f"STUDY = Study({T}, optim=Optim(lr=0.0))", "load",
     [r"(Optim|optim)\.lr", r"greater than 0\b", r"given: 0\.0"]),
    ("lr_too_big_dict", f'STUDY = Study({T}, optim={{"lr": 11.0}})', "load",
     [r"optim\.lr", r"less than or equal to 10\b", r"given: 11\.0"]),
    ("epochs_zero", f"STUDY = Study({T}, train=Train(epochs=0))", "load",
     [r"(Train|train)\.epochs", r"greater than or equal to 1\b", r"given: 0\b"]),
    ("bad_activation", f'STUDY = Study({T}, model=MLP(activation="relu6"))', "load",
     [r"(MLP|model)\.activation", r"'relu6'", r"'leaky_relu'", r"'gelu'"]),
    ("bad_model_kind", f'STUDY = Study({T}, model={{"kind": "rnn"}})', "load",
     [r"\bmodel\b", r"'rnn'", r"'mlp'", r"'cnn'"]),
    ("bad_optimizer_name", f'STUDY = Study({T}, optim=Optim(name="adagrad"))', "load",
     [r"(Optim|optim)\.name", r"'adagrad'", r"'sgd'", r"'adamw'"]),
    ("momentum_with_adam", f'STUDY = Study({T}, optim=Optim(name="adam", momentum=0.9))', "load",
     [r"momentum", r"'adam'", r"sgd"]),
    ("bad_section", f'STUDY = Study({T}, section="Misc")', "load",
     [r"\bsection\b", r"'Misc'", r"'Tuning'"]),
    ("val_size_too_small", f"STUDY = Study({T}, data=Data(val_size=5))", "load",
     [r"(Data|data)\.val_size", r"greater than or equal to 10\b", r"given: 5\b"]),
    ("cnn_without_channels", f"STUDY = Study({T}, model=CNN(channels=()))", "load",
     [r"(CNN|model)\.channels", r"at least 1 item"]),
    ("empty_title", f'STUDY = Study(title="", question="q")', "load",
     [r"\btitle\b", r"at least 1 character", r"given: ''"]),
    ("empty_grid_list", f'STUDY = Study({T}, sweep=Sweep(grid={{"model.dropout": []}}))', "load",
     [r"grid", r"model\.dropout", r"empty"]),
    ("repeated_grid_value", f'STUDY = Study({T}, sweep=Sweep(grid={{"model.dropout": [0.1, 0.2, 0.1]}}))', "load",
     [r"grid", r"model\.dropout", r"repeats", r"0\.1, 0\.2, 0\.1"]),
    ("repeated_seed", f"STUDY = Study({T}, sweep=Sweep(seeds=(0, 1, 0)))", "load",
     [r"seeds", r"repeat", r"0, 1, 0"]),
    ("no_seeds", f"STUDY = Study({T}, sweep=Sweep(seeds=()))", "load",
     [r"seeds", r"at least 1 item"]),
    ("bad_variant_name_traversal", f'STUDY = Study({T}, sweep=Sweep(variants={{"../x": {{}}}}))', "load",
     [r"variant", r"'\.\./x'", r"slug"]),
    ("expect_two_claims", f'STUDY = Study({T}, expect=(Expect("test_accuracy", at_least=0.9, lowest="a"),))',
     "load", [r"Expect", r"at_least, at_most, highest, lowest", r"'at_least', 'lowest'"]),
    ("expect_no_claim", f'STUDY = Study({T}, expect=(Expect("test_accuracy"),))', "load",
     [r"Expect", r"at_least, at_most, highest, lowest", r"none"]),
    ("unknown_analysis", f'STUDY = Study({T}, analyses=("learning_curves", "nope"))', "load",
     [r"analyses\.1", r"'nope'", r"'comparison_table'", r"'generalization_gap'"]),
    ("no_study", "X = 1", "load", [r"STUDY", r"NoneType"]),
    ("study_not_a_study", f"STUDY = dict({T})", "load", [r"STUDY", r"found dict"]),
    ("spec_raises", "x = 1\ny = 1 / 0", "load", [r"\.py:3:", r"ZeroDivisionError", r"division by zero"]),
    # Sweep problems only show when the overrides are applied to the base config.
    ("grid_path_unknown_field", f'STUDY = Study({T}, sweep=Sweep(grid={{"model.dropuot": [0.1]}}))', "expand",
     [r"'model\.dropuot'", r"no field", r"model, optim, train, data, probes"]),
    ("grid_path_through_non_dict", f'STUDY = Study({T}, sweep=Sweep(grid={{"model.hidden.0": [8]}}))', "expand",
     [r"'model\.hidden\.0'", r"no field 'model\.hidden'"]),
    ("grid_override_invalid_value", f'STUDY = Study({T}, sweep=Sweep(grid={{"optim.lr": [0.001, 50.0]}}))',
     "expand", [r"variant 'lr=50'", r"optim\.lr", r"less than or equal to 10\b", r"given: 50\.0"]),
    ("variant_override_invalid_value",
     f'STUDY = Study({T}, sweep=Sweep(variants={{"big": {{"train.epochs": 5000}}}}))', "expand",
     [r"variant 'big'", r"train\.epochs", r"less than or equal to 1000\b", r"given: 5000\b"]),
    ("variant_override_unknown_field",
     f'STUDY = Study({T}, sweep=Sweep(variants={{"m": {{"optim.momentun": 0.9}}}}))', "expand",
     [r"'optim\.momentun'", r"variant 'm'", r"no field"]),
    ("expect_names_unknown_variant",
     f'STUDY = Study({T}, sweep=Sweep(grid={{"optim.lr": [0.1, 0.01]}}), '
     f'expect=(Expect("test_accuracy", highest="lr=0.5"),))', "load",
     [r"expect\[0\]\.highest", r"'lr=0\.5'", r"variants are: lr=0\.1, lr=0\.01"]),
    ("comparison_names_unknown_variant",
     f'STUDY = Study({T}, sweep=Sweep(grid={{"optim.lr": [0.1, 0.01]}}), comparisons=(("lr=0.1", "nope"),))',
     "load", [r"comparisons\[0\]\[1\]", r"'nope'", r"lr=0\.1, lr=0\.01"]),
    ("reference_names_unknown_variant", f'STUDY = Study({T}, reference="zzz")', "load",
     [r"\breference\b", r"'zzz'", r"variants are: default"]),
    ("equal_to_without_delta", f'STUDY = Study({T}, expect=(Expect("test_accuracy", equal_to="default"),))', "load",
     [r"equal_to and delta go together"]),
    ("grid_values_share_a_folder", f'STUDY = Study({T}, sweep=Sweep(grid={{"optim.lr": [1, 1.0]}}))', "expand",
     [r"share the folder", r"'lr-1'"]),
]


def load_and_expand(path: Path) -> None:
    spec = load_spec(path)
    expand(spec.study, spec.name, str(path))


@pytest.mark.parametrize("name, body, stage, needles", CASES, ids=[c[0] for c in CASES])
def test_malformed_spec_is_reported_with_file_field_and_value(tmp_path, name, body, stage, needles):
    path = tmp_path / f"{name}.py"
    path.write_text(HEADER + body + "\n", encoding="utf-8")
    if stage == "expand":
        spec = load_spec(path)  # the study itself is valid
        with pytest.raises(SpecError) as info:
            expand(spec.study, spec.name, str(path))
    else:
        with pytest.raises(SpecError) as info:
            load_spec(path)
    message = str(info.value)
    assert message.startswith(str(path)), message
    for needle in needles:
        assert re.search(needle, message), f"{needle!r} not in {message!r}"


def test_at_least_fifteen_kinds_of_malformed_spec():
    assert len(CASES) >= 15
    assert len({c[0] for c in CASES}) == len(CASES)


@pytest.mark.parametrize("filename", ["Bad-Name.py", "1-study.py", "with space.py", "Upper.py"])
def test_bad_study_file_name(tmp_path, filename):
    path = tmp_path / filename
    path.write_text(VALID, encoding="utf-8")
    with pytest.raises(SpecError) as info:
        load_spec(path)
    message = str(info.value)
    assert message.startswith(str(path))
    assert repr(path.stem) in message
    assert "lowercase letters, digits, '_'" in message


def test_valid_spec_loads_with_name_doc_and_runs(tmp_path):
    path = tmp_path / "good_one.py"
    path.write_text(VALID.replace("train=Train(epochs=1)",
                                  'train=Train(epochs=1), sweep=Sweep(grid={"model.dropout": [0.0, 0.25]}, seeds=(3, 4))'))
    spec = load_spec(path)
    assert spec.name == "good_one"
    assert spec.path == path
    assert spec.source == path.read_text()
    assert spec.doc.startswith("Doc.") and "Run: x" in spec.doc
    runs = expand(spec.study, spec.name, str(path))
    assert [(r.variant, r.label, r.seed) for r in runs] == [
        ("dropout-0", "dropout=0", 3), ("dropout-0", "dropout=0", 4),
        ("dropout-0.25", "dropout=0.25", 3), ("dropout-0.25", "dropout=0.25", 4)]
    assert [r.config.model.dropout for r in runs] == [0.0, 0.0, 0.25, 0.25]
    assert {r.config.train.epochs for r in runs} == {1}
    smoke = expand(spec.study, spec.name, str(path), smoke=True)
    assert [(r.variant, r.seed) for r in smoke] == [("dropout-0", 3), ("dropout-0.25", 3)]
    assert {(r.config.train.epochs, r.config.data.train_subset, r.config.data.test_subset) for r in smoke} == {
        (1, SMOKE["data.train_subset"], SMOKE["data.test_subset"])}


def test_load_all_reports_every_bad_file_without_hiding_good_ones(tmp_path):
    (tmp_path / "good.py").write_text(VALID)
    (tmp_path / "bad_a.py").write_text(HEADER + f"STUDY = Study({T}, epochs=3)\n")
    (tmp_path / "bad_b.py").write_text("raise RuntimeError('boom')\n")
    (tmp_path / "_helper.py").write_text("raise RuntimeError('helpers are not studies')\n")
    specs, errors = load_all(tmp_path)
    assert list(specs) == ["good"]
    assert sorted(str(e).split(":")[0] for e in errors) == [str(tmp_path / "bad_a.py"), str(tmp_path / "bad_b.py")]
    assert any("RuntimeError: boom" in str(e) for e in errors)


def test_select_unknown_name_lists_available(tmp_path):
    (tmp_path / "alpha.py").write_text(VALID)
    (tmp_path / "beta.py").write_text(VALID)
    specs, _ = load_all(tmp_path)
    assert [s.name for s in select(specs, ["beta"])] == ["beta"]
    assert [s.name for s in select(specs, [])] == ["alpha", "beta"]
    with pytest.raises(SpecError, match=r"unknown study 'gamma'; available: alpha, beta"):
        select(specs, ["gamma"])


def test_validating_specs_does_not_import_torch():
    """DESIGN: the spec stage imports pydantic only; listing and validating work without torch."""
    code = ("import sys; from pathlib import Path; from reportgen.spec.catalog import load_all; "
            "from reportgen.spec.expand import expand; specs, errors = load_all(Path('experiments')); "
            "assert not errors, errors; [expand(s.study, s.name) for s in specs.values()]; "
            "print(len(specs), 'torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    n, torch_loaded = out.stdout.split()
    assert int(n) >= 1
    assert torch_loaded == "False"


# ---------------------------------------------------------------------------------------- CLI


def cli(argv: list[str]) -> int:
    """The exit status the CLI would give: main()'s return value, or SystemExit's code."""
    try:
        return main(argv)
    except SystemExit as exit_:
        return exit_.code


def cli_args(tmp_path: Path, experiments: Path, *rest: str) -> list[str]:
    return ["--experiments", str(experiments), "--results-dir", str(tmp_path / "r"),
            "--docs-dir", str(tmp_path / "d"), *rest]


def test_cli_run_with_an_invalid_spec_exits_2_and_writes_nothing(tmp_path, capsys):
    exp = tmp_path / "experiments"
    exp.mkdir()
    (exp / "good.py").write_text(VALID)
    bad = exp / "broken.py"
    bad.write_text(HEADER + f"STUDY = Study({T}, model=MLP(dropout=1.5))\n")
    code = cli(cli_args(tmp_path, exp, "run", "good", "--smoke", "--no-render", "--data-dir", str(tmp_path / "nodata")))
    err = capsys.readouterr().err
    assert code == 2
    assert str(bad) in err and "dropout" in err and "1.5" in err
    assert not (tmp_path / "r").exists()
    assert not (tmp_path / "d").exists()
    assert not (tmp_path / "nodata").exists()


def test_cli_run_unknown_study_exits_2_and_lists_available(tmp_path, capsys):
    exp = tmp_path / "experiments"
    exp.mkdir()
    (exp / "alpha.py").write_text(VALID)
    (exp / "beta_two.py").write_text(VALID)
    code = cli(cli_args(tmp_path, exp, "run", "gamma", "--no-render"))
    err = capsys.readouterr().err
    assert code == 2
    assert "gamma" in err
    assert "available: alpha, beta_two" in err
    assert not (tmp_path / "r").exists() and not (tmp_path / "d").exists()


def test_cli_validate_counts_problems(tmp_path, capsys):
    exp = tmp_path / "experiments"
    exp.mkdir()
    (exp / "good.py").write_text(VALID)
    (exp / "sweep_typo.py").write_text(HEADER + f'STUDY = Study({T}, sweep=Sweep(grid={{"optim.lrr": [0.1]}}))\n')
    assert cli(cli_args(tmp_path, exp, "validate")) == 2
    err = capsys.readouterr().err
    assert "2 specs loaded, 1 problems" in err
    assert "optim.lrr" in err
    (exp / "sweep_typo.py").unlink()
    assert cli(cli_args(tmp_path, exp, "validate")) == 0
    assert "1 specs loaded, 0 problems" in capsys.readouterr().err


def test_cli_error_text_with_brackets_is_not_parsed_as_markup(tmp_path, capsys):
    exp = tmp_path / "experiments"
    exp.mkdir()
    (exp / "alpha.py").write_text(VALID)
    code = cli(cli_args(tmp_path, exp, "run", "[/x]", "--no-render"))
    assert code == 2
    assert "'[/x]'" in capsys.readouterr().err
