"""The sequential procedure of :mod:`reportgen.report.judge.verdicts` on simulated studies, through the same
tests (:func:`~reportgen.report.judge.verdicts.t_tests`), step-down and spending: the A/A check of its
family-wise error rate and the check of its power, which the test suite runs."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from reportgen.report.judge.verdicts import ALPHA, increments, schedule, step_down, t_tests


@dataclass(frozen=True)
class Simulated:
    """Outcome of :func:`simulate`: per study and pair the verdict code (0 undecided, 1 a ahead,
    2 b ahead, 3 equivalent) and the seeds per variant when the study stopped."""

    codes: np.ndarray  # (S, m) int
    seeds: np.ndarray  # (S,) int

    def false_decision(self, effects: np.ndarray, delta: float | None) -> np.ndarray:
        """(S,) bool: some pair got a verdict its true effect contradicts: a difference where there
        is none or of the wrong sign, or "equivalent" where |effect| ≥ δ."""
        e = np.asarray(effects)[None, :]
        wrong = ((self.codes == 1) & (e <= 0)) | ((self.codes == 2) & (e >= 0))
        if delta is not None:
            wrong |= (self.codes == 3) & (np.abs(e) >= delta)
        return wrong.any(axis=1)


def simulate(effects: list[float], sd: float, n0: int, batch: int, max_seeds: int, delta: float | None,
             studies: int, seed: int = 0, alpha: float = ALPHA) -> Simulated:
    """Run the sequential procedure on ``studies`` simulated studies of ``len(effects)`` paired
    comparisons whose per-seed differences are Normal(effect, ``sd``), through the same
    :func:`t_tests`, :func:`step_down` and spending as a real study. For the A/A check (all effects 0)
    and the power check in the test suite."""
    rng = np.random.default_rng(seed)
    e = np.asarray(effects, float)
    m = len(e)
    data = rng.normal(e[None, :, None], sd, (studies, m, max_seeds))
    codes = np.zeros((studies, m), int)
    rejected = np.zeros(studies, int)
    stop, finished = np.full(studies, max_seeds), np.zeros(studies, bool)
    big_m = 2 * m if delta is not None else m
    for n, inc in zip(schedule(n0, batch, max_seeds), increments(n0, batch, max_seeds, alpha)):
        t = t_tests(data[:, :, :n], None, False, delta)
        undecided = codes == 0
        p = np.concatenate([t.p, t.p_eq], axis=1)
        open_ = np.concatenate([undecided, undecided & (delta is not None)], axis=1)
        new = step_down(p, open_, rejected, big_m, inc)
        code = np.where(new[:, :m], np.where(t.diff > 0, 1, 2), np.where(new[:, m:], 3, 0))
        codes = np.where(undecided, code, codes)
        first = (codes != 0).all(axis=1) & ~finished
        stop, finished = np.where(first, n, stop), finished | first
    return Simulated(codes, stop)


def claimed_power(effect: float, sd: float, n0: int, batch: int, max_seeds: int, m: int,
                  alpha: float = ALPHA) -> float:
    """A lower bound on the design's power to find a paired effect ``effect`` (SD ``sd`` of the
    per-seed differences) in a family of ``m`` hypotheses: the power of the two-sided paired t test
    at the seed cap at the last look's smallest level, increment / m (statsmodels ``TTestPower``)."""
    from statsmodels.stats.power import TTestPower

    last = increments(n0, batch, max_seeds, alpha)[-1]
    power = float(TTestPower().power(abs(effect) / sd, max_seeds, last / m, alternative="two-sided"))
    return 1.0 if math.isnan(power) else power  # statsmodels gives NaN within rounding of 1
