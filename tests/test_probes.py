"""Training-time probes on tiny synthetic problems whose right answer is known."""
from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from torch import nn

from reportgen.run.probes import training as P
from reportgen.spec.expand import set_path
from reportgen.run.models import build
from reportgen.results.quantized import decode
from reportgen.spec import CNN, MLP, Data, Optim, ProbeSpec, RunConfig, Train
from reportgen.run.train import train_run

ALL = tuple(ProbeSpec(name=n, indices=(0, 1, 2)) for n in P.PROBES)


def config(model=None, probes=(), epochs=2, batch=64, **over) -> RunConfig:
    tree = RunConfig(model=model or MLP(hidden=(32,), dropout=0.2), optim=Optim(name="adam", lr=1e-3),
                     train=Train(epochs=epochs, batch_size=batch), data=Data(val_size=100),
                     probes=probes).model_dump()
    for path, value in over.items():
        set_path(tree, path.replace("__", "."), value)
    return RunConfig.model_validate(tree)


def strip(history):
    return [{k: v for k, v in h.items() if k != "seconds"} for h in history]


@pytest.mark.parametrize("model", [MLP(hidden=(32,), dropout=0.2, activation="tanh"),
                                   CNN(channels=(4, 8), batchnorm=True, hidden=(16,), dropout=0.3)],
                         ids=["mlp_dropout", "cnn_batchnorm_dropout"])
def test_probes_do_not_change_training(tiny_mnist, model):
    """Probes measure in eval mode on a forked RNG: dropout masks, data order and BatchNorm running
    statistics are untouched, so the numbers are bit-identical to an unprobed run."""
    plain = train_run(config(model), 3, tiny_mnist)
    probed = train_run(config(model, ALL), 3, tiny_mnist, probes=P.make_probes(config(model, ALL)))
    assert strip(plain["history"]) == strip(probed["history"])
    for a, b in zip(plain["model"].state_dict().values(), probed["model"].state_dict().values()):
        assert torch.equal(a, b)
    assert set(probed["probes"]) == set(P.PROBES)


def test_probe_rows_follow_the_cadence(tiny_mnist):
    cfg = config(probes=(ProbeSpec(name="weight_norms", every=2), ProbeSpec(name="grad_norms", every=2)), epochs=5)
    out = train_run(cfg, 0, tiny_mnist, probes=P.make_probes(cfg))["probes"]
    assert [r["epoch"] for r in out["weight_norms"]] == [0, 2, 4, 5]  # epoch 0, every 2, the last
    assert [r["epoch"] for r in out["grad_norms"]] == [2, 4, 5]
    assert list(out["weight_norms"][0]["layers"]) == ["fc1", "fc2"]


def test_weight_norms_and_histograms_match_the_weights(tiny_mnist):
    cfg = config(probes=(ProbeSpec(name="weight_norms"), ProbeSpec(name="weight_histograms")), epochs=1)
    out = train_run(cfg, 0, tiny_mnist, probes=P.make_probes(cfg))
    model = out["model"]
    layers = dict(P.weighted_layers(model))
    last = out["probes"]["weight_norms"][-1]["layers"]
    for name, m in layers.items():
        assert last[name] == pytest.approx(m.weight.norm().item(), rel=1e-6)
    hist = out["probes"]["weight_histograms"]
    assert [r["epoch"] for r in hist] == [0, "final"]
    for name, m in layers.items():
        h = hist[-1]["layers"][name]
        assert sum(h["counts"]) == m.weight.numel() and len(h["counts"]) == P.HIST_BINS
        assert h["low"] == pytest.approx(m.weight.min().item()) and h["high"] == pytest.approx(m.weight.max().item())


def test_l2_penalty_shrinks_the_weights(tiny_mnist):
    """The probe sees what the penalty does: a strong L2 term gives smaller weight norms."""
    def norms(l2):
        cfg = config(probes=(ProbeSpec(name="weight_norms"),), epochs=3, optim__l2=l2)
        return train_run(cfg, 0, tiny_mnist, probes=P.make_probes(cfg))["probes"]["weight_norms"][-1]["layers"]
    free, mild, tight = norms(0.0), norms(1e-2), norms(1e-1)
    assert all(tight[k] < mild[k] < free[k] for k in free)
    assert tight["fc1"] < 0.75 * free["fc1"]


def test_gradient_noise_variance_shrinks_as_one_over_batch(blobs_factory):
    """E‖g_B − G‖² = tr(Σ)/B · (N − B)/(N − 1): quadrupling B divides it by about 4, and the
    recovered tr(Σ) does not depend on B."""
    data = blobs_factory(n_train=4000, noise=3.0)
    torch.manual_seed(0)
    model = build(MLP(hidden=(32,)).model_dump())
    model.eval()
    x, y = data.x_train, data.y_train
    g = P.full_gradient(model, x, y)
    gen = torch.Generator().manual_seed(0)
    var = {b: P.minibatch_variance(model, x, y, g, b, 200, gen) for b in (8, 32, 128)}
    assert 3.0 < var[8] / var[32] < 5.3 and 3.0 < var[32] / var[128] < 5.3
    trace = {b: v * b * (len(x) - 1) / (len(x) - b) for b, v in var.items()}
    assert max(trace.values()) / min(trace.values()) < 1.3


