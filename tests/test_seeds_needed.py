"""Seeds needed to decide an undecided comparison or claim: the power numbers agree with statsmodels
and with Cohen's (1988) tables, the study page shows them beside each undecided comparison and
inconclusive claim, and ``reportgen plan STUDY --decide`` prints them."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from statsmodels.stats.power import TTestIndPower, TTestPower

from reportgen.cli import main
from reportgen.report.judge.findings import check
from reportgen.report.judge.power import CAP, for_pair, for_threshold, seeds_for, seeds_for_equivalence
from reportgen.results.chain import collect
from reportgen.results.summary import VariantResults
from reportgen.spec.catalog import load_spec

REPO = Path(__file__).resolve().parents[1]
MODEL = {"kind": "mlp", "hidden": [128], "activation": "relu", "dropout": 0.1, "init": "default"}
DATA = {"val_size": 5000, "train_subset": None, "test_subset": None, "shuffled_labels": 0.0}


def variant(label: str, accs: list[float], model: dict | None = None, wall: float = 60.0) -> VariantResults:
    runs = [{"seed": i, "status": "completed", "test": {"accuracy": a, "macro_f1": a}, "wall_seconds": wall,
             "config": {"model": model or MODEL, "data": DATA, "train": {"batch_size": 64}},
             "provenance": {"device": "cpu (x86_64, AVX512, 1 threads)"}} for i, a in enumerate(accs)]
    return VariantResults(label, label, runs, len(accs))


def test_cohens_textbook_values():
    """Cohen (1988), Table 2.4.1, two-sided α = .05, power .80: d = 1 → 17 per group, d = 0.5 → 64;
    the paired test at d = 0.5 needs 34 pairs (one-sample t, as statsmodels' TTestPower)."""
    assert seeds_for(1.0, 1.0, "independent") == 17
    assert seeds_for(0.5, 1.0, "independent") == 64
    assert seeds_for(0.5, 1.0, "paired") == 34
    assert seeds_for(-0.5, 1.0, "one-sample") == 34  # the sign of the effect does not matter


@pytest.mark.parametrize("design, engine", [("independent", TTestIndPower()), ("paired", TTestPower())])
@pytest.mark.parametrize("d", [0.15, 0.37, 0.8, 1.3, 2.2])
def test_the_answer_is_statsmodels_solve_power_rounded_up(design, engine, d):
    want = max(2, math.ceil(engine.solve_power(d, None, 0.05, 0.8, alternative="two-sided")))
    got = seeds_for(d * 0.3, 0.3, design)  # d from an effect and an SD
    assert got == want
    assert engine.power(d, got, 0.05) >= 0.8 > engine.power(d, got - 1, 0.05) or got == 2


def test_no_effect_has_no_finite_number_and_a_tiny_one_is_beyond_the_cap():
    assert math.isnan(seeds_for(0.0, 0.2, "paired"))
    assert seeds_for(1e-4, 1.0, "independent") == math.inf
    assert seeds_for(5.0, 0.1, "paired") == 2  # a large effect: two seeds already give the power


def _tost_power(n: int, effect: float, sd: float, delta: float, sims: int = 4000) -> float:
    """Simulated power of two one-sided Welch-free (pooled) t tests at α = 0.05 each, two groups of n."""
    from scipy import stats

    rng = np.random.default_rng(0)
    a = rng.normal(effect, sd, (sims, n))
    b = rng.normal(0.0, sd, (sims, n))
    diff = a.mean(1) - b.mean(1)
    se = np.sqrt((a.var(1, ddof=1) + b.var(1, ddof=1)) / n)
    t = stats.t.ppf(0.95, 2 * n - 2)
    return float(np.mean((diff - t * se > -delta) & (diff + t * se < delta)))


@pytest.mark.parametrize("effect", [0.0, 0.1, -0.15])
def test_equivalence_seeds_give_the_power_by_simulation(effect):
    """Two one-sided tests against ±0.3 with SD 0.2: the number returned reaches 80 % power in
    simulation (the P_lower + P_upper − 1 approximation errs on the side of more seeds), and one fewer
    seed does not reach it by much more than the simulation's error."""
    n = int(seeds_for_equivalence(effect, 0.2, 0.3, "independent"))
    assert 2 <= n < 40
    assert _tost_power(n, effect, 0.2, 0.3) >= 0.78
    assert n == 2 or _tost_power(n - 1, effect, 0.2, 0.3) < 0.86
    assert seeds_for_equivalence(-effect, 0.2, 0.3, "independent") == n  # symmetric in the sign


def test_equivalence_needs_more_seeds_near_the_margin_and_none_beyond_it():
    ns = [seeds_for_equivalence(e, 0.2, 0.3, "paired") for e in (0.0, 0.1, 0.2, 0.25)]
    assert ns == sorted(ns) and ns[0] < ns[-1]
    assert seeds_for_equivalence(0.3, 0.2, 0.3, "paired") == math.inf  # at the margin: never shown
    assert seeds_for_equivalence(0.35, 0.2, 0.3, "independent") == math.inf
    assert math.isnan(seeds_for_equivalence(0.1, 0.0, 0.3, "paired"))
    with pytest.raises(ValueError, match="design"):
        seeds_for_equivalence(0.1, 0.2, 0.3, "welch")


def test_a_paired_pair_uses_the_sd_of_the_differences_and_costs_the_recorded_run_time():
    a = variant("a", [0.9800, 0.9790, 0.9812])
    b = variant("b", [0.9790, 0.9788, 0.9795])  # same model and data: paired by seed
    n = for_pair(a, b, "test_accuracy")
    diffs = np.array([0.10, 0.02, 0.17])  # pp
    assert n.design == "paired"
    assert n.effect == pytest.approx(diffs.mean()) and n.sd == pytest.approx(diffs.std(ddof=1))
    want = math.ceil(TTestPower().solve_power(diffs.mean() / diffs.std(ddof=1), None, 0.05, 0.8))
    assert n.per_variant == want and n.extra == {"a": want - 3, "b": want - 3}
    assert n.seconds == pytest.approx(2 * (want - 3) * 60.0)
    assert n.short == f"≈ {want} seeds/variant for 80 % power (+{want - 3} each, ≈ {2 * (want - 3)} min CPU " \
                      "(AVX512, 1 thread))"


def test_unpaired_variants_use_the_pooled_sd():
    a = variant("a", [0.9800, 0.9790, 0.9812])
    b = variant("b", [0.9790, 0.9771, 0.9795], model={**MODEL, "init": "xavier_uniform"})  # other weights
    n = for_pair(a, b, "test_accuracy")
    xa, xb = np.array([98.00, 97.90, 98.12]), np.array([97.90, 97.71, 97.95])
    pooled = math.sqrt((xa.var(ddof=1) + xb.var(ddof=1)) / 2)
    assert n.design == "independent" and n.sd == pytest.approx(pooled)
    assert n.per_variant == math.ceil(TTestIndPower().solve_power((xa.mean() - xb.mean()) / pooled, None, 0.05, 0.8))


def test_a_threshold_uses_the_one_sample_test():
    v = variant("v", [0.9760, 0.9740, 0.9790])
    n = for_threshold(v, "test_accuracy", 97.5)
    xs = np.array([97.60, 97.40, 97.90])
    assert n.design == "one-sample" and n.effect == pytest.approx(xs.mean() - 97.5)
    d = (xs.mean() - 97.5) / xs.std(ddof=1)  # judged one-sided, so planned one-sided
    assert n.alternative == "larger"
    assert n.per_variant == math.ceil(TTestPower().solve_power(d, None, 0.05, 0.8, alternative="larger"))
    assert n.per_variant < math.ceil(TTestPower().solve_power(d, None, 0.05, 0.8))
    assert for_threshold(variant("w", [0.98, 0.98, 0.98]), "test_accuracy", 97.5) is None  # no spread: judged as is
    far = for_threshold(variant("w", [0.97501, 0.9740, 0.9760]), "test_accuracy", 97.5)  # mean 97.5003
    assert far.per_variant == math.inf and far.short == f"more than {CAP:,} seeds/variant for 80 % power"


def test_an_inconclusive_claim_on_its_page_shows_its_seeds_needed(tmp_path):
    from reportgen.report.pages.render import render_study

    spec = load_spec(REPO / "experiments" / "mlp_baseline.py")
    spec = type(spec)(spec.name, spec.path, spec.study.model_copy(update={"analyses": ()}), spec.source)
    sr = collect(spec, REPO / "results")
    checks = [check(sr, e) for e in spec.study.expect]
    undecided = [c for c in checks if c.outcome == "inconclusive"]
    if not undecided:
        pytest.skip("mlp_baseline's claim is decided now")
    render_study(spec, REPO / "results", tmp_path / "docs")
    page = (tmp_path / "docs" / "studies" / f"{spec.name}.md").read_text()
    rows = [line for line in page.splitlines() if line.startswith("| ") and "inconclusive" in line]
    assert rows and all("seeds/variant for 80 % power" in r for r in rows)
    assert undecided[0].needed.short.replace("(", "").split(",")[0] in rows[0].replace("(", "")
    assert "Three seeds estimate the spread poorly" in page


def test_plan_decide_prints_a_row_per_undecided_claim(capsys):
    assert main(["plan", "mlp_baseline", "budget_cnns", "--decide"]) == 0
    out = capsys.readouterr().err
    assert "seeds per variant for 80 % power" in out
    want = []
    for name in ("mlp_baseline", "budget_cnns"):
        spec = load_spec(REPO / "experiments" / f"{name}.py")
        sr = collect(spec, REPO / "results")
        want += [c.needed for c in (check(sr, e) for e in spec.study.expect)
                 if c.outcome == "inconclusive" and c.needed is not None]
    assert out.count("│ claim: ") == len(want) > 0
    for n in want:
        assert f"│ {n.seeds} " in out and f"{n.sd:.3g} pp" in out


def test_a_directional_claim_plans_its_one_sided_test():
    from reportgen.report.judge.power import seeds_for

    assert seeds_for(0.5, 1.0, "paired", alternative="larger") < seeds_for(0.5, 1.0, "paired")
    assert seeds_for(0.5, 1.0, "paired", alternative="larger") == math.ceil(
        TTestPower().solve_power(0.5, None, 0.05, 0.8, alternative="larger"))
    with pytest.raises(ValueError, match="alternative"):
        seeds_for(0.5, 1.0, "paired", alternative="smaller")
