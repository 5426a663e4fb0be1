"""The statistical rules the pages follow: which t test compares two variants (paired by seed where
the design pairs them), directional claims tested one-sided, one rule for thresholds and targets,
outlier seeds flagged and left out (never averaged into an impossible interval), and timings shown
as median and range per device, never as a t-interval."""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from scipy import stats as st

from reportgen.report.analyses.context import Context, cell, per_seed
from reportgen.spec.catalog import load_spec
from reportgen.report.judge.findings import check, compare
from reportgen.report.judge.significance import against, paired_by_design, two_sample, within
from reportgen.report.judge.verdicts import found
from reportgen.spec import Expect
from reportgen.results.chain import collect
from reportgen.results.summary import StudyResults, VariantResults

REPO = Path(__file__).resolve().parents[1]
MODEL = {"kind": "mlp", "hidden": [128], "activation": "relu", "dropout": 0.1, "init": "default"}
DATA = {"val_size": 5000, "train_subset": None, "test_subset": None, "shuffled_labels": 0.0}
# early_stopping's per-seed test accuracies (results/early_stopping): patience-2 and none.
STOPPED, FULL = [0.9758, 0.9747, 0.9740], [0.9772, 0.9779, 0.9780]


def run(seed: int, acc: float, model: dict | None = None, train: dict | None = None, status: str = "completed",
        device: str = "cpu (x86_64, 1 threads)", seconds: float = 10.0) -> dict:
    return {"seed": seed, "status": status, "test": {"accuracy": acc, "macro_f1": acc},
            "config": {"model": model or MODEL, "data": DATA, "train": train or {"batch_size": 64}},
            "provenance": {"device": device}, "history": [{"seconds": seconds, "val_acc": acc}]}


def variant(label: str, accs: list[float], **kw) -> VariantResults:
    return VariantResults(label, label, [run(i, a, **kw) for i, a in enumerate(accs)], len(accs))


def study(*vs: VariantResults) -> StudyResults:
    return StudyResults(spec=None, variants=list(vs), reference=vs[0].slug)  # type: ignore[arg-type]


# --- which test --------------------------------------------------------------------------------

def test_variants_paired_by_design_get_the_paired_t_test_with_its_known_p():
    a = variant("patience-2", STOPPED, train={"batch_size": 64, "early_stopping": {"patience": 2}})
    b = variant("none", FULL)
    t = two_sample(a, b, "test_accuracy").test
    ref = st.ttest_rel(np.array(STOPPED) * 100, np.array(FULL) * 100)
    assert t.kind == "paired" and t.p == pytest.approx(ref.pvalue) and t.p == pytest.approx(0.0650, abs=5e-4)
    assert t.diff == pytest.approx(-0.2867, abs=1e-4)
    # The same numbers tested as unpaired give Welch's p = 0.018, the figure the pages printed before.
    assert st.ttest_ind(STOPPED, FULL, equal_var=False).pvalue == pytest.approx(0.018, abs=1e-3)
    sentence = compare(study(b, a), a, b, "test_accuracy")[0]
    assert sentence == ("undecided between patience-2 and none (patience-2 − none = -0.29 pp, 95 % CI -0.62–0.04, "
                        "paired t test over 3 seeds, adjusted p = 0.065 over the study's 1 comparison (Shaffer))")


def test_a_different_initialization_or_architecture_is_compared_by_welch():
    a = variant("xavier", STOPPED, model={**MODEL, "init": "xavier_uniform"})
    b = variant("default", FULL)
    t = two_sample(a, b, "test_accuracy").test
    ref = st.ttest_ind(np.array(STOPPED) * 100, np.array(FULL) * 100, equal_var=False)
    assert t.kind == "Welch" and t.p == pytest.approx(ref.pvalue)
    assert "Welch's t test" in compare(study(b, a), a, b, "test_accuracy")[0]


