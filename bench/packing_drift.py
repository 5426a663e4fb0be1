"""Measurement snippet (not a test): how far packed runs drift from runs trained alone, against how far a
run alone drifts when only the CPU kernels change. The numbers behind the tolerances of
tests/test_multirun.py and tests/test_backends.py.

    python bench/packing_drift.py steps        # tiny CNN, seed 1: per-step gradient differences (~1 min)
    python bench/packing_drift.py first-step   # one float32 SGD step, 16 seeds (~1 min)
    python bench/packing_drift.py mnist        # dropout_ablation's smoke runs, seeds 0-9 (~10 min, real MNIST)
    python bench/packing_drift.py tests        # tests/test_multirun.py's float64 comparisons, measured (~1 min)

"Other kernels" is a second process with ``ATEN_CPU_CAPABILITY=default MKL_CBWR=COMPATIBLE
ONEDNN_MAX_CPU_ISA=SSE41``: ATen's scalar kernels, MKL's reference-compatible GEMM and oneDNN's SSE4.1
convolutions, a stand-in for another host. Differences are relative to the largest element (gradients,
weights) or absolute (a test image's max softmax probability). One thread throughout.
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
OTHER = {"ATEN_CPU_CAPABILITY": "default", "MKL_CBWR": "COMPATIBLE", "ONEDNN_MAX_CPU_ISA": "SSE41"}


def tiny(dtype: torch.dtype):
    """tests/conftest.py's tiny_mnist (1,100 + 300 synthetic images) in ``dtype``."""
    from conftest import make_blobs

    from reportgen.data.mnist import MNIST

    d = make_blobs()
    return MNIST(d.x_train.to(dtype), d.y_train, d.x_test.to(dtype), d.y_test, md5=d.md5)


def record(what: str, mode: str, dtype: str) -> dict:
    """In this process: train ``what``'s runs alone or packed and return what the comparison needs."""
    import reportgen.run.multirun as multirun
    import reportgen.run.train as train
    from reportgen.run.models import build
    from reportgen.spec import CNN, MLP, Conv, Data, Dense, Layers, Optim, RunConfig, Train

    torch.set_num_threads(1)
    torch.set_default_dtype(getattr(torch, dtype))
    steps: list[list[torch.Tensor]] = []

    def recording(make):  # every optimizer step's gradients, in the order of the parameters
        def make_optimizer(model, o):
            opt = make(model, o)
            opt.register_step_pre_hook(lambda o_, *_: steps.append(
                [p.grad.detach().clone() for g in o_.param_groups for p in g["params"]]))
            return opt
        return make_optimizer

    if what == "steps":
        train.make_optimizer = recording(train.make_optimizer)
        multirun.make_optimizer = recording(multirun.make_optimizer)
        data = tiny(torch.get_default_dtype())
        cfg = RunConfig(model=CNN(channels=(4, 8), hidden=(16,), dropout=0.25), optim=Optim(lr=3e-3),
                        train=Train(epochs=2, batch_size=64), data=Data(val_size=100))
        out = (train.train_run(cfg, 1, data) if mode == "alone" else multirun.train_packed([cfg] * 2, [0, 1], data)[1])
        n = len(list(out["model"].parameters()))
        grads = [s[-n:] for s in steps]  # packed: one shared optimizer, run 1's tensors come last
        return {"grads": grads, "train_loss": [h["train_loss"] for h in out["history"]]}
    if what == "first-step":
        data, res = tiny(torch.float32), {}
        models = {"mlp-tanh": MLP(hidden=(32, 16), dropout=0.3, activation="tanh"),
                  "convnet-tanh": Layers(layers=(Conv(4, batchnorm=True, activation="tanh"),
                                                 Conv(8, dropout=0.1, activation="tanh"),
                                                 Dense(16, dropout=0.2, activation="tanh"),
                                                 Dense(10, activation="none"))),
                  "cnn-relu-maxpool": CNN(channels=(4, 8), hidden=(16,), dropout=0.25)}
        for name, model in models.items():
            cfg = RunConfig(model=model, optim=Optim(name="sgd", lr=0.1), train=Train(epochs=1, batch_size=64),
                            data=Data(val_size=100, train_subset=64))
            for seeds in ([0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11], [12, 13, 14, 15]):
                outs = (multirun.train_packed([cfg] * 4, seeds, data) if mode == "packed"
                        else [train.train_run(cfg, s, data) for s in seeds])
                for s, o in zip(seeds, outs):
                    torch.manual_seed(s)
                    res[(name, s)] = {"start": build(cfg.model_dump()["model"]).state_dict(),
                                      "end": o["model"].state_dict(), "train_loss": o["history"][0]["train_loss"]}
        return res
    from reportgen.data import mnist as data_mod

    mnist = data_mod.load(Path(os.environ["REPORTGEN_DATA"]), "cpu", download=False)
    res = {}
    for seed in range(10):
        configs = [RunConfig(model=MLP(hidden=(128,), dropout=p), optim=Optim(lr=1e-3),
                             train=Train(epochs=1, batch_size=32),
                             data=Data(train_subset=2000, val_size=500, test_subset=1000)) for p in (0.1, 0.3, 0.5)]
        outs = (multirun.train_packed(configs, [seed] * 3, mnist) if mode == "packed"
                else [train.train_run(c, seed, mnist) for c in configs])
        for c, o in zip(configs, outs):
            conf = torch.softmax(train.predict(o["model"], mnist.x_test[:1000]), 1).max(1).values
            res[(c.model.dropout, seed)] = {"conf": conf, "train_loss": o["history"][0]["train_loss"]}
    return res


