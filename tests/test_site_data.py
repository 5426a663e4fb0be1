"""Data to dig into, without a browser: each table of a page becomes a CSV with a link under it,
a study's history and runs as CSV, a page per variant, and the interactive learning-curve spec."""
from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np
import pytest

from reportgen.report.pages import downloads, variantpages
from reportgen.report.draw import interactive
from reportgen.spec.catalog import load_spec
from reportgen.report.pages.render import ENV, MARKER
from reportgen.results.chain import collect

REPO = Path(__file__).resolve().parents[1]

PAGE = """# Title

## Comparison

| variant | n | test accuracy (%) |
|---|---|---|
| **a** (reference) | 3 | 99.10 ± 0.05 |
| [b](b.md) \\| c | 3 | 98.90 ± 0.10 |
Text right under the table.

```python
| not | a | table |
|---|---|---|
```

=== "tab one"

    | layer | type |
    |---|---|
    | `0.body` | Conv2d |

| | |
|---|---|
| git commit | :material-check-circle:{ .status-held } abc |
"""


def _read(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.reader(f))


def test_every_table_gets_a_csv_and_a_link_under_it(tmp_path):
    out = downloads.tables_to_csv(PAGE, tmp_path, "../assets/x/tables")
    names = sorted(p.name for p in tmp_path.glob("*.csv"))
    assert names == ["comparison-2.csv", "comparison-tab-one.csv", "comparison.csv"]
    assert _read(tmp_path / "comparison.csv") == [["variant", "n", "test accuracy (%)"],
                                                  ["a (reference)", "3", "99.10 ± 0.05"],
                                                  ["b | c", "3", "98.90 ± 0.10"]]
    assert _read(tmp_path / "comparison-tab-one.csv") == [["layer", "type"], ["0.body", "Conv2d"]]
    assert _read(tmp_path / "comparison-2.csv") == [["field", "value"], ["git commit", "abc"]]
    lines = out.splitlines()
    link = lines.index(next(ln for ln in lines if "comparison.csv" in ln))
    assert lines[link - 1] == "" and lines[link + 1] == "" and lines[link + 2] == "Text right under the table."
    indented = next(ln for ln in lines if "comparison-tab-one.csv" in ln)
    assert indented.startswith("    [:material-table-arrow-down: CSV](../assets/x/tables/comparison-tab-one.csv)")
    assert "| not | a | table |" in out and out.count(".table-csv") == 3  # fenced code is left alone


def test_csvs_of_tables_that_are_gone_are_removed(tmp_path):
    (tmp_path / "old-table.csv").write_text("x\n", encoding="utf-8")
    downloads.tables_to_csv(PAGE, tmp_path, "t")
    assert not (tmp_path / "old-table.csv").exists()


@pytest.fixture(scope="module")
def dropout():
    """The committed results of the dropout study (read only)."""
    sr = collect(load_spec(REPO / "experiments" / "dropout_ablation.py"), REPO / "results")
    if not sr.runs:
        pytest.skip("no committed results for dropout_ablation")
    return sr


def test_study_history_and_runs_csv_hold_every_seed_and_epoch(dropout, tmp_path):
    names = downloads.study_data(dropout, tmp_path)
    runs = _read(tmp_path / names["runs"])
    assert list(names["history"]) == [v.label for v in dropout.variants if v.runs]
    for v in dropout.variants:  # a variant's CSV: its own epochs, every seed, nothing of the others
        history = _read(tmp_path / names["history"][v.label])
        assert len(history) - 1 == sum(len(r["history"]) for r in v.runs)
        assert {row[0] for row in history[1:]} == {v.label}
        assert sorted({int(row[1]) for row in history[1:]}) == sorted(r["seed"] for r in v.runs)
        val = history[0].index("val_acc")  # every recorded value, to 5 significant digits
        got = np.array([float(row[val]) for row in history[1:]])
        want = np.array([h["val_acc"] for r in v.runs for h in r["history"]])
        assert np.allclose(got, want, rtol=5e-5, atol=0) and not np.array_equal(np.round(got, 2), got)
    assert len(runs) - 1 == len(dropout.runs)
    header = runs[0]
    acc = header.index("test_accuracy (%)")
    want = sorted(round(100 * r["test"]["accuracy"], 6) for r in dropout.runs)
    assert sorted(round(float(row[acc]), 6) for row in runs[1:]) == want
    assert {row[header.index("key")] for row in runs[1:]} == {r["key"] for r in dropout.runs}


