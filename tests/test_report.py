"""Reporting without training: the dynamics helpers, the verdicts on expectations, the factor
grouping of one-at-a-time studies, and byte-stable figures."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from conftest import valid_result
from reportgen.report.draw import figures
from reportgen.report.analyses.context import Context, cell, epochs
from reportgen.report.analyses.dynamics import epochs_to, factors, gap_opens
from reportgen.report.analyses.internals import _loglog_slope
from reportgen.spec.catalog import load_spec
from reportgen.report.judge.findings import check
from reportgen.spec import Expect
from reportgen.results.summary import METRICS, StudyResults, VariantResults

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("train, val, want", [
    ([0.95, 0.97, 0.99, 1.0], [0.95, 0.965, 0.975, 0.976], 3),  # gap 0, .5, 1.5, 2.4 pp: opens at 3
    ([0.95, 0.99, 0.97, 1.0], [0.95, 0.975, 0.965, 0.975], 4),  # opens at 2, closes at 3, reopens at 4
    ([0.99, 0.99], [0.95, 0.95], 1),  # open from the start
    ([0.99, 0.96], [0.95, 0.955], math.nan),  # closed at the end
])
def test_gap_opens(train, val, want):
    got = gap_opens(np.array(train), np.array(val), 1.0)
    assert (math.isnan(got) and math.isnan(want)) or got == want


def test_epochs_to_target():
    assert epochs_to([0.9, 0.969, 0.97, 0.99]) == 3
    assert math.isnan(epochs_to([0.9, 0.95]))


@pytest.mark.parametrize("values, want", [
    ([10, 10, 4], "10 (4–10)"), ([3, 3, 3], "3"), ([2, 5], "3.5 (2–5)"), ([math.nan, 7], "7"), ([], "—"),
])
def test_epoch_numbers_are_shown_as_median_and_range(values, want):
    assert epochs(values) == want


def test_epoch_cells_never_carry_an_interval_past_their_bounds():
    runs = [valid_result(f"k{b}{i}", seed=i, best_epoch=b, test={"accuracy": a})
            for i, (b, a) in enumerate(((10, 0.98), (10, 0.99), (4, 0.985)))]
    v = VariantResults("a", "a", runs, 3)
    assert cell(v, "best_epoch") == "10 (4–10)"  # mean ± t-interval would read 8.0 ± 8.6
    assert "±" in cell(v, "test_accuracy")


def test_loglog_slope_of_an_exact_power_law():
    sizes = [8, 32, 128, 512]
    assert _loglog_slope(sizes, [5.0 / b for b in sizes]) == pytest.approx(-1.0)


def variant(label: str, values: list[float], metric: str = "test_accuracy") -> VariantResults:
    """A variant whose runs carry only what ``metric`` reads (``test.accuracy`` here)."""
    assert metric == "test_accuracy"
    return VariantResults(label, label, [{"test": {"accuracy": v}} for v in values], len(values))


def results(*vs: VariantResults) -> StudyResults:
    return StudyResults(spec=None, variants=list(vs), reference=vs[0].slug)  # type: ignore[arg-type]


def claimed(expect: Expect, *vs: VariantResults) -> StudyResults:
    """Like :func:`results`, with a spec that declares ``expect``: the claim is then in the study's family
    with its own margin (a claim passed to ``check`` alone reads the verdict of its pair, if any)."""
    from reportgen.spec.catalog import Spec
    from reportgen.spec.schema import Study, Sweep

    study = Study(title="t", question="q?", sweep=Sweep(variants={v.slug: {} for v in vs}), expect=(expect,))
    return StudyResults(spec=Spec("toy", Path("toy.py"), study, ""), variants=list(vs), reference=vs[0].slug)


A = variant("a", [0.980, 0.981, 0.982])
B = variant("b", [0.970, 0.971, 0.972])
NOISY = variant("c", [0.960, 0.985, 0.975])


@pytest.mark.parametrize("expect, outcome", [
    (Expect("test_accuracy", highest="a"), "held"),
    (Expect("test_accuracy", highest="b"), "contradicted"),
    (Expect("test_accuracy", lowest="b"), "held"),
    (Expect("test_accuracy", variant="b", lower_than="a"), "held"),
    (Expect("test_accuracy", variant="b", higher_than="a"), "contradicted"),
    (Expect("test_accuracy", variant="a", at_least=0.975), "held"),
    (Expect("test_accuracy", variant="b", at_least=0.975), "contradicted"),
    (Expect("test_accuracy", variant="b", at_least=0.971), "inconclusive"),
])
def test_expectation_verdicts(expect, outcome):
    c = check(results(A, B), expect)
    assert c.outcome == outcome, c.evidence
    assert c.icon in "✅❌➖" and c.claim


def test_seed_noise_makes_a_pair_inconclusive():
    c = check(results(A, NOISY), Expect("test_accuracy", variant="c", lower_than="a"))
    assert c.outcome == "inconclusive" and "Welch's t test" in c.evidence


def test_a_quantity_equal_on_every_seed_is_compared_without_a_test():
    small, big = (VariantResults(n, n, [{"params": k}] * 3, 3) for n, k in (("small", 28_426), ("big", 225_034)))
    c = check(results(small, big), Expect("params", variant="small", lower_than="big"))
    assert c.outcome == "held" and c.evidence == "small: 28,426; big: 225,034 (the same on every seed)"
    assert check(results(small, big), Expect("params", variant="big", lower_than="small")).outcome == "contradicted"


def test_an_equivalence_margin_on_accuracy_is_in_percentage_points():
    e = Expect("test_accuracy", variant="a2", equal_to="a", delta=0.003)
    c = check(claimed(e, A, variant("a2", [0.9805, 0.981, 0.9815])), e)
    assert c.outcome == "held" and "pp" in c.evidence and "within 0.3 pp" in c.claim


def test_a_variant_without_finite_values_cannot_rank_first():
    never = VariantResults("n", "n", [{"test": {"accuracy": float("nan")}}] * 3, 3)
    assert check(results(A, B, never), Expect("test_accuracy", highest="a")).outcome == "held"


def test_a_claim_on_a_variant_not_yet_trained_says_so():
    pending = VariantResults("p", "p", [], 3)
    diverged = VariantResults("d", "d", [{"test": {"accuracy": float("nan")}}], 3)
    for expect, evidence in ((Expect("test_accuracy", variant="p", at_least=0.99), "p: no results yet"),
                             (Expect("test_accuracy", variant="p", lower_than="a"), "p: no results yet"),
                             (Expect("test_accuracy", variant="d", at_least=0.99), "d: no finite results")):
        c = check(results(A, pending, diverged), expect)
        assert (c.outcome, c.evidence) == ("inconclusive", evidence)


def test_unknown_metric_is_inconclusive_and_named():
    c = check(results(A, B), Expect("no_such_metric", highest="a"))
    assert c.outcome == "inconclusive" and "no_such_metric" in c.evidence


def test_new_metrics_read_results():
    run = {"history": [{"epoch": 1, "val_acc": 0.96}, {"epoch": 2, "val_acc": 0.971}],
           "probes": {"grad_norms": [{"epoch": 1, "layers": {"fc1": 1.0, "fc2": 4.0}},
                                     {"epoch": 2, "layers": {"fc1": 3.0, "fc2": 4.0}}]}}
    assert METRICS["epochs_to_97"].get(run) == 2
    assert METRICS["grad_norm_ratio"].get(run) == pytest.approx((0.25 + 0.75) / 2)
    assert math.isnan(METRICS["grad_norm_ratio"].get({"history": []}))


def test_factors_group_one_factor_variants_around_the_reference(tmp_path):
    spec = load_spec(REPO / "experiments" / "cnn_hyperparameters.py")
    from reportgen.spec.expand import variants
    vs = [VariantResults(slug, label, [], 3) for slug, label, _ in variants(spec.study)]
    ctx = Context(StudyResults(spec, vs, "baseline"), tmp_path, "assets")
    groups = {name: [v.slug for v in members] for name, members in factors(ctx).items()}
    assert groups == {
        "learning rate": ["lr-1e-2", "lr-1e-4"],
        "optimizer": ["sgd-momentum"],
        "batch size": ["batch-32", "batch-128", "batch-512"],
        "dropout": ["dropout-0", "dropout-0.5"],
        "weight initialization": ["init-xavier-uniform", "init-kaiming-normal", "init-normal-0.01"],
    }


def test_line_and_histogram_figures_are_byte_stable(tmp_path):
    runs = np.array([[1.0, 0.5, 0.25], [1.2, 0.6, 0.2]])
    panel = figures.Panel("p", "y", {"a": ([0, 1, 2], runs), "b": ([0, 1, 2], runs * 2)}, marks={"a": 1.0},
                          hlines=((0.5, "half"),))
    hist = {"fc1": {"a": {"counts": [1, 5, 2], "low": -1.0, "high": 1.0}}}
    for name in ("one", "two"):
        figures.lines([panel, panel], tmp_path / f"{name}.png")
        figures.histograms(hist, tmp_path / f"{name}_h.png")
    assert (tmp_path / "one.png").read_bytes() == (tmp_path / "two.png").read_bytes()
    assert (tmp_path / "one_h.png").read_bytes() == (tmp_path / "two_h.png").read_bytes()
    assert not list(tmp_path.glob(".*"))  # no temp files left behind


def test_a_changed_result_file_flips_the_verdict(tmp_path):
    """Verdicts are recomputed from the JSON on every render: editing one variant's results turns
    "dropout=0.1 has the highest test accuracy" from held into contradicted."""
    from reportgen.results import store
    from reportgen.run.plan import header, plan
    from reportgen.results.chain import collect

    spec = load_spec(REPO / "experiments" / "dropout_ablation.py")
    accuracy = {"dropout-0": 0.970, "dropout-0.1": 0.980, "dropout-0.3": 0.975, "dropout-0.5": 0.972}

    def write(acc: dict[str, float]) -> None:
        for p in plan([spec], tmp_path):
            a = acc[p.run.variant] + 0.0005 * p.run.seed
            test = {"accuracy": a, "loss": 0.1, "macro_f1": a, "roc_auc_ovr": 0.99, "per_class": {},
                    "confusion_matrix": [], "misclassified": [], "misclassified_pred": [], "misclassified_conf": [],
                    "ece": 0.01, "calibration": []}
            store.write_json(p.path, {**header(p), "status": "completed", "test": test, "history": [],
                                      "provenance": valid_result("x")["provenance"]})

    claim = Expect("test_accuracy", highest="dropout=0.1")
    write(accuracy)
    assert check(collect(spec, tmp_path), claim).outcome == "held"
    write({**accuracy, "dropout-0.1": 0.960})
    assert check(collect(spec, tmp_path), claim).outcome == "contradicted"


def test_equivalence_and_monotone_claims():
    c = variant("c", [0.9801, 0.9805, 0.9803])
    for delta, vs, outcome in ((0.004, (A, c), "held"), (0.002, (A, c), "inconclusive"), (0.002, (A, B), "contradicted")):
        e = Expect("test_accuracy", variant=vs[1].slug, equal_to="a", delta=delta)
        assert check(claimed(e, *vs), e).outcome == outcome, (delta, outcome)
    top = variant("e", [0.990, 0.991, 0.992])
    assert check(results(B, A, top), Expect("test_accuracy", monotone="increasing")).outcome == "held"
    assert check(results(A, B, variant("d", [0.96, 0.961, 0.962])),
                 Expect("test_accuracy", monotone="increasing")).outcome == "contradicted"


def test_leaderboard_lists_reused_runs_once_and_sorts_by_accuracy():
    from reportgen.report.pages.render import leaderboard

    def row(name, vs, diagnostic=False):
        study = type("T", (), {"title": name.title(), "section": "Data & baselines", "diagnostic": diagnostic})()
        return {"spec": type("S", (), {"name": name, "study": study})(), "sr": results(*vs)}

    def v(label, keys, acc):
        return VariantResults(label, label, [{"key": k, "test": {"accuracy": acc, "macro_f1": acc}, "params": 10,
                                              "history": [{"seconds": 1.0}]} for k in keys], len(keys))
    broken = row("broken", [v("w", "ef", 0.999)], diagnostic=True)  # a diagnostic study: not ranked
    board = leaderboard([row("one", [v("x", "ab", 0.97), v("y", "cd", 0.99)]), row("two", [v("z", "ab", 0.97)]), broken])
    assert [(b["study"], b["label"]) for b in board] == [("one", "y"), ("one", "x")]
    assert board[1]["also"] == [("two", "Two")]


def test_the_leaderboard_counts_the_seeds_it_uses_and_names_the_interval_it_shows():
    """A collapsed seed left out: n is the two seeds used, of three run. Two seeds 0.6 pp apart: the
    Student-t interval (t = 12.7) passes 100 %, so the cell is mean (min–max) and the note says so."""
    from reportgen.report.pages.render import ENV, leaderboard

    study = type("T", (), {"title": "One", "section": "Data & baselines", "diagnostic": False})()
    spec = type("S", (), {"name": "one", "study": study})()

    def v(label, accs):
        return VariantResults(label, label, [{"key": f"{label}{i}", "seed": i, "params": 10,
                                              "test": {"accuracy": a, "macro_f1": a},
                                              "history": [{"seconds": 1.0}]} for i, a in enumerate(accs)], len(accs))
    board = leaderboard([{"spec": spec, "sr": results(v("lr-1e-2", [0.985, 0.986, 0.1135]), v("two", [0.99, 0.996]))}])
    by = {b["label"]: b for b in board}
    assert (by["lr-1e-2"]["n"], by["lr-1e-2"]["runs"]) == (2, 3) and by["lr-1e-2"]["note"]
    assert not by["lr-1e-2"]["ranged"] and "±" in by["lr-1e-2"]["acc_cell"]
    assert by["two"]["ranged"] and by["two"]["acc_cell"] == "99.30 (99.00–99.60)"
    page = ENV.get_template("index.md.j2").render(marker="", rows=[], findings=[], sections=[], problems=[], board=board,
                                                  pareto_url=None, fmt=lambda *a: "", has_flops=False)
    assert "mean (min–max) over them" in page and "n: the seeds used" in page
    assert "| 2 of 3 |" in page and "| 2 |" in page
    one = leaderboard([{"spec": spec, "sr": results(v("three", [0.98, 0.981, 0.982]))}])
    page = ENV.get_template("index.md.j2").render(marker="", rows=[], findings=[], sections=[], problems=[], board=one,
                                                  pareto_url=None, fmt=lambda *a: "", has_flops=False)
    assert "min–max) over them" not in page and " of 3 |" not in page and "| 3 |" in page
