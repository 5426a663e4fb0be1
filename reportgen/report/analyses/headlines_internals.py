"""Headlines of the analyses of training-time probes (see :mod:`.headline`): weight norms and
histograms, gradient noise, gradient flow and saturation. Each returns a :class:`~.headline.Headline`
computed from the probes the runs recorded, or None when no run recorded them."""
from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy.stats import spearmanr

from reportgen.report.judge import timings
from reportgen.report.judge.words import count, join
from reportgen.report.analyses.context import Context
from reportgen.report.analyses.headline import (
    ALPHA,
    Headline,
    compared,
    detectable,
    judged,
    p_text,
    with_runs,
)


def _final(v, probe: str, field: str = "layers") -> dict[str, list[float]]:
    """``{layer: [last row's value per seed]}`` from a per-epoch probe."""
    out: dict[str, list[float]] = {}
    for r in v.runs:
        rows = (r.get("probes") or {}).get(probe) or []
        rows = [row for row in rows if row.get("epoch") != "final"] or rows
        if rows:
            for layer, x in rows[-1][field].items():
                out.setdefault(layer, []).append(x if not isinstance(x, dict) else x)
    return out


def weight_norms(ctx: Context, out: dict[str, Any] | None = None) -> Headline | None:
    """The first layer's final weight norm per variant against the reference's, and which variant ends
    with the lowest validation loss."""
    vs = [v for v in with_runs(ctx) if _final(v, "weight_norms")]
    if not vs:
        return None
    ref = next((v for v in vs if v.slug == ctx.sr.reference), vs[0])
    layer = next(iter(_final(ref, "weight_norms")))
    norm = {v.label: float(np.mean(_final(v, "weight_norms")[layer])) for v in vs}
    rest = [v for v in vs if v is not ref]
    def pct(x: float) -> str:
        d = 100 * (x / norm[ref.label] - 1)
        return f"{d:+.2g} %" if abs(d) < 1 else f"{d:+.0f} %"  # two significant digits: never "-0.0 %"

    change = join(f"{v.label} {norm[v.label]:.2f} ({pct(norm[v.label])})" for v in rest)
    if rest:
        lo, hi = min(rest, key=lambda v: norm[v.label]), max(rest, key=lambda v: norm[v.label])
        sentences = [f"The first layer's ({layer}) Frobenius weight norm ‖W‖\\_F ends at {norm[ref.label]:.2f} for **{ref.label}**; "
                     f"the other variants end between {norm[lo.label]:.2f} for **{lo.label}** ({pct(norm[lo.label])}) and "
                     f"{norm[hi.label]:.2f} for **{hi.label}** ({pct(norm[hi.label])}) (mean over seeds).",
                     f"Per variant: {change}."]
    else:
        sentences = [f"The first layer's ({layer}) Frobenius weight norm ‖W‖\\_F ends at {norm[ref.label]:.2f} (mean over seeds)."]
    loss = sorted(vs, key=lambda v: v.interval("val_loss").mean)
    if len(loss) > 1:
        lo, hi = loss[0], loss[-1]
        clause, word = judged(ctx.sr, lo, ref, "val_loss", len(loss) - 1) if lo is not ref else ("", "")
        sentences.append(f"Validation loss at the last epoch is lowest for **{lo.label}** "
                         f"({lo.interval('val_loss').mean:.4f} nats) and highest for **{hi.label}** "
                         f"({hi.interval('val_loss').mean:.4f})" + (f"; against {ref.label}: {clause}, "
                         f"{word}" if clause else "") + ".")
    smallest = min(rest or vs, key=lambda v: norm[v.label])
    return Headline(tuple(sentences), f"‖W‖_F {ref.label} {norm[ref.label]:.2f} → {smallest.label} {norm[smallest.label]:.2f}")


