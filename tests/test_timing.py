"""Controlled timings: ``reportgen time`` measures a study's variants side by side, and the pages compare
speed only from that measurement (saying so), never from the times the runs recorded under unknown load."""
from __future__ import annotations

import inspect
import json
import math
import shutil
from pathlib import Path

import pytest
import torch

from reportgen import cli
from reportgen.report.judge import timings
from reportgen.results import store
from reportgen.results.chain import collect
from reportgen.results.timing import FOLDER, TimingFile, read_timing, timed_config, timing_path
from reportgen.spec import MLP, Data, Study, Sweep, Train
from reportgen.spec.catalog import Spec, load_spec
from reportgen.spec.expand import SpecError

REPO = Path(__file__).resolve().parents[1]


def _tiny_spec(tmp_path: Path) -> Spec:
    study = Study(title="t", question="How fast?", model=MLP(hidden=(16,)), train=Train(batch_size=8),
                  data=Data(val_size=100),
                  sweep=Sweep(variants={"b8": {}, "b32": {"train.batch_size": 32}}, seeds=(0, 1)))
    return Spec("tiny", tmp_path / "tiny.py", study, "")


def test_measure_times_every_variant_and_writes_a_file_the_store_ignores(tmp_path, tiny_mnist):
    from reportgen.run.timing import measure, write

    threads = torch.get_num_threads()
    t = measure(_tiny_spec(tmp_path), tiny_mnist, threads=1, warmup=1, repeats=3, steps=2, images=50,
                inference_batch=25, command="reportgen time tiny")
    assert torch.get_num_threads() == threads  # put back
    assert [v.variant for v in t.variants] == ["b8", "b32"] and t.threads == 1 and t.repeats == 3
    assert t.cpu_capability and t.torch == torch.__version__ and len(t.load_average.before) == 3
    for v, batch in zip(t.variants, (8, 32)):
        assert v.batch_size == batch and v.train_images == 1000 and v.steps_per_epoch == math.ceil(1000 / batch)
        assert v.train.steps == 2 and len(v.train.s_per_step.repeats) == 3
        assert v.train.s_per_step.median == sorted(v.train.s_per_step.repeats)[1] > 0
        assert v.train.s_per_epoch == pytest.approx(v.train.s_per_step.median * v.steps_per_epoch)
        assert v.inference.images == 50 and len(v.inference.images_per_s.repeats) == 3
    path = write(tmp_path / "results", t)
    assert path == tmp_path / "results" / FOLDER / "tiny.json" == timing_path(tmp_path / "results", "tiny")
    assert read_timing(path) == t
    # Not a run result: the store, the cache and `reportgen list` never see it.
    assert list(store.iter_results(tmp_path / "results")) == [] and store.problems(tmp_path / "results") == []


def test_variants_are_timed_round_robin_one_process(tmp_path, tiny_mnist, monkeypatch):
    from reportgen.run import timing

    order: list[str] = []
    train = timing._Variant.train

    def logged(self, steps):
        order.append(self.slug)
        return train(self, steps)

    monkeypatch.setattr(timing._Variant, "train", logged)
    timing.measure(_tiny_spec(tmp_path), tiny_mnist, warmup=0, repeats=4, steps=1, inference=False)
    assert order == ["b8", "b32", "b32", "b8", "b8", "b32", "b32", "b8"]  # steps given: no calibration step


def test_bad_input_is_refused_with_the_reason(tmp_path, tiny_mnist):
    from reportgen.run.timing import measure

    with pytest.raises(ValueError, match="repeats must be positive"):
        measure(_tiny_spec(tmp_path), tiny_mnist, repeats=0)
    explore = Spec("look", tmp_path / "look.py", Study(title="t", question="q", kind="explore", analyses=("data_checks",)), "")
    with pytest.raises(SpecError, match="explore study: it trains nothing"):
        measure(explore, tiny_mnist)
    (tmp_path / "bad.json").write_text('{"schema_version": 1, "study": "x"}')
    with pytest.raises(ValueError, match="bad.json: does not match the timing schema"):
        read_timing(tmp_path / "bad.json")
    assert cli.main(["--results-dir", str(tmp_path), "time", "no_such_study"]) == 2
    assert cli.main(["--results-dir", str(tmp_path), "time"]) == 2
    assert not (tmp_path / FOLDER).exists()


# ---- the pages ------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def batch_results(tmp_path_factory) -> tuple[Spec, Path]:
    """batch_size_noise's committed results in a folder of their own (its timing file is the test's)."""
    results = tmp_path_factory.mktemp("results")
    shutil.copytree(REPO / "results" / "batch_size_noise", results / "batch_size_noise")
    return load_spec(REPO / "experiments" / "batch_size_noise.py"), results


