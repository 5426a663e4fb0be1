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

from reportgen.run import checkpoint
from reportgen.results import store
from reportgen.run.backends import make_backend

REPO = Path(__file__).resolve().parents[1]
DATA = os.environ.get("REPORTGEN_DATA")
# One xdist worker runs this module (``--dist loadgroup``): its module fixtures are computed once, and the
# killed-Ray-worker test, which kills every ``ray::run_job`` process, never meets another test's Ray run.
pytestmark = [pytest.mark.skipif(not DATA or not (Path(DATA) / "MNIST" / "raw").is_dir(),
                                 reason="REPORTGEN_DATA is not set to a folder with MNIST/raw/"),
              pytest.mark.xdist_group("backends"), pytest.mark.slow]

RESUMABLE = '''"""Can a run survive its worker?

Run:      reportgen run resumable
Expected: the uninterrupted result.
Cost:     seconds.
"""
from reportgen.spec import MLP, Data, Study, Sweep, Train

STUDY = Study(title="resumable", question="q?", model=MLP(hidden=(32,), dropout=0.2), train=Train(epochs=4),
              data=Data(train_subset=10000, val_size=1000, test_subset=2000), sweep=Sweep(seeds=(5,)))
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
    """The smoke runs of two studies on the serial backend at its default thread count (no ``--threads``);
    the other backends' runs (``--threads 1`` or none) must give these numbers bit for bit."""
    results = tmp_path_factory.mktemp("serial") / "results"
    _run(results, "--smoke", "mlp_baseline", "dropout_ablation", threads=None)
    assert {r["provenance"]["device"].rsplit(", ", 1)[-1] for _, r in store.iter_results(results)} == {"1 threads)"}
    return _all(results)


@pytest.mark.parametrize("backend, threads", [pytest.param("processes", None, id="processes"),
                                              pytest.param("ray", "1", id="ray")])
def test_backends_give_the_serial_results(serial, backend, threads, tmp_path):
    """The same runs on the processes backend without ``--threads`` (every backend's default is one
    thread per run, as in the ``serial`` fixture, also run without it) and on Ray with ``--threads 1``:
    both give the serial numbers bit for bit, including the run dropout_ablation reuses."""
    if backend == "ray":
        pytest.importorskip("ray")
    results = tmp_path / "results"
    _run(results, "--smoke", "--backend", backend, "--workers", "2", "mlp_baseline", "dropout_ablation",
         threads=threads)
    assert {r["provenance"]["device"].rsplit(", ", 1)[-1] for _, r in store.iter_results(results)} == {"1 threads)"}
    got = _all(results)
    assert len(got) == 5 and got == serial


#: What training computes; the rest of a result (header, config, model description) does not depend on it.
TRAINED = ("status", "reason", "history", "best_epoch", "stopped_epoch", "test", "test_best_epoch")


def _layout(x):
    """The nesting of a result: dict keys all the way down, lists of dicts element by element (not
    the values, nor the length of a list of numbers: those are training's)."""
    if isinstance(x, dict):
        return {k: _layout(v) for k, v in x.items()}
    if isinstance(x, list) and x and all(isinstance(v, dict) for v in x):
        return [_layout(v) for v in x]
    return None


def test_packed_runs_are_stored_like_runs_trained_alone(serial, real_mnist, tmp_path):
    """``--pack 4``: dropout_ablation's three runs with dropout > 0 share one module structure and
    train as one pack. Each stored result is laid out as the serial one (files, keys, header, config,
    model description); its trained numbers are those of ``train_packed`` on the same pack in this
    process, bit for bit (same code, kernels and threads), so each run's own result reached its own
    file; the runs that do not pack are the serial results bit for bit.

    That packed numbers equal the runs trained alone is tested in tests/test_multirun.py (in float64,
    and for one float32 step), not here: after this smoke run's 63 float32 Adam steps on real MNIST
    they differ as much as the same run alone does on other kernels. Measured (``bench/packing_drift.py
    mnist``; 30 runs, seeds 0-9 × dropout 0.1/0.3/0.5): a test image's confidence differs by ≤ 1.1e-6 on
    28 runs, packed vs alone and alone on other kernels (``ATEN_CPU_CAPABILITY=default MKL_CBWR=
    COMPATIBLE ONEDNN_MAX_CPU_ISA=SSE41``) vs AVX2 alike; on the other two, packed vs alone by 1.9e-5
    (a ReLU pre-activation within rounding of 0, |z| ≈ 2e-7 at step 28, passed a sample's gradient in
    one summation order and not in the other) and by 1.1e-2 (such a flip at step 8), and the run alone
    on the other kernels parts from AVX2 by the same 1.1e-2. A float32 tolerance wide enough for that
    on every host would no longer tell a run's result from its neighbour's."""
    from test_multirun import close

    from reportgen.run.multirun import train_packed
    from reportgen.spec import RunConfig

    results = tmp_path / "results"
    _run(results, "--smoke", "--pack", "4", "mlp_baseline", "dropout_ablation")
    got = _all(results)
    assert got.keys() == serial.keys()
    stored = {p.relative_to(results).as_posix(): r for p, r in store.iter_results(results)}
    members = sorted((k for k, r in stored.items() if r["provenance"].get("packed_with")),
                     key=lambda k: stored[k]["config"]["model"]["dropout"])
    assert [stored[k]["provenance"]["packed_with"] for k in members] == [3, 3, 3]
    for path in got:
        if path in members:
            assert _layout(got[path]) == _layout(serial[path]), path
            untrained = lambda r: {k: v for k, v in r.items() if k not in TRAINED}  # noqa: E731
            assert untrained(got[path]) == untrained(serial[path]), path
        else:
            assert got[path] == serial[path], path
    outs = train_packed([RunConfig.model_validate(stored[k]["config"]) for k in members],
                        [stored[k]["seed"] for k in members], real_mnist)
    for path, out in zip(members, outs):
        out["history"] = [{k: v for k, v in h.items() if k != "seconds"} for h in out["history"]]
        close({k: got[path][k] for k in TRAINED}, {k: out[k] for k in TRAINED}, path, rel=0.0, conf_step=0.0)
    assert all(r["peak_mem_mb"] > 0 for r in stored.values() if "reused_from" not in r["provenance"])


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
