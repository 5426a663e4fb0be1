"""Analyses of tuning studies: the learning-rate range test (Smith 2017) and a hyperparameter grid's
validation heat map with its selection."""
from __future__ import annotations

import statistics
from typing import Any

import numpy as np

from reportgen.report.draw import figures, interactive
from reportgen.report.analyses.context import Context, cell


def lr_range_test(ctx: Context) -> dict[str, Any]:
    """Per range-test variant: the smoothed training loss against the learning rate (log scale), one
    line per seed, with the suggested lr (a tenth of the loss minimum's lr) marked; the lrs each seed
    suggests and their median (what a study reading ``range_test.suggested_lr`` gets); and, for the
    fixed-lr variants, validation accuracy after training against their lr."""
    tests, rows = [], []
    for v in ctx.sr.variants:
        found = [r["range_test"] for r in v.runs if r.get("range_test")]
        if not found:
            continue
        path, url = ctx.figure(f"lr_range_{v.slug}.png")
        figures.range_test([(rt["lr"], rt["smoothed"], r["seed"]) for rt, r in zip(found, v.runs)],
                           statistics.median(rt["suggested_lr"] for rt in found), path,
                           f"{v.label}: smoothed training loss while the lr grows (one epoch)")
        tests.append({"label": v.label, "url": url,
                      "seeds": [{"seed": r["seed"], "min": rt["min_loss_lr"], "suggested": rt["suggested_lr"],
                                 "steepest": rt["steepest_lr"], "steps": f"{rt['stopped_at']} / {rt['steps']}",
                                 "reason": r.get("reason", "")} for rt, r in zip(found, v.runs)],
                      "median": statistics.median(rt["suggested_lr"] for rt in found)})
    fixed = [v for v in ctx.sr.variants if v.runs and all(r.get("history") for r in v.runs)]
    for v in sorted(fixed, key=lambda v: v.runs[0]["config"]["optim"]["lr"]):
        rows.append({"label": v.label, "lr": v.runs[0]["config"]["optim"]["lr"], "epochs": len(v.runs[0]["history"]),
                     "val": cell(v, "val_acc"), "loss": cell(v, "val_loss")})
    best = max(fixed, key=lambda v: v.interval("val_acc").mean).label if fixed else None
    summary = " ".join([f"Best fixed rate on validation: **{best}**." if best else ""]
                       + [f"The range test ({t['label']}) suggests lr **{t['median']:.3g}** (median over "
                          f"{len(t['seeds'])} seeds)." for t in tests]).strip()
    return {"tests": tests, "rows": rows, "best": best, "summary": summary}


#: Axis titles for grid parameters: what the number is, in words (with its unit where it has one).
AXIS_NAMES = {"optim.lr": "learning rate", "optim.weight_decay": "weight decay coefficient",
              "optim.momentum": "momentum coefficient", "optim.l2": "L2 penalty coefficient",
              "train.batch_size": "batch size (images)", "train.epochs": "epochs", "model.dropout": "dropout probability"}


def axis_name(path: str, config: dict) -> str:
    """A grid parameter's axis title: words, the optimizer for its settings, then the config path on a
    second line, e.g. ``optim.lr`` → 'learning rate of sgd\\n(optim.lr)'; an unknown path as it is."""
    words = AXIS_NAMES.get(path)
    if not words:
        return path
    if path.startswith("optim."):
        name = config["optim"]["name"]
        words += f" of {name}" + ("" if path != "optim.weight_decay" else
                                  ", decoupled" if name == "adamw" else ", added to the gradient")
    return f"{words}\n({path})"


def grid_heatmap(ctx: Context) -> dict[str, Any]:
    """For a two-parameter grid: mean validation accuracy (%, last epoch) of every cell as a heat map,
    each cell also showing every seed's value, axes titled in words (:func:`axis_name`), and the
    selected cell (highest mean validation accuracy; the test set plays no part)."""
    grid = list(ctx.sr.spec.study.sweep.grid)
    vs = [v for v in ctx.sr.variants if v.runs]
    if len(grid) != 2 or not vs:
        return {"url": None, "paths": grid}
    (pa, pb) = grid

    def value(v, path):
        node = v.runs[0]["config"]
        for part in path.split("."):
            node = node[part]
        return node

    xs = sorted({value(v, pa) for v in vs})
    ys = sorted({value(v, pb) for v in vs})
    acc = np.full((len(ys), len(xs)), np.nan)
    text = [[""] * len(xs) for _ in ys]
    for v in vs:
        i, j = ys.index(value(v, pb)), xs.index(value(v, pa))
        seeds = [x * 100 for x in v.values("val_acc")]
        acc[i, j] = v.interval("val_acc").mean  # already in % (display units)
        text[i][j] = f"{acc[i, j]:.2f} %" + (f"\n({', '.join(f'{x:.2f}' for x in seeds)})" if len(seeds) > 1 else "")
    best = max(vs, key=lambda v: v.interval("val_acc").mean)
    path, url = ctx.figure("grid_heatmap.png")
    n = sorted({len(v.runs) for v in vs})
    epochs = sorted({len(r["history"]) for v in vs for r in v.runs})
    figures.heatmap(acc, [f"{x:g}" for x in xs], [f"{y:g}" for y in ys], axis_name(pa, vs[0].runs[0]["config"]),
                    axis_name(pb, vs[0].runs[0]["config"]), path,
                    f"Validation accuracy (%) after {'/'.join(map(str, epochs))} epochs, mean of "
                    f"{'/'.join(map(str, n))} seeds\n(in brackets: each seed, in seed order; the test set plays no part)",
                    mark=(ys.index(value(best, pb)), xs.index(value(best, pa))), annot=text,
                    cbar="validation accuracy (%), mean over seeds")
    names = [axis_name(p, vs[0].runs[0]["config"]).replace("\n", " ") for p in (pa, pb)]
    cells = []
    for v in vs:
        iv = v.interval("val_acc")
        cells.append({"x": f"{value(v, pa):g}", "y": f"{value(v, pb):g}", "variant": v.label,
                      "mean": round(iv.mean, 3), "ci": f"{iv.low:.2f}–{iv.high:.2f} %" if np.isfinite(iv.low) else "n/a",
                      "n": len(v.runs), "seeds": ", ".join(f"{x * 100:.2f}" for x in v.values("val_acc"))})
    tip = [{"field": "variant"}, {"field": "mean", "title": "validation accuracy (%, mean)", "format": ".2f"},
           {"field": "ci", "title": "95 % CI"}, {"field": "n", "title": "seeds"}, {"field": "seeds", "title": "each seed (%)"}]
    chart, chart_url = ctx.figure("grid_heatmap.vl.json")
    interactive.write(interactive.matrix_spec(cells, names[0], names[1], "mean", "validation accuracy (%)", tip,
                                              "Validation accuracy (%), mean over seeds", [f"{x:g}" for x in xs],
                                              [f"{y:g}" for y in ys][::-1]), chart)
    rows = sorted(({"label": v.label, "val": cell(v, "val_acc"), "n": len(v.runs),
                    "mean": v.interval("val_acc").mean} for v in vs), key=lambda r: -r["mean"])
    return {"summary": f"Selected on validation accuracy: **{best.label}** (validation accuracy "
                          f"{cell(best, 'val_acc')} %).",
            "url": url, "paths": grid, "best": best.label, "best_val": cell(best, "val_acc"),
            "rows": rows[:5], "cells": len(vs), "chart_url": chart_url}
