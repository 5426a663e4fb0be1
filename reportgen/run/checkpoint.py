"""Per-run checkpoints and locks under ``<results>/../.cache/`` (git-ignored).

After every epoch the runner hands over everything needed to continue bit for bit (weights,
optimizer, scheduler, every RNG state, the data-order generator, history, probe state); it is saved
here atomically with ``torch.save`` and read back with ``torch.load(weights_only=True)``, which
unpickles nothing but tensors and plain containers. A run started again after being killed resumes
from its last checkpoint; the checkpoint is deleted once the run's result is stored.

A lock per run key (:class:`RunLock`, the ``filelock`` library) keeps two processes from training
the same run at once: the driver (:mod:`reportgen.run.execute`) holds it from before the run starts
until its result is stored, so a process that later takes the lock finds the result already there.
"""
from __future__ import annotations

import json
import os
import socket
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterator


def cache_dir(results: Path) -> Path:
    """``results/`` → ``.cache/`` beside it (``.smoke/results`` → ``.smoke/.cache``)."""
    return results.parent / ".cache"


def checkpoint_path(results: Path, key: str) -> Path:
    return cache_dir(results) / "checkpoints" / f"{key}.pt"


def previous_path(path: Path) -> Path:
    """Where :func:`save` keeps the checkpoint it replaced (``<key>.prev.pt``): the last good one
    to fall back on when the newest cannot be loaded."""
    return path.with_name(path.name.removesuffix(".pt") + ".prev.pt")


def save(path: Path, state: dict[str, Any]) -> None:
    """``torch.save`` to a temporary file in the same folder, then ``os.replace``: whole or absent.
    The checkpoint it replaces is kept as :func:`previous_path`."""
    import torch

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(state, f)
            f.flush()
            os.fsync(f.fileno())
        if path.exists():
            os.replace(path, previous_path(path))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def discard(results: Path, key: str) -> None:
    """Remove run ``key``'s checkpoints (the newest and the previous one): its result is stored."""
    path = checkpoint_path(results, key)
    path.unlink(missing_ok=True)
    previous_path(path).unlink(missing_ok=True)


def load(path: Path, warn: Callable[[str], None] | None = None) -> dict[str, Any] | None:
    """The checkpoint at ``path`` to resume from, or None to start from scratch.

    A checkpoint that cannot be loaded (truncated, damaged, or holding anything but tensors and plain
    containers) is removed and reported through ``warn`` (one line naming the file and the reason);
    the previous checkpoint (:func:`previous_path`) is then tried the same way. With neither, the
    run starts from scratch.
    """
    import torch

    damaged = False
    for candidate in (path, previous_path(path)):
        if not candidate.exists():
            continue
        try:
            state = torch.load(candidate, map_location="cpu", weights_only=True)
            if not isinstance(state, dict) or not isinstance(state.get("history"), list):
                raise ValueError("not a reportgen checkpoint (no history)")
        except Exception as err:  # noqa: BLE001 - any unreadable checkpoint: report it, fall back
            candidate.unlink(missing_ok=True)
            damaged = True
            if warn:
                reason = " ".join(str(err).split())[:200] or type(err).__name__
                warn(f"checkpoint {candidate} cannot be loaded ({type(err).__name__}: {reason}); removed")
            continue
        if damaged and warn:
            warn(f"resuming from the previous checkpoint {candidate} (after epoch {len(state['history'])})")
        return state
    if damaged and warn:
        warn(f"no loadable checkpoint left for {path.stem[:12]}: the run starts from scratch")
    return None


@dataclass(frozen=True)
class Holder:
    """Who holds (or, left in a lock file, held) a run's lock: process id, host name, when it took
    the lock (ISO 8601, UTC) and the command line of that process."""

    pid: int
    host: str
    since: str
    command: str = ""

    def alive(self) -> bool | None:
        """Whether the process still runs: None when it ran on another host (not knowable here)."""
        if self.host != socket.gethostname():
            return None
        return _alive(self.pid)

    def describe(self) -> str:
        """``pid 1234 on host-a since 2026-01-01T10:00:00+00:00 (reportgen run mlp_baseline)``."""
        return f"pid {self.pid} on {self.host} since {self.since}" + (f" ({self.command})" if self.command else "")


