"""Multi-run training (reportgen.run.multirun) against the loop it packs: K runs trained together give each
run the history, best epoch, test metrics and weights of that run trained alone by ``train_run``, on
tiny synthetic data on the CPU.

Why the comparisons run in float64. A packed step computes the same function as the step alone (each
run's own data order, dropout masks, optimizer); only the order of the float sums differs (vmapped
matmuls, convolutions, the per-run mean of the loss). In float32 such a last-bit difference does not
stay small over steps: a ReLU pre-activation or a max-pool pair within rounding of a tie passes a
sample's gradient in one order and blocks it in the other, and from that step on the two runs are
apart by ~1e-2 in the gradient. Measured on this machine (AVX2; ``bench/packing_drift.py steps``):
``CNN(channels=(4, 8), hidden=(16,), dropout=0.25)``, Adam 3e-3, seed 1: packed and alone gradients
agree to ≤ 6e-6 (relative, per tensor) for 9 steps; at step 10 one max-pool window picks the other of
two values that differ by less than the kernels' rounding, the gradients part by 1.1e-2, and epoch 2's
train_loss by 2.5e-4 (2.29317 vs 2.29260). The same run alone on other kernels (``ATEN_CPU_CAPABILITY
=default MKL_CBWR=COMPATIBLE ONEDNN_MAX_CPU_ISA=SSE41``) makes the identical jump at the identical step
and ends on the packed run's 2.29317: it is kernel noise, not packing. In float64 the rounding is
2**-53 and a tie would need a gap below ~1e-15: the same packed and alone gradients agree to ≤ 3e-14
over the 32 steps, and the weights of every run in these tests to ≤ 2e-12, on either kernel set.
So these tests switch torch's default dtype to float64 (models are built in it; :func:`f64_mnist`);
the loop still computes the loss in float32 (``logits.float()``), identically on both sides. Float32
runs are compared at the first step (:func:`test_one_float32_step_is_exact`), and the command line's
packs against ``train_packed`` in-process by ``tests/test_backends.py``.

Tolerances (derived, not tuned):
- stored floats: relative ``FLOAT_REL = 64·2**-24`` (≈ 3.8e-6). train_loss averages the per-step loss,
  a float32 mean over a batch of 64 that the packed loop sums in another order; a sum of n positive
  terms has a relative error of at most (n-1)·u (Higham 2002, *Accuracy and Stability of Numerical
  Algorithms*, §4.2), u = 2**-24. Everything else is computed by the same code from float64 weights
  that agree to ≤ 2e-12. Confidences are stored rounded to 5 decimals, so they get that step on top.
  Measured (``bench/packing_drift.py tests``): ≤ 1.5e-7, all of it in train_loss.
- weights: per tensor, ``max|Δ| ≤ WEIGHT_REL·max|w|`` with ``WEIGHT_REL = 1e-9``: a float64 sum of n
  terms is within n·2**-53 relative; the largest reduction here is a conv weight gradient over 64
  images × 784 positions (n ≈ 5e4: 5.6e-12 per step), over the ≤ 80 steps of these tests 4.5e-10.
  Measured: ≤ 1.9e-12.
- integers (best epoch, confusion matrix, indices): exactly.
"""
from __future__ import annotations

import math

import pytest
import torch

from reportgen.data.mnist import MNIST
from reportgen.run.models import build
from reportgen.run.multirun import can_pack, groups, pack_key, train_packed
from reportgen.spec import (CNN, MLP, Augment, Conv, Data, Dense, EarlyStopping, Layers, MaxPool, Optim, Plateau,
                            ProbeSpec, ResNet, RunConfig, StepLR, Train)
from reportgen.run.train import train_run

U32 = 2.0 ** -24  # float32 unit roundoff
FLOAT_REL = 64 * U32
WEIGHT_REL = 1e-9
CONF_STEP = 1e-5  # confidences are stored rounded to 5 decimals
TRAIN, DATA = Train(epochs=2, batch_size=64), Data(val_size=100)
SMALL_CNN = Layers(layers=(Conv(4, batchnorm=True), MaxPool(), Conv(8, dropout=0.1), MaxPool(),
                           Dense(16, dropout=0.2), Dense(10, activation="none")))


def close(a, b, path="", rel=FLOAT_REL, abs_=0.0, conf_step=CONF_STEP) -> None:
    """Recursive equality: floats within ``rel`` (relative) or ``abs_`` (absolute), whichever is larger,
    plus ``conf_step`` for the stored confidences (NaN == NaN, ±inf exactly); everything else exact."""
    if isinstance(a, float) or isinstance(b, float):
        if math.isnan(a) or math.isnan(b):
            assert math.isnan(a) and math.isnan(b), path
        else:
            rounded = conf_step if "_conf" in path else 0.0
            assert a == pytest.approx(b, rel=rel, abs=abs_ + rounded), f"{path}: {a} vs {b}"
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), path
        for k in a:
            close(a[k], b[k], f"{path}.{k}", rel, abs_, conf_step)
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b)):
            close(x, y, f"{path}[{i}]", rel, abs_, conf_step)
    else:
        assert a == b, f"{path}: {a!r} vs {b!r}"


