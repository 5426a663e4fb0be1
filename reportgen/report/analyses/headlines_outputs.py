"""Headlines of the prediction, custom-digit, robustness and data analyses (see :mod:`.headline`).
Most read the analysis's returned context (``Rule.reads_output``): what it computed from the probes or
the data files, so the headline states exactly the numbers the section shows."""
from __future__ import annotations

import math
import re
from typing import Any

import numpy as np

from reportgen.results.stats import mcnemar_exact, t_interval, welch
from reportgen.report.judge.words import count, join
from reportgen.report.analyses.context import Context, fmt
from reportgen.report.analyses.headline import ALPHA, Headline, p_text
from reportgen.report.analyses.predictions import _predictions, reliability_bins


def prediction_panel(ctx: Context, out: dict[str, Any] | None) -> Headline | None:
    """How many digits of the fixed panel each model classifies right, per seed, and how many each gets
    wrong on every seed (the panel is chosen in the spec, not sampled)."""
    if not out or not out.get("url"):
        return None
    per = out["per_seed"]
    text = join(f"**{m}** {'/'.join(map(str, ks))}" for m, ks in per.items())
    wrong = join(f"{k} for {m}" for m, k in out["always_wrong"].items())
    return Headline((f"On the fixed panel of {count(out['n'], 'test digit')} chosen in the spec (not a random sample: "
                     f"see its PANEL), the top-1 prediction is right for {text} of them (per seed); wrong on every "
                     f"seed: {wrong}. The panel table shows every model's top-3 probabilities for its first seed.",),
                    "panel right per seed: " + ", ".join(f"{m} {'/'.join(map(str, ks))} of {out['n']}"
                                                         for m, ks in per.items()))


def confidence_extremes(ctx: Context, out: dict[str, Any] | None) -> Headline | None:
    """How many of each model's test errors it makes with at least 99 % confidence, per seed."""
    if not out or not out.get("tabs"):
        return None
    truth = ctx.test_labels.astype(int)
    counts = {}
    for v in ctx.sr.variants:
        per = []
        for p in (_predictions(r) for r in v.runs):
            if p is None:
                continue
            wrong = np.asarray(p["predicted"]) != truth[:len(p["predicted"])]
            per.append((int((wrong & (np.asarray(p["confidence"]) >= 0.99)).sum()), int(wrong.sum())))
        if per:
            counts[v.label] = per
    if not counts:
        return None
    parts = join(f"**{m}** {'/'.join(str(c) for c, _ in per)} of {'/'.join(str(e) for _, e in per)}"
                 for m, per in counts.items())
    return Headline((f"Errors made with at least 99 % confidence, per seed (of all errors, 10,000 test images): "
                     f"{parts}; the most confident ones of the first seed are shown below.",),
                    "≥ 99 %-confident errors per seed: " + ", ".join(
                        f"{m} {'/'.join(str(c) for c, _ in per)}" for m, per in counts.items()))


def calibration(ctx: Context, out: dict[str, Any] | None = None) -> Headline | None:
    """Expected calibration error per variant (mean ± 95 % CI over seeds), best and worst calibrated,
    their difference (Welch over seeds) and the worst's over-confidence."""
    truth = ctx.test_labels.astype(int)
    eces, over = {}, {}
    for v in ctx.sr.variants:
        ps = [p for p in (_predictions(r) for r in v.runs) if p is not None]
        if not ps:
            continue
        conf = [np.asarray(p["confidence"]) for p in ps]
        right = [np.asarray(p["predicted"]) == truth[:len(p["predicted"])] for p in ps]
        eces[v.label] = [reliability_bins(c, k)["ece"] * 100 for c, k in zip(conf, right)]
        over[v.label] = float(np.mean([c.mean() - k.mean() for c, k in zip(conf, right)]) * 100)
    if not eces:
        return None
    order = sorted(eces, key=lambda k: np.mean(eces[k]))
    best, worst = order[0], order[-1]
    iv = {k: fmt(t_interval(x), 2) for k, x in eces.items()}
    text = (f"Calibration error (ECE, 15 bins, test set) is lowest for **{best}**, {iv[best]} %, and highest for "
            f"**{worst}**, {iv[worst]} % (mean ± 95 % CI over seeds)")
    w = welch(eces[worst], eces[best])
    if best != worst and math.isfinite(w.p):
        text += (f": a difference of {w.diff:+.2f} pp (Welch's t test over seeds, 95 % CI {w.low:.2f} to {w.high:.2f}, "
                 f"{p_text(w.p)}), {'detectable' if w.p < ALPHA else 'not detectable'}; {worst}'s mean confidence "
                 f"{'exceeds' if over[worst] > 0 else 'falls short of'} its accuracy by {abs(over[worst]):.2f} pp")
    return Headline((text + ".",), f"ECE {best} {np.mean(eces[best]):.2f} % … {worst} {np.mean(eces[worst]):.2f} %")


