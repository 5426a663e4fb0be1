"""Where a run's images and model come from, when not from MNIST and the built-in families: the data
set field (:data:`Dataset`) and the import-path model (:class:`Import`), with what they imply for a
run — input shape, number of classes, identity in the run key, and what is allowed. No torch.

Data sets:

====================  ======================================  ==================  =======================
name                  what                                    shape, classes      identity in the key
====================  ======================================  ==================  =======================
``mnist``             LeCun, Cortes & Burges, the default     (1, 28, 28), 10     md5 over its 4 files
``fashion_mnist``     Xiao, Rasul & Vollgraf 2017             (1, 28, 28), 10     md5 over torchvision's
                                                                                  4 pinned archive md5s
``kmnist``            Clanuwat et al. 2018 (Kuzushiji-MNIST)  (1, 28, 28), 10     the same
``sklearn_digits``    scikit-learn's ``load_digits`` (UCI     (1, 8, 8), 10       SHA-256 of the bundled
                      optical digits, 1,797 images)                               ``digits.csv.gz``
:class:`ImageFolder`  ``root/<class>/*.png`` (torchvision's   (channels, size,    SHA-256 over every
                      ``ImageFolder`` layout)                 size), class dirs   file's path and bytes
====================  ======================================  ==================  =======================

Import-path models are resolved only from modules listed under ``[tool.reportgen] models`` in the
project's ``pyproject.toml`` (a module or a package prefix); the SHA-256 of the module's source file
enters the key of every run that uses it.
"""
from __future__ import annotations

import functools
import re
import sys
import tomllib
from pathlib import Path
from typing import Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, field_validator

from reportgen.data import catalog
from reportgen.data.catalog import (  # noqa: F401 - re-exported
    ARCHIVE_MD5,
    IMAGE_SUFFIXES,
    SKLEARN_DIGITS_IMAGES,
    SKLEARN_DIGITS_TEST,
    class_dirs,
    folder_images,
    project_root,
    resolve,
)

#: The named data sets (the folder form is :class:`ImageFolder`).
DatasetName = Literal["mnist", "fashion_mnist", "kmnist", "sklearn_digits"]
#: Probes that only make sense on MNIST, with why (a run on another data set that declares one is refused).
MNIST_ONLY_PROBES = {
    "custom_digits": "it brings outside digits to MNIST form (20×20 box in 28×28)",
    "robustness": "its shifts and rotations are sized for 28×28 MNIST digits",
    "digit_panel": "it stores 28×28 MNIST test images by index",
    "predictions": "it stores 28×28 MNIST test images and compares against MNIST's label noise",
    "sanity": "its checks are calibrated on MNIST (28×28, 10 classes)",
    "feature_maps": "it stores feature maps of MNIST test images by index",
}
#: Analyses that read MNIST's files or MNIST-only probes (a study on another data set may not name them).
MNIST_ONLY_ANALYSES = ("split_overview", "data_checks", "pixel_statistics", "class_images", "duplicates",
                       "misclassified_examples", "prediction_panel", "confidence_extremes", "calibration",
                       "confused_pairs", "custom_images", "robustness", "sanity_checks", "feature_maps",
                       "first_layer_weights")
