"""Figures built on true records: achieved GFLOP/s over every attempt's time, the share of peak at a
run's own ISA and thread count and never above 100 %, a fastest-epoch rate never below the average,
a roof per thread count shown, and commit links without ``+dirty``."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from conftest import valid_result
from reportgen.report.pages import efficiency
from reportgen.report.draw import figures
from reportgen.report.pages.performance import bench_machine, render_performance
from reportgen.report.pages.render import ENV, MARKER, write_page
from reportgen.results import store
from reportgen.spec import Study
from reportgen.spec.catalog import Spec, load_spec, spec_paths

ROOT = Path(__file__).resolve().parents[1]
SPEC = Spec("alpha", Path("alpha.py"), Study(title="Alpha", question="q"), "")
#: One run's FLOPs (1,000 per image, 1,000 training images, val 500, test 100) over 2 epochs.
EPOCH_FLOP = 3 * 1000 * 1000 + 1000 * 1500
FLOP = 2 * EPOCH_FLOP + 2 * 1000 * 100


def _machine() -> dict:
    def peak(t: int, mm: float) -> dict:
        return {"threads": t, "peak_gflops_matmul": mm, "peak_gflops_conv": mm / 2, "conv_gflops_default": mm / 4,
                "conv_gflops_channels_last": mm / 2, "step_overhead_ms": 0.5, "matmul_n": 3072,
                "conv_shape": [64, 32, 64, 28, 3], "repeats": 5, "load_avg_1min": 0.5}
    return {"device": "cpu", "device_name": "cpu (x86_64, AVX2)", "cpu_capability": "AVX2", "threads": 2,
            "torch": "2.14.1", "load_avg_1min": 0.5, "peaks": [peak(1, 100.0), peak(2, 160.0)], "levers": []}


def _run(seed: int, attempts: list[tuple[float, int | None, str]], epoch_seconds=(0.01, 0.01), variant="v",
         wall: float | None = None, **config) -> dict:
    """A run with 2 epochs and ``attempts`` as (wall seconds, threads, cpu_capability), the last
    attempt's threads and ISA in its provenance; ``wall`` overrides ``wall_seconds`` (a stale record)."""
    from reportgen.spec import RunConfig

    cfg = RunConfig.model_validate({"data": {"val_size": 500, "train_subset": 1000, "test_subset": 100}, **config})
    atts = [{"wall_seconds": w, "threads": t, "cpu_capability": isa, "epochs": 1} for w, t, isa in attempts]
    r = valid_result(f"k{seed}{variant}", study="alpha", variant=variant, seed=seed, flops=1000,
                     config=cfg.model_dump(mode="json"),
                     wall_seconds=sum(w for w, _, _ in attempts) if wall is None else wall,
                     history=[{"epoch": i + 1, "train_loss": 1.0, "train_acc": 0.5, "train_eval_loss": 1.0,
                               "train_eval_acc": 0.5, "val_loss": 1.0, "val_acc": 0.5, "lr": 1e-3, "seconds": s}
                              for i, s in enumerate(epoch_seconds)])
    _, threads, isa = attempts[-1]
    r["provenance"].update(device=f"cpu (x86_64, {threads} threads)", cpu_capability=isa, threads=threads,
                           git_dirty=False, attempts=atts)
    return r


def _write(results: Path, runs: list[dict]) -> None:
    for r in runs:
        store.write_json(store.result_path(results, r["study"], r["variant"], r["seed"]), r)


def _rows(tmp_path: Path, runs: list[dict]) -> tuple[list[dict], list[dict]]:
    _write(tmp_path / "results", runs)
    return efficiency.efficiency([SPEC], tmp_path / "results", _machine())


def test_achieved_rate_uses_the_summed_attempt_time(tmp_path):
    # a stale wall_seconds (only the last attempt's) must not be what the rate is computed from
    (row,), _ = _rows(tmp_path, [_run(0, [(3.0, 1, "AVX2"), (1.0, 1, "AVX2")], wall=1.0)])
    assert row["minutes"] == pytest.approx(4.0 / 60) and row["gflops"] == pytest.approx(FLOP / 4.0 / 1e9)
    assert row["share"] == pytest.approx(row["gflops"] / 100.0) and not row["assumed"]


def test_the_share_is_against_the_peak_at_the_runs_own_threads_and_isa(tmp_path):
    runs = [_run(0, [(1.0, 2, "AVX2")], variant="two"), _run(0, [(1.0, 4, "AVX2")], variant="four"),
            _run(0, [(1.0, 1, "AVX512")], variant="avx512"), _run(0, [(1.0, 1, "unknown")], variant="unknown"),
            _run(0, [(1.0, None, "unknown"), (1.0, 1, "unknown")], variant="resumed")]
    _, models = _rows(tmp_path, runs)
    by = {m["variant"]: m for m in models}
    assert by["two"]["peak"] == 160.0 and by["two"]["share"] == pytest.approx(by["two"]["gflops"] / 160.0)
    assert by["four"]["share"] is None and by["four"]["no_peak"] == "no peak measured at 4 threads"
    assert by["avx512"]["share"] is None and by["avx512"]["no_peak"] == "no peak measured on AVX512"
    assert by["unknown"]["assumed"] and by["unknown"]["peak"] == 100.0  # ISA not recorded: compared, marked †
    assert by["resumed"]["threads"] is None and by["resumed"]["share"] is None
    assert by["resumed"]["no_peak"] == "threads not recorded for every attempt"


