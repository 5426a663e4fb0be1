"""What is known about each data set without loading it (no torch): pinned checksums, the fixed split
sizes of scikit-learn's digits, an image folder's classes and files, and each set's identity as it
enters a run key. The spec side (:mod:`reportgen.spec.sources`) and the loaders
(:mod:`reportgen.data.sets`) both read it.
"""
from __future__ import annotations

import functools
import hashlib
import importlib.util
from pathlib import Path

from reportgen.data.fetch import DATASET_MD5

#: torchvision's pinned md5s of the four archives of each MNIST-format set
#: (``torchvision.datasets.FashionMNIST.resources``, ``KMNIST.resources``), in train-images,
#: train-labels, test-images, test-labels order.
ARCHIVE_MD5 = {
    "fashion_mnist": ("8d4fb7e6c68d591d4c3dfef9ec88bf0d", "25c81989df183df01b3e8a0aad5dffbe",
                      "bef4ecab320f06d8554ea6380940ec79", "bb300cfdad3c16e7a12a480ee83cd310"),
    "kmnist": ("bdb82020997e1d708af4cf47b453dcf7", "e144d726b3acfaa3e44228e80efcd344",
               "5c965bf0a639b31b8f53240b1b52f4d7", "7320c461ea6c1c855c0b718fb2a4b134"),
}
#: scikit-learn's digits: images in the bundled file, and how many of them the fixed split holds out
#: for testing (20 %, stratified, ``train_test_split(random_state=0)``); validation is the last
#: ``data.val_size`` of the other 1,437.
SKLEARN_DIGITS_IMAGES, SKLEARN_DIGITS_TEST = 1797, 360
#: SHA-256 of scikit-learn's bundled ``datasets/data/digits.csv.gz`` (scikit-learn 1.x; the UCI optical
#: recognition of handwritten digits test set, Alpaydin & Kaynak 1998): pinned like MNIST's md5s, so
#: keys are computed without scikit-learn and a run refuses a file with other bytes.
SKLEARN_DIGITS_SHA256 = "09f66e6debdee2cd2b5ae59e0d6abbb73fc2b0e0185d2e1957e9ebb51e23aa22"
#: Image extensions an :class:`ImageFolder` reads (lower case), as torchvision's ``IMG_EXTENSIONS``
#: less the rare ones.
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")

def class_dirs(root: Path) -> list[Path]:
    """The class sub-folders of an image folder, sorted by name (hidden ones skipped)."""
    return sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))


def folder_images(root: Path) -> list[Path]:
    """Every image file under ``root``'s class folders (by :data:`IMAGE_SUFFIXES`), sorted by path."""
    return sorted(f for d in class_dirs(root) for f in d.rglob("*")
                  if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES and not f.name.startswith("."))


def project_root() -> Path:
    """The nearest folder at or above the working directory holding ``pyproject.toml`` (else the
    working directory): relative data folders and the model allowlist are read from there."""
    here = Path.cwd().resolve()
    for d in (here, *here.parents):
        if (d / "pyproject.toml").is_file():
            return d
    return here


def resolve(path: str) -> Path:
    """``path`` as given when absolute, else relative to :func:`project_root`."""
    p = Path(path).expanduser()
    return p if p.is_absolute() else project_root() / p


def identity(name: str, root: str | None = None) -> str:
    """The checksum of a data set's contents, as it enters the run key: MNIST's is
    :data:`reportgen.data.fetch.DATASET_MD5` (every MNIST key stays as it was); a folder's
    (``name="image_folder"``, ``root`` its path) is the SHA-256 over every image's relative path and
    bytes, ``"missing"`` when the folder does not exist."""
    if name == "mnist":
        return DATASET_MD5
    if name == "image_folder":
        folder = resolve(str(root))
        return "image_folder:" + (_tree_digest(_listing(folder)) if folder.is_dir() else "missing")
    if name == "sklearn_digits":
        return "sklearn_digits:" + SKLEARN_DIGITS_SHA256
    return f"{name}:" + hashlib.md5("".join(ARCHIVE_MD5[name]).encode()).hexdigest()


def split_sizes(dataset: str | dict) -> tuple[int, int]:
    """(training split, test split) image counts of a data set as a result's config records it (a
    name, or an image folder's fields as a dict), before validation is taken from the training split;
    no image is read (a folder's files are counted)."""
    if dataset == "sklearn_digits":
        return SKLEARN_DIGITS_IMAGES - SKLEARN_DIGITS_TEST, SKLEARN_DIGITS_TEST
    if isinstance(dataset, dict):
        root = resolve(dataset["root"])
        n = len(folder_images(root)) if root.is_dir() else 0
        test = max(len(class_dirs(root)), round(dataset.get("test_fraction", 0.2) * n)) if n else 0
        return n - test, test
    return 60000, 10000  # MNIST and the MNIST-format sets


def verify_sklearn_digits() -> str:
    """:data:`SKLEARN_DIGITS_SHA256`, after checking the installed scikit-learn's file has it.

    Raises:
        DataError: scikit-learn is missing, or ships a ``digits.csv.gz`` with other bytes (naming the
            file and both checksums)."""
    from reportgen.data.fetch import DataError

    try:
        path = sklearn_digits_file()
    except FileNotFoundError as err:
        raise DataError(str(err)) from None
    got = file_sha256(path)
    if got != SKLEARN_DIGITS_SHA256:
        raise DataError(f"{path}: SHA-256 {got}, expected {SKLEARN_DIGITS_SHA256}: this scikit-learn ships other "
                        "digits than the ones the sklearn_digits data set is pinned to")
    return SKLEARN_DIGITS_SHA256


def sklearn_digits_file() -> Path:
    """scikit-learn's bundled ``datasets/data/digits.csv.gz`` (found without importing scikit-learn)."""
    spec = importlib.util.find_spec("sklearn")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("scikit-learn is not installed: sklearn_digits needs it (pip install scikit-learn)")
    return Path(list(spec.submodule_search_locations)[0]) / "datasets" / "data" / "digits.csv.gz"


def _listing(root: Path) -> tuple[tuple[str, str, int, int], ...]:
    return tuple((str(f), f.relative_to(root).as_posix(), f.stat().st_size, f.stat().st_mtime_ns)
                 for f in folder_images(root))


@functools.lru_cache(maxsize=32)
def _tree_digest(listing: tuple[tuple[str, str, int, int], ...]) -> str:
    h = hashlib.sha256()
    for path, rel, _, _ in listing:
        h.update(rel.encode() + b"\0" + hashlib.sha256(Path(path).read_bytes()).digest())
    return h.hexdigest()


def file_sha256(path: Path) -> str:
    """SHA-256 of a file's bytes, read again only when its size or modification time changes."""
    st = path.stat()
    return _cached_sha(str(path), st.st_size, st.st_mtime_ns)


@functools.lru_cache(maxsize=32)
def _cached_sha(path: str, size: int, mtime: int) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


