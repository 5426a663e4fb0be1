"""A study's answer to its question, composed from the headline findings of its analyses.

The spec names analyses; each analysis with a headline (``reportgen.report.analyses.HEADLINES``) states its
finding in computed numbers and a verdict, returned with its page context when the page runs it
(:func:`reportgen.report.analyses.analyse`). The answer states the headlines the spec's ``answer``
declares, in that order (by default every headline in the order of ``analyses``, figure pointers last,
the generic accuracy sentence left out where another headline states test accuracy); it never runs an
analysis and never reads the question to order them. Where the design cannot answer part of the
question (variants that change several things at once, one seed, a saved model not in the committed
results), a plain statement follows the headlines. Also here: what the index shows for a study — the
best variant, the one selected on validation for a tuning study, or the verdicts of a diagnostic one.
"""
from __future__ import annotations

import math
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reportgen.report.analyses import HEADLINES, Context, Headline, analyse
from reportgen.spec.expand import variants as study_variants
from reportgen.results.summary import StudyResults, VariantResults
from reportgen.report.judge.words import join

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


def limits(sr: StudyResults) -> list[str]:
    """Statements of what the design cannot answer of the question (each placed after the headlines):
    what each addition contributes when consecutive variants change several settings at once, whether a
    saved model reproduces its numbers (weights are not committed), a variant with one seed."""
    study, q = sr.spec.study, sr.spec.study.question.lower()
    out = []
    steps = changes(sr) if re.search(ATTRIBUTION, q) else []
    if any(len(names) > 1 for _, _, names in steps):
        what = "; ".join(f"{a} → {b}: {join(names)}" for a, b, names in steps)
        out.append(f"What each addition contributes cannot be read from this design: the {len(steps) + 1} "
                   f"variants differ in several settings at once ({what}), so no difference between them can be "
                   "attributed to any one addition; that would take one variant per addition.")
    if study.save_models and re.search(RELOAD, q):
        v = next((v for v in sr.variants if v.runs), None)
        path = f"models/{sr.name}/{v.slug}/seed{v.runs[0]['seed']}.safetensors" if v else f"models/{sr.name}/…"
        out.append("Whether the saved model reproduces these numbers is not in the committed results (the "
                   f"weights under models/ are not committed): `reportgen evaluate --model {path}` reloads one and "
                   "compares its test predictions and loss with the recorded ones.")
    single = [v.label for v in sr.variants if len(v.runs) == 1]
    if single:
        out.append(f"{join(single)} {'has' if len(single) == 1 else 'have'} one seed only: no interval or "
                   "test is possible for it, and its numbers are a single run.")
    return out


def order(study) -> tuple[str, ...]:
    """The analyses whose headlines answer ``study``'s question, in the answer's order: the spec's
    ``answer`` where it declares one; else every analysis with a headline in the order of ``analyses``,
    figure pointers after the findings, and the generic test-accuracy sentence left out where another
    headline states test accuracy."""
    if study.answer is not None:  # a validated spec runs every analysis its answer names
        return tuple(n for n in study.answer if n in study.analyses)
    named = [n for n in study.analyses if n in HEADLINES]
    if any(HEADLINES[n].covers_accuracy for n in named):
        named = [n for n in named if HEADLINES[n].role != "accuracy"]
    return tuple(sorted(named, key=lambda n: HEADLINES[n].role == "pointer"))


def compose(sr: StudyResults, headlines: dict[str, Headline | None]) -> Answer:
    """The answer of ``sr``'s study from ``headlines`` (analysis name → the headline :func:`analyse`
    returned with its context), in :func:`order`, then :func:`limits`. It runs no analysis: the caller
    ran each one once, for the page.

    Raises ``KeyError`` naming an analysis of the order whose headline the caller did not give."""
    study = sr.spec.study
    if not sr.runs and study.kind != "explore":
        waiting = f" (waiting for {join(sr.pending)})" if sr.pending else ""
        return Answer((f"No results yet{waiting}: run `invoke run --spec {sr.name}`.",), "no results yet")
    names = order(study)
    missing = [n for n in names if n not in headlines]
    if missing:
        raise KeyError(f"{sr.name}: the answer needs the headlines of {', '.join(missing)}; run them with analyse()")
    said = [h for h in (headlines[n] for n in names) if h is not None]
    sentences = [s for h in said for s in h.sentences] + limits(sr)
    if not sr.complete and study.kind != "explore":
        sentences.append("Some runs are missing or stale (see the warning below): the answer may change once they ran.")
    short = said[0].short if said else ""
    return Answer(tuple(sentences) or ("The analyses this spec names state no finding.",), short)


def analysed_answer(sr: StudyResults, data_root: Path | None = None) -> Answer:
    """The answer of a study whose page is not being rendered: the analyses of its :func:`order` run
    once, drawing into a temporary folder (nothing under docs/ is written), then :func:`compose`."""
    with tempfile.TemporaryDirectory(prefix="reportgen-answer-") as tmp:
        ctx = Context(sr, Path(tmp), "", data_root)
        return compose(sr, {n: analyse(n, ctx).headline for n in order(sr.spec.study)} if sr.runs
                       or sr.spec.study.kind == "explore" else {})


def answer_for(spec, results: Path, data_root: Path | None = None, smoke: bool = False) -> Answer:
    """The answer of one study from the results on disk (nothing written): what a test or the index of
    a partial render needs without rendering the page."""
    from reportgen.results.chain import collect

    return analysed_answer(collect(spec, results, smoke), data_root)


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