TARGET = re.compile(r"^[A-Za-z_][\w]*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ImageFolder(_Strict):
    """A folder of images in torchvision's ``ImageFolder`` layout: ``root/<class>/<image>``, one
    sub-folder per class (classes in sorted folder-name order, labels 0…K−1). Images are read with
    Pillow, converted to ``channels`` (1: grayscale "L", 3: "RGB"), and resized to ``size``×``size``
    (bilinear) when ``size`` is given; without it every image must already share one size. The
    split is fixed: ``test_fraction`` of each class (stratified, scikit-learn's ``train_test_split``
    with ``random_state=0``) is the test set; validation is the last ``data.val_size`` of the rest."""

    kind: Literal["image_folder"] = "image_folder"
    root: str = Field(min_length=1, max_length=500, description="folder path, relative to the project root or absolute")
    size: int | None = Field(None, ge=4, le=512, description="resize every image to size × size px")
    channels: Literal[1, 3] = 1
    test_fraction: float = Field(0.2, gt=0.0, lt=1.0)


Dataset = Union[DatasetName, ImageFolder]


class Import(_Strict):
    """A model class named by import path, ``"package.module:ClassName"``, built as
    ``ClassName(**init_args)``. Constructor parameters named ``in_channels``, ``num_classes`` or
    ``image_size`` that ``init_args`` leaves out are filled from the data set. The module must be on
    the project's allowlist (``[tool.reportgen] models`` in ``pyproject.toml``); its forward pass
    must map float (B, C, H, W) to logits (B, classes)."""

    kind: Literal["import"] = "import"
    target: str = Field(min_length=3, max_length=200, description="'package.module:ClassName'")
    init_args: dict[str, Any] = Field(default_factory=dict, description="keyword arguments (JSON values)")

    @field_validator("target")
    @classmethod
    def _module_colon_name(cls, target: str) -> str:
        if not TARGET.match(target):
            raise ValueError(f"target {target!r} is not 'package.module:ClassName'")
        return target


def name_of(dataset: Dataset) -> str:
    """``"mnist"``, …, or ``"image_folder"``."""
    return dataset if isinstance(dataset, str) else dataset.kind


def shape_of(dataset: Dataset) -> tuple[int, int, int] | None:
    """Input shape (channels, height, width) of one image as a model sees it; None for a folder
    without ``size`` (known only once its images are read)."""
    if isinstance(dataset, ImageFolder):
        return (dataset.channels, dataset.size, dataset.size) if dataset.size else None
    return (1, 8, 8) if dataset == "sklearn_digits" else (1, 28, 28)


def classes_of(dataset: Dataset) -> int | None:
    """Number of classes; for a folder, its sub-folders (None when the folder does not exist)."""
    if isinstance(dataset, ImageFolder):
        root = resolve(dataset.root)
        return len(class_dirs(root)) if root.is_dir() else None
    return 10


def identity(dataset: Dataset) -> str:
    """The checksum of a data set's contents, as it enters the run key
    (:func:`reportgen.data.catalog.identity`; MNIST's is unchanged, so every MNIST key stays)."""
    if isinstance(dataset, ImageFolder):
        return catalog.identity("image_folder", dataset.root)
    return catalog.identity(dataset)


class NotAllowed(ValueError):
    """An import-path model outside the project's allowlist, or one that cannot be found."""


class ModelError(ValueError):
    """An import-path model that cannot be built or does not fit the data set; the message names the target."""


@functools.lru_cache(maxsize=8)
def _allowlist(pyproject: str, mtime: int) -> tuple[str, ...]:
    with open(pyproject, "rb") as f:
        table = tomllib.load(f).get("tool", {}).get("reportgen", {})
    models = table.get("models", [])
    if not isinstance(models, list) or not all(isinstance(m, str) for m in models):
        raise NotAllowed(f"{pyproject}: [tool.reportgen] models must be a list of module names, got {models!r}")
    return tuple(models)


def allowlist() -> tuple[str, ...]:
    """The modules (or package prefixes) ``[tool.reportgen] models`` allows; () when none is declared."""
    pyproject = project_root() / "pyproject.toml"
    if not pyproject.is_file():
        return ()
    return _allowlist(str(pyproject), pyproject.stat().st_mtime_ns)


def module_file(target: str) -> Path:
    """The source file of ``target``'s module, after checking the allowlist. Nothing is imported: the
    module is looked for in the project root, then on ``sys.path`` (:func:`locate`).

    Raises:
        NotAllowed: the module is not on the allowlist (naming the target and the list), or cannot be
            found (naming the module and the project root it was looked for from).
    """
    module = target.partition(":")[0]
    allowed = allowlist()
    if not any(module == a or module.startswith(a + ".") for a in allowed):
        where = project_root() / "pyproject.toml"
        raise NotAllowed(f"model.target {target!r}: module {module!r} is not on the allowlist "
                         f"([tool.reportgen] models in {where}: {list(allowed)}); add it there to allow it")
    root = str(project_root())
    found = locate(module, [root, *sys.path])
    if found is None:
        raise NotAllowed(f"model.target {target!r}: cannot find module {module!r} from {root} (no such module)")
    return found


def locate(module: str, paths: list[str]) -> Path | None:
    """The source file of dotted ``module`` on ``paths`` (``importlib.machinery.PathFinder``, package by
    package, without importing anything or reading ``sys.modules``); None when not found."""
    from importlib.machinery import PathFinder

    search: list[str] | None = paths
    spec = None
    for part in module.split("."):
        spec = PathFinder.find_spec(part, search) if search is not None else None
        if spec is None:
            return None
        search = list(spec.submodule_search_locations or []) or None
    origin = spec.origin if spec is not None else None
    return Path(origin) if origin and Path(origin).is_file() else None


def source_digest(target: str) -> str:
    """SHA-256 of the source file of ``target``'s module (:func:`module_file`): editing the model's
    module changes exactly the keys of the runs that use it."""
    return catalog.file_sha256(module_file(target))
