"""Planning: every run of some studies with what will happen to it — ``cached`` (a final result with
the run's key is stored), ``reuse`` (another study stored that key: copy it), ``train``, or
``unreadable`` (its result file exists but cannot be used: kept and reported, not overwritten, until
``--force``). Torch-free: ``reportgen list`` and ``reportgen plan`` stop here.

The rule for unreadable result files (:class:`reportgen.results.store.Unreadable`): a plain partial
write (JSON cut off before its end, or an empty file) holds nothing to lose and is trained again; any
other unreadable file (not JSON, not a result, an unknown schema version, not matching the schema, a
key that does not match its config) may hold a result worth repairing, so it is kept and only
``--force`` retrains it."""
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
    unreadable: str = ""  # why the result file at ``path`` cannot be used ("" when it can, or there is none)


def plan(specs: list[Spec], results: Path, smoke: bool = False, force: bool = False) -> list[Planned]:
    """Every run of ``specs`` with its action; ``force`` turns all into ``train``. A run whose result
    file cannot be used is ``unreadable`` (not trained), or ``train`` when the file is a plain partial
    write; either way ``unreadable`` says why. A chained study whose upstream results are missing
    plans nothing yet (see :func:`reportgen.results.chain.levels`)."""
    from reportgen.results.chain import Pending, resolve

    cache, bad = store.scan(results)
    if force:
        cache = {}
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
            damaged = bad.get(path)
            if damaged and not force and not damaged.partial:
                out.append(Planned(run, key, path, "unreadable", unreadable=damaged.reason))
                continue
            why = damaged.reason if damaged else ""  # a partial write, or --force: replaced below
            if not hit:
                out.append(Planned(run, key, path, "train", save_model=spec.study.save_models, unreadable=why))
                cache[key] = [path]  # a second study declaring the same run copies this one
            elif path in hit:
                out.append(Planned(run, key, path, "cached"))
            else:
                out.append(Planned(run, key, path, "reuse", hit[0], unreadable=why))
    return out


def header(p: Planned) -> dict[str, Any]:
    r = p.run
    return {"schema_version": store.SCHEMA_VERSION, "key": p.key, "study": r.study, "variant": r.variant,
            "label": r.label, "seed": r.seed, "numerics": r.numerics,
            "config": r.config.model_dump(mode="json")}


def stale_reasons(stale: list, files: dict[Path, dict]) -> list[str]:
    """Why these planned runs' stored results have another key: each numerics version bump
    (``trainer 1→2``, :func:`reportgen.spec.numerics.changes`), or a changed config or input."""
    from reportgen.spec.numerics import changes

    out: list[str] = []
    for p in stale:
        for reason in changes(files[p.path].get("numerics"), p.run.numerics) or ["config or inputs changed"]:
            if reason not in out:
                out.append(reason)
    return out
