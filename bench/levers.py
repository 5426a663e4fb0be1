"""The machine's measured peak and the CPU levers of ``python -m bench.runner``.

Peak (:func:`measure_peak`), per torch thread count: a square fp32 matmul (``MATMUL_N``², best of
``repeats``) and a 3×3 convolution (32 → 64 channels, 28×28, padding 1, batch 64, forward, no
gradient) in the default (NCHW) layout and in ``channels_last``; FLOPs counted as
:mod:`reportgen.run.modelinfo` counts them (2 per multiply-add). ``step_overhead_ms`` is the best
time of one Adam training step (batch 32) of a 784-2-10 MLP, whose 3,176 FLOPs per image make it
pure per-step overhead (Python, autograd, optimizer, indexing): the floor under every training step.

Levers (:func:`measure_levers`), each timed back to back in this process (the two sides alternate,
best of ``repeats`` each, so a neighbour's burst hits both), with ``ratio`` = baseline seconds /
lever seconds (> 1: the lever is faster) and ``identical``: whether the lever leaves every number
the same (weights after a few training steps, or logits, compared bit for bit):

- ``channels_last`` (cnn_baseline step, and the budget_cnns model-2 step with its 8–16 channels):
  one Adam training step at batch 64, model and input in ``torch.channels_last``;
- ``onednn_freeze``: evaluation forward (2,000 images) through ``torch.jit.trace`` +
  ``torch.jit.freeze`` (oneDNN conv + bias + ReLU fusions) against eager;
- ``torch_compile``: the cnn_baseline training step through ``torch.compile`` (inductor), with the
  compile time and the steps needed to earn it back (``break_even_steps``);
- ``workers_1x2``: two worker processes at one thread each against one process at two threads,
  in images per second over both (the runner's default: ``reportgen run --backend processes``);
- ``one_buffer`` (784-128-10 MLP, Adam step at batch 32): the weights and gradients in one buffer
  each (:func:`reportgen.run.optim.flat_parameters`, the runner's default) against one optimizer
  tensor per parameter;
- ``fused_optimizer`` (the same step, both sides on one buffer): torch's fused Adam kernel.

Nothing here changes a run's numbers; the runner only uses a lever a run's config asks for
(``train.channels_last``, ``optim.fused``), or one that leaves every number as it was (``one_buffer``).
"""
from __future__ import annotations

import multiprocessing as mp
import os
import platform
import queue
import time
import warnings
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F

from reportgen.run.models import build
from reportgen.run.optim import make_optimizer
from reportgen.spec.config import Optim

MATMUL_N = 3072
#: (batch, in channels, out channels, height = width, kernel) of the conv microbenchmark.
CONV = (64, 32, 64, 28, 3)
CNN_BASELINE = {"kind": "cnn", "channels": (32, 64), "convs_per_block": 1, "kernel_size": 3, "padding": "valid",
                "activation": "relu", "batchnorm": False, "residual": False, "head": "dense", "hidden": (128,),
                "dropout": 0.25, "init": "default"}
ADAM = Optim()  # Adam, lr 1e-3: the optimizer of cnn_baseline
#: The 784-128-10 MLP of mlp_baseline and the bench's ``mlp`` workload, as a model dict.
MLP_128 = {"kind": "mlp", "hidden": (128,), "activation": "relu", "dropout": 0.0, "init": "default"}
LEVER_KEYS = ("name", "workload", "baseline_ms", "lever_ms", "ratio", "identical", "kept", "note")


def load_avg() -> float:
    """The 1-minute load average (-1 where the OS has none)."""
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else -1.0


def best_of(fn: Callable[[], Any], repeats: int, warmup: int = 1) -> float:
    """Best wall seconds of ``repeats`` calls of ``fn`` after ``warmup`` untimed ones."""
    for _ in range(warmup):
        fn()
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def paired(a: Callable[[], Any], b: Callable[[], Any], repeats: int) -> tuple[float, float]:
    """(best seconds of ``a``, best of ``b``), the two alternating call by call after one warm-up each."""
    a(), b()
    ta = tb = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        a()
        t1 = time.perf_counter()
        b()
        ta, tb = min(ta, t1 - t0), min(tb, time.perf_counter() - t1)
    return ta, tb


