"""A claim on an epoch count (outside the sequential family) has the same three outcomes as one inside it:
a variant that reaches the target within one epoch of the others is *equivalent*, not "inconclusive"."""
from __future__ import annotations

import pytest

from reportgen.report.judge.findings import check
from reportgen.report.judge.margins import EPOCH_MARGIN, margin_of
from reportgen.spec import Expect
from reportgen.results.summary import StudyResults, VariantResults

MODEL = {"kind": "mlp", "hidden": [128], "activation": "relu", "dropout": 0.1, "init": "default"}
DATA = {"val_size": 5000, "train_subset": None, "test_subset": None, "shuffled_labels": 0.0}


def run(seed: int, reached: int, optim: str) -> dict:
    """A 10-epoch run whose validation accuracy first reaches 97 % at epoch ``reached``."""
    history = [{"epoch": k, "seconds": 1.0, "val_acc": 0.975 if k >= reached else 0.95} for k in range(1, 11)]
    return {"seed": seed, "status": "completed", "test": {"accuracy": 0.975, "macro_f1": 0.975},
            "config": {"model": MODEL, "data": DATA, "train": {"batch_size": 32}, "optim": {"name": optim}},
            "provenance": {"device": "cpu (x86_64, 1 thread)"}, "history": history}


def variant(label: str, epochs: list[int]) -> VariantResults:
    return VariantResults(label, label, [run(i, e, label) for i, e in enumerate(epochs)], len(epochs))


def study(**variants: list[int]) -> StudyResults:
    vs = [variant(k.replace("_", "-"), e) for k, e in variants.items()]
    return StudyResults(spec=None, variants=vs, reference=vs[0].slug)  # type: ignore[arg-type]


# optimizer_comparison's per-seed epochs to 97 %: adam, sgd-momentum (seeds 0-8), sgd.
ADAM = [2, 2, 1, 2, 2, 1, 1, 1, 2]
MOMENTUM = [2, 2, 1, 2, 1, 2, 1, 1, 2]
SGD = [5, 6, 4, 5, 5, 5, 6, 5, 6]


def test_an_epoch_count_has_a_margin_of_one_epoch_and_test_accuracy_keeps_its_own():
    sr = study(adam=ADAM, sgd=SGD)
    assert margin_of(sr, "epochs_to_97") == EPOCH_MARGIN == 1.0
    assert margin_of(sr, "best_epoch") == 1.0
    assert margin_of(sr, "val_loss") is None


def test_a_tie_within_one_epoch_is_equivalent_and_says_how_each_other_variant_was_judged():
    c = check(study(adam=ADAM, sgd_momentum=MOMENTUM, sgd=SGD), Expect("epochs_to_97", lowest="adam"))
    assert c.outcome == "equivalent"
    assert "equivalent to sgd-momentum" in c.evidence and "inside ±1 epoch" in c.evidence
    assert "ahead of sgd" in c.evidence and "intersection–union" in c.evidence
    assert c.needed is None


@pytest.mark.parametrize("epochs, outcome", [
    ([1, 1, 1, 1, 1, 1, 1, 1, 1], "held"),          # one epoch ahead of every seed of sgd-momentum: faster
    ([3, 3, 2, 3, 3, 3, 2, 2, 3], "contradicted"),  # a whole epoch behind sgd-momentum
    ([1, 4, 1, 4, 1, 4, 1, 4, 1], "inconclusive"),  # so spread that neither a lead nor a tie is shown
])
def test_a_clear_lead_or_lag_is_not_called_a_tie(epochs, outcome):
    c = check(study(adam=epochs, sgd_momentum=MOMENTUM, sgd=SGD), Expect("epochs_to_97", lowest="adam"))
    assert c.outcome == outcome, c.evidence


def test_a_pair_claim_on_an_epoch_count_can_be_equivalent_too():
    sr = study(adam=ADAM, sgd_momentum=MOMENTUM)
    assert check(sr, Expect("epochs_to_97", variant="adam", lower_than="sgd-momentum")).outcome == "equivalent"
    spread = study(adam=[1, 4, 1, 4, 1, 4, 1, 4, 1], sgd_momentum=MOMENTUM)
    assert check(spread, Expect("epochs_to_97", variant="adam", lower_than="sgd-momentum")).outcome == "inconclusive"


def test_the_answer_names_as_fastest_the_variants_the_claim_finds_within_one_epoch():
    from reportgen.report.analyses.headlines_runs import _fastest

    sr = study(sgd_momentum=MOMENTUM, adam=ADAM, sgd=SGD)
    by_label = {v.label: v for v in sr.variants}
    reach = {v.label: [float(x) for x in v.values("epochs_to_97")] for v in sr.variants}
    said = _fastest(sr, by_label, ["sgd-momentum", "adam", "sgd"], reach)
    assert said.startswith("fastest: **sgd-momentum and adam**, adam within ±1 epoch of sgd-momentum")
    assert "sgd slower" in said
    spread = study(sgd_momentum=MOMENTUM, adam=[1, 4, 1, 4, 1, 4, 1, 4, 1])
    reach = {v.label: [float(x) for x in v.values("epochs_to_97")] for v in spread.variants}
    said = _fastest(spread, {v.label: v for v in spread.variants}, ["sgd-momentum", "adam"], reach)
    assert said.startswith("fastest: **sgd-momentum**; adam not told apart from sgd-momentum")
