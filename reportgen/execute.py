"""Plan and execute the runs of some studies: reuse what the cache has, train the rest, store each
result as soon as it exists (an interrupted run-all keeps everything that finished).

Never imports analysis or rendering code: reporting stays out of training.
"""
from __future__ import annotations

import signal
import threading
import time
import traceback
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from rich.console import Console

from . import checkpoint, store
from .catalog import Spec
from .expand import Run, expand
from .progress import Reporter
from .provenance import attempt, earlier_attempts, now, provenance  # noqa: F401 - provenance re-exported


@dataclass(frozen=True)
class Planned:
    """A run and what will happen to it: ``cached`` (its file holds a final result with this key),
    ``reuse`` (another study has the key: copy), or ``train``."""

    run: Run
    key: str
    path: Path
    action: str
    source: Path | None = None
    save_model: bool = False  # the study's save_models


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


def plan(specs: list[Spec], results: Path, smoke: bool = False, force: bool = False) -> list[Planned]:
    """Every run of ``specs`` with its action; ``force`` turns all into ``train``. A chained study whose
    upstream results are missing plans nothing yet (see :func:`reportgen.chain.levels`)."""
    from .chain import Pending, resolve

    cache = {} if force else store.index(results)
    out = []
    for spec in specs:
        try:
            spec = resolve(spec, results, smoke)
        except Pending:
            continue
        for run in expand(spec.study, spec.name, str(spec.path), smoke=smoke):
            key = run.key
            path = store.result_path(results, run.study, run.variant, run.seed)
            hit = cache.get(key)
            if not hit:
                out.append(Planned(run, key, path, "train", save_model=spec.study.save_models))
                cache[key] = [path]  # a second study declaring the same run copies this one
            elif path in hit:
                out.append(Planned(run, key, path, "cached"))
            else:
                out.append(Planned(run, key, path, "reuse", hit[0]))
    return out


#: torch CPU threads per run when ``--threads`` is not given, on every backend: a run's CPU numbers
#: depend on its thread count, so serial, processes and ray give the same numbers by default. The
#: parallel backends use the cores by running one run per core.
DEFAULT_THREADS = 1


def header(p: Planned) -> dict[str, Any]:
    r = p.run
    return {"schema_version": store.SCHEMA_VERSION, "key": p.key, "study": r.study, "variant": r.variant,
            "label": r.label, "seed": r.seed, "numerics": r.numerics,
            "config": r.config.model_dump(mode="json")}


def resolve_device(name: str = "auto") -> Any:
    import torch

    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    return torch.device(name)


@dataclass(frozen=True)
class Job:
    """One run as a worker receives it: plain, picklable data (a worker may be another process or
    another machine)."""

    key: str
    path: str  # where the driver will store the result
    header: dict
    config: dict
    seed: int
    data_root: str
    device: str = "auto"
    threads: int | None = None  # torch CPU threads (None: DEFAULT_THREADS); the same number, the same CPU numbers
    save_model: bool = False  # write the final weights beside the results (see reportgen.modelstore)
    members: tuple["Job", ...] = ()  # a pack: these runs train together (reportgen.packing); empty: one run

    @property
    def tag(self) -> str:
        if self.members:
            return f"pack of {len(self.members)} ({', '.join(m.tag for m in self.members)})"
        return f"{self.header['study']}/{self.header['variant']}/seed{self.seed}"

    @property
    def results(self) -> Path:
        return Path(self.path).parents[2]


def job_of(p: Planned, data_root: Path, device: str, threads: int | None) -> Job:
    """The job of a planned run; ``threads`` None: :data:`DEFAULT_THREADS` (whatever the backend)."""
    return Job(p.key, str(p.path), header(p), p.run.config.model_dump(mode="json"), p.run.seed, str(data_root),
               device, threads or DEFAULT_THREADS, p.save_model)


_DATA: dict[tuple[str, str], Any] = {}  # MNIST per (root, device), loaded once per worker process


def worker_setup(job: Job) -> tuple[Any, Any, dict[str, Any]]:
    """In the worker: torch threads, the device, MNIST resident on it (loaded once per process) and
    the provenance block. Returns (device, data, provenance)."""
    import torch

    from . import data as data_mod

    torch.set_num_threads(job.threads or DEFAULT_THREADS)
    dev = resolve_device(job.device)
    if (job.data_root, str(dev)) not in _DATA:
        _DATA[(job.data_root, str(dev))] = data_mod.load(Path(job.data_root), dev)
    return dev, _DATA[(job.data_root, str(dev))], provenance(dev)


def finish_run(job: Job, model: Any, out: dict, x_test: Any) -> dict:
    """After training: save the weights when the study asks (``save_models``) and add the model's cost."""
    if job.save_model:
        from .modelstore import model_path, save

        save(model_path(job.results, job.header["study"], job.header["variant"], job.seed), model,
             job.header, Path(job.path).relative_to(job.results.parent).as_posix())
    out.update(measure(model, x_test))
    return out


