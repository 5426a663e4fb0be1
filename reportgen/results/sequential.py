"""The record of a study decided by adding seeds: ``<results>/_sequential/<study>.json``.

``reportgen run STUDY --until-decided`` writes it (:mod:`reportgen.untildecided`): the design
fixed at its first look (α, spending function, seed cap, batch, the family of hypotheses), the seeds
it added to each variant, and every look's decisions (:mod:`reportgen.report.judge.verdicts`). Planning and
collecting read the added seeds from here (:func:`with_added_seeds`), so ``reportgen list``, ``plan``
and the pages see the same runs. Torch-free; written atomically as strict JSON.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

FOLDER = "_sequential"
SCHEMA = 1
#: ``Record.spending`` of the one look a study gets at the seeds it has (no seeds added): all of α at once.
FIXED = ("none: one look at the seeds the study has, Shaffer's step-down over the family's comparisons at α "
         "(Shaffer 1986)")


class Member(BaseModel):
    """One comparison of the family: variant ``a`` against ``b`` on ``metric`` (``b`` None: ``a``'s mean
    against ``bound``, in display units). ``delta``: the equivalence margin in display units (None: no
    equivalence hypothesis). ``id`` names it on the page and in the record."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str
    metric: str
    a: str
    b: str | None = None
    bound: float | None = None
    delta: float | None = None

    @property
    def key(self) -> tuple:
        """What makes two members the same comparison: the metric and the pair in either order, or the
        variant and its bound."""
        return (self.metric, frozenset((self.a, self.b))) if self.b is not None else (self.metric, self.a, self.bound)


class Decision(BaseModel):
    """A member's state after a look: ``verdict`` one of ``a ahead``, ``b ahead``, ``equivalent``,
    ``above``, ``below`` or ``undecided``; the estimate a − b (or mean − bound) and its two-sided 95 %
    CI, display units; ``p``: the two-sided test's p; ``p_equivalence``: the two one-sided tests' p
    (None without a margin); ``level``: the level each was compared with at this look; ``n``: seeds
    (pairs for a paired test; the smaller sample for Welch's test) the test used; ``test``: its name."""

    model_config = ConfigDict(extra="forbid")
    verdict: str
    diff: float | None
    low: float | None
    high: float | None
    p: float | None
    p_equivalence: float | None = None
    level: float
    n: int
    test: str
    #: Welch's test: the seeds of each sample, (a, b); None for a paired or one-sample test, and in records
    #: made before it was recorded
    n_each: tuple[int, int] | None = None
    rejected: list[str] = Field(default_factory=list)  # "difference", "equivalence": the hypotheses rejected
    #: adjusted p of each hypothesis over the family (one look only: Shaffer's step-down)
    p_adjusted: float | None = None
    p_equivalence_adjusted: float | None = None


class Look(BaseModel):
    """One look: its number (1 = the seeds the study had), the seeds per variant it was made at
    (the schedule's n), the α spent up to it, when, and each member's decision (undecided members
    only are re-tested; a decided one keeps the look it was decided at)."""

    model_config = ConfigDict(extra="forbid")
    look: int
    n: int
    spent: float
    at: str
    decisions: dict[str, Decision]


class Record(BaseModel):
    """The whole record (see the module docstring). ``stopped``: why the loop ended (``all decided``,
    ``seed cap``, ``budget``) or None while it may go on; ``seconds``: training time it spent, s."""

    model_config = ConfigDict(extra="forbid")
    schema_version: int = SCHEMA
    study: str
    alpha: float
    spending: str
    max_seeds: int = Field(ge=1)
    batch: int = Field(ge=1)
    n0: int = Field(ge=1)
    family: list[Member]
    family_kind: str = "all"  # what --family chose: all, claims or comparisons
    variants: list[str] | None = None  # what --variants kept the family to (None: every variant)
    added: dict[str, list[int]] = Field(default_factory=dict)
    looks: list[Look] = Field(default_factory=list)
    stopped: str | None = None
    seconds: float = 0.0

    def decided(self) -> dict[str, tuple[Decision, int]]:
        """Member id → (its latest decision, the look it was made at)."""
        out: dict[str, tuple[Decision, int]] = {}
        for look in self.looks:
            for mid, d in look.decisions.items():
                out[mid] = (d, look.look)
        return out


def hypotheses(members: list[Member]) -> int:
    """M, the family's number of hypotheses: two per pair with a margin, else one."""
    return sum(2 if m.b is not None and m.delta is not None else 1 for m in members)


def path_of(results: Path, study: str) -> Path:
    """``<results>/_sequential/<study>.json``."""
    return results / FOLDER / f"{study}.json"


def load(results: Path, study: str) -> Record | None:
    """The study's record, or None when it has none.

    Raises:
        ValueError: the file exists but is not a valid record (the message names the file).
    """
    path = path_of(results, study)
    if not path.is_file():
        return None
    try:
        return Record.model_validate_json(path.read_text())
    except ValueError as err:
        raise ValueError(f"{path}: not a sequential record: {err}") from None


def save(results: Path, record: Record) -> Path:
    """Write ``record`` atomically (strict JSON: NaN becomes null); returns its path."""
    from reportgen.results.store import write_json

    path = path_of(results, record.study)
    payload: dict[str, Any] = json.loads(record.model_dump_json())
    write_json(path, payload)
    return path


def with_added_seeds(spec: Any, results: Path, smoke: bool = False) -> Any:
    """``spec`` (a :class:`reportgen.spec.catalog.Spec`) with the seeds its record added merged into
    ``sweep.extra_seeds``; unchanged without a record, or for a smoke run (smoke has its own
    results folder and one seed)."""
    record = None if smoke else load(results, spec.name)
    if record is None or not record.added:
        return spec
    from reportgen.spec.catalog import Spec

    study = spec.study
    extra = {k: list(v) for k, v in study.sweep.extra_seeds.items()}
    for slug, seeds in record.added.items():
        extra[slug] = list(dict.fromkeys([*extra.get(slug, []), *seeds]))
    sweep = study.sweep.model_copy(update={"extra_seeds": {k: tuple(v) for k, v in extra.items()}})
    return Spec(spec.name, spec.path, study.model_copy(update={"sweep": sweep}), spec.source)
