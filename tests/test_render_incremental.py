"""Incremental rendering: a render redoes only the pages whose inputs changed, and its output is byte
for byte what a full render writes."""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from jinja2 import FileSystemLoader
from rich.console import Console

from reportgen.report.pages import incremental
from reportgen.report.pages import render as render_mod
from reportgen.spec.catalog import load_spec

REPO = Path(__file__).resolve().parents[1]
#: Two small studies, each cut to cheap analyses; only the second one draws learning curves.
STUDIES = {"mlp_baseline": ("comparison_table",), "dropout_ablation": ("comparison_table", "learning_curves")}


@pytest.fixture
def setup(tmp_path, monkeypatch):
    """(specs, results folder, render(docs, force) → names of the studies rendered, templates folder)."""
    specs = {}
    for name, analyses in STUDIES.items():
        spec = load_spec(REPO / "experiments" / f"{name}.py")
        specs[name] = type(spec)(spec.name, spec.path, spec.study.model_copy(update={"analyses": analyses}),
                                 spec.source)
        shutil.copytree(REPO / "results" / name, tmp_path / "results" / name)
    templates = tmp_path / "templates"  # a copy a test may edit, read by the pages and by the record
    shutil.copytree(incremental.TEMPLATES, templates)
    monkeypatch.setattr(render_mod, "ENV", render_mod.ENV.overlay(loader=FileSystemLoader(templates)))
    monkeypatch.setattr(incremental, "TEMPLATES", templates)
    calls: list[str] = []
    study, index = render_mod.render_study, render_mod._render_index
    monkeypatch.setattr(render_mod, "render_study", lambda spec, *a, **k: calls.append(spec.name) or study(spec, *a, **k))
    monkeypatch.setattr(render_mod, "_render_index", lambda *a, **k: calls.append("index") or index(*a, **k))

    def run(docs: Path, force: bool = False) -> list[str]:
        calls.clear()
        with open(os.devnull, "w") as null:
            render_mod.render(list(specs.values()), tmp_path / "results", docs, Console(file=null), force=force)
        return sorted(calls)

    return specs, tmp_path / "results", run, templates


def files(docs: Path) -> dict[str, bytes]:
    return {p.relative_to(docs).as_posix(): p.read_bytes() for p in sorted(docs.rglob("*")) if p.is_file()}


def same(a: Path, b: Path) -> None:
    fa, fb = files(a), files(b)
    assert sorted(fa) == sorted(fb)
    assert [k for k in fa if fa[k] != fb[k]] == []


def test_an_untouched_render_rewrites_nothing_and_matches_a_full_one(setup, tmp_path):
    _, _, run, _ = setup
    docs, full = tmp_path / "docs", tmp_path / "full"
    assert run(docs) == ["dropout_ablation", "index", "mlp_baseline"]  # no record yet: everything
    record = json.loads((docs / incremental.RECORD).read_text())
    assert sorted(record["groups"]) == ["index", "performance", "reproducibility", "studies/dropout_ablation",
                                       "studies/mlp_baseline"]
    assert record["groups"]["studies/mlp_baseline"]["answer"]["sentences"]
    stamps = {p: p.stat().st_mtime_ns for p in docs.rglob("*") if p.is_file()}
    assert run(docs) == []
    assert {p: p.stat().st_mtime_ns for p in docs.rglob("*") if p.is_file()} == stamps
    assert run(full, force=True) == ["dropout_ablation", "index", "mlp_baseline"]
    same(docs, full)
    assert run(docs, force=True) == ["dropout_ablation", "index", "mlp_baseline"]  # force ignores the record
    same(docs, full)


def test_a_changed_result_file_rerenders_its_study_and_the_index_only(setup, tmp_path):
    _, results, run, _ = setup
    docs, full = tmp_path / "docs", tmp_path / "full"
    run(docs)
    path = results / "dropout_ablation" / "dropout-0.3" / "seed1.json"  # trained for it, not reused
    result = json.loads(path.read_text())
    result["test"]["accuracy"] -= 0.004
    path.write_text(json.dumps(result, indent=1))
    assert run(docs) == ["dropout_ablation", "index"]
    # A study reads the files its runs were reused from (their dates date its claims): editing
    # mlp_baseline's result redoes dropout_ablation, whose dropout=0 runs are copies of them.
    path = results / "mlp_baseline" / "default" / "seed1.json"
    path.write_text(path.read_text().replace('"python"', '"python" ', 1))
    assert run(docs) == ["dropout_ablation", "index", "mlp_baseline"]
    assert run(full, force=True) == ["dropout_ablation", "index", "mlp_baseline"]
    same(docs, full)


