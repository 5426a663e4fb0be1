"""What a page may say about the speed of one variant against another, and where it comes from.

A comparison of seconds per step or epoch, or of inference throughput, between variants is made only
from the study's controlled timing (``reportgen time STUDY``, :mod:`reportgen.results.timing`): every
variant timed in one process, interleaved, at one thread count. The times the runs recorded while they
trained stay on the pages as what they are, each run's cost, labelled as recorded during training
under unknown load; where no controlled timing exists the page says that its timing comparison
compares nothing. Torch-free: this module only reads the timing file's contents that
:func:`reportgen.results.chain.collect` put on the study's results.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

#: How a column of times the runs recorded while training is labelled.
RECORDED = "recorded in training"


@dataclass(frozen=True)
class Measured:
    """A study's controlled timing as the pages use it, per variant folder name (``slug``):
    ``s_step``/``s_epoch`` (median seconds per training step, and × steps per epoch), ``ips`` (median
    inference images per second; absent when not timed); ``stale``: labels of variants whose runs now
    have another config than the one timed (left out); ``untimed``: labels of variants with runs but
    no timing; ``about``: where and how it was measured, as a phrase; ``brief``: the same in a few words."""

    s_step: dict[str, float]
    s_epoch: dict[str, float]
    ips: dict[str, float]
    about: str
    brief: str
    stale: list[str] = field(default_factory=list)
    untimed: list[str] = field(default_factory=list)


def _timed_now(v: Any) -> dict[str, Any] | None:
    """The timed part of the config the variant's runs have (its first run), None without runs."""
    from reportgen.results.timing import timed_config

    return timed_config(v.runs[0]["config"]) if v.runs else None


def measured(sr: Any) -> Measured | None:
    """The controlled timing of the study ``sr`` (a :class:`reportgen.results.summary.StudyResults`),
    None when it has none or its file cannot be read (:func:`absent` says which)."""
    c = getattr(sr, "timing", None)
    if c is None or c.timing is None:
        return None
    t = c.timing
    s_step, s_epoch, ips, stale, untimed = {}, {}, {}, [], []
    for v in sr.variants:
        got = t.variant(v.slug)
        if got is None:
            if v.runs:
                untimed.append(v.label)
            continue
        now = _timed_now(v)
        if now is not None and now != got.timed:
            stale.append(v.label)
            continue
        s_step[v.slug], s_epoch[v.slug] = got.train.s_per_step.median, got.train.s_per_epoch
        if got.inference is not None:
            ips[v.slug] = got.inference.images_per_s.median
    if not s_step:
        return None
    load = t.load_average
    where = "the CPU" if t.device == "cpu" else t.device
    about = (f"`{t.command or 'reportgen time ' + t.study}`, {t.created[:10]}: on {where} ({t.cpu_capability}, "
             f"torch {t.torch.split('+')[0]}) with {t.threads} thread{'s' if t.threads != 1 else ''}, the median of "
             f"{t.repeats} repeats after {t.warmup_steps} warm-up step{'s' if t.warmup_steps != 1 else ''} per variant; "
             f"load average {_load(load.before[0])} before and {_load(load.after[0])} after (1 minute, "
             f"{t.cpu_count or '?'} cores)")
    brief = (f"`reportgen time`, {t.threads} thread{'s' if t.threads != 1 else ''}, {t.cpu_capability}, "
             f"median of {t.repeats} interleaved repeats, load average {_load(load.before[0])} → {_load(load.after[0])}")
    return Measured(s_step, s_epoch, ips, about, brief, stale, untimed)


def _load(x: float) -> str:
    return f"{x:.2f}" if math.isfinite(x) else "unknown"


def absent(sr: Any) -> str:
    """The sentence a page shows where it has no controlled timing to compare variants with (the file
    is missing, unreadable, or times none of the variants as their runs are now)."""
    c = getattr(sr, "timing", None)
    if sum(1 for v in sr.variants if v.runs) < 2 and not (c is not None and c.problem):
        return ("The seconds per epoch here were recorded during training, under unknown load: what each run "
                "cost (a study of one variant compares no speeds).")
    why = f"The controlled timing file could not be used ({c.problem}); " if c is not None and c.problem else \
        "No controlled timing of this study exists; " if c is None else \
        "The controlled timing times none of this study's variants as their runs are configured now; "
    return (why + f"`reportgen time {sr.name}` measures one. The seconds per epoch here were recorded during "
            "training, under unknown load: they are what each run cost, and compared between variants they "
            "compare nothing.")


def note(m: Measured | None, sr: Any, inference: bool = False) -> str:
    """The paragraph under a table that shows timings: how the controlled column was measured and what
    the recorded one is, or :func:`absent`. ``inference``: the table shows inference throughput too."""
    if m is None:
        text = absent(sr)
        return text + (" The same holds for the recorded inference throughput." if inference else "")
    text = (f"**Controlled timing** ({m.about}): each variant's training steps (forward, loss, backward and "
            "optimizer step at its batch size, the model and optimizer built as its runs build them) were timed "
            "in one process, interleaved round-robin with the other variants'; s / epoch = median s / step × "
            "steps per epoch, training steps only (the per-epoch evaluation and probes are not in it). "
            + ("Inference: images per second in evaluation mode without gradient tracking, batches of up to "
               "1,000 test images, timed the same way. " if inference and m.ips else "")
            + "Speed comparisons between variants rest on these columns; the ones marked "
            f"*{RECORDED}* are what each run measured while it trained, under unknown load: the run's cost, "
            "not a comparison.")
    if m.stale:
        text += (f" Not shown for {', '.join(m.stale)}: timed with another configuration than its runs now have "
                 f"(`reportgen time {sr.name}` again).")
    if m.untimed:
        text += f" Not timed: {', '.join(m.untimed)}."
    return text


def seconds(x: float | None) -> str:
    """Seconds with three significant digits (``4.06``, ``0.554``, ``612``); an em dash for None."""
    if x is None or not math.isfinite(x):
        return "—"
    return f"{x:.3g}" if x < 1000 else f"{x:,.0f}"


def millis(x: float | None) -> str:
    """Seconds as milliseconds below one second, three significant digits (``0.59 ms``, ``437 ms``,
    ``1.12 s``); an em dash for None."""
    if x is None or not math.isfinite(x):
        return "—"
    return f"{1000 * x:.3g} ms" if x < 1 else f"{seconds(x)} s"


def rate(x: float | None) -> str:
    """Images per second with thousands separators; an em dash for None."""
    return "—" if x is None or not math.isfinite(x) else f"{x:,.0f}"


def cells(m: Measured | None, slug: str) -> dict[str, str]:
    """A variant's controlled cells: ``s_step`` (ms), ``s_epoch`` (s), ``ips`` (images/s); em dashes
    where it has none."""
    if m is None:
        return {"s_step": "—", "s_epoch": "—", "ips": "—"}
    return {"s_step": millis(m.s_step.get(slug)), "s_epoch": seconds(m.s_epoch.get(slug)),
            "ips": rate(m.ips.get(slug))}
