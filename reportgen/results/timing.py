"""Controlled timings of a study's variants: the file ``reportgen time STUDY`` writes and the pages read.

A timing run (:mod:`reportgen.run.timing`) times every variant's training step and inference in one
process, interleaved, at one thread count, and writes ``<results>/_timing/<study>.json`` beside the
study's results. The folder's name starts with ``_``, which no study name can (spec files starting with
``_`` are not studies), and its files are not named ``seed*.json``: the result store, ``reportgen list``
and the run cache never take it for a run result.

This module is torch-free (rendering reads it): the file's schema (:class:`TimingFile`), its path, and
:func:`timed_config`, the part of a run's config a timing depends on (a variant whose config differs
from the one timed has a stale timing).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

#: Folder under the results folder that holds one ``<study>.json`` per timed study.
FOLDER = "_timing"
#: Version of the timing file format.
SCHEMA_VERSION = 1

#: The options of ``reportgen time`` (:func:`reportgen.run.timing.time_studies`), as ``argparse`` takes them.
OPTIONS: dict[str, dict[str, Any]] = {
    "names": {"nargs": "*", "metavar": "STUDY", "help": "the study (or studies) to time"},
    "--data-dir": {"help": "MNIST root (default: $REPORTGEN_DATA, else ./data)"},
    "--device": {"default": "cpu", "help": "cpu | cuda | cuda:N (default cpu)"},
    "--threads": {"type": int, "default": 1, "help": "torch CPU threads (default 1)"},
    "--warmup": {"type": int, "default": 3, "help": "untimed training steps per variant first (default 3)"},
    "--repeats": {"type": int, "default": 7, "help": "timed rounds, each timing every variant once in turn (default 7)"},
    "--steps": {"type": int, "help": "training steps per timed repeat (default: calibrated to --repeat-seconds)"},
    "--images": {"type": int, "help": "inference images per timed repeat (default: calibrated)"},
    "--repeat-seconds": {"type": float, "default": 0.5,
                         "help": "what one variant's calibrated repeat aims at, seconds (default 0.5)"},
    "--no-inference": {"action": "store_true", "help": "time training steps only"},
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Spread(_Strict):
    """A timed quantity: the median of ``repeats`` (every repeat, in the order they were taken)."""

    median: float = Field(gt=0)
    repeats: list[float] = Field(min_length=1)


class TrainTiming(_Strict):
    """Training steps (forward, loss, backward, optimizer step at the variant's batch size):
    ``steps`` per timed repeat, ``s_per_step`` in seconds, ``s_per_epoch`` = median s/step × the
    variant's steps per epoch (training steps only: evaluation, probes and checkpoints excluded)."""

    steps: int = Field(ge=1)
    s_per_step: Spread
    s_per_epoch: float = Field(gt=0)


class InferenceTiming(_Strict):
    """Inference in evaluation mode without gradient tracking: ``images`` per timed repeat in batches
    of the file's ``inference_batch``; ``images_per_s`` per repeat."""

    images: int = Field(ge=1)
    images_per_s: Spread


class VariantTiming(_Strict):
    """One variant as timed: its folder name ``variant``, ``label``, the :func:`timed_config` it was
    timed with, ``batch_size``, ``train_images`` (its training split) and ``steps_per_epoch``."""

    variant: str
    label: str
    timed: dict[str, Any]
    batch_size: int = Field(ge=1)
    train_images: int = Field(ge=1)
    steps_per_epoch: int = Field(ge=1)
    train: TrainTiming
    inference: InferenceTiming | None = None


class LoadAverage(_Strict):
    """``os.getloadavg()`` (1, 5 and 15 minutes) just before the first warm-up and after the last repeat."""

    before: list[float] = Field(min_length=3, max_length=3)
    after: list[float] = Field(min_length=3, max_length=3)


class TimingFile(_Strict):
    """``<results>/_timing/<study>.json``: where and how the variants were timed, and each one's times.

    ``threads``: torch CPU threads; ``cpu_capability``: ``torch.backends.cpu.get_cpu_capability()``
    (e.g. ``AVX2``, ``AVX512``); ``device``: ``cpu`` or the GPU's name; ``warmup_steps`` untimed
    training steps (and one untimed inference batch) per variant before the first repeat; ``repeats``
    timed rounds, each timing every variant once in turn (``order``); ``repeat_seconds``: the time one
    variant's repeat aims at when its number of steps or images was chosen by calibration.
    """

    schema_version: int
    study: str
    created: str
    command: str
    torch: str
    python: str
    machine: str
    device: str
    cpu_capability: str
    cpu_count: int | None = None
    threads: int = Field(ge=1)
    load_average: LoadAverage
    warmup_steps: int = Field(ge=0)
    repeats: int = Field(ge=1)
    repeat_seconds: float | None = None
    inference_batch: int = Field(ge=1)
    order: str
    variants: list[VariantTiming] = Field(min_length=1)

    def variant(self, slug: str) -> VariantTiming | None:
        """The timing of the variant with folder name ``slug``, None when it was not timed."""
        return next((v for v in self.variants if v.variant == slug), None)


def timing_path(results: Path, study: str) -> Path:
    """Where the controlled timing of ``study`` lives: ``<results>/_timing/<study>.json``."""
    return Path(results) / FOLDER / f"{study}.json"


def read_timing(path: Path) -> TimingFile:
    """Read and check one timing file.

    Raises:
        OSError: the file cannot be read.
        ValueError: not JSON, an unknown ``schema_version``, or not matching :class:`TimingFile`; the
            message names the file and the first problem.
    """
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}: not JSON ({err})") from None
    version = data.get("schema_version") if isinstance(data, dict) else None
    if version != SCHEMA_VERSION:
        raise ValueError(f"{path}: schema_version {version!r} is not one this reportgen reads ({SCHEMA_VERSION})")
    try:
        return TimingFile.model_validate(data)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(x) for x in first["loc"])
        raise ValueError(f"{path}: does not match the timing schema: {where}: {first['msg']}") from None


@dataclass(frozen=True)
class Controlled:
    """A study's timing file as the pages see it: ``path`` (as given), and either ``timing`` or the
    ``problem`` that makes it unusable (the page names it instead of comparing timings)."""

    path: Path
    timing: TimingFile | None
    problem: str | None = None


def load(results: Path, study: str) -> Controlled | None:
    """The controlled timing of ``study`` under ``results``; None when the study was never timed. A file
    that cannot be read is returned with its ``problem``, never dropped in silence."""
    path = timing_path(results, study)
    if not path.exists():
        return None
    try:
        return Controlled(path, read_timing(path))
    except (OSError, ValueError) as err:
        return Controlled(path, None, str(err))


def timed_config(config: dict[str, Any]) -> dict[str, Any]:
    """The part of a run config (a ``RunConfig`` dump, as a result stores it) that a timing depends on:
    model, optimizer, batch size, augmentation, memory format and the data split; defaults filled in,
    so a stored config and a freshly expanded one compare equal.

    Raises:
        pydantic.ValidationError: ``config`` is not a valid run config.
    """
    from reportgen.spec.config import RunConfig

    c = RunConfig.model_validate(config)
    return {"model": c.model.model_dump(mode="json"), "optim": c.optim.model_dump(mode="json"),
            "batch_size": c.train.batch_size,
            "augment": c.train.augment.model_dump(mode="json") if c.train.augment else None,
            "channels_last": c.train.channels_last,
            "data": {"val_size": c.data.val_size, "train_subset": c.data.train_subset}}