def confused_pairs(ctx: Context, out: dict[str, Any] | None) -> Headline | None:
    """Each model's most-confused digit pair and the pairs among the top three of every model."""
    if not out or not out.get("tables"):
        return None
    tops = [(t["label"], t["rows"][0]) for t in out["tables"] if t["rows"]]
    errors = {t["label"]: float(t["errors"]) for t in out["tables"]}
    text = "The most-confused digit pair is " + join(
        f"{r['pair']} for **{label}** ({r['total']} errors per seed, {100 * float(r['total']) / errors[label]:.0f} % of "
        "its errors)" for label, r in tops)
    common = out.get("common") or []
    if common:
        text += f"; {join(common)} {'is' if len(common) == 1 else 'are'} among the three most-confused pairs of every model"
    return Headline((text + ".",), "most confused: " + ", ".join(f"{label} {r['pair']}" for label, r in tops))


def custom_images(ctx: Context, out: dict[str, Any] | None) -> Headline | None:
    """Accuracy of each model on the labelled images from outside MNIST and, for two models, an exact
    McNemar test on the images one gets right and the other wrong."""
    if not out or not out.get("url"):
        return None
    acc = out["accuracy"]
    n = out["labelled"]
    what = ("synthetic digits drawn in matplotlib's bundled fonts (the image folder held none)"
            if out["source"] == "synthetic" else "images from the folder")
    if not n:
        return Headline((f"{count(out['n'], 'unlabelled image')} classified; without labels no accuracy can be given.",),
                        f"{out['n']} unlabelled images")
    rows = [r for r in out["rows"] if r["label"] != "—"]
    text = (f"On the {n} labelled {what}, not from MNIST, the top-1 prediction (softmax averaged over seeds) is right "
            "for " + join(f"**{m}** {round(a * n)} ({100 * a:.0f} %)" for m, a in acc.items()))
    if len(acc) == 2:
        a_right = [not r["cells"][0]["wrong"] for r in rows]
        b_right = [not r["cells"][1]["wrong"] for r in rows]
        mc = mcnemar_exact(a_right, b_right)
        ma, mb = list(acc)
        text += (f"; they disagree on {count(mc.b + mc.c, 'image')} ({ma} alone right on {mc.b}, {mb} alone on "
                 f"{mc.c}; exact McNemar {p_text(mc.p)}): {'a detectable' if mc.p < ALPHA else 'no detectable'} difference")
    return Headline((text + ".",), f"outside MNIST ({n}): " + ", ".join(f"{m} {100 * a:.0f} %" for m, a in acc.items()))


def robustness(ctx: Context, out: dict[str, Any] | None) -> Headline | None:
    """Test accuracy of each model at the middle and the largest severity of every perturbation, and for
    two models which holds up better at the middle severity (Welch over seeds)."""
    if not out or not out.get("url"):
        return None
    from reportgen.report.analyses.context import probe_rows

    vs = [v for v in ctx.sr.variants if v.runs and probe_rows(v, "robustness")[0]]
    parts, better = [], {}
    for t in out["tables"]:
        k = len(t["severities"]) // 2
        cells = ", ".join(f"{r['label']} {r['cells'][k]} %" for r in t["rows"])
        parts.append(f"under {t['axis']} of {t['severities'][k]} {t['unit']} to {cells}")
        if len(vs) == 2:
            per = [[rows[0][t["axis"]]["accuracy"][k] * 100 for rows in probe_rows(v, "robustness") if rows] for v in vs]
            w = welch(per[0], per[1])
            if w.p < ALPHA:
                better.setdefault(vs[0].label if w.diff > 0 else vs[1].label, []).append(t["axis"])
    clean = ", ".join(f"{r['label']} {r['cells'][0]} %" for r in out["tables"][0]["rows"])
    text = f"Test accuracy (clean test set: {clean}) falls " + "; ".join(parts) + " (mean over seeds)."
    sentences = [text]
    if len(vs) == 2:
        sentences.append("At these severities the model that holds up detectably better (Welch's t test over seeds) is "
                         + (join(f"{m} under {join(axes)}" for m, axes in better.items()) if better else "neither")
                         + ".")
    t = out["tables"][0]
    k = len(t["severities"]) // 2
    return Headline(tuple(sentences), f"{t['axis']} {t['severities'][k]} {t['unit']}: "
                    + ", ".join(f"{r['label']} {r['cells'][k]} %" for r in t["rows"]))


def _summary(out: dict[str, Any] | None, short: str) -> Headline | None:
    """The data analysis's own ``summary``, split into its sentences."""
    if not out or not out.get("summary"):
        return None
    return Headline(tuple(re.split(r"(?<=\.)\s+(?=[A-Z])", out["summary"])), short)


def split_overview(ctx: Context, out: dict[str, Any] | None) -> Headline | None:
    """The split sizes and class balance, as the split overview computed them."""
    if not out:
        return None
    whole, test = out["rows"][0], out["rows"][3]
    return _summary(out, f"{whole['images']:,} training + {test['images']:,} test images; class ratio {whole['ratio']:.2f}")


def data_checks(ctx: Context, out: dict[str, Any] | None) -> Headline | None:
    return _summary(out, f"{out['total'] if out else '—'} invalid values")


def pixel_statistics(ctx: Context, out: dict[str, Any] | None) -> Headline | None:
    return _summary(out, "pixel mean and std")


def class_images(ctx: Context, out: dict[str, Any] | None) -> Headline | None:
    return _summary(out, "ink per digit")


def duplicates(ctx: Context, out: dict[str, Any] | None) -> Headline | None:
    return _summary(out, f"{out['total'] if out else '—'} duplicate pairs")
