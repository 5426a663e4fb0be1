"""What each generated page was rendered from, so that a render redoes only what changed.

A *group* is one or more generated files rendered together (a study's page, its variant page and its
``assets/<study>/`` folder; the index with its tables and figure; the Performance page; the reference
pages). Its *inputs* are everything its output is computed from, hashed (SHA-256) in a canonical
JSON form:

- the code: every file of the stages a render imports (``data``, ``spec``, ``results``, ``report``;
  never ``run``, which trains, nor the templates or the command line), and the versions of Python and
  of the libraries that draw or compute (coarse: an edit of rendering code redoes every page; an edit
  of training code redoes none, and a base install without torch finds committed pages current);
- the templates the group renders (a study page: ``study.md.j2``, ``variant.md.j2`` and the template
  of each analysis its spec names);
- a study's spec file, its result files, those of the studies it reads (``base``/``FromResults``,
  transitively) and of the files its runs were reused from; its controlled timing
  (``<results>/_timing/<study>.json``, :mod:`reportgen.results.timing`) and its record of seeds added
  until decided (``<results>/_sequential/<study>.json``); the ``--images`` folder and the
  ``custom_digits`` folders its probes read; and what dates its claims: the git revisions of those
  files (the commits, which fix their contents), or in a clone without history the entries of
  ``docs/.declared.json`` that stand in for them (:mod:`reportgen.report.judge.claimdates`).

The record ``docs/.render-inputs.json`` (committed with the pages: a fresh clone is up to date) keeps
per group the inputs' hash and a digest of the files it wrote; a group is skipped when both match. A
study's entry also keeps its answer (:class:`reportgen.report.pages.answers.Answer`), which the index would
otherwise compose again. The record is deterministic (sorted keys, no times) and written only when
its content changes."""
from __future__ import annotations

import hashlib
import json
import os
import platform
import re
import tempfile
from functools import cache, lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any

from reportgen.report.judge.gitlog import Repo
from reportgen.results import sequential
from reportgen.results.timing import timing_path

RECORD = ".render-inputs.json"
PACKAGE = Path(__file__).resolve().parents[2]  # reportgen/
TEMPLATES = Path(__file__).resolve().parent / "templates"
#: Libraries whose version can change a page's bytes (numbers, figures, Markdown); all of the base install.
LIBRARIES = ("jinja2", "matplotlib", "numpy", "pillow", "pydantic", "scipy")
#: The package's folders a render imports (``tests/test_torch_free.py`` checks it imports no other).
RENDER_STAGES = ("data", "spec", "results", "report")


def digest(obj: Any) -> str:
    """SHA-256 (hex) of ``obj`` as canonical JSON (sorted keys, no whitespace)."""
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def file_hash(path: Path) -> str | None:
    """SHA-256 of a file's bytes; None when it does not exist."""
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return None


def tree(root: Path, pattern: str = "**/*") -> dict[str, str]:
    """``{relative POSIX path: SHA-256}`` of every file under ``root`` (none: empty)."""
    root = Path(root)
    if not root.is_dir():
        return {}
    return {p.relative_to(root).as_posix(): file_hash(p) or "" for p in sorted(root.glob(pattern))
            if p.is_file() and "__pycache__" not in p.parts}


@lru_cache(maxsize=1)
def code() -> str:
    """The hash of the rendering code (:data:`RENDER_STAGES`, templates aside) and library versions."""
    files = {k: v for k, v in tree(PACKAGE).items()
             if k.split("/")[0] in RENDER_STAGES and not k.startswith("report/pages/templates/")}
    versions = {}
    for name in LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return digest({"files": files, "python": platform.python_version(), "libraries": versions})


def templates(names: list[str]) -> dict[str, str | None]:
    return {n: file_hash(TEMPLATES / n) for n in names}


def _rel(path: Path) -> str:
    """A path as the record names it: relative to the repository when inside it (clones agree)."""
    p = Path(path).resolve()
    try:
        return p.relative_to(PACKAGE.parent).as_posix()
    except ValueError:
        return p.as_posix()


_REUSED = re.compile(r'"reused_from"\s*:\s*("(?:[^"\\]|\\.)*")')


@cache
def _repo(folder: Path) -> Repo | None:
    return Repo.of(folder)