def weights_close(packed: torch.nn.Module, alone: torch.nn.Module, rel: float, what: str) -> None:
    """Per tensor of the state dict: ``max|packed - alone| <= rel * max|alone|`` over the finite
    elements; NaN and ±inf (a diverged run) in the same places; integer buffers exactly."""
    for (n, wp), wa in zip(packed.state_dict().items(), alone.state_dict().values()):
        if not wa.is_floating_point():
            assert torch.equal(wp, wa), (what, n)
            continue
        finite = wa.isfinite()
        assert torch.equal(wp.isnan(), wa.isnan()) and torch.equal(wp[wa.isinf()], wa[wa.isinf()]), (what, n)
        if not finite.any():
            continue
        wp, wa = wp[finite], wa[finite]
        diff, scale = (wp - wa).abs().max().item(), wa.abs().max().item()
        assert diff <= rel * scale, f"{what}.{n}: max|Δ| = {diff:.3g}, max|w| = {scale:.3g}"


@pytest.fixture
def f64_mnist(tiny_mnist):
    """``tiny_mnist`` in float64, with torch's default dtype float64 for the test (models, dropout
    masks and optimizer state follow it); restored afterwards."""
    before = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        yield MNIST(tiny_mnist.x_train.double(), tiny_mnist.y_train, tiny_mnist.x_test.double(), tiny_mnist.y_test,
                    md5=tiny_mnist.md5)
    finally:
        torch.set_default_dtype(before)


def check_same_as_alone(configs: list[RunConfig], seeds: list[int], data, rel: float = FLOAT_REL,
                        weight_rel: float = WEIGHT_REL) -> list[dict]:
    packed = train_packed(configs, seeds, data)
    for i, (cfg, seed, p) in enumerate(zip(configs, seeds, packed)):
        a = train_run(cfg, seed, data)
        assert p.keys() == a.keys()
        assert [h.keys() for h in p["history"]] == [h.keys() for h in a["history"]]
        strip = lambda hist: [{k: v for k, v in h.items() if k != "seconds"} for h in hist]  # noqa: E731
        close(strip(p["history"]), strip(a["history"]), f"run{i}.history", rel)
        for key in ("status", "reason", "best_epoch", "stopped_epoch", "params", "probes"):
            assert p[key] == a[key], (i, key)
        close(p["test"], a["test"], f"run{i}.test", rel)
        close(p["test_best_epoch"], a["test_best_epoch"], f"run{i}.test_best_epoch", rel)
        weights_close(p["model"], a["model"], weight_rel, f"run{i}")
        assert all(h["seconds"] > 0 for h in p["history"])
    return packed


def test_three_seeds_of_an_mlp(f64_mnist):
    out = check_same_as_alone([RunConfig(model=MLP(hidden=(32,)), train=TRAIN, data=DATA)] * 3, [0, 1, 2], f64_mnist)
    assert out[0]["history"][0]["train_loss"] != out[1]["history"][0]["train_loss"]  # seeds really differ
    assert out[0]["test"]["accuracy"] > 0.9


def test_different_learning_rates_and_optimizers(f64_mnist):
    configs = [RunConfig(model=MLP(hidden=(32,)), optim=Optim(lr=lr), train=TRAIN, data=DATA)
               for lr in (1e-3, 3e-3, 1e-2)]
    configs.append(RunConfig(model=MLP(hidden=(32,), init="xavier_uniform"), train=TRAIN, data=DATA,
                             optim=Optim(name="sgd", lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-4, l2=1e-3)))
    out = check_same_as_alone(configs, [0, 0, 1, 2], f64_mnist)
    assert [h["lr"] for h in out[2]["history"]] == [1e-2, 1e-2]


def test_dropout_masks_follow_each_runs_own_rng(f64_mnist):
    configs = [RunConfig(model=MLP(hidden=(32, 16), dropout=p), train=TRAIN, data=DATA) for p in (0.1, 0.3, 0.5)]
    check_same_as_alone(configs, [0, 1, 2], f64_mnist)


@pytest.mark.parametrize("model", [SMALL_CNN, CNN(channels=(4, 8), hidden=(16,), dropout=0.25)],
                         ids=["layers-bn-dropout", "cnn-dropout"])
