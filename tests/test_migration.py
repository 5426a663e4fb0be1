"""The provenance migration of the committed results (``reportgen.results.migrate``): it changes only
provenance fields and ``wall_seconds``, every metric stays identical, and the committed results are
exactly what it makes of the results before it."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from conftest import valid_result
from reportgen.results import migrate, store

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "results"
#: The last commit before the committed results were migrated.
BEFORE = "cef8e82"
ORIGINAL_PROVENANCE = ("torch", "python", "device", "data_md5", "created", "reused_from", "packed_with")


def _before() -> dict[str, dict]:
    """``{path relative to the repository: result}`` of every result file at :data:`BEFORE` that is still
    committed (a result added later, such as a seed added by a sequential design, has nothing before it)."""
    if subprocess.run(["git", "cat-file", "-e", f"{BEFORE}^{{commit}}"], cwd=ROOT, capture_output=True).returncode:
        pytest.skip(f"{BEFORE} is not in this clone (shallow?): nothing to compare with")
    paths = sorted(p.relative_to(ROOT).as_posix() for p in RESULTS.glob("*/*/seed*.json"))
    batch = subprocess.run(["git", "cat-file", "--batch"], cwd=ROOT, capture_output=True, check=True,
                           input="".join(f"{BEFORE}:{p}\n" for p in paths).encode())
    out, i, found = batch.stdout, 0, {}
    for path in paths:
        nl = out.index(b"\n", i)
        header = out[i:nl].split()
        if header[-1] == b"missing":  # added after the migration
            i = nl + 1
            continue
        size = int(header[2])
        found[path] = store._decode(json.loads(out[nl + 1:nl + 1 + size]))
        i = nl + 1 + size + 1
    return found


@pytest.fixture(scope="module")
def before_and_after() -> list[tuple[str, dict, dict]]:
    return [(path, old, store.read_json(ROOT / path)) for path, old in _before().items()]


def _without(result: dict, *fields: str) -> str:
    return json.dumps(store._encode({k: v for k, v in result.items() if k not in fields}), sort_keys=True)


def test_every_number_but_provenance_and_wall_time_is_unchanged(before_and_after):
    assert len(before_and_after) == 294
    for path, old, new in before_and_after:
        assert _without(new, *migrate.CHANGED_TOP_LEVEL) == _without(old, *migrate.CHANGED_TOP_LEVEL), path
        for field in ORIGINAL_PROVENANCE:
            assert new["provenance"].get(field) == old["provenance"].get(field), (path, field)


def test_the_committed_results_are_what_the_migration_makes_of_the_old_ones(before_and_after):
    for path, old, new in before_and_after:
        assert new == migrate.migrate_result(old), path  # reused copies: the same records as their source
        assert not migrate.needs_migration(new), path


def test_every_result_tells_its_provenance(before_and_after):
    for path, old, new in before_and_after:
        prov = new["provenance"]
        assert "+dirty" not in prov["git_commit"] and len(prov["git_commit"]) == 40, path
        assert prov["git_dirty"] is old["provenance"]["git_commit"].endswith("+dirty"), path
        assert prov["cpu_capability"] in ("unknown", "AVX512"), path  # the ISA where the device string named it
        assert prov["cpu_capability"] in prov["device"] or prov["cpu_capability"] == "unknown", path
        assert f"{prov['threads']} threads" in prov["device"], path
        attempts = prov["attempts"]
        assert attempts and new["wall_seconds"] == sum(a["wall_seconds"] for a in attempts), path
        assert attempts[-1]["started"] == prov["created"] and attempts[-1]["threads"] == prov["threads"], path
        if new.get("history"):
            assert sum(a["epochs"] for a in attempts) == len(new["history"]), path
            # the wall time now covers every epoch the run trained
            assert new["wall_seconds"] >= sum(h["seconds"] for h in new["history"]) - 1e-6, path
        store.read_result(ROOT / path)  # and the schema reads it


def test_the_resumed_runs_get_their_earlier_attempt(before_and_after):
    resumed = {path: [a["epochs"] for a in new["provenance"]["attempts"]]
               for path, _, new in before_and_after if len(new["provenance"]["attempts"]) > 1}
    assert len(resumed) == 13
    assert resumed["results/cnn_hyperparameters/sgd-momentum/seed2.json"] == [9, 1]
    assert resumed["results/architecture_comparison/resnet-50/seed2.json"] == [1, 9]
    assert resumed["results/cnn_variants/kernel-5x5/seed1.json"] == [10, 0]  # its last attempt only finished it
    for path, old, new in before_and_after:
        if path in resumed:
            first, last = new["provenance"]["attempts"]
            assert (first["started"], first["device"], first["threads"], first["cpu_capability"]) == \
                   (None, None, None, "unknown")  # not recorded: not guessed
            assert first["wall_seconds"] == sum(h["seconds"] for h in new["history"][:first["epochs"]])


def _result(wall: float, seconds: list[float], commit: str = "a" * 40, device: str = "cpu (x86_64, 1 threads)",
            **extra) -> dict:
    r = valid_result("k", wall_seconds=wall, history=[
        {"epoch": i + 1, "train_loss": 1.0, "train_acc": 0.5, "train_eval_loss": 1.0, "train_eval_acc": 0.5,
         "val_loss": 1.0, "val_acc": 0.5, "lr": 1e-3, "seconds": s} for i, s in enumerate(seconds)], **extra)
    r["provenance"].update(git_commit=commit, device=device)
    return r


def test_a_wall_time_below_its_epochs_splits_into_two_attempts():
    r = _result(25.0, [10.0, 10.0, 10.0, 10.0], commit="b" * 40 + "+dirty")
    m = migrate.migrate_result(r)
    first, last = m["provenance"]["attempts"]
    assert (first["epochs"], first["wall_seconds"]) == (2, 20.0)  # 2 final epochs fit in 25 s, 3 would not
    assert (last["epochs"], last["wall_seconds"], last["threads"]) == (2, 25.0, 1)
    assert last["ended"] == "2026-01-01T00:00:25+00:00" and m["wall_seconds"] == 45.0
    assert m["provenance"]["git_commit"] == "b" * 40 and m["provenance"]["git_dirty"] is True
    assert m["provenance"]["cpu_capability"] == "unknown"
    assert {k: v for k, v in m.items() if k not in migrate.CHANGED_TOP_LEVEL} == \
           {k: v for k, v in r.items() if k not in migrate.CHANGED_TOP_LEVEL}
    assert migrate.migrate_result(m) == m  # idempotent


def test_an_uninterrupted_run_keeps_its_wall_time_and_the_recorded_isa():
    m = migrate.migrate_result(_result(45.0, [10.0, 10.0, 10.0, 10.0], device="cpu (x86_64, AVX512, 2 threads)"))
    (only,) = m["provenance"]["attempts"]
    assert (only["epochs"], only["wall_seconds"], only["threads"], only["cpu_capability"]) == (4, 45.0, 2, "AVX512")
    assert m["wall_seconds"] == 45.0 and m["provenance"]["git_dirty"] is False
    gpu = migrate.migrate_result(_result(45.0, [10.0], device="NVIDIA H200"))
    assert gpu["provenance"]["cpu_capability"] == "NVIDIA H200" and gpu["provenance"]["threads"] is None


def test_a_documented_resume_splits_the_recorded_total():
    r = _result(50.0, [20.0, 10.0, 10.0])
    m = migrate.migrate_result(r, documented={("s", "v", 0): (1, "a note")})
    assert [(a["epochs"], a["wall_seconds"]) for a in m["provenance"]["attempts"]] == [(1, 20.0), (2, 30.0)]
    assert m["wall_seconds"] == 50.0


def test_a_reused_copy_mirrors_its_source(tmp_path: Path):
    source = _result(25.0, [10.0, 10.0, 10.0, 10.0], commit="c" * 40 + "+dirty")
    copy = json.loads(json.dumps(source))
    copy["provenance"]["reused_from"] = "results/s/v/seed0.json"
    copy["wall_seconds"] = 99.0  # a copy that drifted from its source
    store.write_json(store.result_path(tmp_path, "s", "v", 0), source)
    store.write_json(store.result_path(tmp_path, "t", "v", 0), copy)
    changed = migrate.migrate_tree(tmp_path)
    assert len(changed) == 2
    src, cp = (store.read_json(store.result_path(tmp_path, s, "v", 0)) for s in ("s", "t"))
    assert cp["wall_seconds"] == src["wall_seconds"] == 45.0
    assert {k: cp["provenance"][k] for k in migrate.PROVENANCE_FIELDS} == \
           {k: src["provenance"][k] for k in migrate.PROVENANCE_FIELDS}
    assert migrate.main(["--results", str(tmp_path), "--check"]) == 0
