"""Data to download beside a page: a CSV for every table of a generated page (extracted from the
rendered Markdown, so every table gets one whichever template drew it), and a study's per-seed,
per-epoch results as CSV.

:func:`tables_to_csv` finds each pipe table of a page (at any indentation: inside tabs and
collapsible blocks too; never inside fenced code), writes its cells as plain text (Markdown and HTML
stripped) to ``<out_dir>/<heading>[-<block title>][-k].csv`` and puts a download link right under
the table; a table right under a ``<!-- table-csv: URL -->`` line links to that file instead (its
rows are part of a bigger CSV, e.g. one seed's history in ``history.csv``). :func:`study_data` writes ``history.csv`` (one row per run and epoch: every ``history``
field) and ``runs.csv`` (one row per run: final measures, run key, provenance).
"""
from __future__ import annotations

import csv
import html
import io
import math
import re
from pathlib import Path
from typing import Any

from reportgen.results.summary import METRICS, StudyResults

_SEPARATOR = re.compile(r"^\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$")
_FENCE = re.compile(r"^\s*(```|~~~)")
_BLOCK_TITLE = re.compile(r'^(\s*)(?:===|\?\?\?\+?|!!!)\s*(?:[\w-]+\s*)?"(.*)"\s*$')
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*(?:\{[^}]*\})?\s*#*\s*$")
_GIVEN = re.compile(r"^\s*<!-- table-csv: (\S+) -->\s*$")

#: Columns of ``runs.csv`` after variant and seed: the standard measures (display units).
RUN_METRICS = ("test_accuracy", "macro_f1", "roc_auc_ovr", "test_loss", "ece", "val_acc", "train_acc",
               "generalization_gap", "best_epoch", "stopped_epoch", "seconds_per_epoch", "params", "flops")


def slug(text: str) -> str:
    """Lower-case ASCII words joined by ``-`` (``"Layers of VGG-like"`` → ``"layers-of-vgg-like"``)."""
    return re.sub(r"[^a-z0-9]+", "-", plain(text).lower()).strip("-")[:60] or "table"


def plain(cell: str) -> str:
    """A Markdown table cell as plain text: attribute lists, icon shortcodes, link and code syntax,
    HTML tags, emphasis markers and backslash escapes removed, HTML entities decoded; a verdict badge
    (``<span class="verdict" title="…">``) becomes the sentence in its title."""
    s = re.sub(r"\{\s*[.#:][^}]*\}|\{[^}]*=[^}]*\}", "", cell)  # attr_list: { .class } { title="…" }
    s = re.sub(r":(?:material|octicons|fontawesome)-[a-z0-9-]+:", "", s)
    s = re.sub(r'<span class="verdict" title="([^"]*)">.*?</span>', r"\1", s)  # a badge: its full sentence
    s = re.sub(r"!?\[((?:\\.|[^\]])*)\]\([^)]*\)", r"\1", s)  # [text](url), ![alt](url)
    s = re.sub(r"`([^`]*)`", r"\1", s)
    s = re.sub(r"<[^>]+>", "", s)
    s = s.replace("**", "")
    s = re.sub(r"\\([\\`*_\[\]|~#{}()!<>+.-])", r"\1", s)
    return " ".join(html.unescape(s).split())


def split_row(line: str) -> list[str]:
    """The cells of one pipe-table row; ``\\|`` and pipes inside code spans are not separators."""
    s = line.strip()
    s = s[1:] if s.startswith("|") else s
    cells, cur, code, i = [], [], False, 0
    while i < len(s):
        c = s[i]
        if c == "\\" and i + 1 < len(s):
            cur.append(s[i:i + 2])
            i += 2
            continue
        if c == "`":
            code = not code
        if c == "|" and not code:
            cells.append("".join(cur))
            cur = []
        else:
            cur.append(c)
        i += 1
    if "".join(cur).strip():
        cells.append("".join(cur))
    return [c.strip() for c in cells]


def _write_csv(path: Path, rows: list[list[Any]]) -> None:
    """Write rows as UTF-8 CSV (``\\n`` line ends); leave the file alone when its bytes would not change."""
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    text = buf.getvalue()
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")


