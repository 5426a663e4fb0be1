"""Tests for reportgen.results.stats against hand-computed values and independent references."""

import dataclasses
import math

import numpy as np
import pytest
from scipy import stats as st

from reportgen.results.stats import (
    Interval,
    correct_vector,
    holm,
    mcnemar_exact,
    one_sample,
    paired_bootstrap,
    paired_t,
    pooled_mcnemar,
    t_interval,
    verdict,
    welch,
)


def _table(b, c, both_right=50, both_wrong=7):
    """Paired correctness arrays with exactly b (A right, B wrong) and c (A wrong, B right)."""
    a = [True] * b + [False] * c + [True] * both_right + [False] * both_wrong
    bb = [False] * b + [True] * c + [True] * both_right + [False] * both_wrong
    return np.array(a), np.array(bb)


# --- t_interval ----------------------------------------------------------------------------

def test_t_interval_hand_computed():
    # df = 2 has a closed-form quantile: t = (2p - 1) / sqrt(2 p (1 - p)), p = 0.975 -> 4.30265...
    t975 = 0.95 / math.sqrt(2 * 0.975 * 0.025)
    assert t975 == pytest.approx(4.302652729749464, rel=1e-12)
    iv = t_interval([0.97, 0.98, 0.99])
    assert iv.n == 3
    assert iv.mean == pytest.approx(0.98, abs=1e-12)
    assert iv.half_width == pytest.approx(t975 * 0.01 / math.sqrt(3), rel=1e-9)
    assert iv.half_width == pytest.approx(0.0248413, abs=1e-7)
    assert iv.low == pytest.approx(0.98 - iv.half_width)
    assert iv.high == pytest.approx(0.98 + iv.half_width)


def test_t_interval_matches_scipy_interval_and_confidence_level():
    x = np.array([0.9912, 0.9921, 0.9897, 0.9930, 0.9905])
    for conf in (0.9, 0.99):
        lo, hi = st.t.interval(conf, len(x) - 1, loc=x.mean(), scale=st.sem(x))
        iv = t_interval(x, confidence=conf)
        assert (iv.low, iv.high) == pytest.approx((lo, hi), rel=1e-12)
    assert t_interval(x, 0.99).half_width > t_interval(x, 0.9).half_width


def test_t_interval_is_frozen_and_accepts_generators():
    iv = t_interval(v for v in [1.0, 3.0])
    assert isinstance(iv, Interval) and iv.mean == 2.0
    with pytest.raises(dataclasses.FrozenInstanceError):
        iv.mean = 0.0


def test_t_interval_single_value_gives_nan_width():
    iv = t_interval([0.5])
    assert iv.mean == 0.5 and iv.n == 1
    assert math.isnan(iv.half_width) and math.isnan(iv.low) and math.isnan(iv.high)


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_t_interval_non_finite_propagates_nan(bad):
    iv = t_interval([0.9, bad, 0.95])
    assert iv.n == 3 and math.isnan(iv.mean) and math.isnan(iv.half_width)


def test_t_interval_errors():
    with pytest.raises(ValueError, match="at least one"):
        t_interval([])
    with pytest.raises(ValueError, match="confidence"):
        t_interval([1.0, 2.0], confidence=95)
    with pytest.raises(ValueError, match="1-D"):
        t_interval([[1.0, 2.0]])


# --- McNemar ---------------------------------------------------------------------------------

def test_mcnemar_known_exact_p():
    a, b = _table(1, 9)
    r = mcnemar_exact(a, b)
    assert (r.b, r.c) == (1, 9)
    # 2 * P(X <= 1), X ~ Bin(10, 1/2) = 2 * (1 + 10) / 1024
    assert r.p == pytest.approx(22 / 1024, rel=1e-12)
    assert r.p == pytest.approx(0.021484375, rel=1e-12)