def _command() -> str:
    """This process's command line, short: ``reportgen run mlp_baseline`` (``python -m reportgen`` too)."""
    if not sys.argv:
        return ""
    first = Path(sys.argv[0])
    name = first.parent.name if first.name == "__main__.py" else first.name
    return " ".join([name, *sys.argv[1:]])[:200]


def lock_path(results: Path, key: str) -> Path:
    """The lock file of run ``key``: ``.cache/locks/<key>.lock`` beside ``results``."""
    return cache_dir(results) / "locks" / f"{key}.lock"


def read_holder(path: Path) -> Holder | None:
    """The holder a lock file names, or None when it names none (free, released cleanly, or being
    written this instant)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8") or "null")
        return Holder(int(data["pid"]), str(data["host"]), str(data["since"]), str(data.get("command", "")))
    except (OSError, ValueError, TypeError, KeyError):
        return None


class Busy(RuntimeError):
    """Another process holds the run's lock; ``holder`` names it when the lock file says who."""

    def __init__(self, key: str, path: Path, holder: Holder | None) -> None:
        self.key, self.path, self.holder = key, path, holder
        super().__init__(f"run {key[:12]} is being trained by another process ({self.who}; lock {path})")

    @property
    def who(self) -> str:
        """The holder as the lock file names it, or ``holder not recorded``."""
        return self.holder.describe() if self.holder else "holder not recorded"


#: Checks, 50 ms apart, for the name of a holder that has just taken a lock (it writes it next).
HOLDER_WAIT_STEPS = 20


class RunLock:
    """An exclusive lock on one run key, shared by every process that trains runs into one results
    folder (:class:`filelock.FileLock`: ``flock`` on Unix, ``msvcrt`` locking on Windows; the
    operating system releases it when the holding process dies, however it dies).

    While held, the lock file names its holder (:class:`Holder`); :meth:`release` empties it. A lock
    file that still names a holder when this process acquires it was left by a process that died
    holding it: :meth:`acquire` returns that holder (the lock is taken over).
    """

    def __init__(self, results: Path, key: str) -> None:
        from filelock import FileLock

        self.key, self.path = key, lock_path(results, key)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = FileLock(str(self.path), thread_local=False)

    @property
    def held(self) -> bool:
        return self._lock.is_locked

    def holder(self) -> Holder | None:
        """Who holds the lock now, as the lock file says (None: not recorded)."""
        return read_holder(self.path)

    def acquire(self, timeout_s: float = 0.0, poll_s: float = 0.5) -> Holder | None:
        """Take the lock: at once (``timeout_s`` 0), within ``timeout_s`` seconds, or (negative)
        whenever the holder releases it or dies, checking every ``poll_s`` seconds.

        Returns:
            The holder a dead process left in the lock file (this process took the lock over from
            it), else None.

        Raises:
            Busy: another process still holds the lock after ``timeout_s``.
        """
        from filelock import Timeout

        try:
            self._lock.acquire(timeout=timeout_s, poll_interval=poll_s)
        except Timeout:
            holder = self.holder()
            for _ in range(HOLDER_WAIT_STEPS):  # a holder names itself just after it takes the lock
                if holder is not None:
                    break
                time.sleep(0.05)
                holder = self.holder()
            raise Busy(self.key, self.path, holder) from None
        left = read_holder(self.path)
        me = Holder(os.getpid(), socket.gethostname(), datetime.now(timezone.utc).isoformat(timespec="seconds"),
                    _command())
        try:
            with open(self.path, "r+", encoding="utf-8") as f:
                f.write(json.dumps(me.__dict__))
                f.truncate()
        except OSError:  # a read-only lock folder: the lock still holds, only its holder goes unnamed
            pass
        return left if left and left.pid != os.getpid() else None

    def release(self) -> None:
        """Empty the lock file (no holder) and release the lock; nothing when not held."""
        if not self._lock.is_locked:
            return
        try:
            with open(self.path, "r+", encoding="utf-8") as f:
                f.truncate()
        except OSError:
            pass
        self._lock.release(force=True)


@contextmanager
def run_lock(results: Path, key: str) -> Iterator[None]:
    """Hold the run ``key``'s lock (:class:`RunLock`) for the duration, without waiting.

    Raises:
        Busy: another process holds it; the message names the holder when the lock file does.
    """
    lock = RunLock(results, key)
    lock.acquire()
    try:
        yield
    finally:
        lock.release()


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
