"""Data sets other than MNIST and models by import path: end to end on tiny data, keys that stale
exactly what changed, and located errors before training for bad folders and bad models."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from pydantic import ValidationError

from reportgen.cli import main
from reportgen.data.fetch import DataError
from reportgen.spec.catalog import load_spec
from reportgen.spec.config import RunConfig
from reportgen.spec.expand import SpecError, expand

REPO = Path(__file__).resolve().parents[1]

NET = '''
import torch
from torch import nn


class Tiny(nn.Module):
    def __init__(self, in_channels: int = 1, num_classes: int = 10, image_size: int = 28, hidden: int = 8):
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(in_channels * image_size * image_size, hidden), nn.ReLU(),
                                 nn.Linear(hidden, num_classes))

    def forward(self, x):
        return self.net(x)


class Wrong(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(1, 3)

    def forward(self, x):
        return self.fc(x.flatten(1)[:, :1])
'''


def make_folder(root: Path, classes=("a", "b", "c"), per_class: int = 24, side: int = 8, rgb: bool = False) -> Path:
    """A learnable ImageFolder: class k lights up the k-th third of the rows, plus noise."""
    rng = np.random.default_rng(0)
    for k, name in enumerate(classes):
        (root / name).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            img = rng.integers(0, 60, (side, side)).astype(np.uint8)
            band = slice(k * side // len(classes), (k + 1) * side // len(classes))
            img[band] = 220
            arr = np.stack([img] * 3, -1) if rgb else img
            Image.fromarray(arr).save(root / name / f"{i}.png")
    return root


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A project root of its own: pyproject.toml allowing ``usernets``, a model module, an experiments folder."""
    (tmp_path / "pyproject.toml").write_text('[tool.reportgen]\nmodels = ["usernets"]\n', encoding="utf-8")
    (tmp_path / "usernets.py").write_text(NET, encoding="utf-8")
    (tmp_path / "forbidden.py").write_text(NET, encoding="utf-8")
    (tmp_path / "experiments").mkdir()
    monkeypatch.chdir(tmp_path)
    return tmp_path


def write_spec(project: Path, name: str, body: str) -> Path:
    path = project / "experiments" / f"{name}.py"
    path.write_text(f'"""{name}.\n\nRun: x\nExpected: x\nCost: x\n"""\n'
                    "from reportgen.spec import MLP, Data, ImageFolder, Import, Optim, ProbeSpec, Study, Sweep, Train\n"
                    f"STUDY = Study(title='{name}', question='q?', optim=Optim(lr=1e-2), {body})\n", encoding="utf-8")
    return path


def run(project: Path, *args: str) -> int:
    return main(["--experiments", str(project / "experiments"), "--results-dir", str(project / "results"),
                 "--docs-dir", str(project / "docs"), "run", "--no-render", "--quiet", *args])


def result(project: Path, study: str, variant: str, seed: int = 0) -> dict:
    return json.loads((project / "results" / study / variant / f"seed{seed}.json").read_text(encoding="utf-8"))


FOLDER_STUDY = ("model=MLP(hidden=(16,)), train=Train(epochs=3, batch_size=8), "
                "data=Data(dataset=ImageFolder(root='imgs', size=8), val_size=12), "
                "sweep=Sweep(variants={'mlp': {}, 'tiny': {'model': Import(target='usernets:Tiny').model_dump()}}, seeds=(0,))")


@pytest.mark.slow
def test_a_tiny_image_folder_and_an_allowed_custom_model_run_end_to_end(project):
    make_folder(project / "imgs")
    write_spec(project, "folder", FOLDER_STUDY)
    assert run(project) == 0
    for variant in ("mlp", "tiny"):
        r = result(project, "folder", variant)
        assert r["status"] == "completed"
        assert np.array(r["test"]["confusion_matrix"]).shape == (3, 3)  # three classes, not ten
        assert sum(map(sum, r["test"]["confusion_matrix"])) == 14  # round(20 % of 72 images), stratified
        assert r["flops"] > 0 and r["architecture"]
        assert r["class_names"] == ["a", "b", "c"]  # the folders, in label order
    assert result(project, "folder", "tiny")["test"]["accuracy"] > 0.6  # the bands are learnable
    assert result(project, "folder", "mlp")["architecture"][1]["output"] == [16]  # Linear(64 → 16): 8×8 inputs


