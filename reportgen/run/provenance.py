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


def provenance(device: Any, data_md5: str = DATASET_MD5) -> dict[str, Any]:
    """Where and with what a run is computed, as ``reportgen.results.schema.Provenance`` without
    ``attempts``: git commit (plain SHA) and ``git_dirty`` of the package, torch, python, the device
    (for the CPU: processor, the vector ISA torch dispatches to and the threads; hosts with other
    kernels give the same seed other last digits), ``cpu_capability`` (that ISA, or the GPU name on
    CUDA), ``threads`` (torch CPU threads now), ``data_md5`` (the checksum of the data set the run
    reads: MNIST's by default, another set's :func:`reportgen.spec.sources.identity`), and ``created`` (now; the driver
    sets it again when it writes the result). ``device`` is a ``torch.device``."""
    import torch

    threads = torch.get_num_threads()
    if device.type == "cuda":
        name = capability = torch.cuda.get_device_name(device)
    else:
        capability = torch.backends.cpu.get_cpu_capability()
        name = f"cpu ({platform.processor() or platform.machine()}, {capability}, {threads} threads)"
    commit, dirty = git_state()
    return {"git_commit": commit, "git_dirty": dirty, "torch": torch.__version__, "python": platform.python_version(),
            "device": name, "cpu_capability": capability, "threads": threads, "data_md5": data_md5,
            "created": now()}


def attempt(prov: dict[str, Any], started: str, seconds: float, epochs: int | None) -> dict[str, Any]:
    """One entry of ``provenance.attempts`` (``reportgen.results.schema.Attempt``), ending now:
    ``prov`` is the attempt's :func:`provenance`, ``started`` its start (ISO 8601), ``seconds`` its
    wall time so far (s), ``epochs`` the epochs it trained (None: not a training run)."""
    import torch

    return {"started": started, "ended": now(), "wall_seconds": seconds, "device": prov["device"],
            "cpu_capability": prov.get("cpu_capability", "unknown"), "threads": torch.get_num_threads(),
            "epochs": epochs}


def earlier_attempts(resume: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The attempts a checkpoint (``reportgen.run.checkpoint.load``'s dict, or None) records. A
    checkpoint that predates them gives one attempt of unknown start, device and threads: with its
    recorded ``wall_seconds`` where it has one, else with the sum of its epochs' seconds (marked
    ``reconstructed``); a checkpoint with neither gives none."""
    if not resume:
        return []
    if "attempts" in resume:
        return list(resume["attempts"])
    unknown = {"cpu_capability": "unknown", "epochs": len(resume.get("history", ())) or None}
    if "wall_seconds" in resume:
        return [{"wall_seconds": resume["wall_seconds"], **unknown}]
    if resume.get("history"):
        return [{"wall_seconds": sum(h.get("seconds", 0.0) for h in resume["history"]), **unknown,
                 "reconstructed": True}]
    return []