def weight_histograms(ctx: Context, out: dict[str, Any] | None = None) -> Headline | None:
    """The standard deviation of each layer's final weights (mean over seeds) of the reference variant."""
    vs = [v for v in with_runs(ctx) if any((r.get("probes") or {}).get("weight_histograms") for r in v.runs)]
    if not vs:
        return None
    v = next((v for v in vs if v.slug == ctx.sr.reference), vs[0])
    stds: dict[str, list[float]] = {}
    for r in v.runs:
        final = next((row for row in (r.get("probes") or {}).get("weight_histograms") or [] if row["epoch"] == "final"), None)
        for layer, h in (final or {}).get("layers", {}).items():
            stds.setdefault(layer, []).append(h["std"])
    if not stds:
        return None
    spread = join(f"{layer} {np.mean(s):.4f}" for layer, s in stds.items())
    return Headline((f"The final weights of **{v.label}** spread with a standard deviation of {spread} per layer "
                     f"(mean over {count(len(v.runs), 'seed')}); the histograms below show their shape.",),
                    f"weight std {spread}")


def gradient_noise(ctx: Context, out: dict[str, Any] | None = None) -> Headline | None:
    """Gradient variance against batch size (log-log slope), the simple noise scale at the start and
    end of training with its rank correlation with the batch size, and seconds per epoch per variant from
    the study's controlled timing (:mod:`reportgen.report.judge.timings`), or that without one the recorded
    epochs compare nothing."""
    from reportgen.report.analyses.internals import _loglog_slope

    vs = [v for v in with_runs(ctx) if all((r.get("probes") or {}).get("grad_noise") for r in v.runs)]
    if not vs:
        return None
    slopes, start, end, batch, lrs = [], [], [], [], []
    for v in vs:
        for r in v.clean.runs:
            rows = r["probes"]["grad_noise"]
            sizes = sorted(int(b) for b in rows[-1]["batch"])
            slopes.append(_loglog_slope(sizes, [rows[-1]["batch"][str(b)]["variance"] for b in sizes]))
            start.append(rows[0]["noise_scale"])
            end.append(rows[-1]["noise_scale"])
            batch.append(r["config"]["train"]["batch_size"])
            lrs.append(r["config"]["optim"]["lr"])
    ref = ctx.sr.variant(ctx.sr.reference)
    ref_lr = ref.runs[0]["config"]["optim"]["lr"] if ref.runs else lrs[0]
    trends = []  # the trend within runs at the reference's learning rate, and within those that scale it with B
    for name, keep in (("at the reference's learning rate", [lr == ref_lr for lr in lrs]),
                       ("with the learning rate scaled with B", [lr != ref_lr for lr in lrs])):
        bs, ends = [b for b, k in zip(batch, keep) if k], [e for e, k in zip(end, keep) if k]
        if len(set(bs)) < 3:
            continue
        rho, p = spearmanr(bs, ends)
        word = (f"{'rises' if rho > 0 else 'falls'} with B" if p < ALPHA else "shows no detectable dependence on B")
        trends.append(f"{name} it {word} (Spearman ρ = {rho:+.2f}, {p_text(p)}, {count(len(bs), 'run')})")
    if not trends:
        rho, p = spearmanr(batch, end)
        trends = [f"it {'rises' if rho > 0 else 'falls'} with B" if p < ALPHA else
                  f"it shows no detectable dependence on B (Spearman ρ = {rho:+.2f}, {p_text(p)})"]
    first = (f"The minibatch gradient variance falls with the batch size B at a log-log slope of "
             f"{np.mean(slopes):.2f} (range {min(slopes):.2f} to {max(slopes):.2f} over {count(len(slopes), 'run')}; "
             f"the 1/B law gives −1), while the simple noise scale B_simple = tr(Σ)/‖G‖² grows during training from "
             f"{min(start):,.0f}–{max(start):,.0f} to {min(end):,.0f}–{max(end):,.0f} examples; at the end, "
             + "; ".join(trends) + " (the learning rate changes B_simple too, so the two are not pooled).")
    short = f"variance slope {np.mean(slopes):.2f} (1/B: −1); B_simple {min(end):,.0f}–{max(end):,.0f}"
    m = timings.measured(ctx.sr)
    timed = [(v, m.s_epoch[v.slug]) for v in vs if v.slug in m.s_epoch] if m else []
    if not timed:  # speed is compared only from a controlled timing; recorded epochs compare nothing
        return Headline((first, timings.absent(ctx.sr)), short)
    second = (f"Seconds per epoch, timed side by side ({m.brief}; training steps only): "
              + "; ".join(f"{v.label} {timings.seconds(x)} s" for v, x in timed)
              + "; the seconds per epoch the runs recorded while training, under unknown load, are their cost, "
                "not a comparison.")
    fast, slow = min(timed, key=lambda x: x[1]), max(timed, key=lambda x: x[1])
    return Headline((first, second), f"{short}; s/epoch {timings.seconds(slow[1])} ({slow[0].label}) → "
                                     f"{timings.seconds(fast[1])} ({fast[0].label}), timed side by side")