def test_mcnemar_direction_and_other_tables():
    a, b = _table(9, 1)
    assert (mcnemar_exact(b, a).b, mcnemar_exact(b, a).c) == (1, 9)
    assert mcnemar_exact(*_table(0, 5)).p == pytest.approx(2 / 32)  # 2 * 0.5**5
    assert mcnemar_exact(*_table(5, 5)).p == pytest.approx(1.0)


def test_mcnemar_no_discordant_pairs_and_int_input():
    r = mcnemar_exact(*_table(0, 0))
    assert (r.b, r.c, r.p) == (0, 0, 1.0)
    r = mcnemar_exact([1, 0, 1, 1], [0, 1, 0, 1])
    assert (r.b, r.c) == (2, 1)


def test_mcnemar_errors():
    with pytest.raises(ValueError, match=r"has 3.*has 2"):
        mcnemar_exact([True, True, False], [True, False])
    with pytest.raises(ValueError, match="boolean"):
        mcnemar_exact([0.2, 1.0], [1, 0])


def test_pooled_mcnemar_sums_counts():
    r = pooled_mcnemar([_table(1, 4), _table(0, 5)])
    assert (r.b, r.c) == (1, 9)
    assert r.p == pytest.approx(22 / 1024)
    # Pooling two tables equals testing their concatenation.
    (a1, b1), (a2, b2) = _table(3, 8), _table(2, 0)
    assert pooled_mcnemar([(a1, b1), (a2, b2)]) == mcnemar_exact(np.r_[a1, a2], np.r_[b1, b2])
    assert pooled_mcnemar([]).p == 1.0
    with pytest.raises(ValueError, match="differ in length"):
        pooled_mcnemar([_table(1, 1), ([True], [True, False])])


# --- Welch -----------------------------------------------------------------------------------

def test_welch_hand_computed():
    # a: mean 2, var 1; b: mean 5.5, var 29/3 -> se^2 = 1/3 + 29/12 = 2.75
    r = welch([1.0, 2.0, 3.0], [2.0, 4.0, 7.0, 9.0])
    se2 = 1 / 3 + 29 / 12
    df = se2**2 / ((1 / 3) ** 2 / 2 + (29 / 12) ** 2 / 3)
    assert r.diff == pytest.approx(-3.5)
    assert r.t == pytest.approx(-3.5 / math.sqrt(2.75), rel=1e-12)
    assert r.t == pytest.approx(-2.110579, abs=1e-6)
    assert r.df == pytest.approx(df, rel=1e-12)
    assert r.df == pytest.approx(3.776879, abs=1e-6)
    half = st.t.ppf(0.975, df) * math.sqrt(se2)
    assert (r.low, r.high) == pytest.approx((-3.5 - half, -3.5 + half), rel=1e-10)
    assert r.p == pytest.approx(2 * st.t.sf(abs(r.t), df), rel=1e-10)


def test_welch_matches_scipy():
    rng = np.random.default_rng(1)
    a, b = rng.normal(0.99, 0.001, 5), rng.normal(0.988, 0.003, 7)
    ref = st.ttest_ind(a, b, equal_var=False)
    r = welch(a, b)
    assert r.diff == pytest.approx(a.mean() - b.mean())
    assert (r.t, r.df, r.p) == pytest.approx((ref.statistic, ref.df, ref.pvalue))
    ci = ref.confidence_interval(0.95)
    assert (r.low, r.high) == pytest.approx((ci.low, ci.high))
    assert r.low < r.diff < r.high


def test_welch_small_groups_are_nan_not_errors():
    r = welch([1.0], [2.0, 3.0])
    assert r.diff == pytest.approx(-1.5)
    assert all(math.isnan(v) for v in (r.t, r.df, r.p, r.low, r.high))
    assert math.isnan(welch([], [1.0, 2.0]).diff)


# --- paired and one-sample t tests ----------------------------------------------------------

