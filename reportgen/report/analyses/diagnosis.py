"""What went wrong in a run, decided from its recorded evidence only: one label per run.

The labels are a closed set (``LABELS``). Rules fire in ``RULES`` order and the first that fires
names the run; a run no rule catches is ``healthy``. Evidence comes from the result JSON alone —
``status``/``reason``, the per-epoch ``history`` (``train_loss``, ``val_loss``, ``train_eval_acc``,
``val_acc``) and, when the run recorded it, the ``grad_norms`` probe — so any study's run can be
diagnosed; a run without ``grad_norms`` skips the vanishing-gradient rule. The run's config
(e.g. ``data.shuffled_labels``) is deliberately not read: a label says what the curves show, not
what the spec intended, so a spec's intent can be checked against it.
"""
from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np

from reportgen.report.draw import figures
from reportgen.results.summary import METRICS
from reportgen.report.analyses.context import Context

#: The closed set of diagnoses.
LABELS = ("diverged", "vanishing_gradients", "underfit", "overfit", "memorised", "healthy")
#: Accuracy of guessing on MNIST's ten classes (each 9–11 % of every split; LeCun et al. 1998).
CHANCE_ACC = 0.1


@dataclass(frozen=True)
class Threshold:
    """One number a rule compares against: ``value`` in base units (fractions, nats), shown on the
    page as ``value × scale`` ``unit``."""

    value: float
    unit: str
    scale: float
    meaning: str


#: Every threshold the rules use, with why it sits where it does. The page prints this table.
THRESHOLDS: dict[str, Threshold] = {
    # A 10-class classifier starts near uniform guessing, ln 10 = 2.303 nats (Karpathy 2019, "A recipe
    # for training neural networks": check the loss at initialisation). An epoch whose *mean* training
    # loss exceeds twice that was made worse than knowing nothing by its own updates. Committed MNIST
    # runs that train stay below 0.5 nats from the first epoch on; runs that cannot learn sit at 2.30.
    "exploding_loss": Threshold(2 * math.log(10), "nats", 1.0,
                                "highest epoch-mean train_loss above which the loss has exploded (2 ln 10)"),
    # Zhang et al. 2017 ("Understanding deep learning requires rethinking generalization"): a network
    # fits random labels while validation stays at chance. Fitting half of the training labels (5×
    # chance) while validation is at most twice chance means it fitted labels that carry no
    # information about the image.
    "memorised_train_acc": Threshold(0.5, "%", 100.0, "train accuracy at or above which a chance-level "
                                                      "validation accuracy means memorisation"),
    "memorised_val_acc": Threshold(2 * CHANCE_ACC, "%", 100.0, "validation accuracy at or below which the "
                                                               "model has learned nothing that generalises (2× chance)"),
    # The first layer's mean gradient norm over the last layer's (``grad_norm_ratio``). Networks that
    # train, in the committed studies, show 0.6–3 (ReLU, tanh, sigmoid, softsign MLPs; small and
    # large; even on random labels); a deep sigmoid stack starves its first layer to ~1e-6 (each
    # sigmoid scales the backward signal by at most 0.25: Glorot & Bengio 2010). Below 1 % — two
    # orders of magnitude under the healthy range — the first layer effectively does not learn.
    "vanishing_ratio": Threshold(0.01, "", 1.0, "first/last layer gradient-norm ratio below which the "
                                                "first layer starves (only when the run also underfits)"),
    # A multinomial logistic regression — a linear classifier — reaches about 92 % on MNIST (LeCun
    # et al. 1998 list 12 % test error for a plain linear classifier, 7.6 % pairwise); a network that
    # does not fit 90 % of its own training images fits worse than a linear model can.
    "underfit_train_acc": Threshold(0.90, "%", 100.0, "last-epoch train accuracy (eval mode) below which "
                                                      "the model underfits"),
    # Train − validation accuracy at the last epoch. MNIST models trained on the full 55,000 images
    # show 0.2–2 pp in every committed study (mlp_baseline, dropout_ablation, optimizer_comparison,
    # cnn_baseline, …); 5 pp is more than twice the largest of them.
    "overfit_gap": Threshold(0.05, "pp", 100.0, "train − validation accuracy at the last epoch at or above "
                                                "which the model overfits"),
}


