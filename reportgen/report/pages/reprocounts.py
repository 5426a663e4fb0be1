"""The generated block of ``docs/reproducibility.md``: how many committed runs were computed on which
vector instruction set, at how many torch threads and from a clean or an edited tree, counted from the
result files' provenance (``cpu_capability``, ``threads``, ``git_dirty``, ``attempts``).

The page is written by hand; :func:`write` replaces only the text between :data:`BEGIN` and :data:`END`
(a page without them is left as it is). Torch-free: it reads JSON only.
"""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

BEGIN = "<!-- provenance counts: begin (reportgen render) -->"
END = "<!-- provenance counts: end -->"
PAGE = "reproducibility.md"


def _runs(results: Path) -> tuple[list[dict[str, Any]], list[str]]:
    """Every result file under ``results/<study>/<variant>/seed<k>.json`` (folders starting with ``_`` or
    ``.`` aside) as parsed JSON, and the relative paths of those that could not be parsed."""
    runs, unreadable = [], []
    for path in sorted(Path(results).glob("*/*/seed*.json")):
        if any(part.startswith(("_", ".")) for part in path.relative_to(results).parts):
            continue
        try:
            runs.append(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            unreadable.append(path.relative_to(results).as_posix())
    return runs, unreadable


def _dirty(value: Any) -> str:
    return {True: "yes", False: "no"}.get(value, "unknown")


def counts(results: Path) -> dict[str, Any]:
    """``{"rows": [{"isa", "threads", "dirty", "runs", "copies"}], "total", "copies", "resumed",
    "reconstructed", "unreadable"}``: runs per (ISA, threads, dirty tree), most first; ``copies`` are
    result files reused from another study (``provenance.reused_from``: the same numbers, counted in
    both places); ``resumed`` runs have more than one attempt; ``reconstructed`` runs have attempts
    rebuilt from their per-epoch times rather than recorded by the runner."""
    runs, unreadable = _runs(results)
    rows: Counter = Counter()
    copies: Counter = Counter()
    resumed = reconstructed = 0
    for r in runs:
        prov = r.get("provenance") or {}
        threads = prov.get("threads")
        key = (prov.get("cpu_capability") or "unknown", "unknown" if threads is None else str(threads),
               _dirty(prov.get("git_dirty")))
        rows[key] += 1
        copies[key] += bool(prov.get("reused_from"))
        attempts = prov.get("attempts") or []
        resumed += len(attempts) > 1
        reconstructed += any(a.get("reconstructed") for a in attempts)
    table = [{"isa": k[0], "threads": k[1], "dirty": k[2], "runs": n, "copies": copies[k]}
             for k, n in sorted(rows.items(), key=lambda kv: (-kv[1], kv[0]))]
    return {"rows": table, "total": len(runs), "copies": sum(copies.values()), "resumed": resumed,
            "reconstructed": reconstructed, "unreadable": unreadable}


def block(c: dict[str, Any]) -> str:
    """The Markdown of :func:`counts` (a table and one sentence), ending in a newline."""
    lines = ["| instruction set (`cpu_capability`) | torch threads | uncommitted changes (`git_dirty`) | runs | of them copies |",
             "|---|---|---|---|---|"]
    lines += [f"| {r['isa']} | {r['threads']} | {r['dirty']} | {r['runs']} | {r['copies']} |" for r in c["rows"]]
    lines += ["", f"{c['total']} result files, {c['copies']} of them copies of a run of another study (the same "
              f"numbers in two places). {c['resumed']} runs were resumed after an interruption (more than one "
              f"attempt). {c['reconstructed']} were written before the runner recorded attempts: theirs were "
              "rebuilt from the recorded wall time and per-epoch times (`reconstructed: true`). *unknown*: not "
              "recorded when the run was made."]
    if c["unreadable"]:
        lines.append(f"Not counted, unreadable: {', '.join(f'`{u}`' for u in c['unreadable'])}.")
    return "\n".join(lines) + "\n"


def write(docs: Path, results: Path) -> bool:
    """Replace the block between :data:`BEGIN` and :data:`END` of ``docs/reproducibility.md`` with the
    counts of ``results``; True when the page changed. A page without both markers is not touched."""
    page = Path(docs) / PAGE
    try:
        text = page.read_text(encoding="utf-8")
    except OSError:
        return False
    if BEGIN not in text or END not in text.split(BEGIN, 1)[1]:
        return False
    head, rest = text.split(BEGIN, 1)
    new = head + BEGIN + "\n" + block(counts(results)) + END + rest.split(END, 1)[1]
    if new == text:
        return False
    page.write_text(new, encoding="utf-8")
    return True