@pytest.mark.parametrize("change, paired", [
    ({"model": {**MODEL, "dropout": 0.5}}, True),  # no weights: the same initial weights
    ({"model": {**MODEL, "activation": "tanh"}}, True),
    ({"train": {"batch_size": 512}}, True),  # acts after initialization
    ({"model": {**MODEL, "hidden": [256]}}, False),  # other weights
    ({"model": {**MODEL, "init": "kaiming_normal"}}, False),
    ({"seed": 1}, False),
])
def test_paired_by_design(change, paired):
    base = run(0, 0.98)
    other = {**base, "config": {**base["config"], **{k: v for k, v in change.items() if k != "seed"}},
             "seed": change.get("seed", 0)}
    assert paired_by_design(base, other) is paired


def test_two_measures_of_the_same_runs_are_paired():
    v = VariantResults("d", "d", [{**run(i, last), "test_best_epoch": {"accuracy": best}}
                                  for i, (best, last) in enumerate(zip(STOPPED, FULL))], 3)
    t = within(v, "test_accuracy_best_epoch", "test_accuracy").test
    assert t.kind == "paired" and t.p == pytest.approx(0.0650, abs=5e-4)


# --- directional claims: one-sided ---------------------------------------------------------------

def test_a_directional_claim_takes_its_pairs_one_verdict():
    """A claim on a pair reads the pair's one verdict: its two-sided test, Holm over the study's family,
    the same as the comparison shows (one-sided, this pair's p would be half of 0.065, below 0.05)."""
    a = variant("patience-2", STOPPED, train={"batch_size": 64, "early_stopping": {"patience": 2}})
    b = variant("none", FULL)
    lower = check(study(b, a), Expect("test_accuracy", variant="patience-2", lower_than="none"))
    assert lower.outcome == "inconclusive", lower.evidence
    two_sided = st.ttest_rel(np.array(STOPPED) * 100, np.array(FULL) * 100).pvalue
    assert two_sided == pytest.approx(0.0650, abs=3e-4)
    assert "paired t test" in lower.evidence and f"p = {two_sided:.2g}" in lower.evidence
    for claim in (Expect("test_accuracy", variant="patience-2", higher_than="none"),
                  Expect("test_accuracy", highest="none")):
        assert check(study(b, a), claim).outcome == "inconclusive"
    one = found(study(b, a), "test_accuracy", "patience-2", "none")  # what the comparison reads too
    assert one.decision.verdict == "undecided" and one.decision.p == pytest.approx(two_sided)


# --- one rule for thresholds and targets ---------------------------------------------------------

def test_the_target_column_and_the_claim_use_one_rule():
    from reportgen.report.analyses.architectures import target_accuracy

    spec = load_spec(REPO / "experiments" / "budget_cnns.py")
    sr = collect(spec, REPO / "results")
    model3 = sr.variant("model-3")
    shown = per_seed(model3, "test_accuracy")  # every seed, in seed order (seeds 0-2 as first committed)
    assert shown.startswith("99.51 / 99.49 / 99.40") and shown.count(" / ") == len(model3.runs) - 1
    claim = check(sr, Expect("test_accuracy", variant="model-3", at_least=0.994))
    assert claim.outcome == "inconclusive"  # the sequential design has not decided it
    ctx = Context(sr, Path("/nonexistent"), "assets")
    ctx.figure = lambda name: (Path("/dev/null"), name)  # no figures needed here
    rows = {r["label"]: r for r in _without_figures(target_accuracy, ctx)["rows"]}
    assert rows["model-3"]["meets"] == "➖ cannot tell"
    assert rows["model-1"]["meets"] == "❌ misses"


def _without_figures(analysis, ctx):
    from reportgen.report.draw import figures

    real = figures.lines
    figures.lines = lambda *a, **k: None
    try:
        return analysis(ctx)
    finally:
        figures.lines = real


def test_threshold_rule_on_known_values():
    v = variant("v", [0.980, 0.981, 0.982])
    assert against(v, "test_accuracy", 97.5, True).outcome == "held"
    assert against(v, "test_accuracy", 98.5, True).outcome == "contradicted"
    assert against(v, "test_accuracy", 98.1, True).outcome == "inconclusive"
    lower = st.ttest_1samp([98.0, 98.1, 98.2], 97.5, alternative="greater").confidence_interval().low
    assert against(v, "test_accuracy", 97.5, True).edge == pytest.approx(lower)


# --- outliers -------------------------------------------------------------------------------------