def _t(name: str) -> float:
    return THRESHOLDS[name].value


def _pct(x: float, digits: int = 1) -> str:
    return f"{x * 100:.{digits}f} %"


@dataclass(frozen=True)
class Evidence:
    """What the rules read from one result. Accuracies are fractions of the last recorded epoch
    (train: eval mode on the first 5,000 training images), losses in nats, ``grad_ratio`` the mean
    over recorded epochs of first-layer over last-layer ‖∂L/∂W‖₂ (NaN without ``grad_norms``);
    ``max_train_loss`` is the highest finite epoch mean, ``nonfinite`` flags any NaN/inf loss."""

    status: str
    reason: str
    epochs: int
    max_train_loss: float
    nonfinite: bool
    train_acc: float
    val_acc: float
    grad_ratio: float

    @property
    def gap(self) -> float:
        return self.train_acc - self.val_acc


def evidence(result: dict[str, Any]) -> Evidence:
    """The :class:`Evidence` of one result dict (as ``store.read_result`` returns it)."""
    h = result.get("history") or []
    losses = [float(row[k]) for row in h for k in ("train_loss", "val_loss", "train_eval_loss") if k in row]
    last = h[-1] if h else {}
    try:
        ratio = float(METRICS["grad_norm_ratio"].get(result))
    except (KeyError, TypeError, IndexError, ZeroDivisionError):
        ratio = float("nan")
    return Evidence(status=result.get("status", ""), reason=result.get("reason", ""), epochs=len(h),
                    max_train_loss=max((x for x in (float(row["train_loss"]) for row in h) if math.isfinite(x)),
                                       default=float("nan")),
                    nonfinite=not all(math.isfinite(x) for x in losses),
                    train_acc=float(last.get("train_eval_acc", last.get("train_acc", float("nan")))),
                    val_acc=float(last.get("val_acc", float("nan"))), grad_ratio=ratio)


def _diverged(e: Evidence) -> str | None:
    if e.status == "diverged":
        return e.reason or "the run ended as diverged"
    if e.nonfinite:
        return "a non-finite loss was recorded"
    if e.max_train_loss > _t("exploding_loss"):
        return f"train_loss reached {e.max_train_loss:.3g} nats (> {_t('exploding_loss'):.2f})"
    return None


def _memorised(e: Evidence) -> str | None:
    if e.train_acc >= _t("memorised_train_acc") and e.val_acc <= _t("memorised_val_acc"):
        return f"train accuracy {_pct(e.train_acc)} while validation accuracy is {_pct(e.val_acc)} (chance {_pct(CHANCE_ACC, 0)})"
    return None


def _vanishing(e: Evidence) -> str | None:
    if e.grad_ratio < _t("vanishing_ratio") and not e.train_acc >= _t("underfit_train_acc"):
        return f"first/last layer gradient ratio {e.grad_ratio:.2g} (< {_t('vanishing_ratio'):g}); train accuracy {_pct(e.train_acc)}"
    return None  # NaN (no grad_norms probe) compares False: the rule is skipped


def _underfit(e: Evidence) -> str | None:
    if not e.train_acc >= _t("underfit_train_acc"):  # NaN (no epoch recorded) cannot show a fit
        return f"train accuracy {_pct(e.train_acc)} (< {_pct(_t('underfit_train_acc'), 0)})"
    return None


def _overfit(e: Evidence) -> str | None:
    if e.gap >= _t("overfit_gap"):
        return f"train − validation accuracy {e.gap * 100:.1f} pp (≥ {_t('overfit_gap') * 100:.0f} pp)"
    return None


