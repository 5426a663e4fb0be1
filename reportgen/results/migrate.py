"""Bring the provenance of stored results up to the current record, without retraining.

Results written before the runner recorded ``git_dirty``, ``cpu_capability``, ``threads`` and
``attempts`` are rewritten in place with what their own fields show, and nothing else changes: no
metric, history row, key or config is touched; only ``provenance`` and ``wall_seconds``.

* ``git_commit`` ``"<sha>+dirty"`` becomes the plain SHA with ``git_dirty: true``. A plain SHA gets
  ``git_dirty: false``: the recorder that wrote those results appended ``+dirty`` whenever tracked
  files under ``reportgen/`` had edits (new untracked files were not counted). ``"unknown"`` gets null.
* ``cpu_capability`` is the ISA the device string names (``"cpu (x86_64, AVX512, 1 threads)"``), the
  device itself for a GPU, and ``"unknown"`` where the string predates the ISA being recorded;
  ``threads`` is the device string's thread count (null for a GPU).
* ``attempts``: the recorded run as its last attempt (started at ``created``, which those results
  stamped when the attempt started; its recorded ``wall_seconds``, device and threads). Where the
  per-epoch seconds show that earlier epochs ran in an earlier attempt, one more entry stands before
  it for that attempt (or attempts): epochs whose seconds sum to more than the recorded wall time
  cannot all have run in the attempt it timed, so the last attempt trained the longest run of final
  epochs whose seconds fit in its wall time, and the earlier entry gets the other epochs with the sum
  of their seconds as wall time (set-up before them is not counted) and no start, device or threads.
  Resumes that a commit message documents (:data:`DOCUMENTED`) are split where it says. A resume
  the records do not show cannot be seen. Every migrated attempt carries ``reconstructed: true``.
* ``wall_seconds`` becomes the sum of the attempts' wall times.
* A run reused from another study (``provenance.reused_from``) mirrors its source's migrated fields.

Usage: ``python -m reportgen.results.migrate [--results DIR] [--check]`` (``--check``: exit 1 when a
result still needs migrating, writing nothing).
"""
from __future__ import annotations

import argparse
import copy
import datetime as dt
import sys
from pathlib import Path
from typing import Any

from reportgen.results import store
from reportgen.results.summary import UNKNOWN, parse_device

#: The fields this migration may change; everything else in a result stays as it was.
PROVENANCE_FIELDS = ("git_commit", "git_dirty", "cpu_capability", "threads", "attempts")
CHANGED_TOP_LEVEL = ("wall_seconds", "provenance")

#: Resumes documented where the records alone cannot show them (the recorded wall time already
#: covered every attempt): ``{(study, variant, seed): (epochs of the earlier attempt, evidence)}``.
DOCUMENTED: dict[tuple[str, str, int], tuple[int, str]] = {
    ("architecture_comparison", "resnet-50", 2): (
        1, "commit 4d8433c: resumed from an epoch-1 checkpoint, epochs 2-10 on 2 CPU threads; its wall "
           "time was recorded by code that added the checkpoint's wall time (852d0f6)"),
}

def _plus(iso: str, seconds: float) -> str:
    return (dt.datetime.fromisoformat(iso) + dt.timedelta(seconds=seconds)).isoformat(timespec="seconds")


def reconstruct_attempts(result: dict[str, Any], cpu_capability: str, threads: int | None,
                         documented: dict[tuple[str, str, int], tuple[int, str]] = DOCUMENTED) -> list[dict[str, Any]]:
    """The attempts of a result that recorded only its last one (see the module docstring), each
    marked ``reconstructed``; [] for a result without ``wall_seconds``."""
    wall = result.get("wall_seconds")
    if wall is None:
        return []
    prov = result["provenance"]
    seconds = [h.get("seconds", 0.0) for h in result.get("history") or []]
    epochs: int | None = len(seconds) if "history" in result else None
    earlier_epochs, last_wall = 0, wall
    doc = documented.get((result["study"], result["variant"], result["seed"]))
    if doc is not None:  # the recorded wall time covers every attempt: split it where the record says
        earlier_epochs = doc[0]
        last_wall = wall - sum(seconds[:earlier_epochs])
    elif seconds and wall < sum(seconds):  # the wall time timed only the last attempt
        earlier_epochs = len(seconds)
        while earlier_epochs > 0 and sum(seconds[earlier_epochs - 1:]) <= wall:
            earlier_epochs -= 1
    last = {"started": prov["created"], "ended": _plus(prov["created"], last_wall), "wall_seconds": last_wall,
            "device": prov["device"], "cpu_capability": cpu_capability, "threads": threads,
            "epochs": None if epochs is None else epochs - earlier_epochs, "reconstructed": True}
    if not earlier_epochs:
        return [last]
    before = {"started": None, "ended": None, "wall_seconds": sum(seconds[:earlier_epochs]), "device": None,
              "cpu_capability": UNKNOWN, "threads": None, "epochs": earlier_epochs, "reconstructed": True}
    return [before, last]


