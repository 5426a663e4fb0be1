"""The package's layout by stage: imports run one way (report → run → results → spec → data), no
module imports itself back through others (every import counted, top-level or inside a function),
and no module is longer than a reader can hold."""
from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx
import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "reportgen"
STAGES = ("data", "spec", "results", "run", "report")  # lower index: imported by the later ones, never the reverse
MAX_LINES = 400


def modules() -> dict[str, Path]:
    """Dotted module name → file, for every module of the package."""
    out = {}
    for f in sorted(PACKAGE.rglob("*.py")):
        parts = list(f.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = f
    return out


def import_graph() -> nx.DiGraph:
    """Module → modules of the package it imports (``from P import m`` of a submodule counts as ``P.m``)."""
    mods = modules()
    g = nx.DiGraph()
    for name, f in mods.items():
        g.add_node(name)
        pkg = name if f.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(f.read_text(), str(f))):
            targets = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    up = pkg.split(".")[: len(pkg.split(".")) - (node.level - 1)]
                    base = ".".join(up + ([node.module] if node.module else []))
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in mods else base for a in node.names]
            for t in targets:
                while t and t not in mods:
                    t = t.rpartition(".")[0]
                if t and t != name and t != "reportgen":
                    g.add_edge(name, t)
    return g


def stage(module: str) -> int | None:
    parts = module.split(".")
    return STAGES.index(parts[1]) if len(parts) > 1 and parts[1] in STAGES else None


def test_the_stage_folders_exist():
    assert all((PACKAGE / s / "__init__.py").is_file() for s in STAGES)
    loose = sorted(f.name for f in PACKAGE.glob("*.py") if f.name not in ("__init__.py", "__main__.py", "cli.py"))
    assert loose == [], f"modules outside the stage folders: {loose}"


def test_no_import_cycles():
    cycles = list(nx.simple_cycles(import_graph()))
    assert cycles == [], "import cycles: " + "; ".join(" → ".join(c + [c[0]]) for c in cycles[:10])


def test_imports_run_one_way_between_stages():
    backwards = [f"{a} → {b}" for a, b in import_graph().edges
                 if stage(a) is not None and stage(b) is not None and stage(b) > stage(a)]
    assert backwards == [], "imports against the pipeline's direction: " + ", ".join(backwards)


@pytest.mark.parametrize("module", sorted(modules()))
def test_modules_stay_readable(module):
    lines = len(modules()[module].read_text().splitlines())
    assert lines <= MAX_LINES, f"{module}: {lines} lines (at most {MAX_LINES})"


@pytest.mark.xdist_group("group-probe")
def test_xdist_keeps_marked_groups_together(request: pytest.FixtureRequest) -> None:
    """Under ``invoke test`` (``--dist loadgroup``) a test's group must reach the scheduler, or tests that
    share a costly fixture or trained runs are spread over workers and pay for it on each one. pytest-xdist
    3.8 marks the group in the node id, which pytest 9.2's node ids ignore (pytest-xdist issue 1386)."""
    if not getattr(request.config.option, "loadgroup", False):
        pytest.skip("not run by pytest-xdist with --dist loadgroup")
    assert request.node.nodeid.endswith("@group-probe"), request.node.nodeid
