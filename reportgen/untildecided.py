"""``reportgen run STUDY --until-decided [--budget 2h] [--max-seeds 20] [--batch 2] [--family all] [--variants A,B]``.

Adds paired seeds in batches, only to the variants of comparisons still undecided, re-testing after
each batch with the sequential procedure of :mod:`reportgen.report.judge.verdicts` (α spent over the looks,
Holm within each), until every comparison of the study's family is decided, the seed cap is reached
or the budget is spent. ``--variants`` keeps in the family only the comparisons and claims among the
named variants (one target, say, without paying for the seeds of every other variant). The design (α,
cap, batch, family) is fixed at the first look and kept in
``<results>/_sequential/<study>.json`` (:mod:`reportgen.results.sequential`) with the seeds added and
every look's decisions; running the command again resumes from it. The seeds a batch adds are
recorded before they train, so an interrupted batch is finished by the next call.
"""
from __future__ import annotations

import argparse
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.markup import escape

#: The ``run`` subcommand's options for this mode (added by :func:`reportgen.cli.parser`).
OPTIONS: dict[str, dict[str, Any]] = {
    "--until-decided": dict(action="store_true", help=(
        "add paired seeds in batches to the variants of undecided comparisons until each is decided "
        "(sequential tests valid under repeated looks); the record: <results>/_sequential/STUDY.json")),
    "--budget": dict(metavar="TIME", help="with --until-decided: training time to spend at most, e.g. 90m, 2h, "
                                          "3600s (default: no limit)"),
    "--max-seeds": dict(type=int, default=None, metavar="N", help=(
        "with --until-decided: seeds per variant at most (default 20; fixed at the first look)")),
    "--batch": dict(type=int, default=None, metavar="K", help=(
        "with --until-decided: seeds added per batch (default 2; fixed at the first look)")),
    "--family": dict(dest="family_kind", choices=("all", "claims", "comparisons"), default=None, help=(
        "with --until-decided: what to decide: the claims, the reference comparisons, or both (default all; "
        "fixed at the first look)")),
    "--variants": dict(default=None, metavar="A,B", help=(
        "with --until-decided: keep in the family only the comparisons and claims whose variants are all "
        "among these (comma-separated slugs), e.g. one claim's variant; fixed at the first look")),
}
DEFAULTS = {"max_seeds": 20, "batch": 2, "family_kind": "all"}


def parse_budget(text: str | None) -> float | None:
    """``90m`` → 5400.0 seconds (units s, m, h; a bare number is seconds); None for None.

    Raises:
        ValueError: not a positive number with one of those units.
    """
    if text is None:
        return None
    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([smh]?)\s*", text)
    if not m or float(m.group(1)) <= 0:
        raise ValueError(f"--budget {text!r}: give a positive time such as 90m, 2h or 3600s")
    return float(m.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600}[m.group(2)]


def cmd_until_decided(args: argparse.Namespace, console: Console, specs: list, results: Path) -> int:
    """``run --until-decided`` (before rendering): each named study decided by adding seeds, trained with
    the run command's backend options. Returns an exit code: 2 for bad input."""
    from reportgen.data.fetch import data_root
    from reportgen.run.execute import execute
    from reportgen.run.plan import plan

    if not args.names or args.smoke:
        console.print("[red]error[/] --until-decided: name the studies to decide (not with --smoke)", highlight=False)
        return 2

    def train(spec) -> float:
        done = execute(plan([spec], results), data_root(args.data_dir), args.device, console, quiet=args.quiet,
                       backend=args.backend, workers=args.workers, threads=args.threads, pack=args.pack)
        return done.seconds

    for spec in specs:
        try:
            why = until_decided(spec, args, console, results, train)
        except ValueError as err:
            console.print(f"[red]error[/] {escape(str(err))}", highlight=False, soft_wrap=True)
            return 2
        console.print(f"{spec.name}: stopped: {why}", highlight=False)
    return 0


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _start(spec, sr, args: argparse.Namespace, console: Console):
    """The record of a first look: the design from the flags (or their defaults) and the family."""
    from reportgen.report.judge.verdicts import ALPHA, SPENDING, family
    from reportgen.results.sequential import Record

    opts = {k: getattr(args, k) if getattr(args, k) is not None else v for k, v in DEFAULTS.items()}
    members, notes = family(sr, opts["family_kind"])
    among = variants_of(args, sr)
    if among is not None:
        members = restrict(members, among, spec.name, opts["family_kind"])
    for note in notes:
        console.print(f"{spec.name}: not in the family: {escape(note)}", highlight=False, soft_wrap=True)
    n0 = len(spec.study.sweep.seeds)
    if n0 > opts["max_seeds"]:
        raise ValueError(f"--max-seeds {opts['max_seeds']}: {spec.name} already has {n0} seeds per variant")
    return Record(study=spec.name, alpha=ALPHA, spending=SPENDING, max_seeds=opts["max_seeds"], batch=opts["batch"],
                  n0=n0, family=members, family_kind=opts["family_kind"], variants=among)


def variants_of(args: argparse.Namespace, sr) -> list[str] | None:
    """The slugs ``--variants`` names (None without the flag), in the study's order.

    Raises:
        ValueError: a name that is none of the study's variants (the message lists them), or no name.
    """
    text = getattr(args, "variants", None)
    if text is None:
        return None
    names = _names(text)
    slugs = [v.slug for v in sr.variants]
    unknown = [n for n in names if n not in slugs]
    if unknown or not names:
        raise ValueError(f"--variants {text!r}: {', '.join(map(repr, unknown)) or 'no variant named'} "
                         f"{'is not a variant' if len(unknown) == 1 else 'are not variants'} of {sr.spec.name if sr.spec else 'the study'}; "
                         f"its variants: {', '.join(slugs)}")
    return [s for s in slugs if s in names]


