"""Measure what changes a CPU run's numbers: reruns of one committed study at several thread counts and
CPU kernel sets, compared with each other and with the committed results; writes the table of
``docs/reproducibility.md``.

    python bench/reproducibility.py measure [--study mlp_baseline] [--settings native-1t,default-1t,...] [--seeds 0]
    python bench/reproducibility.py table   # rewrite the measured block of docs/reproducibility.md

``measure`` retrains every seed of the study (or ``--seeds``) once per setting into a temporary results folder
(``reportgen run --force --threads N``; ``ATEN_CPU_CAPABILITY=default`` selects torch's
non-vectorised kernels) and stores each setting's results under ``bench/reproducibility/<setting>.json``
with the host's vector ISA, torch version and date. Two ``measure`` processes with different settings
may run side by side. ``table`` reads those files and the committed ``results/`` and writes the
Markdown table between the ``<!-- measured -->`` markers of the page; no number in it is typed by hand.

Compared per seed: test accuracy, final ``train_loss`` and the whole per-epoch history (every
recorded value except seconds); "identical" means every one of those floats is equal.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "reproducibility"
PAGE = ROOT / "docs" / "reproducibility.md"
BEGIN, END = "<!-- measured: begin (bench/reproducibility.py table) -->", "<!-- measured: end -->"

#: name → (torch threads, ATEN_CPU_CAPABILITY or None for the host's best kernels)
SETTINGS = {
    "native-1t": (1, None), "native-1t-again": (1, None),
    "native-2t": (2, None), "native-2t-again": (2, None),
    "default-1t": (1, "default"),
}


def measure(study: str, names: list[str], seeds: list[int] | None = None) -> None:
    """Retrain ``study`` (all its seeds, or ``seeds``) once per setting; write ``OUT/<setting>.json``.
    Raises KeyError for an unknown setting and CalledProcessError when a run fails."""
    OUT.mkdir(parents=True, exist_ok=True)
    for name in names:
        threads, isa = SETTINGS[name]
        env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
        env.pop("ATEN_CPU_CAPABILITY", None)
        if isa:
            env["ATEN_CPU_CAPABILITY"] = isa
        # results in <tmp>/results: the run's locks and checkpoints (<results>/../.cache) stay in <tmp>, so
        # no setting resumes from another's checkpoint and two settings can train the same key side by side
        with tempfile.TemporaryDirectory(prefix=f"repro-{name}-") as top:
            tmp, experiments = Path(top, "results"), ROOT / "experiments"
            if seeds is not None:  # a spec that loads the study's and keeps only these seeds (run keys unchanged)
                experiments = Path(top, "experiments")
                experiments.mkdir()
                (experiments / f"{study}.py").write_text(SUBSET.format(path=str(ROOT / "experiments" / f"{study}.py"),
                                                                       seeds=tuple(seeds)))
            subprocess.run([sys.executable, "-m", "reportgen", "--experiments", str(experiments), "--results-dir",
                            str(tmp), "run", study, "--force", "--threads", str(threads), "--device", "cpu",
                            "--no-render", "--quiet"], cwd=ROOT, env=env, check=True)
            runs = [json.loads(p.read_text()) for p in sorted(Path(tmp, study).glob("*/seed*.json"))]
        record(study, name, runs)


SUBSET = """import importlib.util

_spec = importlib.util.spec_from_file_location("_full", {path!r})
_full = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_full)
STUDY = _full.STUDY.model_copy(update={{"sweep": _full.STUDY.sweep.model_copy(update={{"seeds": {seeds!r}}})}})
"""


def record(study: str, name: str, runs: list[dict]) -> None:
    """Store one setting's finished runs as ``OUT/<name>.json``."""
    threads, isa = SETTINGS[name]
    rec = {"study": study, "setting": name, "threads": threads, "aten_cpu_capability": isa or "(host best)",
           "date": dt.date.today().isoformat(), "machine": platform.machine(),
           "runs": [_slim(r) for r in runs if r.get("status") == "completed"]}
    (OUT / f"{name}.json").write_text(json.dumps(rec, indent=1) + "\n")
    print(f"{name}: " + ", ".join(f"seed {r['seed']} {r['test_accuracy']:.4f}" for r in rec["runs"]), flush=True)


def _slim(r: dict) -> dict:
    """The fields compared: key, seed, device, torch, test accuracy/loss and the history without seconds."""
    return {"key": r["key"], "seed": r["seed"], "device": r["provenance"]["device"], "torch": r["provenance"]["torch"],
            "created": r["provenance"]["created"], "test_accuracy": r["test"]["accuracy"], "test_loss": r["test"]["loss"],
            "history": [{k: v for k, v in h.items() if k != "seconds"} for h in r["history"]]}


def committed(path: str, label: str, threads: int, note: str) -> dict:
    """A committed study's results as a row: ``results/<path>/seed*.json`` trained at ``threads`` threads,
    in seed order."""
    runs = sorted((json.loads(p.read_text()) for p in (ROOT / "results" / path).glob("seed*.json")), key=lambda r: r["seed"])
    runs = [r for r in runs if r["provenance"].get("threads", threads) == threads]  # seeds added later ran elsewhere
    return {"setting": label, "threads": threads, "committed": f"`results/{path}/`", "note": note,
            "runs": [_slim(r) for r in runs]}


