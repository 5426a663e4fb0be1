"""Timing snippet (not a test): one epoch of K packed 784-128-10 MLPs (batch 32) against one run.

    python bench/multirun_timing.py [--runs 8] [--images 5000] [--epochs 3] [--device cpu] [--threads 1] [--repeat 3]

Synthetic data (10 noisy prototypes); per-epoch wall time is the sum of the runs' ``seconds`` (each
run records its share of the packed epoch), best of the epochs after the first (warm-up). Prints
K=1 packed, K packed, and K runs of ``train_run`` one after another. Issue 8's GPU target: K=8 in
≤ 2× one run's time; on a CPU the arithmetic grows with K, so expect little gain there.
"""
from __future__ import annotations

import argparse
import math

import torch

from reportgen.data.mnist import MNIST
from reportgen.run.multirun import train_packed
from reportgen.spec import MLP, Data, Optim, RunConfig, Train
from reportgen.run.train import train_run


def blobs(n_train: int, n_test: int, device: str) -> MNIST:
    g = torch.Generator().manual_seed(0)
    proto = torch.randn(10, 1, 28, 28, generator=g)

    def draw(n):
        y = torch.randint(0, 10, (n,), generator=g)
        return (proto[y] + 3 * torch.randn(n, 1, 28, 28, generator=g)).to(device), y.to(device)

    return MNIST(*draw(n_train), *draw(n_test), md5="synthetic")


def epoch_seconds(results: list[dict]) -> float:
    per_epoch = [sum(r["history"][e]["seconds"] for r in results) for e in range(len(results[0]["history"]))]
    return min(per_epoch[1:] or per_epoch)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=8)
    ap.add_argument("--images", type=int, default=5000)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    val = 1000
    data = blobs(a.images + val, 1000, a.device)
    cfg = RunConfig(model=MLP(hidden=(128,)), optim=Optim(name="adam", lr=1e-3),
                    train=Train(epochs=a.epochs, batch_size=32), data=Data(val_size=val))
    best = {"one": math.inf, "packed": math.inf, "alone": math.inf}
    for _ in range(a.repeat):  # interleaved, best of: the machine may be shared
        best["one"] = min(best["one"], epoch_seconds(train_packed([cfg], [0], data)))
        best["packed"] = min(best["packed"], epoch_seconds(train_packed([cfg] * a.runs, list(range(a.runs)), data)))
        best["alone"] = min(best["alone"], sum(epoch_seconds([train_run(cfg, s, data)]) for s in range(a.runs)))
    one, packed, alone = best["one"], best["packed"], best["alone"]
    print(f"device={a.device} threads={a.threads} images={a.images} batch=32, best of {a.repeat}")
    print(f"K=1 packed:                 {one:.3f} s/epoch")
    print(f"K={a.runs} packed:                 {packed:.3f} s/epoch  -> {packed / one:.2f}x one run (GPU target: <= 2x)")
    print(f"K={a.runs} one by one (train_run): {alone:.3f} s/epoch  -> packing speed-up {alone / packed:.2f}x")

if __name__ == "__main__":
    main()