def test_full_gradient_equals_one_big_batch(blobs_factory):
    data = blobs_factory(n_train=CHUNK_TEST, noise=1.0)
    torch.manual_seed(0)
    model = build(MLP(hidden=(16,)).model_dump())
    chunked = P.full_gradient(model, data.x_train, data.y_train)
    whole = P.flat_grad(model, data.x_train, data.y_train)
    assert torch.allclose(chunked, whole, atol=1e-6)


CHUNK_TEST = P.CHUNK + 700  # two chunks, the second partial


def test_grad_noise_probe_reports_the_simple_noise_scale(tiny_mnist):
    cfg = config(probes=(ProbeSpec(name="grad_noise"),), epochs=1, batch=50)
    rows = train_run(cfg, 0, tiny_mnist, probes=P.make_probes(cfg))["probes"]["grad_noise"]
    assert [r["epoch"] for r in rows] == [0, 1]
    for r in rows:
        assert set(r["batch"]) == {"8", "32", "50", "128", "512"}
        assert r["noise_scale"] == pytest.approx(r["batch"]["50"]["trace_cov"] / r["grad_sq"])
        assert r["noise_scale"] > 0


def test_sigmoid_stack_has_smaller_first_layer_gradients_than_relu(tiny_mnist):
    """Vanishing gradients (Glorot & Bengio 2010): σ' ≤ 1/4 per layer, so through four sigmoid layers
    the first layer's gradient is far smaller, relative to the last layer's, than with ReLU."""
    def ratio(act):
        cfg = config(MLP(hidden=(64, 64, 64, 64), activation=act), (ProbeSpec(name="grad_norms"),), epochs=1)
        layers = list(train_run(cfg, 0, tiny_mnist, probes=P.make_probes(cfg))["probes"]["grad_norms"][0]["layers"].values())
        return layers[0] / layers[-1]
    assert ratio("sigmoid") < 0.1 * ratio("relu")


def test_saturation_finds_dead_and_saturated_units():
    x = torch.randn(64, 1, 28, 28)
    split = {"val": (x, torch.zeros(64, dtype=torch.long))}
    spec, cfg = ProbeSpec(name="saturation"), config()

    relu = build(MLP(hidden=(16,), activation="relu").model_dump())
    with torch.no_grad():
        relu[1].bias[:4] = -1e4  # four units can never fire
    probe = P.Saturation(spec, cfg)
    probe.start(relu, split)
    assert probe.rows[0]["layers"]["act1"]["dead"] == pytest.approx(4 / 16)

    tanh = build(MLP(hidden=(16,), activation="tanh").model_dump())
    with torch.no_grad():
        tanh[1].weight.mul_(1000)
    probe = P.Saturation(spec, cfg)
    probe.start(tanh, split)
    assert probe.rows[0]["layers"]["act1"]["saturated"] > 0.9


def test_digit_panel_and_first_layer_weights(tiny_mnist):
    cfg = config(probes=(ProbeSpec(name="digit_panel", indices=(5, 0, 7)), ProbeSpec(name="first_layer_weights")),
                 epochs=1)
    out = train_run(cfg, 0, tiny_mnist, probes=P.make_probes(cfg))
    panel = out["probes"]["digit_panel"]
    assert [r["index"] for r in panel] == [5, 0, 7]
    for r in panel:
        assert len(r["top"]) == 3 and r["prob"] == sorted(r["prob"], reverse=True) and sum(r["prob"]) <= 1 + 1e-6
    w = out["probes"]["first_layer_weights"][0]
    assert w["shape"] == [32, 28, 28]
    stored, real = decode(w["weights"]).reshape(32, 784), out["model"][1].weight.detach().numpy()
    step = np.asarray(w["weights"]["scale"])[:, None]  # uint8 codes per unit: within half a step
    assert np.all(np.abs(stored - real) <= step / 2 + 1e-5)
    assert np.allclose(stored.min(1), real.min(1), atol=1e-5) and np.allclose(stored.max(1), real.max(1), atol=1e-5)


def test_resume_with_probes_is_bit_exact(tiny_mnist):
    cfg = config(probes=ALL, epochs=3)
    saved = {}
    full = train_run(cfg, 1, tiny_mnist, probes=P.make_probes(cfg),
                     checkpoint=lambda s: saved.__setitem__(len(s["history"]), copy.deepcopy(s)))
    resumed = train_run(cfg, 1, tiny_mnist, probes=P.make_probes(cfg), resume=saved[1])
    assert strip(resumed["history"]) == strip(full["history"])
    assert resumed["probes"] == full["probes"]


def test_every_declared_probe_name_is_implemented():
    from typing import get_args

    from reportgen.run.probes import PROBES
    from reportgen.spec import ProbeName
    assert set(get_args(ProbeName)) == set(PROBES)
    assert all(isinstance(c.name, str) and issubclass(c, P.Probe) for c in PROBES.values())
    assert nn.Tanh in P.SQUASHING
