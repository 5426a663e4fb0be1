"""One study run by two processes at once: every run trains once, a process waits for the runs the
other one trains (naming it) and uses their results, and a lock whose holder died is taken over."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from reportgen.results import store
from reportgen.run import checkpoint

REPO = Path(__file__).resolve().parents[1]
DATA = os.environ.get("REPORTGEN_DATA")
needs_mnist = pytest.mark.skipif(not DATA or not (Path(DATA) / "MNIST" / "raw").is_dir(),
                                 reason="REPORTGEN_DATA is not set to a folder with MNIST/raw/")

TINY = '''"""Two processes, one study.

Run:      reportgen run tiny
Expected: every run trains once.
Cost:     seconds.
"""
from reportgen.spec import MLP, Data, Study, Sweep, Train

STUDY = Study(title="tiny", question="q?", model=MLP(hidden=(32,)), train=Train(epochs={epochs}, batch_size=64),
              data=Data(train_subset=6000, val_size=1000, test_subset=1000), sweep=Sweep(seeds={seeds}))
'''

#: A process that takes one run's lock, says so and sleeps (killed by the test).
HOLDER = """
import sys, time
from pathlib import Path
from reportgen.run.checkpoint import RunLock
lock = RunLock(Path(sys.argv[1]), sys.argv[2])
lock.acquire()
print("held", flush=True)
time.sleep(600)
"""


def _holder(results: Path, key: str) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(results), key], cwd=REPO, stdout=subprocess.PIPE,
                            text=True)
    assert proc.stdout.readline().strip() == "held"
    return proc


def _reportgen(tmp: Path, log: Path, *args: str) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "COLUMNS": "400"}
    return subprocess.Popen([sys.executable, "-m", "reportgen", "--experiments", str(tmp / "exp"),
                             "--results-dir", str(tmp / "results"), *args, "--data-dir", DATA, "--quiet"],
                            cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=log.open("w"), text=True)


def _spec(tmp: Path, seeds: tuple[int, ...], epochs: int):
    from reportgen.spec.catalog import load_all

    (tmp / "exp").mkdir(exist_ok=True)
    (tmp / "exp" / "tiny.py").write_text(TINY.format(seeds=seeds, epochs=epochs))
    specs, errors = load_all(tmp / "exp")
    assert not errors
    return specs["tiny"]


def _counts(text: str) -> dict[str, int]:
    m = re.search(r"trained (\d+), cached (\d+), reused (\d+), (?:trained by another process (\d+), )?failed (\d+)",
                  " ".join(text.split()))
    assert m, text
    return dict(zip(("trained", "cached", "reused", "elsewhere", "failed"), (int(x or 0) for x in m.groups())))


def test_a_held_lock_names_its_holder_and_is_taken_over_when_the_holder_dies(tmp_path):
    results = tmp_path / "results"
    proc = _holder(results, "k" * 64)
    try:
        with pytest.raises(checkpoint.Busy, match=f"another process \\(pid {proc.pid} on ") as busy:
            checkpoint.RunLock(results, "k" * 64).acquire()
        assert busy.value.holder.pid == proc.pid and busy.value.holder.alive() is True
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    lock = checkpoint.RunLock(results, "k" * 64)
    left = lock.acquire(timeout_s=10)  # the operating system released the dead holder's lock
    assert left is not None and left.pid == proc.pid and left.alive() is False
    assert lock.holder().pid == os.getpid()
    lock.release()
    again = checkpoint.RunLock(results, "k" * 64)
    assert again.acquire() is None  # released cleanly: no holder left behind
    again.release()


def test_waiting_for_a_held_lock_returns_when_it_is_released(tmp_path):
    results = tmp_path / "results"
    first = checkpoint.RunLock(results, "k" * 64)
    first.acquire()
    second = checkpoint.RunLock(results, "k" * 64)
    with pytest.raises(checkpoint.Busy):
        second.acquire(timeout_s=0.3, poll_s=0.05)
    first.release()
    assert second.acquire(timeout_s=5, poll_s=0.05) is None and second.held
    second.release()


@needs_mnist
@pytest.mark.slow
def test_two_processes_on_one_study_train_each_run_once_and_both_end_complete(tmp_path):
    """The issue's case: one 4-seed study started twice at once. Each run is trained by exactly one
    of the two processes; the other waits for it (naming the process) and uses its result, so both
    render the whole study."""
    spec = _spec(tmp_path, (0, 1, 2, 3), epochs=2)
    logs = [tmp_path / "a.log", tmp_path / "b.log"]
    procs = [_reportgen(tmp_path, logs[i], "--docs-dir", str(tmp_path / f"docs{i}"), "run", "tiny") for i in (0, 1)]
    for p in procs:
        p.wait(timeout=600)
    texts = [log.read_text() for log in logs]
    assert [p.returncode for p in procs] == [0, 0], texts
    counts = [_counts(t) for t in texts]
    assert counts[0]["trained"] + counts[1]["trained"] == 4, texts  # every run trained once
    for mine, other, text, proc in zip(counts, counts[::-1], texts, procs[::-1]):
        assert mine["trained"] + mine["elsewhere"] + mine["cached"] == 4 and mine["failed"] == 0, text
        if mine["elsewhere"]:  # it waited for the other process, and said which
            assert f"another process is training it (pid {proc.pid} on " in " ".join(text.split()), text
    assert counts[0]["elsewhere"] + counts[1]["elsewhere"] >= 1, texts  # the two overlapped
    for seed in range(4):
        result = store.read_result(store.result_path(tmp_path / "results", "tiny", "default", seed))
        assert result["status"] == "completed" and len(result["provenance"]["attempts"]) == 1
    for i in (0, 1):  # each process rendered the whole study
        page = (tmp_path / f"docs{i}" / "studies" / "tiny.md").read_text()
        assert "Incomplete results" not in page, page


@needs_mnist
@pytest.mark.slow
def test_a_run_whose_holder_dies_is_trained_by_the_process_waiting_for_it(tmp_path):
    from reportgen.run.plan import plan

    spec = _spec(tmp_path, (0,), epochs=1)
    key = plan([spec], tmp_path / "results")[0].key
    holder = _holder(tmp_path / "results", key)
    log = tmp_path / "run.log"
    proc = _reportgen(tmp_path, log, "run", "tiny", "--no-render")
    try:
        deadline = time.monotonic() + 300
        while "waiting for tiny/default/seed0" not in log.read_text():
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        assert proc.poll() is None
        assert not store.result_path(tmp_path / "results", "tiny", "default", 0).exists()
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    proc.wait(timeout=300)
    text = " ".join(log.read_text().split())
    assert proc.returncode == 0, text
    assert f"another process is training it (pid {holder.pid} on " in text
    assert f"took over its lock, left by pid {holder.pid} on " in text and "(no longer running)" in text
    assert _counts(text)["trained"] == 1
    assert store.read_result(store.result_path(tmp_path / "results", "tiny", "default", 0))["status"] == "completed"


@needs_mnist
@pytest.mark.slow
def test_force_retrains_a_stored_run_rather_than_taking_it_for_another_process_result(tmp_path):
    import io

    from rich.console import Console

    from reportgen.run.execute import execute
    from reportgen.run.plan import plan

    spec = _spec(tmp_path, (0,), epochs=1)
    results, quiet = tmp_path / "results", dict(device="cpu", quiet=True, console=Console(file=io.StringIO()))
    assert execute(plan([spec], results), Path(DATA), **quiet).trained == 1
    again = execute(plan([spec], results, force=True), Path(DATA), **quiet)
    assert again.trained == 1 and again.elsewhere == []