class Inputs:
    """Hashes the inputs of one render (``results``: the results folder; ``docs``: the pages' folder, which
    holds the claim-dating record; ``smoke``: as render's)."""

    def __init__(self, results: Path, docs: Path, smoke: bool = False) -> None:
        self.results, self.docs, self.smoke = Path(results), Path(docs), smoke
        self._folders: dict[str, dict[str, str]] = {}
        self._studies: dict[str, dict[str, Any]] = {}

    def folder(self, study: str) -> dict[str, str]:
        """``{path: hash}`` of a study's result files (path relative to the results folder)."""
        if study not in self._folders:
            self._folders[study] = {f"{study}/{k}": v for k, v in tree(self.results / study, "**/*.json").items()}
        return self._folders[study]

    def all_results(self) -> str:
        """The hash of every result file under the results folder."""
        names = sorted(p.name for p in self.results.iterdir() if p.is_dir()) if self.results.is_dir() else []
        return digest({n: self.folder(n) for n in names})

    def study(self, spec: Any) -> dict[str, Any]:
        """What a study's page shows but the templates: spec, results, images, claim dating (a dict,
        cached per study name)."""
        if spec.name in self._studies:
            return self._studies[spec.name]
        from reportgen.spec.expand import IMAGES_ENV

        names, todo = [], [spec]
        while todo:  # the study and every study it reads, transitively
            s = todo.pop()
            if s.name in names:
                continue
            names.append(s.name)
            if s.study.upstream():
                from reportgen.results.chain import upstream_spec

                todo += [upstream_spec(s, n) for n in s.study.upstream()]
        specs = {n: file_hash(Path(spec.path).parent / f"{n}.py") for n in names}
        specs[spec.name] = digest([specs[spec.name], spec.source])  # the file and the text it was loaded from
        files = {k: v for n in names for k, v in self.folder(n).items()}
        for rel in list(files):  # the files its runs were copied from (claim dating reads them)
            text = (self.results / rel).read_text(encoding="utf-8", errors="replace")
            for m in _REUSED.finditer(text):
                src = json.loads(m[1])
                target = (self.results.resolve().parent / src) if not Path(src).is_absolute() else Path(src)
                files[f"reused:{src}"] = file_hash(target) or ""
        images = {}
        for p in spec.study.probes:
            folder = os.environ.get(IMAGES_ENV) or p.images_dir()
            if folder:
                images[_rel(Path(folder))] = tree(Path(folder))
        out = {"spec": specs, "study": spec.study.model_dump(mode="json"), "spec_path": _rel(Path(spec.path)), "results": files,
               "results_dir": Path(self.results).name, "smoke": self.smoke, "images": images,
               "images_env": os.environ.get(IMAGES_ENV), "kind": spec.study.kind,
               "timing": file_hash(timing_path(self.results, spec.name)),  # its controlled timing, if any
               "sequential": file_hash(sequential.path_of(self.results, spec.name)),  # seeds added until decided
               "dating": self._dating(spec, names, files)}
        self._studies[spec.name] = out
        return out

    def _dating(self, spec: Any, names: list[str], files: dict[str, str]) -> dict[str, Any]:
        """What :func:`reportgen.report.judge.claimdates.dated` reads beyond file contents: each file's git
        revisions with history, else the record that stands in for them."""
        from reportgen.report.judge import claimdates

        repo = _repo(Path(spec.path).resolve().parent)
        results_repo = _repo(self.results.resolve()) if self.results.exists() else None
        if repo is not None and not repo.shallow:
            revs = {"spec": repo.revisions(repo.rel(Path(spec.path)) or "")}
            for k in files:
                path = (self.results.resolve().parent / k[len("reused:"):]) if k.startswith("reused:") \
                    else self.results / k
                r = results_repo or repo
                rel = r.rel(path)
                revs[k] = r.revisions(rel) if rel else []
            return {"history": revs}
        record = claimdates._read(self.docs / claimdates.RECORD)
        rels = {repo.rel(self.results / k) for k in files if not k.startswith("reused:")} if repo else set()
        return {"claims": record["claims"].get(spec.name), "repo": repo is not None,
                "runs": {k: v for k, v in record["runs"].items() if k in rels}}


def outputs(docs: Path, paths: list[str]) -> str:
    """A digest of the files at ``paths`` under ``docs`` (files or folders; absent ones count as absent)."""
    found: dict[str, str] = {}
    for rel in paths:
        p = docs / rel
        if p.is_dir():
            found.update({f"{rel}/{k}": v for k, v in tree(p).items()})
        elif p.is_file():
            found[rel] = file_hash(p) or ""
    return digest(found)


class Record:
    """``docs/.render-inputs.json``: ``{group: {"inputs", "outputs", …}}``. With ``force`` no group is
    fresh, and the groups not rendered again keep their entries (a forced render of one study leaves the
    others current, and the index reuses their recorded answers)."""

    def __init__(self, docs: Path, force: bool = False) -> None:
        self.docs, self.path, self.force = Path(docs), Path(docs) / RECORD, force
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            data = {}
        self.groups: dict[str, dict[str, Any]] = dict(data.get("groups") or {}) if isinstance(data, dict) else {}

    def fresh(self, group: str, inputs: str, paths: list[str]) -> bool:
        """True when ``group`` was rendered from these inputs and its files are as it wrote them (never
        with ``force``)."""
        entry = self.groups.get(group) or {}
        return not self.force and entry.get("inputs") == inputs and entry.get("outputs") == outputs(self.docs, paths)

    def done(self, group: str, inputs: str, paths: list[str], **extra: Any) -> None:
        """Note that ``group`` was just rendered from ``inputs`` (its files are read now)."""
        self.groups[group] = {"inputs": inputs, "outputs": outputs(self.docs, paths), **extra}

    def save(self) -> None:
        """Write the record (sorted, one group per line) when its content changed."""
        lines = [f" {json.dumps(k)}: {json.dumps(self.groups[k], sort_keys=True, ensure_ascii=False)}"
                 for k in sorted(self.groups)]
        text = ('{"about": "generated by reportgen.report.pages.incremental: what each generated page was rendered '
                'from. Do not edit.",\n"groups": {\n' + ",\n".join(lines) + "\n}}\n")
        if self.path.exists() and self.path.read_text(encoding="utf-8") == text:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=self.path.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, self.path)
