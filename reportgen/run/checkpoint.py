"""Per-run checkpoints and locks under ``<results>/../.cache/`` (git-ignored).

After every epoch the runner hands over everything needed to continue bit for bit (weights,
optimizer, scheduler, every RNG state, the data-order generator, history, probe state); it is saved
here atomically with ``torch.save`` and read back with ``torch.load(weights_only=True)``, which
unpickles nothing but tensors and plain containers. A run started again after being killed resumes
from its last checkpoint; the checkpoint is deleted once the run's result is stored.

A lock file per run key (``fcntl.flock``) keeps two processes from training the same run at once.
"""
from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

try:
    import fcntl
except ImportError:  # Windows: no advisory locks; runs are then not protected against a second process
    fcntl = None  # type: ignore[assignment]


def cache_dir(results: Path) -> Path:
    """``results/`` → ``.cache/`` beside it (``.smoke/results`` → ``.smoke/.cache``)."""
    return results.parent / ".cache"


def checkpoint_path(results: Path, key: str) -> Path:
    return cache_dir(results) / "checkpoints" / f"{key}.pt"


def save(path: Path, state: dict[str, Any]) -> None:
    """``torch.save`` to a temporary file in the same folder, then ``os.replace``: whole or absent."""
    import torch

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(state, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load(path: Path) -> dict[str, Any] | None:
    """The checkpoint at ``path``, or None if there is none or it cannot be read (it is then removed:
    the run starts over rather than trusting a damaged file)."""
    import torch

    if not path.exists():
        return None
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # noqa: BLE001 - any unreadable checkpoint means: start from scratch
        path.unlink(missing_ok=True)
        return None


class Busy(RuntimeError):
    """Another process holds the run's lock."""


@contextmanager
def run_lock(results: Path, key: str) -> Iterator[None]:
    """Hold an exclusive, non-blocking lock on the run ``key`` for the duration.

    Raises:
        Busy: another process is training this run now.
    """
    if fcntl is None:
        yield
        return
    path = cache_dir(results) / "locks" / f"{key}.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as f:
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise Busy(f"run {key[:12]} is being trained by another process (lock {path})") from None
        try:
            yield
        finally:
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clean_temp(*folders: Path) -> list[Path]:
    """Remove temporary files (``.<name>.<pid>.<random>.tmp``) left by processes that no longer run,
    e.g. killed mid-write. Returns what was removed."""
    removed = []
    for folder in folders:
        if not folder.exists():
            continue
        for tmp in folder.glob("**/.*.tmp"):
            parts = tmp.name.split(".")
            pid = next((int(x) for x in reversed(parts[:-1]) if x.isdigit()), None)
            if pid is None or not _alive(pid) or pid == os.getpid():
                tmp.unlink(missing_ok=True)
                removed.append(tmp)
    return removed
