"""Golden fingerprints of the numerics components (:mod:`reportgen.spec.numerics`): per component a tiny
deterministic computation (synthetic data, a few steps, one CPU thread) whose numbers are compared
with the ones recorded under the component's current version in ``tests/fingerprints/<component>.json``.

    python -m reportgen.run.fingerprints check [COMPONENT ...] [--dir DIR]    # exit 1 on any mismatch
    python -m reportgen.run.fingerprints record COMPONENT ... [--dir DIR]     # after a version bump

A fingerprint is ``{"component", "version", "values": {name: [numbers]}}``, an entry holding numbers
of one kind (a loss per epoch, a tensor's mean, mean |x|, RMS and first values). A recorded value
``b`` and a computed ``a`` agree when ``|a - b| <= atol + RTOL * (|b| + max |entry|)``: relative to
the value and to the size of its entry (a mean near 0 is compared on the scale of its tensor), plus
``atol``: :data:`ATOL`, the rounding unit of a rounded quantity, or one code for uint8 codes (of
:mod:`reportgen.results.quantized`, or images stored as hex). That absorbs the last-bit differences between
CPU kernel sets (AVX2, AVX512, ``ATEN_CPU_CAPABILITY=default``; measured: at most 2e-5 of an entry's
size after a few steps) and nothing of the size a real change makes (initialisation order, data
order, the loss, an optimizer step, augmentation).
"""
from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from reportgen.run.fingerprint_recipes import ATOL, Entry, recipe
from reportgen.spec.numerics import VERSIONS

#: Relative tolerance of a value (see the module docstring; the absolute one is ATOL).
RTOL = 1e-4
#: Where the recorded fingerprints live (a checkout's ``tests/fingerprints``); ``--dir`` overrides it.
DEFAULT_DIR = Path(__file__).resolve().parents[2] / "tests" / "fingerprints"
RECORD = "python -m reportgen.run.fingerprints record"

Values = dict[str, list[float]]


def mismatches(got: Values, want: Values, atols: dict[str, float] | None = None) -> list[str]:
    """One line per entry of ``want`` that ``got`` lacks, has another length, or differs beyond the
    tolerance; and per entry ``got`` has that ``want`` lacks. Empty when they agree."""
    atols = atols or {}
    out = [f"{name}: not computed" for name in want if name not in got]
    out += [f"{name}: computed but not in the fingerprint" for name in got if name not in want]
    for name in (n for n in want if n in got):
        a, b = np.asarray(got[name], dtype=float), np.asarray(want[name], dtype=float)
        if a.shape != b.shape:
            out.append(f"{name}: {a.size} values, fingerprint has {b.size}")
            continue
        finite = np.abs(b[np.isfinite(b)])
        tol = atols.get(name, ATOL) + RTOL * (np.abs(b) + (finite.max() if finite.size else 0.0))
        with np.errstate(invalid="ignore"):  # inf - inf
            bad = ~((np.abs(a - b) <= tol) | (a == b) | (np.isnan(a) & np.isnan(b)))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            out.append(f"{name}: {int(bad.sum())} of {b.size} values differ (first at [{i}]: {a[i]!r}, "
                       f"fingerprint {b[i]!r})")
    return out


def compute(component: str) -> dict[str, Entry]:
    """The fingerprint values of ``component``, on one CPU thread.

    Raises:
        KeyError: no recipe for ``component``.
    """
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        from reportgen.run.fingerprint_sources import RECIPES  # the data-set loaders and the import-path model

        return (RECIPES.get(component) or recipe(component))()
    finally:
        torch.set_num_threads(threads)


def path_of(component: str, folder: Path) -> Path:
    return folder / f"{component}.json"