def gradient_flow(ctx: Context, out: dict[str, Any] | None = None) -> Headline | None:
    """The first/last layer gradient-norm ratio: lowest and highest variant, the lowest against the
    reference (Welch), and which variants fall below the diagnosis analysis's vanishing threshold."""
    from reportgen.report.analyses.diagnosis import THRESHOLDS

    vs = [v for v in with_runs(ctx) if math.isfinite(v.interval("grad_norm_ratio").mean)]
    if not vs:
        return None
    cut = THRESHOLDS["vanishing_ratio"].value
    ranked = sorted(vs, key=lambda v: v.interval("grad_norm_ratio").mean)
    lo, hi = ranked[0], ranked[-1]
    ratio = {v.label: v.interval("grad_norm_ratio").mean for v in vs}
    below = [v.label for v in vs if ratio[v.label] < cut]
    sentences = [f"The first layer's gradient norm over the last layer's (mean over epochs and seeds) is lowest for "
                 f"**{lo.label}**, {ratio[lo.label]:.3g}, and highest for **{hi.label}**, {ratio[hi.label]:.3g}; "
                 + (f"{join(below)} {'falls' if len(below) == 1 else 'fall'} below {cut:g}, where the diagnosis "
                    "analysis calls gradients vanishing." if below else
                    f"no variant comes near {cut:g}, where the diagnosis analysis calls gradients vanishing.")]
    ref = ctx.sr.variant(ctx.sr.reference)
    if lo is not ref and ref.runs:
        clause, word = judged(ctx.sr, lo, ref, "grad_norm_ratio", len(vs) - 1)
        sentences.append(f"{lo.label} against {ref.label}: {clause}, {word}.")
    return Headline(tuple(sentences), f"gradient ratio {lo.label} {ratio[lo.label]:.2g} … {hi.label} {ratio[hi.label]:.2g}")


def saturation(ctx: Context, out: dict[str, Any] | None = None) -> Headline | None:
    """Share of dead (rectifiers) or saturated (squashing) units of the first hidden layer at the end of
    training, per variant (mean over seeds), and the most affected."""
    shares = []
    for v in with_runs(ctx):
        last = _final(v, "saturation")
        if not last:
            continue
        layer = next(iter(last))
        kind = "saturated" if "saturated" in last[layer][0] else "dead"
        shares.append((v.label, kind, 100 * float(np.mean([x[kind] for x in last[layer]]))))
    if not shares:
        return None
    kinds = {k: [s for s in shares if s[1] == k] for k in ("dead", "saturated")}
    parts = [join(f"{label} {x:.1f} %" for label, _, x in group) + f" {kind}" for kind, group in kinds.items() if group]
    worst = max(shares, key=lambda s: s[2])
    return Headline((f"At the end of training, the first hidden layer has {'; '.join(parts)} (share of units or "
                     f"activations on 1,000 validation images, mean over seeds); most affected: **{worst[0]}**, "
                     f"{worst[2]:.1f} % {worst[1]}.",), f"most {worst[1]}: {worst[0]} {worst[2]:.1f} %")
