"""How far the recorded runs are from the machine's measured peak. Torch-free: it reads JSON only.

A run's FLOPs (:func:`run_flops`) come from its result: ``flops`` (forward FLOPs per image, counted
as :mod:`reportgen.run.modelinfo` counts them: convolutions and matrix products only), the training
images of its data config and the epochs it trained. Training counts 3 × forward per image (forward,
and a backward of about twice the forward); evaluation counts one forward per image of each epoch's
5,000 training-evaluation and validation images and of the two final test passes. Probes, the
inference-throughput timing and elementwise work (activations, normalisation, pooling, optimizer) are
not counted, so the achieved rate is a lower bound of the work done. A run's time
(:func:`run_seconds`) is the sum of its attempts' wall times (a whole job each: set-up, training,
evaluation, measuring the model).

Runs are compared with the peak only at their own ISA and thread count (:func:`run_host`: the
``cpu_capability`` and ``threads`` every attempt recorded): the peak is measured by ``invoke bench``
(``bench/latest.json``) per thread count on that machine's vector ISA. A run on another ISA, at a
thread count without a measured peak, or with an attempt whose threads were not recorded gets no
share, and the row says why; a run whose ISA was not recorded (``"unknown"``) is compared with the
peak at its thread count and marked ``assumed``. A rate above the peak it is compared with cannot
be right (its time record is wrong): it is flagged, never shown as a share above 100 %.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from reportgen.data.catalog import split_sizes
from reportgen.report.draw import figures
from reportgen.results import store
from reportgen.results.summary import UNKNOWN, parse_device

#: Images evaluated in eval mode each epoch besides validation (``reportgen.run.train.TRAIN_EVAL_IMAGES``).
TRAIN_EVAL_IMAGES = 5000

__all__ = ["parse_device", "run_flops", "run_seconds", "run_host", "peak_for", "efficiency", "roof_peaks", "roofline"]


def run_seconds(r: dict) -> float:
    """A run's wall time, s: the sum of its ``provenance.attempts``' wall times, or ``wall_seconds``
    for a result without attempts (0.0 without either)."""
    attempts = (r.get("provenance") or {}).get("attempts")
    if attempts:
        return sum(a["wall_seconds"] for a in attempts)
    return r.get("wall_seconds") or 0.0


def run_host(r: dict) -> tuple[str, str, int | None]:
    """``(device, isa, threads)`` a run was computed on: ``device`` ``"cpu"`` or the GPU name; ``isa``
    the ``cpu_capability`` its attempts share (``"unknown"`` where one was not recorded or they
    differ; for a GPU, its name); ``threads`` the torch threads its attempts share (None for a GPU,
    or where an attempt's threads were not recorded or they differ). Results without attempts or
    ``cpu_capability`` fall back to the device string."""
    prov = r.get("provenance") or {}
    dev, isa, threads = parse_device(prov.get("device", ""))
    isa = prov.get("cpu_capability") or isa or (UNKNOWN if dev == "cpu" else dev)
    threads = prov.get("threads", threads)
    attempts = prov.get("attempts") or []
    if attempts:
        isas = {a.get("cpu_capability") or UNKNOWN for a in attempts}
        isa = isas.pop() if len(isas) == 1 else UNKNOWN
        counts = {a.get("threads") for a in attempts}
        threads = counts.pop() if len(counts) == 1 else None
    return dev, isa, threads if dev == "cpu" else None


def run_flops(r: dict) -> dict[str, Any] | None:
    """``{"train", "eval"}`` FLOPs of a recorded run, ``step`` (FLOPs of one training step), and its
    fastest epoch's rate ``best_epoch_gflops`` (that epoch's training and evaluation FLOPs over its
    seconds); None for a run without ``flops`` or history (lr range tests)."""
    hist, per_image = r.get("history"), r.get("flops")
    if not hist or not per_image:
        return None
    d, t = r["config"]["data"], r["config"]["train"]
    pool, n_test = split_sizes(d.get("dataset", "mnist"))
    n_fit = pool - d["val_size"]
    n_train = min(d.get("train_subset") or n_fit, n_fit)
    epochs = len(hist)
    train = 3 * per_image * n_train * epochs
    per_epoch_eval = per_image * (min(TRAIN_EVAL_IMAGES, n_train) + d["val_size"])
    evaluation = per_epoch_eval * epochs + 2 * per_image * min(d.get("test_subset") or n_test, n_test)
    fastest = min((h["seconds"] for h in hist if h.get("seconds")), default=None)
    return {"train": train, "eval": evaluation, "step": 3 * per_image * t["batch_size"], "per_image": per_image,
            "best_epoch_gflops": (3 * per_image * n_train + per_epoch_eval) / fastest / 1e9 if fastest else None}


def peak_for(bench: dict, dev: str, isa: str, threads: int | None) -> tuple[dict | None, bool, str | None]:
    """``(peak, assumed, why_none)``: the bench's peak dict (``bench["peaks"]`` entry) measured at
    ``threads`` on the run's ISA; ``assumed`` when the run's ISA is ``"unknown"`` and the bench's is
    taken for it; ``why_none`` says why there is no peak to compare with (else None)."""
    if dev != "cpu":
        return None, False, "no peak measured on this device"
    if not bench.get("peaks"):
        return None, False, "no peak measured"
    if threads is None:
        return None, False, "threads not recorded for every attempt"
    if isa != UNKNOWN and isa != bench.get("cpu_capability"):
        return None, False, f"no peak measured on {isa}"
    peak = next((p for p in bench["peaks"] if p["threads"] == threads), None)
    if peak is None:
        return None, False, f"no peak measured at {threads} thread{'s' if threads != 1 else ''}"
    return peak, isa == UNKNOWN, None


def efficiency(specs: list, results: Path, bench: dict) -> tuple[list[dict], list[dict]]:
    """(per study, per model) rows, one per (study[, variant], device, ISA, threads) over the runs
    trained for that study (reused runs count where they were trained), as :func:`_row` describes;
    model rows add ``kind``, ``batch``, ``flops_per_image`` and ``step_mflop`` (MFLOP of one training step)."""
    groups: dict[tuple, list[tuple[dict, dict]]] = {}
    for spec in specs:
        for _, r in store.iter_results(results, spec.name):
            if r.get("status") not in store.FINAL or r.get("provenance", {}).get("reused_from"):
                continue
            f = run_flops(r)
            if f is None or not run_seconds(r):
                continue
            groups.setdefault((spec.name, r["variant"], *run_host(r)), []).append((r, f))
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


def _row(runs: list[tuple[dict, dict]], bench: dict, dev: str, isa: str, threads: int | None) -> dict:
    """One row: ``runs``; ``tflop`` (training + evaluation); ``minutes`` (summed attempt time);
    ``gflops`` (achieved: FLOPs / that time); ``best_epoch_gflops`` (the same FLOPs over the time
    they take at each run's fastest epoch's pace, never more than the recorded time, so never below
    ``gflops``; None when no run has epoch times); ``peak`` (measured GFLOP/s at the run's threads,
    the faster of matmul and conv, or None) and ``no_peak`` (why there is none); ``share`` (gflops /
    peak, None without a peak or above it); ``over_peak`` (the rate of the row or of one of its
    runs exceeds the peak: that time record cannot be right); ``assumed`` (ISA not recorded:
    compared with the bench's)."""
    flop = sum(f["train"] + f["eval"] for _, f in runs)
    seconds = sum(run_seconds(r) for r, _ in runs)
    fast = [min(run_seconds(r), (f["train"] + f["eval"]) / (f["best_epoch_gflops"] * 1e9))
            if f["best_epoch_gflops"] else run_seconds(r) for r, f in runs]
    peak, assumed, no_peak = peak_for(bench, dev, isa, threads)
    gflops = flop / seconds / 1e9
    best = flop / sum(fast) / 1e9 if any(f["best_epoch_gflops"] for _, f in runs) else None
    share = gflops / _peak(peak) if peak else None
    # one run above the peak is enough: its record cannot be right, and it would inflate the row
    over = peak is not None and any((f["train"] + f["eval"]) / run_seconds(r) / 1e9 > _peak(peak) for r, f in runs)
    return {"device": dev + (f", {isa}" if dev == "cpu" and isa != UNKNOWN else ""), "isa": isa, "threads": threads,
            "runs": len(runs), "tflop": flop / 1e12, "minutes": seconds / 60, "gflops": gflops,
            "best_epoch_gflops": best, "peak": _peak(peak) if peak else None, "no_peak": no_peak,
            "share": None if over else share, "over_peak": over, "assumed": assumed}


def _peak(p: dict) -> float:
    """The machine's measured peak at one thread count: the faster of the matmul and the conv."""
    return max(p["peak_gflops_matmul"], p["peak_gflops_conv"])


def roof_peaks(models: list[dict], bench: dict) -> list[dict]:
    """The bench's peak entries at every thread count among ``models`` (rows of :func:`efficiency`),
    fewest threads first: the roofs the figure draws."""
    shown = {m["threads"] for m in models if m["threads"] is not None}
    return sorted((p for p in bench.get("peaks", []) if p["threads"] in shown), key=lambda p: p["threads"])


def roofline(models: list[dict], bench: dict, path: Path) -> Path:
    """Draw the figure at ``path`` (PNG) and return ``path``: achieved GFLOP/s per model row of
    :func:`efficiency` (recorded: filled; fastest epoch: hollow; the marker names the thread count)
    against the FLOPs of one training step (both log scales), under the measured roofs of every
    thread count shown (:func:`roof_peaks`): the fp32 matmul peak, the conv peak and the per-step
    overhead (a step can go no faster than the measured overhead of a step with almost no FLOPs, so
    the achievable rate is at most step FLOPs / overhead)."""
    import matplotlib.pyplot as plt
    import numpy as np

    fig, ax = plt.subplots(figsize=(9, 5.5))
    kinds = sorted({m["kind"] for m in models})
    thread_counts = sorted({m["threads"] for m in models}, key=lambda t: (t is None, t or 0))
    markers = dict(zip(thread_counts, "o^sDvP*"))
    for i, kind in enumerate(kinds):
        c = figures.series_colour(i)
        for t in thread_counts:
            pts = [m for m in models if m["kind"] == kind and m["threads"] == t]
            if not pts:
                continue
            where = f"{t} thread{'s' if t != 1 else ''}" if t is not None else "threads not recorded"
            ax.scatter([m["step_mflop"] for m in pts], [m["gflops"] for m in pts], color=c, s=22, marker=markers[t],
                       label=f"{kind}, {where}: recorded")
            best = [m for m in pts if m["best_epoch_gflops"]]
            ax.scatter([m["step_mflop"] for m in best], [m["best_epoch_gflops"] for m in best], facecolors="none",
                       edgecolors=c, s=22, marker=markers[t], label=f"{kind}, {where}: fastest epoch")
    xs = np.logspace(np.log10(min(m["step_mflop"] for m in models) / 2),
                     np.log10(max(m["step_mflop"] for m in models) * 2), 100)
    for j, p in enumerate(roof_peaks(models, bench)):
        colour, t = ("black", "dimgrey", "firebrick", "navy")[j % 4], p["threads"]
        where = f"{t} thread{'s' if t != 1 else ''}"
        ax.axhline(p["peak_gflops_matmul"], color=colour, lw=1.2,
                   label=f"measured fp32 matmul peak, {where} ({p['peak_gflops_matmul']:.0f})")
        ax.axhline(p["peak_gflops_conv"], color=colour, ls="--", lw=1.2,
                   label=f"measured 3×3 conv peak, {where} ({p['peak_gflops_conv']:.0f})")
        roof = np.minimum(p["peak_gflops_matmul"], xs * 1e6 / (p["step_overhead_ms"] / 1000) / 1e9)
        ax.plot(xs, roof, ":", color=colour, lw=1.2,
                label=f"per-step overhead roof, {where} ({p['step_overhead_ms']:.2f} ms a step)")
    ax.set(xscale="log", yscale="log", xlabel="FLOPs of one training step (MFLOP: 3 × forward × batch)",
           ylabel="achieved GFLOP/s (counted FLOPs / seconds)",
           title="Recorded runs against the measured limits of this machine")
    ax.legend(fontsize=6.5, loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=3, frameon=False)
    return figures.save(fig, path, phone_layout=False)  # the page shows the interactive chart in its place


def roofline_chart(models: list[dict], bench: dict, path: Path) -> Path:
    """Write the interactive version of :func:`roofline` (a Vega-Lite spec, the same points and roofs) to
    ``path`` and return ``path``."""
    import numpy as np

    from reportgen.report.draw import interactive

    points = [{"study": m["study"], "variant": m["variant"], "model": m["kind"],
               "threads": str(m["threads"]) if m["threads"] is not None else "not recorded",
               "step_mflop": round(m["step_mflop"], 4), "gflops": round(m["gflops"], 3),
               "best_epoch_gflops": round(m["best_epoch_gflops"], 3) if m["best_epoch_gflops"] else None}
              for m in models if m["step_mflop"] > 0 and m["gflops"] > 0]
    roofs, curves = [], []
    xs = np.logspace(np.log10(min(m["step_mflop"] for m in models) / 2),
                     np.log10(max(m["step_mflop"] for m in models) * 2), 40)
    for p in roof_peaks(models, bench):
        where = f"{p['threads']} thread{'s' if p['threads'] != 1 else ''}"
        roofs += [{"roof": f"measured fp32 matmul peak, {where}", "gflops": round(p["peak_gflops_matmul"], 2)},
                  {"roof": f"measured 3×3 conv peak, {where}", "gflops": round(p["peak_gflops_conv"], 2)}]
        roof = np.minimum(p["peak_gflops_matmul"], xs * 1e6 / (p["step_overhead_ms"] / 1000) / 1e9)
        curves += [{"roof": f"per-step overhead roof, {where} ({p['step_overhead_ms']:.2f} ms a step)",
                    "step_mflop": round(float(x), 5), "gflops": round(float(y), 4)} for x, y in zip(xs, roof)]
    return interactive.write(interactive.roofline_spec(points, roofs, curves,
                                                       "Recorded runs against the measured limits of this machine"), path)
