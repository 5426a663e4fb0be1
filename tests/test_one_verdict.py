"""One verdict per comparison: wherever a page states a verdict on a pair of variants (the answer, the
comparison table, a factor table, the claims), it is the same one, read from
:func:`reportgen.report.judge.verdicts.found`."""
from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

import pytest

from reportgen.report.judge.decisions import signed
from reportgen.report.judge.findings import check, compare
from reportgen.report.judge.verdicts import comparisons, found
from reportgen.results.chain import collect
from reportgen.spec.catalog import load_all

REPO = Path(__file__).resolve().parents[1]
NAME = r"([A-Za-z0-9_.=\-]+)"
UNIT = r"(pp|nats|%|)"
PATTERNS = (  # (regex, verdict of the first-named pair member); a, b are the named variants
    (re.compile(rf"{NAME} beats {NAME} by [0-9.]+ ?{UNIT}"), "ahead"),
    (re.compile(rf"{NAME} and {NAME} are equivalent within ±[0-9.]+ ?{UNIT}"), "equivalent"),
    (re.compile(rf"undecided between {NAME} and {NAME} \([^=]*= [-+0-9.]+ ?{UNIT}"), "undecided"),
    (re.compile(rf"no detectable difference between {NAME} and {NAME}()"), "no difference"),
)


def verdicts_on(page: str) -> dict[tuple, set[str]]:
    """(pair, unit) → the verdicts the page's text states on it."""
    seen: dict[tuple, set[str]] = defaultdict(set)
    for pattern, kind in PATTERNS:
        for a, b, unit in pattern.findall(page):
            word = f"{a} ahead" if kind == "ahead" else kind
            seen[(frozenset((a, b)), unit)].add(word)
    return seen


@pytest.mark.parametrize("page", sorted((REPO / "docs" / "studies").glob("*.md")), ids=lambda p: p.stem)
def test_a_page_states_one_verdict_per_pair(page):
    text = page.read_text()
    clashes = {tuple(sorted(pair)) + (unit,): v for (pair, unit), v in verdicts_on(text).items() if len(v) > 1}
    # a sentence without a unit ("no detectable difference") must agree with every unit's verdict on that pair
    bare = {pair: v for (pair, unit), v in verdicts_on(text).items() if unit == ""}
    for (pair, unit), v in verdicts_on(text).items():
        if unit and pair in bare and bare[pair] | v != v and "no difference" in bare[pair] and v != {"undecided"}:
            clashes[tuple(sorted(pair)) + ("?",)] = bare[pair] | v
    assert not clashes, f"{page.name}: more than one verdict on a pair: {clashes}"


def test_the_checker_finds_two_verdicts():
    text = ("baseline beats lr-1e-2 by 1.56 pp (p = 0.01). undecided between lr-1e-2 and baseline "
            "(lr-1e-2 − baseline = -1.56 pp, …)")
    assert verdicts_on(text)[(frozenset(("baseline", "lr-1e-2")), "pp")] == {"baseline ahead", "undecided"}


SPECS, _ = load_all(REPO / "experiments")


@pytest.mark.parametrize("name", ["cnn_hyperparameters", "architecture_comparison", "l2_regularization",
                                  "dropout_ablation", "early_stopping", "batch_size_noise"])
def test_claims_comparisons_and_sentences_read_one_verdict(name):
    sr = collect(SPECS[name], REPO / "results")
    for c in comparisons(sr):
        one = found(sr, "test_accuracy", c.a.slug, c.b.slug)
        assert c.decided == one
        sentence = compare(sr, c.a, c.b, "test_accuracy")[0]
        assert sentence.split(";")[0] == c.sentence.split(";")[0]
        ahead = one.decision.verdict in ("a ahead", "b ahead")
        assert c.detectable == ahead and (" beats " in sentence) == ahead
    for e in sr.spec.study.expect:
        other = e.higher_than or e.lower_than
        if not other or e.metric != "test_accuracy":
            continue
        own = sr.variant(e.variant).slug if e.variant else sr.reference
        one = found(sr, e.metric, own, sr.variant(other).slug)
        outcome = check(sr, e).outcome
        if one.decision.verdict in ("a ahead", "b ahead"):
            assert outcome == ("held" if (signed(one, own) > 0) == bool(e.higher_than) else "contradicted")
        else:
            assert outcome == {"equivalent": "equivalent"}.get(one.decision.verdict, "inconclusive")


ROW = re.compile(r"^\| (\S+) vs (\S+) \| ([-+][0-9.]+) \| <span class=\"verdict\" title=\"([^\"]*)\"", re.M)
SAID = (re.compile(r"beats \S+ by ([0-9.]+) pp"), re.compile(r"− \S+ = ([-+][0-9.]+) pp"))


@pytest.mark.parametrize("page", sorted((REPO / "docs" / "studies").glob("*.md")), ids=lambda p: p.stem)
def test_a_comparison_row_shows_the_numbers_its_verdict_was_reached_on(page):
    """The Δ column of a comparison row is the estimate the row's verdict states (a pair decided by adding
    seeds: at the look that decided it, not over seeds the reference got later for other pairs)."""
    rows = ROW.findall(page.read_text(encoding="utf-8"))
    for a, b, diff, title in rows:
        said = next((float(m.group(1)) for pattern in SAID if (m := pattern.search(title))), None)
        assert said is not None, f"{page.stem}: {a} vs {b}: no estimate in its verdict: {title}"
        assert abs(abs(float(diff)) - abs(said)) < 0.006, f"{page.stem}: {a} vs {b}: Δ {diff} but the verdict says {said}"


def test_the_pairing_rule_reads_a_result_recorded_before_data_dataset_as_on_the_default_data_set():
    from reportgen.report.judge.significance import paired_by_design

    old = {"seed": 4, "config": {"data": {"val_size": 5000, "train_subset": None}, "model": {"name": "mlp"}}}
    new = {"seed": 4, "config": {"data": {"dataset": "mnist", "val_size": 5000, "train_subset": None},
                                 "model": {"name": "mlp"}}}
    other = {"seed": 4, "config": {"data": {"dataset": "kmnist", "val_size": 5000, "train_subset": None},
                                   "model": {"name": "mlp"}}}
    assert paired_by_design(old, new) and paired_by_design(new, old)
    assert not paired_by_design(old, other)
