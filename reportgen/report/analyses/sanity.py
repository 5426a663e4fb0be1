"""Sanity checks before trusting a model (seed notebook 003; Karpathy 2019, "A Recipe for Training
Neural Networks"): each check passes or fails from the ``sanity`` probe and the run's own history.

Thresholds (shown on the page):

- output shape: exactly (B, 10) for a batch of B random inputs;
- initial loss: within ``INIT_LOSS_TOL`` (relative) of ln 10 = 2.303 nats, the cross-entropy of a
  uniform guess over ten classes (a model that starts confident is mis-initialised);
- gradients: every parameter tensor receives a non-zero gradient from one batch;
- parameter count: the probe's count equals the trained model's recorded one;
- overfitting a small subset: train accuracy (eval mode, the whole subset) reaches 100 % within the
  run's epochs (a model that cannot memorise 100 images has a bug, not a capacity problem).
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from reportgen.report.draw import figures
from reportgen.report.judge.words import count
from reportgen.report.analyses.context import Context, probe_rows, runs_of

#: Relative tolerance of the initial-loss check around ln 10.
INIT_LOSS_TOL = 0.10


def _first_epoch(acc: list[float], level: float = 1.0) -> int | None:
    """1-based epoch at which ``acc`` first reaches ``level``; None if never."""
    return next((i + 1 for i, a in enumerate(acc) if a >= level), None)


def _checks(run: dict, probe: dict) -> list[dict[str, Any]]:
    """The five checks of one run, each ``{name, passed, evidence}``."""
    ln10 = math.log(10)
    epochs = run["config"]["train"]["epochs"]
    subset = run["config"]["data"]["train_subset"]
    acc = [h["train_eval_acc"] for h in run["history"]]
    reached = _first_epoch(acc)
    shape = probe["output_shape"]
    return [
        {"name": "output shape", "passed": shape == [probe["random_batch"], 10],
         "evidence": f"{tuple(shape)} for {probe['random_batch']} random inputs"},
        {"name": "initial loss ≈ ln 10", "passed": abs(probe["initial_loss"] - ln10) <= INIT_LOSS_TOL * ln10,
         "evidence": f"{probe['initial_loss']:.3f} nats (ln 10 = {ln10:.3f})"},
        {"name": "every parameter gets a gradient", "passed": not probe["no_grad"],
         "evidence": (f"all {probe['param_tensors']} tensors" if not probe["no_grad"]
                      else "none for " + ", ".join(probe["no_grad"]))},
        {"name": "parameter count", "passed": probe["params"] == run["params"],
         "evidence": f"{probe['params']:,} (trained model: {run['params']:,})"},
        {"name": f"overfits {subset or 'all'} images", "passed": reached is not None,
         "evidence": (f"100 % train accuracy at epoch {reached} of {epochs}" if reached
                      else f"best {max(acc, default=0):.1%} in {epochs} epochs")},
    ]


def sanity_checks(ctx: Context) -> dict[str, Any]:
    """Per variant: each check's outcome over its seeds (passes only if every seed passes), the
    evidence per seed, the training curve on the small subset, and one visualised batch."""
    out = []
    for v in ctx.sr.variants:
        pairs = [(r, rows[0]) for r, rows in zip(v.runs, probe_rows(v, "sanity")) if rows]
        if not pairs:
            continue
        per_seed = [(r["seed"], _checks(r, p)) for r, p in pairs]
        checks = []
        for k, c in enumerate(per_seed[0][1]):
            checks.append({"name": c["name"], "passed": all(s[1][k]["passed"] for s in per_seed),
                           "evidence": "; ".join(f"seed {seed}: {cs[k]['evidence']}" for seed, cs in per_seed)})
        batch = pairs[0][1]["batch"]
        images = np.stack([np.frombuffer(bytes.fromhex(h), np.uint8).reshape(28, 28) for h in batch["images"]])
        bpath, burl = ctx.figure(f"sanity_batch_{v.slug}.png")
        figures.image_grid(images, [str(y) for y in batch["labels"]], bpath,
                           f"{v.label}: the first {len(images)} training images as the model gets them, with labels",
                           cols=min(16, len(images)))
        acc, loss = runs_of(v, "train_eval_acc") * 100, runs_of(v, "train_eval_loss")
        x = list(range(1, acc.shape[1] + 1))
        cpath, curl = ctx.figure(f"sanity_curve_{v.slug}.png")
        figures.lines([figures.Panel("Train loss on the subset", "cross-entropy (nats)", {v.label: (x, loss)}, logy=True),
                       figures.Panel("Train accuracy on the subset", "accuracy (%)", {v.label: (x, acc)},
                                     hlines=((100.0, "100 %"),))], cpath, cols=2)
        out.append({"label": v.label, "checks": checks, "passed": sum(c["passed"] for c in checks),
                    "batch_url": burl, "curve_url": curl, "n": len(pairs)})
    summary = " ".join(
        f"**{v['label']}** passes {v['passed']} of {len(v['checks'])} sanity checks on all {count(v['n'], 'seed')}"
        + (f" (failing: {', '.join(c['name'] for c in v['checks'] if not c['passed'])})."
           if v["passed"] < len(v["checks"]) else ".") for v in out)
    return {"variants": out, "tol": f"{INIT_LOSS_TOL:.0%}", "ln10": f"{math.log(10):.3f}", "summary": summary}
