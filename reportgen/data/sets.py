"""Data sets other than MNIST, loaded into the same resident form (:class:`reportgen.data.mnist.MNIST`):
float32 images (N, C, H, W) normalised per channel by the training split's mean and standard deviation,
int64 labels. Which sets exist and what enters the run key is :mod:`reportgen.spec.sources` (its facts: :mod:`reportgen.data.catalog`).

- ``fashion_mnist``, ``kmnist``: torchvision's files under ``<root>/FashionMNIST/raw`` and
  ``<root>/KMNIST/raw``; the four ``.gz`` archives are checked against torchvision's pinned md5s and,
  when missing, fetched by torchvision's downloader.
- ``sklearn_digits``: ``sklearn.datasets.load_digits`` (1,797 8×8 images, grey levels 0–16, shipped
  with scikit-learn), split into 1,437 training and 360 test images by
  ``train_test_split(test_size=360, stratify=labels, random_state=0)``.
- an :class:`reportgen.spec.sources.ImageFolder`: every image under ``root/<class>/``, read with Pillow,
  split per class by ``train_test_split(test_size=test_fraction, stratify=labels, random_state=0)``.

Numerics components ``data.mnist_format``, ``data.sklearn_digits`` and ``data.image_folder``
(:mod:`reportgen.spec.numerics`).
"""
from __future__ import annotations

import hashlib
import socket
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from reportgen.data.fetch import DataError
from reportgen.data import catalog

if TYPE_CHECKING:
    import torch

    from reportgen.data.mnist import MNIST

#: torchvision's folder name per MNIST-format set.
FOLDERS = {"fashion_mnist": "FashionMNIST", "kmnist": "KMNIST"}
ARCHIVES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz",
            "t10k-labels-idx1-ubyte.gz")


def load(dataset, root: Path, device: "torch.device | str" = "cpu", download: bool = True) -> "MNIST":
    """The data set on ``device``: a name (``"mnist"``, ``"fashion_mnist"``, ``"kmnist"``,
    ``"sklearn_digits"``) or an ``ImageFolder`` spec. MNIST goes through :func:`reportgen.data.mnist.load` unchanged.

    Raises:
        DataError: files missing or corrupt (naming them, their md5s and ``REPORTGEN_DATA``), or a
            folder that cannot be a data set (:func:`read_folder`).
    """
    from reportgen.data import mnist

    if dataset == "mnist":
        return mnist.load(root, device, download)
    arrays = read(dataset, root, download)
    folder = not isinstance(dataset, str)
    return normalised(arrays, device, catalog.identity("image_folder", dataset.root) if folder else catalog.identity(dataset))


def read(dataset, root: Path, download: bool = True) -> dict[str, np.ndarray]:
    """``{"x_train", "y_train", "x_test", "y_test"}``: float32 (N, C, H, W) in [0, 1] and int64 (N,); and
    ``"names"``, the class names in label order, where they are not the digits 0–9."""
    if not isinstance(dataset, str):
        return read_folder(dataset)
    if dataset == "sklearn_digits":
        return read_sklearn_digits()
    return read_mnist_format(dataset, root, download)


def normalised(arrays: dict[str, np.ndarray], device: "torch.device | str", identity: str) -> "MNIST":
    """:class:`MNIST` on ``device``: images ``(x - mean_c) / std_c`` with the per-channel mean and
    standard deviation of ``x_train`` (float64, then float32), labels int64."""
    import torch

    from reportgen.data.mnist import MNIST

    x = arrays["x_train"].astype(np.float64)
    mean, std = x.mean(axis=(0, 2, 3)), x.std(axis=(0, 2, 3))
    std = np.where(std > 0, std, 1.0)

    def norm(a: np.ndarray) -> torch.Tensor:
        z = (a.astype(np.float64) - mean[None, :, None, None]) / std[None, :, None, None]
        return torch.from_numpy(z.astype(np.float32)).to(device).contiguous()

    classes = int(max(arrays["y_train"].max(), arrays["y_test"].max())) + 1
    return MNIST(norm(arrays["x_train"]), torch.from_numpy(arrays["y_train"]).to(device), norm(arrays["x_test"]),
                 torch.from_numpy(arrays["y_test"]).to(device), identity, classes=classes,
                 mean=tuple(float(m) for m in mean), std=tuple(float(s) for s in std),
                 names=tuple(arrays["names"]) if arrays.get("names") is not None else None)


def _split(n: int, labels: np.ndarray, test_size: float | int) -> tuple[np.ndarray, np.ndarray]:
    """(train indices, test indices): scikit-learn's stratified ``train_test_split``, ``random_state=0``."""
    from sklearn.model_selection import train_test_split

    return train_test_split(np.arange(n), test_size=test_size, stratify=labels, random_state=0)


def read_sklearn_digits() -> dict[str, np.ndarray]:
    """scikit-learn's 8×8 digits (grey levels 0–16 scaled to [0, 1]) in the fixed 1,437 / 360 split."""
    from sklearn.datasets import load_digits

    catalog.verify_sklearn_digits()
    digits = load_digits()
    x = (digits.images / 16.0).astype(np.float32)[:, None]
    y = digits.target.astype(np.int64)
    train, test = _split(len(y), y, catalog.SKLEARN_DIGITS_TEST)
    return {"x_train": x[train], "y_train": y[train], "x_test": x[test], "y_test": y[test]}