def migrate_result(result: dict[str, Any],
                   documented: dict[tuple[str, str, int], tuple[int, str]] = DOCUMENTED) -> dict[str, Any]:
    """A copy of ``result`` (a result dict as :func:`reportgen.results.store.read_json` gives it) with
    its provenance migrated (see the module docstring). Only ``provenance`` and ``wall_seconds``
    differ from the input; a result that already has every field is returned equal to the input."""
    out = copy.deepcopy(result)
    prov = out["provenance"]
    commit = prov["git_commit"]
    if commit.endswith("+dirty"):
        prov["git_commit"], prov["git_dirty"] = commit[: -len("+dirty")], True
    elif "git_dirty" not in prov:
        prov["git_dirty"] = None if commit == UNKNOWN else False
    dev, isa, threads = parse_device(prov["device"])
    if "cpu_capability" not in prov:
        prov["cpu_capability"] = (isa or UNKNOWN) if dev == "cpu" else dev
    if "threads" not in prov:
        prov["threads"] = threads
    if "attempts" not in prov:
        prov["attempts"] = reconstruct_attempts(out, prov["cpu_capability"], prov["threads"], documented)
        if prov["attempts"]:
            out["wall_seconds"] = sum(a["wall_seconds"] for a in prov["attempts"])
    return out


def needs_migration(result: dict[str, Any]) -> bool:
    """Whether :func:`migrate_result` would change ``result``."""
    prov = result.get("provenance", {})
    return prov.get("git_commit", "").endswith("+dirty") or any(f not in prov for f in PROVENANCE_FIELDS)


def _source(results: Path, reused_from: str) -> Path:
    """The result a reused copy names (``results/<study>/<variant>/seed<k>.json``), under ``results``."""
    return results.joinpath(*Path(reused_from).parts[-3:])


def migrate_tree(results: Path, write: bool = True) -> dict[Path, dict[str, Any]]:
    """Migrate every result under ``results`` (``<study>/<variant>/seed<k>.json``): ``{path: migrated
    result}`` of those that changed, written back with :func:`reportgen.results.store.write_json`
    when ``write``. Reused copies take their source's migrated provenance fields and wall time.

    Raises:
        ValueError: a file is not a result (from :func:`reportgen.results.store.read_json`), or a
            reused copy's source is missing.
    """
    before = {p: store.read_json(p) for p in sorted(results.glob("*/*/seed*.json"))}
    after = {p: migrate_result(r) for p, r in before.items()}

    def mirror(path: Path, seen: tuple[Path, ...] = ()) -> dict[str, Any]:
        r = after[path]
        src = r["provenance"].get("reused_from")
        if not src or path in seen:
            return r
        source = _source(results, src)
        if source not in after:
            raise ValueError(f"{path}: reused_from {src} names no result under {results}")
        s = mirror(source, (*seen, path))
        for field in PROVENANCE_FIELDS:
            r["provenance"][field] = copy.deepcopy(s["provenance"][field])
        if "wall_seconds" in s:
            r["wall_seconds"] = s["wall_seconds"]
        return r

    for p in after:
        mirror(p)
    changed = {p: r for p, r in after.items() if r != before[p]}
    if write:
        for p, r in changed.items():
            store.write_json(p, r)
    return changed


def main(argv: list[str] | None = None) -> int:
    """The command line (see the module docstring); returns the exit status."""
    ap = argparse.ArgumentParser(prog="python -m reportgen.results.migrate", description=__doc__.splitlines()[0])
    ap.add_argument("--results", type=Path, default=Path("results"), help="results folder (default: results)")
    ap.add_argument("--check", action="store_true", help="write nothing; exit 1 when a result needs migrating")
    args = ap.parse_args(argv)
    changed = migrate_tree(args.results, write=not args.check)
    if args.check:
        for p in changed:
            print(f"needs migrating: {p}")
        print(f"{len(changed)} result(s) need migrating")
        return 1 if changed else 0
    resumed = {p: r for p, r in changed.items() if len(r["provenance"]["attempts"]) > 1}
    print(f"migrated {len(changed)} result(s); {len(resumed)} with more than one attempt")
    for p, r in resumed.items():
        print(f"  {p}: epochs per attempt {[a['epochs'] for a in r['provenance']['attempts']]}, "
              f"wall_seconds {r['wall_seconds']:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
