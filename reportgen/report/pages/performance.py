"""The generated Performance page: the last ``invoke bench`` (``bench/latest.json``) against the
canonical DataLoader loop, the machine's measured peak and CPU levers, each study's and model's
achieved GFLOP/s against that peak (:mod:`reportgen.report.pages.efficiency`), and the cost of every study
in the suite from its recorded runs (wall time, device). Torch-free: it reads JSON only."""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from reportgen.report.pages import efficiency
from reportgen.report.draw import figures
from reportgen.results import store

#: Issue 8's targets: speedup per epoch over the canonical loop on 2 CPU cores.
CPU_TARGETS = {"mlp": 10.0, "mlp_fused": 10.0, "examples_cnn": 3.0, "budget_model3": 3.0}


def bench_machine(path: Path) -> dict[str, Any]:
    """The benchmark as ``{..., "peaks": [...], "levers": [...], "workloads": [...]}`` (see
    ``bench.runner.write_json``); a file from before the peak was measured (a bare list of workload
    records) gives ``{"workloads": that list, "peaks": [], "levers": []}``, an absent or unreadable
    one empty lists."""
    empty: dict[str, Any] = {"workloads": [], "peaks": [], "levers": []}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return empty
    return {**empty, "workloads": data} if isinstance(data, list) else {**empty, **data}


def bench_rows(path: Path) -> list[dict[str, Any]]:
    """The benchmark's workload records, or [] when the file is absent or unreadable."""
    return bench_machine(path)["workloads"]


def suite_cost(specs: list, results: Path, smoke: bool = False) -> list[dict[str, Any]]:
    """Per study: runs with a result and runs declared (variants × seeds), their summed wall time
    (min; each run's attempts summed, :func:`reportgen.report.pages.efficiency.run_seconds`), the devices
    they ran on (the device string without the thread count), the highest recorded ``peak_mem_mb``
    (results written before it was recorded have none) and how many runs trained in a pack. ``smoke``: one seed declared per variant, as ``--smoke`` runs."""
    from reportgen.spec.expand import variants

    rows = []
    for spec in specs:
        runs = [r for _, r in store.iter_results(results, spec.name) if r.get("status") in store.FINAL]
        declared = len(variants(spec.study)) * (1 if smoke else len(spec.study.sweep.seeds))
        if not runs:
            rows.append({"study": spec.name, "title": spec.study.title, "runs": 0, "declared": declared,
                         "minutes": None, "devices": "—", "peak_mb": None, "peak_runs": 0, "packed": 0})
            continue
        own = [r for r in runs if not r.get("provenance", {}).get("reused_from")]
        devices = sorted({re.sub(r",? \d+ threads?", "", r["provenance"]["device"]) for r in own}) or ["(reused)"]
        peaks = [r["peak_mem_mb"] for r in own if r.get("peak_mem_mb")]
        packed = sum(1 for r in own if r["provenance"].get("packed_with"))
        rows.append({"study": spec.name, "title": spec.study.title, "runs": len(runs), "declared": declared,
                     "minutes": sum(efficiency.run_seconds(r) for r in own) / 60, "devices": "; ".join(devices),
                     "peak_mb": max(peaks) if peaks else None, "peak_runs": len(peaks), "packed": packed})
    return rows


def render_performance(env, marker: str, specs: list, results: Path, docs: Path, bench_json: Path, write,
                       smoke: bool = False) -> None:
    """Write ``docs/performance.md`` (and its figure when there is a benchmark)."""
    machine = bench_machine(bench_json)
    rows = machine["workloads"]
    url = None
    if rows:
        path = docs / "assets" / "performance" / "bench.png"
        figures.hbars([f"{r['workload']} ({r['device']}" + (f", {r['threads']} threads)" if r.get("threads") else ")")
                       for r in rows], [r["speedup"] for r in rows], path,
                      "speedup per epoch over the canonical loop (×, training pass only)",
                      "reportgen's runner vs the canonical DataLoader loop",
                      targets=[CPU_TARGETS.get(r["workload"]) if r["device"] == "cpu" else None for r in rows])
        url = "assets/performance/bench.png"
    cost = suite_cost(specs, results, smoke)
    total = sum(c["minutes"] or 0 for c in cost)
    studies, models = efficiency.efficiency(specs, results, machine)
    roofline = None
    if models:
        efficiency.roofline(models, machine, docs / "assets" / "performance" / "roofline.png")
        roofline = "assets/performance/roofline.png"
        efficiency.roofline_chart(models, machine, docs / "assets" / "performance" / "roofline.vl.json")
    write(docs / "performance.md", env.get_template("performance.md.j2").render(
        marker=marker, rows=rows, url=url, cost=cost, total=total, targets=CPU_TARGETS, machine=machine,
        studies=sorted(studies, key=lambda r: r["gflops"]), models=sorted(models, key=lambda r: (r["study"], r["variant"])),
        roofline=roofline, titles={s.name: s.study.title for s in specs}))
