"""When each expectation of a spec was declared, against when the runs it checks were computed.

A claim (an :class:`reportgen.spec.schema.Expect`) is identified by what it claims — every field but
``source`` — so rewording its source does not re-date it, while changing its bound or its variant
does. It is *declared* at the committer date of the oldest commit of the unbroken chain of the
spec file's revisions, newest back, that contain it (read from each revision with :mod:`ast`; a claim
removed and added again dates from the re-adding). A claim that is in the working tree but in no
commit is declared after every existing run.

A run's time is the earliest trustworthy record of its start: ``provenance.created`` (stamped when
the run starts) of the result file and of the older committed versions of that file that hold the
same experiment (same seed, and the same value for every config field both versions record, or the
same test numbers), and the committer dates of those commits — a re-keyed or migrated file can
carry a later ``created`` than the commit that first held its numbers. A reused run
(``provenance.reused_from``) also counts the record of the file it was copied from, and any run also
the records of the same training stored elsewhere under the results folder (the same seed and config
apart from probes, with the same test numbers), e.g. a reference variant that repeats another
study's runs number for number.

The runs a claim checks: for a claim on one variant (a threshold, or ``variant`` compared with
another), that variant's runs (the reference's for a threshold without ``variant``); for a ranking
(``highest``, ``lowest``, ``monotone``), every variant's runs. The claim is "declared before the
runs" when its commit is older than the earliest of those runs, else "added after the runs".

History needs a full clone. :func:`dated` refreshes ``<docs>/.declared.json`` (a committed,
generated record of every claim's declaration and of the start times of the runs under the
repository's own ``results/``, kept with the pages it dates so that a render writes only under
``docs/``) whenever the history is there, and reads it instead in a shallow clone
(``git rev-parse --is-shallow-repository``), so the marks are the same in both.
"""
from __future__ import annotations

import ast
import datetime as dt
import json
import os
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from reportgen.report.judge.findings import ICONS
from reportgen.report.judge.gitlog import Repo

RECORD = ".declared.json"
LABELS = {"before": "declared before the runs", "after": "added after the runs", "no runs": "no runs yet",
          "unknown": "date unknown"}


# ---- claims ----------------------------------------------------------------------------------------

def _norm(fields: dict[str, Any]) -> str:
    from reportgen.spec.schema import Expect

    def one(v: Any) -> Any:
        return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else v

    # a field at its default says nothing: a field added to Expect later does not re-date old claims
    defaults = {k: f.default for k, f in Expect.model_fields.items()}
    rest = " ".join(f"{k}={json.dumps(one(v), ensure_ascii=False)}" for k, v in sorted(fields.items())
                    if k not in ("source", "metric") and not (k in defaults and one(v) == one(defaults[k])))
    return f"{fields.get('metric')} {rest}"


def claim_id(expect: Any) -> str:
    """What an ``Expect`` claims, canonically: ``'test_accuracy at_least=0.99 variant="resnet-18"'``
    (the metric, then every other set field but ``source``, by name; numbers as floats)."""
    return _norm(expect.model_dump(exclude={"source"}))


def claims_in(source: str) -> set[str]:
    """The :func:`claim_id` of every ``Expect(...)`` call in a spec file's text whose arguments are
    literals or module-level literal constants; a call with any other argument is left out (it
    cannot be identified without running old code). Text that does not parse gives an empty set."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    consts: dict[str, Any] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            try:
                consts[node.targets[0].id] = ast.literal_eval(node.value)
            except ValueError:
                pass

    def value(node: ast.expr) -> Any:
        if isinstance(node, ast.Name) and node.id in consts:
            return consts[node.id]
        return ast.literal_eval(node)

    found = set()
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None)) == "Expect"):
            continue
        try:
            fields = {k.arg: value(k.value) for k in node.keywords if k.arg and k.arg != "source"}
            if node.args:
                fields["metric"] = value(node.args[0])
        except (ValueError, TypeError, SyntaxError):
            continue
        found.add(_norm(fields))
    return found


def declared(repo: Repo, spec_path: Path, ids: list[str]) -> dict[str, tuple[str, str] | None]:
    """Each claim's (commit, committer date) of first declaration; None for a claim in no commit."""
    rel = repo.rel(spec_path)
    revs = repo.revisions(rel) if rel else []
    present = [(c, t, _claims_at(repo, c, rel)) for c, t in revs]
    out: dict[str, tuple[str, str] | None] = {}
    for i in ids:
        first = None
        for commit, time, claims in present:  # newest first: stop at the first revision without it
            if i not in claims:
                break
            first = (commit, time)
        out[i] = first
    return out


# ---- runs ------------------------------------------------------------------------------------------

def _agree(a: Any, b: Any) -> bool:
    if isinstance(a, dict) and isinstance(b, dict):
        return all(_agree(a[k], b[k]) for k in a.keys() & b.keys())
    return a == b


def _numbers(r: dict) -> Any:
    test = r.get("test") or {}
    if test:
        return test.get("accuracy"), test.get("loss")
    last = (r.get("history") or [{}])[-1]
    return sorted((k, v) for k, v in last.items() if k != "seconds")


