"""The Method section of every committed study page states what the results hold: the seeds each
variant was trained with (seeds added after the spec's own included), and the test set's size; and no
generated sentence carries a broken number ("-0.0 %", "1 threads")."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from reportgen.report.analyses.standard import scored_images
from reportgen.report.judge.words import seed_list
from reportgen.report.pages.render import seeds_trained
from reportgen.results.chain import collect
from reportgen.spec.catalog import load_all

REPO = Path(__file__).resolve().parents[1]
SPECS = load_all(REPO / "experiments")[0]
TRAINED = sorted(n for n, s in SPECS.items() if s.study.kind != "explore")


def test_seed_lists_are_written_as_ranges():
    assert seed_list([0, 1, 2]) == "0, 1, 2"
    assert seed_list([0, 1, 2, 3, 4, 10, 12, 13, 14]) == "0–4, 10, 12–14"


def _committed(name: str):
    """(results, page) of a study as committed; skips a study without results."""
    sr = collect(SPECS[name], REPO / "results")
    if not sr.runs:
        pytest.skip(f"{name} has no committed results")
    return sr, (REPO / "docs" / "studies" / f"{name}.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", TRAINED)
def test_the_method_names_the_seeds_every_variant_was_trained_with(name):
    sr, page = _committed(name)
    sentence = seeds_trained(sr)
    assert sentence + ". A seed fixes the" in page
    counts = {v.label: len(v.runs) for v in sr.variants if v.runs}
    if len(set(counts.values())) == 1 and len({tuple(sorted(r["seed"] for r in v.runs)) for v in sr.variants if v.runs}) == 1:
        assert f"trained with {next(iter(counts.values()))} seed" in sentence
    else:
        for label, n in counts.items():
            assert f"{label} {n} (" in sentence, (label, n, sentence)


@pytest.mark.parametrize("name", TRAINED)
def test_the_method_gives_the_test_set_size_the_runs_were_scored_on(name):
    sr, page = _committed(name)
    assert f"the test set ({scored_images(sr):,} images)" in page


@pytest.mark.parametrize("page", sorted((REPO / "docs").glob("**/*.md")), ids=lambda p: p.relative_to(REPO / "docs").as_posix())
def test_no_generated_sentence_shows_a_negative_zero_percent_or_one_threads(page):
    text = page.read_text(encoding="utf-8")
    # (the reproducibility table quotes each device string as recorded, and says so in its header)
    text = re.sub(r"<!-- measured: begin.*?<!-- measured: end[^>]*-->", "", text, flags=re.S)
    assert not re.search(r"\(-0\.0+ %\)", text), "a change printed as -0.0 %"
    assert not re.search(r"\b1 threads\b", text), "'1 threads'"


def test_an_lr_range_test_is_not_flagged_as_diverged():
    """A range test records no accuracy by design; the page does not call its seeds diverged."""
    sr = collect(SPECS["lr_probe"], REPO / "results")
    ranges = [v for v in sr.variants if v.runs and all(r.get("range_test") for r in v.runs)]
    assert ranges, "lr_probe has no range-test variant in the committed results"
    assert all(v.note() == "" for v in ranges)
    page = (REPO / "docs" / "studies" / "lr_probe.md").read_text(encoding="utf-8")
    assert "every seed diverged or stayed at chance level (seed 0: no accuracy" not in page


@pytest.mark.parametrize("name", sorted(n for n in TRAINED if (REPO / "results" / "_sequential" / f"{n}.json").exists()))
def test_the_margin_a_page_states_is_the_one_its_verdicts_use(name):
    """δ as the spec declares it, else as the sequential design fixed it when it began (never recomputed
    from the seeds added to decide), and the page states that δ."""
    from reportgen.report.judge.margins import fixed_margin, margin_of

    sr, page = _committed(name)
    delta = margin_of(sr, "test_accuracy")
    fixed = fixed_margin(sr, "test_accuracy")
    if "test_accuracy" in SPECS[name].study.margins:
        assert delta == SPECS[name].study.margins["test_accuracy"] * 100
    elif fixed is not None:
        assert delta == fixed
    if delta is not None and "δ = ±" in page:
        assert f"δ = ±{delta:.2f} pp" in page