def test_an_edited_template_rerenders_the_pages_that_use_it(setup, tmp_path):
    _, _, run, templates = setup
    docs, full = tmp_path / "docs", tmp_path / "full"
    run(docs)
    edited = templates / "analyses" / "learning_curves.md.j2"
    edited.write_text(edited.read_text() + "\nOne more line.\n")
    assert run(docs) == ["dropout_ablation"]  # the index reads no study template
    assert "One more line." in (docs / "studies" / "dropout_ablation.md").read_text()
    assert run(full, force=True) == ["dropout_ablation", "index", "mlp_baseline"]
    same(docs, full)


def test_a_page_changed_or_removed_by_hand_is_rendered_again(setup, tmp_path):
    _, _, run, _ = setup
    docs = tmp_path / "docs"
    run(docs)
    figure = next((docs / "assets" / "dropout_ablation").rglob("*.png"))
    figure.unlink()
    page = docs / "studies" / "mlp_baseline.md"
    page.write_text(page.read_text() + "edited\n")
    assert run(docs) == ["dropout_ablation", "mlp_baseline"]
    assert figure.exists() and not page.read_text().endswith("edited\n")


def test_the_index_composes_the_answer_of_a_study_it_does_not_render_once(setup, tmp_path, monkeypatch):
    """A study whose page is there but not rendered now (``run`` of another study, a smoke session
    starting from committed pages) gets its index row composed from its results; the record keeps that
    answer, so the next index (after another study's results change) reuses it until its own results
    change."""
    specs, results, _, _ = setup
    composed: list[str] = []
    compose, analysed = render_mod.compose, render_mod.analysed_answer  # a page's answer; a row's from its results
    monkeypatch.setattr(render_mod, "compose", lambda sr, *a: composed.append(sr.spec.name) or compose(sr, *a))
    monkeypatch.setattr(render_mod, "analysed_answer", lambda sr, *a: composed.append(sr.spec.name) or analysed(sr, *a))
    docs = tmp_path / "docs"
    (docs / "studies").mkdir(parents=True)
    shutil.copyfile(REPO / "docs" / "studies" / "mlp_baseline.md", docs / "studies" / "mlp_baseline.md")

    def render_dropout() -> list[str]:
        composed.clear()
        with open(os.devnull, "w") as null:
            render_mod.render([specs["dropout_ablation"]], results, docs, Console(file=null), index_specs=specs)
        return sorted(composed)

    assert render_dropout() == ["dropout_ablation", "mlp_baseline"]  # its page, then mlp_baseline's row
    kept = json.loads((docs / incremental.RECORD).read_text())["groups"]["index"]["answers"]
    assert list(kept) == ["mlp_baseline"] and kept["mlp_baseline"]["answer"]["sentences"]
    index = (docs / "index.md").read_text()
    path = results / "dropout_ablation" / "dropout-0.3" / "seed1.json"  # dropout_ablation's own run
    result = json.loads(path.read_text())
    result["test"]["accuracy"] -= 0.004
    path.write_text(json.dumps(result, indent=1))
    assert render_dropout() == ["dropout_ablation"]  # mlp_baseline's row from the record
    assert (docs / "index.md").read_text() != index  # the index was written again
    path = results / "mlp_baseline" / "default" / "seed1.json"
    path.write_text(path.read_text().replace('"python"', '"python" ', 1))
    assert render_dropout() == ["dropout_ablation", "mlp_baseline"]  # its results changed: composed again


def test_a_forced_render_of_one_study_leaves_the_others_current(setup, tmp_path, monkeypatch):
    """``render --force STUDY`` renders that study again and keeps the record of the others: the next
    plain render redoes nothing, and the forced index reuses the other study's recorded answer."""
    specs, results, run, _ = setup
    docs = tmp_path / "docs"
    assert run(docs) == ["dropout_ablation", "index", "mlp_baseline"]
    composed: list[str] = []
    analysed = render_mod.analysed_answer
    monkeypatch.setattr(render_mod, "analysed_answer", lambda sr, *a: composed.append(sr.spec.name) or analysed(sr, *a))
    with open(os.devnull, "w") as null:
        render_mod.render([specs["dropout_ablation"]], results, docs, Console(file=null), index_specs=specs, force=True)
    assert composed == []  # mlp_baseline's row: its recorded answer, not its analyses run again
    record = json.loads((docs / incremental.RECORD).read_text())["groups"]
    assert "studies/mlp_baseline" in record and "studies/dropout_ablation" in record
    assert run(docs) == []
