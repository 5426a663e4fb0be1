"""The ``diagnosis`` analysis: each failure planted by training a tiny model on synthetic data and
recognised; the rules on hand-built results (order, thresholds, runs without ``grad_norms``); the
analysis and its template end to end on a fake study."""
from __future__ import annotations

import math
from types import SimpleNamespace

import pytest

from reportgen.report.analyses import ANALYSES, Context
from reportgen.report.analyses.diagnosis import LABELS, RULES, THRESHOLDS, diagnose, diagnosis
from reportgen.spec.expand import set_path
from reportgen.run.probes.training import make_probes
from reportgen.spec import ANALYSIS_NAMES, RunConfig
from reportgen.run.train import train_run

BASE = RunConfig.model_validate({
    "model": {"kind": "mlp", "hidden": [32]}, "optim": {"name": "adam", "lr": 1e-3},
    "train": {"epochs": 3, "batch_size": 32}, "data": {"val_size": 100}, "probes": [{"name": "grad_norms"}]})

#: One deliberately failed (or healthy) configuration per label, sized for the 1,100-image blobs of
#: ``tiny_mnist`` (1,000 for training, 100 for validation).
PLANTS = {
    # SGD at lr 10 with momentum on unnormalised inputs: the loss explodes within the epoch.
    "diverged": {"optim.name": "sgd", "optim.lr": 10.0, "optim.momentum": 0.9, "data.train_subset": 200,
                 "train.epochs": 1},
    # Eight sigmoid layers and plain SGD: the first layer's gradient is ~1e-6 of the last's.
    "vanishing_gradients": {"model.hidden": [32] * 8, "model.activation": "sigmoid", "optim.name": "sgd",
                            "optim.lr": 0.01},
    # Two hidden units for ten classes.
    "underfit": {"model.hidden": [2], "train.epochs": 8},
    # A wide layer on 50 noisy images: fits them all, generalises less well.
    "overfit": {"model.hidden": [256], "data.train_subset": 50, "train.epochs": 30},
    # Random labels (Zhang et al. 2017): fitted, and validation at chance.
    "memorised": {"model.hidden": [256, 256], "data.train_subset": 200, "data.shuffled_labels": 1.0,
                  "train.epochs": 40},
    "healthy": {},
}


def config(overrides: dict, probes: bool = True) -> RunConfig:
    tree = BASE.model_dump()
    for path, value in overrides.items():
        set_path(tree, path, value)
    if not probes:
        tree["probes"] = []
    return RunConfig.model_validate(tree)


def trained(overrides: dict, data, probes: bool = True) -> dict:
    cfg = config(overrides, probes)
    return train_run(cfg, 0, data, probes=make_probes(cfg))


def test_every_label_has_a_plant_and_a_rule():
    assert set(PLANTS) == set(LABELS)
    assert {name for name, _, _ in RULES} | {"healthy"} == set(LABELS)
    assert "diagnosis" in ANALYSIS_NAMES and ANALYSES["diagnosis"] is diagnosis


@pytest.mark.parametrize("label", list(PLANTS))
def test_planted_failure_is_diagnosed(label, tiny_mnist):
    d = diagnose(trained(PLANTS[label], tiny_mnist))
    assert d.label == label, d


@pytest.mark.parametrize("label, expected", [("healthy", "healthy"), ("underfit", "underfit"),
                                             ("vanishing_gradients", "underfit")])
def test_a_run_without_grad_norms_still_gets_a_label(label, expected, tiny_mnist):
    """Without the probe the vanishing-gradient rule is skipped: the deep sigmoid stack is then
    diagnosed by what its curves show, underfitting."""
    d = diagnose(trained(PLANTS[label], tiny_mnist, probes=False))
    assert math.isnan(d.evidence.grad_ratio)
    assert d.label == expected, d