def test_the_outlier_rule():
    healthy = variant("baseline", [0.9931, 0.9913, 0.9913])
    assert healthy.outliers() == [] and healthy.clean is healthy and healthy.note() == ""
    collapsed = variant("lr-1e-2", [0.9773, 0.9760, 0.1135])
    assert [(o.seed, o.reason) for o in collapsed.outliers()] == [(2, "collapsed")]
    assert collapsed.note().startswith("2 of 3 seeds reach 97.67 % (mean); seed 2 collapsed to 11.35 % (chance level)")
    far = variant("far", [0.991, 0.990, 0.960])  # error 4 % against 0.95 %: over 3×
    assert [(o.seed, o.reason) for o in far.outliers()] == [(2, "far outside")]
    assert [o.seed for o in variant("noisy", [0.68, 0.585, 0.564]).outliers()] == []  # lr_probe's slow variant
    diverged = VariantResults("d", "d", [run(0, 0.98), run(1, 0.98), run(2, float("nan"), status="diverged")], 3)
    assert [(o.seed, o.reason) for o in diverged.outliers()] == [(2, "diverged")]
    chance = variant("shuffled", [0.0845, 0.098, 0.1116])  # a model at chance on every seed: its result
    assert chance.outliers() == [] and chance.note().startswith("every seed diverged or stayed at chance level")


def test_an_outlier_is_never_averaged_into_an_impossible_interval():
    v = variant("lr-1e-2", [0.9773, 0.9760, 0.1135])
    text = cell(v, "test_accuracy")
    mean, half = map(float, re.match(r"([\d.]+) ± ([\d.]+)†$", text).groups())
    assert 0 <= mean - half and mean + half <= 100 and mean == pytest.approx(97.665, abs=0.01)
    assert per_seed(v, "test_accuracy") == "97.73 / 97.60 / 11.35†"
    # Without an outlier, an interval past 100 % is replaced by the range over seeds.
    assert cell(variant("wide", [0.999, 0.98]), "test_accuracy") == "98.95 (98.00–99.90)"
    b = variant("baseline", [0.9931, 0.9913, 0.9913])
    sentence = compare(study(b, v), v, b, "test_accuracy")[0]
    assert "left out: lr-1e-2 seed 2 collapsed to 11.35 % (chance level)" in sentence
    assert sentence.startswith("baseline beats lr-1e-2 by 1.56 pp (95 % CI 1.24–1.87, paired t test over 2 seeds")


def test_a_planted_collapsed_seed_is_flagged_on_the_page_and_the_leaderboard_stays_sane(tmp_path):
    from reportgen.report.pages.render import leaderboard, render_study

    spec = load_spec(REPO / "experiments" / "dropout_ablation.py")
    spec = type(spec)(spec.name, spec.path, spec.study.model_copy(update={"analyses": ("comparison_table",), "answer": None}),
                      spec.source)
    results = tmp_path / "results"
    shutil.copytree(REPO / "results" / spec.name, results / spec.name)
    path = results / spec.name / "dropout-0.1" / "seed1.json"
    planted = json.loads(path.read_text())
    planted["test"].update(accuracy=0.1135, macro_f1=0.0204, loss=2.301)
    planted["test_best_epoch"].update(accuracy=0.1135)
    planted["history"][-1].update(val_acc=0.1064, train_eval_acc=0.1124)
    path.write_text(json.dumps(planted))

    render_study(spec, results, tmp_path / "docs")
    page = (tmp_path / "docs" / "studies" / f"{spec.name}.md").read_text()
    assert '!!! warning "Diverged, collapsed or outlying seeds"' in page
    assert "seed 1 collapsed to 11.35 % (chance level): left out of its mean, interval and tests" in page
    row = next(line for line in page.splitlines() if line.startswith("| [dropout=0.1](dropout_ablation/variants.md#dropout-0.1) |"))
    mean, half = map(float, re.search(r"\| ([\d.]+) ± ([\d.]+)† \|", row).groups())
    assert 0 <= mean - half and mean + half <= 100
    assert "/ 11.35† /" in row
    assert "left out: dropout=0.1 seed 1 collapsed to 11.35 %" in page  # its comparison says how

    sr = collect(spec, results)
    board = leaderboard([{"spec": spec, "sr": sr}])
    entry = next(b for b in board if b["label"] == "dropout=0.1")
    # What the index's leaderboard and its accuracy-against-parameters figure are drawn from.
    assert all(0 <= b["acc"].low and b["acc"].high <= 100 and all(0 <= x <= 100 for x in b["seeds"]) for b in board)
    assert entry["acc"].n == 2 and len(entry["seeds"]) == 2 and "collapsed to 11.35 %" in entry["note"] and entry["acc_cell"].endswith("†")
    assert json.loads((REPO / "results" / spec.name / "dropout-0.1" / "seed1.json").read_text())["test"]["accuracy"] > 0.9


