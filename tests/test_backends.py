"""Backends: the same runs give the same results on ``serial``, ``processes`` and a local Ray cluster,
and a worker killed mid-run is replaced and its run resumes to the uninterrupted result."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from reportgen import checkpoint, store
from reportgen.backends import make_backend

REPO = Path(__file__).resolve().parents[1]
DATA = os.environ.get("REPORTGEN_DATA")
pytestmark = pytest.mark.skipif(not DATA or not (Path(DATA) / "MNIST" / "raw").is_dir(),
                                reason="REPORTGEN_DATA is not set to a folder with MNIST/raw/")

RESUMABLE = '''"""Can a run survive its worker?

Run:      reportgen run resumable
Expected: the uninterrupted result.
Cost:     seconds.
"""
from reportgen.spec import MLP, Data, Study, Sweep, Train

STUDY = Study(title="resumable", question="q?", model=MLP(hidden=(32,), dropout=0.2), train=Train(epochs=4),
              data=Data(train_subset=20000, val_size=1000, test_subset=2000), sweep=Sweep(seeds=(5,)))
'''


def _run(results: Path, *args: str, experiments: Path | None = None, wait: bool = True, threads: str | None = "1"):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "RAY_worker_niceness": "0"}
    cmd = [sys.executable, "-m", "reportgen", "--results-dir", str(results)]
    if experiments:
        cmd += ["--experiments", str(experiments)]
    cmd += ["run", "--no-render", *(["--threads", threads] if threads else []), "--data-dir", DATA]
    proc = subprocess.Popen(cmd + list(args), cwd=REPO,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if wait:
        _, err = proc.communicate(timeout=900)
        assert proc.returncode == 0, err
    return proc


def _comparable(result: dict) -> dict:
    # Timings differ from run to run; everything else must be equal bit for bit.
    out = {k: v for k, v in result.items()
           if k not in ("wall_seconds", "provenance", "inference_images_per_s", "peak_mem_mb")}
    out["history"] = [{k: v for k, v in h.items() if k != "seconds"} for h in result.get("history", [])]
    return out


def _all(results: Path) -> dict[str, dict]:
    return {p.relative_to(results).as_posix(): _comparable(r) for p, r in store.iter_results(results)}


@pytest.fixture(scope="module")
def serial(tmp_path_factory) -> dict[str, dict]:
    results = tmp_path_factory.mktemp("serial") / "results"
    _run(results, "--smoke", "mlp_baseline", "dropout_ablation")
    return _all(results)


@pytest.mark.parametrize("backend", ["processes", "ray"])
def test_backends_give_the_serial_results(serial, backend, tmp_path):
    if backend == "ray":
        pytest.importorskip("ray")
    results = tmp_path / "results"
    _run(results, "--smoke", "--backend", backend, "--workers", "2", "mlp_baseline", "dropout_ablation")
    got = _all(results)
    assert len(got) == 5 and got == serial  # bit for bit, including the reused run


def test_without_threads_serial_and_processes_give_the_same_numbers(serial, tmp_path):
    """No ``--threads``: every backend runs a run at the same default thread count, so their numbers
    agree bit for bit (and with the serial fixture's, made with ``--threads 1``)."""
    got = {}
    for backend in ("serial", "processes"):
        results = tmp_path / backend / "results"
        _run(results, "--smoke", "--backend", backend, "--workers", "2", "mlp_baseline", threads=None)
        got[backend] = _all(results)
        assert {r["provenance"]["device"].rsplit(", ", 1)[-1] for _, r in store.iter_results(results)} == {"1 threads)"}
    assert got["serial"] == got["processes"] == {k: v for k, v in serial.items() if k.startswith("mlp_baseline/")}


def test_packed_runs_are_stored_like_runs_trained_alone(serial, tmp_path):
    """``--pack 4``: dropout_ablation's three runs with dropout > 0 share one module structure and
    train as one pack; each stored result equals the serial one within float tolerance (the vmapped
    sums run in another order, see tests/test_multirun.py), keys and files included."""
    from test_multirun import close

    results = tmp_path / "results"
    _run(results, "--smoke", "--pack", "4", "mlp_baseline", "dropout_ablation")
    got = _all(results)
    assert got.keys() == serial.keys()
    for path in got:
        close(got[path], serial[path], path)
    packed = {p.relative_to(results).as_posix(): r["provenance"].get("packed_with")
              for p, r in store.iter_results(results)}
    assert sorted(v for v in packed.values() if v) == [3, 3, 3]
    assert all(r["peak_mem_mb"] > 0 for _, r in store.iter_results(results) if "reused_from" not in r["provenance"])


def _pids(match) -> list[int]:
    """Linux: pids whose command line satisfies ``match`` (read from /proc; no extra dependency)."""
    out = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                cmd = (d / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if match(cmd):
                out.append(int(d.name))
    return out


def _parent(pid: int) -> int | None:
    """Linux: the parent pid of ``pid`` (field 4 of /proc/<pid>/stat, after the parenthesised name)."""
    try:
        return int((Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> dict:
    tmp = tmp_path_factory.mktemp("ref")
    (tmp / "exp").mkdir()
    (tmp / "exp" / "resumable.py").write_text(RESUMABLE)
    _run(tmp / "results", experiments=tmp / "exp")
    return _comparable(store.read_json(tmp / "results" / "resumable" / "default" / "seed5.json"))


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="finding worker processes needs /proc (Linux)")
@pytest.mark.parametrize("backend", ["processes", "ray"])
def test_a_killed_worker_is_replaced_and_the_run_resumes(reference, backend, tmp_path):
    if backend == "ray":
        pytest.importorskip("ray")
    (tmp_path / "exp").mkdir()
    (tmp_path / "exp" / "resumable.py").write_text(RESUMABLE)
    results = tmp_path / "results"
    proc = _run(results, "--backend", backend, "--workers", "1", "--max-retries", "2", experiments=tmp_path / "exp",
                wait=False)
    ckpts = checkpoint.cache_dir(results) / "checkpoints"
    deadline = time.monotonic() + 600
    while not any(ckpts.glob("*.pt")) and time.monotonic() < deadline:  # at least one epoch done
        assert proc.poll() is None, proc.stderr.read()
        time.sleep(0.05)
    if backend == "processes":  # this run's own pool workers only: never another job's on the machine
        victims = [pid for pid in _pids(lambda c: "spawn_main" in c) if _parent(pid) == proc.pid]
    else:
        victims = _pids(lambda c: c.startswith("ray::run_job"))
    assert victims, "no worker process found"
    for pid in victims:
        os.kill(pid, signal.SIGKILL)
    _, err = proc.communicate(timeout=900)
    assert proc.returncode == 0, err
    got = store.read_json(results / "resumable" / "default" / "seed5.json")
    assert got["status"] == "completed" and _comparable(got) == reference
    attempts = got["provenance"]["attempts"]  # the killed one, up to its checkpoint, and the one that finished
    assert len(attempts) >= 2 and sum(a["epochs"] for a in attempts) == 4
    assert got["wall_seconds"] == pytest.approx(sum(a["wall_seconds"] for a in attempts))


def test_unknown_backend_is_named():
    with pytest.raises(ValueError, match="serial, processes, ray"):
        make_backend("slurm")
