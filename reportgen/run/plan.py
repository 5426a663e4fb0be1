"""Planning: every run of some studies with what will happen to it — ``cached`` (a final result with
the run's key is stored), ``reuse`` (another study stored that key: copy it) or ``train``. Torch-free:
``reportgen list`` and ``reportgen plan`` stop here."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reportgen.results import store
from reportgen.spec.catalog import Spec
from reportgen.spec.expand import Run, expand


@dataclass(frozen=True)
class Planned:
    """A run and what will happen to it: ``cached`` (its file holds a final result with this key),
    ``reuse`` (another study has the key: copy), or ``train``."""

    run: Run
    key: str
    path: Path
    action: str
    source: Path | None = None
    save_model: bool = False  # the study's save_models


def plan(specs: list[Spec], results: Path, smoke: bool = False, force: bool = False) -> list[Planned]:
    """Every run of ``specs`` with its action; ``force`` turns all into ``train``. A chained study whose
    upstream results are missing plans nothing yet (see :func:`reportgen.results.chain.levels`)."""
    from reportgen.results.chain import Pending, resolve

    cache = {} if force else store.index(results)
    out = []
    for spec in specs:
        try:
            spec = resolve(spec, results, smoke)
        except Pending:
            continue
        for run in expand(spec.study, spec.name, str(spec.path), smoke=smoke):
            key = run.key
            path = store.result_path(results, run.study, run.variant, run.seed)
            hit = cache.get(key)
            if not hit:
                out.append(Planned(run, key, path, "train", save_model=spec.study.save_models))
                cache[key] = [path]  # a second study declaring the same run copies this one
            elif path in hit:
                out.append(Planned(run, key, path, "cached"))
            else:
                out.append(Planned(run, key, path, "reuse", hit[0]))
    return out


def header(p: Planned) -> dict[str, Any]:
    r = p.run
    return {"schema_version": store.SCHEMA_VERSION, "key": p.key, "study": r.study, "variant": r.variant,
            "label": r.label, "seed": r.seed, "numerics": r.numerics,
            "config": r.config.model_dump(mode="json")}
