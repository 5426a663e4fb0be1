"""Every spec in ``experiments/``: it validates, expands, opens with the house-style docstring, and
smoke-runs and renders end to end on real MNIST through the command line (new spec files are picked up
automatically)."""
from __future__ import annotations

import html
import json
import math
import os
import re
import shutil
from pathlib import Path

import pytest
import torch

from reportgen import cli
from reportgen.results import store
from reportgen.spec.catalog import load_spec, spec_paths
from reportgen.results.chain import resolve
from reportgen.run.plan import plan
from reportgen.spec.expand import expand
from reportgen.results.schema import Result
from reportgen.spec import VARIANT_SLUG

REPO = Path(__file__).resolve().parents[1]
SPECS = spec_paths(REPO / "experiments")
IDS = [p.stem for p in SPECS]


def test_there_are_specs():
    assert len(SPECS) >= 1
    assert all(p.suffix == ".py" and not p.name.startswith("_") for p in SPECS)


@pytest.mark.parametrize("path", SPECS, ids=IDS)
def test_spec_validates_and_expands(path):
    spec = load_spec(path)
    assert spec.name == path.stem
    runs = expand(spec.study, spec.name, str(path))
    if spec.study.kind == "explore":  # trains nothing: no variants, no runs, smoke or not
        assert runs == [] and expand(spec.study, spec.name, str(path), smoke=True) == []
        return
    n_variants = len({r.variant for r in runs})
    assert len(runs) == n_variants * len(spec.study.sweep.seeds) >= 1
    assert len({r.key for r in runs}) == len(runs)  # no two runs of a study share a key
    assert all(VARIANT_SLUG.match(r.variant) for r in runs)
    if spec.study.reference is not None:
        assert spec.study.reference in {r.label for r in runs} | {r.variant for r in runs}
    smoke = expand(spec.study, spec.name, str(path), smoke=True)
    assert len(smoke) == n_variants
    assert {r.config.train.epochs for r in smoke} == {1}


@pytest.mark.parametrize("path", SPECS, ids=IDS)
def test_spec_docstring_has_house_style_header(path):
    doc = load_spec(path).doc
    assert doc.splitlines()[0].strip().endswith("?"), "the docstring opens with the question"
    for field in ("Run:", "Expected:", "Cost:"):
        assert field in doc, f"{path.name}: docstring lacks {field!r}"
    assert f"--spec {path.stem}" in doc or f"run {path.stem}" in doc, "the run command names this spec"


def _upstream_closure(spec) -> list[str]:
    from reportgen.results.chain import levels

    return [s.name for stage in levels([spec]) for s in stage if s.name != spec.name]


def _smoke_order_and_groups() -> tuple[list[Path], dict[str, str]]:
    """The specs in the order their smoke runs go, and an xdist group for each spec that shares runs.

    The smoke runs of one test session share one results folder (:func:`smoke_results`), so a run is
    trained once: a tuning chain's upstream studies by the first study that reads them, a run that
    several studies declare (a shared baseline) by the first of them, the others copy it. Downstream
    studies go first, so the first of a chain still trains its whole upstream closure from nothing
    (what ``run`` of a chained study must do); the studies it trained then find their runs cached. Specs
    that share a run or a chain form one group, which xdist (``--dist loadgroup``) keeps on one worker."""
    specs = {p.stem: load_spec(p) for p in SPECS}
    parent = {name: name for name in specs}

    def find(n: str) -> str:
        while parent[n] != n:
            n = parent[n]
        return n

    owner: dict[str, str] = {}
    for name, spec in specs.items():
        for up in _upstream_closure(spec):
            parent[find(up)] = find(name)
        try:
            runs = expand(spec.study, name, str(spec.path), smoke=True)
        except Exception:  # noqa: BLE001 - a chained study before its upstream results: its chain groups it
            runs = []
        for run in runs:
            parent[find(owner.setdefault(run.key, name))] = find(name)
    members: dict[str, list[str]] = {}
    for name in specs:
        members.setdefault(find(name), []).append(name)
    groups = {n: "smoke-" + min(m) for m in members.values() if len(m) > 1 for n in m}
    depth = {name: len(_upstream_closure(spec)) for name, spec in specs.items()}
    # Then the costliest first (by the committed runs' recorded wall time), so that under xdist a long
    # smoke run (architecture_comparison's ResNets) starts early instead of finishing the session alone.
    cost = {name: sum(r.get("wall_seconds") or 0 for _, r in store.iter_results(REPO / "results" / name))
            for name in specs}
    return sorted(SPECS, key=lambda p: (-depth[p.stem], -cost[p.stem])), groups


SMOKE_ORDER, SMOKE_GROUPS = _smoke_order_and_groups()


@pytest.fixture(scope="session")
def smoke_dirs(tmp_path_factory) -> tuple[Path, Path]:
    """``(results, docs)``: one results and one docs folder for every smoke run of this session (of this
    xdist worker). ``run`` renders its study's page, and any study's page that is not there yet (the nav
    links every study): the docs folder starts with the committed study pages (without their figures or
    render record) standing in for those, so each test renders its own study's page, not every page."""
    base = tmp_path_factory.mktemp("smoke")
    (base / "docs" / "studies").mkdir(parents=True)
    for page in (REPO / "docs" / "studies").glob("*.md"):
        shutil.copyfile(page, base / "docs" / "studies" / page.name)
    return base / "results", base / "docs"


@pytest.mark.slow
@pytest.mark.parametrize("path", [pytest.param(p, id=p.stem, marks=[pytest.mark.xdist_group(SMOKE_GROUPS[p.stem])]
                                               if p.stem in SMOKE_GROUPS else []) for p in SMOKE_ORDER])
