"""A study's comparisons decided by adding seeds, as the page shows them: one row per comparison of
its record (:mod:`reportgen.results.sequential`), and a figure of each comparison's 95 % interval
narrowing with the seeds against ±δ. Reads the record only."""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.ticker import MaxNLocator

from reportgen.report.draw.figures import _grid, plt, save
from reportgen.report.judge.verdicts import schedule
from reportgen.results.sequential import hypotheses
from reportgen.results.summary import METRICS, StudyResults

WORDS = {"a ahead": "{a} ahead", "b ahead": "{b} ahead", "equivalent": "equivalent within ±{delta}",
         "above": "above {bound}", "below": "below {bound}", "undecided": "undecided"}


def _label(sr: StudyResults, slug: str | None) -> str:
    try:
        return sr.variant(slug).label if slug else ""
    except KeyError:
        return str(slug)


def _unit(metric: str) -> str:
    unit = METRICS[metric].unit if metric in METRICS else ""
    return "pp" if unit == "%" else unit


def rows(sr: StudyResults) -> dict[str, Any] | None:
    """The page's context for the record (None without one): the design in words and one row per
    member: comparison, margin, the verdict in words, the look and seeds it took, and the interval at
    every look it was tested at."""
    rec = sr.sequential
    if rec is None:
        return None
    out = []
    history: dict[str, list] = {m.id: [] for m in rec.family}
    for look in rec.looks:
        for mid, d in look.decisions.items():
            history.setdefault(mid, []).append((look.n, d))
    decided = rec.decided()
    for m in rec.family:
        if m.id not in decided:
            continue
        d, k = decided[m.id]
        unit = _unit(m.metric)
        what = (f"{_label(sr, m.a)} vs {_label(sr, m.b)}" if m.b else f"{_label(sr, m.a)} vs {m.bound:g} "
                f"{METRICS[m.metric].unit}".rstrip())
        words = WORDS[d.verdict].format(a=_label(sr, m.a), b=_label(sr, m.b), delta=f"{m.delta:.3g} {unit}".rstrip()
                                        if m.delta else "", bound=f"{m.bound:g}" if m.bound is not None else "")
        steps = "; ".join(f"n = {n}: {x.diff:+.3g} ({x.low:.3g} to {x.high:.3g})" if x.low is not None else
                          f"n = {n}: no interval" for n, x in history[m.id])
        out.append({"metric": METRICS[m.metric].label if m.metric in METRICS else m.metric, "what": what,
                    "delta": f"±{m.delta:.3g} {unit}".rstrip() if m.delta else "—", "verdict": words,
                    "decided": d.verdict != "undecided", "look": k, "n": d.n, "unit": unit, "steps": steps,
                    "p": d.p, "p_equivalence": d.p_equivalence, "level": d.level})
    added = sorted({s for seeds in rec.added.values() for s in seeds})
    return {"rows": out, "alpha": rec.alpha, "max_seeds": rec.max_seeds, "batch": rec.batch, "n0": rec.n0,
            "looks": len(rec.looks), "planned": len(schedule(rec.n0, rec.batch, rec.max_seeds)),
            "hypotheses": hypotheses(rec.family), "stopped": rec.stopped or "still running",
            "added": {_label(sr, k): v for k, v in rec.added.items()}, "seeds": added,
            "hours": _added_seconds(sr, rec) / 3600,
            "family": rec.family_kind, "among": ", ".join(_label(sr, v) for v in rec.variants or []),
            "decided": sum(r["decided"] for r in out)}


def _added_seconds(sr: StudyResults, rec) -> float:
    """Training time of the runs the record added, s: their recorded ``wall_seconds`` summed (every
    attempt of a resumed run included), whichever call of the command trained them."""
    return sum(float(r.get("wall_seconds") or 0.0) for v in sr.variants for r in v.runs
               if r.get("seed") in rec.added.get(v.slug, ()))


def figure(sr: StudyResults, path: Path) -> Path | None:
    """Each member's estimate and 95 % interval at every look (x: seeds per variant), with ±δ shaded
    and 0 (or the bound) drawn; None without a record."""
    rec = sr.sequential
    if rec is None or not rec.looks:
        return None
    members = [m for m in rec.family if any(m.id in look.decisions for look in rec.looks)]
    cols = min(3, len(members))
    fig, axes = _grid(len(members), cols, 3.0)
    for ax, m in zip(np.ravel(axes), members):
        pts = [(look.n, d) for look in rec.looks for mid, d in look.decisions.items() if mid == m.id]
        ns = [n for n, _ in pts]
        est = np.array([d.diff if d.diff is not None else math.nan for _, d in pts])
        lo = np.array([d.low if d.low is not None else math.nan for _, d in pts])
        hi = np.array([d.high if d.high is not None else math.nan for _, d in pts])
        ax.errorbar(ns, est, yerr=[est - lo, hi - est], fmt="o-", ms=3, capsize=2, color="#1f77b4")
        ax.axhline(0, color="0.3", lw=0.8)
        if m.delta:
            ax.axhspan(-m.delta, m.delta, color="#2ca02c", alpha=0.12, lw=0)
        last = pts[-1][1]
        word = WORDS[last.verdict].format(a=_label(sr, m.a), b=_label(sr, m.b), delta="δ", bound=f"{m.bound:g}"
                                          if m.bound is not None else "")
        ax.set_title(f"{_label(sr, m.a)} − {_label(sr, m.b) if m.b else f'{m.bound:g}'}: {word}", fontsize=8)
        ax.set_xlabel("seeds per variant", fontsize=8)
        ax.set_ylabel(_unit(m.metric) or m.metric, fontsize=8)
        ax.tick_params(labelsize=7)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    for ax in np.ravel(axes)[len(members):]:
        ax.set_visible(False)
    fig.suptitle("95 % interval of each difference at each look (green: ±δ, equivalent)", fontsize=9)
    fig.tight_layout(rect=(0, 0, 1, 0.96))
    return save(fig, path)
