"""A result's provenance: where, when and with what code it was computed (``reportgen.results.schema.Provenance``).

Kept out of the key: the same run computed on another host or at another commit has the same key
(its numerics versions say what it computes); provenance says where these particular numbers came from.
"""
from __future__ import annotations

import datetime as dt
import platform
import subprocess
from pathlib import Path
from typing import Any

from reportgen.data.fetch import DATASET_MD5


def git_state(folder: Path = Path(__file__).resolve().parents[1]) -> tuple[str, bool | None]:
    """(commit, dirty) of the git checkout holding ``folder`` (the package): ``dirty`` is True when
    files under ``folder`` differ from the commit (edited, added or deleted; ignored files aside).
    ``("unknown", None)`` outside a git checkout or without git."""
    try:
        head = subprocess.run(["git", "-C", str(folder), "rev-parse", "HEAD"], capture_output=True, text=True,
                              timeout=10)
        if head.returncode != 0:
            return "unknown", None
        status = subprocess.run(["git", "-C", str(folder), "status", "--porcelain", "--", "."], capture_output=True,
                                text=True, timeout=10)
        return head.stdout.strip(), bool(status.stdout.strip()) if status.returncode == 0 else None
    except (OSError, subprocess.SubprocessError):
        return "unknown", None


def now() -> str:
    """The UTC time now, ISO 8601 to the second."""
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def provenance(device: Any) -> dict[str, Any]:
    """Where and with what a run is computed: git commit and ``git_dirty`` of the package, torch,
    python, the device (for the CPU: processor, the vector ISA torch dispatches to and the threads;
    hosts with other kernels give the same seed other last digits), the data checksum, and
    ``created`` (now; the driver sets it again when it writes the result)."""
    import torch

    name = torch.cuda.get_device_name(device) if device.type == "cuda" else \
        f"cpu ({platform.processor() or platform.machine()}, {torch.backends.cpu.get_cpu_capability()}, " \
        f"{torch.get_num_threads()} threads)"
    commit, dirty = git_state()
    return {"git_commit": commit, "git_dirty": dirty, "torch": torch.__version__, "python": platform.python_version(),
            "device": name, "data_md5": DATASET_MD5, "created": now()}


def attempt(prov: dict[str, Any], started: str, seconds: float, epochs: int | None) -> dict[str, Any]:
    """One entry of ``provenance.attempts`` (see ``reportgen.results.schema.Attempt``)."""
    import torch

    return {"started": started, "wall_seconds": seconds, "device": prov["device"], "threads": torch.get_num_threads(),
            "epochs": epochs}


def earlier_attempts(resume: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The attempts a checkpoint records (a checkpoint that predates them: one of unknown device)."""
    if not resume:
        return []
    if "attempts" in resume:
        return list(resume["attempts"])
    return [{"wall_seconds": resume["wall_seconds"]}] if "wall_seconds" in resume else []