def test_small_cnns_with_batchnorm_and_dropout(f64_mnist, model):
    """Not ``CNN(batchnorm=True)`` here: that family keeps the conv bias before BatchNorm, whose true
    gradient is 0, so Adam (update = m/(√v + 1e-8)) turns the rounding noise of that gradient into
    steps: in float32 full-size ones (packed and alone part by ~1e-2 in those biases), in float64
    still ~5e-9 of the bias after 32 steps, over ``WEIGHT_REL``. ``layers`` drops that bias
    (``bias=not batchnorm``)."""
    check_same_as_alone([RunConfig(model=model, optim=Optim(lr=3e-3), train=TRAIN, data=DATA)] * 2, [0, 1], f64_mnist)


#: Largest reduction in the float32 step below: a conv weight gradient over 64 images × 784 positions.
STEP_REL = 64 * 784 * U32
SMOOTH = {"mlp-tanh": MLP(hidden=(32, 16), dropout=0.3, activation="tanh"),
          "convnet-tanh": Layers(layers=(Conv(4, batchnorm=True, activation="tanh"),
                                         Conv(8, dropout=0.1, activation="tanh"),
                                         Dense(16, dropout=0.2, activation="tanh"), Dense(10, activation="none")))}


@pytest.mark.parametrize("model", list(SMOOTH.values()), ids=list(SMOOTH))
def test_one_float32_step_is_exact(tiny_mnist, model):
    """In float32, the dtype runs train in, one packed SGD step (64 images: one batch) from the same
    weights equals the step alone up to float32 rounding: the step's train_loss (its forward pass)
    within ``FLOAT_REL``, and every tensor's update within ``STEP_REL = 64·784·2**-24`` ≈ 3.0e-3 of
    that tensor's largest update, the bound n·u on a sum of n terms in any order (Higham 2002, §4.2)
    for the largest reduction of the step. Measured over 16 seeds (``bench/packing_drift.py
    first-step``): ≤ 1.2e-5 of the update packed, ≤ 1.8e-5 alone on other kernels; the loss ≤ 2e-7.
    Smooth activations and no max-pool, since a last-bit difference can flip a ReLU or a max-pool at a
    near tie already in the first step: for the ReLU/max-pool CNN above, the other kernels part from
    AVX2 by 5.3e-3 of the update on one seed of 16. SGD, as Adam's first step, lr·g/(|g| + 1e-8),
    turns rounding noise in a near-zero gradient into a full step."""
    cfg = RunConfig(model=model, optim=Optim(name="sgd", lr=0.1), train=Train(epochs=1, batch_size=64),
                    data=Data(val_size=100, train_subset=64))
    seeds = [0, 1, 2]
    for seed, p in zip(seeds, train_packed([cfg] * len(seeds), seeds, tiny_mnist)):
        a = train_run(cfg, seed, tiny_mnist)
        assert p["history"][0]["train_loss"] == pytest.approx(a["history"][0]["train_loss"], rel=FLOAT_REL)
        torch.manual_seed(seed)
        start = build(cfg.model_dump()["model"]).state_dict()
        got = p["model"].state_dict()
        for name, w in a["model"].state_dict().items():
            if not w.is_floating_point():
                assert torch.equal(got[name], w), (seed, name)
                continue
            step = (w - start[name]).abs().max().item()
            diff = (got[name] - w).abs().max().item()
            assert diff <= STEP_REL * step, f"seed {seed} {name}: max|Δ| {diff:.3g} vs largest update {step:.3g}"


def test_runs_leave_the_pack_on_their_own(f64_mnist):
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
    out = check_same_as_alone(configs, [0, 1, 2, 3], f64_mnist)
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
    from reportgen.run.jobs import Job
    from reportgen.run.packing import make_packs, run_bytes

    def job(i, config):
        return Job(f"k{i}", f"/r/s/v/seed{i}.json", {"study": "s", "variant": "v"}, config, i, "/d")

    a, b = RunConfig(model=MLP(hidden=(32,))), RunConfig(model=MLP(hidden=(64,)))
    jobs = [job(0, a), job(1, a), job(2, b), job(3, a), job(4, RunConfig(model=ResNet(depth=18)))]
    packed = make_packs(jobs, 2, "cpu")
    assert [(j.key, [m.key for m in j.members]) for j in packed] == [
        ("pack:k0", ["k0", "k1"]), ("k3", []), ("k2", []), ("k4", [])]
    assert make_packs(jobs, None, "cpu") == jobs
    small = run_bytes(a)
    big = run_bytes(RunConfig(model=MLP(hidden=(32,)), train=Train(batch_size=512)))
    assert 4 * 4 * 25_450 < small < big  # 784·32+32 + 32·10+10 = 25,450 parameters
