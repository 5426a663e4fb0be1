"""Each study's answer answers its question: composed from the committed results (read only; figures
go to a temporary folder) in the order the spec declares, it holds the headline of every analysis the
question asks about, opens with the one the question asks about first, states what the design cannot
answer, and uses paired tests for quantities measured on the same runs. The composer runs no analysis.
Pages never write "(s)" plurals."""
from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from scipy import stats

from reportgen.report.analyses import ANALYSES, HEADLINES, Context, analyse
from reportgen.report.analyses.headline import Headline
from reportgen.report.pages.answers import compose
from reportgen.spec.catalog import load_all
from reportgen.results.chain import collect
from reportgen.report.judge.words import count, plural

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "results"
SPECS, _ = load_all(REPO / "experiments")
CANNOT_ATTRIBUTE = "cannot be read from this design"
#: A "(s)" plural: a word with "(s)" glued on ("seed(s)"); a unit in parentheses ("time (s)") is not one.
S_PLURAL = re.compile(r"[A-Za-z]\(s\)")
NOT_RECORDED = "is not in the committed results"

#: What each committed study's question asks, in its order: the analyses whose headlines the answer
#: must hold (the first opens it) and the statements of what the design cannot answer. Written from
#: the questions, not from the code: a spec whose declared answer stops matching its question fails here.
EXPECTED: dict[str, list[str]] = {
    "mlp_baseline": ["comparison_table"],
    "cnn_baseline": ["comparison_table"],
    "final_model": ["comparison_table", "diagnosis", NOT_RECORDED],
    "dataset_exploration": ["split_overview", "pixel_statistics", "data_checks", "duplicates"],
    "sanity_checks": ["sanity_checks"],
    "prediction_analysis": ["prediction_panel", "confidence_extremes", "calibration", "confused_pairs"],
    "custom_images": ["custom_images", "robustness"],
    "activation_functions": ["comparison_table", "gradient_flow", "saturation"],
    "batch_size_noise": ["gradient_noise", "generalization_gap"],
    "dropout_ablation": ["generalization_gap", "comparison_table"],
    "early_stopping": ["early_stopping"],
    "epochs_learning_curve": ["overfitting"],
    "l2_regularization": ["weight_norms", "comparison_table"],
    "optimizer_comparison": ["convergence"],
    "architecture_comparison": ["comparison_table", "architecture"],
    "budget_cnns": ["target_accuracy", "architecture", CANNOT_ATTRIBUTE],
    "cnn_variants": ["comparison_table", "architecture"],
    "weight_inspection": ["capacity_curve", "first_layer_weights", "weight_histograms"],
    "cnn_hyperparameters": ["factor_tables"],
    "lr_probe": ["lr_range_test"],
    "lr_wd_grid": ["grid_heatmap"],
    "failed_models": ["diagnosis"],
}
#: Analyses that read the MNIST files (images or labels) for their headline or output.
READS_DATA = {"split_overview", "data_checks", "pixel_statistics", "class_images", "duplicates", "calibration",
              "confidence_extremes", "prediction_panel", "custom_images", "robustness"}


def _data_or_skip(spec) -> None:
    if READS_DATA & set(spec.study.analyses) and not os.environ.get("REPORTGEN_DATA"):
        pytest.skip("this study's headlines read the MNIST files: set REPORTGEN_DATA (e.g. ../shared/data)")


def _answer(name: str, tmp_path: Path):
    """(answer, {analysis: its headline computed on its own}) from the committed results."""
    spec = SPECS[name]
    _data_or_skip(spec)
    sr = collect(spec, RESULTS)
    ctx = Context(sr, tmp_path, "", None)
    heads = {n: analyse(n, ctx).headline for n in spec.study.analyses if n in HEADLINES}
    return compose(sr, heads), heads


@pytest.mark.parametrize("name", sorted(SPECS))
def test_the_answer_opens_with_what_the_question_asks(name, tmp_path, no_png):
    """(Figures the analyses make are built but not drawn: ``no_png``; the answer is text.)"""
    answer, heads = _answer(name, tmp_path)
    text = answer.text
    assert answer.first and re.search(r"\d", answer.first), f"{name}: no number in {answer.first!r}"
    assert not S_PLURAL.search(text) and not S_PLURAL.search(answer.short)
    want = EXPECTED.get(name)
    if want is None:  # a spec without an entry above: every headline it gives stands in the answer
        return
    for part in want:
        if part in HEADLINES:
            h = heads[part]
            assert isinstance(h, Headline), f"{name}: {part} has no headline"
            for sentence in h.sentences:
                assert sentence in text, f"{name}: {part}'s headline {sentence!r} is not in the answer"
        else:
            assert part in text, f"{name}: the answer does not say {part!r}"
    first = heads[want[0]].sentences[0] if want[0] in HEADLINES else want[0]
    assert first in answer.first, f"{name}: the answer opens with {answer.first!r}, not {want[0]}'s headline"
    # Headlines the question does not ask about stay out (e.g. the generic accuracy sentence).
    for n, h in heads.items():
        if h is not None and n not in want:
            assert h.sentences[0] not in text, f"{name}: {n}'s headline is in the answer, but the question does not ask"


