"""The execute stage's multi-run lever (issue 8): runs that can train together (:func:`reportgen.run.multirun.pack_key`)
are grouped into packs sized by device memory, and a pack trains in one vmapped step per batch
(:func:`reportgen.run.multirun.train_packed`), each run's result stored as if it had trained alone.

Why only on CUDA by default: a small model on a GPU is bound by kernel launches, so K runs cost about
the launches of one; on a CPU the arithmetic grows with K and packing measured no faster
(``bench/multirun_timing.py``), so ``--pack`` defaults to 1 there. A packed run's numbers equal the
run trained alone up to float summation order on the CPU, and agree in distribution on CUDA
(see :mod:`reportgen.run.multirun`); its key is the same, so a cached result is reused either way.
"""
from __future__ import annotations

import dataclasses
import time
from typing import Any

from reportgen.run.jobs import Job, failure, finish_run, worker_setup
from reportgen.run.provenance import attempt, now
from reportgen.run.peakmem import Peak
from reportgen.spec.config import RunConfig

#: Runs per pack on CUDA when memory allows (issue 8's K = 8 target).
CUDA_PACK = 8
#: Share of the free GPU memory a pack may plan to use (the rest: allocator slack, evaluation batches).
MEMORY_SHARE = 0.5


def run_bytes(config: RunConfig) -> int:
    """Rough training memory of one run, bytes: fp32 weights, gradients and two Adam moments (4 copies
    of the parameters), plus forward activations kept for the backward pass, twice over (their
    gradients), for one batch. Counted on a meta-device model (no memory, no compute)."""
    import torch

    from reportgen.run.models import build, input_of

    shape, classes = input_of(config)
    with torch.device("meta"):
        model = build(config.model.model_dump(), shape, classes)
        params = sum(p.numel() for p in model.parameters())
        acts = []
        hooks = [m.register_forward_hook(lambda _m, _i, out: acts.append(out.numel()))
                 for m in model.modules() if not list(m.children())]
        model(torch.empty(1, *shape))
        for h in hooks:
            h.remove()
    return 4 * (4 * params + 2 * sum(acts) * config.train.batch_size)


def pack_size(pack: int | None, device: str, config: RunConfig | None = None) -> int:
    """How many runs may share a pack: ``pack`` when given; else 1 on the CPU, and on CUDA
    ``CUDA_PACK`` capped by ``MEMORY_SHARE`` of the free memory over :func:`run_bytes`."""
    if pack:
        return pack
    import torch

    if device == "cpu" or not torch.cuda.is_available() or config is None:
        return 1
    free, _ = torch.cuda.mem_get_info()
    return max(1, min(CUDA_PACK, int(MEMORY_SHARE * free // max(run_bytes(config), 1))))


def make_packs(jobs: list[Job], pack: int | None, device: str) -> list[Job]:
    """``jobs`` with every group of packable runs (same :func:`~reportgen.run.multirun.pack_key`, in order
    of first appearance) split into pack jobs of at most :func:`pack_size` runs for that group's
    architecture; a run that cannot be packed, or a pack of one, stays as it was."""
    from reportgen.run.multirun import groups

    if pack == 1 or (not pack and device == "cpu"):
        return jobs
    out: list[Job] = []
    for group in groups(jobs, lambda j: j.config, max_runs=len(jobs)):
        limit = pack_size(pack, device, group[0].config)
        for i in range(0, len(group), limit):
            chunk = group[i:i + limit]
            out.append(chunk[0] if len(chunk) == 1 else
                       dataclasses.replace(chunk[0], key=f"pack:{chunk[0].key}", members=tuple(chunk)))
    return out


def run_pack(job: Job, on_epoch=None) -> dict:
    """Train a pack's members together and return ``{"status": "pack", "results": [...]}``, one
    result per member in order (the members' locks are the driver's, :mod:`reportgen.run.execute`).
    An exception fails every member (with the reason). ``wall_seconds`` of each member is its share
    of the pack's; ``provenance.packed_with`` says how many trained together."""
    from reportgen.run.multirun import train_packed

    dev, mnist, prov = worker_setup(job)
    members = job.members
    t0, started = time.perf_counter(), now()
    with Peak(dev) as peak:
        try:
            outs = train_packed([m.config for m in members], [m.seed for m in members],
                                mnist, on_epoch=(lambda i, row: on_epoch(row)) if on_epoch else None)
            outs = [finish_run(m, o.pop("model"), o, mnist.x_test) for m, o in zip(members, outs)]
            outs = [{**o, "class_names": list(mnist.names)} if mnist.names else o for o in outs]
        except Exception as err:  # noqa: BLE001 - one pack's failure must not stop the suite
            outs = [failure(err) for _ in members]
    share = (time.perf_counter() - t0) / len(members)
    results: list[dict[str, Any]] = [
        {**m.header, **o, "wall_seconds": share, "peak_mem_mb": peak.mb,
         "provenance": {**prov, "attempts": [attempt(prov, started, share, len(o["history"]) if "history" in o else None)],
                        "packed_with": len(members)}} for m, o in zip(members, outs)]
    return {"status": "pack", "results": results}