def test_paired_t_hand_computed_and_against_scipy():
    # Differences -0.14, -0.32, -0.40: mean -0.2867, sd 0.1332, t = mean / (sd / sqrt 3) = -3.7286, df 2.
    a, b = [97.58, 97.47, 97.40], [97.72, 97.79, 97.80]
    r = paired_t(a, b)
    assert (r.kind, r.alternative, r.df) == ("paired", "two-sided", 2)
    assert r.diff == pytest.approx(-0.28667, abs=1e-5) and r.t == pytest.approx(-3.72857, abs=1e-4)
    assert r.p == pytest.approx(st.ttest_rel(a, b).pvalue) and r.p == pytest.approx(0.0650, abs=5e-4)
    half = st.t.ppf(0.975, 2) * np.std(np.subtract(a, b), ddof=1) / math.sqrt(3)
    assert (r.low, r.high) == pytest.approx((r.diff - half, r.diff + half))
    less = paired_t(a, b, alternative="less")
    assert less.p == pytest.approx(r.p / 2) and less.low == -math.inf and less.name == "one-sided paired t test"
    assert welch(a, b).p == pytest.approx(0.018, abs=1e-3)  # the same numbers unpaired
    with pytest.raises(ValueError, match="differ in length"):
        paired_t([1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match="alternative"):
        paired_t(a, b, alternative="bigger")
    assert math.isnan(paired_t([1.0], [2.0]).p)


def test_one_sample_against_a_bound():
    r = one_sample([99.51, 99.49, 99.40], 99.4, "greater")
    ref = st.ttest_1samp([99.51, 99.49, 99.40], 99.4, alternative="greater")
    assert r.p == pytest.approx(ref.pvalue) and 99.4 + r.low == pytest.approx(ref.confidence_interval().low)
    assert r.high == math.inf and r.kind == "one-sample"


def test_verdict_names_its_test():
    assert verdict("A", "B", 0.1, -0.2, 0.4, 0.41, test="paired t test") == \
        "no detectable difference between A and B (paired t test, p = 0.41)"
    assert verdict("A", "B", 1.0, 0.5, 1.5, 0.0004, test="Welch's t test") == \
        "A beats B by 1.00 pp (Welch's t test, 95 % CI 0.50–1.50, p < 0.001)"


# --- bootstrap -------------------------------------------------------------------------------

def test_paired_bootstrap_contains_true_diff_and_is_deterministic():
    rng = np.random.default_rng(7)
    b = rng.normal(0.98, 0.01, 30)
    a = b + 0.5 + rng.normal(0, 0.05, 30)  # pairing removes the large shared spread
    r = paired_bootstrap(a, b, seed=3)
    assert r.method == "BCa"
    assert r.diff == pytest.approx(np.mean(a - b))
    assert r.low < 0.5 < r.high
    assert r.high - r.low < 0.1  # an unpaired interval would be wider than this
    assert paired_bootstrap(a, b, seed=3) == r
    assert paired_bootstrap(a, b, seed=4) != r


def test_paired_bootstrap_width_matches_normal_theory():
    rng = np.random.default_rng(0)
    d = rng.normal(0.5, 1.0, 400)
    r = paired_bootstrap(d, np.zeros_like(d), n_resamples=4000)
    half = 1.959964 * d.std(ddof=1) / math.sqrt(d.size)
    assert (r.high - r.low) / 2 == pytest.approx(half, rel=0.1)
    assert (r.low + r.high) / 2 == pytest.approx(d.mean(), abs=0.02)


def test_paired_bootstrap_small_n_uses_percentile():
    a, b = [0.991, 0.993, 0.990, 0.994], [0.989, 0.990, 0.990, 0.991]
    r = paired_bootstrap(a, b)
    d = np.subtract(a, b)
    assert r.method == "percentile"
    # Percentile bounds are resampled means, so they cannot leave [min d, max d].
    assert d.min() <= r.low <= r.diff <= r.high <= d.max()
    assert r.low < r.high


def test_paired_bootstrap_edge_cases():
    r = paired_bootstrap([2.0, 3.0, 4.0], [1.0, 2.0, 3.0])
    assert (r.diff, r.low, r.high, r.method) == (1.0, 1.0, 1.0, "degenerate")
    r = paired_bootstrap([2.0], [1.5])
    assert r.diff == 0.5 and math.isnan(r.low) and math.isnan(r.high)
    with pytest.raises(ValueError, match="a has 2, b has 1"):
        paired_bootstrap([1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match="at least one"):
        paired_bootstrap([], [])


# --- Holm ------------------------------------------------------------------------------------

def test_holm_textbook_example():
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])


