"""The driver: carry out a plan (:mod:`reportgen.run.plan`) on a backend, store each result as soon as
it arrives (an interrupted run-all keeps everything that finished), copy reused results and record
interrupted runs.

Two processes planning the same run: before training, the driver takes each run's lock
(:class:`reportgen.run.checkpoint.RunLock`) and holds it until the run's result is stored. A run
whose lock another process holds is not trained here: once everything else is trained, the driver
says which process holds it and waits for it; it then uses the result that process stored (or, when
that process died or was stopped without storing one, trains the run itself, taking the lock over,
resuming from the run's checkpoint). A run's result found stored on taking its lock is used as it
is. So every run trains once, and each process ends with the whole plan's results.

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
from rich.markup import escape

from reportgen.data.fetch import ensure
from reportgen.results import store
from reportgen.run import checkpoint
from reportgen.run.backends import make_backend
from reportgen.run.jobs import Job, job_of, resolve_device
from reportgen.run.packing import make_packs
from reportgen.run.plan import Planned, header
from reportgen.run.progress import Reporter
from reportgen.run.provenance import now, provenance
from reportgen.spec.sources import identity

#: While waiting for a run another process trains, say so again after this many seconds.
WAIT_NOTICE_S = 600.0


@dataclass
class Summary:
    trained: int = 0
    cached: int = 0
    reused: int = 0
    failed: list[str] = field(default_factory=list)
    elsewhere: list[str] = field(default_factory=list)  # runs another process trained (their results used)
    unreadable: list[str] = field(default_factory=list)  # "<path>: <reason>" of result files kept, not retrained
    seconds: float = 0.0

    def merge(self, other: "Summary") -> None:
        """Add another stage's counts (``reportgen run`` executes chained studies stage by stage)."""
        self.trained += other.trained
        self.cached += other.cached
        self.reused += other.reused
        self.failed += other.failed
        self.elsewhere += other.elsewhere
        self.unreadable += other.unreadable
        self.seconds += other.seconds


def describe_missing(planned: list[Planned]) -> int:
    """Add ``flops`` and ``architecture`` to stored completed results that predate them, computed from
    a freshly built model of the run's config (the same architecture; weights do not matter).
    Returns how many results were completed this way. Imports torch only when one needs it."""
    done = 0
    for p in planned:
        if p.action in ("train", "unreadable") or not p.path.exists():
            continue
        result = store.read_result(p.path)
        if result.get("status") not in ("completed", "diverged") or "flops" in result:
            continue
        from reportgen.run import modelinfo
        from reportgen.run.models import build_for, input_of

        result.update(modelinfo.describe(build_for(p.run.config), input_of(p.run.config)[0]))
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


def _tag(p: Planned) -> str:
    return f"{p.run.study}/{p.run.variant}/seed{p.run.seed}"


def _copy(p: Planned, source: Path) -> None:
    """Store the final result at ``source`` as ``p``'s (another study's run with the same key)."""
    result = store.read_result(source)
    result.update({k: v for k, v in header(p).items() if k != "config"})
    result.setdefault("provenance", {})["reused_from"] = source.as_posix()
    store.write_json(p.path, result)


def _mtime_ns(path: Path) -> int | None:
    try:
        return path.stat().st_mtime_ns
    except FileNotFoundError:
        return None


def _stored_elsewhere(p: Planned, before: int | None, since_ns: int, anywhere: bool = False) -> dict | None:
    """The result another process stored for ``p`` while this one ran: at ``p``'s path, with its key,
    final or ``failed`` (a failure is not retried), the file changed since this process saw it
    (modification time ``before``, None: absent; a result that was there already is being replaced,
    e.g. under ``--force``); else, with ``anywhere``, a final result with its key written in another
    study's folder since ``since_ns`` (copied to ``p``'s path; this reads every result, so only after
    waiting for another process). None when there is none."""
    if _mtime_ns(p.path) != before:
        got = store.inspect(p.path)
        if isinstance(got, dict) and got.get("key") == p.key and got["status"] in (*store.FINAL, "failed"):
            return got
    sources = [s for s in store.index(p.path.parents[2]).get(p.key, ()) if (_mtime_ns(s) or 0) >= since_ns
               ] if anywhere else None
    if sources:
        _copy(p, sources[0])
        return store.read_result(p.path)
    return None


