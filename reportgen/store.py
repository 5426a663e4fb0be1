"""The only writer of ``results/``: one strict-JSON file per run, written atomically.

Layout ``<results>/<study>/<variant>/seed<k>.json``. Non-finite floats are stored explicitly as the
strings ``"NaN"``, ``"Infinity"``, ``"-Infinity"`` (strict JSON has no literal for them) and read
back as floats.
"""
from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any, Iterator

SCHEMA_VERSION = 1
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


def write_json(path: Path, payload: dict[str, Any]) -> None:
    """Write ``payload`` as strict JSON to ``path`` atomically (temp file in the same folder, fsync,
    ``os.replace``): readers see the old file or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(_encode(payload), allow_nan=False, indent=1, sort_keys=False)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text + "\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_json(path: Path) -> dict[str, Any]:
    """Parse one result file. Raises ``ValueError`` (incl. JSONDecodeError) if it is not a result."""
    data = _decode(json.loads(path.read_text(encoding="utf-8")))
    if not isinstance(data, dict) or "key" not in data or "status" not in data:
        raise ValueError(f"{path}: not a reportgen result (no key/status)")
    return data


def iter_results(results: Path, study: str | None = None) -> Iterator[tuple[Path, dict[str, Any]]]:
    """Every readable result under ``results`` (or one study's folder); unreadable files are skipped
    here and reported by :func:`problems`."""
    root = results / study if study else results
    for path in sorted(root.glob("**/seed*.json")):
        try:
            yield path, read_json(path)
        except (OSError, ValueError):
            continue


def problems(results: Path) -> list[tuple[Path, str]]:
    """Result files that cannot be read, with the reason."""
    out = []
    for path in sorted(results.glob("**/seed*.json")):
        try:
            read_json(path)
        except (OSError, ValueError) as err:
            out.append((path, f"{type(err).__name__}: {err}"))
    return out


def index(results: Path) -> dict[str, list[Path]]:
    """``{key: [paths]}`` of every final result under ``results`` (the run cache)."""
    out: dict[str, list[Path]] = {}
    for path, result in iter_results(results):
        if result.get("status") in FINAL:
            out.setdefault(result["key"], []).append(path)
    return out
