"""The ``explore`` study kind and the data analyses, on tiny synthetic IDX files (conftest's
``write_raw_mnist``) with planted duplicates and invalid labels: every number is checked against
numpy computed here, independently; explore specs with run-level fields fail naming the field; and
plan, list, run and render treat an explore study as complete with nothing to train."""
from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from conftest import idx_bytes, write_raw_mnist
from reportgen.data import fetch
from reportgen.report.analyses import ANALYSES, Context, data
from reportgen.spec.catalog import Spec, load_spec
from reportgen.cli import main
from reportgen.spec.expand import SpecError, expand, variants
from reportgen.spec import DATA_ANALYSES, Data, Expect, ProbeSpec, Study, Sweep
from reportgen.results.chain import collect

N_TRAIN, N_TEST, VAL = 160, 40, 100  # val_size ≥ 100 (schema): validation is train[60:160]
TRAIN_X, TRAIN_Y = "train-images-idx3-ubyte", "train-labels-idx1-ubyte"
TEST_X, TEST_Y = "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"

SPEC_SOURCE = '''"""What is in the data?

Run:      invoke run --spec explo
Expected: counts.
Cost:     no training.
"""
from reportgen.spec import Data, Study

STUDY = Study(title="Explo", question="What is in the data?", kind="explore", data=Data(val_size=100),
              analyses=("split_overview", "data_checks", "pixel_statistics", "class_images", "duplicates"))
'''


def write_files(root: Path, arrays: dict[str, np.ndarray], monkeypatch: pytest.MonkeyPatch) -> dict[str, np.ndarray]:
    """Write ``arrays`` as the four IDX files under ``root`` and make ``fetch.MD5`` accept them."""
    raw = root / "MNIST" / "raw"
    md5 = {}
    for name, array in arrays.items():
        blob = idx_bytes(array)
        (raw / name).write_bytes(blob)
        md5[name] = hashlib.md5(blob).hexdigest()
    monkeypatch.setattr(fetch, "MD5", md5)
    return arrays


@pytest.fixture
def planted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, dict[str, np.ndarray]]:
    """Synthetic MNIST (random images, so no accidental duplicates) with two planted duplicates:
    train #7 = train #3 (within train; labels 7 and 3) and test #5 = train #150 (val × test)."""
    raw = write_raw_mnist(tmp_path / "mnist", n_train=N_TRAIN, n_test=N_TEST, seed=1)
    arrays = {k: v.copy() for k, v in raw.arrays.items()}
    arrays[TRAIN_X][7] = arrays[TRAIN_X][3]
    arrays[TEST_X][5] = arrays[TRAIN_X][150]
    return raw.root, write_files(raw.root, arrays, monkeypatch)


def explore_spec(tmp_path: Path) -> Spec:
    path = tmp_path / "experiments" / "explo.py"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(SPEC_SOURCE, encoding="utf-8")
    return load_spec(path)


def context(tmp_path: Path, root: Path) -> Context:
    spec = explore_spec(tmp_path)
    return Context(collect(spec, tmp_path / "results"), tmp_path / "docs" / "assets" / "explo", "../assets/explo", root)


def test_split_counts_and_balance_match_numpy(tmp_path, planted):
    root, arrays = planted
    out = data.split_overview(context(tmp_path, root))
    y_train, y_test = arrays[TRAIN_Y], arrays[TEST_Y]
    want = {"training file": y_train, "train": y_train[: N_TRAIN - VAL], "val": y_train[N_TRAIN - VAL:], "test": y_test}
    assert [r["split"] for r in out["rows"]] == list(want)
    for row, labels in zip(out["rows"], want.values()):
        counts = np.array([np.sum(labels == d) for d in range(10)])
        assert row["images"] == len(labels) and row["counts"] == counts.tolist()
        expected = counts.sum() / 10
        assert row["chi2"] == pytest.approx(np.sum((counts - expected) ** 2 / expected))
        assert row["ratio"] == pytest.approx(counts.max() / counts.min())
    assert out["validation"]["start"] == N_TRAIN - VAL and out["validation"]["stop"] == N_TRAIN
    assert Path(tmp_path / "docs" / "assets" / "explo" / "split_counts.png").is_file()


def test_pixel_statistics_match_numpy(tmp_path, planted):
    root, arrays = planted
    out = data.pixel_statistics(context(tmp_path, root))
    x = arrays[TRAIN_X].astype(np.float64) / 255
    whole, train = out["rows"][0], out["rows"][1]
    assert whole["mean"] == pytest.approx(x.mean(), abs=1e-12) and whole["std"] == pytest.approx(x.std(), abs=1e-12)
    assert train["mean"] == pytest.approx(x[: N_TRAIN - VAL].mean(), abs=1e-12)
    assert whole["min"] == arrays[TRAIN_X].min() and whole["max"] == arrays[TRAIN_X].max()
    assert whole["zero"] == pytest.approx(np.mean(arrays[TRAIN_X] == 0))
    used = next(c for c in out["constants"] if "reportgen.data.mnist" in c["what"])
    assert (used["mean"], used["std"]) == (0.1307, 0.3081)  # reportgen.data.mnist's constants, shown beside
    assert used["agree"] is False  # random pixels are nothing like MNIST's