@pytest.mark.slow
def test_sklearn_digits_run_end_to_end(project):
    write_spec(project, "digits", "model=MLP(hidden=(32,)), train=Train(epochs=2, batch_size=64), "
                                  "data=Data(dataset='sklearn_digits', val_size=180), sweep=Sweep(seeds=(0,))")
    assert run(project) == 0
    r = result(project, "digits", "default")
    assert r["status"] == "completed" and r["test"]["accuracy"] > 0.5
    assert sum(map(sum, r["test"]["confusion_matrix"])) == 360
    assert r["architecture"][1]["output"] == [32] and r["params"] == 64 * 32 + 32 + 32 * 10 + 10


def test_editing_the_custom_models_module_stales_only_its_runs(project):
    make_folder(project / "imgs")
    spec = load_spec(write_spec(project, "folder", FOLDER_STUDY))
    before = {r.variant: r.key for r in expand(spec.study, spec.name)}
    (project / "usernets.py").write_text(NET + "\n# a comment changes the source\n", encoding="utf-8")
    after = {r.variant: r.key for r in expand(spec.study, spec.name)}
    assert after["mlp"] == before["mlp"] and after["tiny"] != before["tiny"]
    (project / "imgs" / "a" / "0.png").unlink()  # the data set's identity is in every key
    assert all(k != after[v] for v, k in {r.variant: r.key for r in expand(spec.study, spec.name)}.items())


def test_a_target_outside_the_allowlist_is_refused_with_the_spec_and_field(project):
    path = write_spec(project, "bad", "model=Import(target='os:system')")
    with pytest.raises(SpecError) as err:
        expand(load_spec(path).study, "bad", str(path))
    text = str(err.value)
    assert "bad.py" in text and "model.target 'os:system'" in text and "usernets" in text and "allowlist" in text
    with pytest.raises(ValidationError, match="not on the allowlist"):
        RunConfig.model_validate({"model": {"kind": "import", "target": "forbidden:Tiny"}})
    with pytest.raises(ValidationError, match="cannot find module 'usernets.nope'"):
        RunConfig.model_validate({"model": {"kind": "import", "target": "usernets.nope:Tiny"}})
    with pytest.raises(ValidationError, match="not 'package.module:ClassName'"):
        RunConfig.model_validate({"model": {"kind": "import", "target": "usernets.Tiny"}})


@pytest.mark.parametrize("body, message", [
    ("model=Import(target='usernets:Wrong')", "outputs shape (1, 3) for one image; the data set has 10 classes"),
    ("model=Import(target='usernets:Missing')", "module 'usernets' has no attribute 'Missing'"),
    ("model=Import(target='usernets:Tiny', init_args={'depth': 3})", "unexpected keyword argument 'depth'"),
])
def test_a_model_that_does_not_build_or_fit_is_refused_before_training(project, body, message, capsys):
    write_spec(project, "bad", body + ", data=Data(dataset='sklearn_digits', val_size=180)")
    assert run(project) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "model error" in err and "bad (variant 'default')" in err and message in err
    assert not (project / "results").exists()  # nothing trained, nothing written


