"""Multi-run training (reportgen.multirun) against the loop it packs: K runs trained together give each
run the history, best epoch and test metrics of that run trained alone by ``train_run``, on tiny
synthetic data on the CPU.

Tolerance: floats agree to ``rel=1e-5, abs=1e-5`` (plus the 1e-5 rounding step of the stored
confidences); integers, lists of indices and the confusion matrix exactly. The vmapped
matmuls/convolutions and the per-run mean of the loss sum in another order than the unpacked ones,
so the numbers drift by a few float32 ulps per step (measured: ≤ 5e-7 on losses after 2 epochs);
they are not bit-identical.
"""
from __future__ import annotations

import math

import pytest
import torch

from reportgen.multirun import can_pack, groups, pack_key, train_packed
from reportgen.spec import (CNN, MLP, Augment, Conv, Data, Dense, EarlyStopping, Layers, MaxPool, Optim, Plateau,
                            ProbeSpec, ResNet, RunConfig, StepLR, Train)
from reportgen.train import train_run

REL = ABS = 1e-5
TRAIN, DATA = Train(epochs=2, batch_size=64), Data(val_size=100)
SMALL_CNN = Layers(layers=(Conv(4, batchnorm=True), MaxPool(), Conv(8, dropout=0.1), MaxPool(),
                           Dense(16, dropout=0.2), Dense(10, activation="none")))


def close(a, b, path="") -> None:
    """Recursive equality: floats within REL/ABS (NaN == NaN, ±inf exactly), everything else exact."""
    if isinstance(a, float) or isinstance(b, float):
        if math.isnan(a) or math.isnan(b):
            assert math.isnan(a) and math.isnan(b), path
        else:
            rounded = 1e-5 if "_conf" in path else 0.0  # confidences are stored rounded to 5 decimals
            assert a == pytest.approx(b, rel=REL, abs=ABS + rounded), f"{path}: {a} vs {b}"
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), path
        for k in a:
            close(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b)):
            close(x, y, f"{path}[{i}]")
    else:
        assert a == b, f"{path}: {a!r} vs {b!r}"


def check_same_as_alone(configs: list[RunConfig], seeds: list[int], data) -> list[dict]:
    packed = train_packed(configs, seeds, data)
    for i, (cfg, seed, p) in enumerate(zip(configs, seeds, packed)):
        a = train_run(cfg, seed, data)
        assert p.keys() == a.keys()
        assert [h.keys() for h in p["history"]] == [h.keys() for h in a["history"]]
        strip = lambda hist: [{k: v for k, v in h.items() if k != "seconds"} for h in hist]  # noqa: E731
        close(strip(p["history"]), strip(a["history"]), f"run{i}.history")
        for key in ("status", "reason", "best_epoch", "stopped_epoch", "params", "probes"):
            assert p[key] == a[key], (i, key)
        close(p["test"], a["test"], f"run{i}.test")
        close(p["test_best_epoch"], a["test_best_epoch"], f"run{i}.test_best_epoch")
        for (n, wp), wa in zip(p["model"].state_dict().items(), a["model"].state_dict().values()):
            assert torch.allclose(wp.float(), wa.float(), rtol=1e-4, atol=1e-5, equal_nan=True), (i, n)
        assert all(h["seconds"] > 0 for h in p["history"])
    return packed


def test_three_seeds_of_an_mlp(tiny_mnist):
    out = check_same_as_alone([RunConfig(model=MLP(hidden=(32,)), train=TRAIN, data=DATA)] * 3, [0, 1, 2], tiny_mnist)
    assert out[0]["history"][0]["train_loss"] != out[1]["history"][0]["train_loss"]  # seeds really differ
    assert out[0]["test"]["accuracy"] > 0.9


def test_different_learning_rates_and_optimizers(tiny_mnist):
    configs = [RunConfig(model=MLP(hidden=(32,)), optim=Optim(lr=lr), train=TRAIN, data=DATA)
               for lr in (1e-3, 3e-3, 1e-2)]
    configs.append(RunConfig(model=MLP(hidden=(32,), init="xavier_uniform"), train=TRAIN, data=DATA,
                             optim=Optim(name="sgd", lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-4, l2=1e-3)))
    out = check_same_as_alone(configs, [0, 0, 1, 2], tiny_mnist)
    assert [h["lr"] for h in out[2]["history"]] == [1e-2, 1e-2]


def test_dropout_masks_follow_each_runs_own_rng(tiny_mnist):
    configs = [RunConfig(model=MLP(hidden=(32, 16), dropout=p), train=TRAIN, data=DATA) for p in (0.1, 0.3, 0.5)]
    check_same_as_alone(configs, [0, 1, 2], tiny_mnist)


@pytest.mark.parametrize("model", [SMALL_CNN, CNN(channels=(4, 8), hidden=(16,), dropout=0.25)],
                         ids=["layers-bn-dropout", "cnn-dropout"])
