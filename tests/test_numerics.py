"""Numerics versions and their golden fingerprints: every component agrees with its recorded
fingerprint; a change to what a component computes fails without a version bump, a bump fails without
re-recording; a comment in every module changes no key."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from reportgen.run import fingerprints
from reportgen.spec import numerics
from reportgen.run.fingerprints import DEFAULT_DIR, check, loads, record

REPO = Path(__file__).resolve().parents[1]
PKG = REPO / "reportgen"


@pytest.mark.parametrize("component", list(numerics.VERSIONS))
def test_component_agrees_with_its_fingerprint(component):
    assert check(component) == []


def test_every_component_has_one_fingerprint_recorded_under_its_version():
    files = {p.stem: loads(p.read_text(encoding="utf-8")) for p in DEFAULT_DIR.glob("*.json")}
    assert set(files) == set(numerics.VERSIONS)
    assert {name: f["version"] for name, f in files.items()} == numerics.VERSIONS


def package_copy(tmp_path: Path) -> Path:
    """A copy of the package under ``tmp_path/src`` (for PYTHONPATH)."""
    src = tmp_path / "src"
    shutil.copytree(PKG, src / "reportgen", ignore=shutil.ignore_patterns("__pycache__"))
    return src


def edit(src: Path, rel: str, old: str, new: str) -> None:
    path = src / "reportgen" / rel
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{rel}: the text to edit is not there once: {old!r}"
    path.write_text(text.replace(old, new), encoding="utf-8")


def run_in(src: Path, *args: str, work: Path | None = None) -> subprocess.CompletedProcess:
    """``python *args`` importing the package from ``src`` only: run in a folder of its own, ``work``
    (default beside ``src``; ``-m`` and ``-c`` put the working directory first on sys.path), that sees
    the repository's ``experiments/`` and ``pyproject.toml``."""
    work = work or src.parent / "work"
    work.mkdir(exist_ok=True)
    if not (work / "experiments").exists():
        (work / "experiments").symlink_to(REPO / "experiments", target_is_directory=True)
    if not (work / "pyproject.toml").exists():  # the project's model allowlist ([tool.reportgen] models)
        (work / "pyproject.toml").symlink_to(REPO / "pyproject.toml")
    env = {k: v for k, v in os.environ.items() if k != "REPORTGEN_IMAGES"}
    env.update(PYTHONPATH=str(src), OMP_NUM_THREADS="1")
    return subprocess.run([sys.executable, *args], cwd=work, env=env, capture_output=True, text=True, timeout=600)


def check_in(src: Path, component: str) -> subprocess.CompletedProcess:
    return run_in(src, "-m", "reportgen.run.fingerprints", "check", component, "--dir", str(DEFAULT_DIR))


# What each edit changes: the loss reduction, the data order, the optimizer, the initialisation order,
# the augmentation; each must fail its component's fingerprint until the version is bumped.
EDITS = [
    ("trainer", "run/train.py", "loss = F.cross_entropy(logits.float(), yb)",
     'loss = F.cross_entropy(logits.float(), yb, reduction="sum")'),
    ("trainer", "run/train.py", "perm = torch.randperm(len(x), generator=order).to(x.device)",
     "perm = torch.randperm(len(x), generator=order).flip(0).to(x.device)"),
    ("trainer", "run/optim.py", "nesterov=o.nesterov", "nesterov=False"),
    ("model.mlp", "run/models/common.py", "    for m in model.modules():\n        if isinstance(m, (nn.Linear, nn.Conv2d)):",
     "    for m in reversed(list(model.modules())):\n        if isinstance(m, (nn.Linear, nn.Conv2d)):"),
    ("augment", "run/augment.py", "scale=(1 - s, 1 + s) if s else None", "scale=(1 - s, 1 + 2 * s) if s else None"),
]


@pytest.mark.slow
@pytest.mark.parametrize("component, rel, old, new", EDITS, ids=[f"{c}:{r}:{i}" for i, (c, r, _, _) in enumerate(EDITS)])
def test_a_numbers_change_without_a_bump_fails_its_fingerprint(tmp_path, component, rel, old, new):
    src = package_copy(tmp_path)
    edit(src, rel, old, new)
    out = check_in(src, component)
    assert out.returncode == 1, out.stdout + out.stderr
    assert f"{component}: numbers differ" in out.stdout
    assert f"bump VERSIONS[{component!r}]" in out.stdout and f"record {component}" in out.stdout


def test_the_unedited_copy_passes(tmp_path):
    """The control of the test above: the copy itself, run the same way, agrees."""
    out = check_in(package_copy(tmp_path), "trainer")
    assert out.returncode == 0, out.stdout + out.stderr


def test_a_bump_without_re_recording_fails(tmp_path):
    src = package_copy(tmp_path)
    v = numerics.VERSIONS["augment"]
    edit(src, "spec/numerics.py", f'    "augment": {v},', f'    "augment": {v + 1},')
    out = check_in(src, "augment")
    assert out.returncode == 1
    assert f"numerics version {v + 1}" in out.stdout and "re-record it" in out.stdout


def test_record_refuses_other_numbers_under_the_same_version_and_writes_after_a_bump(tmp_path, monkeypatch):
    folder = tmp_path / "fp"
    folder.mkdir()
    recorded = loads((DEFAULT_DIR / "metrics.json").read_text(encoding="utf-8"))
    recorded["values"]["test.loss"] = [recorded["values"]["test.loss"][0] + 0.01]  # as if the loss had changed
    (folder / "metrics.json").write_text(fingerprints.dumps("metrics", recorded["version"],
                                                            {k: fingerprints.Entry(v) for k, v in recorded["values"].items()}))
    with pytest.raises(ValueError, match="bump VERSIONS"):
        record("metrics", folder)
    assert check("metrics", folder) and "test.loss" in check("metrics", folder)[0]
    monkeypatch.setitem(numerics.VERSIONS, "metrics", recorded["version"] + 1)
    assert "recorded under version" in record("metrics", folder)
    assert check("metrics", folder) == []


KEYS = """
import json, sys
from pathlib import Path
from reportgen.spec.catalog import load_all
from reportgen.spec.expand import expand
specs, errors = load_all(Path("experiments"))
assert not errors, errors
import reportgen
print(reportgen.__file__)
keys = {f"{r.study}/{r.variant}/seed{r.seed}": r.key for s in specs.values() if not s.study.upstream()
        for r in expand(s.study, s.name, str(s.path))}
print(json.dumps(keys))
"""


@pytest.mark.slow
def test_a_comment_in_every_module_changes_no_key(tmp_path):
    """Every run of every spec keeps its key when each module of the package gains a comment line
    (chained studies resolve to runs keyed the same way), so ``reportgen list`` stays up to date."""
    src = package_copy(tmp_path)
    modules = list((src / "reportgen").rglob("*.py"))
    for path in modules:
        path.write_text(path.read_text(encoding="utf-8") + "\n# a comment that changes nothing\n", encoding="utf-8")
    outs = []
    for root in (REPO, src):
        out = run_in(root, "-c", KEYS, work=tmp_path / "work")
        assert out.returncode == 0, out.stderr
        where, keys = out.stdout.splitlines()
        assert Path(where).is_relative_to(root)  # the package under test, not another copy
        outs.append(json.loads(keys))
    assert len(modules) > 40 and len(outs[0]) > 200
    assert outs[1] == outs[0]