def conv_flops(batch: int, cin: int, cout: int, hw: int, k: int) -> int:
    """FLOPs of a stride-1, same-padded k×k convolution's forward (2 per multiply-add)."""
    return 2 * batch * cout * hw * hw * cin * k * k


def device_name() -> str:
    return f"cpu ({platform.processor() or platform.machine()}, {torch.backends.cpu.get_cpu_capability()})"


def measure_peak(threads: int, repeats: int = 5, matmul_n: int = MATMUL_N,
                 conv: tuple[int, int, int, int, int] = CONV) -> dict[str, Any]:
    """The peak at ``threads`` torch threads (restored afterwards). GFLOP/s are 1e9 FLOP per second;
    ``peak_gflops_conv`` is the faster of the two layouts."""
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        g = torch.Generator().manual_seed(0)
        a, b = torch.randn(matmul_n, matmul_n, generator=g), torch.randn(matmul_n, matmul_n, generator=g)
        mm = 2 * matmul_n ** 3 / best_of(lambda: a @ b, repeats) / 1e9
        n, cin, cout, hw, k = conv
        layer = torch.nn.Conv2d(cin, cout, k, padding=k // 2)
        x = torch.randn(n, cin, hw, hw, generator=g)
        layer_cl, x_cl = (torch.nn.Conv2d(cin, cout, k, padding=k // 2).to(memory_format=torch.channels_last),
                          x.contiguous(memory_format=torch.channels_last))
        layer_cl.load_state_dict(layer.state_dict())
        with torch.no_grad():
            t_def, t_cl = paired(lambda: layer(x), lambda: layer_cl(x_cl), repeats)
        fl = conv_flops(*conv)
        overhead = _step_overhead(repeats)
        return {"threads": threads, "peak_gflops_matmul": mm, "peak_gflops_conv": fl / min(t_def, t_cl) / 1e9,
                "conv_gflops_default": fl / t_def / 1e9, "conv_gflops_channels_last": fl / t_cl / 1e9,
                "step_overhead_ms": 1000 * overhead, "matmul_n": matmul_n, "conv_shape": list(conv),
                "repeats": repeats, "load_avg_1min": load_avg()}
    finally:
        torch.set_num_threads(before)


def _step_overhead(repeats: int, steps: int = 50) -> float:
    model = build({"kind": "mlp", "hidden": (2,), "activation": "relu", "dropout": 0.0, "init": "default"})
    opt = make_optimizer(model, ADAM)
    x, y = torch.randn(1024, 1, 28, 28), torch.randint(0, 10, (1024,))
    idx = [torch.randint(0, 1024, (32,)) for _ in range(steps)]

    def run() -> None:
        for i in idx:
            _step(model, opt, x[i], y[i])
    return best_of(run, repeats) / steps


def _step(model: torch.nn.Module, opt: torch.optim.Optimizer, xb: torch.Tensor, yb: torch.Tensor,
          set_to_none: bool = True) -> torch.Tensor:
    loss = F.cross_entropy(model(xb), yb)
    opt.zero_grad(set_to_none=set_to_none)
    loss.backward()
    opt.step()
    return loss


def _trainer(cfg: dict, channels_last: bool = False, batch: int = 64, seed: int = 0, flat: bool = False,
             optim: Optim = ADAM):
    """(model, step(), final weights()) of fixed training steps from ``seed``'s initial weights; ``flat``:
    the optimizer over one buffer (:func:`reportgen.run.optim.flat_parameters`), as the runner does."""
    torch.manual_seed(seed)
    model = build(cfg)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    opt = make_optimizer(model, optim, flat=flat)
    g = torch.Generator().manual_seed(seed)
    x, y = torch.randn(batch, 1, 28, 28, generator=g), torch.randint(0, 10, (batch,), generator=g)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    return (model, lambda: _step(model, opt, x, y, set_to_none=not flat),
            lambda: torch.cat([p.detach().flatten() for p in model.parameters()]))


def _same_numbers(cfg: dict, steps: int = 3, base: dict[str, Any] | None = None, **lever: Any) -> bool:
    """Whether ``steps`` training steps end on bit-identical weights with and without the lever (dropout
    draws from the same seeded global RNG on both sides); ``base``: the other side's settings."""
    out = []
    for kw in (base or {}, {**(base or {}), **lever}):
        _, step, weights = _trainer(cfg, **kw)
        torch.manual_seed(1)
        for _ in range(steps):
            step()
        out.append(weights())
    return torch.equal(out[0], out[1])


def lever_channels_last(cfg: dict, workload: str, repeats: int, steps: int = 5) -> dict[str, Any]:
    _, base, _ = _trainer(cfg)
    _, lever, _ = _trainer(cfg, channels_last=True)
    tb, tl = paired(lambda: [base() for _ in range(steps)], lambda: [lever() for _ in range(steps)], repeats)
    return _row("channels_last", workload, tb / steps, tl / steps, _same_numbers(cfg, channels_last=True),
                "opt-in: train.channels_last (enters the run key only when true); other rounding, and "
                "dropout on a conv map draws its mask in memory order, so other masks")


def lever_freeze(cfg: dict, repeats: int, images: int = 2000) -> dict[str, Any]:
    model, _, _ = _trainer(cfg)
    model.eval()
    x = torch.randn(images, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # torch.jit is deprecated; still the oneDNN fusion path
        frozen = torch.jit.optimize_for_inference(torch.jit.freeze(torch.jit.trace(model, x[:64])))
        tb, tl = paired(lambda: model(x), lambda: frozen(x), repeats)
        same = torch.equal(model(x), frozen(x))
    return _row("onednn_freeze", "cnn_baseline eval, 2,000 images", tb, tl, same,
                "not used: evaluation is a few % of a run, and a frozen copy per epoch costs its tracing")


def lever_compile(cfg: dict, repeats: int, steps: int = 5) -> dict[str, Any]:
    _, base, _ = _trainer(cfg)
    model, _, _ = _trainer(cfg)
    compiled = torch.compile(model)
    opt = make_optimizer(model, ADAM)
    x, y = torch.randn(64, 1, 28, 28), torch.randint(0, 10, (64,))
    t0 = time.perf_counter()
    _step(compiled, opt, x, y)
    compile_s = time.perf_counter() - t0
    tb, tl = paired(lambda: [base() for _ in range(steps)], lambda: [_step(compiled, opt, x, y) for _ in range(steps)],
                    repeats)
    tb, tl = tb / steps, tl / steps
    gain = tb - tl
    row = _row("torch_compile", "cnn_baseline train step, batch 64", tb, tl, None,
               f"not used: compiling took {compile_s:.0f} s" + (f", earned back after {compile_s / gain:,.0f} steps"
                                                                 if gain > 0 else ", and the compiled step is slower"))
    row.update(compile_s=compile_s, break_even_steps=compile_s / gain if gain > 0 else None)
    return row


def _worker(cfg: dict, threads: int, steps: int, barrier: Any, out: Any) -> None:
    torch.set_num_threads(threads)
    _, step, _ = _trainer(cfg)
    for _ in range(3):
        step()
    barrier.wait()
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    out.put(time.perf_counter() - t0)


def _throughput(cfg: dict, workers: int, threads: int, steps: int) -> float:
    """Images per second over ``workers`` spawned processes, each training ``steps`` batches of 64."""
    ctx = mp.get_context("spawn")
    barrier, out = ctx.Barrier(workers), ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(cfg, threads, steps, barrier, out)) for _ in range(workers)]
    for p in procs:
        p.start()
    seconds: list[float] = []
    try:
        while len(seconds) < workers:
            try:
                seconds.append(out.get(timeout=1.0))
            except queue.Empty:
                if any(p.exitcode not in (None, 0) for p in procs):
                    raise RuntimeError("a benchmark worker process died (run the bench as a module or script, "
                                       "not from standard input)") from None
    finally:
        for p in procs:
            p.join(timeout=5)
            if p.is_alive():
                p.terminate()
    return workers * steps * 64 / max(seconds)


def lever_workers(cfg: dict, workload: str, cores: int = 2, steps: int = 40) -> dict[str, Any]:
    """``cores`` processes × 1 thread against 1 process × ``cores`` threads (baseline): ms per image."""
    one = _throughput(cfg, 1, cores, steps)
    many = _throughput(cfg, cores, 1, steps)
    return _row(f"workers_{cores}x1", workload, 1 / one, 1 / many, None,
                "kept: one thread per run (DEFAULT_THREADS = 1; --backend processes uses the cores); "
                "times are ms per image over all workers; numbers at 1 and 2 threads differ in the last bits")


def _mlp_lever(name: str, base: dict[str, Any], lever: dict[str, Any], repeats: int, steps: int,
               note: str) -> dict[str, Any]:
    """A lever on the 784-128-10 MLP's step at batch 32: ``base`` and ``base`` + ``lever`` settings of
    :func:`_trainer`, timed back to back; the numbers compared over 30 steps."""
    base = {"batch": 32, **base}
    _, b, _ = _trainer(MLP_128, **base)
    _, l, _ = _trainer(MLP_128, **base, **lever)
    tb, tl = paired(lambda: [b() for _ in range(steps)], lambda: [l() for _ in range(steps)], repeats)
    return _row(name, "784-128-10 MLP Adam step, batch 32", tb / steps, tl / steps,
                _same_numbers(MLP_128, steps=30, base=base, **lever), note)


def lever_one_buffer(repeats: int, steps: int = 20) -> dict[str, Any]:
    """The MLP's Adam step with its weights and gradients in one buffer each, against one optimizer
    tensor per parameter."""
    return _mlp_lever("one_buffer", {}, {"flat": True}, repeats, steps,
                      "kept: the runner's default (flat_parameters); each weight's update reads only its own "
                      "element, so the numbers are the same")


def lever_fused(repeats: int, steps: int = 20) -> dict[str, Any]:
    """The MLP's step with torch's fused Adam kernel, both sides on one buffer."""
    return _mlp_lever("fused_optimizer", {"flat": True}, {"optim": Optim(fused=True)}, repeats, steps,
                      "opt-in: optim.fused (enters the run key only when true); the fused kernel rounds otherwise")


def _row(name: str, workload: str, base_s: float, lever_s: float, identical: bool | None, note: str) -> dict[str, Any]:
    kept = note.startswith(("kept", "opt-in"))
    return {"name": name, "workload": workload, "baseline_ms": 1000 * base_s, "lever_ms": 1000 * lever_s,
            "ratio": base_s / lever_s, "identical": identical, "kept": kept, "note": note,
            "threads": torch.get_num_threads(), "load_avg_1min": load_avg()}


def budget_model2() -> dict:
    """budget_cnns ``model-2`` (8–16 channels, BatchNorm, dropout 0.1, GAP head) as a model dict."""
    def conv(out: int, k: int = 3, padding: str = "valid", bn: bool = True, act: str = "relu", drop: float = 0.1):
        return {"type": "conv", "out": out, "kernel": k, "padding": padding, "batchnorm": bn, "activation": act,
                "dropout": drop}
    return {"kind": "layers", "init": "default",
            "layers": [conv(8), conv(8), conv(16), {"type": "maxpool", "size": 2}, conv(8, 1, "same"), conv(12),
                       conv(12), conv(12, padding="same"), {"type": "gap"},
                       conv(10, 1, "same", bn=False, act="none", drop=0.0)]}


def measure_levers(repeats: int = 5, compile_: bool = True, workers: bool = True,
                   log: Callable[[str], None] = lambda _: None) -> list[dict[str, Any]]:
    """Every lever's row (keys :data:`LEVER_KEYS` first, then ``threads``, ``load_avg_1min`` and, for
    ``torch_compile``, ``compile_s`` and ``break_even_steps``), at the current torch thread count."""
    rows = []
    for cfg, workload in ((CNN_BASELINE, "cnn_baseline train step, batch 64"),
                          (budget_model2(), "budget_cnns model-2 train step, batch 64")):
        rows.append(lever_channels_last(cfg, workload, repeats))
        log(f"  lever channels_last on {workload}: {rows[-1]['ratio']:.2f}×")
    rows.append(lever_freeze(CNN_BASELINE, repeats))
    log(f"  lever onednn_freeze: {rows[-1]['ratio']:.2f}×")
    if compile_:
        rows.append(lever_compile(CNN_BASELINE, repeats))
        log(f"  lever torch_compile: {rows[-1]['ratio']:.2f}× after {rows[-1]['compile_s']:.0f} s of compiling")
    if workers:
        rows.append(lever_workers(CNN_BASELINE, "cnn_baseline train steps, batch 64"))
        log(f"  lever workers_2x1: {rows[-1]['ratio']:.2f}×")
    for lever in (lever_one_buffer, lever_fused):
        rows.append(lever(repeats))
        log(f"  lever {rows[-1]['name']}: {rows[-1]['ratio']:.2f}×")
    return rows
