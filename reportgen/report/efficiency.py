"""How far the recorded runs are from the machine's measured peak. Torch-free: it reads JSON only.

A run's FLOPs (:func:`run_flops`) come from its result: ``flops`` (forward FLOPs per image, counted
as :mod:`reportgen.run.modelinfo` counts them: convolutions and matrix products only), the training
images of its data config and the epochs it trained. Training counts 3 × forward per image (forward,
and a backward of about twice the forward); evaluation counts one forward per image of each epoch's
5,000 training-evaluation and validation images and of the two final test passes. Probes, the
inference-throughput timing and elementwise work (activations, normalisation, pooling, optimizer) are
not counted, so the achieved rate is a lower bound of the work done. The recorded time is
``wall_seconds`` (a whole job: set-up, training, evaluation, measuring the model).

Runs are compared with the peak only at equal device and threads: the peak is measured by
``invoke bench`` (``bench/latest.json``) at one thread and at the bench's thread count, on that
machine's vector ISA; a run recorded on another ISA gets no share, and a run whose device string
predates the ISA being recorded is compared with the peak of the same thread count (marked).
"""
from __future__ import annotations

import re
import statistics
from pathlib import Path
from typing import Any

from reportgen.report import figures
from reportgen.results import store

#: Images evaluated in eval mode each epoch besides validation (``reportgen.run.train.TRAIN_EVAL_IMAGES``).
TRAIN_EVAL_IMAGES = 5000
TRAIN_IMAGES = 60000
TEST_IMAGES = 10000


def parse_device(device: str) -> tuple[str, str | None, int | None]:
    """``"cpu (x86_64, AVX2, 2 threads)"`` → ``("cpu", "AVX2", 2)``; the ISA is None where the string
    has none (results recorded before it was), threads None for a GPU."""
    m = re.match(r"cpu \((?P<inner>.*)\)$", device)
    if not m:
        return device, None, None
    parts = [p.strip() for p in m["inner"].split(",")]
    threads = next((int(p.split()[0]) for p in parts if re.fullmatch(r"\d+ threads?", p)), None)
    isa = next((p for p in parts[1:] if not re.fullmatch(r"\d+ threads?", p)), None)
    return "cpu", isa, threads


def run_flops(r: dict) -> dict[str, Any] | None:
    """``{"train", "eval"}`` FLOPs of a recorded run, ``step`` (FLOPs of one training step), and its
    fastest epoch's rate ``best_epoch_gflops`` (that epoch's training and evaluation FLOPs over its
    seconds); None for a run without ``flops`` or history (lr range tests)."""
    hist, per_image = r.get("history"), r.get("flops")
    if not hist or not per_image:
        return None
    d, t = r["config"]["data"], r["config"]["train"]
    n_fit = TRAIN_IMAGES - d["val_size"]
    n_train = min(d.get("train_subset") or n_fit, n_fit)
    epochs = len(hist)
    train = 3 * per_image * n_train * epochs
    per_epoch_eval = per_image * (min(TRAIN_EVAL_IMAGES, n_train) + d["val_size"])
    evaluation = per_epoch_eval * epochs + 2 * per_image * (d.get("test_subset") or TEST_IMAGES)
    fastest = min((h["seconds"] for h in hist if h.get("seconds")), default=None)
    return {"train": train, "eval": evaluation, "step": 3 * per_image * t["batch_size"], "per_image": per_image,
            "best_epoch_gflops": (3 * per_image * n_train + per_epoch_eval) / fastest / 1e9 if fastest else None}


def peak_for(bench: dict, isa: str | None, threads: int | None) -> tuple[dict | None, bool]:
    """(the bench's peak dict at ``threads`` on the same ISA, whether the ISA was assumed)."""
    if threads is None or not bench.get("peaks") or (isa is not None and isa != bench.get("cpu_capability")):
        return None, False
    peak = next((p for p in bench["peaks"] if p["threads"] == threads), None)
    return peak, peak is not None and isa is None