def test_class_images_mean_per_digit_matches_numpy(tmp_path, planted):
    root, arrays = planted
    out = data.class_images(context(tmp_path, root), per_class=3)
    x, y = arrays[TRAIN_X], arrays[TRAIN_Y]
    for row in out["rows"]:
        assert row["images"] == np.sum(y == row["digit"])
        assert row["ink"] == pytest.approx((x[y == row["digit"]] / 255).mean())


def test_planted_duplicates_are_found_within_and_across_splits(tmp_path, planted):
    root, arrays = planted
    out = data.duplicates(context(tmp_path, root))
    pairs = {r["where"]: r["pairs"] for r in out["rows"]}
    assert pairs == {"within train": 1, "train × val": 0, "train × test": 0, "within val": 0, "val × test": 1,
                     "within test": 0}
    assert out["total"] == 2 and out["groups"] == 2
    conflicts = {r["where"]: r["conflicts"] for r in out["rows"]}
    assert conflicts["within train"] == int(arrays[TRAIN_Y][3] != arrays[TRAIN_Y][7]) == 1
    assert [e["members"] for e in out["examples"]] == [["train · train #3", "train · train #7"],
                                                      ["val · train #150", "test · t10k #5"]]
    assert out["url"] and (tmp_path / "docs" / "assets" / "explo" / "duplicates.png").is_file()


def test_duplicate_groups_need_identical_bytes():
    a = np.zeros((3, 28, 28), np.uint8)
    a[1, 0, 0] = 1  # differs from #0 by one pixel: not a duplicate
    b = a[[0, 2]].copy()
    groups = data.duplicate_groups({"a": a, "b": b})
    assert groups == [[("a", 0), ("a", 2), ("b", 0), ("b", 1)]]


def test_data_checks_count_zero_on_clean_files_and_each_planted_problem(tmp_path, planted, monkeypatch):
    root, arrays = planted
    clean = data.data_checks(context(tmp_path, root))
    assert clean["total"] == 0 and all(c["found"] == 0 for c in clean["checks"]) and len(clean["checks"]) == 7
    assert [h["dims"] for h in clean["headers"]] == [(N_TRAIN, 28, 28), (N_TRAIN,), (N_TEST, 28, 28), (N_TEST,)]
    arrays[TRAIN_Y][0] = 11
    arrays[TEST_Y][1] = 200
    arrays[TEST_X][2] = 0  # blank
    write_files(root, arrays, monkeypatch)
    bad = data.data_checks(context(tmp_path / "again", root))
    found = {c["what"].split(":")[0]: c["found"] for c in bad["checks"]}
    assert found["labels outside 0–9"] == 2 and found["blank images (all pixels equal, e.g. all 0)"] == 1
    assert bad["total"] == 3 and "3 invalid" in bad["summary"]


def test_data_checks_read_the_idx_header(tmp_path, planted, monkeypatch):
    root, arrays = planted
    blob = bytearray((root / "MNIST" / "raw" / TEST_Y).read_bytes())
    blob[3] = 0x03  # claims 3 dimensions: wrong magic, wrong shape and a size that does not add up
    (root / "MNIST" / "raw" / TEST_Y).write_bytes(bytes(blob) + b"\0")
    monkeypatch.setitem(fetch.MD5, TEST_Y, hashlib.md5(bytes(blob) + b"\0").hexdigest())
    out = data.data_checks(context(tmp_path, root))
    found = [c["found"] for c in out["checks"]]
    assert found[1] == 1 and found[2] >= 1 and found[3] == 1


@pytest.mark.parametrize("kwargs, field", [
    ({"sweep": Sweep(variants={"a": {"model.dropout": 0.1}})}, "sweep.variants"),
    ({"sweep": Sweep(grid={"model.dropout": (0.0, 0.1)})}, "sweep.grid"),
    ({"expect": (Expect("test_accuracy", at_least=0.9),)}, "expect"),
    ({"probes": (ProbeSpec(name="grad_norms"),)}, "probes"),
    ({"reference": "default"}, "reference"),
    ({"target_accuracy": 0.99}, "target_accuracy"),
    ({"analyses": ("split_overview", "comparison_table")}, "analyses"),
    ({"analyses": None}, "analyses"),  # the default analyses read runs
])
def test_explore_study_rejects_run_level_fields_naming_them(kwargs, field):
    kwargs = {"analyses": DATA_ANALYSES, **kwargs}
    if kwargs["analyses"] is None:
        del kwargs["analyses"]
    with pytest.raises(ValidationError) as err:
        Study(title="t", question="q", kind="explore", **kwargs)
    (e,) = err.value.errors()
    assert e["loc"] == (field.split(".")[0],) and field in e["msg"] and "explore" in e["msg"]