def test_a_rate_above_the_peak_is_flagged_never_shown_as_a_share(tmp_path):
    """A planted run with an absurdly short time: its rate exceeds the peak; the page flags it."""
    absurd = _run(0, [(1e-6, 1, "AVX2")], variant="absurd")
    plain = _run(0, [(1.0, 1, "AVX2")], variant="plain")
    studies, models = _rows(tmp_path, [absurd, plain])
    flagged = next(m for m in models if m["variant"] == "absurd")
    assert flagged["gflops"] > flagged["peak"] and flagged["over_peak"] and flagged["share"] is None
    bench = tmp_path / "latest.json"
    bench.write_text(json.dumps(_machine()))
    render_performance(ENV, MARKER, [SPEC], tmp_path / "results", tmp_path / "docs", bench, write_page)
    page = (tmp_path / "docs" / "performance.md").read_text(encoding="utf-8")
    shares = [float(x) for x in re.findall(r"\| ([\d.]+) %(?: †)? \|", page)]
    assert shares and max(shares) <= 100.0
    assert "⚠ above peak" in page and "cannot have been achieved" in page
    assert page.count("⚠ above peak |") == 2  # its model row and its study's row


def test_the_fastest_epoch_rate_is_never_below_the_average(tmp_path):
    # one epoch whose recorded seconds leave less time per FLOP than the whole job: the fastest
    # epoch's own rate (epoch FLOPs / its seconds) is below the job's average rate
    quick = _run(0, [(0.0102, 1, "AVX2")], epoch_seconds=(0.0100,), variant="quick")
    slow = _run(1, [(5.0, 1, "AVX2")], epoch_seconds=(0.02, 0.03), variant="slow")
    f = efficiency.run_flops(quick)
    assert f["best_epoch_gflops"] < (f["train"] + f["eval"]) / 0.0102 / 1e9
    studies, models = _rows(tmp_path, [quick, slow])
    assert len(models) == 2 and len(studies) == 1
    for row in studies + models:
        assert row["best_epoch_gflops"] >= row["gflops"]


def test_the_committed_records_give_no_share_above_the_peak():
    specs = [load_spec(p) for p in spec_paths(ROOT / "experiments")]
    studies, models = efficiency.efficiency(specs, ROOT / "results", bench_machine(ROOT / "bench" / "latest.json"))
    assert models
    for row in studies + models:
        assert row["share"] is None or row["share"] <= 1.0, row
        assert not row["over_peak"], row
        assert row["best_epoch_gflops"] is None or row["best_epoch_gflops"] >= row["gflops"], row
        # the † mark is the recorded ISA's absence, nothing else
        assert row["assumed"] == (row["isa"] == "unknown" and row["peak"] is not None), row


def test_the_roofline_draws_the_peak_of_every_thread_count_shown(tmp_path, monkeypatch):
    labels: list[str] = []

    def save(fig, path, **_):
        labels.extend(line.get_label() for line in fig.axes[0].lines)
        import matplotlib.pyplot as plt

        plt.close(fig)
        return path

    monkeypatch.setattr(figures, "save", save)
    one, two = _run(0, [(1.0, 1, "AVX2")], variant="one"), _run(0, [(1.0, 2, "AVX2")], variant="two")
    _, models = _rows(tmp_path, [one, two])
    efficiency.roofline(models, _machine(), tmp_path / "roof.png")
    assert any("matmul peak, 1 thread (100)" in x for x in labels)
    assert any("matmul peak, 2 threads (160)" in x for x in labels)
    assert [p["threads"] for p in efficiency.roof_peaks(models[:1], _machine())] == [models[0]["threads"]]


def test_commit_links_never_carry_dirty_and_a_dirty_run_says_so(tmp_path):
    from reportgen.report.pages import variantpages
    from reportgen.results.chain import collect

    sr = collect(load_spec(ROOT / "experiments" / "dropout_ablation.py"), ROOT / "results")
    dirty = sum(bool(r["provenance"]["git_dirty"]) for r in sr.runs)
    assert 0 < dirty < len(sr.runs)  # the study has both
    clean = next(v for v in sr.variants if v.runs and not v.runs[0]["provenance"]["git_dirty"])
    old = clean.runs[0]  # an unmigrated record ('<sha>+dirty') is linked plainly too, and said dirty
    suffixed = {**old["provenance"], "git_commit": old["provenance"]["git_commit"] + "+dirty"}
    clean.runs[0] = {**old, "provenance": suffixed}
    written: dict[Path, str] = {}
    variantpages.write(sr, tmp_path, ENV, MARKER, lambda p, t: written.setdefault(p, t) is not None)
    page = written[tmp_path / "studies" / sr.name / "variants.md"]
    links = re.findall(r"\(repo:commit/([^)]*)\)", page)
    assert links and all(re.fullmatch(r"[0-9a-f]{40}", x) for x in links)
    rows = [ln for ln in page.splitlines() if "repo:commit/" in ln]
    assert sum("(uncommitted changes)" in ln for ln in rows) == dirty + 1


def test_a_new_run_records_isa_threads_and_each_attempts_end():
    torch = pytest.importorskip("torch")
    from reportgen.run import provenance

    prov = provenance.provenance(torch.device("cpu"))
    assert prov["cpu_capability"] == torch.backends.cpu.get_cpu_capability() != "unknown"
    assert prov["threads"] == torch.get_num_threads() and "+dirty" not in prov["git_commit"]
    a = provenance.attempt(prov, prov["created"], 1.5, 2)
    assert a["ended"] >= a["started"] and a["cpu_capability"] == prov["cpu_capability"]
    assert a["threads"] == prov["threads"] and a["epochs"] == 2
