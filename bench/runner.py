"""``python -m bench.runner`` (``invoke bench``): the canonical DataLoader loop and reportgen's runner, side by side, in one process.

Workloads (issue 8), each trained once per side from the same :class:`reportgen.spec.schema.RunConfig`,
seed, initial weights and training images:

- ``mlp``: the 784-128-10 MLP, Adam 1e-3, batch 32;
- ``mlp_fused``: the same with the run config's opt-in ``optim.fused`` (torch's fused Adam kernel; its
  numbers differ from ``mlp``'s in the last bits, so it is a field of the config, not the default).
  The canonical side is the same loop as for ``mlp`` (plain Adam): the row measures that lever too;
- ``examples_cnn``: the pytorch/examples ``mnist/main.py`` CNN (conv 32 → conv 64 → max-pool →
  dense 128 → 10, dropout 0.25 and 0.5; 1,199,882 parameters), batch 64, Adam 1e-3 (the example's
  Adadelta is not in the spec's optimizers; the step costs the same). The 0.25 dropout sits before
  the max-pool (the ``layers`` family has no dropout layer of its own), the example's after it;
- ``budget_model3``: ``experiments/budget_cnns.py`` variant ``model-3`` as that spec resolves it
  (SGD 0.03 / momentum 0.95, ReduceLROnPlateau, augmentation), batch 64. The canonical side augments
  each PIL image with torchvision ``RandomAffine`` / ``RandomPerspective``; the runner augments
  batches on the device with kornia.

What is measured, per workload and side:

- ``*_s_per_epoch``: wall seconds of the **training pass alone**, averaged over the epochs. Baseline:
  the loop over the ``DataLoader`` (loading, transforms, collation, forward, backward, step).
  Ours: each epoch's ``seconds`` from :func:`reportgen.run.train.train_run`'s history minus the time
  spent in its per-epoch evaluations (``train.evaluate`` on 5,000 training and the validation
  images), measured by wrapping that function for the duration of the run. The per-epoch loops as
  shipped, evaluations included, are in ``*_s_per_epoch_with_eval`` (baseline: train + test pass;
  ours: the history's ``seconds``). ``speedup`` = baseline / ours.
- ``*_acc``: test accuracy after the last epoch (the baseline's last ``test()``, the runner's
  ``test.accuracy``) on the same test images. ``acc_agree``: ``|Δ| ≤ acc_tolerance`` (0.3 pp in the
  full mode; 1 pp for ``--quick``'s single short epoch). ``augmented``: the workload augments its
  training images. Without augmentation, on the CPU, both sides compute the same training run and
  their accuracies are equal. With it, each side draws its own random transforms (torchvision on PIL
  images, kornia on tensor batches), so one seed's accuracies agree only in distribution: measured
  for ``budget_model3`` on 10,000 images × 1 epoch, tested on 2,000, seeds 0–2, the canonical loop
  gave 74.9–86.5 % and the runner 63.6–84.2 %, while without augmentation both gave 79.7, 82.5 and
  74.35 %. ``acc_agree`` is then no check of the runner: the table prints it as not comparable.
- ``peak_mem_mb`` (ours) and ``baseline_peak_mem_mb``: on CUDA, ``torch.cuda.max_memory_allocated``
  above what was allocated when the side started; on the CPU, the process's peak resident set
  (``VmHWM``, reset through ``/proc/self/clear_refs``) above its resident set when the side started,
  after ``malloc_trim`` (approximate: memory the allocator kept from earlier work is reused
  unseen; where the reset is unavailable, the ``ru_maxrss`` high-water mark, which sees only growth
  above the earlier peak). Ours adds the whole data set it keeps resident as normalised float32
  (``data_resident_mb``, loaded once before the workloads); the baseline builds its own uint8 copy
  inside the measurement.

On the CPU, before the workloads, the machine itself (:func:`run_machine`, :mod:`bench.levers`): the
measured peak (fp32 matmul, 3×3 conv in both layouts, the per-step overhead floor) at one thread and
at the run's thread count, and each CPU lever's ratio (``channels_last``, oneDNN freeze,
``torch.compile``, workers × threads). The JSON is one object: those keys, then ``workloads`` (the
records below).

A small untimed warm-up (one forward/backward of a throwaway model) precedes each workload so that
neither side pays one-time kernel set-up. Timings are wall clock: on a shared machine they include
whatever else runs there (``load_avg_1min`` is recorded). With more torch threads than idle cores,
CPU steps slow down by orders of magnitude (threads wait on each other): on a busy machine pass
``--threads 1``.
"""
from __future__ import annotations