def first_difference(a: dict, b: dict) -> str:
    """Where run ``b`` first departs from run ``a`` (same seed): 'identical' or 'epoch N (field)'."""
    for ha, hb in zip(a["history"], b["history"]):
        diff = [k for k in ha if k in hb and ha[k] != hb[k]]
        if diff:
            k = diff[0]
            rel = abs(ha[k] - hb[k]) / abs(ha[k]) if ha[k] else float("inf")
            return f"epoch {ha['epoch']} (`{k}`, relative difference {rel:.0e})"
    same = a["test_accuracy"] == b["test_accuracy"] and a["test_loss"] == b["test_loss"] \
        and len(a["history"]) == len(b["history"])
    return "identical" if same else "test metrics"


#: Which row each row is compared with (same seed): the repeat with its first run, another thread
#: count or kernel set with the 1-thread run, a committed result with the rerun at its thread count.
AGAINST = {"native-1t-again": "native-1t", "native-2t-again": "native-2t", "native-2t": "native-1t",
           "default-1t": "native-1t", "committed-1t": "native-1t", "committed-2t": "native-2t"}


def table() -> str:
    """The measured block: a sentence on what was run, the table, and one generated sentence per finding."""
    rows = {p.stem: json.loads(p.read_text()) for p in sorted(OUT.glob("*.json"), key=lambda p: list(SETTINGS).index(p.stem)
                                                                   if p.stem in SETTINGS else len(SETTINGS))}
    if "native-1t" not in rows:
        raise SystemExit(f"no native-1t measurement under {OUT}: run `python bench/reproducibility.py measure` first")
    base, study = rows["native-1t"], rows["native-1t"]["study"]
    rows["committed-1t"] = committed("custom_images/mlp", "custom_images mlp", 1,
                                     f"the same training as `{study}` plus two end-of-training probes")
    rows["committed-2t"] = committed(f"{study}/default", study, 2, "its device does not name the instruction set")
    keys = {r["seed"]: r["key"] for r in rows["committed-2t"]["runs"]}
    lines = [f"Measured on {base['date']} on this host: {base['runs'][0]['device']}, torch {base['runs'][0]['torch']}; "
             f"`{study}` (784-128-10 MLP, Adam, 10 epochs), "
             "retrained with `reportgen run --force --threads N` (`ATEN_CPU_CAPABILITY=default`: torch's "
             "non-vectorised kernels). *identical*: every per-epoch value (losses, accuracies, learning rate) and "
             "the test metrics equal to the last bit; otherwise the first epoch and field that differ.", "",
             "| run | device (as recorded) | seeds | test accuracy per seed (%) | final `train_loss`, seed 0 | compared with | per seed |",
             "|---|---|---|---|---|---|---|"]
    found = []
    for name, rec in rows.items():
        against = rows.get(AGAINST.get(name, ""))
        accs = " / ".join(f"{r['test_accuracy'] * 100:.2f}" for r in rec["runs"])
        loss = f"{rec['runs'][0]['history'][-1]['train_loss']:.6f}"
        if "committed" in rec:
            what = f"committed {rec['committed']}" + (f" ({rec['note']})" if rec["note"] else "")
        else:
            isa = rec["aten_cpu_capability"]
            what = f"rerun, {rec['threads']} thread{'s' * (rec['threads'] > 1)}" + \
                (f", `ATEN_CPU_CAPABILITY={isa}`" if isa != "(host best)" else "") + \
                (", same run key as the committed results" if all(keys.get(r["seed"]) == r["key"] for r in rec["runs"]) else "")
        per = "—"
        if against:
            by_seed = {r["seed"]: r for r in against["runs"]}
            pairs = [(r, by_seed[r["seed"]]) for r in rec["runs"] if r["seed"] in by_seed]
            diffs = [first_difference(b, a) for a, b in pairs]
            gap = max(abs(a["test_accuracy"] - b["test_accuracy"]) for a, b in pairs) * 100
            per = "; ".join(f"seed {a['seed']}: {d}" for (a, _), d in zip(pairs, diffs))
            per += f"; largest test accuracy difference {gap:.2f} pp" if gap else ""
            found.append((name, AGAINST[name], all(d == "identical" for d in diffs), gap))
        devices = ", ".join(sorted({r["device"] for r in rec["runs"]}))
        seeds = ", ".join(str(r["seed"]) for r in rec["runs"])
        lines.append(f"| {name}: {what} | {devices} | {seeds} | {accs} | {loss} | {AGAINST.get(name, '—')} | {per} |")
    lines.append("")
    same = [f"{a} against {b}" for a, b, ident, _ in found if ident]
    other = [(a, b, g) for a, b, ident, g in found if not ident]
    if same:
        lines.append(f"Identical in every value, for every seed compared: {', '.join(same)}.")
    if other:
        lines.append("Different: " + ", ".join(f"{a} against {b} (test accuracy up to {g:.2f} pp apart)"
                                              for a, b, g in other) + ".")
    return "\n".join(lines) + "\n"


def write_page(text: str) -> None:
    page = PAGE.read_text(encoding="utf-8")
    if BEGIN not in page or END not in page:
        raise SystemExit(f"{PAGE}: no {BEGIN!r} … {END!r} block to fill")
    pre, rest = page.split(BEGIN, 1)
    _, post = rest.split(END, 1)
    PAGE.write_text(pre + BEGIN + "\n" + text + END + post, encoding="utf-8")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("measure")
    m.add_argument("--study", default="mlp_baseline")
    m.add_argument("--settings", default=",".join(SETTINGS), help=f"comma-separated, of {', '.join(SETTINGS)}")
    m.add_argument("--seeds", help="comma-separated seeds (default: the study's)")
    sub.add_parser("table")
    args = ap.parse_args()
    if args.cmd == "measure":
        measure(args.study, args.settings.split(","), [int(x) for x in args.seeds.split(",")] if args.seeds else None)
    else:
        text = table()
        write_page(text)
        print(text)


if __name__ == "__main__":
    main()
