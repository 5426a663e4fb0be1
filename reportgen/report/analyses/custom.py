"""Digits from outside MNIST and perturbed test sets: the ``custom_digits`` and ``robustness`` probes.

The images the models saw are in the result JSON (hex uint8 28×28); the originals are read again
from the folder (or drawn again, for the synthetic set) only to show them beside. An original is shown
only when its MNIST form is still the recorded one: a file changed since, or a synthetic digit drawn
with another machine's fonts, is left out rather than shown beside an image the models never saw.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from reportgen.report.draw import figures
from reportgen.report.analyses.context import Context, probe_rows

#: Images per before/after figure row.
COLS = 10


def _from_hex(text: str) -> np.ndarray:
    """Hex uint8 (1,568 characters) → float (28, 28) in [0, 1]."""
    return np.frombuffer(bytes.fromhex(text), np.uint8).reshape(28, 28) / 255.0


def _originals(record: dict) -> dict[str, np.ndarray]:
    """File name → the original as displayed (uint8), reloaded from where the probe read it; only the
    images whose MNIST form equals the recorded ``processed`` hex (the same bytes the probe wrote)."""
    from reportgen.data import digits

    try:
        if record["source"] == "synthetic":
            loaded = digits.synthetic_digits(digits.SYNTHETIC_PER_DIGIT, digits.SYNTHETIC_SEED)
        elif Path(record["folder"]).is_dir():
            loaded = digits.load_folder(record["folder"])[0]
        else:
            return {}
    except Exception:  # noqa: BLE001 - the originals are decoration; the page must still render
        return {}
    recorded = {im["name"]: im["processed"] for im in record["images"]}
    return {d.name: d.original for d in loaded if recorded.get(d.name) == digits.to_hex(d.processed)}


def custom_images(ctx: Context) -> dict[str, Any]:
    """Each image before and after preprocessing, and every model's prediction for it (softmax
    probabilities averaged over seeds), plus the accuracy on the labelled images and the files rejected."""
    vs = [v for v in ctx.sr.variants if v.runs and probe_rows(v, "custom_digits")[0]]
    if not vs:
        return {"url": None}
    first = probe_rows(vs[0], "custom_digits")[0][0]
    images = first["images"]
    probs = {v.label: np.mean([np.asarray([im["probs"] for im in rows[0]["images"]])
                               for rows in probe_rows(v, "custom_digits") if rows], axis=0) for v in vs}
    originals = _originals(first)
    processed = np.stack([_from_hex(im["processed"]) for im in images])
    ref = probs[vs[0].label]
    caps = [f"{im['name'].removeprefix('synthetic_')[:16]}\n" + (f"label {im['label']} · " if im["label"] is not None else "")
            + f"→ {int(ref[i].argmax())} ({ref[i].max():.0%})" for i, im in enumerate(images)]
    path, url = ctx.figure("custom_images.png")
    title = (f"Given (top) and in MNIST form (below), with {vs[0].label}'s prediction" if originals
             else f"In MNIST form, as the models saw them, with {vs[0].label}'s prediction")
    figures.before_after([originals.get(im["name"]) for im in images], processed, caps, path, title, cols=COLS)
    rows = []
    for i, im in enumerate(images):
        cells = []
        for label, p in probs.items():
            top = int(p[i].argmax())
            cells.append({"text": f"{top} ({p[i][top]:.1%})",
                          "wrong": im["label"] is not None and top != im["label"]})
        rows.append({"name": im["name"], "label": "—" if im["label"] is None else im["label"], "cells": cells})
    labelled = [i for i, im in enumerate(images) if im["label"] is not None]
    accuracy = {label: (sum(int(p[i].argmax()) == images[i]["label"] for i in labelled) / len(labelled)
                        if labelled else None) for label, p in probs.items()}
    summary = (f"On the {len(labelled)} labelled {'synthetic font digits' if first['source'] == 'synthetic' else 'images'}"
               " (not from MNIST), accuracy: " + ", ".join(f"{m} {a:.0%}" for m, a in accuracy.items()) + "."
               if labelled else f"{len(images)} unlabelled images classified.")
    return {"summary": summary, "url": url, "models": list(probs), "rows": rows, "accuracy": accuracy, "labelled": len(labelled),
            "n": len(images), "source": first["source"], "folder": first["folder"], "rejected": first["rejected"],
            "seeds": len(vs[0].runs), "shown_originals": sum(im["name"] in originals for im in images)}


def robustness(ctx: Context) -> dict[str, Any]:
    """Test accuracy against the severity of each perturbation (rotation, shift, Gaussian noise), one
    line per variant (mean over seeds, min–max band), and a table of the accuracy at each severity."""
    vs = [v for v in ctx.sr.variants if v.runs and probe_rows(v, "robustness")[0]]
    if not vs:
        return {"url": None}
    axes = list(probe_rows(vs[0], "robustness")[0][0])
    panels, tables = [], []
    for axis in axes:
        series, table = {}, []
        for v in vs:
            recs = [rows[0][axis] for rows in probe_rows(v, "robustness") if rows]
            runs = np.array([r["accuracy"] for r in recs]) * 100
            series[v.label] = (recs[0]["severities"], runs)
            table.append({"label": v.label, "cells": [f"{m:.2f}" for m in runs.mean(0)], "n": len(runs)})
        first = probe_rows(vs[0], "robustness")[0][0][axis]
        panels.append(figures.Panel(title=f"{axis} ({first['unit']})", ylabel="test accuracy (%)",
                                    xlabel=first["unit"], series=series, hlines=((10.0, "chance"),)))
        tables.append({"axis": axis, "unit": first["unit"], "severities": [f"{s:g}" for s in first["severities"]],
                       "rows": table})
    path, url = ctx.figure("robustness.png")
    figures.lines(panels, path, "Test accuracy under perturbation (mean over seeds, band: min–max)", cols=2)
    parts = []
    for t in tables:  # the middle severity of each axis: where the models have started to differ
        k = len(t["severities"]) // 2
        parts.append(f"{t['axis']} {t['severities'][k]} {t['unit']}: "
                     + ", ".join(f"{r['label']} {r['cells'][k]} %" for r in t["rows"]))
    return {"url": url, "tables": tables, "summary": "Test accuracy under " + "; ".join(parts) + "."}
