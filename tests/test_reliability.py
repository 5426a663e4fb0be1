"""Fault injection: killed runs resume bit for bit, failures stay contained, hostile strings stay inert,
damaged result files never break the site, and a full or read-only disk gives a clear error."""
from __future__ import annotations

import errno
import html.parser
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from reportgen.run import checkpoint
from reportgen.results import store

REPO = Path(__file__).resolve().parents[1]
DATA = os.environ.get("REPORTGEN_DATA")
#: The tests of the ``suite`` fixture run on one xdist worker (``--dist loadgroup``): it is built once.
on_suite = pytest.mark.xdist_group("reliability-suite")
needs_mnist = pytest.mark.skipif(not DATA or not (Path(DATA) / "MNIST" / "raw").is_dir(),
                                 reason="REPORTGEN_DATA is not set to a folder with MNIST/raw/")

RESUMABLE = '''"""Can a killed run resume?

Run:      reportgen run resumable
Expected: the same numbers as an uninterrupted run.
Cost:     seconds.
"""
from reportgen.spec import MLP, Data, Optim, ProbeSpec, Study, Sweep, Train

STUDY = Study(title="resumable", question="q?", model=MLP(hidden=(32,), dropout=0.2), optim=Optim(name="adam"),
              train=Train(epochs=4, batch_size=32, scheduler={"name": "step", "step_size": 1, "gamma": 0.5}),
              data=Data(train_subset=20000, val_size=1000, test_subset=2000),
              probes=(ProbeSpec(name="weight_norms"),), sweep=Sweep(seeds=(3,)))
'''


def _cli(tmp: Path, *args: str, **kw) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "DISABLE_MKDOCS_2_WARNING": "true"}
    return subprocess.Popen([sys.executable, "-m", "reportgen", "--experiments", str(tmp / "exp"),
                             "--results-dir", str(tmp / "results"), "--docs-dir", str(tmp / "docs"), *args],
                            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


def _comparable(result: dict) -> dict:
    """A result without what legitimately differs between two runs of the same key: timings."""
    # Timings differ from run to run; everything else must be equal bit for bit.
    out = {k: v for k, v in result.items() if k not in ("wall_seconds", "provenance", "inference_images_per_s", "peak_mem_mb")}
    out["history"] = [{k: v for k, v in h.items() if k != "seconds"} for h in result["history"]]
    return out


def _kill_after(proc: subprocess.Popen, ckpt: Path, epochs: int | None, seconds: float | None) -> None:
    """SIGKILL ``proc`` once its checkpoint holds ``epochs`` epochs, or after ``seconds``."""
    import torch

    start = time.monotonic()
    while proc.poll() is None:
        if seconds is not None and time.monotonic() - start >= seconds:
            break
        if epochs is not None and ckpt.exists():
            try:
                if len(torch.load(ckpt, weights_only=True)["history"]) >= epochs:
                    break
            except Exception:  # noqa: BLE001 - replaced while reading: look again
                pass
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()


@needs_mnist
@pytest.mark.slow
def test_sigkill_at_several_points_then_rerun_gives_the_uninterrupted_result(tmp_path):
    """One run killed at three points in a row (during start-up, after epoch 1, and, resumed, after
    epoch 2), each kill followed by a rerun that resumes where the last one stopped; the last rerun
    finishes and stores the uninterrupted result."""
    import torch

    reference = tmp_path / "reference"
    (reference / "exp").mkdir(parents=True)
    (reference / "exp" / "resumable.py").write_text(RESUMABLE)
    out, err = _cli(reference, "run", "--no-render", "--data-dir", DATA).communicate(timeout=600)
    want = store.read_json(next((reference / "results").glob("**/seed3.json")))
    assert want["status"] == "completed", err

    case = tmp_path / "killed"
    (case / "exp").mkdir(parents=True)
    (case / "exp" / "resumable.py").write_text(RESUMABLE)
    ckpt = checkpoint.checkpoint_path(case / "results", want["key"])
    for name, epochs, seconds in (("during_startup", None, 1.0), ("after_epoch_1", 1, None), ("after_epoch_2", 2, None)):
        _kill_after(_cli(case, "run", "--no-render", "--data-dir", DATA), ckpt, epochs, seconds)
        if epochs:
            assert len(torch.load(ckpt, weights_only=True)["history"]) >= epochs, name  # killed mid-run, checkpoint kept
        assert not (case / "results" / "resumable" / "default" / "seed3.json").exists(), name
    rerun = _cli(case, "run", "--no-render", "--data-dir", DATA)
    _, err = rerun.communicate(timeout=600)
    assert rerun.returncode == 0, err
    got = store.read_json(case / "results" / "resumable" / "default" / "seed3.json")
    assert _comparable(got) == _comparable(want)
    # the killed attempts' time counts: the wall time covers every epoch in the history
    assert got["wall_seconds"] >= sum(h["seconds"] for h in got["history"])
    attempts = got["provenance"]["attempts"]  # each attempt killed after a checkpoint, then the one that finished
    assert len(attempts) >= 2 and sum(a["epochs"] for a in attempts) == 4, attempts
    assert not ckpt.exists()  # removed once the result is stored
    assert not list(case.glob("**/.*.tmp")), "temporary files left behind"


@needs_mnist
@pytest.mark.slow
def test_sigterm_stops_cleanly_as_interrupted(tmp_path):
    (tmp_path / "exp").mkdir()
    (tmp_path / "exp" / "resumable.py").write_text(RESUMABLE)
    proc = _cli(tmp_path, "run", "--no-render", "--data-dir", DATA)
    ckpt_dir = tmp_path / ".cache" / "checkpoints"
    deadline = time.monotonic() + 300
    while not any(ckpt_dir.glob("*.pt")) and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=120)
    assert proc.returncode != 0
    result = json.loads((tmp_path / "results" / "resumable" / "default" / "seed3.json").read_text())
    assert result["status"] == "interrupted" and "SIGTERM" in result["reason"]


