"""docs/reproducibility.md's measured block is the one bench/reproducibility.py writes from the
recorded reruns and the committed results, and its comparison finds the first differing epoch."""
from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _script():
    spec = importlib.util.spec_from_file_location("reproducibility_bench", REPO / "bench" / "reproducibility.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_page_shows_the_table_the_script_computes():
    bench = _script()
    page = (REPO / "docs" / "reproducibility.md").read_text(encoding="utf-8")
    block = page.split(bench.BEGIN, 1)[1].split(bench.END, 1)[0]
    assert block == "\n" + bench.table()
    assert "identical" in block and "AVX2" in block and "AVX512" in block


def test_first_difference_names_the_epoch_and_field():
    bench = _script()
    run = {"test_accuracy": 0.97, "test_loss": 0.1,
           "history": [{"epoch": 1, "train_loss": 0.2, "val_acc": 0.9}, {"epoch": 2, "train_loss": 0.1, "val_acc": 0.95}]}
    assert bench.first_difference(run, run) == "identical"
    moved = {**run, "history": [run["history"][0], {**run["history"][1], "val_acc": 0.95 * (1 + 1e-7)}]}
    assert bench.first_difference(run, moved) == "epoch 2 (`val_acc`, relative difference 1e-07)"
    assert bench.first_difference(run, {**run, "test_loss": 0.2}) == "test metrics"


def _result(path: Path, isa, threads, dirty, attempts=1, reused=None, reconstructed=False):
    prov = {"cpu_capability": isa, "threads": threads, "git_dirty": dirty,
            "attempts": [{"wall_seconds": 1.0, "reconstructed": reconstructed} for _ in range(attempts)]}
    if reused:
        prov["reused_from"] = reused
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"provenance": prov}), encoding="utf-8")


def test_the_counts_group_runs_by_isa_threads_and_dirty_tree(tmp_path):
    from reportgen.report.pages import reprocounts

    res = tmp_path / "results"
    _result(res / "a" / "v" / "seed0.json", "AVX2", 1, False)
    _result(res / "a" / "v" / "seed1.json", "AVX2", 1, False, attempts=2, reconstructed=True)
    _result(res / "b" / "v" / "seed0.json", "AVX2", 1, False, reused="results/a/v/seed0.json")
    _result(res / "b" / "w" / "seed0.json", "unknown", None, True)
    _result(res / "_timing" / "x" / "seed0.json", "AVX512", 2, False)  # not a study folder
    (res / "b" / "w" / "seed1.json").write_text("{", encoding="utf-8")
    c = reprocounts.counts(res)
    assert c["rows"] == [{"isa": "AVX2", "threads": "1", "dirty": "no", "runs": 3, "copies": 1},
                         {"isa": "unknown", "threads": "unknown", "dirty": "yes", "runs": 1, "copies": 0}]
    assert (c["total"], c["copies"], c["resumed"], c["reconstructed"]) == (4, 1, 1, 1)
    assert c["unreadable"] == ["b/w/seed1.json"]
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "reproducibility.md").write_text(f"intro\n{reprocounts.BEGIN}\nold\n{reprocounts.END}\nrest\n")
    assert reprocounts.write(docs, res) and not reprocounts.write(docs, res)
    text = (docs / "reproducibility.md").read_text()
    assert text.startswith("intro\n") and text.endswith(f"{reprocounts.END}\nrest\n") and "| AVX2 | 1 | no | 3 | 1 |" in text
    assert "`b/w/seed1.json`" in text and "old" not in text


def test_the_page_counts_the_committed_runs():
    from reportgen.report.pages import reprocounts

    page = (REPO / "docs" / "reproducibility.md").read_text(encoding="utf-8")
    shown = page.split(reprocounts.BEGIN, 1)[1].split(reprocounts.END, 1)[0]
    assert shown == "\n" + reprocounts.block(reprocounts.counts(REPO / "results"))


def test_no_commit_link_or_result_carries_a_dirty_suffix():
    suffixed = re.compile(r"[0-9a-f]{7,40}\+dirty")  # a commit (or a link to one) with the old suffix
    linked = [p.name for p in (REPO / "docs").rglob("*.md") if suffixed.search(p.read_text(encoding="utf-8"))]
    assert linked == [], f"pages with a '+dirty' commit: {linked}"
    commits = [json.loads(p.read_text(encoding="utf-8"))["provenance"]["git_commit"]
               for p in (REPO / "results").glob("*/*/seed*.json")]
    assert len(commits) > 200 and not [c for c in commits if "+" in c]
