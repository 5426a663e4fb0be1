"""The details of every variant of a study, on one page beside the study's,
``docs/studies/<study>/variants.md``, a section per variant (anchor: the variant's slug): every seed's
measures, run key, whether it was trained for this study or reused, provenance, the resolved config,
its seeds' learning curves (the study's interactive chart, filtered to it) and its per-epoch table with
a CSV of its own epochs. Linked from the study page, kept out of the nav (``not_in_nav`` in
mkdocs.yml) and out of search. One page per study rather than per variant: each page repeats the
site's navigation, which would weigh more than the details themselves."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

from reportgen.report.pages import downloads
from reportgen.report.judge.cells import fmt
from reportgen.results.store import result_path
from reportgen.results.summary import METRICS, StudyResults, VariantResults, device_words

#: Per-seed measures on a variant page (display units, as in the study's tables).
SEED_METRICS = ("test_accuracy", "macro_f1", "roc_auc_ovr", "test_loss", "ece", "val_acc", "train_acc",
                "best_epoch", "stopped_epoch", "seconds_per_epoch")


def _value(v: VariantResults, metric: str, j: int) -> str:
    m = METRICS[metric]
    x = v.values(metric)[j] * m.scale
    if x != x:  # NaN: the run lacks the field
        return "—"
    return f"{x:.0f}" if m.epoch else f"{x:.{m.digits}f}"


def _run(sr: StudyResults, v: VariantResults, j: int, results_dir: str) -> dict[str, Any]:
    r = v.runs[j]
    prov = r.get("provenance", {})
    return {"seed": r["seed"], "status": r["status"], "key": r["key"],
            "file": result_path(Path(results_dir), sr.name, v.slug, r["seed"]).as_posix(),
            "values": [_value(v, m, j) for m in SEED_METRICS],
            **_commit(prov), "numerics": ", ".join(f"{k} {v}" for k, v in (r.get("numerics") or {}).items()) or "—",
            "torch": prov.get("torch", ""), "python": prov.get("python", ""),
            "device": device_words(prov.get("device", "")),
            "data_md5": prov.get("data_md5", ""), "created": prov.get("created", ""),
            "reused_from": prov.get("reused_from"), "wall_min": f"{r.get('wall_seconds', 0.0) / 60:.1f}"}


#: Per-epoch columns of a variant's table: (history field, heading, scale to display units, digits).
EPOCH_FIELDS = (("train_loss", "train loss (nats)", 1.0, 4), ("val_loss", "val loss (nats)", 1.0, 4),
                ("train_acc", "train acc. (%)", 100.0, 2), ("val_acc", "val acc. (%)", 100.0, 2))


def epochs(v: VariantResults) -> dict[str, Any]:
    """A variant's per-epoch table: per epoch, the mean over its seeds (outlier seeds left out, as in the
    study's tables, and named) of each :data:`EPOCH_FIELDS` in display units, and every seed's validation
    accuracy (%) in seed order, outliers included. Returns ``{"rows", "fields", "left_out"}``."""
    clean = {r["seed"] for r in v.clean.runs}
    by_epoch: dict[int, list[tuple[int, dict]]] = {}
    for r in v.runs:
        for h in r.get("history") or []:
            by_epoch.setdefault(h["epoch"], []).append((r["seed"], h))
    fields = [f for f in EPOCH_FIELDS if any(f[0] in h for hs in by_epoch.values() for _, h in hs)]
    rows = []
    for e in sorted(by_epoch):
        hs = by_epoch[e]
        cells = []
        for name, _, scale, digits in fields:
            xs = [h[name] * scale for s, h in hs if s in clean and isinstance(h.get(name), (int, float))
                  and h[name] == h[name]]
            cells.append(f"{sum(xs) / len(xs):.{digits}f}" if xs else "—")
        per_seed = "/".join(f"{h['val_acc'] * 100:.2f}" if isinstance(h.get("val_acc"), (int, float)) else "—"
                            for _, h in hs)
        rows.append({"epoch": e, "cells": cells, "per_seed": per_seed})
    return {"rows": rows, "fields": [f[1] for f in fields], "left_out": v.note()}


#: The fields a variant's provenance table groups its seeds by.
PROVENANCE = ("status", "numerics", "torch", "python", "device", "data_md5")


def provenance_groups(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The seeds of ``runs`` (:func:`_run` rows) grouped by their :data:`PROVENANCE` fields, in order of
    first seed: ``[{"seeds": "0, 1, 4", **fields}]``."""
    groups: dict[tuple, list[int]] = {}
    for r in runs:
        groups.setdefault(tuple(r[f] for f in PROVENANCE), []).append(r["seed"])
    return [{"seeds": ", ".join(map(str, seeds)), **dict(zip(PROVENANCE, fields))} for fields, seeds in groups.items()]