def _plant(results: Path, spec: Spec, per_step: dict[str, float], batch: dict[str, int] | None = None) -> None:
    """A timing file for the study's variants: ``per_step`` seconds per step each (``batch``: a
    variant timed with another batch size than its runs have)."""
    sr = collect(spec, results)
    rows = []
    for v in sr.variants:
        config = json.loads(json.dumps(v.runs[0]["config"]))
        config["train"]["batch_size"] = (batch or {}).get(v.slug, config["train"]["batch_size"])
        steps = math.ceil(55000 / config["train"]["batch_size"])
        rows.append({"variant": v.slug, "label": v.label, "timed": timed_config(config),
                     "batch_size": config["train"]["batch_size"], "train_images": 55000, "steps_per_epoch": steps,
                     "train": {"steps": 10, "s_per_step": {"median": per_step[v.slug], "repeats": [per_step[v.slug]]},
                               "s_per_epoch": per_step[v.slug] * steps},
                     "inference": {"images": 1000, "images_per_s": {"median": 1e5, "repeats": [1e5]}}})
    t = TimingFile.model_validate({
        "schema_version": 1, "study": spec.name, "created": "2026-01-02T00:00:00+00:00",
        "command": f"reportgen time {spec.name}", "torch": "2.0", "python": "3.11", "machine": "x86_64",
        "device": "cpu", "cpu_capability": "AVX2", "cpu_count": 2, "threads": 1,
        "load_average": {"before": [0.25, 0.2, 0.1], "after": [0.5, 0.3, 0.2]}, "warmup_steps": 3, "repeats": 1,
        "repeat_seconds": 0.5, "inference_batch": 1000, "order": "round-robin", "variants": rows})
    store.write_json(timing_path(results, spec.name), t.model_dump(mode="json"))


def _page(spec: Spec, results: Path, tmp_path: Path) -> tuple[str, str, str]:
    """(comparison table, gradient-noise section, gradient-noise headline) as the page renders them."""
    from reportgen.report.analyses import Context
    from reportgen.report.analyses import headlines_internals, internals, standard
    from reportgen.report.pages.render import ENV

    sr = collect(spec, results)
    ctx = Context(sr, tmp_path / "assets", "assets")
    table = ENV.get_template("analyses/comparison_table.md.j2").render(**standard.comparison_table(ctx), sr=sr)
    noise = ENV.get_template("analyses/gradient_noise.md.j2").render(**internals.gradient_noise(ctx), sr=sr)
    said = headlines_internals.gradient_noise(ctx)
    return table, noise, " ".join(said.sentences) + " | " + said.short


def test_a_page_compares_speed_from_the_controlled_timing(batch_results, tmp_path, no_png):
    spec, results = batch_results
    per_step = {"batch-8": 0.0007, "batch-32": 0.0009, "batch-128": 0.0013, "batch-512": 0.0046,
                "batch-8-scaled-lr": 0.000701, "batch-128-scaled-lr": 0.0014, "batch-512-scaled-lr": 0.0045}
    _plant(results, spec, per_step)
    try:
        table, noise, said = _page(spec, results, tmp_path)
    finally:
        timing_path(results, spec.name).unlink()
    assert "s / epoch, controlled (s)" in table and "recorded in training" in table and "**Controlled timing**" in table
    assert "| [batch-8](batch_size_noise/variants.md#batch-8) | 97.36 ± 0.29 | 101,770 | 4.81 | 6.85 (6.81–6.88) |" in table  # 0.0007 s × 6,875 steps
    assert "| 4.82 | 28.4 (13.4–28.5) |" in table  # batch-8-scaled-lr: the same work, the same time
    assert "s / epoch, controlled" in noise and "0.7 ms" in noise and "compare nothing" not in noise
    assert "timed side by side" in said and "batch-8 4.81 s" in said and "batch-8-scaled-lr 4.82 s" in said
    assert "28.4" not in said and "6.85" not in said  # no recorded time is compared
    assert said.endswith("s/epoch 4.82 (batch-8-scaled-lr) → 0.486 (batch-512-scaled-lr), timed side by side")


def test_without_a_controlled_timing_a_page_says_its_timings_compare_nothing(batch_results, tmp_path, no_png):
    spec, results = batch_results
    table, noise, said = _page(spec, results, tmp_path)
    for text in (table, noise, said):
        assert "No controlled timing of this study exists" in text and "compare nothing" in text
    assert "controlled (s)" not in table and "s / epoch, controlled" not in noise
    assert "28.4" not in said and "s/epoch" not in said


def test_a_stale_or_unreadable_timing_is_named_not_used(batch_results, tmp_path, no_png):
    spec, results = batch_results
    _plant(results, spec, dict.fromkeys([v for v in spec.study.sweep.variants], 0.001), batch={"batch-8": 16})
    try:
        table, _, said = _page(spec, results, tmp_path)
        assert "Not shown for batch-8: timed with another configuration" in table
        assert "| [batch-8](batch_size_noise/variants.md#batch-8) | 97.36 ± 0.29 | 101,770 | — |" in table and "batch-8 " not in said.split("side by side")[1]
        timing_path(results, spec.name).write_text("{", encoding="utf-8")
        table, _, said = _page(spec, results, tmp_path)
        assert "The controlled timing file could not be used" in table and "batch_size_noise.json: not JSON" in said
        assert "controlled (s)" not in table
    finally:
        timing_path(results, spec.name).unlink()


def test_the_render_record_keys_a_page_on_its_timing_file(batch_results, tmp_path):
    from reportgen.report.pages import incremental

    spec, results = batch_results
    extra = {"docs": tmp_path} if "docs" in inspect.signature(incremental.Inputs).parameters else {}
    before = incremental.digest(incremental.Inputs(results, **extra).study(spec))
    _plant(results, spec, dict.fromkeys(spec.study.sweep.variants, 0.001))
    try:
        after = incremental.digest(incremental.Inputs(results, **extra).study(spec))
    finally:
        timing_path(results, spec.name).unlink()
    assert before != after
    assert timings.measured(collect(spec, results)) is None