def same_experiment(a: dict, b: dict) -> bool:
    """Same seed, and the same config where both record a field or the same test numbers."""
    return a.get("seed") == b.get("seed") and (_agree(a.get("config"), b.get("config")) or _numbers(a) == _numbers(b))


@lru_cache(maxsize=1024)
def _claims_at(repo: Repo, commit: str, rel: str) -> frozenset[str]:
    return frozenset(claims_in(repo.show(commit, rel) or ""))


@lru_cache(maxsize=8192)
def _result_at(repo: Repo, commit: str, rel: str) -> dict | None:
    """What dating reads of a result file at ``commit`` (seed, config, numbers, provenance); None
    when absent or not a JSON object. Only these fields are kept: result files can be large."""
    try:
        old = json.loads(repo.show(commit, rel) or "null")
    except ValueError:
        return None
    if not isinstance(old, dict):
        return None
    return {"seed": old.get("seed"), "config": old.get("config"), "provenance": old.get("provenance") or {},
            "test": {k: v for k, v in (old.get("test") or {}).items() if k in ("accuracy", "loss")},
            "history": (old.get("history") or [])[-1:]}


def run_time(repo: Repo | None, path: Path, result: dict, depth: int = 0) -> tuple[str, str]:
    """(earliest trustworthy time ISO 8601, what it was read from) for one result file."""
    times = [(result["provenance"]["created"], "provenance.created")]
    rel = repo.rel(path) if repo else None
    if repo and rel:
        for commit, ctime in repo.revisions(rel):
            old = _result_at(repo, commit, rel)
            if old is None or not same_experiment(result, old):
                break
            times.append((ctime, f"date of commit {commit[:7]}"))
            if (old.get("provenance") or {}).get("created"):
                times.append((old["provenance"]["created"], f"provenance.created of its version in {commit[:7]}"))
    if depth == 0:  # the same training stored by another study (or variant) earlier
        for twin_path in _twins(str(Path(path).parents[2].resolve())).get(_training(result), []):
            if Path(twin_path) == Path(path).resolve():
                continue
            try:
                twin = json.loads(Path(twin_path).read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            if isinstance(twin, dict) and _numbers(twin) == _numbers(result):
                t, how = run_time(repo, Path(twin_path), twin, depth + 1)
                times.append((t, f"{how} of the same training in {Path(twin_path).relative_to(Path(path).parents[2].resolve())}"))
    src = (result.get("provenance") or {}).get("reused_from")
    base = Path(path).parents[3]  # reused_from is relative to the results folder's parent (or absolute)
    if src and depth < 3 and (base / src).is_file():
        try:
            origin = json.loads((base / src).read_text(encoding="utf-8"))
        except ValueError:
            origin = None
        if isinstance(origin, dict) and same_experiment(result, origin):
            t, how = run_time(repo, base / src, origin, depth + 1)
            times.append((t, f"{how} of {src}"))
    return min(times, key=lambda t: _when(t[0]))


def _training(r: dict) -> tuple:
    """What identifies a training: the seed and the config apart from its probes (which only record more)."""
    config = {k: v for k, v in (r.get("config") or {}).items() if k != "probes"}
    return r.get("seed"), json.dumps(config, sort_keys=True)


@lru_cache(maxsize=4)
def _twins(results: str) -> dict[tuple, list[str]]:
    """Every result file under ``results`` by :func:`_training` (absolute paths)."""
    from reportgen.results import store

    out: dict[tuple, list[str]] = {}
    for path, r in store.iter_results(Path(results)):
        out.setdefault(_training(r), []).append(str(Path(path).resolve()))
    return out


def _when(iso: str) -> dt.datetime:
    when = dt.datetime.fromisoformat(iso)
    return when if when.tzinfo else when.replace(tzinfo=dt.timezone.utc)


def _utc(iso: str) -> str:
    return _when(iso).astimezone(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


# ---- the dating of one check ----------------------------------------------------------------------

@dataclass(frozen=True)
class Dating:
    """``status``: before / after / no runs / unknown; times ISO 8601; ``runs_of`` names the variants."""

    status: str
    declared: str | None = None
    commit: str | None = None
    runs_at: str | None = None
    runs_how: str = ""
    runs_of: str = ""
    reason: str = ""

    @property
    def label(self) -> str:
        return LABELS[self.status]

    @property
    def detail(self) -> str:
        """One line: where the claim was declared and when the runs it checks were computed."""
        claim = (f"claim in commit {self.commit[:7]} of {_utc(self.declared)}" if self.commit and self.declared
                 else "claim not committed yet" if self.status in ("after", "no runs") else "")
        runs = f"first run of {self.runs_of} started {_utc(self.runs_at)}, from {self.runs_how}" if self.runs_at else ""
        return "; ".join(filter(None, (claim, runs, self.reason)))


class Dated:
    """A :class:`reportgen.report.judge.findings.Check` with its :class:`Dating` (``.dating``); every other
    attribute is the check's."""

    def __init__(self, check: Any, dating: Dating) -> None:
        self.check, self.dating = check, dating

    def __getattr__(self, name: str) -> Any:
        return getattr(self.check, name)


def _subjects(sr: Any, e: Any) -> list[Any]:
    if e.highest or e.lowest or e.monotone:
        return [v for v in sr.variants if v.runs]
    return [sr.variant(e.variant or sr.reference)]


def dated(sr: Any, checks: list[Any], results: Path, docs: Path) -> list[Dated]:
    """``checks`` (one per expectation of ``sr.spec``) with their datings; refreshes or reads the record
    ``docs/.declared.json`` (see the module docstring; written only when its content changes)."""
    from reportgen.results import store

    spec = sr.spec
    repo = Repo.of(Path(spec.path))
    record_path = Path(docs) / RECORD
    record = _read(record_path)
    history = repo is not None and not repo.shallow
    ids = [claim_id(c.expect) for c in checks]
    if history:
        found = declared(repo, Path(spec.path), ids)
    else:
        mine = record["claims"].get(spec.name, {})
        found = {i: (mine[i]["commit"], mine[i]["declared"]) if mine.get(i, {}).get("commit") else None
                 for i in ids if i in mine}
    results_repo = Repo.of(Path(results)) if history else None
    # the record describes the repository's own results/ (not a smoke folder or a test's copy)
    recording = history and results_repo is not None and Path(results).resolve() == repo.root / "results"
    out, runs_seen = [], {}
    for c, i in zip(checks, ids):
        try:
            subjects = _subjects(sr, c.expect)
        except KeyError as err:
            out.append(Dated(c, Dating("unknown", reason=str(err.args[0]))))
            continue
        times = []
        for v in subjects:
            for r in v.runs:
                path = store.result_path(Path(results), r["study"], r["variant"], r["seed"])
                rel = results_repo.rel(path) if results_repo else repo.rel(path) if repo else None
                kept = record["runs"].get(rel or "", {})
                if history:
                    at, how = run_time(results_repo, path, r)
                elif kept.get("key") == r["key"]:
                    at, how = kept["at"], kept["how"]
                else:
                    at, how = run_time(None, path, r)[0], "provenance.created; not in the record"
                if rel and recording:
                    runs_seen[rel] = {"key": r["key"], "at": at, "how": how}
                times.append((at, how))
        runs_of = ", ".join(v.label for v in subjects) if len(subjects) < 4 else "every variant"
        at, how = min(times, key=lambda t: _when(t[0])) if times else (None, "")
        if i not in found:
            out.append(Dated(c, Dating("unknown", runs_at=at, runs_how=how, runs_of=runs_of,
                                       reason=f"shallow clone and no entry in {RECORD}")))
            continue
        first = found[i]
        if at is None:
            status = "no runs"
        elif first is None:
            status = "after"
        else:
            status = "before" if _when(first[1]) < _when(at) else "after"
        out.append(Dated(c, Dating(status, first and first[1], first and first[0], at, how, runs_of)))
    if recording:
        record_path.parent.mkdir(parents=True, exist_ok=True)
        record["claims"][spec.name] = {i: {"commit": f[0] if f else None, "declared": f[1] if f else None}
                                       for i, f in found.items()}
        record["runs"].update(runs_seen)
        record["runs"] = {k: v for k, v in record["runs"].items() if (repo.root / k).is_file()}
        _write(record_path, record)
    return out


def _read(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        data = {}
    return {"claims": dict(data.get("claims") or {}), "runs": dict(data.get("runs") or {})}


def _write(path: Path, record: dict[str, Any]) -> None:
    """Write the record atomically when its content changed."""
    body = {"about": "generated by reportgen.report.judge.claimdates on render from the git history; read in a shallow "
                     "clone. Do not edit.",
            "claims": {k: record["claims"][k] for k in sorted(record["claims"])},
            "runs": {k: record["runs"][k] for k in sorted(record["runs"])}}
    def block(d: dict) -> str:  # one line per entry: short diffs when one claim or run changes
        return "{\n" + ",\n".join(f"  {json.dumps(k, ensure_ascii=False)}: {json.dumps(v, ensure_ascii=False, sort_keys=True)}"
                                   for k, v in d.items()) + "\n }"
    text = ("{\n" + f' "about": {json.dumps(body["about"])},\n'
            + ",\n".join(f' "{name}": {block(body[name])}' for name in ("claims", "runs")) + "\n}\n")
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


def tally(checks: list[Any]) -> list[dict[str, Any]]:
    """Per outcome (held, contradicted, equivalent, inconclusive): how many claims, and how many of them were
    declared before / added after the runs / neither (no runs yet or date unknown)."""
    rows = []
    for outcome in ("held", "contradicted", "equivalent", "inconclusive"):
        these = [c for c in checks if c.outcome == outcome]
        if outcome == "equivalent" and not these:
            continue
        n = {s: sum(c.dating.status == s for c in these) for s in LABELS}
        rows.append({"outcome": outcome, "icon": ICONS[outcome],
                     "n": len(these), "before": n["before"], "after": n["after"], "other": n["no runs"] + n["unknown"]})
    return rows