def efficiency(specs: list, results: Path, bench: dict) -> tuple[list[dict], list[dict]]:
    """(per study, per model) rows, one per (study[, variant], device, threads) over the runs trained
    for that study (reused runs count where they were trained): ``runs``, ``tflop`` (training +
    evaluation), ``minutes`` (recorded), ``gflops`` (achieved: FLOPs / recorded seconds),
    ``best_epoch_gflops`` (median over runs of the fastest epoch's rate), ``peak`` (measured GFLOP/s at
    those threads, the faster of matmul and conv, or None), ``share`` (gflops / peak), ``assumed`` (ISA not recorded)."""
    groups: dict[tuple, list[tuple[dict, dict]]] = {}
    for spec in specs:
        for _, r in store.iter_results(results, spec.name):
            if r.get("status") not in store.FINAL or r.get("provenance", {}).get("reused_from"):
                continue
            f = run_flops(r)
            if f is None or not r.get("wall_seconds"):
                continue
            dev, isa, threads = parse_device(r["provenance"]["device"])
            groups.setdefault((spec.name, r["variant"], dev, isa, threads), []).append((r, f))
    by_study: dict[tuple, list[tuple[dict, dict]]] = {}
    models = []
    for (study, variant, dev, isa, threads), runs in groups.items():
        by_study.setdefault((study, dev, isa, threads), []).extend(runs)
        row = _row(runs, bench, dev, isa, threads)
        r0, f0 = runs[0]
        models.append({"study": study, "variant": variant, **row, "kind": r0["config"]["model"]["kind"],
                       "batch": r0["config"]["train"]["batch_size"], "flops_per_image": f0["per_image"],
                       "step_mflop": f0["step"] / 1e6})
    studies = [{"study": s, **_row(runs, bench, dev, isa, threads)} for (s, dev, isa, threads), runs in by_study.items()]
    return studies, models


def _row(runs: list[tuple[dict, dict]], bench: dict, dev: str, isa: str | None, threads: int | None) -> dict:
    flop = sum(f["train"] + f["eval"] for _, f in runs)
    seconds = sum(r["wall_seconds"] for r, _ in runs)
    best = [f["best_epoch_gflops"] for _, f in runs if f["best_epoch_gflops"]]
    peak, assumed = peak_for(bench, isa, threads)
    gflops = flop / seconds / 1e9
    return {"device": dev + (f", {isa}" if isa else ""), "threads": threads, "runs": len(runs), "tflop": flop / 1e12,
            "minutes": seconds / 60, "gflops": gflops, "best_epoch_gflops": statistics.median(best) if best else None,
            "peak": _peak(peak) if peak else None, "share": gflops / _peak(peak) if peak else None, "assumed": assumed}


def _peak(p: dict) -> float:
    """The machine's measured peak at one thread count: the faster of the matmul and the conv."""
    return max(p["peak_gflops_matmul"], p["peak_gflops_conv"])


def roofline(models: list[dict], bench: dict, path: Path) -> Path:
    """Achieved GFLOP/s per model (recorded: filled; fastest epoch: hollow) against the FLOPs of one
    training step (both log scales), under the measured roofs at one thread: the fp32 matmul peak,
    the conv peak and the per-step overhead (a step can go no faster than the measured overhead of
    a step with almost no FLOPs, so the achievable rate is at most step FLOPs / overhead)."""
    import matplotlib.pyplot as plt
    import numpy as np

    fig, ax = plt.subplots(figsize=(8, 5))
    kinds = sorted({m["kind"] for m in models})
    for i, kind in enumerate(kinds):
        pts = [m for m in models if m["kind"] == kind]
        c = figures.PALETTE[i % 10]
        ax.scatter([m["step_mflop"] for m in pts], [m["gflops"] for m in pts], color=c, s=22, label=f"{kind}: recorded")
        best = [m for m in pts if m["best_epoch_gflops"]]
        ax.scatter([m["step_mflop"] for m in best], [m["best_epoch_gflops"] for m in best], facecolors="none",
                   edgecolors=c, s=22, label=f"{kind}: fastest epoch")
    one = next((p for p in bench.get("peaks", []) if p["threads"] == 1), None)
    if one:
        xs = np.logspace(np.log10(min(m["step_mflop"] for m in models) / 2), np.log10(max(m["step_mflop"]
                                                                                          for m in models) * 2), 100)
        ax.axhline(one["peak_gflops_matmul"], color="black", lw=1.2,
                   label=f"measured fp32 matmul peak, 1 thread ({one['peak_gflops_matmul']:.0f})")
        ax.axhline(one["peak_gflops_conv"], color="grey", ls="--", lw=1.2,
                   label=f"measured 3×3 conv peak, 1 thread ({one['peak_gflops_conv']:.0f})")
        roof = np.minimum(one["peak_gflops_matmul"], xs * 1e6 / (one["step_overhead_ms"] / 1000) / 1e9)
        ax.plot(xs, roof, ":", color="black", lw=1.2,
                label=f"per-step overhead roof ({one['step_overhead_ms']:.2f} ms a step)")
    ax.set(xscale="log", yscale="log", xlabel="FLOPs of one training step (MFLOP: 3 × forward × batch)",
           ylabel="achieved GFLOP/s (counted FLOPs / seconds)",
           title="Recorded runs against the measured limits of this machine")
    ax.legend(fontsize=7, loc="lower right")
    return figures.save(fig, path)
