"""Provenance that tells the truth: every attempt of a resumed run, the time a result was written,
the package's commit with a dirty flag, and one default thread count for every backend."""
from __future__ import annotations

import dataclasses
import datetime as dt
import subprocess
from pathlib import Path

import pytest
import torch

from reportgen.run import execute, jobs, provenance
from reportgen.data import fetch
from reportgen.run.backends import make_backend
from reportgen.spec.catalog import load_spec
from reportgen.run.jobs import DEFAULT_THREADS, Job, job_of
from reportgen.run.plan import plan
from reportgen.run.worker import run_job
from reportgen.results.schema import Result

SPEC = '''"""Provenance?\n\nRun: x\nExpected: y\nCost: z\n"""
from reportgen.spec import MLP, Data, Study, Sweep, Train
STUDY = Study(title="p", question="q?", model=MLP(hidden=(16,)), train=Train(epochs=3, batch_size=64),
              data=Data(val_size=100), sweep=Sweep(seeds=(0,)))
'''


@pytest.fixture
def planned(tmp_path, tiny_mnist, monkeypatch):
    """One planned run of a tiny study whose worker finds ``tiny_mnist`` already loaded."""
    (tmp_path / "exp").mkdir()
    (tmp_path / "exp" / "p.py").write_text(SPEC, encoding="utf-8")
    (p,) = plan([load_spec(tmp_path / "exp" / "p.py")], tmp_path / "results")
    monkeypatch.setitem(jobs._DATA, (str(tmp_path / "data"), "cpu"), tiny_mnist)
    return p


def job(p, tmp_path) -> Job:
    return job_of(p, tmp_path / "data", "cpu", None)


def test_a_resumed_run_records_every_attempt_and_sums_their_wall_time(planned, tmp_path):
    def kill_after_first_epoch(row: dict) -> None:
        raise KeyboardInterrupt("killed")  # after the epoch's checkpoint was written

    with pytest.raises(KeyboardInterrupt):
        run_job(job(planned, tmp_path), on_epoch=kill_after_first_epoch)
    result = run_job(job(planned, tmp_path))
    attempts = result["provenance"]["attempts"]
    assert [a["epochs"] for a in attempts] == [1, 2] and len(result["history"]) == 3
    assert result["wall_seconds"] == pytest.approx(sum(a["wall_seconds"] for a in attempts))
    assert all(a["threads"] == DEFAULT_THREADS and "threads)" in a["device"] for a in attempts)
    assert attempts[0]["started"] <= attempts[1]["started"]
    assert [h["train_loss"] for h in result["history"]] == [h["train_loss"] for h in run_job(job(planned, tmp_path))["history"]]


def test_an_uninterrupted_run_has_one_attempt(planned, tmp_path):
    result = run_job(job(planned, tmp_path))
    (only,) = result["provenance"]["attempts"]
    assert only["epochs"] == 3 and only["wall_seconds"] == result["wall_seconds"]
    assert isinstance(result["provenance"]["git_dirty"], (bool, type(None)))


def test_created_is_when_the_result_was_written(planned, tmp_path, monkeypatch):
    """A worker's provenance is taken when the run starts; the driver stamps ``created`` on writing."""
    started = "2000-01-01T00:00:00+00:00"

    def finished_run(job, on_epoch=None):
        out = run_job(job)
        out["provenance"]["created"] = started
        return out

    monkeypatch.setattr("reportgen.run.backends.run_job", finished_run)
    monkeypatch.setattr(fetch, "ensure", lambda root: "synthetic")
    before = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    execute.execute([planned], tmp_path / "data", device="cpu", quiet=True)
    from reportgen.results.store import read_result

    stored = read_result(planned.path)
    Result.model_validate(stored)
    assert dt.datetime.fromisoformat(stored["provenance"]["created"]) >= before
    assert stored["numerics"] == planned.run.numerics


def test_every_backend_gets_the_same_default_threads(planned, tmp_path):
    """No ``--threads``: every job carries DEFAULT_THREADS, and no backend replaces it."""
    j = job(planned, tmp_path)
    assert j.threads == DEFAULT_THREADS == 1
    seen = []
    make_backend("serial").run([j], lambda job, result: seen.append(result["provenance"]["attempts"][0]["threads"]),
                               lambda job: None, _Quiet())
    assert seen == [DEFAULT_THREADS] and torch.get_num_threads() == DEFAULT_THREADS


class _Quiet:
    def run_started(self, *a) -> None: ...
    def epoch(self, *a) -> None: ...


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


def test_git_state_names_the_commit_and_whether_the_package_had_changes(tmp_path):
    repo = tmp_path / "repo"
    pkg = repo / "pkg"
    pkg.mkdir(parents=True)
    (pkg / "a.py").write_text("x = 1\n")
    (repo / "other.txt").write_text("outside the package\n")
    git(repo, "init", "-q")
    git(repo, "add", ".")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "init")
    sha = git(repo, "rev-parse", "HEAD")
    assert provenance.git_state(pkg) == (sha, False)
    (repo / "other.txt").write_text("edited outside the package\n")
    assert provenance.git_state(pkg) == (sha, False)
    (pkg / "new.py").write_text("y = 2\n")  # an untracked module counts
    assert provenance.git_state(pkg) == (sha, True)
    (pkg / "new.py").unlink()
    (pkg / "a.py").write_text("x = 2\n")
    assert provenance.git_state(pkg) == (sha, True)
    outside = tmp_path / "plain"
    outside.mkdir()
    assert provenance.git_state(outside) == ("unknown", None)


def test_a_checkpoint_from_before_attempts_counts_as_one_attempt_of_unknown_device():
    assert provenance.earlier_attempts({"wall_seconds": 12.5}) == [
        {"wall_seconds": 12.5, "cpu_capability": "unknown", "epochs": None}]
    assert provenance.earlier_attempts(None) == []
    # a checkpoint from before wall times were kept: its epochs' seconds, marked reconstructed
    (old,) = provenance.earlier_attempts({"history": [{"seconds": 3.0}, {"seconds": 4.5}]})
    assert (old["wall_seconds"], old["epochs"], old["reconstructed"], old["cpu_capability"]) == (7.5, 2, True, "unknown")


def test_a_smoke_run_times_inference_on_fewer_images_and_keeps_its_key(tmp_path, monkeypatch):
    """``--smoke`` runs time throughput on ``SMOKE_TIMING_IMAGES`` test images, other runs on all of
    them; the flag travels from the expanded run to its job and changes no key."""
    from reportgen.spec.expand import SMOKE_TIMING_IMAGES

    (tmp_path / "exp").mkdir()
    (tmp_path / "exp" / "p.py").write_text(SPEC, encoding="utf-8")
    spec = load_spec(tmp_path / "exp" / "p.py")
    (full,), (smoke,) = plan([spec], tmp_path / "results"), plan([spec], tmp_path / "results", smoke=True)
    assert (full.run.smoke, smoke.run.smoke) == (False, True)
    assert (job(full, tmp_path).smoke, job(smoke, tmp_path).smoke) == (False, True)
    assert smoke.key == dataclasses.replace(smoke.run, smoke=False).key  # the flag is not in the key
    timed = []
    monkeypatch.setattr(jobs, "measure", lambda model, x: timed.append(len(x)) or {})
    x_test = torch.zeros(SMOKE_TIMING_IMAGES + 100, 1, 28, 28)
    for p in (full, smoke):
        jobs.finish_run(job(p, tmp_path), None, {}, x_test)
    assert timed == [SMOKE_TIMING_IMAGES + 100, SMOKE_TIMING_IMAGES]