def tables_to_csv(markdown: str, out_dir: Path, url: str) -> str:
    """Write each pipe table of ``markdown`` to a CSV under ``out_dir`` and return the Markdown with
    a download link (``url``/<name>.csv, relative to the page) under each table. CSVs of this page
    that no longer have a table are removed."""
    lines = markdown.split("\n")
    out: list[str] = []
    heading, titles, names, fenced = "page", [], set(), False
    i = 0
    while i < len(lines):
        line = lines[i]
        if _FENCE.match(line):
            fenced = not fenced
        indent = len(line) - len(line.lstrip(" "))
        if not fenced and (h := _HEADING.match(line)):
            heading, titles = h.group(2), []
        elif not fenced and (t := _BLOCK_TITLE.match(line)):
            titles = [(d, title) for d, title in titles if d < len(t.group(1))] + [(len(t.group(1)), t.group(2))]
        is_table = (not fenced and line.lstrip().startswith("|") and i + 1 < len(lines)
                    and _SEPARATOR.match(lines[i + 1].strip()))
        if not is_table:
            out.append(line)
            i += 1
            continue
        end = i + 2
        while end < len(lines) and lines[end].startswith(" " * indent + "|"):
            end += 1
        pad = " " * indent
        given = _GIVEN.match(out[-1]) if out else None
        if given:  # the table's rows are in a CSV the page already offers
            out.pop()
            out.extend(lines[i:end])
            out.extend(["", f'{pad}[:material-table-arrow-down: CSV]({given.group(1)}){{ .table-csv '
                            f'title="A CSV with these rows and more" }}'])
            if end < len(lines) and lines[end].strip():
                out.append("")
            i = end
            continue
        rows = [split_row(lines[i])] + [split_row(ln) for ln in lines[i + 2:end]]
        width = max(len(r) for r in rows)
        rows = [[plain(c) for c in r] + [""] * (width - len(r)) for r in rows]
        if not any(rows[0]):  # a key/value table without a header (provenance)
            rows[0] = ["field", "value"][:width] + [""] * max(0, width - 2)
        inner = [title for d, title in titles if d < indent] if indent else []
        base = "-".join(slug(re.sub(r"\([^)]*\)", "", x)) for x in [heading, *inner[-1:]])
        name, k = base, 2
        while name in names:
            name, k = f"{base}-{k}", k + 1
        names.add(name)
        _write_csv(out_dir / f"{name}.csv", rows)
        out.extend(lines[i:end])
        out.extend(["", f'{pad}[:material-table-arrow-down: CSV]({url}/{name}.csv){{ .table-csv download="{name}.csv" '
                        f'title="This table as CSV ({len(rows) - 1} rows)" }}'])
        if end < len(lines) and lines[end].strip():
            out.append("")
        i = end
    for old in out_dir.glob("*.csv") if out_dir.is_dir() else ():
        if old.stem not in names:
            old.unlink()
    return "\n".join(out)


def _num(x: Any, digits: int = 12) -> Any:
    """A CSV cell: empty for None/NaN, floats to ``digits`` significant digits (no ``99.31000000000001``)."""
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return ""
    return float(f"{x:.{digits}g}") if isinstance(x, float) else x


#: Significant digits of a per-epoch value in the site's CSVs: 4. A validation accuracy (5,000 images, steps
#: of 0.0002) is exact at 4; a training accuracy over 55,000 images is within 1e-4 (0.01 pp), the finest
#: difference a page reads; a loss to 1 part in 1,000, finer than a curve shows. The result JSON in results/
#: keeps every digit (9 give a binary32 back exactly).
EPOCH_DIGITS = 4


#: Significant digits of a run's measure in ``runs.csv``: 7. A test accuracy (10,000 images, steps of
#: 0.01 pp) is exact at 4; a float32 metric carries about 7 (its noise, ``97.6800024509``, is dropped).
RUN_DIGITS = 7


def _measure(metric: str, value: float) -> Any:
    """One measure in display units, to :data:`RUN_DIGITS` significant digits; counts and epoch numbers
    as integers."""
    m = METRICS[metric]
    x = _num(value * m.scale, RUN_DIGITS)
    return int(x) if isinstance(x, float) and (m.epoch or m.digits == 0) and x.is_integer() else x


def study_data(sr: StudyResults, out_dir: Path) -> dict[str, str]:
    """Write ``history/<variant slug>.csv`` (each of the variant's runs' per-epoch ``history``: variant,
    seed, then the fields of every run of the study, floats to :data:`EPOCH_DIGITS` significant digits)
    and ``runs.csv`` (per run: ``RUN_METRICS`` in display units, as in the tables, then run
    key, status, git commit, device, created, reused_from, result file, wall seconds, numerics versions,
    torch, python and data checksum: every column of the variants page's tables) under ``out_dir``; return ``{"history": {variant label: file}, "runs": file}`` (paths relative to ``out_dir``).
    A study without runs gets neither (``{}``)."""
    if not sr.runs:
        return {}
    fields: list[str] = []
    for r in sr.runs:
        for h in r.get("history") or []:
            fields += [k for k in h if k not in fields]
    hist = [["variant", "seed", *fields]]  # the study is the folder's, the same on every row
    cols = [m for m in RUN_METRICS if any(math.isfinite(x) for v in sr.variants for x in v.values(m))]
    runs = [["study", "variant", "seed", *(f"{m} ({METRICS[m].unit})" if METRICS[m].unit else m for m in cols),
             "status", "key", "git_commit", "device", "created", "reused_from", "result_file", "wall_seconds",
             "numerics", "torch", "python", "data_md5"]]
    for v in sr.variants:
        values = {m: v.values(m) for m in cols}
        for j, r in enumerate(v.runs):
            hist += [[v.label, r["seed"], *(_num(h.get(k), EPOCH_DIGITS) for k in fields)] for h in r.get("history") or []]
            prov = r.get("provenance", {})
            runs.append([sr.name, v.label, r["seed"], *(_measure(m, values[m][j]) for m in cols),
                         r["status"], r["key"], prov.get("git_commit", ""), prov.get("device", ""),
                         prov.get("created", ""), prov.get("reused_from") or "",
                         f"results/{sr.name}/{v.slug}/seed{r['seed']}.json", _num(r.get("wall_seconds"), 6),
                         " ".join(f"{k}={n}" for k, n in (r.get("numerics") or {}).items()), prov.get("torch", ""),
                         prov.get("python", ""), prov.get("data_md5", "")])
    _write_csv(out_dir / "runs.csv", runs)
    files = {}
    for v in sr.variants:  # each variant's epochs alone: its section on the variants page links it
        rows = [row for row in hist[1:] if row[0] == v.label]
        if rows:
            files[v.label] = f"history/{v.slug}.csv"
            _write_csv(out_dir / files[v.label], [hist[0], *rows])
    (out_dir / "history.csv").unlink(missing_ok=True)  # the one-file layout of earlier renders
    return {"history": files, "runs": "runs.csv"}