def failure(err: Exception) -> dict:
    """A run's exception as a ``failed`` result (the last lines of the traceback in the reason)."""
    tail = "".join(traceback.format_exception(err)[-3:])
    _release_gpu_memory()
    return {"status": "failed", "reason": f"{type(err).__name__}: {err}\n{tail}"}


def run_job(job: Job, on_epoch=None) -> dict:
    """Train one run where this function runs and return its result (not yet stored): resumes from
    the run's checkpoint if one exists, holds the run's lock, turns an exception of the run into a
    ``failed`` result with the reason, and returns ``{"status": "busy"}`` when another process holds
    the lock. KeyboardInterrupt propagates (the driver records ``interrupted``). A pack of runs
    (``job.members``) goes to :func:`reportgen.packing.run_pack`."""
    if job.members:
        from .packing import run_pack

        return run_pack(job, on_epoch)
    from .peakmem import Peak
    from .spec import RunConfig
    from .train import train_run

    dev, mnist, prov = worker_setup(job)
    ckpt = checkpoint.checkpoint_path(job.results, job.key)
    config = RunConfig.model_validate(job.config)
    t0, started, before, earlier = time.perf_counter(), now(), 0, []
    try:
        with checkpoint.run_lock(job.results, job.key), Peak(dev) as peak:
            try:
                probes = ()
                if config.probes:
                    from .probe_registry import make_probes

                    probes = make_probes(config)
                if config.train.range_test is not None:  # one epoch, no checkpoints: rerun if killed
                    from .lrfinder import range_test

                    out = range_test(config, job.seed, mnist)
                else:
                    resume = checkpoint.load(ckpt)
                    # A resumed run records its earlier, killed attempts too (their epochs are in its history).
                    earlier, before = earlier_attempts(resume), len((resume or {}).get("history", ()))
                    out = train_run(config, job.seed, mnist, probes=probes, on_epoch=on_epoch, resume=resume,
                                    checkpoint=lambda state: checkpoint.save(ckpt, {**state, "attempts": earlier + [
                                        attempt(prov, started, time.perf_counter() - t0, len(state["history"]) - before)]}))
                out = finish_run(job, out.pop("model"), out, mnist.x_test)
            except Exception as err:  # noqa: BLE001 - one run's failure must not stop the suite
                out = failure(err)
    except checkpoint.Busy as busy:
        return {"status": "busy", "reason": str(busy)}
    epochs = len(out["history"]) - before if "history" in out else None
    attempts = earlier + [attempt(prov, started, time.perf_counter() - t0, epochs)]
    return {**job.header, **out, "wall_seconds": sum(a["wall_seconds"] for a in attempts), "peak_mem_mb": peak.mb,
            "provenance": {**prov, "attempts": attempts}}


def measure(model: Any, x_test: Any) -> dict[str, Any]:
    """The trained model's cost (:mod:`reportgen.modelinfo`): ``flops`` per image, the
    ``architecture`` table and ``inference_images_per_s`` on ``x_test``'s device."""
    from . import modelinfo

    return {**modelinfo.describe(model), "inference_images_per_s": modelinfo.images_per_second(model, x_test)}


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
        from . import modelinfo
        from .models import build

        result.update(modelinfo.describe(build(p.run.config.model_dump()["model"])))
        store.write_json(p.path, result)
        done += 1
    return done


def _release_gpu_memory() -> None:
    """After a failed run (e.g. CUDA out of memory) free the cached blocks so the next run can start."""
    import torch

    if torch.cuda.is_available():
        torch.cuda.empty_cache()


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
    """Carry out a plan on a backend (:mod:`reportgen.backends`): ``serial`` in this process,
    ``processes`` on a local pool, ``ray`` on a cluster. Results are stored by this process as they
    arrive. One failing run is recorded as ``failed`` and the rest go on; Ctrl-C or SIGTERM records
    the current run as ``interrupted`` and re-raises. ``pack``: at most this many runs of one
    architecture train together (:mod:`reportgen.packing`); None chooses by device and memory."""
    from .backends import make_backend

    console = console or Console(stderr=True)
    summary, start = Summary(), time.perf_counter()
    todo = [p for p in planned if p.action == "train"]
    summary.cached = sum(p.action == "cached" for p in planned)
    if todo:
        from .fetch import ensure

        ensure(data_root)  # fail early (DataError) on missing data, before any worker starts
        results = {p.path.parents[2] for p in todo}
        checkpoint.clean_temp(*results, *(checkpoint.cache_dir(r) for r in results))  # left by killed processes
        from .packing import make_packs

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