def read_mnist_format(name: str, root: Path, download: bool = True) -> dict[str, np.ndarray]:
    """Fashion-MNIST or KMNIST from torchvision's layout, archives md5-checked (fetched when missing)."""
    from torchvision.datasets.mnist import read_image_file, read_label_file

    raw = root / FOLDERS[name] / "raw"
    if download and not all((raw / a).exists() for a in ARCHIVES):
        _fetch(name, root)
    for archive, want in zip(ARCHIVES, catalog.ARCHIVE_MD5[name]):
        path = raw / archive
        if not path.exists():
            files = "\n".join(f"  {raw.resolve() / a}   (md5 {m})" for a, m in zip(ARCHIVES, catalog.ARCHIVE_MD5[name]))
            raise DataError(f"{name}: not found under {root.resolve()} and could not be fetched. Put these four "
                            f"files here:\n{files}\nor point --data-dir / REPORTGEN_DATA at a folder that has "
                            f"{FOLDERS[name]}/raw/ with them.")
        got = hashlib.md5(path.read_bytes()).hexdigest()
        if got != want:
            raise DataError(f"{path}: md5 mismatch: expected {want}, got {got}. Replace the file with the original "
                            "(or delete it to fetch it again).")
    _extract(raw)
    arrays = {}
    for part, prefix in (("train", "train"), ("test", "t10k")):
        arrays[f"x_{part}"] = (read_image_file(str(raw / f"{prefix}-images-idx3-ubyte")).numpy()[:, None] / 255.0
                               ).astype(np.float32)
        arrays[f"y_{part}"] = read_label_file(str(raw / f"{prefix}-labels-idx1-ubyte")).numpy().astype(np.int64)
    from torchvision import datasets

    arrays["names"] = list(getattr(datasets, FOLDERS[name]).classes)
    return arrays


def _extract(raw: Path) -> None:
    from reportgen.data.fetch import _gunzip

    for archive in ARCHIVES:
        plain = raw / archive[:-3]
        if not plain.exists():
            _gunzip(raw / archive, plain)


def _fetch(name: str, root: Path) -> None:
    """torchvision's downloader (which checks the md5s), 15 s per connection; failures are left to the
    caller's missing-file message."""
    from torchvision import datasets

    old = socket.getdefaulttimeout()
    socket.setdefaulttimeout(15)
    try:
        getattr(datasets, FOLDERS[name])(str(root), train=True, download=True)
    except Exception:  # noqa: BLE001 - no mirror reachable: the caller names the files to put in place
        pass
    finally:
        socket.setdefaulttimeout(old)


def read_folder(spec) -> dict[str, np.ndarray]:
    """Every image of an ``ImageFolder`` spec (``root``, ``size``, ``channels``, ``test_fraction``) as float32 (N, C, H, W) in [0, 1], split per class.

    Raises:
        DataError: the folder is missing; it has fewer than two class folders, a class folder without
            images, or fewer than two images in a class (the split is stratified); a file Pillow cannot
            read; images of different sizes and no ``size`` to resize them to. Each message names the
            folder or file.
    """
    from PIL import Image, UnidentifiedImageError

    root = catalog.resolve(spec.root)
    where = f"data.dataset.root {spec.root!r} ({root})"
    if not root.is_dir():
        raise DataError(f"{where}: no such folder")
    classes = catalog.class_dirs(root)
    if len(classes) < 2:
        raise DataError(f"{where}: {len(classes)} class folder(s) ({', '.join(c.name for c in classes) or 'none'}); "
                        "an ImageFolder needs one sub-folder per class and at least two classes")
    files = catalog.folder_images(root)
    if not files:
        raise DataError(f"{where}: no images (looked for {', '.join(catalog.IMAGE_SUFFIXES)} in its class folders)")
    mode = "L" if spec.channels == 1 else "RGB"
    images, labels, first = [], [], {}
    for label, folder in enumerate(classes):
        mine = [f for f in files if f.parent == folder or folder in f.parents]
        if len(mine) < 2:
            raise DataError(f"{where}: class folder {folder.name!r} has {len(mine)} image(s); each class needs at "
                            "least 2 (one may go to the test split)")
        for f in mine:
            try:
                with Image.open(f) as im:
                    im = im.convert(mode)
                    if spec.size:
                        im = im.resize((spec.size, spec.size), Image.BILINEAR)
                    a = np.asarray(im, dtype=np.float32) / 255.0
            except (UnidentifiedImageError, OSError, ValueError) as err:
                raise DataError(f"{f}: cannot read this image ({type(err).__name__}: {err}); remove or replace it") from None
            first.setdefault(a.shape, f)
            if len(first) > 1:
                (s1, f1), (s2, f2) = list(first.items())[:2]
                raise DataError(f"{where}: images of different sizes ({f1.name}: {s1[1]}×{s1[0]} px, {f2.name}: "
                                f"{s2[1]}×{s2[0]} px); give the data set a size (ImageFolder(size=…)) to resize them")
            images.append(a if a.ndim == 3 else a[..., None])
            labels.append(label)
    x = np.stack(images).transpose(0, 3, 1, 2).copy()
    y = np.asarray(labels, dtype=np.int64)
    n_test = max(len(classes), round(spec.test_fraction * len(y)))
    if len(y) - n_test < len(classes):
        raise DataError(f"{where}: {len(y)} images are too few to hold out {n_test} for testing and keep one per class")
    train, test = _split(len(y), y, n_test)
    return {"x_train": x[train], "y_train": y[train], "x_test": x[test], "y_test": y[test],
            "names": [c.name for c in classes]}
