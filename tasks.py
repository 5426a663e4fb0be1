"""Everyday commands: ``invoke --list``. Each wraps ``python -m reportgen`` or mkdocs.

    invoke run-all                  train what is missing for every study, render the site pages
    invoke run --spec NAME          the same for one study (repeat --spec for several)
    invoke run --spec custom_images --images DIR   classify your own digit photos
    invoke render                   results → docs, no training
    invoke docs / invoke serve      build the site strictly / serve it at http://127.0.0.1:8000
    invoke publish                  render and push the site to GitHub Pages (gh-pages branch)
    invoke screenshots              browser-test the built site; refresh the README screenshot
    invoke test                     the test suite, in parallel (pytest-xdist, one worker per core)
    invoke bench [--quick]          the canonical DataLoader loop vs the runner → bench/latest.json
    invoke lighthouse               Lighthouse (mobile) on the index and a study page → bench/lighthouse.json
Add --smoke to run/run-all for a quick check (small subset, one epoch, one seed, written under .smoke/).
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

from invoke import task

PY = f'"{sys.executable}" -m reportgen'
os.environ.setdefault("DISABLE_MKDOCS_2_WARNING", "true")  # the mkdocs 2 notice is noise in CI logs
os.environ.setdefault("NO_MKDOCS_2_WARNING", "1")  # (the name newer mkdocs versions read)


def _flags(smoke: bool, force: bool = False, device: str = "auto") -> str:
    return " ".join(f for f, on in (("--smoke", smoke), ("--force", force)) if on) + f" --device {device}"


@task(help={"smoke": "small subset, 1 epoch, 1 seed; output under .smoke/", "force": "retrain cached runs",
            "device": "auto | cpu | cuda"})
def run_all(c, smoke=False, force=False, device="auto"):
    """Train every study's missing runs, then render all pages."""
    c.run(f"{PY} run {_flags(smoke, force, device)}", pty=sys.stdout.isatty())


@task(iterable=["spec"], help={"spec": "study name (repeatable)", "smoke": "small subset, 1 epoch, 1 seed",
                               "force": "retrain cached runs", "device": "auto | cpu | cuda",
                               "images": "custom_images: a folder of digit photos (default experiments/custom_digits/)"})
def run(c, spec, smoke=False, force=False, device="auto", images=""):
    """Train one study's missing runs, then render its page and the index."""
    if not spec:
        sys.exit("give a study: invoke run --spec NAME   (reportgen list shows them)")
    extra = f' --images "{images}"' if images else ""
    c.run(f"{PY} run {' '.join(spec)} {_flags(smoke, force, device)}{extra}", pty=sys.stdout.isatty())


@task(help={"smoke": "render the smoke results under .smoke/",
            "force": "render every page, also those whose inputs did not change"})
def render(c, smoke=False, force=False):
    """Results → docs/ (no training); only the pages whose inputs changed, unless --force."""
    c.run(f"{PY} render" + (" --smoke" if smoke else "") + (" --force" if force else ""))


def _config(smoke: bool) -> str:
    if not smoke:
        return "mkdocs.yml"
    cfg = Path(".smoke/mkdocs.yml")
    cfg.parent.mkdir(exist_ok=True)
    root = Path(__file__).resolve().parent  # an inherited config's paths resolve against .smoke/: name them
    cfg.write_text("INHERIT: ../mkdocs.yml\ndocs_dir: docs\nsite_dir: site\n"
                   f"theme:\n  name: material\n  custom_dir: {root / 'overrides'}\n"
                   f"hooks:\n  - {root / 'reportgen' / 'site' / 'hooks.py'}\n")
    return str(cfg)


@task(help={"smoke": "build the smoke site under .smoke/site"})
def docs(c, smoke=False):
    """Build the site with ``mkdocs build --strict`` (site/)."""
    c.run(f'"{sys.executable}" -m mkdocs build --strict -f {_config(smoke)}')


@task(help={"smoke": "serve the smoke site"})
def serve(c, smoke=False):
    """Serve the site with live reload at http://127.0.0.1:8000."""
    c.run(f'"{sys.executable}" -m mkdocs serve -f {_config(smoke)}', pty=sys.stdout.isatty())


@task(help={"message": "commit message for the gh-pages branch"})
def publish(c, message="Publish the report"):
    """Render from the committed results and push the site to GitHub Pages (gh-pages branch).

    For repositories without GitHub Actions (``mkdocs gh-deploy``); with Actions,
    .github/workflows/pages.yml publishes on every push to main."""
    c.run(f"{PY} render")
    c.run(f'"{sys.executable}" -m mkdocs gh-deploy --strict --force -m "{message}"')


@task
def screenshots(c):
    """Open every page of the built site in headless Chromium (the browser test), keep a screenshot of
    each under .shots/, and refresh the README's screenshot from the dropout study's page."""
    c.run(f'"{sys.executable}" -m pytest -q tests/test_site.py -k every_page')
    shot = Path(".shots/studies_dropout_ablation.png")
    target = Path(".github/readme/study_page.png")  # outside docs/: the site does not ship it
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(shot.read_bytes())
    print(f"{shot} → {target}")


@task(help={"quick": "1 epoch on 10,000 images (minutes on 2 CPU cores) instead of the full mode",
            "device": "auto | cpu | cuda", "workloads": "comma-separated: mlp,mlp_fused,examples_cnn,budget_model3 (default: all)",
            "json": "output file (default: bench/latest.json)"})
def bench(c, quick=False, device="auto", workloads="", json="bench/latest.json"):
    """The canonical DataLoader loop vs the runner, side by side: a table and bench/latest.json."""
    flags = " --quick" if quick else ""
    flags += f" --workloads {workloads}" if workloads else ""
    c.run(f'"{sys.executable}" -m bench.runner{flags} --device {device} --json "{json}"', pty=sys.stdout.isatty())


@task(iterable=["page"], help={"site": "an already built site (default: build one)",
                               "page": "page path, e.g. studies/dropout_ablation/ (repeatable)"})
def lighthouse(c, site="", page=None):
    """Lighthouse (mobile) scores of the index and a study page → bench/lighthouse.json (bench/lighthouse.py)."""
    flags = (f' --site "{site}"' if site else "") + "".join(f' --page "{p}"' for p in page or [])
    c.run(f'"{sys.executable}" bench/lighthouse.py{flags}', pty=sys.stdout.isatty())


@task(help={"workers": "pytest-xdist workers (default: one per CPU core and one more); 0 runs in this process"})
def test(c, workers=None):
    """The whole test suite (pytest) on CPU cores + 1 xdist workers, the 25 slowest tests timed at the end.

    Part of the time a worker waits on a subprocess or the browser; the extra worker keeps the cores
    busy (on 2 cores, 352 s against 377 s with two workers). Tests that share a costly fixture or
    trained runs carry an ``xdist_group`` mark and stay on one worker (``--dist loadgroup``)."""
    n = (os.cpu_count() or 1) + 1 if workers is None else int(workers)
    c.run(f'"{sys.executable}" -m pytest -q -n {n} --dist loadgroup --durations=25', pty=sys.stdout.isatty())


@task
def list_studies(c):
    """Each study: variants × seeds and status (up to date / stale / missing / failed)."""
    c.run(f"{PY} list")
