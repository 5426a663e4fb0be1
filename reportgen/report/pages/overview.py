"""What the index shows across studies: the key findings in the order of what their verdicts show, and
the leaderboard of every variant. Reads collected results and the judge's records; writes nothing."""
from __future__ import annotations

from typing import Any

import numpy as np

from reportgen.report.judge.cells import cell as metric_cell, ranged
from reportgen.report.judge.decisions import strength
from reportgen.report.judge.verdicts import judged


def key_findings(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The index's key findings: every study with results except those that only describe the data
    (``explore``), ordered by what their verdicts show (:func:`reportgen.report.judge.decisions.strength`):
    a decided difference in test accuracy first, largest first; then a decided bound or equivalence or a
    diagnostic study's checks (its models differ by design, so their difference is no finding); then
    studies with nothing decided. Each row gains ``shows``: the words of
    its rank."""
    out = []
    for r in rows:
        sr = r["sr"]
        if r["spec"].study.kind == "explore" or not sr.runs:
            continue
        rank, effect = strength([sr.sequential, judged(sr)])
        if r["spec"].study.diagnostic:  # a model broken on purpose differs by design: its finding is the check
            rank, effect = 1, 0.0
        shows = ("a decided difference" if rank == 0 else "a decided bound, equivalence or check" if rank == 1
                 else "nothing decided yet")
        out.append({**r, "rank": rank, "effect": effect, "shows": shows})
    return sorted(out, key=lambda r: (r["rank"], -r["effect"]))


def on_mnist(runs: list[dict[str, Any]]) -> bool:
    """Whether every run trained and tested on MNIST (its config names no other ``data.dataset``)."""
    return all(((r.get("config") or {}).get("data") or {}).get("dataset", "mnist") == "mnist" for r in runs)


def leaderboard(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every variant with test results of every study, best mean test accuracy first, over the seeds
    that are not outliers: ``n`` is how many seeds that is and ``runs`` how many there are, ``acc``
    their interval, ``seeds`` their test accuracies in %, ``note`` names what was left out; cells as
    :func:`reportgen.report.judge.cells.cell` (timings per device), ``ranged`` says whether the accuracy
    or macro F1 cell shows mean (min–max) instead of mean ± 95 % CI.
    Diagnostic studies (sanity checks, models broken on purpose: ``Study.diagnostic``), runs without
    a test (an lr range test) and runs on another data set than MNIST (their accuracies do not compare
    with MNIST's) are left out."""
    board, seen = [], {}
    for r in rows:
        if r["spec"].study.diagnostic:
            continue
        for v in r["sr"].variants:
            if not v.runs or not all(run.get("test") for run in v.runs) or not on_mnist(v.runs):
                continue
            keys = frozenset(run["key"] for run in v.runs)
            if keys in seen:  # the same runs, reused by another study: listed once
                seen[keys]["also"].append((r["spec"].name, r["spec"].study.title))
                continue
            # Outlier seeds (a collapsed run) are left out of the ranking, the cells and the figure, and named.
            board.append({"study": r["spec"].name, "title": r["spec"].study.title, "label": v.label,
                          "n": len(v.clean.runs), "runs": len(v.runs), "also": [], "note": v.note(),
                          "ranged": ranged(v, "test_accuracy") or ranged(v, "macro_f1"),
                          "seeds": [100 * a for a in v.clean.values("test_accuracy")],  # for per-seed points
                          "acc": v.clean.interval("test_accuracy"), "acc_cell": metric_cell(v, "test_accuracy"),
                          "f1_cell": metric_cell(v, "macro_f1"),
                          "params": float(np.nanmean(v.values("params"))),
                          "flops": float(np.nanmean(v.values("flops"))) if np.isfinite(v.values("flops")).any() else np.nan,
                          "sec_cell": metric_cell(v, "seconds_per_epoch", mixed=True)})
            seen[keys] = board[-1]
    return sorted(board, key=lambda b: -b["acc"].mean)
