"""Studies computed from other studies' results: a tuning chain (``lr_probe`` → ``lr_wd_grid`` →
``final_model``). A spec names its upstream with ``FromResults`` (grid values) or ``base=Selected``
(the whole config); :func:`resolve` turns it into a concrete study from the recorded results, so a
run's key holds the resolved numbers: editing a downstream spec retrains nothing upstream, and a
changed upstream result changes the downstream runs (and only then retrains them). Torch-free.
"""
from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

from reportgen.results import sequential, store, timing
from reportgen.results.summary import METRICS, StudyResults, VariantResults
from reportgen.spec.catalog import Spec, SpecError, load_spec
from reportgen.spec.expand import expand, variants
from reportgen.spec.schema import FromResults, Study


class Pending(Exception):
    """The upstream studies (``.studies``) have no complete results yet."""

    def __init__(self, study: str, studies: list[str]) -> None:
        super().__init__(f"{study} waits for the results of {', '.join(studies)}")
        self.studies = studies


def upstream_spec(spec: Spec, name: str) -> Spec:
    """The spec ``name`` from the same folder. Raises SpecError naming the field when there is none."""
    path = spec.path.parent / f"{name}.py"
    if not path.is_file():
        raise SpecError(f"{spec.path}: names study {name!r} (base / FromResults), but there is no {path}")
    return load_spec(path)


def resolve(spec: Spec, results: Path, smoke: bool = False) -> Spec:
    """``spec`` with every ``FromResults`` replaced by values and ``base`` by the selected config.

    Raises:
        Pending: an upstream study has missing, stale or failed runs.
        SpecError: a named study, variant, field or metric does not exist.
    """
    spec = sequential.with_added_seeds(spec, results, smoke)
    study = spec.study
    if not study.upstream():
        return spec
    done = {}
    for name in study.upstream():
        sr = collect(upstream_spec(spec, name), results, smoke)
        if not sr.variants or not sr.complete or sr.pending:
            raise Pending(spec.name, [name])
        done[name] = sr
    update: dict[str, Any] = {}
    grid = dict(study.sweep.grid)
    for path, value in grid.items():
        if isinstance(value, FromResults):
            grid[path] = _values(spec, value, done[value.study])
    if grid != study.sweep.grid:
        update["sweep"] = study.sweep.model_copy(update={"grid": grid})
    if study.base:
        sr, metric = done[study.base.study], study.base.metric
        if metric not in METRICS:
            raise SpecError(f"{spec.path}: base.metric: unknown metric {metric!r}; known: {', '.join(METRICS)}")
        sign = 1 if METRICS[metric].higher_is_better else -1
        best = max((v for v in sr.variants if v.runs), key=lambda v: sign * v.interval(metric).mean)
        config = best.runs[0]["config"]
        update.update({k: config[k] for k in ("model", "optim", "train", "data", "probes")}, base=None)
    resolved = Study.model_validate({**study.model_dump(exclude={"sweep", "base"}, exclude_unset=False),
                                     "sweep": update.get("sweep", study.sweep).model_dump(),
                                     **{k: v for k, v in update.items() if k != "sweep"}})
    return Spec(spec.name, spec.path, resolved, spec.source)


def _values(spec: Spec, ref: FromResults, sr) -> tuple[float, ...]:
    try:
        runs = sr.variant(ref.variant).runs
    except KeyError as err:
        raise SpecError(f"{spec.path}: FromResults(study={ref.study!r}): {err.args[0]}") from None
    found = []
    for r in runs:
        node: Any = r
        for part in ref.field.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        if not isinstance(node, (int, float)):
            raise SpecError(f"{spec.path}: FromResults: {ref.study}/{ref.variant} results have no number at "
                            f"{ref.field!r}")
        found.append(float(node))
    centre = statistics.median(found)
    return tuple(float(f"{centre * f:.3g}") for f in ref.factors)


def selection(spec: Spec, results: Path, smoke: bool = False) -> dict[str, Any] | None:
    """For the page: where a chained study's numbers came from (upstream names and resolved values)."""
    study = spec.study
    if not study.upstream():
        return None
    out: dict[str, Any] = {"upstream": study.upstream(), "grid": {}, "base": None}
    try:
        resolved = resolve(spec, results, smoke).study
    except Pending:
        return {**out, "pending": True}
    for path, value in study.sweep.grid.items():
        if isinstance(value, FromResults):
            out["grid"][path] = {"from": f"{value.study}/{value.variant}: {value.field}", "factors": value.factors,
                                 "values": resolved.sweep.grid[path]}
    if study.base:
        out["base"] = {"study": study.base.study, "metric": study.base.metric,
                       "optim": resolved.optim.model_dump(), "model": resolved.model.kind}
    return {**out, "pending": False}


def levels(specs: list[Spec]) -> list[list[Spec]]:
    """``specs`` and, transitively, their upstream studies, in stages: every study comes after the
    studies it reads. Raises SpecError on a cycle."""
    by_name: dict[str, Spec] = {}
    todo = list(specs)
    while todo:
        s = todo.pop()
        if s.name not in by_name:
            by_name[s.name] = s
            todo += [upstream_spec(s, n) for n in s.study.upstream()]
    depth: dict[str, int] = {}

    def level(name: str, seen: tuple[str, ...] = ()) -> int:
        if name in seen:
            raise SpecError(f"studies read each other's results in a cycle: {' → '.join((*seen, name))}")
        if name not in depth:
            ups = by_name[name].study.upstream()
            depth[name] = 1 + max((level(u, (*seen, name)) for u in ups), default=-1)
        return depth[name]

    for name in by_name:
        level(name)
    stages = [[] for _ in range(max(depth.values(), default=-1) + 1)]
    for name, spec in by_name.items():
        stages[depth[name]].append(spec)
    return stages


def collect(spec: Spec, results: Path, smoke: bool = False) -> StudyResults:
    """Read a study's result files, matching each against the key its spec expects now. A chained
    study is first resolved from its upstream results (:func:`resolve`); while those
    are missing it has no variants and ``pending`` names them."""
    try:
        spec = resolve(spec, results, smoke)
    except Pending as waiting:
        return StudyResults(spec, [], "", pending=waiting.studies)
    runs = expand(spec.study, spec.name, str(spec.path), smoke=smoke)
    by_variant: dict[str, VariantResults] = {}
    for slug, label, _ in variants(spec.study):
        extra = () if smoke else spec.study.sweep.extra_seeds.get(slug, ())
        by_variant[slug] = VariantResults(slug, label, [], len(spec.study.sweep.seeds[:1] if smoke else spec.study.sweep.seeds)
                                          + len(extra))
    for run in runs:
        v = by_variant[run.variant]
        path = store.result_path(results, run.study, run.variant, run.seed)
        result = store.inspect(path)
        if isinstance(result, store.Unreadable):
            v.unreadable[run.seed] = result.reason
            v.missing.append(run.seed)
        elif result is None:
            v.missing.append(run.seed)
        elif result["status"] not in store.FINAL:
            v.failed.append(result)
            v.missing.append(run.seed)
        elif result["key"] != run.key:
            v.stale.append(run.seed)
        else:
            v.runs.append(result)
    ordered = list(by_variant.values())
    ref = spec.study.reference
    reference = ordered[0].slug if ordered else ""  # an explore study has no variants
    if ref:
        reference = next((v.slug for v in ordered if ref in (v.slug, v.label)), reference)
    return StudyResults(spec, ordered, reference, timing=timing.load(results, spec.name),
                        sequential=None if smoke else sequential.load(results, spec.name))
