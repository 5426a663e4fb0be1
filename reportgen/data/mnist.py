"""MNIST on the device: load the verified files once as normalised tensors, and split them.

Finding, fetching and checking the files is :mod:`reportgen.data.fetch`; this module is what turns them
into the numbers a run sees: the numerics component ``data`` (:mod:`reportgen.spec.numerics`).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from reportgen.data.fetch import DATASET_MD5, MD5, DataError, data_root, ensure, raw_dir, verify  # noqa: F401 - re-exported

if TYPE_CHECKING:  # torch is imported where tensors are made, so listing runs stays torch-free
    import torch

#: Mean and std of the 60k training pixels scaled to [0, 1] (the customary constants; the
#: dataset_exploration study recomputes them from the files).
MEAN, STD = 0.1307, 0.3081
@dataclass(frozen=True)
class MNIST:
    """The whole data set, normalised once, resident on ``device``: MNIST, or another data set in the
    same form (:mod:`reportgen.data.sets`).

    Attributes:
        x_train: float32 (60000, 1, 28, 28) for MNIST, ``(pixel/255 - MEAN) / STD``; (N, C, H, W) for another set.
        y_train: int64 (60000,) labels 0–9 (0 … classes−1).
        x_test, y_test: the same for the 10000 test images.
        md5: data set checksum from :func:`verify` (another set's :func:`reportgen.spec.sources.identity`).
        classes: number of classes (10 for MNIST).
        mean, std: per-channel normalisation constants of ``[0, 1]`` pixels (MNIST's: ``MEAN``, ``STD``).
        names: the classes' names in label order where they are not the digits 0 … classes−1, else None.
    """

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    md5: str
    classes: int = 10
    mean: tuple[float, ...] = (MEAN,)
    std: tuple[float, ...] = (STD,)
    names: tuple[str, ...] | None = None

    @property
    def shape(self) -> tuple[int, int, int]:
        """One image as a model sees it: (channels, height, width)."""
        return tuple(self.x_train.shape[1:])  # type: ignore[return-value]

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
    return normalise(read_raw(root), device, md5)


def normalise(raw: dict[str, torch.Tensor], device: torch.device | str, md5: str) -> MNIST:
    """:class:`MNIST` on ``device`` from :func:`read_raw`'s uint8 images (N, 28, 28) and int64 labels:
    images ``(pixel/255 - MEAN) / STD`` as float32 (N, 1, 28, 28)."""

    def norm(x: torch.Tensor) -> torch.Tensor:
        return ((x.to(device).float().div_(255) - MEAN) / STD).unsqueeze(1).contiguous()

    return MNIST(norm(raw["x_train"]), raw["y_train"].to(device), norm(raw["x_test"]),
                 raw["y_test"].to(device), md5)
