"""The only writer of ``results/``: one strict-JSON file per run, written atomically.

Layout ``<results>/<study>/<variant>/seed<k>.json``. Non-finite floats are stored explicitly as the
strings ``"NaN"``, ``"Infinity"``, ``"-Infinity"`` (strict JSON has no literal for them) and read
back as floats.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

#: Version of the result format. 2: ``test.least_confident_correct``/``least_confident_conf`` added
#: (absent in version-1 files, which are otherwise the same). 3: ``numerics`` (the components'
#: numerics versions, which the key holds instead of ``runner_version``), ``provenance.git_dirty`` and
#: ``provenance.attempts``; the arrays of the ``first_layer_weights`` and ``feature_maps`` probes are
#: stored compactly (:mod:`reportgen.results.quantized`). Older files are migrated on reading.
SCHEMA_VERSION = 3
#: Statuses whose result is final for its key: retraining would give the same numbers.
FINAL = ("completed", "diverged")
_NONFINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def result_path(results: Path, study: str, variant: str, seed: int) -> Path:
    return results / study / variant / f"seed{seed}.json"


def _encode(obj: Any) -> Any:
    if isinstance(obj, float) and not math.isfinite(obj):
        return "NaN" if math.isnan(obj) else ("Infinity" if obj > 0 else "-Infinity")
    if isinstance(obj, dict):
        return {str(k): _encode(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_encode(v) for v in obj]
    return obj


def _decode(obj: Any) -> Any:
    if isinstance(obj, str) and obj in _NONFINITE:
        return _NONFINITE[obj]
    if isinstance(obj, dict):
        return {k: _decode(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_decode(v) for v in obj]
    return obj


class StoreError(OSError):
    """A result could not be written (disk full, permission denied, …); nothing partial was left and
    earlier results are untouched."""


def write_json(path: Path, payload: dict[str, Any]) -> None:
    """Write ``payload`` as strict JSON to ``path`` atomically (temp file in the same folder, fsync,
    ``os.replace``): readers see the old file or the new one, never half of one.

    Raises:
        StoreError: the folder or file cannot be written; the message names the path and the cause.
    """
    text = json.dumps(_encode(payload), allow_nan=False, indent=1, sort_keys=False)
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text + "\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as err:
        if tmp:
            Path(tmp).unlink(missing_ok=True)
        raise StoreError(err.errno, f"cannot write {path}: {err.strerror or err}; no partial file was left "
                                    "and earlier results are untouched") from err
    except BaseException:
        if tmp:
            Path(tmp).unlink(missing_ok=True)
        raise


def _v1_to_v2(data: dict[str, Any]) -> dict[str, Any]:
    return {**data, "schema_version": 2}  # v2 only adds optional fields


#: The probe arrays version 3 stores compactly: ``{probe: field of each of its rows}``.
COMPACT_PROBE_ARRAYS = {"first_layer_weights": "weights", "feature_maps": "maps"}


def compact_probes(probes: dict[str, Any]) -> dict[str, Any]:
    """``probes`` with the nested-list arrays of :data:`COMPACT_PROBE_ARRAYS` encoded by
    :func:`reportgen.results.quantized.encode` (already encoded ones are kept)."""
    from reportgen.results.quantized import encode, is_encoded

    out = dict(probes)
    for name, field in COMPACT_PROBE_ARRAYS.items():
        if out.get(name):
            out[name] = [{**row, field: row[field] if is_encoded(row[field]) else encode(row[field])}
                         for row in out[name]]
    return out


def _v2_to_v3(data: dict[str, Any]) -> dict[str, Any]:
    """Compact probe arrays; ``numerics`` stays absent (a version-2 file's key hashes source files)."""
    out = {**data, "schema_version": 3}
    if data.get("probes"):
        out["probes"] = compact_probes(data["probes"])
    return out


#: ``{version: function}`` turning a result of that version into the next one.
MIGRATIONS = {1: _v1_to_v2, 2: _v2_to_v3}


def read_json(path: Path) -> dict[str, Any]:
    """Parse one strict-JSON file written by :func:`write_json` (non-finite strings back to floats).

    Raises:
        ValueError: not JSON (JSONDecodeError) or without the ``key``/``status`` every result has.
    """
    text = path.read_text(encoding="utf-8")
    data = json.loads(text)
    if "NaN" in text or "Infinity" in text or "\\u" in text:  # else no string can be one (the walk is slow)
        data = _decode(data)
    if not isinstance(data, dict) or "key" not in data or "status" not in data:
        raise ValueError(f"{path}: not a reportgen result (no key/status)")
    return data


def read_result(path: Path) -> dict[str, Any]:
    """:func:`read_json`, migrated to ``SCHEMA_VERSION`` and checked against
    :class:`reportgen.results.schema.Result`: what everything that reports or caches reads.

    Raises:
        ValueError: not JSON, not a result, written by a newer reportgen, or not matching the
            schema; the message names the file and the first problem.
    """
    data = read_json(path)
    version = data.get("schema_version")
    if not isinstance(version, int) or version > SCHEMA_VERSION:
        raise ValueError(f"{path}: schema_version {version!r} is not one this reportgen reads (1–{SCHEMA_VERSION})")
    while version < SCHEMA_VERSION:
        data = MIGRATIONS[version](data)
        version = data["schema_version"]
    from pydantic import ValidationError

    from reportgen.results.schema import Result

    try:
        Result.model_validate(data)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(x) for x in first["loc"])
        raise ValueError(f"{path}: does not match the result schema: {where}: {first['msg']} "
                         f"({err.error_count()} problem(s))") from None
    return data


