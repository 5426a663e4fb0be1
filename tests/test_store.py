"""The result store: strict JSON, explicit non-finite values, atomic writes, the cache index."""
from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np
import pytest

from conftest import valid_result
from reportgen.results import store


def strict_loads(text: str):
    def reject(constant: str):
        raise ValueError(f"non-strict JSON constant {constant}")

    return json.loads(text, parse_constant=reject)


def result(key: str = "k" * 64, status: str = "completed", **extra) -> dict:
    return {"schema_version": store.SCHEMA_VERSION, "key": key, "status": status, **extra}


def test_result_path_layout(tmp_path):
    assert store.result_path(tmp_path, "study", "dropout-0.1", 2) == tmp_path / "study" / "dropout-0.1" / "seed2.json"


def test_round_trip_with_non_finite_values(tmp_path):
    path = tmp_path / "s" / "v" / "seed0.json"  # parent folders are created
    payload = result(history=[{"epoch": 1, "train_loss": math.nan, "val_loss": math.inf, "lr": 0.001},
                              {"epoch": 2, "train_loss": -math.inf, "val_loss": 1.5, "lr": 1e-4}],
                     test={"accuracy": 0.5, "roc_auc_ovr": math.nan, "confusion_matrix": [[1, 2], [3, 4]]},
                     nested=({"t": (1.0, math.inf)},), label="dropout=0.1", flag=True, none=None)
    store.write_json(path, payload)
    text = path.read_text(encoding="utf-8")
    raw = strict_loads(text)  # strict JSON: no NaN/Infinity literals
    assert raw["history"][0]["train_loss"] == "NaN"
    assert raw["history"][0]["val_loss"] == "Infinity"
    assert raw["history"][1]["train_loss"] == "-Infinity"
    assert raw["test"]["roc_auc_ovr"] == "NaN"
    back = store.read_json(path)
    h0, h1 = back["history"]
    assert math.isnan(h0["train_loss"]) and isinstance(h0["train_loss"], float)
    assert h0["val_loss"] == math.inf and h1["train_loss"] == -math.inf
    assert h1["val_loss"] == 1.5 and h0["lr"] == 0.001 and h1["lr"] == 1e-4
    assert math.isnan(back["test"]["roc_auc_ovr"])
    assert back["test"]["confusion_matrix"] == [[1, 2], [3, 4]]
    assert back["nested"] == [{"t": [1.0, math.inf]}]  # tuples come back as lists
    assert (back["label"], back["flag"], back["none"]) == ("dropout=0.1", True, None)
    assert back["key"] == payload["key"] and back["status"] == "completed"


def test_floats_survive_exactly(tmp_path):
    values = [0.1, 1 / 3, 1e-300, 5e-324, 1.7976931348623157e308, -0.0, 123456789.123456789]
    store.write_json(tmp_path / "seed0.json", result(values=values))
    assert store.read_json(tmp_path / "seed0.json")["values"] == values


def test_read_json_rejects_non_results(tmp_path):
    (tmp_path / "a.json").write_text('{"status": "completed"}')
    (tmp_path / "b.json").write_text("[1, 2]")
    (tmp_path / "c.json").write_text('{"key": "x", "status": ')
    with pytest.raises(ValueError, match="no key/status"):
        store.read_json(tmp_path / "a.json")
    with pytest.raises(ValueError, match="no key/status"):
        store.read_json(tmp_path / "b.json")
    with pytest.raises(json.JSONDecodeError):
        store.read_json(tmp_path / "c.json")


def test_atomic_write_leaves_no_temp_file(tmp_path):
    path = tmp_path / "seed0.json"
    store.write_json(path, result(value=1))
    store.write_json(path, result(value=2))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["seed0.json"]
    assert store.read_json(path)["value"] == 2


def test_failed_write_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "seed0.json"
    store.write_json(path, result(value="old"))
    before = path.read_bytes()

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        store.write_json(path, result(value="new"))
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["seed0.json"]  # temp file removed


def test_unserialisable_payload_keeps_the_old_file(tmp_path):
    path = tmp_path / "seed0.json"
    store.write_json(path, result(value="old"))
    with pytest.raises(TypeError):
        store.write_json(path, result(value=object()))
    assert store.read_json(path)["value"] == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["seed0.json"]


@pytest.fixture
def results_tree(tmp_path) -> Path:
    r = tmp_path / "results"
    for study, variant, seed, key, status in [
        ("a", "v1", 0, "k_done", "completed"),
        ("a", "v1", 1, "k_div", "diverged"),
        ("a", "v2", 0, "k_fail", "failed"),
        ("a", "v2", 1, "k_int", "interrupted"),
        ("b", "default", 0, "k_done", "completed"),  # the same run, declared by another study
    ]:
        store.write_json(store.result_path(r, study, variant, seed), valid_result(key, status, study, variant, seed))
    (r / "a" / "v3").mkdir(parents=True)
    (r / "a" / "v3" / "seed0.json").write_text("{truncated")
    (r / "a" / "v3" / "seed1.json").write_text('{"hello": 1}')
    (r / "a" / "v3" / "notes.json").write_text("not a result file name, ignored")
    return r