def _names(text: str) -> list[str]:
    """The comma-separated names of ``--variants``, blanks dropped."""
    return [t.strip() for t in text.split(",") if t.strip()]


def restrict(members: list, among: list[str], study: str, kind: str) -> list:
    """The members whose variants are all in ``among``.

    Raises:
        ValueError: none is (the message says which family and variants were asked for).
    """
    keep = [m for m in members if {m.a, m.b} - {None} <= set(among)]
    if not keep:
        raise ValueError(f"--variants {','.join(among)}: no comparison or claim of {study}'s family "
                         f"(--family {kind}) has only these variants")
    return keep


def _check_design(record, args: argparse.Namespace) -> None:
    """Raises ValueError when a flag would change the design fixed at the first look."""
    given = getattr(args, "variants", None)
    if given is not None and set(_names(given)) != set(record.variants or []):
        raise ValueError(f"--variants {given}: {record.study}'s design was fixed at its first look "
                         f"(--variants {','.join(record.variants or []) or '(all)'}); leave the flag out, or delete "
                         f"_sequential/{record.study}.json in the results folder to start a new design")
    for k in DEFAULTS:
        given, fixed = getattr(args, k), getattr(record, k)
        if given is not None and given != fixed:
            flag = "--family" if k == "family_kind" else f"--{k.replace('_', '-')}"
            raise ValueError(f"{flag} {given}: {record.study}'s design was fixed at its first look "
                             f"({flag} {fixed}); leave the flag out, or delete "
                             f"_sequential/{record.study}.json in the results folder to start a new design")


def _cost(sr, slugs: set[str], k: int) -> float:
    """Seconds ``k`` more seeds of the variants ``slugs`` would take: their mean recorded run time each."""
    total = 0.0
    for v in sr.variants:
        walls = [r.get("wall_seconds") or 0.0 for r in v.runs]
        if v.slug in slugs and walls:
            total += k * float(np.mean(walls))
    return total


def until_decided(spec, args: argparse.Namespace, console: Console, results: Path, train) -> str:
    """Decide ``spec``'s family by adding seeds; returns why it stopped. ``train(spec)`` trains what
    the spec's plan is missing and returns the seconds it took.

    Raises:
        ValueError: a bad flag (a budget that does not parse, a changed design, a cap below the seeds
            the study has).
    """
    from reportgen.report.judge.verdicts import make_look, open_members, schedule
    from reportgen.results import sequential
    from reportgen.results.chain import collect

    budget = parse_budget(args.budget)
    readers = _readers(spec)
    if readers:
        console.print(f"[yellow]warning[/] {', '.join(readers)} read {spec.name}'s results (base=Selected or "
                      "FromResults): seeds added here can change what they select, and then their runs go stale",
                      highlight=False, soft_wrap=True)
    record = sequential.load(results, spec.name)
    if record is not None:
        _check_design(record, args)
    spent = train(spec)  # the declared seeds, and a batch an interrupted call recorded but did not finish
    sr = collect(spec, results)
    if record is None:
        record = _start(spec, sr, args, console)
    looks = schedule(record.n0, record.batch, record.max_seeds)
    while True:
        if not sr.complete:
            return "runs failed or missing: see above"
        if len(record.looks) < len(looks) and (not record.looks or record.looks[-1].n < _n_now(record)):
            record.looks.append(make_look(sr, record, _now()))
            _report(record, console)
        open_ = open_members(record)
        k = len(record.looks)
        why = ("all decided" if not open_ else "seed cap" if k >= len(looks) else None)
        if why is None:
            add = looks[k] - looks[k - 1]
            slugs = {s for m in open_ for s in (m.a, m.b) if s}
            if budget is not None and spent + _cost(sr, slugs, add) > budget:  # per call
                why = "budget"
        if why:
            record = record.model_copy(update={"stopped": why, "seconds": record.seconds + spent})
            sequential.save(results, record)
            return why
        used = [*spec.study.sweep.seeds, *(s for seeds in record.added.values() for s in seeds)]
        new = list(range(max(used) + 1, max(used) + 1 + add))
        added = {slug: [*record.added.get(slug, []), *new] for slug in slugs}
        record = record.model_copy(update={"added": {**record.added, **added}, "stopped": None})
        sequential.save(results, record)  # before training: an interrupted batch resumes from here
        console.print(f"{spec.name}: look {k + 1} at {looks[k]} seeds: adding seeds {', '.join(map(str, new))} to "
                      f"{', '.join(sorted(slugs))}", highlight=False, soft_wrap=True)
        spent += train(spec)
        sr = collect(spec, results)


def _readers(spec) -> list[str]:
    """The studies in ``spec``'s folder whose runs are computed from its results."""
    from reportgen.spec.catalog import load_all

    specs, _ = load_all(spec.path.parent)
    return sorted(name for name, s in specs.items() if spec.name in s.study.upstream())


def _n_now(record) -> int:
    """Seeds per variant the record's added seeds reach (n₀ plus the batches added so far)."""
    return record.n0 + max((len(v) for v in record.added.values()), default=0)


def _report(record, console: Console) -> None:
    look = record.looks[-1]
    decided = {mid: d for mid, d in look.decisions.items() if d.verdict != "undecided"}
    console.print(f"{record.study}: look {look.look} at n = {look.n}: {len(decided)} of {len(look.decisions)} "
                  f"open comparison(s) decided" + "".join(f"; {escape(mid)}: {d.verdict}" for mid, d in decided.items()),
                  highlight=False, soft_wrap=True)
