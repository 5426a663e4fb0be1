"""The generated Performance page: benchmark table against the targets, and the suite's cost."""
from __future__ import annotations

import json
from pathlib import Path

from conftest import valid_result
from reportgen.results import store
from reportgen.spec.catalog import Spec
from reportgen.report.pages.performance import render_performance, suite_cost
from reportgen.report.pages.render import ENV, MARKER, write_page
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
    augmented = {**RECORD, "workload": "budget_model3", "speedup": 1.7, "acc_agree": False, "augmented": True}
    bench.write_text(json.dumps([RECORD, slow, augmented]))
    render_performance(ENV, MARKER, [spec], results, docs, bench, write_page)
    page = (docs / "performance.md").read_text(encoding="utf-8")
    assert "| mlp | cpu, 1 thread |" in page and "11.8×" in page and "≥ 10× :material-check-circle:{ .status-ok }" in page
    assert "≥ 3× :material-close-circle:{ .status-bad }" in page  # the CNN misses its target, and the page says so
    rows = {line.split(" | ")[0]: line for line in page.splitlines() if line.startswith("| ")}
    assert rows["| examples_cnn"].count(":material-close-circle:") == 2  # misses its target; accuracies differ
    assert "not comparable¹" in rows["| budget_model3"] and "draws its own random transforms" in page
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


def _machine(threads: int = 2, isa: str = "AVX2") -> dict:
    def peak(t: int, mm: float) -> dict:
        return {"threads": t, "peak_gflops_matmul": mm, "peak_gflops_conv": mm / 2, "conv_gflops_default": mm / 4,
                "conv_gflops_channels_last": mm / 2, "step_overhead_ms": 0.5, "matmul_n": 3072,
                "conv_shape": [64, 32, 64, 28, 3], "repeats": 5, "load_avg_1min": 0.5}
    return {"device": "cpu", "device_name": f"cpu (x86_64, {isa})", "cpu_capability": isa, "threads": threads,
            "torch": "2.14.1", "load_avg_1min": 0.5, "peaks": [peak(1, 100.0), peak(2, 160.0)],
            "levers": [{"name": "channels_last", "workload": "cnn step", "baseline_ms": 24.0, "lever_ms": 16.0,
                        "ratio": 1.5, "identical": False, "kept": True, "note": "opt-in: train.channels_last"}]}


def _trained(seed: int, device: str, wall: float, epoch_seconds: list[float], **config) -> dict:
    """A result with a history, 1,000 forward FLOPs per image, 1,000 training images (val 500, test 100)."""
    from reportgen.spec import RunConfig

    cfg = RunConfig.model_validate({"data": {"val_size": 500, "train_subset": 1000, "test_subset": 100}, **config})
    r = valid_result(f"k{seed}{device}", study="alpha", variant="default", seed=seed, wall_seconds=wall, flops=1000,
                     config=cfg.model_dump(mode="json"),
                     history=[{"epoch": i + 1, "train_loss": 1.0, "train_acc": 0.5, "train_eval_loss": 1.0,
                              "train_eval_acc": 0.5, "val_loss": 1.0, "val_acc": 0.5,
                              "lr": 1e-3, "seconds": s} for i, s in enumerate(epoch_seconds)])
    r["provenance"]["device"] = device
    return r


def test_flops_and_share_of_peak_at_equal_device_and_threads(tmp_path: Path):
    from reportgen.report.pages import efficiency

    results = tmp_path / "results"
    runs = [(0, "cpu (x86_64, AVX2, 1 threads)"), (1, "cpu (x86_64, 1 threads)"), (2, "cpu (x86_64, AVX512, 1 threads)")]
    for seed, device in runs:
        store.write_json(store.result_path(results, "alpha", "default", seed), _trained(seed, device, 1e-3, [2e-4, 1e-4]))
    spec = Spec("alpha", tmp_path / "alpha.py", Study(title="Alpha", question="q"), "")
    studies, models = efficiency.efficiency([spec], results, _machine())
    # 2 epochs: training 3 × 1,000 FLOPs × 1,000 images × 2, evaluation (1,000 + 500) × 2 + 2 × 100 images
    flop = 3 * 1000 * 1000 * 2 + 1000 * (1500 * 2 + 200)
    by = {(r["device"]): r for r in studies}
    assert set(by) == {"cpu, AVX2", "cpu", "cpu, AVX512"} and len(models) == 3
    avx2 = by["cpu, AVX2"]
    assert avx2["runs"] == 1 and avx2["threads"] == 1 and abs(avx2["tflop"] - flop / 1e12) < 1e-15
    assert abs(avx2["gflops"] - flop / 1e-3 / 1e9) < 1e-6 and avx2["peak"] == 100.0  # max(matmul, conv) at 1 thread
    assert abs(avx2["share"] - avx2["gflops"] / 100.0) < 1e-12 and not avx2["assumed"]
    assert abs(avx2["best_epoch_gflops"] - (3 * 1000 * 1000 + 1500 * 1000) / 1e-4 / 1e9) < 1e-6
    assert by["cpu"]["assumed"] and by["cpu"]["share"] is not None  # ISA not recorded: compared, and marked
    assert by["cpu, AVX512"]["peak"] is None and by["cpu, AVX512"]["share"] is None  # another ISA: no share


def test_device_strings_parse():
    from reportgen.report.pages.efficiency import parse_device

    assert parse_device("cpu (x86_64, AVX2, 2 threads)") == ("cpu", "AVX2", 2)
    assert parse_device("cpu (x86_64, 1 threads)") == ("cpu", None, 1)
    assert parse_device("NVIDIA H200") == ("NVIDIA H200", None, None)


def test_page_shows_peak_levers_and_share(tmp_path: Path):
    results, docs = tmp_path / "results", tmp_path / "docs"
    store.write_json(store.result_path(results, "alpha", "default", 0),
                     _trained(0, "cpu (x86_64, AVX2, 2 threads)", 0.01, [0.004, 0.004]))
    spec = Spec("alpha", tmp_path / "alpha.py", Study(title="Alpha", question="q"), "")
    bench = tmp_path / "latest.json"
    bench.write_text(json.dumps({**_machine(), "workloads": [RECORD]}))
    render_performance(ENV, MARKER, [spec], results, docs, bench, write_page)
    page = (docs / "performance.md").read_text(encoding="utf-8")
    assert "| 2 | 160 | 40 | 80 | 0.50 |" in page  # the peak table: threads, matmul, conv default / channels_last
    assert "| `channels_last` | cnn step | 24.00 | 16.00 | 1.50× | no | yes |" in page
    gflops = (3 * 1000 * 1000 * 2 + 1000 * (1500 * 2 + 200)) / 0.01 / 1e9
    assert f"| {gflops:.1f} |" in page and f"{100 * gflops / 160:.1f} %" in page
    assert "| mlp | cpu, 1 thread |" in page  # the workload table still reads the records
    assert (docs / "assets" / "performance" / "roofline.png").is_file()


def test_a_benchmark_from_before_the_peak_still_renders(tmp_path: Path):
    from reportgen.report.pages.performance import bench_machine

    bench = tmp_path / "latest.json"
    bench.write_text(json.dumps([RECORD]))
    assert bench_machine(bench) == {"workloads": [RECORD], "peaks": [], "levers": []}
    render_performance(ENV, MARKER, [], tmp_path / "r", tmp_path / "d", bench, write_page)
    assert "No peak has been measured yet" in (tmp_path / "d" / "performance.md").read_text(encoding="utf-8")
