"""Controlled timing of a study's variants: training steps and inference timed side by side.

Training runs record how long their epochs took, but under whatever else the machine was doing, so two
variants' recorded times differ by load as much as by cost. Here every variant of a study is built as
its run builds it (:func:`reportgen.run.train.start`, :func:`reportgen.run.optim.make_optimizer` over
the flat parameter buffer, the spec's augmentation) and its training steps run through the training
loop itself (:func:`reportgen.run.train.train_epoch`: forward, loss, backward, optimizer step at the
variant's batch size), in one process, at one thread count:

1. warm-up: each variant's first ``warmup`` steps and one inference batch, untimed; then, every
   variant warmed up, ``warmup`` more steps (at least one) and one batch each, timed only to choose how
   many steps (images) a timed repeat takes when not given, so that it lasts about ``repeat_seconds``;
2. ``repeats`` rounds; each round times every variant's steps once, in turn (round-robin, starting one
   variant later each round, so no variant is always first after another's), then every variant's
   inference the same way;
3. the medians, every repeat, the thread count, the CPU's instruction set and ``os.getloadavg()``
   before and after go into ``<results>/_timing/<study>.json`` (:mod:`reportgen.results.timing`).

Seconds per epoch are derived: median seconds per step × steps per epoch (training steps only; the
per-epoch evaluation, probes and checkpoints are not included). Nothing here changes what a training
run computes; the timed models are thrown away.
"""
from __future__ import annotations

import datetime as _dt
import json
import math
import os
import platform
import statistics
import time
from pathlib import Path
from typing import Any, Callable

import torch

from reportgen.data.mnist import MNIST
from reportgen.results.timing import SCHEMA_VERSION, TimingFile, timed_config, timing_path
from reportgen.spec.catalog import Spec
from reportgen.spec.expand import SpecError, expand

#: Images per inference batch: the batch the runs' own throughput measurement uses
#: (:func:`reportgen.run.modelinfo.images_per_second`).
INFERENCE_BATCH = 1000


class _Variant:
    """One variant set up for timing: model, optimizer, augmentation, its training split and a cyclic
    stream of shuffled training indices."""

    def __init__(self, slug: str, label: str, config: Any, seed: int, data: MNIST) -> None:
        from reportgen.run import augment
        from reportgen.run.optim import make_optimizer
        from reportgen.run.train import start

        self.slug, self.label, self.config = slug, label, config
        run = start(config, seed, data)
        self.model, (self.x, self.y) = run.model, run.split["train"]
        self.opt = make_optimizer(self.model, config.optim, flat=True)
        self.aug = augment.make(config.train.augment, data.mean, data.std)
        self.batch = config.train.batch_size
        self.perm = torch.randperm(len(self.x), generator=run.order).to(self.x.device)
        self.at = 0
        self.step = 0
        self.steps: int = 0
        self.images: int = 0
        self.train_s: list[float] = []
        self.infer_ips: list[float] = []

    @property
    def steps_per_epoch(self) -> int:
        return math.ceil(len(self.x) / self.batch)

    def indices(self, steps: int) -> torch.Tensor:
        """The next ``steps`` full batches of the shuffled training split (wrapping around)."""
        need = steps * self.batch
        parts, n = [], len(self.perm)
        while need > 0:
            take = min(need, n - self.at)
            parts.append(self.perm[self.at:self.at + take])
            self.at = (self.at + take) % n
            need -= take
        return torch.cat(parts)

    def train(self, steps: int) -> float:
        """Seconds for ``steps`` training steps through :func:`reportgen.run.train.train_epoch`."""
        from reportgen.run.train import train_epoch

        idx = self.indices(steps)
        _sync(self.x.device)
        t0 = time.perf_counter()
        _, _, self.step = train_epoch(self.model, self.opt, self.x, self.y, idx, self.batch,
                                      self.config.optim.l2, self.aug, (), self.step)
        _sync(self.x.device)
        return time.perf_counter() - t0

    def infer(self, x: torch.Tensor, batches: int, batch: int) -> float:
        """Seconds for ``batches`` inference batches of ``batch`` images of ``x`` (cycling), eval mode."""
        from reportgen.run.train import precision

        self.model.eval()
        starts = list(range(0, len(x) - batch + 1, batch))
        _sync(x.device)
        t0 = time.perf_counter()
        with torch.no_grad(), precision(x.device):
            for i in range(batches):
                s = starts[i % len(starts)]
                self.model(x[s:s + batch])
        _sync(x.device)
        return time.perf_counter() - t0


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _load() -> list[float]:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except (AttributeError, OSError):  # no load average on this platform
        return [math.nan] * 3


def _device_name(device: torch.device) -> str:
    return torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"


