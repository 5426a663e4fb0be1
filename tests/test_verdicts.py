"""The sequential three-way verdicts: the t tests against scipy and statsmodels, the spending schedule,
an A/A simulation of the whole procedure (family-wise error rate), its power against the bound the
design claims, and the record that adds seeds to a study's plan."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError
from scipy import stats
from statsmodels.stats.weightstats import ttost_ind, ttost_paired

from reportgen.report.judge import simulate as S
from reportgen.report.judge import verdicts as V
from reportgen.report.judge.margins import default_margin
from reportgen.results import sequential
from reportgen.results.sequential import Member, Record
from reportgen.spec.catalog import Spec
from reportgen.spec.expand import SpecError, expand
from reportgen.spec.schema import Study, Sweep


def test_t_tests_match_scipy_and_statsmodels():
    rng = np.random.default_rng(0)
    a, b = rng.normal(0.2, 1, 7), rng.normal(0, 1, 7)
    paired = V.t_tests(a[None], b[None], True, 0.5)
    assert paired.p[0] == pytest.approx(stats.ttest_rel(a, b).pvalue)
    assert paired.p_eq[0] == pytest.approx(ttost_paired(a, b, -0.5, 0.5)[0])
    welch = V.t_tests(a[None], b[None], False, 0.5)
    assert welch.p[0] == pytest.approx(stats.ttest_ind(a, b, equal_var=False).pvalue)
    assert welch.p_eq[0] == pytest.approx(ttost_ind(a, b, -0.5, 0.5, usevar="unequal")[0])
    one = V.t_tests(a[None], None, False, None, bound=0.1)
    assert one.p[0] == pytest.approx(stats.ttest_1samp(a, 0.1).pvalue)
    ci = stats.ttest_rel(a, b).confidence_interval()
    assert (paired.low[0], paired.high[0]) == pytest.approx((ci.low, ci.high))
    assert np.isnan(V.t_tests(a[None, :1], b[None, :1], True, 0.5).p[0])  # one seed: no test


def test_spending_is_spent_exactly_over_the_schedule():
    assert V.schedule(3, 2, 20) == [3, 5, 7, 9, 11, 13, 15, 17, 19, 20]
    assert V.schedule(3, 5, 3) == [3]
    incs = V.increments(3, 2, 20, 0.05)
    assert sum(incs) == pytest.approx(0.05) and all(i > 0 for i in incs)
    assert V.spending(0.0) == 0 and V.spending(1.0) == pytest.approx(0.05)
    with pytest.raises(ValueError, match="cap"):
        V.schedule(5, 2, 4)
    assert default_margin(0.99, 10_000) == pytest.approx(0.0014, abs=1e-4)


@pytest.mark.parametrize("delta", [None, 0.14])
def test_aa_simulation_keeps_the_family_wise_error_rate(delta):
    """2,000 studies of 3 comparisons with no true difference, looked at after every batch of 2
    seeds from 3 to 20: some false difference in at most 6 % of them (the procedure aims at 5 %)."""
    sim = S.simulate([0.0, 0.0, 0.0], sd=0.2, n0=3, batch=2, max_seeds=20, delta=delta, studies=2000, seed=11)
    rate = sim.false_decision(np.zeros(3), delta).mean()
    assert rate <= 0.06
    if delta is not None:  # with a margin, a null comparison is often found equivalent
        assert (sim.codes == 3).mean() > 0.01


def test_aa_simulation_fails_without_the_correction():
    """The check can fail: testing every look at the full α (no spending) exceeds 6 %."""
    sim = S.simulate([0.0, 0.0, 0.0], sd=0.2, n0=3, batch=2, max_seeds=20, delta=None, studies=2000, seed=11,
                     alpha=0.05 * 10 * 3)
    assert sim.false_decision(np.zeros(3), None).mean() > 0.06


def test_a_true_effect_is_found_with_the_power_the_design_claims():
    effects = [0.2, 0.0, 0.0]
    sim = S.simulate(effects, sd=0.2, n0=3, batch=2, max_seeds=20, delta=0.1, studies=2000, seed=5)
    found = (sim.codes[:, 0] == 1).mean()
    claimed = S.claimed_power(0.2, 0.2, 3, 2, 20, m=6)
    assert 0.3 < claimed < 1
    assert found >= claimed - 3 * np.sqrt(claimed * (1 - claimed) / 2000)
    big = S.simulate([1.0, -1.0], sd=0.2, n0=3, batch=2, max_seeds=20, delta=None, studies=200, seed=5)
    assert (big.seeds < 20).all() and (big.codes == [1, 2]).all()  # large effects stop early, the right way round


def test_step_down_rejects_in_holm_order():
    p = np.array([[0.001, 0.02, 0.04]])
    got = V.step_down(p, np.ones((1, 3), bool), np.zeros(1, int), 3, 0.05)
    assert got.tolist() == [[True, True, True]]  # 0.001 ≤ .05/3, 0.02 ≤ .05/2, 0.04 ≤ .05
    got = V.step_down(np.array([[0.02, 0.04, 0.9]]), np.ones((1, 3), bool), np.zeros(1, int), 3, 0.05)
    assert got.tolist() == [[False, False, False]]  # 0.02 > .05/3: nothing


def test_verdict_words_follow_the_metric_direction():
    acc = Member(id="x", metric="test_accuracy", a="a", b="b")
    loss = Member(id="y", metric="val_loss", a="a", b="b")
    assert V.verdict_of(acc, 0.3, True, False) == "a ahead"
    assert V.verdict_of(loss, 0.3, True, False) == "b ahead"  # a's loss is higher: b is better
    assert V.verdict_of(Member(id="z", metric="test_accuracy", a="a", bound=97.5), -0.1, True, False) == "below"
    assert V.verdict_of(acc, 0.0, False, True) == "equivalent"


def _spec(tmp_path: Path, **sweep) -> Spec:
    study = Study(title="t", question="q?", sweep=Sweep(variants={"a": {}, "b": {"optim.lr": 0.01}}, **sweep))
    return Spec("toy", tmp_path / "toy.py", study, "")


def test_the_record_adds_seeds_to_the_plan(tmp_path):
    spec = _spec(tmp_path)
    record = Record(study="toy", alpha=0.05, spending=V.SPENDING, max_seeds=6, batch=2, n0=3,
                    family=[Member(id="test_accuracy: a vs b", metric="test_accuracy", a="a", b="b")],
                    added={"b": [3, 4]})
    sequential.save(tmp_path, record)
    assert sequential.load(tmp_path, "toy") == record
    merged = sequential.with_added_seeds(spec, tmp_path)
    runs = expand(merged.study, "toy")
    assert sorted((r.variant, r.seed) for r in runs) == sorted(
        [("a", s) for s in range(3)] + [("b", s) for s in range(5)])
    assert sequential.with_added_seeds(spec, tmp_path, smoke=True) is spec


def test_extra_seeds_are_checked_where_they_are_declared(tmp_path):
    with pytest.raises(ValidationError, match="repeats seeds"):
        Sweep(seeds=(0, 1), extra_seeds={"a": (1, 2)})
    with pytest.raises(SpecError, match="names no variant: c"):
        expand(_spec(tmp_path, extra_seeds={"c": (5,)}).study, "toy", "toy.py")


def test_a_broken_record_is_named(tmp_path):
    path = sequential.path_of(tmp_path, "toy")
    path.parent.mkdir(parents=True)
    path.write_text('{"study": "toy"}')
    with pytest.raises(ValueError, match="_sequential/toy.json: not a sequential record"):
        sequential.load(tmp_path, "toy")


def test_shaffer_is_holm_with_one_hypothesis_per_pair_and_counts_pairs_otherwise():
    from statsmodels.stats.multitest import multipletests

    p = [0.01, 0.04, 0.03, 0.2]
    assert V.shaffer(p, [0, 1, 2, 3]) == pytest.approx(multipletests(p, method="holm")[1])
    # two hypotheses of one pair can't both be true: the smallest p is multiplied by 2 pairs, not 4 hypotheses
    assert V.shaffer([0.01, 0.02, 0.03, 0.5], [0, 1, 0, 1]) == pytest.approx([0.02, 0.04, 0.06, 0.5])


def test_one_look_with_margins_keeps_the_family_wise_error_rate():
    """2,000 studies of 3 null pairs with margins, decided at one look by Shaffer's step-down on both
    hypotheses of each pair: a false difference in at most 6 %."""
    rng = np.random.default_rng(3)
    false = 0
    for _ in range(2000):
        d = rng.normal(0, 0.2, (3, 5))
        t = V.t_tests(d, None, False, 0.1)
        adj = V.shaffer([*t.p.tolist(), *t.p_eq.tolist()], [0, 1, 2, 0, 1, 2])
        false += any(q <= 0.05 for q in adj[:3])
    assert false / 2000 <= 0.06
