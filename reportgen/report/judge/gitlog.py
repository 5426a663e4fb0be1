"""Read-only git access for dating claims: the work tree holding a file, each file's revisions from
one ``git log`` per folder, and file contents at a commit through one ``git cat-file --batch``
process per repository. Every failure (no git, not a repository) reads as "no history"."""
from __future__ import annotations

import atexit
import subprocess
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path


def _git(cwd: Path, *args: str) -> str | None:
    """stdout of ``git args`` in ``cwd``; None when git fails or is not installed."""
    try:
        out = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout if out.returncode == 0 else None


@dataclass(frozen=True)
class Repo:
    """The git work tree holding a file, with its HEAD and whether the clone is shallow."""

    root: Path
    head: str
    shallow: bool

    @staticmethod
    def of(path: Path) -> "Repo | None":
        where = path if path.is_dir() else path.parent
        top = _git(where, "rev-parse", "--show-toplevel") if where.exists() else None
        head = _git(where, "rev-parse", "HEAD") if top else None
        if not top or not head:
            return None
        shallow = (_git(where, "rev-parse", "--is-shallow-repository") or "").strip() == "true"
        return Repo(Path(top.strip()).resolve(), head.strip(), shallow)

    def rel(self, path: Path) -> str | None:
        """``path`` relative to the work tree (POSIX), or None when it lies outside."""
        try:
            return Path(path).resolve().relative_to(self.root).as_posix()
        except ValueError:
            return None

    def revisions(self, rel: str) -> list[tuple[str, str]]:
        """(commit, committer date ISO 8601) of each commit that changed ``rel``, newest first."""
        return _revisions(self.root, self.head, rel)

    def show(self, commit: str, rel: str) -> str | None:
        """``rel``'s text at ``commit``; None where the commit deleted it."""
        return _show(self.root, commit, rel)


@lru_cache(maxsize=512)
def _folder_log(root: Path, head: str, folder: str) -> dict[str, list[tuple[str, str]]]:
    """Every file's revisions under ``folder`` from one ``git log --name-only``: path → (commit, date)."""
    out = _git(root, "-c", "core.quotePath=false", "log", "--format=@%H %cI", "--name-only", head, "--", folder) or ""
    revs: dict[str, list[tuple[str, str]]] = {}
    commit: tuple[str, str] | None = None
    for line in out.splitlines():
        if line.startswith("@"):
            sha, date = line[1:].split(" ", 1)
            commit = (sha, date)
        elif line.strip() and commit:
            revs.setdefault(line.strip(), []).append(commit)
    return revs


def _revisions(root: Path, head: str, rel: str) -> list[tuple[str, str]]:
    parts = rel.split("/")
    folder = "/".join(parts[:2]) if len(parts) > 2 else parts[0] if len(parts) > 1 else "."
    return _folder_log(root, head, folder).get(rel, [])


_BATCH: dict[Path, subprocess.Popen] = {}


def _show(root: Path, commit: str, rel: str) -> str | None:
    """One blob through a long-lived ``git cat-file --batch`` per repository (one process, not one per file)."""
    proc = _BATCH.get(root)
    if proc is None or proc.poll() is not None:
        proc = _BATCH[root] = subprocess.Popen(["git", "cat-file", "--batch"], cwd=root, stdin=subprocess.PIPE,
                                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert proc.stdin and proc.stdout
    proc.stdin.write(f"{commit}:{rel}\n".encode())
    proc.stdin.flush()
    header = proc.stdout.readline().split()
    if len(header) != 3 or header[1] != b"blob":  # "<object> missing": deleted in that commit
        return None
    data = proc.stdout.read(int(header[2]))
    proc.stdout.read(1)  # the newline after each object
    return data.decode("utf-8", errors="replace")


@atexit.register
def _close() -> None:
    for proc in _BATCH.values():
        if proc.stdin:
            proc.stdin.close()
        proc.wait(timeout=10)
