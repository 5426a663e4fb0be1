"""The driver: carry out a plan (:mod:`reportgen.run.plan`) on a backend, store each result as soon as
it arrives (an interrupted run-all keeps everything that finished), copy reused results and record
interrupted runs.

Never imports analysis or rendering code: reporting stays out of training.
"""
from __future__ import annotations

import signal
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from rich.console import Console

from reportgen.data.fetch import ensure
from reportgen.results import store
from reportgen.run import checkpoint
from reportgen.run.backends import make_backend
from reportgen.run.jobs import Job, job_of, resolve_device
from reportgen.run.packing import make_packs
from reportgen.run.plan import Planned, header
from reportgen.run.progress import Reporter
from reportgen.run.provenance import now, provenance


@dataclass
class Summary:
    trained: int = 0
    cached: int = 0
    reused: int = 0
    failed: list[str] = field(default_factory=list)
    busy: list[str] = field(default_factory=list)  # runs another process was training
    seconds: float = 0.0

    def merge(self, other: "Summary") -> None:
        """Add another stage's counts (``reportgen run`` executes chained studies stage by stage)."""
        self.trained += other.trained
        self.cached += other.cached
        self.reused += other.reused
        self.failed += other.failed
        self.busy += other.busy
        self.seconds += other.seconds


def describe_missing(planned: list[Planned]) -> int:
    """Add ``flops`` and ``architecture`` to stored completed results that predate them, computed from
    a freshly built model of the run's config (the same architecture; weights do not matter).
    Returns how many results were completed this way. Imports torch only when one needs it."""
    done = 0
    for p in planned:
        if p.action == "train" or not p.path.exists():
            continue
        result = store.read_result(p.path)
        if result.get("status") not in ("completed", "diverged") or "flops" in result:
            continue
        from reportgen.run import modelinfo
        from reportgen.run.models import build

        result.update(modelinfo.describe(build(p.run.config.model_dump()["model"])))
        store.write_json(p.path, result)
        done += 1
    return done


@contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM (e.g. from a job scheduler) stops a run like Ctrl-C: recorded as interrupted, exit ≠ 0."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    old = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


def execute(planned: list[Planned], data_root: Path, device: str = "auto", console: Console | None = None,
            quiet: bool = False, backend: str = "serial", workers: int | None = None, threads: int | None = None,
            address: str | None = None, max_retries: int = 2, gpus_per_run: float = 0.0,
            pack: int | None = None) -> Summary:
    """Carry out a plan on a backend (:mod:`reportgen.run.backends`): ``serial`` in this process,
    ``processes`` on a local pool, ``ray`` on a cluster. Results are stored by this process as they
    arrive. One failing run is recorded as ``failed`` and the rest go on; Ctrl-C or SIGTERM records
    the current run as ``interrupted`` and re-raises. ``pack``: at most this many runs of one
    architecture train together (:mod:`reportgen.run.packing`); None chooses by device and memory."""
    console = console or Console(stderr=True)
    summary, start = Summary(), time.perf_counter()
    todo = [p for p in planned if p.action == "train"]
    summary.cached = sum(p.action == "cached" for p in planned)
    if todo:
        ensure(data_root)  # fail early (DataError) on missing data, before any worker starts
        results = {p.path.parents[2] for p in todo}
        checkpoint.clean_temp(*results, *(checkpoint.cache_dir(r) for r in results))  # left by killed processes
        jobs = make_packs([job_of(p, data_root, device, threads) for p in todo], pack, device)
        runner = make_backend(backend, workers=workers, address=address, max_retries=max_retries,
                              gpus_per_run=gpus_per_run)
        with Reporter(console, len(todo), quiet) as report, _sigterm_as_interrupt():
            def arrived(job: Job, result: dict) -> None:
                if job.members:  # a pack: one result per member (a whole-pack failure is each member's)
                    outs = result.pop("results", None) or [{**m.header, **result} for m in job.members]
                    for member, out in zip(job.members, outs):
                        arrived(member, out)
                    return
                if result["status"] == "busy":
                    summary.busy.append(job.tag)
                    report.run_done(f"{job.tag} skipped: {result['reason']}")
                    return
                result.setdefault("provenance", {})["created"] = now()  # when the result is written
                store.write_json(Path(job.path), result)
                checkpoint.checkpoint_path(job.results, job.key).unlink(missing_ok=True)
                summary.trained += 1
                if result["status"] == "failed":
                    summary.failed.append(f"{job.tag}: {result['reason'].splitlines()[0]}")
                acc = (result.get("test") or {}).get("accuracy")
                report.run_done(f"{job.tag} {result['status']}" + (f", test accuracy {acc:.4f}" if acc is not None else "")
                                + f" in {result['wall_seconds']:.1f}s")

            def interrupted(job: Job) -> None:
                if job.members:
                    for member in job.members:
                        interrupted(member)
                    return
                store.write_json(Path(job.path), {**job.header, "status": "interrupted",
                                                  "reason": "interrupted (Ctrl-C or SIGTERM); the next run resumes "
                                                            "from the last epoch's checkpoint",
                                                  "provenance": provenance(resolve_device(job.device))})

            runner.run(jobs, arrived, interrupted, report)
    for p in planned:  # after training: a reused run may come from a run trained just now
        if p.action == "reuse":
            result = store.read_result(p.source)
            result.update({k: v for k, v in header(p).items() if k != "config"})
            result.setdefault("provenance", {})["reused_from"] = p.source.as_posix()
            store.write_json(p.path, result)
            summary.reused += 1
    describe_missing(planned)
    summary.seconds = time.perf_counter() - start
    return summary