def test_a_diagnostic_study_names_no_accuracy_and_no_best_variant(tmp_path):
    from reportgen.report.pages.answers import chosen

    for name in ("sanity_checks", "failed_models"):
        sr = collect(SPECS[name], RESULTS)
        assert SPECS[name].study.diagnostic and chosen(sr) is None
        assert HEADLINES["comparison_table"].fn(Context(sr, tmp_path, ""), None) is None


def test_a_tuning_study_names_the_variant_selected_on_validation():
    from reportgen.report.pages.answers import chosen

    sr = collect(SPECS["lr_wd_grid"], RESULTS)
    by_val = max((v for v in sr.variants if v.runs), key=lambda v: v.interval("val_acc").mean)
    by_test = max((v for v in sr.variants if v.runs), key=lambda v: v.interval("test_accuracy").mean)
    assert by_val is not by_test  # the committed grid: the test set would choose another cell
    assert chosen(sr) is by_val


def test_two_measures_of_the_same_runs_are_tested_paired_as_scipys_ttest_rel():
    """The last epoch against the best-validation epoch of the same three runs (the committed
    epochs_learning_curve numbers): the answer's test is scipy's ttest_rel on the per-seed values."""
    from reportgen.report.analyses.headline import tested_clause, tested_verdict
    from reportgen.report.judge.significance import within
    from reportgen.results.summary import VariantResults

    last, best = [97.72, 97.79, 97.80], [97.58, 97.47, 97.40]
    runs = [{"seed": s, "status": "completed", "test": {"accuracy": a / 100}, "test_best_epoch": {"accuracy": b / 100}}
            for s, (a, b) in enumerate(zip(last, best))]
    t = within(VariantResults("default", "default", runs, 3), "test_accuracy", "test_accuracy_best_epoch")
    ref = stats.ttest_rel(last, best)
    ci = ref.confidence_interval()
    assert t.test.kind == "paired" and t.test.p == pytest.approx(ref.pvalue) and t.test.p == pytest.approx(0.0650, abs=5e-4)
    assert (t.test.low, t.test.high) == (pytest.approx(ci.low), pytest.approx(ci.high))
    assert stats.ttest_ind(last, best, equal_var=False).pvalue < 0.05  # Welch would claim a difference
    clause = tested_clause(t, "last", "best-validation epoch")
    assert clause == "+0.29 pp (last − best-validation epoch; paired t test over seeds 0, 1, 2, 95 % CI -0.04 to 0.62, p = 0.065)"
    assert tested_verdict(t) == ": no detectable difference"


def test_the_same_runs_are_compared_paired_on_the_pages(tmp_path):
    """epochs_learning_curve's last against best-validation epoch and early_stopping's patiences against
    50 epochs are the same runs: both give the paired verdict, and early stopping says it once."""
    answer, _ = _answer("epochs_learning_curve", tmp_path / "a")
    assert "paired t test over seeds 0, 1, 2" in answer.first and "p = 0.065" in answer.first
    assert "does not detectably change" in answer.first and "Welch" not in answer.text
    sr = collect(SPECS["early_stopping"], RESULTS)
    out = ANALYSES["early_stopping"](Context(sr, tmp_path / "b", ""))
    outcomes = {tuple(r["test"]["accuracy"] for r in v.runs) for v in sr.variants if v.slug != sr.reference}
    assert len(out["verdicts"]) == len(outcomes) < 3, out["verdicts"]  # patiences with one outcome: said once
    assert all("paired t test over" in v and "Welch" not in v for v in out["verdicts"])
    answer, _ = _answer("early_stopping", tmp_path / "c")
    assert "no detectable cost" in answer.first and "paired t test over 7 seeds" in answer.first


def test_plurals_agree_with_their_number():
    assert count(1, "seed") == "1 seed" and count(3, "seed") == "3 seeds" and count(0, "pair") == "0 pairs"
    assert count(2, "epoch") == "2 epochs" and count(2, "distinct diagnosis") == "2 distinct diagnoses"
    assert plural("differs", 2) == "differ" and plural("differs", 1) == "differs" and count(1200, "image") == "1,200 images"