import json
import os
import platform
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

from reportgen.run.peakmem import Peak
from reportgen.spec.config import MLP, Conv, Data, Dense, Layers, MaxPool, Optim, RunConfig, Train

WORKLOADS = ("mlp", "mlp_fused", "examples_cnn", "budget_model3")
DESCRIPTIONS = {"mlp": "784-128-10 MLP, batch 32", "mlp_fused": "784-128-10 MLP, batch 32, optim.fused (opt-in)",
                "examples_cnn": "pytorch/examples CNN, batch 64",
                "budget_model3": "budget_cnns model 3 + augmentation, batch 64"}
#: Parameters of pytorch/examples' ``Net`` (mnist/main.py): 320 + 18,496 + 1,179,776 + 1,290.
EXAMPLES_CNN_PARAMS = 1_199_882
#: (epochs, training images) per mode; None = the whole training split (55,000 images).
MODES = {"quick": (1, 10_000), "full": (2, None)}
#: Largest |baseline_acc − ours_acc| (fraction) still called agreement, per mode.
TOLERANCE = {"quick": 0.01, "full": 0.003}
RECORD_KEYS = ("workload", "device", "baseline_s_per_epoch", "ours_s_per_epoch", "speedup", "baseline_acc",
               "ours_acc", "peak_mem_mb")


def examples_cnn() -> Layers:
    """pytorch/examples' MNIST ``Net`` in the ``layers`` family (see the module docstring)."""
    return Layers(layers=(Conv(32, padding="valid"), Conv(64, padding="valid", dropout=0.25), MaxPool(),
                          Dense(128, dropout=0.5), Dense(10, activation="none")))


def check_workloads(workloads: tuple[str, ...]) -> None:
    """Check that every name is one of ``WORKLOADS``.

    Raises:
        ValueError: a name that is not, naming it and the choices."""
    if unknown := [w for w in workloads if w not in WORKLOADS]:
        raise ValueError(f"unknown workload(s) {', '.join(unknown)}; choose from {', '.join(WORKLOADS)}")


def configs(workloads: tuple[str, ...], epochs: int, images: int | None, test_images: int | None = None,
            val_size: int = 5000, experiments: Path = Path("experiments")) -> dict[str, RunConfig]:
    """The RunConfig of each workload with the bench's epochs and subsets, probes removed.

    Raises:
        ValueError: an unknown workload name.
        SpecError: ``budget_cnns.py`` does not load or has no ``model-3`` variant.
    """
    check_workloads(workloads)
    base = {"mlp": RunConfig(model=MLP(hidden=(128,)), optim=Optim(), train=Train(batch_size=32)),
            "mlp_fused": RunConfig(model=MLP(hidden=(128,)), optim=Optim(fused=True), train=Train(batch_size=32)),
            "examples_cnn": RunConfig(model=examples_cnn(), optim=Optim(), train=Train(batch_size=64))}
    out = {}
    for w in workloads:
        tree = (base[w] if w in base else _budget_model3(experiments)).model_dump()
        tree["train"]["epochs"] = epochs
        tree["data"] = Data(val_size=val_size, train_subset=images, test_subset=test_images).model_dump()
        tree["probes"] = []
        out[w] = RunConfig.model_validate(tree)
    return out


def _budget_model3(experiments: Path) -> RunConfig:
    from reportgen.spec.catalog import load_spec
    from reportgen.spec.expand import SpecError, expand

    spec = load_spec(experiments / "budget_cnns.py")
    runs = [r for r in expand(spec.study, spec.name, str(spec.path)) if r.variant == "model-3"]
    if not runs:
        raise SpecError(f"{spec.path}: no variant 'model-3'")
    return runs[0].config


