"""Peak memory of a block of work, in MiB: ``with Peak(device) as p: ...; p.mb``.

On CUDA, ``torch.cuda.max_memory_allocated`` above what was allocated when the block started. On the
CPU, the process's peak resident set (``VmHWM``, reset through ``/proc/self/clear_refs``, proc(5))
above its resident set when the block started, after ``malloc_trim`` (approximate: memory the
allocator kept from earlier work is reused unseen). Where the reset is unavailable, the
``ru_maxrss`` high-water mark, which sees only growth above the earlier peak.
"""
from __future__ import annotations

import ctypes
import gc
import platform
import resource
from pathlib import Path
from typing import Any


class Peak:
    """Peak memory of a block in MiB (see the module docstring): ``with Peak(device) as p: ...; p.mb``."""

    def __init__(self, device: Any) -> None:
        self.device, self.mb, self.method = device, 0.0, ""

    def __enter__(self) -> "Peak":
        import torch

        gc.collect()
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats(self.device)
            self.base, self.method = torch.cuda.memory_allocated(self.device), "cuda max_memory_allocated"
        else:
            _malloc_trim()
            self.base, self.method = _reset_rss_peak()
        return self

    def __exit__(self, *exc: Any) -> None:
        import torch

        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            peak = torch.cuda.max_memory_allocated(self.device)
        else:
            peak = _rss_peak()
        self.mb = max(peak - self.base, 0) / 2**20


def _malloc_trim() -> None:
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def _status_bytes(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise OSError(f"no {field} in /proc/self/status")


def _reset_rss_peak() -> tuple[int, str]:
    """(bytes to measure from, method): the current RSS after resetting the high-water mark (Linux
    ≥ 4.0, proc(5) ``clear_refs`` value 5), else the ``ru_maxrss`` peak so far."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return _status_bytes("VmRSS"), "cpu peak RSS (VmHWM) above start"
    except OSError:
        return _maxrss(), "cpu ru_maxrss growth"


def _rss_peak() -> int:
    try:
        return _status_bytes("VmHWM")
    except OSError:
        return _maxrss()


def _maxrss() -> int:
    scale = 1 if platform.system() == "Darwin" else 1024  # bytes on macOS, KiB on Linux (getrusage(2))
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale
