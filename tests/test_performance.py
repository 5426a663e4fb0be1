"""The generated Performance page: benchmark table against the targets, and the suite's cost."""
from __future__ import annotations

import json
from pathlib import Path

from conftest import valid_result
from reportgen.results import store
from reportgen.spec.catalog import Spec
from reportgen.report.performance import render_performance, suite_cost
from reportgen.report.render import ENV, MARKER, write_page
from reportgen.spec import Study

RECORD = {"workload": "mlp", "device": "cpu", "mode": "quick", "images": 10000, "epochs": 1, "threads": 1,
          "baseline_s_per_epoch": 4.7, "ours_s_per_epoch": 0.4, "speedup": 11.75, "baseline_acc": 0.9229,
          "ours_acc": 0.9229, "acc_agree": True, "peak_mem_mb": 224.0, "baseline_peak_mem_mb": 90.0,
          "torch": "2.14.1", "load_avg_1min": 1.0}


def test_page_shows_each_workload_against_its_target_and_the_suite_cost(tmp_path: Path):
    results, docs = tmp_path / "results", tmp_path / "docs"
    spec = Spec("alpha", tmp_path / "alpha.py", Study(title="Alpha", question="q"), "")
    for seed, wall in ((0, 60.0), (1, 120.0)):
        store.write_json(store.result_path(results, "alpha", "default", seed),
                         valid_result(f"k{seed}", study="alpha", variant="default", seed=seed, wall_seconds=wall))
    bench = tmp_path / "latest.json"
    slow = {**RECORD, "workload": "examples_cnn", "speedup": 1.3, "acc_agree": False}
    bench.write_text(json.dumps([RECORD, slow]))
    render_performance(ENV, MARKER, [spec], results, docs, bench, write_page)
    page = (docs / "performance.md").read_text(encoding="utf-8")
    assert "| mlp | cpu, 1 thread |" in page and "11.8×" in page and "≥ 10× :material-check-circle:{ .status-ok }" in page
    assert "≥ 3× :material-close-circle:{ .status-bad }" in page  # the CNN misses its target, and the page says so
    assert "| [Alpha](studies/alpha.md) | 2 / 3 :material-timer-sand:{ .status-neutral } | 3.0 | cpu |" in page  # seed 2 not run yet
    assert (docs / "assets" / "performance" / "bench.png").is_file()


def test_without_a_benchmark_the_page_says_how_to_make_one(tmp_path: Path):
    render_performance(ENV, MARKER, [], tmp_path / "r", tmp_path / "d", tmp_path / "missing.json", write_page)
    assert "invoke bench" in (tmp_path / "d" / "performance.md").read_text(encoding="utf-8")


def test_reused_runs_count_once(tmp_path: Path):
    results = tmp_path / "results"
    reused = valid_result("k", study="beta", wall_seconds=600.0)
    reused["provenance"]["reused_from"] = "results/alpha/default/seed0.json"
    store.write_json(store.result_path(results, "beta", "v", 0), reused)
    spec = Spec("beta", tmp_path / "beta.py", Study(title="Beta", question="q"), "")
    (row,) = suite_cost([spec], results)
    assert row["runs"] == 1 and row["minutes"] == 0 and row["devices"] == "(reused)"
    assert row["declared"] == 3 and suite_cost([spec], results, smoke=True)[0]["declared"] == 1  # seeds 0, 1, 2
