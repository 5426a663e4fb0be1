"""Fingerprint recipes of the data-set loaders and the import-path model (:mod:`reportgen.run.fingerprints`):
``data.mnist_format``, ``data.sklearn_digits``, ``data.image_folder`` and ``model.import``. Each runs the
component's real code on fixed inputs: synthetic IDX archives, scikit-learn's bundled digits, a folder
of generated PNGs, the example model of ``experiments/models/smallnet.py``.
"""
from __future__ import annotations

import gzip
import hashlib
import struct
import tempfile
from pathlib import Path
from unittest import mock

import numpy as np
import torch

from reportgen.run.fingerprint_recipes import Entry, Values, model_numbers, tensor_summary

#: The example import-path model every ``model.import`` fingerprint builds.
EXAMPLE_TARGET = "experiments.models.smallnet:SmallNet"


def _summary(data, val_size: int) -> Values:
    """Normalisation constants and every split's images and labels (:meth:`MNIST.split`)."""
    out: Values = {"mean": Entry(list(data.mean)), "std": Entry(list(data.std)), "classes": Entry([data.classes])}
    for part, (x, y) in data.split(val_size=val_size).items():
        out[f"{part}.x"] = Entry(tensor_summary(x) + [float(x.shape[0])])
        out[f"{part}.y"] = Entry(y.double().tolist()[:50] + [float(y.double().sum())])
    return out


def _idx(path: Path, array: np.ndarray) -> str:
    """Write ``array`` (uint8 images (N, H, W) or labels (N,)) as a gzipped IDX file; returns its md5."""
    header = struct.pack(">HBB", 0, 8, array.ndim) + b"".join(struct.pack(">I", d) for d in array.shape)
    with gzip.GzipFile(path, "wb", mtime=0) as f:
        f.write(header + array.astype(np.uint8).tobytes())
    return hashlib.md5(path.read_bytes()).hexdigest()


def mnist_format() -> Values:
    """Fashion-MNIST's reader (:func:`reportgen.data.sets.read_mnist_format`) on synthetic archives
    whose md5s stand in for the pinned ones, then normalisation and the splits."""
    from reportgen.data import catalog, sets

    rng = np.random.default_rng(0)
    parts = (rng.integers(0, 256, (300, 28, 28)), rng.integers(0, 10, 300), rng.integers(0, 256, (40, 28, 28)),
             rng.integers(0, 10, 40))
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / sets.FOLDERS["fashion_mnist"] / "raw"
        raw.mkdir(parents=True)
        md5s = tuple(_idx(raw / name, a) for name, a in zip(sets.ARCHIVES, parts))
        with mock.patch.dict(catalog.ARCHIVE_MD5, {"fashion_mnist": md5s}):
            data = sets.normalised(sets.read_mnist_format("fashion_mnist", Path(tmp), download=False), "cpu", "synthetic")
    return _summary(data, 100)


def sklearn_digits() -> Values:
    """scikit-learn's digits through :func:`reportgen.data.sets.read_sklearn_digits` (the real, bundled
    images) with a 180-image validation split."""
    from reportgen.data import sets

    return _summary(sets.normalised(sets.read_sklearn_digits(), "cpu", "sklearn_digits"), 180)


def image_folder() -> Values:
    """A folder of 3 classes × 6 generated PNGs of mixed sizes, read as RGB resized to 12×12."""
    from PIL import Image

    from reportgen.data import sets
    from reportgen.spec.sources import ImageFolder

    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        for c in ("cat", "dog", "eel"):
            (Path(tmp) / c).mkdir()
            for i in range(6):
                side = 10 + 2 * i
                Image.fromarray(rng.integers(0, 256, (side, side, 3), dtype=np.uint8)).save(Path(tmp) / c / f"{i}.png")
        spec = ImageFolder(root=tmp, size=12, channels=3, test_fraction=0.25)
        data = sets.normalised(sets.read_folder(spec), "cpu", "synthetic")
    return _summary(data, 4)


def model_import() -> Values:
    """The example model built by import path (:func:`reportgen.run.models.imported.build`) for 8×8 and
    28×28 one-channel inputs: initial weights (global RNG seeded 0) and logits on 4 fixed inputs."""
    from reportgen.run.models import build

    out: Values = {}
    for shape, args in (((1, 8, 8), {"width": 4}), ((1, 28, 28), {})):
        torch.manual_seed(0)
        net = build({"kind": "import", "target": EXAMPLE_TARGET, "init_args": args}, shape, 10).eval()
        x = torch.randn(4, *shape, generator=torch.Generator().manual_seed(1))
        with torch.no_grad():
            out[f"{shape[1]}.logits"] = Entry(net(x).flatten().tolist())
        out.update(model_numbers(net, str(shape[1])))
    return out


RECIPES = {"data.mnist_format": mnist_format, "data.sklearn_digits": sklearn_digits,
           "data.image_folder": image_folder, "model.import": model_import}
