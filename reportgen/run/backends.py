"""Where runs train, behind one interface: ``serial`` (this process, the default), ``processes`` (a
pool of local worker processes, one per core or GPU) and ``ray`` (a Ray cluster: local, or an
existing one by address). Workers run :func:`reportgen.run.worker.run_job` and send each result back;
the driver stores it. A worker that dies mid-run is replaced and its run started again, resuming
from the run's last checkpoint; a run that fails for its own reasons comes back as ``failed`` and is
not retried. On the CPU a run's numbers do not depend on the backend: every backend gives a run the
same torch threads (``--threads``, default :data:`reportgen.run.jobs.DEFAULT_THREADS`).
"""
from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Callable

from reportgen.run.jobs import Job

from reportgen.run.worker import run_job

Arrived = Callable[[Job, dict], None]
Interrupted = Callable[[Job], None]


def _failed(job: Job, reason: str) -> dict:
    return {**job.header, "status": "failed", "reason": reason, "wall_seconds": 0.0,
            "provenance": _driver_provenance(job)}


def _died(job: Job, attempts: int, why: str) -> dict:
    return _failed(job, f"worker died {attempts} time(s) running this run: {why}")


def _driver_provenance(job: Job) -> dict:
    from reportgen.run.jobs import resolve_device
    from reportgen.run.provenance import provenance

    from reportgen.spec.sources import identity

    return provenance(resolve_device(job.device), identity(job.config.data.dataset))


class Serial:
    """One run after another in this process, with per-epoch progress."""

    def run(self, jobs: list[Job], arrived: Arrived, interrupted: Interrupted, report) -> None:
        for job in jobs:
            report.run_started(job.tag, job.config.train.epochs)
            try:
                result = run_job(job, on_epoch=report.epoch)
            except KeyboardInterrupt:
                interrupted(job)
                raise
            arrived(job, result)


class Processes:
    """A pool of ``workers`` spawned processes (default: one per core, or one per GPU), each running
    its job with the job's torch threads."""

    def __init__(self, workers: int | None = None, max_retries: int = 2) -> None:
        import torch

        gpus = torch.cuda.device_count()
        self.workers = workers or gpus or os.cpu_count() or 1
        self.max_retries = max_retries

    def _pool(self) -> ProcessPoolExecutor:
        # spawn, not fork: a forked copy of a process that has touched CUDA or OpenMP threads is unsafe.
        return ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"))

    def run(self, jobs: list[Job], arrived: Arrived, interrupted: Interrupted, report) -> None:
        pending = list(jobs)
        attempts = {j.key: 0 for j in pending}
        while pending:
            pool = self._pool()
            futures = {pool.submit(run_job, j): j for j in pending}
            pending = []
            try:
                while futures:
                    done, _ = wait(futures, return_when=FIRST_COMPLETED)
                    for f in done:
                        job = futures.pop(f)
                        try:
                            arrived(job, f.result())
                        except BrokenProcessPool as err:  # a worker died: every run in flight goes again
                            attempts[job.key] += 1
                            if attempts[job.key] > self.max_retries:
                                arrived(job, _died(job, attempts[job.key], str(err)))
                            else:
                                pending.append(job)
                        except Exception as err:  # noqa: BLE001 - e.g. the job could not reach the worker
                            arrived(job, _failed(job, f"{type(err).__name__}: {err}"))
            except KeyboardInterrupt:
                for job in futures.values():
                    interrupted(job)
                _stop_workers(pool)
                raise
            pool.shutdown(wait=True)


def _stop_workers(pool: ProcessPoolExecutor) -> None:
    """Shut ``pool`` down now. Ctrl-C reaches the workers too, but a pool worker survives it (the
    executor hands the exception back as the job's result) and starts the run already queued to it,
    which ``cancel_futures`` cannot take back, and a scheduler's SIGTERM reaches the driver alone:
    either way the driver would wait for whole runs before exiting. So the workers are terminated;
    their runs resume from the last epoch's checkpoint, as after any kill."""
    terminate = getattr(pool, "terminate_workers", None)  # Python ≥ 3.14
    if terminate is not None:
        terminate()
        return
    workers = list((getattr(pool, "_processes", None) or {}).values())  # 3.10–3.13: no public way
    pool.shutdown(wait=False, cancel_futures=True)  # forgets the processes: taken above
    for proc in workers:
        proc.terminate()


class Ray:
    """Ray tasks: one per run, ``num_cpus=cpus_per_run`` and a fraction of a GPU (``gpus_per_run``,
    e.g. 0.25 lets four small models share one GPU). Ray restarts a task whose worker died
    (``max_retries``); exceptions of the run itself come back as ``failed`` results and are not
    retried. ``address``: ``None`` starts a local cluster of this machine, ``"auto"`` joins the one
    ``ray start`` runs here, ``"ray://host:10001"`` a remote one."""

    def __init__(self, address: str | None = None, max_retries: int = 2, gpus_per_run: float = 0.0,
                 workers: int | None = None, cpus_per_run: float = 1.0) -> None:
        try:
            import ray
        except ImportError as err:
            raise RuntimeError('the ray backend needs Ray: pip install -e ".[ray]"') from err
        self.ray = ray
        self.address, self.max_retries = address, max_retries
        self.gpus_per_run, self.cpus_per_run, self.workers = gpus_per_run, cpus_per_run, workers

    def run(self, jobs: list[Job], arrived: Arrived, interrupted: Interrupted, report) -> None:
        ray = self.ray
        if not ray.is_initialized():
            kw = {} if self.address else {"num_cpus": self.workers or os.cpu_count()}
            if not self.address:
                # Ray starts its workers at niceness 15; on a machine doing other work they then starve
                # (measured here: importing torch took 43 s instead of 2 s). Training is the main work.
                os.environ.setdefault("RAY_worker_niceness", "0")
            ray.init(address=self.address, include_dashboard=False, log_to_driver=False, **kw)
        task = ray.remote(run_job).options(num_cpus=self.cpus_per_run, num_gpus=self.gpus_per_run,
                                           max_retries=self.max_retries, retry_exceptions=False)
        refs = {task.remote(j): j for j in jobs}
        try:
            while refs:
                done, _ = ray.wait(list(refs), num_returns=1)
                job = refs.pop(done[0])
                try:
                    result = ray.get(done[0])
                except (ray.exceptions.WorkerCrashedError, ray.exceptions.NodeDiedError) as err:
                    result = _died(job, self.max_retries + 1, type(err).__name__)
                except ray.exceptions.RayError as err:  # e.g. the data could not be loaded on the worker
                    result = _failed(job, f"{type(err).__name__}: {str(err).splitlines()[0]}")
                arrived(job, result)
        except KeyboardInterrupt:
            for ref, job in refs.items():
                ray.cancel(ref, force=True)
                interrupted(job)
            raise


BACKENDS = ("serial", "processes", "ray")


def make_backend(name: str, workers: int | None = None, address: str | None = None, max_retries: int = 2,
                 gpus_per_run: float = 0.0):
    """The backend called ``name`` (one of ``BACKENDS``).

    Raises:
        ValueError: an unknown name (the message lists the choices).
    """
    if name == "serial":
        return Serial()
    if name == "processes":
        return Processes(workers, max_retries)
    if name == "ray":
        return Ray(address, max_retries, gpus_per_run, workers)
    raise ValueError(f"unknown backend {name!r}; choose one of {', '.join(BACKENDS)}")