def test_small_cnns_with_batchnorm_and_dropout(tiny_mnist, model):
    """Not ``CNN(batchnorm=True)`` here: that family keeps the conv bias before BatchNorm, whose true
    gradient is 0, so Adam turns float rounding noise into full-size steps on it; packed and alone
    then part by ~1e-2 in those biases (and ~1e-4 in val_loss) for any change of summation order,
    packing or not. ``layers`` drops that bias (``bias=not batchnorm``) and agrees to tolerance."""
    check_same_as_alone([RunConfig(model=model, optim=Optim(lr=3e-3), train=TRAIN, data=DATA)] * 2, [0, 1], tiny_mnist)


def test_runs_leave_the_pack_on_their_own(tiny_mnist):
    """Early stopping, divergence, a plateau and a step schedule, shuffled labels, a test subset and
    different epoch counts: each run stops when it would alone while the others go on."""
    mlp = MLP(hidden=(32,))
    configs = [
        RunConfig(model=mlp, optim=Optim(lr=1e-2), data=Data(val_size=100, shuffled_labels=0.5),
                  train=Train(epochs=5, batch_size=64, early_stopping=EarlyStopping(patience=1))),
        RunConfig(model=mlp, optim=Optim(name="sgd", lr=10.0), train=Train(epochs=3, batch_size=64), data=DATA),
        RunConfig(model=mlp, optim=Optim(lr=1e-2), train=Train(epochs=3, batch_size=64, scheduler=Plateau(patience=0)),
                  data=Data(val_size=100, shuffled_labels=0.5)),
        RunConfig(model=mlp, optim=Optim(name="adamw", lr=1e-2, weight_decay=0.1),
                  data=Data(val_size=100, test_subset=50),
                  train=Train(epochs=5, batch_size=64, scheduler=StepLR(step_size=1, gamma=0.5))),
    ]
    out = check_same_as_alone(configs, [0, 1, 2, 3], tiny_mnist)
    assert out[0]["reason"].startswith("early stop") and out[0]["stopped_epoch"] < 5
    assert out[2]["history"][-1]["lr"] < 1e-2  # the plateau schedule fired on that run's own val_loss
    assert out[1]["status"] == "diverged" and out[1]["stopped_epoch"] < 3
    assert out[3]["stopped_epoch"] == 5 and out[3]["history"][-1]["lr"] == pytest.approx(1e-2 / 16)


def test_what_packs_and_what_does_not():
    base = RunConfig(model=MLP(hidden=(32,), dropout=0.1), train=TRAIN, data=DATA)

    def variant(**changes) -> RunConfig:
        return base.model_copy(update=changes)

    assert can_pack([base, variant(optim=Optim(name="sgd", lr=0.1)), variant(model=MLP(hidden=(32,), dropout=0.5,
                     init="kaiming_normal")), variant(train=Train(epochs=7, batch_size=64))])
    assert can_pack([base.model_dump(mode="json"), base])  # plain dicts (execute.Job.config) too
    for other in (variant(model=MLP(hidden=(64,))), variant(model=MLP(hidden=(32,))),  # width; no Dropout module
                  variant(model=MLP(hidden=(32,), dropout=0.1, activation="tanh")),
                  variant(train=Train(epochs=2, batch_size=32)), variant(data=Data(val_size=200))):
        assert not can_pack([base, other])
    for alone in (variant(probes=(ProbeSpec(name="weight_histograms"),)),
                  variant(train=Train(epochs=2, batch_size=64, augment=Augment(rotation=10))), variant(model=ResNet())):
        assert pack_key(alone) is None and not can_pack([alone])
    with pytest.raises(ValueError):
        train_packed([base, variant(model=MLP(hidden=(64,)))], [0, 1], data=None)

    a, b, solo = base, variant(model=MLP(hidden=(8,))), variant(model=ResNet())
    items = [("a0", a), ("b0", b), ("s", solo), ("a1", a), ("a2", a), ("b1", b)]
    packs = groups(items, config_of=lambda item: item[1], max_runs=2)
    assert [[name for name, _ in p] for p in packs] == [["a0", "a1"], ["b0", "b1"], ["s"], ["a2"]]


def test_execute_packs_by_architecture_and_size():
    """``--pack K`` splits each packable group into packs of at most K, in order of first appearance;
    on the CPU without ``--pack`` nothing is packed; the memory estimate grows with the batch."""
    from reportgen.execute import Job
    from reportgen.packing import make_packs, run_bytes

    def job(i, config):
        return Job(f"k{i}", f"/r/s/v/seed{i}.json", {"study": "s", "variant": "v"}, config.model_dump(mode="json"), i, "/d")

    a, b = RunConfig(model=MLP(hidden=(32,))), RunConfig(model=MLP(hidden=(64,)))
    jobs = [job(0, a), job(1, a), job(2, b), job(3, a), job(4, RunConfig(model=ResNet(depth=18)))]
    packed = make_packs(jobs, 2, "cpu")
    assert [(j.key, [m.key for m in j.members]) for j in packed] == [
        ("pack:k0", ["k0", "k1"]), ("k3", []), ("k2", []), ("k4", [])]
    assert make_packs(jobs, None, "cpu") == jobs
    small = run_bytes(a.model_dump(mode="json"))
    big = run_bytes(RunConfig(model=MLP(hidden=(32,)), train=Train(batch_size=512)).model_dump(mode="json"))
    assert 4 * 4 * 25_450 < small < big  # 784·32+32 + 32·10+10 = 25,450 parameters
