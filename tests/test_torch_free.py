"""The base install (no torch, no extras) renders and publishes the committed report, as the Pages
workflow does: every module a render imports loads without the training stack, a render of a fresh
checkout finds every committed page current and rewrites nothing, and a full render writes exactly the
committed pages. The subprocesses see only the base install's packages (``conftest.base_install_env``)."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import networkx as nx
import pytest
from conftest import base_install_env
from test_layout import import_graph, modules

from reportgen.report.pages import incremental

REPO = Path(__file__).resolve().parents[1]


def _files(docs: Path) -> dict[str, bytes]:
    return {p.relative_to(docs).as_posix(): p.read_bytes() for p in sorted(docs.rglob("*")) if p.is_file()}


def _reportgen(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "reportgen", *args], cwd=REPO, capture_output=True, text=True,
                          env=env, timeout=900)


def test_a_render_imports_only_the_rendering_stages():
    graph = import_graph()
    reached = set(nx.descendants(graph, "reportgen.report.pages.render")) | {"reportgen.report.pages.render"}
    outside = sorted(m for m in reached if m.split(".")[1] not in incremental.RENDER_STAGES)
    assert outside == [], f"a render imports modules the render record does not hash: {outside}"


def test_the_blocker_refuses_what_the_base_install_lacks(tmp_path):
    env = base_install_env(tmp_path / "site")
    probe = "import importlib\nfor m in ('torch', 'sklearn', 'pytest'):\n    try:\n        importlib.import_module(m)\n" \
            "        print(m, 'imported')\n    except ModuleNotFoundError:\n        print(m, 'refused')\nimport jinja2, scipy"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["torch", "refused", "sklearn", "refused", "pytest", "refused"]


def test_every_rendering_module_imports_without_the_training_stack(tmp_path):
    names = [m for m in modules() if len(m.split(".")) > 1 and m.split(".")[1] in incremental.RENDER_STAGES]
    names.append("reportgen.cli")
    code = "import importlib\nfor m in %r:\n    importlib.import_module(m)\n" % names
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=base_install_env(tmp_path / "site"))
    assert out.returncode == 0, out.stderr[-3000:]


def test_the_pages_workflow_runs_only_the_steps_these_tests_reproduce():
    """The workflow installs the base package and runs fetch, render and a strict build: the steps the
    test below runs with the base install's packages (``invoke render`` is ``python -m reportgen render``)."""
    workflow = (REPO / ".github" / "workflows" / "pages.yml").read_text(encoding="utf-8")
    runs = [line.split("run:", 1)[1].strip() for line in workflow.splitlines() if line.strip().startswith("run:")]
    assert runs == ["pip install -c constraints.txt -e .", "reportgen fetch", "invoke render", "mkdocs build --strict"]
    tasks = (REPO / "tasks.py").read_text(encoding="utf-8")
    assert 'c.run(f"{PY} render" + (" --smoke" if smoke else "") + (" --force" if force else ""))' in tasks


@pytest.mark.slow
def test_the_base_install_finds_the_committed_pages_current_and_renders_them_byte_for_byte(tmp_path):
    """A fresh checkout's ``reportgen render`` (the Pages workflow's step) rewrites nothing; ``--force``
    renders every study, the index and the Performance page again, equal to the committed files."""
    env = base_install_env(tmp_path / "site")
    docs = tmp_path / "docs"
    shutil.copytree(REPO / "docs", docs)
    committed = _files(docs)
    fetch = _reportgen(env, "fetch")
    assert fetch.returncode == 0, fetch.stderr[-3000:]
    again = _reportgen(env, "--docs-dir", str(docs), "render")
    assert again.returncode == 0, again.stderr[-3000:]
    assert "rendered 0 study page(s)" in again.stdout + again.stderr
    assert _files(docs) == committed
    full = _reportgen(env, "--docs-dir", str(docs), "render", "--force")
    assert full.returncode == 0, full.stderr[-3000:]
    now = _files(docs)
    assert sorted(now) == sorted(committed)
    assert [k for k in now if now[k] != committed[k]] == [], "pages differ from a full render without torch"