def test_index_keeps_only_final_results(results_tree):
    idx = store.index(results_tree)
    assert set(idx) == {"k_done", "k_div"}
    assert idx["k_done"] == [results_tree / "a" / "v1" / "seed0.json", results_tree / "b" / "default" / "seed0.json"]
    assert idx["k_div"] == [results_tree / "a" / "v1" / "seed1.json"]


def test_problems_lists_unreadable_files(results_tree):
    found = dict(store.problems(results_tree))
    assert set(found) == {results_tree / "a" / "v3" / "seed0.json", results_tree / "a" / "v3" / "seed1.json"}
    assert found[results_tree / "a" / "v3" / "seed0.json"].startswith("JSONDecodeError")
    assert "no key/status" in found[results_tree / "a" / "v3" / "seed1.json"]


def test_iter_results_skips_unreadable_and_filters_by_study(results_tree):
    all_ = [(p.relative_to(results_tree).as_posix(), r["status"]) for p, r in store.iter_results(results_tree)]
    assert all_ == [("a/v1/seed0.json", "completed"), ("a/v1/seed1.json", "diverged"),
                    ("a/v2/seed0.json", "failed"), ("a/v2/seed1.json", "interrupted"),
                    ("b/default/seed0.json", "completed")]
    assert [p.relative_to(results_tree).as_posix() for p, _ in store.iter_results(results_tree, "b")] == [
        "b/default/seed0.json"]


def test_empty_or_missing_results_dir(tmp_path):
    assert store.index(tmp_path / "none") == {}
    assert store.problems(tmp_path / "none") == []


def test_quantized_arrays_keep_each_slice_within_half_a_step_and_its_range():
    from reportgen.results.quantized import decode, encode

    rng = np.random.default_rng(0)
    a = rng.normal(0, [[[0.01]], [[1.0]], [[30.0]]], (3, 28, 28))  # slices of very different scales
    a[1, 0, 0] = 5.0
    blob = json.loads(json.dumps(encode(a)))  # through JSON, as stored
    b = decode(blob)
    assert b.shape == a.shape and blob["shape"] == [3, 28, 28] and len(blob["data"]) == 4 * -(-3 * 784 // 3)
    step = np.asarray(blob["scale"])[:, None, None]
    assert np.all(np.abs(b - a) <= step / 2 * (1 + 1e-9))
    assert np.allclose(b.reshape(3, -1).min(1), a.reshape(3, -1).min(1), rtol=0, atol=1e-12)
    assert np.allclose(b.reshape(3, -1).max(1), a.reshape(3, -1).max(1), rtol=1e-12)
    flat = decode(encode(np.zeros((2, 4))))  # a constant slice
    assert np.array_equal(flat, np.zeros((2, 4)))


def test_quantized_rejects_what_it_cannot_store():
    from reportgen.results.quantized import decode, encode

    with pytest.raises(ValueError, match="non-finite"):
        encode([[1.0, float("nan")]])
    with pytest.raises(ValueError, match="shape"):
        encode(3.0)
    blob = encode(np.ones((2, 3)))
    with pytest.raises(ValueError, match="do not fit the shape"):
        decode({**blob, "shape": [2, 4]})
    with pytest.raises(ValueError, match="unknown array encoding"):
        decode({**blob, "encoding": "float16"})


def test_a_schema_2_result_is_read_with_compact_probe_arrays(tmp_path):
    from reportgen.results.quantized import decode

    weights = np.round(np.random.default_rng(1).normal(0, 0.05, (4, 28, 28)), 5)
    maps = np.round(np.random.default_rng(2).normal(0, 1, (2, 5, 5)), 4)
    old = valid_result("k" * 64, probes={
        "first_layer_weights": [{"epoch": "final", "shape": [4, 28, 28], "weights": weights.tolist()}],
        "feature_maps": [{"layer": "conv1", "index": 0, "label": 7, "shape": [2, 5, 5], "maps": maps.tolist()}],
        "weight_norms": [{"epoch": 0, "layers": {"fc1": 1.5}}]})
    old["schema_version"] = 2
    del old["numerics"]
    store.write_json(tmp_path / "seed0.json", old)
    new = store.read_result(tmp_path / "seed0.json")
    assert new["schema_version"] == store.SCHEMA_VERSION and "numerics" not in new
    w = new["probes"]["first_layer_weights"][0]["weights"]
    assert np.abs(decode(w) - weights).max() <= max(w["scale"]) / 2 + 1e-12
    assert np.abs(decode(new["probes"]["feature_maps"][0]["maps"]) - maps).max() <= 0.05
    assert new["probes"]["weight_norms"] == old["probes"]["weight_norms"]


def test_committed_results_stay_small():
    """The published report is rebuilt from the repository: no result file over 1 MB, all of them
    under 25 MB (large probe arrays are stored as uint8 codes, reportgen.results.quantized)."""
    files = list((Path(__file__).resolve().parents[1] / "results").glob("**/seed*.json"))
    sizes = {str(f): f.stat().st_size for f in files}
    assert files and max(sizes.values()) <= 1_000_000, max(sizes, key=sizes.get)
    assert sum(sizes.values()) < 25_000_000