#: (label, rule, condition as shown on the page), applied in this order; the first that fires wins.
#: Divergence first (nothing else is meaningful after it); memorisation before the fit rules (its
#: train accuracy may be below the fit bar); vanishing gradients before underfit (it names the cause).
RULES = (
    ("diverged", _diverged, "status `diverged`, a non-finite loss, or an epoch-mean train_loss above {exploding_loss}"),
    ("memorised", _memorised, "train accuracy ≥ {memorised_train_acc} and validation accuracy ≤ {memorised_val_acc}"),
    ("vanishing_gradients", _vanishing, "first/last layer gradient ratio < {vanishing_ratio} and train accuracy "
                                        "< {underfit_train_acc} (needs the `grad_norms` probe)"),
    ("underfit", _underfit, "train accuracy < {underfit_train_acc}"),
    ("overfit", _overfit, "train − validation accuracy ≥ {overfit_gap}"),
)
assert sorted([r[0] for r in RULES] + ["healthy"]) == sorted(LABELS), "one rule per label"


@dataclass(frozen=True)
class Diagnosis:
    label: str  # one of LABELS
    why: str  # the evidence that decided it
    evidence: Evidence


def diagnose(result: dict[str, Any]) -> Diagnosis:
    """The first rule of ``RULES`` that fires on ``result``'s evidence, else ``healthy``."""
    e = evidence(result)
    for label, rule, _ in RULES:
        why = rule(e)
        if why:
            return Diagnosis(label, why, e)
    return Diagnosis("healthy", f"train accuracy {_pct(e.train_acc)}, validation {_pct(e.val_acc)}, gap "
                                 f"{e.gap * 100:.1f} pp: no rule fired", e)


def shown(name: str) -> str:
    """A threshold as the page shows it, e.g. ``90 %`` or ``4.61 nats``."""
    t = THRESHOLDS[name]
    return f"{t.value * t.scale:.3g} {t.unit}".strip()