def _capability(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    try:
        return str(torch.backends.cpu.get_cpu_capability())
    except (AttributeError, RuntimeError):
        return "unknown"


def measure(spec: Spec, data: MNIST, *, threads: int = 1, warmup: int = 3, repeats: int = 7,
            steps: int | None = None, images: int | None = None, repeat_seconds: float = 0.5,
            inference_batch: int = INFERENCE_BATCH, inference: bool = True, results: Path | None = None,
            command: str = "", say: Callable[[str], None] | None = None) -> TimingFile:
    """Time the training steps (and inference) of every variant of ``spec`` side by side on ``data``'s
    device (its first seed's initialisation and data order; the variant's batch size).

    ``threads``: torch CPU threads for the whole measurement (put back afterwards); ``warmup``: untimed
    steps per variant; ``repeats``: timed rounds; ``steps``/``images``: training steps / inference
    images per timed repeat (None: calibrated on the warm-up to last about ``repeat_seconds`` seconds,
    at least one step / one batch); ``inference_batch``: images per inference batch (fewer when the test
    split is smaller); ``inference``: time inference too; ``results``: the results folder a chained
    study's upstream results are read from; ``command``: the command line, recorded; ``say``: progress
    messages.

    Returns:
        the :class:`~reportgen.results.timing.TimingFile` (not yet written: :func:`write`).

    Raises:
        SpecError: the study trains nothing (an explore study), or its chained upstream results are missing.
        ValueError: a non-positive ``threads``, ``repeats``, ``steps``, ``images``, ``inference_batch``
            or ``repeat_seconds``, or a negative ``warmup``.
    """
    for name, value in (("threads", threads), ("repeats", repeats), ("inference_batch", inference_batch),
                        ("repeat_seconds", repeat_seconds), ("steps", steps or 1), ("images", images or 1)):
        if value <= 0:
            raise ValueError(f"{name} must be positive, not {value!r}")
    if warmup < 0:
        raise ValueError(f"warmup must be 0 or more, not {warmup!r}")
    say = say or (lambda _msg: None)
    study = spec
    if spec.study.upstream():
        from reportgen.results.chain import Pending, resolve

        try:
            study = resolve(spec, Path(results or "results"))
        except Pending as waiting:
            raise SpecError(f"{spec.name}: cannot time before its upstream studies have results: "
                            f"{', '.join(waiting.studies)}") from None
    runs = expand(study.study, study.name, str(spec.path))
    if not runs:
        raise SpecError(f"{spec.name} is an {spec.study.kind} study: it trains nothing, so there is nothing to time")
    first = {}
    for r in runs:  # the first seed of each variant, in declaration order
        first.setdefault(r.variant, r)
    before_threads = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        return _measure(spec.name, list(first.values()), data, threads, warmup, repeats, steps, images,
                        repeat_seconds, inference_batch, inference, command, say)
    finally:
        torch.set_num_threads(before_threads)


def _measure(study: str, runs: list, data: MNIST, threads: int, warmup: int, repeats: int, steps: int | None,
             images: int | None, repeat_seconds: float, batch: int, inference: bool, command: str,
             say: Callable[[str], None]) -> TimingFile:
    device = data.x_train.device
    x_test = data.x_test
    batch = min(batch, len(x_test))
    load_before = _load()
    variants = [_Variant(r.variant, r.label, r.config, r.seed, data) for r in runs]
    for v in variants:  # warm-up: first calls, allocations, caches
        for _ in range(warmup):
            v.train(1)
        if inference:
            v.infer(x_test, 1, batch)
    probe = max(1, warmup)  # steps timed to size a repeat: one step of a small model is too short to time
    for v in variants:  # calibration, all warmed up: how many steps (images) a repeat takes
        v.steps = steps or max(1, round(repeat_seconds * probe / v.train(probe)))
        if inference:
            v.images = images or max(1, round(repeat_seconds / v.infer(x_test, 1, batch))) * batch
        say(f"warmed up {v.label}: {v.steps} step(s) per repeat"
            + (f", {v.images:,} inference images per repeat" if inference else ""))
    for r in range(repeats):
        turn = variants[r % len(variants):] + variants[:r % len(variants)]
        for v in turn:
            v.train_s.append(v.train(v.steps) / v.steps)
        if inference:
            for v in turn:
                n = max(1, math.ceil(v.images / batch))
                v.infer_ips.append(n * batch / v.infer(x_test, n, batch))
        say(f"repeat {r + 1} of {repeats} done")
    load_after = _load()
    rows = []
    for v in variants:
        s_step = statistics.median(v.train_s)
        row: dict[str, Any] = {
            "variant": v.slug, "label": v.label, "timed": timed_config(v.config.model_dump(mode="json")),
            "batch_size": v.batch, "train_images": len(v.x), "steps_per_epoch": v.steps_per_epoch,
            "train": {"steps": v.steps, "s_per_step": {"median": s_step, "repeats": v.train_s},
                      "s_per_epoch": s_step * v.steps_per_epoch}}
        if inference:
            row["inference"] = {"images": max(1, math.ceil(v.images / batch)) * batch,
                                "images_per_s": {"median": statistics.median(v.infer_ips), "repeats": v.infer_ips}}
        rows.append(row)
    return TimingFile.model_validate({
        "schema_version": SCHEMA_VERSION, "study": study,
        "created": _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat(),
        "command": command, "torch": torch.__version__, "python": platform.python_version(),
        "machine": platform.machine(), "device": _device_name(device), "cpu_capability": _capability(device),
        "cpu_count": os.cpu_count(), "threads": threads,
        "load_average": {"before": load_before, "after": load_after},
        "warmup_steps": warmup, "repeats": repeats, "repeat_seconds": None if steps and images else repeat_seconds,
        "inference_batch": batch,
        "order": "round-robin: each repeat times every variant once in turn, starting one variant later each repeat",
        "variants": rows})


def write(results: Path, timing: TimingFile) -> Path:
    """Write ``timing`` to ``<results>/_timing/<study>.json`` atomically; returns the path.

    Raises:
        reportgen.results.store.StoreError: the file cannot be written.
    """
    from reportgen.results.store import write_json

    path = timing_path(results, timing.study)
    write_json(path, timing.model_dump(mode="json"))
    return path


def time_studies(specs: list[Spec], results: Path, args: Any, console: Any) -> int:
    """``reportgen time``: :func:`measure` each of ``specs`` (none: an error) on its data set (MNIST unless the
    spec names another; a study whose variants read different data sets is an error) from ``args.data_dir`` (default
    ``$REPORTGEN_DATA``, else ``./data``) on ``args.device``, :func:`write` it under ``results`` and
    print its table on ``console`` (a ``rich`` console). ``args``: the parsed command line (``threads``,
    ``warmup``, ``repeats``, ``steps``, ``images``, ``repeat_seconds``, ``no_inference``).

    Returns:
        the exit code: 0 when every study was timed and written; 2 on bad input (a study with
        nothing to time, a bad option, no data) or when a file cannot be written, after saying why.
    """
    from rich.markup import escape
    from rich.table import Table

    from reportgen.data import sets
    from reportgen.data.fetch import DataError, data_root
    from reportgen.results.store import StoreError
    from reportgen.run.jobs import resolve_device

    def error(what: str, err: Exception) -> int:
        console.print(f"[red]{what}[/] {escape(str(err))}", highlight=False, soft_wrap=True)
        return 2

    if not specs:
        return error("error", ValueError("name the study (or studies) to time: reportgen time STUDY"))
    options = {k: getattr(args, k) for k in ("threads", "warmup", "repeats", "steps", "images", "repeat_seconds")}
    inference = not args.no_inference
    try:
        dev = resolve_device(args.device)
    except RuntimeError as err:
        return error("data error", err)
    loaded: dict[str, Any] = {}
    flags = [f"--{k.replace('_', '-')} {v:g}" for k, v in options.items() if v is not None]
    for spec in specs:
        console.print(f"timing {spec.name} on {dev} with {options['threads']} thread(s)", highlight=False)
        command = " ".join(["reportgen time", spec.name, *flags, *([] if inference else ["--no-inference"])])
        datasets = {json.dumps(r.config.data.model_dump(mode="json")["dataset"]): r.config.data.dataset
                    for r in expand(spec.study, spec.name, str(spec.path))}
        if len(datasets) > 1:
            return error("error", ValueError(f"{spec.name}: its variants read {len(datasets)} data sets; timings compare "
                                             "variants on one data set"))
        try:
            for which, dataset in datasets.items():
                if which not in loaded:
                    loaded[which] = sets.load(dataset, data_root(args.data_dir), dev)
            data = loaded[next(iter(datasets))]
        except DataError as err:
            return error("data error", err)
        try:
            timing = measure(spec, data, results=results, command=command, inference=inference,
                             say=lambda msg: console.print(f"  {escape(msg)}", highlight=False), **options)
            path = write(results, timing)
        except (SpecError, ValueError) as err:
            return error("error", err)
        except StoreError as err:
            return error("cannot write", err)
        table = Table("variant", "batch", "steps × repeats", "s / step (median)", "s / epoch", "inference images / s")
        for v in timing.variants:
            table.add_row(v.label, str(v.batch_size), f"{v.train.steps} × {timing.repeats}",
                          f"{v.train.s_per_step.median:.4g}", f"{v.train.s_per_epoch:.3g}",
                          f"{v.inference.images_per_s.median:,.0f}" if v.inference else "—")
        console.print(table)
        load = timing.load_average
        console.print(f"load average (1, 5, 15 min) before {load.before}, after {load.after}; "
                      f"{timing.cpu_capability}, torch {timing.torch}; wrote {path}", highlight=False)
    return 0
