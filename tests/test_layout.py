"""The package's layout by stage: imports run one way (site, report → run → results → spec → data; inside
report/: pages → analyses → draw → judge), no
module imports itself back through others (every import counted, top-level or inside a function,
with the package ``__init__`` modules Python executes on the way), and no module is longer than a
reader can hold."""
from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx
import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "reportgen"
STAGES = ("data", "spec", "results", "run", "report", "site")  # lower index: imported by the later ones, never the reverse
#: report/'s concerns, in the same one-way order: judging reads no figure or page, drawing judges nothing,
#: analyses use both, pages use everything.
REPORT_LAYERS = ("judge", "draw", "analyses", "pages")
MAX_LINES = 400


def modules(package: Path = PACKAGE) -> dict[str, Path]:
    """Dotted module name → file, for every module of the package."""
    out = {}
    for f in sorted(package.rglob("*.py")):
        parts = list(f.relative_to(package.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = f
    return out


def _with_packages(target: str, mods: dict[str, Path]) -> list[str]:
    """``target`` and every package whose ``__init__`` importing it executes: ``a.b.c`` → ``a.b``, ``a.b.c``
    (``reportgen`` itself aside: its ``__init__`` imports nothing)."""
    parts = target.split(".")
    return [".".join(parts[:i]) for i in range(2, len(parts) + 1) if ".".join(parts[:i]) in mods]


def import_graph(package: Path = PACKAGE) -> nx.DiGraph:
    """Module → modules of the package it imports (``from P import m`` of a submodule counts as ``P.m``),
    and the packages whose ``__init__`` that import executes."""
    mods = modules(package)
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
                for u in _with_packages(t, mods) if t else []:
                    if u != name and not name.startswith(u + "."):  # a module's own packages ran already
                        g.add_edge(name, u)
    return g


def stage(module: str) -> int | None:
    parts = module.split(".")
    return STAGES.index(parts[1]) if len(parts) > 1 and parts[1] in STAGES else None


def test_the_stage_folders_exist():
    assert all((PACKAGE / s / "__init__.py").is_file() for s in STAGES)
    # Commands above the stages: cli, and run --until-decided, which trains (run) and judges (report) in turns.
    commands = ("__init__.py", "__main__.py", "cli.py", "untildecided.py")
    loose = sorted(f.name for f in PACKAGE.glob("*.py") if f.name not in commands)
    assert loose == [], f"modules outside the stage folders: {loose}"


def test_no_import_cycles():
    cycles = list(nx.simple_cycles(import_graph()))
    assert cycles == [], "import cycles: " + "; ".join(" → ".join(c + [c[0]]) for c in cycles[:10])


def test_a_cycle_through_a_package_init_is_found(tmp_path):
    """``a.m`` imports ``a.b.x`` inside a function; ``a/b/__init__`` imports ``a.b.y``, which imports ``a.m``."""
    pkg = tmp_path / "reportgen"
    for rel, text in {"__init__.py": "", "a/__init__.py": "", "a/m.py": "def f():\n    from reportgen.a.b.x import g\n",
                      "a/b/__init__.py": "from reportgen.a.b import y\n", "a/b/x.py": "",
                      "a/b/y.py": "from reportgen.a import m\n"}.items():
        (pkg / rel).parent.mkdir(parents=True, exist_ok=True)
        (pkg / rel).write_text(text)
    cycles = [sorted(c) for c in nx.simple_cycles(import_graph(pkg))]
    assert ["reportgen.a.b", "reportgen.a.b.y", "reportgen.a.m"] in cycles


def test_imports_run_one_way_between_stages():
    backwards = [f"{a} → {b}" for a, b in import_graph().edges
                 if stage(a) is not None and stage(b) is not None and stage(b) > stage(a)]
    assert backwards == [], "imports against the pipeline's direction: " + ", ".join(backwards)


def layer(module: str) -> int | None:
    parts = module.split(".")
    return (REPORT_LAYERS.index(parts[2]) if len(parts) > 2 and parts[1] == "report" and parts[2] in REPORT_LAYERS
            else None)


def test_report_holds_only_its_concerns():
    loose = sorted(f.name for f in (PACKAGE / "report").glob("*.py") if f.name != "__init__.py")
    assert loose == [], f"modules of report/ outside judge/, draw/, analyses/, pages/: {loose}"
    assert all((PACKAGE / "report" / name / "__init__.py").is_file() for name in REPORT_LAYERS)


def test_imports_run_one_way_between_report_concerns():
    backwards = [f"{a} → {b}" for a, b in import_graph().edges
                 if layer(a) is not None and layer(b) is not None and layer(b) > layer(a)]
    assert backwards == [], "report/ imports against judge → draw → analyses → pages: " + ", ".join(backwards)


def test_site_hooks_import_nothing_of_the_package():
    """MkDocs loads the hooks by path at build time, where the package may not be importable."""
    assert not [b for a, b in import_graph().edges if a.startswith("reportgen.site")]


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