# --- timings ---------------------------------------------------------------------------------------

def test_timings_have_no_t_interval_and_are_compared_only_on_one_device():
    two = VariantResults("b", "b", [run(i, 0.99, device="cpu (x86_64, 2 threads)", seconds=s)
                                    for i, s in enumerate((17.6, 18.2, 19.5))], 3)
    one = VariantResults("v", "v", [run(i, 0.99, seconds=s) for i, s in enumerate((48.0, 46.4, 51.2))], 3)
    with pytest.raises(ValueError, match="timing"):
        two.interval("seconds_per_epoch")
    assert cell(two, "seconds_per_epoch") == "18.2 (17.6–19.5)"
    assert cell(two, "seconds_per_epoch", mixed=True) == "18.2 (17.6–19.5) [2 threads]"
    mixed = VariantResults("m", "m", two.runs[:2] + one.runs[2:], 3)
    assert cell(mixed, "seconds_per_epoch") == "17.9 (17.6–18.2) [2 threads]; 51.2 [1 thread]"
    assert "no device in common" in compare(study(two, one), one, two, "seconds_per_epoch")[0]
    assert check(study(two, one), Expect("seconds_per_epoch", lowest="b")).outcome == "inconclusive"


TIMED = ("comparison_table", "factor_tables", "architecture", "gradient_noise")


def test_no_rendered_table_carries_a_t_interval_on_seconds(tmp_path, no_png):
    """Every study whose page shows timings, rendered from the committed results (read only) with the
    analyses that print them, and the leaderboard: no timing cell has a ±. (Figures are built but not
    drawn: ``no_png``.)"""
    from reportgen.report.draw import figures
    from reportgen.spec.catalog import load_all
    from reportgen.report.pages.render import leaderboard, render_study

    real = figures.lines
    figures.lines = lambda *a, **k: None
    rows, pages = [], []
    try:
        specs, errors = load_all(REPO / "experiments")
        assert not errors
        for spec in specs.values():
            shown = tuple(a for a in spec.study.analyses if a in TIMED)
            if not shown:
                continue
            spec = type(spec)(spec.name, spec.path, spec.study.model_copy(update={"analyses": shown, "answer": None}), spec.source)
            rows.append(render_study(spec, REPO / "results", tmp_path))
            pages.append((tmp_path / "studies" / f"{spec.name}.md").read_text())
    finally:
        figures.lines = real
    assert len(pages) >= 15 and no_png  # the model pictures were made (not drawn)
    timing_cells = [c for page in pages for c in _column_cells(page, ("s / epoch", "images / s"))]
    assert len(timing_cells) > 50 and not [c for c in timing_cells if "±" in c]
    assert any("[1 thread]" in c for c in timing_cells) and any("[2 threads]" in c for c in timing_cells)
    assert not [b["sec_cell"] for b in leaderboard(rows) if "±" in b["sec_cell"]]
    assert not re.search(r"± [\d.]+ ?s\b", "\n".join(pages))


def _column_cells(page: str, headers: tuple[str, ...]) -> list[str]:
    """The cells of every Markdown table column whose header contains one of ``headers``."""
    out, cols = [], []
    for line in page.splitlines():
        if not line.startswith("|"):
            cols = []
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if not cols:
            cols = [i for i, c in enumerate(cells) if any(h in c for h in headers)] or [-1]
        elif not set("".join(cells)) <= set("-: "):
            out += [cells[i] for i in cols if 0 <= i < len(cells)]
    return out