def test_holm_monotone_clipped_and_nan():
    assert holm([0.04, 0.03]) == pytest.approx([0.06, 0.06])  # running max enforces monotonicity
    assert holm([0.6, 0.7, 0.2]) == pytest.approx([1.0, 1.0, 0.6])  # 0.6 * 2 = 1.2 clipped to 1
    out = holm([0.01, float("nan"), 0.04])  # m = 2, not 3
    assert out[0] == pytest.approx(0.02) and math.isnan(out[1]) and out[2] == pytest.approx(0.04)
    assert holm([]) == []
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        holm([0.2, 1.5])


def test_holm_matches_brute_force_definition():
    rng = np.random.default_rng(5)
    p = rng.uniform(0, 0.2, 12)
    m = len(p)
    ranked = sorted(p)
    ref = [max(min(1.0, (m - j) * ranked[j]) for j in range(m) if ranked[j] <= pi) for pi in p]
    assert holm(p) == pytest.approx(ref)


# --- correct_vector --------------------------------------------------------------------------

def test_correct_vector():
    v = correct_vector([0, 3, 3, 9], 10)
    assert v.dtype == bool and v.shape == (10,)
    assert v.tolist() == [False, True, True, False, True, True, True, True, True, False]
    assert correct_vector([], 3).tolist() == [True, True, True]
    assert correct_vector([], 0).shape == (0,)


@pytest.mark.parametrize("idx", [[10], [-1]])
def test_correct_vector_out_of_range(idx):
    with pytest.raises(ValueError, match=rf"{idx[0]} out of range for n=10"):
        correct_vector(idx, 10)


def test_correct_vector_rejects_non_integers():
    with pytest.raises(ValueError, match="integer"):
        correct_vector([1.5], 10)


# --- verdict ---------------------------------------------------------------------------------

def test_verdict_a_beats_b():
    s = verdict("A", "B", 0.41, 0.22, 0.60, 0.003)
    assert s == "A beats B by 0.41 pp (95 % CI 0.22–0.60, p = 0.003)"


def test_verdict_b_beats_a_flips_sign_and_ci():
    s = verdict("resnet", "mlp", -0.41, -0.60, -0.22, 0.0123)
    assert s == "mlp beats resnet by 0.41 pp (95 % CI 0.22–0.60, p = 0.012)"


def test_verdict_no_difference_and_formatting():
    assert verdict("A", "B", 0.1, -0.2, 0.4, 0.41) == "no detectable difference between A and B (p = 0.41)"
    assert verdict("A", "B", 0.1, 0.0, 0.2, 0.05) == "no detectable difference between A and B (p = 0.05)"
    assert verdict("A", "B", 0.1, 0.0, 0.2, 0.05, alpha=0.1).startswith("A beats B by 0.10 pp")
    assert verdict("A", "B", 1.0, 0.5, 1.5, 0.0004) == "A beats B by 1.00 pp (95 % CI 0.50–1.50, p < 0.001)"
    assert verdict("A", "B", 0.02, 0.01, 0.03, 1e-9, unit="") == "A beats B by 0.02 (95 % CI 0.01–0.03, p < 0.001)"
    assert verdict("A", "B", 0.0, 0.0, 0.0, float("nan")) == "no detectable difference between A and B (p = n/a)"