def iter_results(results: Path, study: str | None = None) -> Iterator[tuple[Path, dict[str, Any]]]:
    """Every readable result under ``results`` (or one study's folder); unreadable files are skipped
    here and reported by :func:`problems`."""
    root = results / study if study else results
    for path in sorted(root.glob("**/seed*.json")):
        try:
            yield path, read_result(path)
        except (OSError, ValueError):
            continue


def problems(results: Path) -> list[tuple[Path, str]]:
    """Result files that cannot be read, with the reason."""
    out = []
    for path in sorted(results.glob("**/seed*.json")):
        try:
            read_result(path)
        except (OSError, ValueError) as err:
            out.append((path, f"{type(err).__name__}: {err}"))
    return out


@dataclass(frozen=True)
class Unreadable:
    """A result file that exists but cannot be used, and why.

    ``partial`` marks a plain partial write: the text is the start of a JSON object cut off before
    its end (an empty file included), as a copy or a write stopped mid-way leaves it (reportgen's
    own writes are atomic, :func:`write_json`, and never leave one). Such a file holds no result to
    lose, so ``reportgen run`` trains the run again; every other unreadable file is kept and
    reported until ``reportgen run --force`` replaces it (or someone repairs or removes it).
    """

    path: Path
    reason: str  # one line, without the path
    partial: bool = False

    def describe(self) -> str:
        """``<path>: <reason>``."""
        return f"{self.path}: {self.reason}"


def _is_partial(text: str, err: json.JSONDecodeError) -> bool:
    """Whether ``text`` is a JSON object cut off before its end: empty, or an object whose parse ran
    out of text (the error at the end, or inside a string left open)."""
    body = text.strip()
    if not body:
        return True
    return body.startswith("{") and (err.pos >= len(body) or err.msg.startswith("Unterminated string"))


def diagnose(path: Path, err: Exception) -> Unreadable:
    """What the exception :func:`read_result` raised for ``path`` says, as an :class:`Unreadable`
    (the reason without the path, truncated JSON marked ``partial``)."""
    if isinstance(err, json.JSONDecodeError):
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, ValueError):
            text = "?"
        if _is_partial(text, err):
            return Unreadable(path, f"truncated JSON ({len(text.encode())} bytes, cut off at line {err.lineno} "
                                    f"column {err.colno}): a partial write", partial=True)
        return Unreadable(path, f"not JSON: {err.msg} at line {err.lineno} column {err.colno}")
    if isinstance(err, UnicodeDecodeError):
        return Unreadable(path, f"not UTF-8 text: byte {err.start} ({err.reason})")
    reason = str(err)
    for prefix in (f"{path}: ", f"{path.as_posix()}: "):
        reason = reason.removeprefix(prefix)
    if isinstance(err, OSError) and not isinstance(err, StoreError):
        reason = f"cannot be read: {err.strerror or err}"
    return Unreadable(path, " ".join(reason.split()))