def check(component: str, folder: Path = DEFAULT_DIR) -> list[str]:
    """Problems of ``component`` against its recorded fingerprint (empty: it agrees). Each message
    says what to do."""
    path = path_of(component, folder)
    version = VERSIONS[component]
    if not path.exists():
        return [f"{component}: no fingerprint at {path}; record it: {RECORD} {component}"]
    recorded = loads(path.read_text(encoding="utf-8"))
    if recorded["version"] != version:
        return [f"{component}: numerics version {version} in reportgen/spec/numerics.py, but its fingerprint was "
                f"recorded under version {recorded['version']}; after a bump re-record it: {RECORD} {component}"]
    got = compute(component)
    bad = mismatches(got, recorded["values"], {k: v.atol for k, v in got.items()})
    if bad:
        return [f"{component}: numbers differ from the fingerprint recorded under numerics version {version} "
                f"({path}):\n    " + "\n    ".join(bad[:8]) + f"\n  If the change is intended, bump "
                f"VERSIONS[{component!r}] in reportgen/spec/numerics.py and re-record: {RECORD} {component}; "
                "otherwise the change altered what the component computes."]
    return []


def record(component: str, folder: Path = DEFAULT_DIR, replace: bool = False) -> str:
    """Write ``component``'s fingerprint under its current version; returns what was done. Refuses
    (ValueError) to overwrite a fingerprint of the same version with other numbers unless ``replace``
    (for a changed recipe, not a changed component)."""
    path = path_of(component, folder)
    version = VERSIONS[component]
    got = compute(component)
    if path.exists():
        old = loads(path.read_text(encoding="utf-8"))
        if old["version"] == version:
            bad = mismatches(got, old["values"], {k: v.atol for k, v in got.items()})
            if not bad:
                return f"{component}: unchanged (version {version})"
            if not replace:
                raise ValueError(f"{component}: numbers differ from those recorded under version {version} "
                                 f"({bad[0]}); bump VERSIONS[{component!r}] in reportgen/spec/numerics.py first "
                                 "(--replace only when the fingerprint recipe itself changed)")
    folder.mkdir(parents=True, exist_ok=True)
    path.write_text(dumps(component, version, got), encoding="utf-8")
    return f"{component}: recorded under version {version} ({path})"


def dumps(component: str, version: int, values: dict[str, Entry]) -> str:
    """Strict JSON, one entry per line; numbers to 12 significant digits (far below the tolerance),
    NaN as null."""
    def num(v: float) -> str:
        return "null" if math.isnan(v) else str(int(v)) if v.is_integer() and abs(v) < 1e15 else format(v, ".12g")

    lines = [f" {json.dumps(k)}: [{', '.join(num(float(v)) for v in vals)}]" for k, vals in values.items()]
    return (f'{{"component": {json.dumps(component)}, "version": {version}, "values": {{\n'
            + ",\n".join(lines) + "\n}}\n")


def loads(text: str) -> dict[str, Any]:
    """A fingerprint file (null back to NaN)."""
    data = json.loads(text)
    data["values"] = {k: [math.nan if v is None else v for v in vals] for k, vals in data["values"].items()}
    return data


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m reportgen.run.fingerprints",
                                 description="check or record the golden fingerprints of numerics components")
    ap.add_argument("action", choices=("check", "record", "list"))
    ap.add_argument("components", nargs="*", metavar="COMPONENT", help="default: all (record: name them)")
    ap.add_argument("--dir", type=Path, default=DEFAULT_DIR, help=f"fingerprint folder (default {DEFAULT_DIR})")
    ap.add_argument("--replace", action="store_true", help="record: overwrite a same-version fingerprint "
                                                           "(only when the recipe changed)")
    args = ap.parse_args(argv)
    unknown = [c for c in args.components if c not in VERSIONS]
    if unknown:
        ap.error(f"unknown component(s) {', '.join(unknown)}; known: {', '.join(VERSIONS)}")
    if args.action == "list":
        for name, version in VERSIONS.items():
            print(f"{name} {version}")
        return 0
    if args.action == "record":
        if not args.components:
            ap.error("name the component(s) to record (after bumping their version)")
        try:
            for c in args.components:
                print(record(c, args.dir, args.replace))
        except ValueError as err:
            print(err)
            return 1
        return 0
    problems = [p for c in (args.components or list(VERSIONS)) for p in check(c, args.dir)]
    print("\n".join(problems) if problems else f"{len(args.components or VERSIONS)} fingerprint(s) agree")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