@needs_mnist
@pytest.mark.slow
def test_sigterm_stops_the_processes_backend_and_its_workers_at_once(tmp_path):
    """A scheduler's SIGTERM reaches the driver alone. Its workers neither see it nor give up the run
    already queued to each of them, so without stopping them the driver waits for whole runs (here
    minutes each: 400 epochs) before it exits; stopped, it exits in seconds and leaves no worker."""
    (tmp_path / "exp").mkdir()
    (tmp_path / "exp" / "resumable.py").write_text(
        RESUMABLE.replace("epochs=4", "epochs=400").replace("seeds=(3,)", "seeds=(0, 1, 2, 3)")
        .replace("train_subset=20000", "train_subset=4000"))
    proc = _cli(tmp_path, "run", "--no-render", "--data-dir", DATA, "--backend", "processes", "--workers", "2",
                "--threads", "1", start_new_session=True)
    ckpt_dir = tmp_path / ".cache" / "checkpoints"
    deadline = time.monotonic() + 300
    while len(list(ckpt_dir.glob("*.pt"))) < 2 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert proc.poll() is None, proc.communicate()[1]
    proc.send_signal(signal.SIGTERM)
    try:
        proc.communicate(timeout=60)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # whatever is left of the group, so a failure leaves nothing running
    assert proc.returncode != 0
    statuses = [json.loads(p.read_text())["status"] for p in (tmp_path / "results").glob("**/seed*.json")]
    assert statuses and set(statuses) == {"interrupted"}


GOOD = '''"""<script>alert('doc')</script>?

Run:      reportgen run good
Expected: {{ 7*7 }}
Cost:     seconds.
"""
from reportgen.spec import MLP, Expect, Study, Sweep, Train

STUDY = Study(
    title="<script>alert('title')</script> {{ 7*7 }} | [x](javascript:alert(1))",
    question="<img src=x onerror=alert('q')> | a | b [click](javascript:alert(2)) {% raw %}",
    model=MLP(hidden=(16,)), train=Train(epochs=1),
    sweep=Sweep(variants={"plain": {}, "wide": {"model.hidden": (32,)}}, seeds=(0,)),
    expect=(Expect("test_accuracy", highest="wide", source="</td><script>alert('src')</script><a href='javascript:x'>"),
            Expect("<b onmouseover=alert(4)>", highest="plain")),
)
'''
FAILING = '''"""Does a CNN whose feature map vanishes fail cleanly?

Run:      reportgen run failing
Expected: the run fails with a reason; the suite goes on.
Cost:     seconds.
"""
from reportgen.spec import CNN, Study, Train

STUDY = Study(title="failing", question="q?", model=CNN(channels=(4, 4, 4, 4), kernel_size=7, padding="valid"),
              train=Train(epochs=1))
'''
INVALID = 'from reportgen.spec import MLP, Study\nSTUDY = Study(title="t", question="q", model=MLP(dropout=1.5))\n'


