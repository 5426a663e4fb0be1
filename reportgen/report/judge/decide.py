"""``reportgen plan STUDY --decide``: each undecided comparison and claim of a study, with the seeds per
variant that would give its test 80 % power and what they would cost (:mod:`reportgen.report.judge.power`).
Reads result JSON only."""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table

from reportgen.report.judge.findings import check
from reportgen.report.judge.power import CAVEAT, ZERO, Needed, duration, for_pair, where
from reportgen.report.judge.verdicts import comparisons
from reportgen.results.chain import collect
from reportgen.results.summary import METRICS, StudyResults
from reportgen.spec.catalog import Spec


@dataclass(frozen=True)
class Undecided:
    """One undecided comparison or inconclusive claim and its seeds needed."""

    what: str  # "comparison: lr-1e-4 vs baseline" or "claim: …"
    unit: str  # of effect and SD: "pp" for accuracies
    needed: Needed


def undecided(sr: StudyResults) -> list[Undecided]:
    """The study's undecided reference comparisons on test accuracy
    (:func:`reportgen.report.judge.significance.comparisons`), then its inconclusive claims
    (:func:`reportgen.report.judge.findings.check`), in page order; untestable ones are left out."""
    out = []
    for c in comparisons(sr):
        if c.tested.why_not or c.settled:
            continue
        n = for_pair(c.a, c.b, "test_accuracy", c.tested)
        if n is not None:
            out.append(Undecided(f"comparison: {c.a.label} vs {c.b.label}", "pp", n))
    for e in sr.spec.study.expect if sr.spec is not None else ():
        ch = check(sr, e)
        if ch.outcome == "inconclusive" and ch.needed is not None:
            unit = METRICS[e.metric].unit if e.metric in METRICS else ""
            out.append(Undecided(f"claim: {ch.claim}", "pp" if unit == "%" else unit, ch.needed))
    return out


def _num(x: float, unit: str) -> str:
    return "—" if not math.isfinite(x) else "0" if abs(x) < ZERO else f"{x:+.3g} {unit}".rstrip()


def print_decide(specs: list[Spec], results: Path, console: Console, smoke: bool = False) -> int:
    """Print, per study in ``specs``, the table of :func:`undecided` rows: observed effect, SD, seeds
    now, seeds needed per variant, extra seeds and their CPU cost. Returns 0 (an exit code)."""
    for spec in specs:
        sr = collect(spec, results, smoke)
        rows = undecided(sr) if sr.runs else []
        rec = sr.sequential
        if rec is not None and rec.looks:
            console.print(f"{spec.name}: decided by adding seeds: look {len(rec.looks)} at {rec.looks[-1].n} seeds per "
                          f"variant (cap {rec.max_seeds}), stopped: {rec.stopped or 'not yet'}"
                          + ("" if rec.stopped in ("seed cap", "all decided") else
                             f"; `reportgen run {spec.name} --until-decided` goes on with the same design"),
                          highlight=False, soft_wrap=True)
        if not rows:
            console.print(f"{spec.name}: nothing undecided" + ("" if sr.runs else " (no results)"), highlight=False)
            continue
        table = Table("undecided", "test", "effect", "SD", "n now", "seeds needed", "extra", "cost",
                      title=f"{spec.name}: seeds per variant for 80 % power (α = 0.05, two-sided unless the test says otherwise, before the adjustment over the study's family)")
        total, devices = 0.0, []
        for u in rows:
            n = u.needed
            if n.why:
                table.add_row(u.what, "—", "—", "—", "—", "—", "—", n.why)
                continue
            now = ", ".join(f"{k}" for k in dict.fromkeys(n.n_now.values()))
            extra = n.more or "—"
            test = (f"{n.design}, two one-sided tests (±{_num(n.margin, u.unit).lstrip('+')})" if n.margin is not None
                    else f"{n.design}, one-sided" if n.alternative == "larger" else n.design)
            table.add_row(u.what, test, _num(n.effect, u.unit), _num(n.sd, u.unit).lstrip("+"), now,
                          n.seeds, "—" if n.enough else extra, n.cost if not n.enough else "— (has them: " + (
                              "undecided by chance or by a multiple-comparison adjustment)"))
            if math.isfinite(n.seconds) and not n.enough:
                total += n.seconds
                devices += [d for d in n.devices if d not in devices]  # n.devices has no repeats
        wide = Console(file=console.file, width=max(console.width, 150))  # a pipe's 80 columns would cut the rows
        wide.print(table)
        console.print(f"sum of the costs above: ≈ {duration(total)} {where(devices)} (a variant shared by "
                      f"several rows is counted in each). {CAVEAT}.", highlight=False, soft_wrap=True)
    return 0
