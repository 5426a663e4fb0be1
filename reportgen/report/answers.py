"""A study's answer to its question, composed from the headline findings of its analyses.

The spec names analyses; each analysis with a headline (``reportgen.report.analyses.HEADLINES``) states its
finding in computed numbers and a verdict. The answer takes the headlines whose topic the question asks
about, in the order the question asks (the position of each topic's first match in the question), then
the pointers to figures. A generic accuracy sentence is left out when the question does not ask about
test accuracy or when another headline already states it. Where the design cannot answer part of the
question (variants that change several things at once, one seed, a saved model not in the committed
results), a plain statement takes that part's place. Also here: what the index shows for a study — the
best variant, the one selected on validation for a tuning study, or the verdicts of a diagnostic one.
"""
from __future__ import annotations

import math
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reportgen.report.analyses import ANALYSES, HEADLINES, Context, Headline
from reportgen.spec.expand import variants as study_variants
from reportgen.results.summary import StudyResults, VariantResults
from reportgen.report.words import join

#: Question wording that asks what each of several changes contributes.
ATTRIBUTION = r"contribut|each addition"
#: Question wording that asks whether a saved model reproduces its results.
RELOAD = r"saved model|reload|reproduce"
#: Readable names of the settings a variant may change (leaf keys of the config; others as they are).
SETTING_NAMES = {"type": "layer types", "out": "widths", "kernel": "kernel sizes", "batchnorm": "BatchNorm",
                 "padding": "padding", "activation": "activations", "lr": "learning rate", "name": "optimizer",
                 "augment": "augmentation", "scheduler": "learning-rate schedule", "body": "skip connections"}


@dataclass(frozen=True)
class Answer:
    """A study's answer: its sentences (Markdown) and a one-line short form for the index."""

    sentences: tuple[str, ...]
    short: str

    @property
    def text(self) -> str:
        return " ".join(self.sentences)

    @property
    def first(self) -> str:
        """The first sentence: the quantity the question asks about, its number and a verdict."""
        return self.sentences[0] if self.sentences else ""


def _position(pattern: str, question: str) -> float:
    m = re.search(pattern, question)
    return float(m.start()) if m else math.inf


def _diff(a: Any, b: Any, name: str) -> set[str]:
    """Names of the settings in which config fragments ``a`` and ``b`` differ (leaf keys)."""
    if a == b:
        return set()
    if isinstance(a, dict) and isinstance(b, dict):
        return set().union(*(_diff(a.get(k), b.get(k), k) for k in a.keys() | b.keys()))
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        out = set().union(*(_diff(x, y, name) for x, y in zip(a, b))) if a and b else set()
        return out | ({"number of layers" if name == "layers" else name} if len(a) != len(b) else set())
    return {name}


def changes(sr: StudyResults) -> list[tuple[str, str, list[str]]]:
    """(variant, next variant, settings that differ) for consecutive variants in declaration order."""
    over = [(label, {k: v for k, v in o.items()}) for _, label, o in study_variants(sr.spec.study)]
    out = []
    for (la, a), (lb, b) in zip(over, over[1:]):
        names: set[str] = set()
        for path in a.keys() | b.keys():
            names |= _diff(a.get(path), b.get(path), path.rsplit(".", 1)[-1])
        out.append((la, lb, sorted(SETTING_NAMES.get(n, n) for n in names)))
    return out


def limits(sr: StudyResults) -> list[tuple[float, str]]:
    """(position in the question, statement) for each part of the question the design cannot answer."""
    study, q = sr.spec.study, sr.spec.study.question.lower()
    out = []
    at = _position(ATTRIBUTION, q)
    steps = changes(sr) if math.isfinite(at) else []
    if any(len(names) > 1 for _, _, names in steps):
        what = "; ".join(f"{a} → {b}: {join(names)}" for a, b, names in steps)
        out.append((at, f"What each addition contributes cannot be read from this design: the {len(steps) + 1} "
                        f"variants differ in several settings at once ({what}), so no difference between them can be "
                        "attributed to any one addition; that would take one variant per addition."))
    at = _position(RELOAD, q)
    if study.save_models and math.isfinite(at):
        v = next((v for v in sr.variants if v.runs), None)
        path = f"models/{sr.name}/{v.slug}/seed{v.runs[0]['seed']}.safetensors" if v else f"models/{sr.name}/…"
        out.append((at, "Whether the saved model reproduces these numbers is not in the committed results (the "
                        f"weights under models/ are not committed): `reportgen evaluate --model {path}` reloads one and "
                        "compares its test predictions and loss with the recorded ones."))
    single = [v.label for v in sr.variants if len(v.runs) == 1]
    if single:
        out.append((math.inf, f"{join(single)} {'has' if len(single) == 1 else 'have'} one seed only: no interval or "
                              "test is possible for it, and its numbers are a single run."))
    return out


