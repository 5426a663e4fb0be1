"""``reportgen run STUDY --until-decided`` on a toy study whose results a fake trainer writes: seeds are
added in paired batches until the comparison is decided, the record resumes, the budget and the seed
cap stop it, and a changed design is refused."""
from __future__ import annotations

import argparse
from pathlib import Path

import pytest
from rich.console import Console

from reportgen.report.judge.findings import check
from reportgen.results import sequential, store
from reportgen.results.chain import collect
from reportgen.run.plan import header, plan
from reportgen.spec.catalog import load_spec
from reportgen.untildecided import parse_budget, until_decided

from conftest import valid_result

SPEC = '''"""Toy: does a beat b?"""
from reportgen.spec import MLP, Expect, Study, Sweep, Train

STUDY = Study(title="toy", question="Does a beat b?", model=MLP(hidden=(8,)), train=Train(epochs=1),
              sweep=Sweep(variants={"a": {}, "b": {"optim.lr": 0.01}}, seeds=(0, 1, 2)),
              expect=(Expect("test_accuracy", variant="a", higher_than="b", source="test"),))
'''


#: a − b per seed: noisy at first, then steady (undecided at the first looks, decided by the ninth seed)
AHEAD = (0.006, -0.002, 0.005, 0.003, 0.0035, 0.003, 0.0032, 0.0031, 0.0033)
EVEN = (0.002, -0.002, 0.001, -0.001, 0.0015, -0.0015, 0.0005, -0.0005, 0.0)


def _setup(tmp_path: Path, diffs: tuple[float, ...]):
    (tmp_path / "exp").mkdir()
    (tmp_path / "exp" / "toy.py").write_text(SPEC)
    spec = load_spec(tmp_path / "exp" / "toy.py")
    results = tmp_path / "results"
    trained: list[tuple[str, int]] = []

    def train(s) -> float:
        for p in plan([s], results):
            if p.action != "train":
                continue
            acc = 0.975 + (diffs[p.run.seed] if p.run.variant == "a" else 0.0)
            test = {"accuracy": acc, "loss": 0.1, "macro_f1": acc, "roc_auc_ovr": 0.99, "per_class": {},
                    "confusion_matrix": [], "misclassified": [], "misclassified_pred": [], "misclassified_conf": [],
                    "ece": 0.01, "calibration": []}
            store.write_json(p.path, {**header(p), "status": "completed", "test": test, "history": [],
                                      "wall_seconds": 10.0, "provenance": valid_result("x")["provenance"]})
            trained.append((p.run.variant, p.run.seed))
        return 1.0

    return spec, results, train, trained


def _args(**kw) -> argparse.Namespace:
    return argparse.Namespace(**{"budget": None, "max_seeds": 9, "batch": 2, "family_kind": "all", **kw})


def test_seeds_are_added_in_paired_batches_until_the_comparison_is_decided(tmp_path):
    spec, results, train, trained = _setup(tmp_path, AHEAD)
    console = Console(file=open("/dev/null", "w"))
    assert until_decided(spec, _args(), console, results, train) == "all decided"
    record = sequential.load(results, "toy")
    assert record.added["a"] == record.added["b"] == [3, 4, 5, 6, 7, 8]  # the same new seeds for both
    assert [d.verdict for look in record.looks for d in look.decisions.values()] == ["undecided"] * 3 + ["a ahead"]
    assert [look.n for look in record.looks] == list(range(3, 3 + 2 * len(record.looks), 2))
    decided = record.decided()["test_accuracy: a vs b"][0]
    assert decided.verdict == "a ahead" and decided.rejected == ["difference"]
    assert sum(v == "a" for v, _ in trained) == 3 + len(record.added["a"])
    sr = collect(spec, results)  # the added seeds are part of the study now: planned, collected, judged
    assert len(sr.variant("a").runs) == 3 + len(record.added["a"]) and sr.complete
    assert check(sr, spec.study.expect[0]).outcome == "held"
    assert "decided at look" in check(sr, spec.study.expect[0]).evidence
    before = len(trained)
    assert until_decided(spec, _args(), console, results, train) == "all decided"  # resumes: nothing to add
    assert len(trained) == before


