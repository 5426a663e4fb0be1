"""A run as a worker receives it (:class:`Job`: plain, picklable data) and the worker-side steps
shared by a run trained alone (:mod:`reportgen.run.worker`) and a pack of runs
(:mod:`reportgen.run.packing`): thread count, device, resident MNIST, saving and measuring the model,
turning an exception into a ``failed`` result."""
from __future__ import annotations

import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reportgen.run.plan import Planned, header
from reportgen.run.provenance import provenance
from reportgen.spec.config import RunConfig
from reportgen.spec.expand import SMOKE_TIMING_IMAGES

#: torch CPU threads per run when ``--threads`` is not given, on every backend: a run's CPU numbers
#: depend on its thread count, so serial, processes and ray give the same numbers by default. The
#: parallel backends use the cores by running one run per core.
DEFAULT_THREADS = 1


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
    config: RunConfig  # pydantic: pickles as it is (pool processes, Ray)
    seed: int
    data_root: str
    device: str = "auto"
    threads: int | None = None  # torch CPU threads (None: DEFAULT_THREADS); the same number, the same CPU numbers
    save_model: bool = False  # write the final weights beside the results (see reportgen.run.modelstore)
    members: tuple["Job", ...] = ()  # a pack: these runs train together (reportgen.run.packing); empty: one run
    smoke: bool = False  # a ``--smoke`` run: its throughput is timed on fewer test images (SMOKE_TIMING_IMAGES)

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
    return Job(p.key, str(p.path), header(p), p.run.config, p.run.seed, str(data_root),
               device, threads or DEFAULT_THREADS, p.save_model, smoke=p.run.smoke)


_DATA: dict[tuple[str, str, str], Any] = {}  # data set per (root, device, data set), loaded once per worker process


def worker_setup(job: Job) -> tuple[Any, Any, dict[str, Any]]:
    """In the worker: torch threads, the device, MNIST resident on it (loaded once per process) and
    the provenance block. Returns (device, data, provenance)."""
    import torch

    from reportgen.data import sets

    torch.set_num_threads(job.threads or DEFAULT_THREADS)
    dev = resolve_device(job.device)
    dataset = job.config.data.dataset
    which = (job.data_root, str(dev), dataset if isinstance(dataset, str) else dataset.model_dump_json())
    if which not in _DATA:
        _DATA[which] = sets.load(dataset, Path(job.data_root), dev)
    return dev, _DATA[which], provenance(dev, _DATA[which].md5)


def finish_run(job: Job, model: Any, out: dict, x_test: Any) -> dict:
    """After training: save the weights when the study asks (``save_models``) and add the model's cost
    (throughput timed on ``x_test``, on its first ``SMOKE_TIMING_IMAGES`` images for a smoke run)."""
    if job.save_model:
        from reportgen.run.modelstore import model_path, save

        save(model_path(job.results, job.header["study"], job.header["variant"], job.seed), model,
             job.header, Path(job.path).relative_to(job.results.parent).as_posix())
    if job.smoke:
        x_test = x_test[:SMOKE_TIMING_IMAGES]
    out.update(measure(model, x_test))
    return out


def failure(err: Exception) -> dict:
    """A run's exception as a ``failed`` result (the last lines of the traceback in the reason)."""
    tail = "".join(traceback.format_exception(err)[-3:])
    _release_gpu_memory()
    return {"status": "failed", "reason": f"{type(err).__name__}: {err}\n{tail}"}


def measure(model: Any, x_test: Any) -> dict[str, Any]:
    """The trained model's cost (:mod:`reportgen.run.modelinfo`): ``flops`` per image, the
    ``architecture`` table and ``inference_images_per_s`` on ``x_test``'s device."""
    from reportgen.run import modelinfo

    return {**modelinfo.describe(model, tuple(x_test.shape[1:])),
            "inference_images_per_s": modelinfo.images_per_second(model, x_test)}


def _release_gpu_memory() -> None:
    """After a failed run (e.g. CUDA out of memory) free the cached blocks so the next run can start."""
    import torch

    if torch.cuda.is_available():
        torch.cuda.empty_cache()