def compose(ctx: Context, outputs: dict[str, dict[str, Any]] | None = None) -> Answer:
    """The answer of ``ctx.sr``'s study. ``outputs``: analysis name → its returned context, where the
    caller has run it (the page renderer); a headline that reads an analysis's output the caller did not
    give runs that analysis, drawing its figures into a temporary folder."""
    sr, outputs = ctx.sr, dict(outputs or {})
    study = sr.spec.study
    if not sr.runs and study.kind != "explore":
        waiting = f" (waiting for {join(sr.pending)})" if sr.pending else ""
        return Answer((f"No results yet{waiting}: run `invoke run --spec {sr.name}`.",), "no results yet")
    q = study.question.lower()
    found = [(_position(HEADLINES[n].topics, q), i, n) for i, n in enumerate(study.analyses) if n in HEADLINES]
    asked = [f for f in found if math.isfinite(f[0])] or [(math.inf, i, n) for _, i, n in found]
    if any(HEADLINES[n].covers_accuracy for _, _, n in asked):
        asked = [f for f in asked if HEADLINES[f[2]].role != "accuracy"]
    parts: list[tuple[float, int, Headline | str]] = []
    with tempfile.TemporaryDirectory(prefix="reportgen-answer-") as tmp:
        scratch = Context(sr, Path(tmp), "", ctx.data_root)
        for pos, i, name in asked:
            rule = HEADLINES[name]
            out = outputs.get(name)
            if out is None and rule.reads_output:
                out = ANALYSES[name](scratch)
            h = rule.fn(ctx, out)
            if h is not None:
                parts.append((math.inf if rule.role == "pointer" else pos, i, h))
    parts += [(pos, -1, text) for pos, text in limits(sr)]
    parts.sort(key=lambda p: (p[0], p[1] if p[1] >= 0 else 10_000))
    sentences: list[str] = []
    for _, _, p in parts:
        sentences += list(p.sentences) if isinstance(p, Headline) else [p]
    if not sr.complete and study.kind != "explore":
        sentences.append("Some runs are missing or stale (see the warning below): the answer may change once they ran.")
    short = next((p.short for _, _, p in parts if isinstance(p, Headline)), "")
    return Answer(tuple(sentences) or ("The analyses this spec names state no finding.",), short)


def answer_for(spec, results: Path, data_root: Path | None = None, smoke: bool = False) -> Answer:
    """The answer of one study from the results on disk (nothing written): what a test or the index of
    a partial render needs without rendering the page."""
    from reportgen.results.chain import collect

    sr = collect(spec, results, smoke)
    with tempfile.TemporaryDirectory(prefix="reportgen-answer-") as tmp:
        return compose(Context(sr, Path(tmp), "", data_root))


def tuning(sr: StudyResults) -> bool:
    """A tuning study chooses a variant on validation (its section is "Tuning")."""
    return sr.spec.study.section == "Tuning"


def chosen(sr: StudyResults) -> VariantResults | None:
    """The variant the index names: none for a diagnostic study; for a tuning study the one with the
    highest mean validation accuracy (the test set never chooses); else the highest mean test accuracy."""
    from reportgen.report.analyses.headline import mean_of

    vs = [v for v in sr.variants if v.runs]
    if sr.spec.study.diagnostic or not vs:
        return None
    metric = "val_acc" if tuning(sr) else "test_accuracy"
    finite = [v for v in vs if math.isfinite(mean_of(v, metric))]
    return max(finite, key=lambda v: mean_of(v, metric), default=None)