class _Tags(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.scripts, self.handlers, self.js_links, self.in_script = [], [], [], False

    def handle_starttag(self, tag, attrs):
        self.in_script = tag == "script"
        for k, v in attrs:
            if k.startswith("on"):
                self.handlers.append((tag, k, v))
            if k in ("href", "src") and v and v.strip().lower().startswith("javascript:"):
                self.js_links.append((tag, v))

    def handle_data(self, data):
        if self.in_script and "alert(" in data:
            self.scripts.append(data)

    def handle_endtag(self, tag):
        self.in_script = False


@pytest.fixture(scope="module")
def suite(tmp_path_factory):
    """A suite of a good study with hostile strings, a study whose run fails, and an invalid spec, run
    end to end (smoke profile), plus damaged result files, then rendered and built."""
    if not DATA or not (Path(DATA) / "MNIST" / "raw").is_dir():
        pytest.skip("REPORTGEN_DATA is not set to a folder with MNIST/raw/")
    tmp = tmp_path_factory.mktemp("suite")
    (tmp / "exp").mkdir()
    for name, text in (("good", GOOD), ("failing", FAILING), ("broken", INVALID)):
        (tmp / "exp" / f"{name}.py").write_text(text)
    proc = _cli(tmp, "run", "--smoke", "--data-dir", DATA)
    out, err = proc.communicate(timeout=600)
    results = tmp / "results"
    damaged = {"truncated": '{"key": "abc", "status": "compl', "garbage": "\x00\x01 not json",
               "newer": json.dumps({"schema_version": 99, "key": "k", "status": "completed"}),
               "wrong": json.dumps({"schema_version": 2, "key": "k", "status": "completed", "history": "x"})}
    for name, text in damaged.items():
        path = results / "good" / name / "seed0.json"
        path.parent.mkdir(parents=True)
        path.write_text(text)
    (tmp / "exp" / "broken.py").unlink()  # the invalid spec is run's test; render sees damaged results only
    render = _cli(tmp, "render", "--smoke", "--data-dir", DATA)
    _, render_err = render.communicate(timeout=600)
    # Paths in an inherited config resolve against the child's folder: name the theme overrides and the
    # build hook by their place in the checkout.
    (tmp / "mkdocs.yml").write_text(f"INHERIT: {REPO / 'mkdocs.yml'}\ndocs_dir: docs\nsite_dir: site\n"
                                    f"theme:\n  name: material\n  custom_dir: {REPO / 'overrides'}\n"
                                    f"hooks:\n  - {REPO / 'reportgen' / 'site' / 'hooks.py'}\n")
    build = subprocess.run([sys.executable, "-m", "mkdocs", "build", "-f", str(tmp / "mkdocs.yml")], capture_output=True,
                           text=True, env={**os.environ, "DISABLE_MKDOCS_2_WARNING": "true"})
    return {"tmp": tmp, "code": proc.returncode, "err": err, "render": (render.returncode, render_err), "build": build,
            "damaged": damaged}


@on_suite
@pytest.mark.slow
def test_one_failing_and_one_invalid_spec_do_not_stop_the_suite(suite):
    assert suite["code"] != 0
    err = " ".join(suite["err"].split())  # rich wraps long lines
    assert "failing/default/seed0: RuntimeError" in err and "invalid spec" in err and "broken.py" in err
    for variant in ("plain", "wide"):
        assert store.read_json(suite["tmp"] / "results" / "good" / variant / "seed0.json")["status"] == "completed"
    failed = store.read_json(suite["tmp"] / "results" / "failing" / "default" / "seed0.json")
    assert failed["status"] == "failed" and "RuntimeError" in failed["reason"] and "Traceback" not in failed["reason"][:20]
    page = (suite["tmp"] / "docs" / "studies" / "failing.md").read_text()
    assert "seed 0 failed: RuntimeError" in page


@on_suite
@pytest.mark.slow
def test_damaged_result_files_are_listed_and_the_site_builds(suite):
    code, err = suite["render"]
    assert code == 0, err
    assert suite["build"].returncode == 0, suite["build"].stderr
    problems = (suite["tmp"] / "docs" / "problems.md").read_text().replace("\\", "")  # drop Markdown escapes
    for name in suite["damaged"]:
        assert f"good/{name}/seed0.json" in problems, name
    assert "schema_version 99" in problems and "does not match the result schema" in problems
    assert (suite["tmp"] / "site" / "problems" / "index.html").exists()


@on_suite
@pytest.mark.slow
def test_hostile_strings_stay_inert_in_the_built_site(suite):
    site = suite["tmp"] / "site"
    pages = list(site.glob("**/*.html"))
    assert len(pages) >= 3
    seen_title = False
    for page in pages:
        text = page.read_text(encoding="utf-8")
        tags = _Tags()
        tags.feed(text)
        assert not tags.scripts, (page, tags.scripts)
        assert not tags.handlers, (page, tags.handlers)
        assert not tags.js_links, (page, tags.js_links)
        assert "{{ 7*7 }}" not in text or "49" not in text.split("{{ 7*7 }}")[0][-5:]
        seen_title |= "alert(&#x27;title&#x27;)" in text or "alert('title')" in text
    assert seen_title, "the hostile title is shown (escaped), not dropped"
    good = (suite["tmp"] / "docs" / "studies" / "good.md").read_text()
    assert "{{ 7*7 }}" in good or "{{ 7\\*7 }}" in good  # shown as text, never evaluated
    rows = [line for line in good.splitlines() if line.startswith("| :material-")]  # the expectations' rows
    assert rows and all(line.count(" | ") == 4 for line in rows), rows  # the pipes in strings do not split cells


def test_disk_full_and_permission_denied_leave_no_partial_file(tmp_path, monkeypatch):
    path = tmp_path / "s" / "v" / "seed0.json"
    store.write_json(path, {"key": "k", "status": "completed", "n": 1})
    before = path.read_bytes()
    real_fsync = os.fsync

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(store.StoreError, match="No space left on device") as info:
        store.write_json(path, {"key": "k", "status": "completed", "n": 2})
    assert str(path) in str(info.value) and "earlier results are untouched" in str(info.value)
    monkeypatch.setattr(os, "fsync", real_fsync)
    assert path.read_bytes() == before and not list(path.parent.glob(".*"))

    def denied(*a, **k):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr("tempfile.mkstemp", denied)
    with pytest.raises(store.StoreError, match="Permission denied"):
        store.write_json(tmp_path / "other" / "seed0.json", {"key": "k", "status": "completed"})
    assert path.read_bytes() == before


def test_cli_reports_an_unwritable_results_folder_with_exit_2(tmp_path, monkeypatch, capsys):
    from reportgen import cli
    from reportgen.run import execute

    exp = tmp_path / "exp"
    exp.mkdir()
    (exp / "resumable.py").write_text(RESUMABLE)

    def boom(*a, **k):
        raise store.StoreError(errno.ENOSPC, "cannot write results/x.json: No space left on device")

    monkeypatch.setattr(execute, "execute", boom)
    code = cli.main(["--experiments", str(exp), "--results-dir", str(tmp_path / "r"), "run", "--no-render"])
    assert code == 2 and "No space left on device" in capsys.readouterr().err


def test_a_second_process_cannot_take_a_locked_run(tmp_path):
    with checkpoint.run_lock(tmp_path / "results", "k" * 64):
        with pytest.raises(checkpoint.Busy, match="another process"):
            with checkpoint.run_lock(tmp_path / "results", "k" * 64):
                pass
    with checkpoint.run_lock(tmp_path / "results", "k" * 64):  # released: free again
        pass


def test_temp_files_of_dead_processes_are_cleaned(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = tmp_path / "s" / f".seed0.json.{dead.stdout.strip()}.abc.tmp"
    live = tmp_path / "s" / f".seed1.json.{os.getppid()}.abc.tmp"
    stale.parent.mkdir()
    stale.write_text("half")
    live.write_text("being written")
    assert checkpoint.clean_temp(tmp_path) == [stale]
    assert live.exists() and not stale.exists()


def test_an_old_schema_result_is_migrated_on_reading(tmp_path):
    src = next((REPO / "results").glob("mlp_baseline/*/seed0.json"), None)
    if src is None:
        pytest.skip("no committed mlp_baseline result to copy")
    old = json.loads(src.read_text())
    old["schema_version"] = 1
    for k in ("least_confident_correct", "least_confident_conf"):
        old["test"].pop(k, None)
    path = tmp_path / "seed0.json"
    path.write_text(json.dumps(old))
    assert store.read_result(path)["schema_version"] == store.SCHEMA_VERSION


def test_checkpoints_load_without_unpickling_objects(tmp_path):
    import torch

    evil = tmp_path / "evil.pt"
    torch.save({"f": print}, evil)  # a pickled global: weights_only=True must refuse it
    assert checkpoint.load(evil) is None and not evil.exists()  # refused by weights_only, then removed