def run(what: str, mode: str, dtype: str = "float32", other: bool = False) -> dict:
    """:func:`record` in a fresh process (kernels are chosen when torch starts)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "r.pt"
        env = {**os.environ, "OMP_NUM_THREADS": "1", **(OTHER if other else {})}
        subprocess.run([sys.executable, __file__, "_record", what, mode, dtype, str(out)], env=env, check=True)
        return torch.load(out)


def rel(a: list[torch.Tensor], b: list[torch.Tensor]) -> float:
    return max(((x - y).abs().max() / y.abs().max().clamp_min(1e-30)).item() for x, y in zip(a, b))


def steps() -> None:
    for dtype in ("float32", "float64"):
        alone, packed = run("steps", "alone", dtype), run("steps", "packed", dtype)
        other = run("steps", "alone", dtype, other=True)
        print(f"{dtype}: CNN(channels=(4, 8), hidden=(16,), dropout=0.25), Adam 3e-3, seed 1, "
              "relative gradient difference")
        print("  step  packed vs alone  alone on other kernels vs alone")
        for i, (a, p, o) in enumerate(zip(alone["grads"], packed["grads"], other["grads"])):
            print(f"  {i + 1:4d}  {rel(p, a):15.1e}  {rel(o, a):15.1e}")
        print(f"  train_loss per epoch: alone {alone['train_loss']}, packed {packed['train_loss']}, "
              f"other kernels {other['train_loss']}")


def first_step() -> None:
    alone, packed = run("first-step", "alone"), run("first-step", "packed")
    other = run("first-step", "alone", other=True)
    print("one float32 SGD step: max over tensors of max|Δw| / largest update, and train_loss (relative); 16 seeds")
    for name in sorted({k[0] for k in alone}):
        for label, cmp in (("packed vs alone", packed), ("other kernels vs alone", other)):
            w = loss = 0.0
            for key in (k for k in alone if k[0] == name):
                a, b, start = cmp[key]["end"], alone[key]["end"], alone[key]["start"]
                for n, wb in b.items():
                    step = (wb - start[n]).abs().max().item() if wb.is_floating_point() else 0.0
                    if step > 0:
                        w = max(w, (a[n] - wb).abs().max().item() / step)
                loss = max(loss, abs(cmp[key]["train_loss"] / alone[key]["train_loss"] - 1))
            print(f"  {name:17s} {label:23s} weights {w:.1e}  train_loss {loss:.1e}")


def mnist() -> None:
    alone, packed, other = run("mnist", "alone"), run("mnist", "packed"), run("mnist", "alone", other=True)
    print("dropout_ablation --smoke (63 Adam steps): max |Δ confidence| over 1,000 test images, per run")
    print("  dropout seed  packed vs alone  other kernels vs alone")
    for key in sorted(alone):
        dp = (packed[key]["conf"] - alone[key]["conf"]).abs().max().item()
        do = (other[key]["conf"] - alone[key]["conf"]).abs().max().item()
        print(f"  {key[0]:7} {key[1]:4}  {dp:15.1e}  {do:15.1e}")


def tests() -> None:
    """tests/test_multirun.py's packed-vs-alone tests in float64, with comparisons that record the
    largest difference instead of asserting (on this process's kernels)."""
    import math

    import test_multirun as tm

    from reportgen.spec import CNN

    worst = {"float": (0.0, ""), "weight": (0.0, "")}

    def close(a, b, path="", *_, **__):
        if isinstance(a, float) or isinstance(b, float):
            if not (math.isnan(b) or math.isinf(b)):
                d = abs(a - b) / max(abs(b), 1e-300) if "_conf" not in path else max(abs(a - b) - tm.CONF_STEP, 0.0)
                worst["float"] = max(worst["float"], (d, path))
        elif isinstance(a, dict):
            for k in a:
                close(a[k], b[k], f"{path}.{k}")
        elif isinstance(a, (list, tuple)):
            for i, (x, y) in enumerate(zip(a, b)):
                close(x, y, f"{path}[{i}]")
        else:
            assert a == b, path

    def weights_close(packed, alone, _rel, what):
        for (n, wp), wa in zip(packed.state_dict().items(), alone.state_dict().values()):
            if wa.is_floating_point() and wa.isfinite().all():
                worst["weight"] = max(worst["weight"], (((wp - wa).abs().max() / wa.abs().max()).item(), f"{what}.{n}"))

    tm.close, tm.weights_close = close, weights_close
    torch.set_num_threads(1)
    torch.set_default_dtype(torch.float64)
    data = tiny(torch.float64)
    cases = {"three_seeds_of_an_mlp": lambda: tm.test_three_seeds_of_an_mlp(data),
             "different_learning_rates_and_optimizers": lambda: tm.test_different_learning_rates_and_optimizers(data),
             "dropout_masks_follow_each_runs_own_rng": lambda: tm.test_dropout_masks_follow_each_runs_own_rng(data),
             "runs_leave_the_pack_on_their_own": lambda: tm.test_runs_leave_the_pack_on_their_own(data)}
    for name, model in (("layers-bn-dropout", tm.SMALL_CNN),
                        ("cnn-dropout", CNN(channels=(4, 8), hidden=(16,), dropout=0.25)),
                        ("cnn-batchnorm (not tested)",
                         CNN(channels=(4, 8), hidden=(16,), batchnorm=True, dropout=0.25))):
        cases[name] = lambda m=model: tm.test_small_cnns_with_batchnorm_and_dropout(data, m)
    print(f"float64, {torch.backends.cpu.get_cpu_capability()} kernels: largest relative difference, packed vs alone")
    for name, case in cases.items():
        worst.update(float=(0.0, ""), weight=(0.0, ""))
        case()
        print(f"  {name:40s} stored floats {worst['float'][0]:.1e} ({worst['float'][1]})  "
              f"weights {worst['weight'][0]:.1e} ({worst['weight'][1]})")


if __name__ == "__main__":
    if sys.argv[1] == "_record":
        torch.save(record(*sys.argv[2:5]), sys.argv[5])
    else:
        {"steps": steps, "first-step": first_step, "mnist": mnist, "tests": tests}[sys.argv[1]]()
