"""One-off migration of results/ from runner-version keys to numerics-version keys, without retraining.

Until this migration a run's key hashed the *runner version*: a hash of the bytes of the source files
that compute a run (``reportgen/version.py``). Now it holds the numerics versions of the run's
components (``reportgen/numerics.py``). This script re-keys a result only where the old scheme says it
is up to date: its stored key equals the key the runner-version scheme computes from the sources as
they are in this checkout. So it is meaningful only at the commit that introduced numerics versions,
before any hashed source file changed (a later edit would make every old key mismatch, and the
script would then re-key nothing). Re-keyed results are also brought to result schema 3 (compact
probe arrays, ``reportgen.store.MIGRATIONS``) and record the numerics versions they were keyed with.

    python scripts/migrate_numerics_keys.py [--results-dir results] [--experiments experiments] [--dry-run]

Prints how many results were re-keyed and how many were skipped, with the reason for each skip.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from collections import Counter
from pathlib import Path

from reportgen import store
from reportgen.catalog import load_all
from reportgen.chain import Pending, levels, resolve
from reportgen.expand import IMAGES_ENV, Run, expand, folder_digest, fonts_digest, key_config
from reportgen.fetch import DATASET_MD5
from reportgen.version import runner_version

EVAL_PROBES = ("test_curve", "feature_maps")
PREDICT_PROBES = ("predictions", "custom_digits", "robustness", "sanity")
DIGITS_PROBES = ("custom_digits", "robustness")


def old_key(run: Run) -> str:
    """The key of the runner-version scheme, as ``Run.key`` computed it before numerics versions."""
    c = run.config
    names = [p.name for p in c.probes]
    runner = runner_version(c.model.kind, augmented=c.train.augment is not None, probed=bool(c.probes),
                            eval_probed=any(n in EVAL_PROBES for n in names), range_test=c.train.range_test is not None,
                            predict_probed=any(n in PREDICT_PROBES for n in names),
                            digits_probed=any(n in DIGITS_PROBES for n in names))
    payload = {"config": key_config(c), "seed": run.seed, "data_md5": DATASET_MD5, "runner": runner}
    folders = [p.images_dir() for p in c.probes if p.images_dir()]
    if folders:
        payload["inputs"] = [folder_digest(f) for f in folders]
        payload["fonts"] = fonts_digest()
    blob = json.dumps(payload, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(blob.encode()).hexdigest()


def rekeyed(data: dict, run: Run) -> dict:
    """``data`` (a stored result) migrated to the current schema, with the new key and the numerics
    versions inserted after ``runner_version`` (every other field, and its order, kept)."""
    version = data["schema_version"]
    while version < store.SCHEMA_VERSION:
        data = store.MIGRATIONS[version](data)
        version = data["schema_version"]
    out = {}
    for name, value in data.items():
        out[name] = run.key if name == "key" else value
        if name == "runner_version":
            out["numerics"] = run.numerics
    return out


def migrate(results: Path, experiments: Path, dry_run: bool) -> dict[str, Counter]:
    specs, errors = load_all(experiments)
    if errors:
        raise SystemExit(f"invalid specs: {errors}")
    done: Counter = Counter()
    skipped: Counter = Counter()
    seen: set[Path] = set()
    for stage in levels(list(specs.values())):
        for spec in stage:
            try:
                spec = resolve(spec, results)
            except Pending as waiting:
                for path in sorted((results / spec.name).glob("**/seed*.json")):
                    skipped[f"its study waits for {', '.join(waiting.studies)}"] += 1
                    seen.add(path)
                continue
            for run in expand(spec.study, spec.name, str(spec.path)):
                path = store.result_path(results, run.study, run.variant, run.seed)
                if not path.exists():
                    continue
                seen.add(path)
                data = store.read_json(path)
                if data["status"] not in store.FINAL:
                    skipped[f"status {data['status']} (not a final result)"] += 1
                elif data["key"] != old_key(run):
                    skipped["stale under the runner-version scheme (its key is not today's)"] += 1
                else:
                    new = rekeyed(data, run)
                    if not dry_run:
                        store.write_json(path, new)
                        store.read_result(path)  # validates against the result schema
                    done["re-keyed"] += 1
    for path in sorted(results.glob("**/seed*.json")):
        if path not in seen:
            skipped["no run of the current specs has this path"] += 1
    return {"done": done, "skipped": skipped}


def size(results: Path) -> tuple[int, int, int]:
    """(total bytes, files, files over 1 MB) of the result files."""
    files = list(results.glob("**/seed*.json"))
    sizes = [f.stat().st_size for f in files]
    return sum(sizes), len(files), sum(s > 1_000_000 for s in sizes)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--results-dir", default="results")
    ap.add_argument("--experiments", default="experiments")
    ap.add_argument("--dry-run", action="store_true", help="count only, write nothing")
    args = ap.parse_args()
    os.environ.pop(IMAGES_ENV, None)
    results = Path(args.results_dir)
    before = size(results)
    out = migrate(results, Path(args.experiments), args.dry_run)
    after = size(results)
    print(f"re-keyed {out['done']['re-keyed']}, skipped {sum(out['skipped'].values())}")
    for why, n in out["skipped"].most_common():
        print(f"  skipped {n}: {why}")
    print(f"result files: {before[1]}, {before[0] / 1e6:.1f} MB ({before[2]} over 1 MB) → "
          f"{after[0] / 1e6:.1f} MB ({after[2]} over 1 MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