@contextmanager
def _timed_evaluations(log: list[float]) -> Iterator[None]:
    """Record the wall seconds of every ``reportgen.run.train.evaluate`` call made inside the block."""
    from reportgen.run import train as train_mod

    original = train_mod.evaluate

    def timed(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return original(*args, **kwargs)  # ends in .item(): the device is synchronised
        finally:
            log.append(time.perf_counter() - start)

    train_mod.evaluate = timed
    try:
        yield
    finally:
        train_mod.evaluate = original


def _warm_up(config: RunConfig, device: Any) -> None:
    """One untimed forward/backward (and eval forward) of a throwaway model: kernel selection and
    thread-pool start-up land here, not in whichever side happens to run first."""
    import torch
    import torch.nn.functional as F

    from reportgen.run import augment
    from reportgen.run.models import build

    model = build(config.model.model_dump()).to(device)
    x = torch.zeros(config.train.batch_size, 1, 28, 28, device=device)
    aug = augment.make(config.train.augment)
    F.cross_entropy(model(aug(x) if aug else x), torch.zeros(len(x), dtype=torch.long, device=device)).backward()
    with torch.no_grad():
        model.eval()(torch.zeros(1000, 1, 28, 28, device=device))


def run_baseline(config: RunConfig, seed: int, root: Path, device: Any, n_train: int, n_test: int) -> dict[str, Any]:
    """The canonical loop (:mod:`bench.canonical`) on ``config``, with torch's default (unfused) optimizer."""
    import torch

    from bench import canonical
    from reportgen.run.models import build
    from reportgen.run.optim import make_optimizer, make_scheduler

    cfg = config.model_dump()
    start = time.perf_counter()
    train_loader, test_loader = canonical.loaders(root, cfg["train"]["batch_size"], n_train, n_test, device,
                                                  cfg["train"]["augment"], seed)
    torch.manual_seed(seed)  # as train_run: the same initial weights and dropout stream
    model = build(cfg["model"]).to(device)
    opt = make_optimizer(model, config.optim.model_copy(update={"fused": False}))
    sched = make_scheduler(opt, config.train.scheduler, config.train.epochs)
    out = canonical.fit(model, device, train_loader, test_loader, opt, cfg["train"]["epochs"], sched,
                        cfg["optim"]["l2"])
    return {"train_s": out["train_seconds"], "with_eval_s": [a + b for a, b in zip(out["train_seconds"],
                                                                                    out["test_seconds"])],
            "acc": out["test_acc"], "params": sum(p.numel() for p in model.parameters()),
            "wall_s": time.perf_counter() - start}


def run_ours(config: RunConfig, seed: int, data: Any) -> dict[str, Any]:
    """:func:`reportgen.run.train.train_run` on ``config``, its training pass timed apart from its evaluations."""
    from reportgen.run.train import train_run

    evals: list[float] = []
    per_epoch: list[float] = []

    def on_epoch(_: dict) -> None:
        if not evals:
            raise RuntimeError("train_run made no train.evaluate call this epoch: the bench's timing hook "
                               "no longer matches reportgen/run/train.py")
        per_epoch.append(sum(evals))
        evals.clear()

    start = time.perf_counter()
    with _timed_evaluations(evals):
        result = train_run(config, seed, data, on_epoch=on_epoch)
    history = result["history"]
    return {"train_s": [h["seconds"] - e for h, e in zip(history, per_epoch)],
            "with_eval_s": [h["seconds"] for h in history], "acc": result["test"]["accuracy"],
            "params": result["params"], "status": result["status"], "wall_s": time.perf_counter() - start}


def _mean(xs: list[float]) -> float:
    return sum(xs) / len(xs)


def run_bench(root: Path, device: str = "auto", workloads: tuple[str, ...] = WORKLOADS, quick: bool = False,
              epochs: int | None = None, images: int | None = None, test_images: int | None = None,
              val_size: int = 5000, seed: int = 0, acc_tolerance: float | None = None,
              experiments: Path = Path("experiments"),
              log: Callable[[str], None] = lambda _: None) -> list[dict[str, Any]]:
    """Train each workload once per side and return one record per workload (keys: ``RECORD_KEYS``
    first, then ``description``, ``mode``, ``epochs``, ``images``, ``test_images``, ``batch_size``,
    ``params``, ``acc_agree``, ``acc_tolerance``, ``baseline_peak_mem_mb``, ``data_resident_mb``,
    ``mem_method``, ``*_s_per_epoch_with_eval``, ``speedup_with_eval``, ``*_wall_s``, ``seed``,
    ``device_name``, ``threads``, ``torch``, ``load_avg_1min``). Times in seconds, accuracies as fractions, memory in MiB.

    ``quick``/full set ``epochs`` and ``images`` (training images; None = the whole training split)
    unless given; ``test_images`` None = all 10,000.

    Raises:
        DataError: MNIST is missing or fails its checksum.
        ValueError: an unknown workload, or ``device="cuda"`` without CUDA.
        AssertionError: the two sides built models of different sizes, or the examples CNN is not
            1,199,882 parameters.
    """
    import torch

    from bench import canonical  # noqa: F401 - imported (sklearn, torchvision) before any memory is measured
    from reportgen.run import train  # noqa: F401 - imported (sklearn, torchvision) before any memory is measured
    from reportgen.data.mnist import load
    from reportgen.run.jobs import resolve_device

    mode = "quick" if quick else "full"
    d_epochs, d_images = MODES[mode]
    custom = epochs is not None or images is not None or test_images is not None
    epochs, images = epochs or d_epochs, images if images is not None else d_images
    tol = acc_tolerance if acc_tolerance is not None else TOLERANCE[mode]
    dev = resolve_device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("--device cuda: torch sees no CUDA device")
    cfgs = configs(tuple(workloads), epochs, images, test_images, val_size, experiments)
    log(f"loading MNIST from {root} onto {dev}")
    data = load(root, dev)
    resident = sum(t.numel() * t.element_size() for t in (data.x_train, data.y_train, data.x_test, data.y_test))
    device_name = (torch.cuda.get_device_name(dev) if dev.type == "cuda"
                   else f"cpu ({platform.machine()}, {torch.get_num_threads()} threads)")
    records = []
    for w, config in cfgs.items():
        d = config.data
        split = data.split(d.val_size, d.train_subset, d.test_subset)
        n_train, n_test = len(split["train"][1]), len(split["test"][1])
        log(f"{w}: {DESCRIPTIONS[w]}; {epochs} epoch(s) on {n_train:,} images, test on {n_test:,}")
        _warm_up(config, dev)
        load_avg = os.getloadavg()[0] if hasattr(os, "getloadavg") else -1.0  # other work on the machine
        with Peak(dev) as base_mem:
            base = run_baseline(config, seed, root, dev, n_train, n_test)
        log(f"  baseline {_mean(base['train_s']):.2f} s/epoch, test acc {base['acc']:.4f}")
        with Peak(dev) as our_mem:
            ours = run_ours(config, seed, data)
        log(f"  ours     {_mean(ours['train_s']):.2f} s/epoch, test acc {ours['acc']:.4f}")
        assert base["params"] == ours["params"], (w, base["params"], ours["params"])
        if w == "examples_cnn":
            assert ours["params"] == EXAMPLES_CNN_PARAMS, ours["params"]
        b_s, o_s = _mean(base["train_s"]), _mean(ours["train_s"])
        b_e, o_e = _mean(base["with_eval_s"]), _mean(ours["with_eval_s"])
        records.append({
            "workload": w, "device": dev.type, "baseline_s_per_epoch": b_s, "ours_s_per_epoch": o_s,
            "speedup": b_s / o_s, "baseline_acc": base["acc"], "ours_acc": ours["acc"],
            "peak_mem_mb": our_mem.mb + resident / 2**20,
            "description": DESCRIPTIONS[w], "mode": "custom" if custom else mode, "epochs": epochs,
            "images": n_train, "test_images": n_test, "batch_size": config.train.batch_size,
            "params": ours["params"], "acc_agree": abs(base["acc"] - ours["acc"]) <= tol + 1e-12,
            "augmented": config.train.augment is not None,
            "acc_tolerance": tol, "baseline_peak_mem_mb": base_mem.mb, "data_resident_mb": resident / 2**20,
            "mem_method": our_mem.method, "baseline_s_per_epoch_with_eval": b_e, "ours_s_per_epoch_with_eval": o_e,
            "speedup_with_eval": b_e / o_e, "baseline_wall_s": base["wall_s"], "ours_wall_s": ours["wall_s"],
            "ours_status": ours["status"], "seed": seed, "device_name": device_name,
            "threads": torch.get_num_threads(), "torch": torch.__version__, "load_avg_1min": load_avg,
        })
    return records


def run_machine(threads: int, levers: str = "all", matmul_n: int = 3072, repeats: int = 5,
                log: Callable[[str], None] = lambda _: None) -> dict[str, Any]:
    """The machine's measured peak (:func:`bench.levers.measure_peak`) at one thread and at ``threads``,
    and the CPU levers (:func:`bench.levers.measure_levers`; ``levers``: ``all``, ``no-compile`` or
    ``none``) at ``threads``. Keys: ``device``, ``cpu_capability``, ``threads``, ``torch``,
    ``load_avg_1min``, the peak at ``threads`` (``peak_gflops_matmul``, ``peak_gflops_conv``,
    ``conv_gflops_default``, ``conv_gflops_channels_last``, ``step_overhead_ms``; GFLOP/s = 1e9 FLOP/s),
    ``peaks`` (one such dict per thread count) and ``levers`` (one row per lever)."""
    import torch

    from bench import levers as lv

    log(f"machine peak: fp32 matmul {matmul_n}², 3×3 conv {lv.CONV}, at {sorted({1, threads})} thread(s)")
    peaks = [lv.measure_peak(t, repeats, matmul_n) for t in sorted({1, threads})]
    at = peaks[-1]
    for p in peaks:
        log(f"  {p['threads']} thread(s): matmul {p['peak_gflops_matmul']:.0f} GFLOP/s, conv "
            f"{p['conv_gflops_default']:.0f} (NCHW) / {p['conv_gflops_channels_last']:.0f} (channels_last), "
            f"step overhead {p['step_overhead_ms']:.2f} ms")
    rows = [] if levers == "none" else lv.measure_levers(repeats, compile_=levers == "all", log=log)
    return {"device": "cpu", "device_name": lv.device_name(), "cpu_capability": torch.backends.cpu.get_cpu_capability(),
            "threads": threads, "torch": torch.__version__, "load_avg_1min": lv.load_avg(),
            **{k: at[k] for k in ("peak_gflops_matmul", "peak_gflops_conv", "conv_gflops_default",
                                  "conv_gflops_channels_last", "step_overhead_ms")},
            "peaks": peaks, "levers": rows}


def write_json(records: list[dict[str, Any]], path: Path, machine: dict[str, Any] | None = None) -> None:
    """Strict JSON (no NaN), written atomically (temp file + ``os.replace``): ``machine``'s keys
    (:func:`run_machine`) and ``workloads`` (the records)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps({**(machine or {}), "workloads": records}, indent=2, allow_nan=False) + "\n",
                   encoding="utf-8")
    os.replace(tmp, path)


def table(records: list[dict[str, Any]]) -> Any:
    """A rich Table of the records."""
    from rich.table import Table

    t = Table("workload", "device", "epochs × images", "baseline s/epoch", "ours s/epoch", "speedup",
              "speedup incl. eval", "baseline acc", "ours acc", "agree", "peak MiB ours / baseline",
              title="canonical DataLoader loop (baseline) vs reportgen runner (ours): training pass per epoch")
    for r in records:
        agree = ("[green]yes[/]" if r["acc_agree"] else "[yellow]not comparable[/] (augmentation draws differ)"
                 if r.get("augmented") else f"[red]no[/] (> {100 * r['acc_tolerance']:.1f} pp)")
        t.add_row(r["workload"], r["device"], f"{r['epochs']} × {r['images']:,}", f"{r['baseline_s_per_epoch']:.2f}",
                  f"{r['ours_s_per_epoch']:.2f}", f"{r['speedup']:.1f}×", f"{r['speedup_with_eval']:.1f}×",
                  f"{100 * r['baseline_acc']:.2f} %", f"{100 * r['ours_acc']:.2f} %", agree,
                  f"{r['peak_mem_mb']:.0f} / {r['baseline_peak_mem_mb']:.0f}")
    return t


def add_arguments(p: Any) -> None:
    """The ``bench`` subcommand's options on an argparse parser."""
    p.add_argument("--quick", action="store_true",
                   help=f"{MODES['quick'][0]} epoch on the first {MODES['quick'][1]:,} training images (minutes on 2 "
                        f"CPU cores); default: the full mode, {MODES['full'][0]} epochs on all 55,000")
    p.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N")
    p.add_argument("--workloads", nargs="+", metavar="NAME",
                   help=f"some of {', '.join(WORKLOADS)} (space- or comma-separated; default: all)")
    p.add_argument("--json", default="bench/latest.json", help="where the records go (default: bench/latest.json)")
    p.add_argument("--data-dir", help="MNIST root (default: $REPORTGEN_DATA, else ./data)")
    p.add_argument("--threads", type=int, help="torch CPU threads (default: torch's, one per core)")
    p.add_argument("--seed", type=int, default=0, help="seed of both sides (weights, order, dropout)")
    p.add_argument("--epochs", type=int, help="override the mode's epochs")
    p.add_argument("--images", type=int, help="override the mode's training images (first N of the training split)")
    p.add_argument("--test-images", type=int, help="first N test images (default: all 10,000)")
    p.add_argument("--experiments", default="experiments", help="folder of spec files (the bench workloads' specs)")
    p.add_argument("--val-size", type=int, default=5000, help="the runner's validation split (last N training images)")
    p.add_argument("--levers", choices=("all", "no-compile", "none"), default="all",
                   help="CPU levers to measure (torch.compile alone takes a minute or more to compile)")
    p.add_argument("--matmul-n", type=int, default=3072, help="side of the square fp32 matmul of the peak")


def command(args: Any, console: Any) -> int:
    """Run, print the table, write the JSON. Exit 0, or 2 on bad input / no data."""
    from rich.markup import escape

    from reportgen.spec.expand import SpecError
    from reportgen.data.fetch import DataError, data_root
    from reportgen.run.jobs import resolve_device

    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    workloads = tuple(w.strip() for w in ",".join(args.workloads or WORKLOADS).split(",") if w.strip())
    try:
        check_workloads(workloads)  # before the peak (a minute): bad input fails at once
    except ValueError as err:
        console.print(f"[red]bench: {escape(str(err))}[/]", highlight=False, soft_wrap=True)
        return 2
    start = time.perf_counter()
    import torch

    machine = None
    try:
        if resolve_device(args.device).type == "cpu":
            machine = run_machine(torch.get_num_threads(), args.levers, args.matmul_n,
                                  log=lambda m: console.print(escape(m), highlight=False))
        records = run_bench(data_root(args.data_dir), args.device, workloads, quick=args.quick, epochs=args.epochs,
                            images=args.images, test_images=args.test_images, val_size=args.val_size,
                            seed=args.seed, experiments=Path(args.experiments),
                            log=lambda m: console.print(escape(m), highlight=False))
    except (DataError, ValueError, SpecError) as err:
        console.print(f"[red]bench: {escape(str(err))}[/]", highlight=False, soft_wrap=True)
        return 2
    console.print(table(records))
    for r in records:
        if not r["acc_agree"]:
            console.print(f"[yellow]warning[/] {r['workload']}: test accuracy differs by "
                          f"{100 * abs(r['baseline_acc'] - r['ours_acc']):.2f} pp "
                          f"(tolerance {100 * r['acc_tolerance']:.1f} pp)"
                          + ("; the two sides draw different augmentations, so one seed's accuracies "
                             "agree only in distribution" if r.get("augmented") else ""), highlight=False)
    write_json(records, Path(args.json), machine)
    console.print(f"wrote {args.json} in {time.perf_counter() - start:.0f} s", highlight=False)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Command line: ``python -m bench.runner [--quick] [--device D] ...`` from the repository root."""
    import argparse

    from rich.console import Console

    ap = argparse.ArgumentParser(prog="python -m bench.runner", description=__doc__.splitlines()[0])
    add_arguments(ap)
    return command(ap.parse_args(argv), Console(stderr=True))


if __name__ == "__main__":
    raise SystemExit(main())