def test_spec_smoke_runs_on_real_mnist(path, smoke_dirs, monkeypatch, capsys):
    data = os.environ.get("REPORTGEN_DATA")
    if not data or not (Path(data) / "MNIST" / "raw").is_dir():
        pytest.skip("REPORTGEN_DATA is not set to a folder with MNIST/raw/: no smoke run on real MNIST")
    spec = named = load_spec(path)
    results, docs = smoke_dirs
    before = set(results.glob("**/*.json"))
    # The command line in this process (the entry point itself, ``python -m reportgen``, is run as a
    # subprocess by the reliability and backend tests): one interpreter start and one MNIST load per
    # worker instead of per spec. Runs train on one torch thread (the runner's default, which the run
    # sets); this worker's thread count is put back afterwards.
    monkeypatch.chdir(REPO)
    threads = torch.get_num_threads()
    try:
        code = cli.main(["--results-dir", str(results), "--docs-dir", str(docs), "run", spec.name, "--smoke"])
    finally:
        torch.set_num_threads(threads)
    out = capsys.readouterr()
    assert code == 0, out.out + out.err
    upstream = _upstream_closure(spec)  # before resolving: the resolved spec no longer names its upstream
    spec = resolve(spec, results, smoke=True)  # a chained study: its grid/base from the upstream smoke results
    runs = expand(spec.study, spec.name, str(path), smoke=True)
    # An explore study has no runs (the loop below checks none, and no result file may appear); its
    # page, headings and figures are checked like any other's.
    reference = spec.study.reference or (runs[0].label if runs else None)
    for run in runs:
        result = store.read_json(store.result_path(results, run.study, run.variant, run.seed))
        assert result["key"] == run.key
        Result.model_validate(result)  # the documented result schema, field for field
        # A failure-analysis study breaks its variants on purpose (they may diverge or stay at
        # chance); only its reference must train normally.
        is_reference = reference in (run.label, run.variant)
        broken = spec.study.section == "Failure analysis" and not is_reference
        assert result["status"] in (store.FINAL if broken else ("completed",)), result.get("reason")
        if run.config.train.range_test:  # an LR range test: one epoch of growing lr, no history, no test
            rt = result["range_test"]
            assert 2 <= rt["stopped_at"] <= rt["steps"] and rt["suggested_lr"] > 0
            continue
        assert len(result["history"]) == 1
        # The reference must learn in one smoke epoch (chance is 0.1; a large batch gives only 4 steps,
        # so the bar is low). Other variants may be slow starters (a plain 8-conv stack under SGD, a
        # GAP head), and a study of a small subset keeps its few images under --smoke (one epoch of
        # 100 images is 10 steps): they must finish with a finite loss; their full runs show what they reach.
        small = (run.config.data.train_subset or 60000) < 1000
        if is_reference and not broken and not small:
            assert result["test"]["accuracy"] > 0.25, f"{run.variant}: {result['test']['accuracy']}"
        elif not broken:
            assert math.isfinite(result["test"]["loss"]), f"{run.variant}: {result['test']['loss']}"
        test_split = 360 if run.config.data.dataset == "sklearn_digits" else 10000  # scikit-learn digits' fixed split
        assert sum(map(sum, result["test"]["confusion_matrix"])) == min(run.config.data.test_subset, test_split)
    written = sorted(p.relative_to(results).as_posix() for p in results.glob("**/*.json"))
    own = [w for w in written if w.startswith(f"{spec.name}/")]
    assert own == sorted(f"{r.study}/{r.variant}/seed{r.seed}.json" for r in runs)
    # Anything else this run wrote was trained because this study reads it (a tuning chain's upstream
    # studies); the shared folder holds earlier tests' studies too.
    new = sorted(p.relative_to(results).as_posix() for p in set(results.glob("**/*.json")) - before)
    assert {w.split("/")[0] for w in new} - {spec.name} <= set(upstream)
    # What `reportgen plan SPEC --smoke` would say, without a second interpreter: every run is cached now.
    replan = plan([named], results, smoke=True)
    assert sorted(p.run.key for p in replan) == sorted(r.key for r in runs)
    assert [p for p in replan if p.action != "cached"] == []
    # The page was rendered into this session's folder (by this run, or by an earlier test's run that
    # trained this study as its upstream), not left as the committed copy the fixture put there.
    record = json.loads((docs / ".render-inputs.json").read_text(encoding="utf-8"))
    assert f"studies/{spec.name}" in record["groups"]
    page = (docs / "studies" / f"{spec.name}.md").read_text(encoding="utf-8")
    assert "Incomplete results" not in page and "No run of this study recorded" not in page
    for name in spec.study.analyses:  # each analysis' section, under its template's own heading
        template = REPO / "reportgen" / "report" / "pages" / "templates" / "analyses" / f"{name}.md.j2"
        heading = next(line for line in template.read_text(encoding="utf-8").splitlines() if not line.startswith("{%"))
        assert heading.startswith("## ") and heading in page.splitlines(), f"{name}: {heading!r} missing"
    images = re.findall(r"!\[[^\]]+\]\(([^)]+\.png)\)", page)
    assert images, "the page shows figures"
    for url in images:
        assert (docs / "studies" / url).resolve().is_file(), url
    for e in spec.study.expect:
        source = e.source.split('"')[0].strip()  # the page escapes quotes and apostrophes in HTML cells
        assert "unknown metric" not in page and (source in page or html.escape(source) in page), source