def test_explore_spec_error_names_file_and_field(tmp_path):
    path = tmp_path / "bad.py"
    path.write_text(SPEC_SOURCE.replace("import Data, Study", "import Data, Study, Sweep")
                    .replace('kind="explore",', 'kind="explore", sweep=Sweep(variants={"a": {}}),'), encoding="utf-8")
    with pytest.raises(SpecError, match=r"bad\.py: sweep: .*explore.*sweep\.variants"):
        load_spec(path)


def test_explore_study_has_no_variants_and_no_runs_and_is_complete(tmp_path):
    spec = explore_spec(tmp_path)
    assert spec.study.kind == "explore" and Study(title="t", question="q").kind == "train"
    assert variants(spec.study) == [] and expand(spec.study, "explo") == [] and expand(spec.study, "explo", smoke=True) == []
    sr = collect(spec, tmp_path / "results")
    assert sr.variants == [] and sr.runs == [] and sr.complete
    assert set(DATA_ANALYSES) <= set(ANALYSES) and spec.study.data == Data(val_size=100)


def cli(tmp_path: Path, *args: str) -> list[str]:
    return ["--experiments", str(tmp_path / "experiments"), "--results-dir", str(tmp_path / "results"),
            "--docs-dir", str(tmp_path / "docs"), *args]


def test_plan_and_list_call_it_up_to_date_with_nothing_to_train(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    explore_spec(tmp_path)
    assert main(cli(tmp_path, "plan", "explo")) == 0
    err = capsys.readouterr().err
    assert "explo: nothing to train" in err and "0 to train, 0 to reuse, 0 cached" in err
    assert main(cli(tmp_path, "list")) == 0
    err = capsys.readouterr().err
    assert "up to date (nothing to train)" in err and "missing" not in err


def test_run_renders_the_page_without_training(tmp_path, planted, capsys, monkeypatch):
    root, _ = planted
    monkeypatch.chdir(tmp_path)  # nothing may land in the repository
    explore_spec(tmp_path)
    assert main(cli(tmp_path, "run", "explo", "--data-dir", str(root), "--quiet")) == 0
    assert "trained 0, cached 0, reused 0, failed 0" in capsys.readouterr().err
    assert not (tmp_path / "results").exists() or not list((tmp_path / "results").glob("**/*.json"))
    page = (tmp_path / "docs" / "studies" / "explo.md").read_text(encoding="utf-8")
    for name in DATA_ANALYSES:
        heading = (Path(data.__file__).parents[1] / "pages" / "templates" / "analyses" / f"{name}.md.j2").read_text().splitlines()
        heading = next(line for line in heading if not line.startswith("{%"))
        assert heading in page.splitlines(), heading
    assert "Incomplete results" not in page and "No results yet" not in page and "## Comparison" not in page
    assert "2 pairs of byte-identical images" in page and "Nothing is trained" in page
    for png in ("split_counts", "pixel_histogram", "samples_per_class", "mean_image_per_class", "duplicates"):
        assert f"../assets/explo/{png}.png" in page and (tmp_path / "docs" / "assets" / "explo" / f"{png}.png").is_file()
    index = (tmp_path / "docs" / "index.md").read_text(encoding="utf-8")
    assert "none: explores the data" in index and "(incomplete)" not in index


def no_network(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Make both fetchers fail as without network; returns the roots they were asked to fill."""
    asked: list[Path] = []

    def offline(root: Path) -> None:
        asked.append(root)
        raise OSError("no network in the tests")

    monkeypatch.setattr(fetch, "_fetch_torchvision", offline)
    monkeypatch.setattr(fetch, "_fetch_npm", offline)
    return asked


def test_render_without_data_is_a_clear_error(tmp_path, capsys, monkeypatch):
    explore_spec(tmp_path)
    asked = no_network(monkeypatch)
    assert main(cli(tmp_path, "render", "explo", "--data-dir", str(tmp_path / "nowhere"))) == 2
    err = capsys.readouterr().err
    assert "data error" in err and "MNIST not found" in err
    assert asked and set(asked) == {tmp_path / "nowhere"}  # rendering tried to fetch it before giving up


def test_a_run_with_nothing_to_train_fetches_missing_data_for_its_pages(tmp_path, planted, capsys, monkeypatch):
    """A fresh clone: no REPORTGEN_DATA, no ./data, nothing to train; the pages that read MNIST fetch
    it into ./data (md5-checked) instead of failing with "MNIST not found"."""
    src, _ = planted
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("REPORTGEN_DATA", raising=False)
    fetched: list[Path] = []

    def fake_fetch(root: Path) -> None:  # what torchvision's downloader leaves: the four raw files
        fetched.append(root)
        shutil.copytree(src / "MNIST" / "raw", root / "MNIST" / "raw")

    monkeypatch.setattr(fetch, "_fetch_torchvision", fake_fetch)
    explore_spec(tmp_path)
    assert main(cli(tmp_path, "run", "explo", "--quiet")) == 0
    assert "trained 0" in capsys.readouterr().err
    assert fetched == [Path("data")] and fetch.verify(Path("data"))
    assert (tmp_path / "docs" / "studies" / "explo.md").is_file()
