"""A details page per variant, ``docs/studies/<study>/<variant>.md``: the resolved config, every
seed's measures and per-epoch history, its provenance, run key and whether it was trained for this
study or reused. Linked from the study page, kept out of the nav (``not_in_nav`` in mkdocs.yml) and
out of search."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

from . import downloads
from .analyses.context import fmt
from .store import result_path
from .summary import METRICS, StudyResults, VariantResults

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
            "commit": prov.get("git_commit", ""), "runner": r.get("runner_version", ""),
            "torch": prov.get("torch", ""), "python": prov.get("python", ""), "device": prov.get("device", ""),
            "data_md5": prov.get("data_md5", ""), "created": prov.get("created", ""),
            "reused_from": prov.get("reused_from"), "wall_min": f"{r.get('wall_seconds', 0.0) / 60:.1f}",
            "history_fields": [k for k in (r.get("history") or [{}])[0]],
            "history": r.get("history") or []}


def write(sr: StudyResults, docs: Path, env, marker: str, write_page: Callable[[Path, str], bool],
          results_dir: str = "results") -> list[dict[str, Any]]:
    """Write one page per variant of ``sr`` that has runs or failures; remove generated pages of
    variants the study no longer has. Returns ``[{label, slug, url, n, reused}]`` for the study
    page's links (``url`` relative to the study page)."""
    folder = docs / "studies" / sr.name
    template = env.get_template("variant.md.j2")
    links, keep = [], set()
    for v in sr.variants:
        if not v.runs and not v.failed:
            continue
        configs = [json.dumps(r["config"], indent=2, sort_keys=False) for r in v.runs]
        runs = [_run(sr, v, j, results_dir) for j in range(len(v.runs))]
        page = template.render(marker=marker, sr=sr, study=sr.spec.study, v=v, runs=runs,
                               config=configs[0] if configs else "", same_config=len(set(configs)) <= 1,
                               configs=configs, metrics=[METRICS[m] for m in SEED_METRICS],
                               acc=fmt(v.interval("test_accuracy"), 2) if v.runs else "—",
                               edit_source=_edit_source(sr))
        page = downloads.tables_to_csv(page, docs / "assets" / sr.name / "tables" / v.slug,
                                       f"../../assets/{sr.name}/tables/{v.slug}")
        write_page(folder / f"{v.slug}.md", page)
        keep.add(f"{v.slug}.md")
        links.append({"label": v.label, "slug": v.slug, "url": f"{sr.name}/{v.slug}.md", "n": len(v.runs),
                      "reused": sum(bool(r["reused_from"]) for r in runs)})
    for old in folder.glob("*.md") if folder.is_dir() else ():
        if old.name not in keep and marker in old.read_text(encoding="utf-8"):
            old.unlink()
    return links


def _edit_source(sr: StudyResults) -> str | None:
    """The spec file relative to the repository root (``experiments/<study>.py``), if it lies there."""
    path = Path(sr.spec.path).resolve()
    root = Path(__file__).resolve().parents[1]
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return None