def key_mismatch(result: dict[str, Any]) -> str | None:
    """Why a result's ``key`` is not the key of the run its ``config``, ``seed`` and ``numerics``
    describe (:attr:`reportgen.spec.expand.Run.key`), or None when it is, or when the file cannot
    say: a result without ``numerics`` (its key hashed source files) or of a ``custom_digits`` probe
    (its key hashes an image folder's contents at training time)."""
    if not isinstance(result.get("numerics"), dict) or not isinstance(result.get("config"), dict):
        return None
    from pydantic import ValidationError

    from reportgen.spec.config import RunConfig
    from reportgen.spec.expand import Run

    try:
        config = RunConfig.model_validate(result["config"])
    except ValidationError as err:
        return f"its config is not a valid run config ({err.error_count()} problem(s))"
    if any(p.images_dir() for p in config.probes):
        return None
    run = Run(str(result.get("study", "")), str(result.get("variant", "")), "", int(result.get("seed", 0)), config)
    if run.numerics != result["numerics"]:
        # The key hashes the numerics the run used, as recorded; recompute with those.
        from reportgen.spec.expand import key_of

        key = key_of(config, run.seed, result["numerics"])
    else:
        key = run.key
    if key == result.get("key"):
        return None
    return (f"key {str(result.get('key'))[:12]}… does not match its config, seed and numerics (they give "
            f"{key[:12]}…): edited by hand, or its parts come from different runs")


def inspect(path: Path) -> dict[str, Any] | Unreadable | None:
    """The result at ``path`` (:func:`read_result`), None when there is no file, or an
    :class:`Unreadable` saying why it cannot be used: not text, not JSON (``partial`` when
    truncated), not a result, a schema version this reportgen does not read, not matching the schema,
    or a key that does not match its config (:func:`key_mismatch`)."""
    if not path.exists():
        return None
    try:
        result = read_result(path)
    except (OSError, ValueError) as err:
        return diagnose(path, err)
    stat = path.stat()
    seen = (str(path), stat.st_mtime_ns, stat.st_size)
    if seen not in _KEY_CHECKED:  # a command may plan one study at a time: check each file once
        _KEY_CHECKED[seen] = key_mismatch(result)
    why = _KEY_CHECKED[seen]
    return Unreadable(path, why) if why else result


#: :func:`key_mismatch` of each file :func:`inspect` read, by (path, modification time, size).
_KEY_CHECKED: dict[tuple[str, int, int], str | None] = {}


def unreadable(results: Path, study: str | None = None) -> list[Unreadable]:
    """Every result file under ``results`` (or one study's folder) that :func:`inspect` cannot use,
    in path order."""
    root = results / study if study else results
    return [u for path in sorted(root.glob("**/seed*.json")) if isinstance(u := inspect(path), Unreadable)]


def scan(results: Path) -> tuple[dict[str, list[Path]], dict[Path, Unreadable]]:
    """One pass over ``results``: (``{key: [paths]}`` of every usable final result, as :func:`index`;
    ``{path: Unreadable}`` of every file :func:`inspect` cannot use)."""
    found: dict[str, list[Path]] = {}
    bad: dict[Path, Unreadable] = {}
    for path in sorted(results.glob("**/seed*.json")):
        got = inspect(path)
        if isinstance(got, Unreadable):
            bad[path] = got
        elif got is not None and got.get("status") in FINAL:
            found.setdefault(got["key"], []).append(path)
    return found, bad


def index(results: Path) -> dict[str, list[Path]]:
    """``{key: [paths]}`` of every final result under ``results`` (the run cache)."""
    out: dict[str, list[Path]] = {}
    for path, result in iter_results(results):
        if result.get("status") in FINAL:
            out.setdefault(result["key"], []).append(path)
    return out