def result(train_acc: float = 0.99, val_acc: float = 0.98, train_loss: float = 0.05, status: str = "completed",
           ratio: float | None = None, val_loss: float = 0.1, epochs: int = 3) -> dict:
    """A hand-built result: ``epochs`` identical history rows ending at the given values."""
    row = {"train_loss": train_loss, "train_acc": train_acc, "train_eval_loss": train_loss,
           "train_eval_acc": train_acc, "val_loss": val_loss, "val_acc": val_acc}
    out = {"status": status, "reason": "", "seed": 0,
           "history": [{"epoch": e + 1, **row} for e in range(epochs)], "probes": {}}
    if ratio is not None:
        out["probes"]["grad_norms"] = [{"epoch": e + 1, "layers": {"fc1": ratio, "fc2": 1.0}} for e in range(epochs)]
    return out


LOSS = THRESHOLDS["exploding_loss"].value


@pytest.mark.parametrize("run, label", [
    (result(status="diverged"), "diverged"),
    (result(val_loss=math.nan), "diverged"),
    (result(train_loss=LOSS * 1.01, train_acc=0.1, val_acc=0.1), "diverged"),
    (result(train_loss=LOSS * 0.99, train_acc=0.1, val_acc=0.1), "underfit"),
    (result(train_acc=1.0, val_acc=0.1), "memorised"),  # memorised is checked before overfit
    (result(train_acc=0.6, val_acc=0.15), "memorised"),  # ... and before underfit
    (result(train_acc=0.6, val_acc=0.5), "underfit"),
    (result(train_acc=0.1, val_acc=0.1, ratio=1e-5), "vanishing_gradients"),
    (result(train_acc=0.1, val_acc=0.1, ratio=0.5), "underfit"),
    (result(train_acc=0.1, val_acc=0.1), "underfit"),  # no probe: the vanishing rule is skipped
    (result(train_acc=0.99, val_acc=0.98, ratio=1e-5), "healthy"),  # a small ratio alone is no failure
    (result(train_acc=1.0, val_acc=0.94), "overfit"),
    (result(train_acc=1.0, val_acc=0.96), "healthy"),
    (result(), "healthy"),
])
def test_rules_on_hand_built_results(run, label):
    assert diagnose(run).label == label


def test_analysis_labels_variants_and_draws_its_evidence(tmp_path):
    from reportgen.report.pages.render import ENV

    variants = [
        SimpleNamespace(label="ok", slug="ok", runs=[result(), result(), result(train_acc=1.0, val_acc=0.9)]),
        SimpleNamespace(label="tie", slug="tie", runs=[result(ratio=0.8), result(train_acc=0.2, val_acc=0.2, ratio=1e-6)]),
        SimpleNamespace(label="boom", slug="boom", runs=[result(status="diverged", train_loss=math.nan, epochs=2)]),
        SimpleNamespace(label="none", slug="none", runs=[]),
    ]
    ctx = Context(SimpleNamespace(variants=variants), tmp_path, "../assets/x")
    out = diagnosis(ctx)
    by = {r["label"]: r for r in out["rows"]}
    assert set(by) == {"ok", "tie", "boom"}
    assert (by["ok"]["diagnosis"], by["ok"]["count"], by["ok"]["others"]) == ("healthy", 2, "overfit 1")
    assert by["tie"]["diagnosis"] == "vanishing_gradients"  # a 1–1 tie goes to the earlier rule
    assert by["boom"]["diagnosis"] == "diverged" and by["boom"]["max_loss"] == "non-finite in 1/1"
    assert out["without_probe"] == ["ok", "boom"]
    assert (tmp_path / "diagnosis_curves.png").stat().st_size > 0
    assert (tmp_path / "diagnosis_evidence.png").stat().st_size > 0
    page = ENV.get_template("analyses/diagnosis.md.j2").render(**out, sr=ctx.sr)
    assert page.startswith("## Diagnosis")
    for name, t in THRESHOLDS.items():
        assert f"`{name}`" in page
    assert "| 90 % |" in page and "| 5 pp |" in page and "| 0.01 |" in page