def _commit(prov: dict[str, Any]) -> dict[str, Any]:
    """``{"commit": plain SHA (or "" / "unknown"), "dirty": bool | None}`` of a result's provenance:
    a commit link never carries a ``+dirty`` suffix (results written before ``git_dirty`` was
    recorded kept it in ``git_commit``); ``dirty`` True means the package had uncommitted changes."""
    commit = prov.get("git_commit", "")
    suffixed = commit.endswith("+dirty")
    return {"commit": commit.removesuffix("+dirty"), "dirty": True if suffixed else prov.get("git_dirty")}


PAGE = "variants.md"


def resolved(config: dict[str, Any]) -> dict[str, Any]:
    """A result's config with every field, defaults included (``RunConfig``'s JSON dump): results written
    before a field existed then read the same as later ones with it at its default. As stored when it
    does not validate."""
    from pydantic import ValidationError

    from reportgen.spec.config import RunConfig

    try:
        return RunConfig.model_validate(config).model_dump(mode="json")
    except ValidationError:
        return config


def flat(config: dict[str, Any], prefix: str = "") -> str:
    """A resolved config as one ``dotted.path: value`` line per leaf, the paths a spec's sweep uses
    (``model.dropout: 0.25``); values as JSON (lists and null stay readable)."""
    lines = []
    for key, value in config.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            lines.append(flat(value, path + "."))
        else:
            lines.append(f"{path}: {json.dumps(value, ensure_ascii=False)}")
    return "\n".join(lines)


def write(sr: StudyResults, docs: Path, env, marker: str, write_page: Callable[[Path, str], bool],
          results_dir: str = "results") -> list[dict[str, Any]]:
    """Write ``docs/studies/<study>/variants.md`` with a section per variant that has runs or
    failures (none: no page, and an old one is removed). Returns ``[{label, slug, url, n, reused}]``
    for the study page's links (``url`` relative to the study page)."""
    folder = docs / "studies" / sr.name
    sections, links = [], []
    for v in sr.variants:
        if not v.runs and not v.failed:
            continue
        configs = [flat(resolved(r["config"])) for r in v.runs]
        runs = [_run(sr, v, j, results_dir) for j in range(len(v.runs))]
        sections.append({"v": v, "runs": runs, "config": configs[0] if configs else "",
                         "same_config": len(set(configs)) <= 1, "configs": configs, "provenance": provenance_groups(runs),
                         "acc": fmt(v.interval("test_accuracy"), 2) if v.runs else "—", "epochs": epochs(v),
                         "csv": f"../../assets/{sr.name}/history/{v.slug}.csv"
                         if any(r.get("history") for r in v.runs) else None})
        links.append({"label": v.label, "slug": v.slug, "url": f"{sr.name}/{PAGE}#{v.slug}", "n": len(v.runs),
                      "reused": sum(bool(r["reused_from"]) for r in runs)})
    path = folder / PAGE
    if not sections:
        if path.exists() and marker in path.read_text(encoding="utf-8"):
            path.unlink()
        return []
    page = env.get_template("variant.md.j2").render(
        marker=marker, sr=sr, study=sr.spec.study, sections=sections, metrics=[METRICS[m] for m in SEED_METRICS],
        edit_source=_edit_source(sr),
        chart=f"../../assets/{sr.name}/learning_curves.vl.json" if "learning_curves" in sr.spec.study.analyses else None)
    page = downloads.tables_to_csv(page, docs / "assets" / sr.name / "tables" / "variants",
                                   f"../../assets/{sr.name}/tables/variants")
    write_page(path, page)
    for old in folder.glob("*.md"):  # pages of an earlier layout (one per variant)
        if old.name != PAGE and marker in old.read_text(encoding="utf-8"):
            old.unlink()
    return links


def _edit_source(sr: StudyResults) -> str | None:
    """The spec file relative to the repository root (``experiments/<study>.py``), if it lies there."""
    path = Path(sr.spec.path).resolve()
    root = Path(__file__).resolve().parents[3]
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return None