@pytest.mark.parametrize("build, message", [
    (lambda root: root.mkdir(), "0 class folder(s)"),
    (lambda root: make_folder(root, classes=("only",)), "at least two classes"),
    (lambda root: [(root / c).mkdir(parents=True) for c in "ab"], "no images"),
    (lambda root: (make_folder(root), Image.new("L", (9, 9)).save(root / "a" / "big.png")),
     "images of different sizes"),
    (lambda root: (make_folder(root), (root / "b" / "broken.png").write_bytes(b"not a png")), "broken.png: cannot read"),
])
def test_a_bad_folder_is_refused_before_training_and_stored_results_are_untouched(project, build, message, capsys):
    build(project / "imgs")
    write_spec(project, "bad", "model=MLP(hidden=(4,)), data=Data(dataset=ImageFolder(root='imgs'), val_size=10)")
    stored = project / "results" / "other" / "default" / "seed0.json"
    stored.parent.mkdir(parents=True)
    stored.write_text("{}", encoding="utf-8")
    assert run(project, "bad") == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "data error" in err and "bad (variant 'default')" in err and message in err
    assert stored.read_text(encoding="utf-8") == "{}" and sorted(p.name for p in (project / "results").iterdir()) == ["other"]


def test_mnist_only_probes_and_analyses_are_refused_on_another_data_set(project):
    path = write_spec(project, "probe", "data=Data(dataset='sklearn_digits', val_size=180), "
                                        "probes=(ProbeSpec(name='digit_panel', indices=(0,)),)")
    with pytest.raises(SpecError, match=r"probe\.py.*probes\[0\] \('digit_panel'\) is for MNIST only"):
        expand(load_spec(path).study, "probe", str(path))
    path = write_spec(project, "analysis", "data=Data(dataset='sklearn_digits', val_size=180), "
                                           "analyses=('comparison_table', 'misclassified_examples')")
    with pytest.raises(SpecError, match=r"analysis\.py: analyses \['misclassified_examples'\] are for MNIST only"):
        expand(load_spec(path).study, "analysis", str(path))
    with pytest.raises(ValidationError, match="data.val_size=5000 leaves no training images"):
        RunConfig.model_validate({"data": {"dataset": "sklearn_digits"}})


def test_layers_are_checked_against_the_data_sets_shape_and_classes(project):
    from reportgen.spec import Dense, Layers, MaxPool

    three = Layers(layers=(MaxPool(), MaxPool(), Dense(10, activation="none"))).model_dump()
    four = Layers(layers=(MaxPool(),) * 4 + (Dense(10, activation="none"),)).model_dump()
    RunConfig.model_validate({"model": four})  # 28 → 14 → 7 → 3 → 1 on MNIST
    with pytest.raises(ValidationError, match=r"layers\[3\] \(maxpool 2\) gets a 1×1 map"):  # 8 → 4 → 2 → 1
        RunConfig.model_validate({"model": four, "data": {"dataset": "sklearn_digits", "val_size": 180}})
    make_folder(project / "imgs")
    with pytest.raises(ValidationError, match="must end in 3 logits"):
        RunConfig.model_validate({"model": three, "data": {"dataset": {"kind": "image_folder", "root": "imgs", "size": 8},
                                                           "val_size": 12}})


def test_another_mnist_format_set_missing_names_its_files_and_reportgen_data(tmp_path):
    from reportgen.data import sets

    with pytest.raises(DataError) as err:
        sets.read_mnist_format("kmnist", tmp_path, download=False)
    text = str(err.value)
    assert "KMNIST/raw/train-images-idx3-ubyte.gz" in text and "bdb82020997e1d708af4cf47b453dcf7" in text
    assert "REPORTGEN_DATA" in text


def test_mnist_keys_do_not_name_the_data_set_field():
    """The data set field at its default stays out of the key: every committed MNIST key is unchanged."""
    from reportgen.spec.expand import key_config

    assert "dataset" not in key_config(RunConfig())["data"]
    assert key_config(RunConfig.model_validate({"data": {"dataset": "kmnist"}}))["data"]["dataset"] == "kmnist"


def test_the_example_model_is_allowed_by_the_project(monkeypatch):
    monkeypatch.chdir(REPO)
    from reportgen.run.models import build

    net = build({"kind": "import", "target": "experiments.models.smallnet:SmallNet", "init_args": {}}, (3, 12, 12), 4)
    import torch

    assert net(torch.zeros(2, 3, 12, 12)).shape == (2, 4)