def test_no_rendered_page_writes_s_plurals(tmp_path, no_png):
    """A few studies rendered with their index, nav, reference and performance pages into a temporary
    docs folder: no page says "seed(s)"; the index keeps diagnostic studies off the leaderboard and names
    the tuning grid's variant selected on validation. (Figures are built but not drawn: ``no_png``.)"""
    from rich.console import Console

    from reportgen.report.pages.render import render

    names = ("early_stopping", "sanity_checks", "failed_models", "lr_wd_grid", "budget_cnns")
    specs = [SPECS[n] for n in names]
    docs = tmp_path / "docs"
    render(specs, RESULTS, docs, Console(file=open(os.devnull, "w")), index_specs={s.name: s for s in specs})
    pages = sorted(docs.rglob("*.md"))
    assert len(pages) >= len(names) + 2
    for page in pages:
        text = page.read_text(encoding="utf-8")
        found = S_PLURAL.search(text)
        assert not found, f"{page.relative_to(docs)}: {text[found.start() - 60:found.end()]!r}"
    index = (docs / "index.md").read_text(encoding="utf-8")
    board = index[index.index("## Leaderboard"):]
    assert "studies/sanity_checks.md" not in board and "studies/failed_models.md" not in board
    assert "none: diagnostic study" in index
    assert "lr=0.0326, weight\\_decay=0, selected on validation" in index
    assert "## Key findings" in index and index.count("- **[") == len(names)


def test_a_collapsed_seed_is_named_not_averaged(tmp_path):
    from reportgen.report.analyses.headline import accuracy, mean_of
    from reportgen.results.summary import VariantResults

    runs = [{"seed": s, "status": "completed", "test": {"accuracy": a}} for s, a in enumerate((0.9773, 0.9760, 0.1135))]
    v = VariantResults("lr-1e-2", "lr-1e-2", runs, 3)
    assert accuracy(v) == "2 of 3 seeds reach 97.73 and 97.60 %; seed 2 collapsed to 11.35 % (chance level)"
    assert mean_of(v, "test_accuracy") == pytest.approx(97.665)
    broken = VariantResults("b", "b", [{"seed": s, "status": "completed", "test": {"accuracy": 0.1}} for s in range(3)], 3)
    assert accuracy(broken).startswith("10.00 ± 0.00 %")  # broken on every seed: no outlier, that is the result
    answer, _ = _answer("cnn_hyperparameters", tmp_path)
    assert "seed 2 collapsed to 11.35 %" in answer.text and "68.89" not in answer.text


def test_the_weight_norm_is_named_for_what_it_is(tmp_path, no_png):
    """The probe records torch's default matrix norm, the Frobenius norm: ‖W‖_F, not ‖W‖₂ (the
    spectral norm). In the answer's Markdown the underscore is escaped."""
    answer, heads = _answer("l2_regularization", tmp_path)
    assert "Frobenius weight norm ‖W‖\\_F" in answer.text and "‖W‖₂" not in answer.text
    assert heads["weight_norms"].short.startswith("‖W‖_F ")


def test_the_answer_follows_the_specs_declared_order_not_the_questions_wording(tmp_path, no_png):
    """The same headlines, declared in the other order, give the answer in that order; the question's
    wording (which names the gap first) plays no part."""
    from reportgen.spec.catalog import Spec

    spec = SPECS["dropout_ablation"]
    assert spec.study.answer == ("generalization_gap", "comparison_table")
    sr = collect(spec, RESULTS)
    ctx = Context(sr, tmp_path, "", None)
    heads = {n: analyse(n, ctx).headline for n in spec.study.answer}
    flipped = Spec(spec.name, spec.path, spec.study.model_copy(update={"answer": ("comparison_table", "generalization_gap")}),
                   spec.source)
    sr_flipped = collect(flipped, RESULTS)
    assert compose(sr, heads).first == heads["generalization_gap"].sentences[0]
    assert compose(sr_flipped, heads).first == heads["comparison_table"].sentences[0]


def test_the_composer_runs_no_analysis(tmp_path, monkeypatch):
    """Given no headline for an analysis its answer declares, the composer names it instead of running it."""
    import reportgen.report.analyses as registry

    spec = SPECS["dropout_ablation"]
    sr = collect(spec, RESULTS)
    ran: list[str] = []
    monkeypatch.setattr(registry, "ANALYSES", {n: (lambda c, n=n: ran.append(n)) for n in registry.ANALYSES})
    with pytest.raises(KeyError, match="generalization_gap"):
        compose(sr, {"comparison_table": None})
    assert ran == []


def test_an_answer_naming_an_analysis_the_study_does_not_run_is_refused():
    from pydantic import ValidationError

    study = SPECS["dropout_ablation"].study
    with pytest.raises(ValidationError, match="answer names weight_norms, which analyses does not"):
        type(study).model_validate({**study.model_dump(exclude={"answer"}), "answer": ("weight_norms",)})