def test_a_details_page_with_every_variant_config_history_and_provenance(dropout, tmp_path):
    written = {}

    def write_page(path: Path, text: str) -> bool:
        written[path] = text
        return True

    links = variantpages.write(dropout, tmp_path, ENV, MARKER, write_page)
    assert [d["label"] for d in links] == [v.label for v in dropout.variants if v.runs]
    assert all(d["url"] == f"dropout_ablation/variants.md#{d['slug']}" for d in links)
    page = written[tmp_path / "studies" / dropout.name / "variants.md"]
    assert MARKER in page and "edit_source: experiments/dropout_ablation.py" in page
    for v in dropout.variants:
        assert f"{{ #{v.slug} }}" in page
        for r in v.runs:
            assert r["key"][:16] in page and f"repo:commit/{r['provenance']['git_commit']}" in page
    v = dropout.variants[0]
    assert f"model.dropout: {json.dumps(v.runs[0]['config']['model']['dropout'])}" in page
    # per variant: its per-epoch table's CSV is that variant's own epochs, and its section holds its chart
    for v in dropout.variants:
        assert page.count(f"](../../assets/dropout_ablation/history/{v.slug}.csv)") == 1
        assert f'data-variant="{v.label}"' in page
    # per variant, its per-seed, runs and provenance tables link the study's runs.csv, which has every column
    assert not list((tmp_path / "assets" / dropout.name / "tables" / "variants").glob("*.csv"))
    assert page.count("](../../assets/dropout_ablation/runs.csv)") == 3 * len(dropout.variants)
    assert page.count(".table-csv") == 4 * len(dropout.variants)
    seeds = [r["seed"] for r in v.runs]  # the provenance table: every seed in exactly one row
    assert sorted(int(s) for g in variantpages.provenance_groups([{"seed": s, "status": "completed", "numerics": "",
                  "torch": "", "python": "", "device": str(s % 2), "data_md5": ""} for s in seeds])
                  for s in g["seeds"].split(", ")) == sorted(seeds)
    names = downloads.study_data(dropout, tmp_path / "data")
    header = _read(tmp_path / "data" / names["runs"])[0]
    assert {"key", "result_file", "wall_seconds", "numerics", "torch", "python", "data_md5", "git_commit",
            "created", "reused_from", "device", "status"} <= set(header)


def test_learning_curve_spec_carries_every_run_and_epoch(dropout, tmp_path):
    path = interactive.learning_curves(dropout, tmp_path / "lc.vl.json")
    spec = json.loads(path.read_text(encoding="utf-8"))
    values = spec["data"]["values"]
    assert len(values) == len(dropout.runs)
    r0, v0 = dropout.variants[0].runs[0], values[0]
    assert v0["variant"] == dropout.variants[0].label and v0["seed"] == r0["seed"]
    assert v0["val_acc"] == [round(100 * h["val_acc"], 3) for h in r0["history"]]
    assert v0["val_loss"] == [float(f"{h['val_loss']:.4g}") for h in r0["history"]]
    tips = [t for panel in spec["hconcat"] for layer in panel["layer"]
            for t in layer.get("encoding", {}).get("tooltip", []) if t.get("field") == "value"]
    assert {t["format"] for t in tips} == {".4r", ".2f"}  # the loss tooltip shows the digits the data has
    assert len(v0["epoch"]) == len(r0["history"])
    names = {p["name"] for panel in spec["hconcat"] for layer in panel["layer"] for p in layer.get("params", [])}
    assert {"variant", "seed", "split", "zoom_loss", "zoom_accuracy"} <= names
    before = path.stat().st_mtime_ns
    interactive.learning_curves(dropout, path)  # unchanged results: the file is left alone
    assert path.stat().st_mtime_ns == before


def test_a_missing_or_nan_history_value_is_a_gap_not_an_error():
    from reportgen.results.summary import StudyResults, VariantResults

    class Spec:
        class study:
            title = "t"

    run = {"seed": 0, "history": [{"epoch": 1, "train_loss": math.nan, "val_loss": 0.5, "train_acc": 0.9}]}
    sr = StudyResults(Spec, [VariantResults("a", "a", [run], 1)], "a")  # type: ignore[arg-type]
    rec = interactive._runs(sr)[0]
    assert rec["train_loss"] == [None] and rec["val_acc"] == [None] and rec["val_loss"] == [0.5]
    json.dumps(interactive.learning_curves_spec(sr, ["#000000"]), allow_nan=False)


def test_the_charts_a_reader_points_at_carry_their_hover_contents():
    """The Pareto scatter hovers variant, study, mean, CI and seeds (every seed's point on demand); the
    heat map mean, CI and n; a confusion matrix count and share of the true digit (computed in the browser
    from one row of counts per digit: checked here the way Vega-Lite computes it)."""
    pareto = interactive.pareto_spec([{"variant": "a", "study": "S", "x": 1000.0, "mean": 98.0, "low": 97.5,
                                       "high": 98.5, "n": 3, "seeds": [97.8, 98.0, 98.2]}], "parameters", "t")
    tips = {t.get("title", t["field"]) for layer in pareto["layer"] for t in layer["encoding"].get("tooltip", [])}
    assert {"variant", "study", "test accuracy (%, mean)", "95 % CI", "seeds"} <= tips
    assert pareto["params"][0]["bind"]["input"] == "checkbox"  # every seed's dot on demand
    point = pareto["layer"][1]["data"]["values"][0]
    assert point["error"] == 2.0 and point["ci"] == "97.50–98.50 %"
    assert pareto["layer"][2]["data"]["values"][0]["accuracy"] == [97.8, 98.0, 98.2]
    heat = interactive.matrix_spec([{"x": "0.1", "y": "0", "mean": 98.0, "ci": "97–99 %", "n": 2}], "lr", "wd", "mean",
                                   "val acc", [{"field": "mean"}, {"field": "ci"}, {"field": "n"}], "t")
    assert {t["field"] for t in heat["layer"][0]["encoding"]["tooltip"]} == {"mean", "ci", "n"}
    cm = [[8, 2], [1, 9]]
    conf = interactive.confusion_spec(cm, "t")
    tips = {t["field"] for t in conf["layer"][0]["encoding"]["tooltip"]}
    assert {"true digit", "predicted digit", "count", "share"} <= tips
    rows = conf["data"]["values"]
    assert [r["count"] for r in rows] == cm and rows[0]["predicted digit"] == ["0", "1"]
    assert "100 * datum.count / max(datum.row_total, 1)" in json.dumps(conf["transform"])