def execute(planned: list[Planned], data_root: Path, device: str = "auto", console: Console | None = None,
            quiet: bool = False, backend: str = "serial", workers: int | None = None, threads: int | None = None,
            address: str | None = None, max_retries: int = 2, gpus_per_run: float = 0.0,
            pack: int | None = None) -> Summary:
    """Carry out a plan on a backend (:mod:`reportgen.run.backends`): ``serial`` in this process,
    ``processes`` on a local pool, ``ray`` on a cluster. Results are stored by this process as they
    arrive. One failing run is recorded as ``failed`` and the rest go on; Ctrl-C or SIGTERM records
    the current run as ``interrupted`` and re-raises. ``pack``: at most this many runs of one
    architecture train together (:mod:`reportgen.run.packing`); None chooses by device and memory.

    A run another process is training is waited for and its result used (see the module's
    docstring); ``Summary.elsewhere`` names those runs. A run planned ``unreadable`` is left alone
    and named in ``Summary.unreadable``; a plain partial write planned ``train`` is replaced, and
    each such replacement is printed with the file's reason. Before anything trains, the data sets
    and import-path models of the runs to train are checked (:mod:`reportgen.run.preflight`)."""
    console = console or Console(stderr=True)
    summary, start = Summary(), time.perf_counter()
    todo = [p for p in planned if p.action == "train"]
    summary.cached = sum(p.action == "cached" for p in planned)
    summary.unreadable = [f"{p.path}: {p.unreadable}" for p in planned if p.action == "unreadable"]
    for p in planned:
        if p.unreadable and p.action in ("train", "reuse"):
            console.print(f"[yellow]replacing[/] {escape(str(p.path))}: {escape(p.unreadable)}", highlight=False,
                          soft_wrap=True)
    if todo:
        from reportgen.run.preflight import preflight

        preflight(todo, data_root, ensure)  # fail early (DataError, ModelError) on unreadable data or a bad model
        results = {p.path.parents[2] for p in todo}
        checkpoint.clean_temp(*results, *(checkpoint.cache_dir(r) for r in results))  # left by killed processes
        started_ns = time.time_ns()
        seen = {p.key: _mtime_ns(p.path) for p in todo}  # a result file changing from here: another process's
        locks: dict[str, checkpoint.RunLock] = {}
        runner = make_backend(backend, workers=workers, address=address, max_retries=max_retries,
                              gpus_per_run=gpus_per_run)
        try:
            with Reporter(console, len(todo), quiet) as report, _sigterm_as_interrupt():
                def release(key: str) -> None:
                    lock = locks.pop(key, None)
                    if lock is not None:
                        lock.release()

                def took_over(p: Planned, left: checkpoint.Holder | None) -> None:
                    if left is not None:
                        state = {True: "still running, but no longer holding it", False: "no longer running",
                                 None: "on another host"}[left.alive()]
                        console.print(f"{escape(_tag(p))}: took over its lock, left by {escape(left.describe())} "
                                      f"({state}); resuming from its checkpoint if it left one", highlight=False,
                                      soft_wrap=True)

                def done_elsewhere(p: Planned, result: dict) -> None:
                    summary.elsewhere.append(_tag(p))
                    if result["status"] == "failed":
                        summary.failed.append(f"{_tag(p)}: {result['reason'].splitlines()[0]} (in another process)")
                    report.run_done(f"{_tag(p)} {result['status']} in another process; its result is used")

                def arrived(job: Job, result: dict) -> None:
                    if job.members:  # a pack: one result per member (a whole-pack failure is each member's)
                        outs = result.pop("results", None) or [{**m.header, **result} for m in job.members]
                        for member, out in zip(job.members, outs):
                            arrived(member, out)
                        return
                    for line in result.pop("warnings", None) or ():
                        console.print(f"[yellow]warning[/] {escape(job.tag)}: {escape(line)}", highlight=False,
                                      soft_wrap=True)
                    result.setdefault("provenance", {})["created"] = now()  # when the result is written
                    store.write_json(Path(job.path), result)
                    checkpoint.discard(job.results, job.key)
                    release(job.key)
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
                                                      "provenance": provenance(resolve_device(job.device),
                                                                               identity(job.config.data.dataset))})
                    release(job.key)

                def train(batch: list[Planned]) -> None:
                    if batch:
                        jobs = make_packs([job_of(p, data_root, device, threads) for p in batch], pack, device)
                        runner.run(jobs, arrived, interrupted, report)

                def claimed(p: Planned, lock: checkpoint.RunLock, left, anywhere: bool = False) -> bool:
                    """Hold ``p``'s just-acquired lock; False when its result was stored meanwhile (used)."""
                    locks[p.key] = lock
                    if (found := _stored_elsewhere(p, seen[p.key], started_ns, anywhere=anywhere)) is not None:
                        release(p.key)
                        done_elsewhere(p, found)
                        return False
                    took_over(p, left)
                    return True

                mine, waiting = [], []
                for p in todo:  # claim: a run is this process's from here until its result is stored
                    lock = checkpoint.RunLock(p.path.parents[2], p.key)
                    try:
                        left = lock.acquire()
                    except checkpoint.Busy as busy:
                        waiting.append((p, lock, busy))
                        continue
                    if claimed(p, lock, left):
                        mine.append(p)
                train(mine)
                leftover = []
                for p, lock, busy in waiting:
                    console.print(f"waiting for {escape(_tag(p))}: another process is training it ({escape(busy.who)}, "
                                  f"lock {escape(str(busy.path))}); its result will be used here", highlight=False,
                                  soft_wrap=True)
                    while True:
                        try:
                            left = lock.acquire(timeout_s=WAIT_NOTICE_S)
                            break
                        except checkpoint.Busy as still:
                            console.print(f"still waiting for {escape(_tag(p))} ({escape(still.who)})",
                                          highlight=False, soft_wrap=True)
                    if claimed(p, lock, left, anywhere=True):
                        leftover.append(p)  # its holder stopped without storing a result: train it here
                train(leftover)
        finally:
            for key in list(locks):
                locks.pop(key).release()
    for p in planned:  # after training: a reused run may come from a run trained just now
        if p.action == "reuse":
            _copy(p, p.source)
            summary.reused += 1
    describe_missing(planned)
    summary.seconds = time.perf_counter() - start
    return summary