def test_the_cap_and_the_budget_stop_it_and_the_design_stays_fixed(tmp_path):
    spec, results, train, _ = _setup(tmp_path, EVEN)
    console = Console(file=open("/dev/null", "w"))
    assert until_decided(spec, _args(budget="5s"), console, results, train) == "budget"  # 2 × 2 × 10 s > 5 s
    assert len(sequential.load(results, "toy").looks) == 1
    with pytest.raises(ValueError, match="fixed at its first look"):
        until_decided(spec, _args(max_seeds=12), console, results, train)
    assert until_decided(spec, _args(), console, results, train) == "seed cap"
    record = sequential.load(results, "toy")
    assert record.looks[-1].n == 9 and record.stopped == "seed cap"


def test_a_budget_is_read_with_its_unit():
    assert parse_budget("90m") == 5400 and parse_budget("2h") == 7200 and parse_budget("30") == 30
    with pytest.raises(ValueError, match="90m"):
        parse_budget("soon")


SPEC3 = '''"""Toy: is a at least 97.5 %, and does b beat c?"""
from reportgen.spec import MLP, Expect, Study, Sweep, Train

STUDY = Study(title="toy", question="Is a at least 97.5 %, and does b beat c?", model=MLP(hidden=(8,)),
              train=Train(epochs=1),
              sweep=Sweep(variants={"a": {}, "b": {"optim.lr": 0.01}, "c": {"optim.lr": 0.1}}, seeds=(0, 1, 2)),
              expect=(Expect("test_accuracy", variant="a", at_least=0.975, source="test"),
                      Expect("test_accuracy", variant="b", higher_than="c", source="test")))
'''


def test_variants_keep_the_family_to_one_claim_and_only_its_variant_gets_seeds(tmp_path):
    spec, results, train, trained = _setup(tmp_path, AHEAD)
    (tmp_path / "exp" / "toy.py").write_text(SPEC3)
    spec = load_spec(tmp_path / "exp" / "toy.py")
    console = Console(file=open("/dev/null", "w"))
    with pytest.raises(ValueError, match=r"'z' is not a variant of toy; its variants: a, b, c"):
        until_decided(spec, _args(family_kind="claims", variants="z"), console, results, train)
    sequential.path_of(results, "toy").unlink(missing_ok=True)
    assert until_decided(spec, _args(family_kind="claims", variants="a"), console, results, train) == "all decided"
    record = sequential.load(results, "toy")
    assert record.variants == ["a"] and [m.id for m in record.family] == ["test_accuracy: a vs 97.5 %"]
    assert set(record.added) == {"a"}  # b and c, outside the family, get no seeds
    assert record.decided()["test_accuracy: a vs 97.5 %"][0].verdict == "above"
    assert {v for v, s in trained if s >= 3} == {"a"}
    with pytest.raises(ValueError, match="fixed at its first look"):
        until_decided(spec, _args(family_kind="claims", variants="a,b"), console, results, train)
    assert until_decided(spec, _args(family_kind="claims", variants="a"), console, results, train) == "all decided"
    sr = collect(spec, results)  # the claim left out is judged at the seeds its variants have
    assert len(sr.variant("a").runs) > 3 and len(sr.variant("b").runs) == 3
    assert check(sr, spec.study.expect[0]).outcome == "held"
    assert "decided at look" in check(sr, spec.study.expect[0]).evidence
    assert "look" not in check(sr, spec.study.expect[1]).evidence  # not from the sequential design
    from reportgen.report.pages.narrowing import rows

    page = rows(sr)  # the page names the variants the family was kept to
    assert page["among"] == "a" and page["hypotheses"] == 1 and [r["what"] for r in page["rows"]] == ["a vs 97.5 %"]
    assert page["hours"] * 3600 == pytest.approx(10.0 * len(record.added["a"]))  # the added runs' recorded times


def test_variants_that_leave_no_comparison_are_refused(tmp_path):
    spec, results, train, _ = _setup(tmp_path, AHEAD)
    (tmp_path / "exp" / "toy.py").write_text(SPEC3)
    spec = load_spec(tmp_path / "exp" / "toy.py")
    with pytest.raises(ValueError, match="no comparison or claim of toy's family"):
        until_decided(spec, _args(family_kind="claims", variants="b"), Console(file=open("/dev/null", "w")),
                      results, train)