def _padded(seqs: list[list[float]], scale: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """(epochs 1…n, runs) for :class:`figures.Panel`, n the longest run; non-finite values are not
    drawn. When seeds stop at different epochs or hold non-finite values (a diverged run), one row:
    the mean of the seeds still finite at each epoch, so a seed that goes on stays visible."""
    n = max((len(s) for s in seqs), default=0)
    runs = np.array([list(s) + [np.nan] * (n - len(s)) for s in seqs], dtype=float).reshape(len(seqs), n)
    runs[~np.isfinite(runs)] = np.nan
    if np.isnan(runs).any():
        finite = ~np.isnan(runs)
        runs = (np.where(finite, runs, 0.0).sum(0) / np.maximum(finite.sum(0), 1))[None, :]
        runs[:, ~finite.any(0)] = np.nan
    return np.arange(1, n + 1), runs * scale


def _ratios(result: dict) -> list[float]:
    rows = result.get("probes", {}).get("grad_norms") or []
    return [g[0] / g[-1] if g[-1] else float("nan") for g in (list(r["layers"].values()) for r in rows)]


def _max_loss(ev: list[Evidence], nonfinite: int) -> str:
    """Mean over seeds of the highest finite epoch-mean train_loss; with non-finite seeds, the largest."""
    finite = [e.max_train_loss for e in ev if np.isfinite(e.max_train_loss)]
    if not nonfinite:
        return f"{np.mean(finite):.3g}" if finite else "—"
    return f"non-finite in {nonfinite}/{len(ev)}" + (f" (highest finite: {max(finite):.3g})" if finite else "")


def _mean(xs: list[float], scale: float = 1.0, digits: int = 1) -> str:
    xs = [x for x in xs if np.isfinite(x)]
    return f"{np.mean(xs) * scale:.{digits}f}" if xs else "—"


def diagnosis(ctx: Context) -> dict[str, Any]:
    """Per run the first rule of ``RULES`` that fires; per variant the most frequent label (ties go to
    the earlier rule) with the evidence averaged over seeds; accuracy curves per variant and the
    training loss and gradient ratio curves against their thresholds."""
    order = [r[0] for r in RULES] + ["healthy"]
    rows, runs, acc_panels, loss, ratio = [], [], [], {}, {}
    for v in (v for v in ctx.sr.variants if v.runs):
        ds = [diagnose(r) for r in v.runs]
        counts = Counter(d.label for d in ds)
        label = min(counts, key=lambda k: (-counts[k], order.index(k)))
        ev = [d.evidence for d in ds]
        nonfinite = sum(e.nonfinite for e in ev)
        rows.append({"label": v.label, "diagnosis": label, "count": counts[label], "n": len(ds),
                     "others": ", ".join(f"{k} {c}" for k, c in counts.items() if k != label),
                     "status": ", ".join(f"{s} {c}" for s, c in Counter(e.status for e in ev).items()),
                     "epochs": "/".join(str(e.epochs) for e in ev),
                     "max_loss": _max_loss(ev, nonfinite),
                     "train": _mean([e.train_acc for e in ev], 100), "val": _mean([e.val_acc for e in ev], 100),
                     "gap": _mean([e.gap for e in ev], 100),
                     "ratio": f"{np.mean([e.grad_ratio for e in ev]):.2g}"
                     if all(np.isfinite(e.grad_ratio) for e in ev) else "—"})
        runs += [{"label": v.label, "seed": r["seed"], "diagnosis": d.label, "why": d.why} for r, d in zip(v.runs, ds)]
        tr = _padded([[h.get("train_eval_acc", h.get("train_acc")) for h in r["history"]] for r in v.runs], 100)
        va = _padded([[h["val_acc"] for h in r["history"]] for r in v.runs], 100)
        acc_panels.append(figures.Panel(f"{v.label} → {label}", "accuracy (%)",
                                        {"train (eval mode)": tr, "validation": va}, styles={"train (eval mode)": "--"},
                                        hlines=((_t("underfit_train_acc") * 100, f"{shown('underfit_train_acc')}: fitted"),
                                                (_t("memorised_val_acc") * 100, f"{shown('memorised_val_acc')}: near chance"))))
        loss[v.label] = _padded([[h["train_loss"] for h in r["history"]] for r in v.runs])
        if all(_ratios(r) for r in v.runs):
            ratio[v.label] = _padded([_ratios(r) for r in v.runs])
    curves_path, curves_url = ctx.figure("diagnosis_curves.png")
    figures.lines(acc_panels, curves_path, "Train (dashed) and validation (solid) accuracy per variant; mean over "
                  "seeds with min–max band", cols=2)
    panels = [figures.Panel("Training loss (mean per epoch)", "cross-entropy (nats)", loss, logy=True,
                            hlines=((_t("exploding_loss"), f"{shown('exploding_loss')}: exploded above"),))]
    if ratio:
        panels.append(figures.Panel("First/last layer gradient norm", "ratio", ratio, logy=True,
                                    hlines=((_t("vanishing_ratio"), f"{shown('vanishing_ratio')}: vanishing below"),)))
    evidence_path, evidence_url = ctx.figure("diagnosis_evidence.png")
    figures.lines(panels, evidence_path, "Divergence and gradient-flow evidence; mean over seeds (non-finite values not drawn)")
    names = {k: shown(k) for k in THRESHOLDS}
    fit = {"healthy": "a good fit"}  # in the words of a fit diagnosis (good fit / overfit / underfit)
    labels = "; ".join(f"{r['label']} → **{r['diagnosis']}**" + (f" ({fit[r['diagnosis']]}, " if r["diagnosis"] in fit
                       else " (") + f"{r['count']}/{r['n']} seeds)" for r in rows)
    distinct = len(set(r["diagnosis"] for r in rows))
    summary = (f"Diagnosed from the recorded curves and gradient norms alone"
               + (f", {distinct} distinct labels: " if len(rows) > 1 else ": ") + f"{labels}.") if rows else ""
    return {"summary": summary, "rows": rows, "runs": runs, "curves_url": curves_url, "evidence_url": evidence_url,
            "rules": [{"label": lab, "when": text.format(**names)} for lab, _, text in RULES],
            "thresholds": [{"name": k, "shown": shown(k), "meaning": t.meaning} for k, t in THRESHOLDS.items()],
            "without_probe": [v.label for v in ctx.sr.variants if v.runs and not all(_ratios(r) for r in v.runs)]}
