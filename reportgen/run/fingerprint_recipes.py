"""The tiny computation behind each numerics component's fingerprint (:mod:`reportgen.run.fingerprints`).

Each recipe runs the component's real code on synthetic data — a learnable stand-in for MNIST (ten
fixed random prototypes plus noise, 300 training and 60 test images) — for a few steps and returns
its numbers. Fixed seeds throughout, one CPU thread (set by the caller): the same code gives the same
numbers up to the last bits the CPU kernels round differently.
"""
from __future__ import annotations

import base64
import math
import re
import tempfile
from typing import Any, Callable

import numpy as np
import torch

from reportgen.spec.config import (
    CNN,
    GAP,
    MLP,
    Augment,
    Conv,
    Cosine,
    Data,
    Dense,
    EarlyStopping,
    Layers,
    MaxPool,
    Optim,
    Plateau,
    ProbeSpec,
    RangeTest,
    Residual,
    ResNet,
    RunConfig,
    StepLR,
    Train,
)

#: Default absolute tolerance of a fingerprint value (see :mod:`reportgen.run.fingerprints`).
ATOL = 1e-7
HEX = re.compile(r"(?:[0-9a-f]{2})+")


class Entry(list):
    """A fingerprint value list with its own absolute tolerance (e.g. the rounding unit)."""

    def __init__(self, values: Any, atol: float = ATOL) -> None:
        super().__init__(values)
        self.atol = atol


Values = dict[str, Entry]


def numbers(obj: Any, prefix: str = "", atol: float = ATOL) -> dict[str, Entry]:
    """Every number in a (nested) result, grouped by path with list indices dropped: ``{"layers.fc1":
    [...]}``, each with tolerance ``atol``; booleans as 0/1 and None as NaN; uint8 codes (an array of
    :mod:`reportgen.results.quantized`, or an image stored as hex) with a tolerance of one code and the
    encoded array's offsets and scales as numbers; other strings are left out."""
    out: dict[str, Entry] = {}

    def add(path: str, values: list[float], tol: float = atol) -> None:
        out.setdefault(path, Entry([], tol)).extend(values)

    def walk(node: Any, path: str) -> None:
        if isinstance(node, dict) and node.get("encoding") == "uint8" and "data" in node:
            add(f"{path}.offset", list(node["offset"]))
            add(f"{path}.scale", list(node["scale"]))
            add(f"{path}.codes", list(base64.b64decode(node["data"])), tol=1.0)
        elif isinstance(node, dict):
            for k, v in node.items():
                walk(v, f"{path}.{k}" if path else str(k))
        elif isinstance(node, (list, tuple)):
            for v in node:
                walk(v, path)
        elif isinstance(node, (bool, int, float)):
            add(path, [float(node)])
        elif node is None:
            add(path, [math.nan])
        elif isinstance(node, str) and len(node) >= 64 and HEX.fullmatch(node):
            add(path, list(bytes.fromhex(node)), tol=1.0)
        elif hasattr(node, "tolist"):
            walk(node.tolist(), path)

    walk(obj, prefix)
    return out


#: Absolute tolerance of probes that round their output: the rounding unit (4 or 6 decimals).
ROUNDED = {"predictions": 1e-4, "custom_digits": 1e-4, "robustness": 1e-6}


def blobs(n_train: int = 300, n_test: int = 60, seed: int = 0, noise: float = 2.0):
    """:class:`reportgen.data.mnist.MNIST` of ten prototypes (N(0, 1) images) plus N(0, ``noise``²) noise."""
    from reportgen.data.mnist import MNIST

    g = torch.Generator().manual_seed(seed)
    prototypes = torch.randn(10, 1, 28, 28, generator=g)

    def draw(n: int) -> tuple[torch.Tensor, torch.Tensor]:
        y = (torch.arange(n) % 10)[torch.randperm(n, generator=g)]
        return prototypes[y] + noise * torch.randn(n, 1, 28, 28, generator=g), y

    (x, y), (xt, yt) = draw(n_train), draw(n_test)
    return MNIST(x, y, xt, yt, md5="synthetic")


def tensor_summary(t: torch.Tensor) -> list[float]:
    """Mean, mean |x|, root mean square, the first 4 values and the last: each of the size of the
    values themselves (no sum over millions that cancels), and enough to see any change."""
    f = t.detach().double().flatten()
    return [f.mean().item(), f.abs().mean().item(), f.square().mean().sqrt().item(), *f[:4].tolist(), f[-1].item()]


def model_numbers(model: torch.nn.Module, prefix: str) -> Values:
    return {f"{prefix}.params": Entry([v for _, p in model.state_dict().items() if p.is_floating_point()
                                       for v in tensor_summary(p)])}


def run_numbers(result: dict[str, Any], prefix: str) -> Values:
    """A training result's numbers (history, test, best epoch) and its final model's weights."""
    keep = {k: result[k] for k in ("history", "best_epoch", "stopped_epoch", "test_best_epoch", "params")}
    keep["history"] = [{k: v for k, v in row.items() if k != "seconds"} for row in keep["history"]]
    keep["test"] = {k: result["test"][k] for k in ("accuracy", "loss", "macro_f1", "misclassified", "ece")}
    return {**numbers(keep, prefix), **model_numbers(result["model"], f"{prefix}.model")}


BASE = RunConfig(model=MLP(hidden=(16,)), train=Train(epochs=2, batch_size=32), data=Data(val_size=100))


def trainer() -> Values:
    """Four short runs (each optimizer, every scheduler, dropout, l2, weight decay, early stopping with
    restore) and a pack of two runs trained together (:func:`reportgen.run.multirun.train_packed`)."""
    from reportgen.run.multirun import train_packed
    from reportgen.run.train import train_run

    data = blobs()
    mlp = MLP(hidden=(16,), dropout=0.2)
    configs = {
        "adam": BASE.model_copy(update={"model": mlp, "optim": Optim(lr=3e-3, l2=1e-4),
                                        "train": Train(epochs=2, scheduler=Cosine())}),
        "sgd": BASE.model_copy(update={"optim": Optim(name="sgd", lr=0.05, momentum=0.9, nesterov=True),
                                       "train": Train(epochs=3, batch_size=50, scheduler=Plateau(patience=0),
                                                      early_stopping=EarlyStopping(patience=1))}),
        "adamw": BASE.model_copy(update={"optim": Optim(name="adamw", lr=5e-3, weight_decay=0.05),
                                         "train": Train(epochs=2, scheduler=StepLR(step_size=1, gamma=0.5))}),
        "rmsprop": BASE.model_copy(update={"optim": Optim(name="rmsprop", lr=1e-3, momentum=0.5),
                                           "data": Data(val_size=100, shuffled_labels=0.2)}),
    }
    out: Values = {}
    for name, config in configs.items():
        out.update(run_numbers(train_run(config, 1, data), name))
    pair = [configs["adam"], configs["adam"].model_copy(update={"optim": Optim(lr=1e-3)})]
    for i, result in enumerate(train_packed(pair, [0, 1], data)):
        out.update(run_numbers(result, f"packed{i}"))
    return out


def data_pipeline() -> Values:
    """Normalisation of raw uint8 images (:func:`reportgen.data.mnist.normalise`) and the splits, with label
    shuffling."""
    from reportgen.data.mnist import normalise

    rng = np.random.default_rng(0)
    raw = {"x_train": torch.from_numpy(rng.integers(0, 256, (300, 28, 28), dtype=np.uint8)),
           "y_train": torch.from_numpy(rng.integers(0, 10, 300)).long(),
           "x_test": torch.from_numpy(rng.integers(0, 256, (40, 28, 28), dtype=np.uint8)),
           "y_test": torch.from_numpy(rng.integers(0, 10, 40)).long()}
    mnist = normalise(raw, "cpu", "synthetic")
    out: Values = {}
    for name, kw in {"plain": {"val_size": 100}, "subsets": {"val_size": 50, "train_subset": 120, "test_subset": 30},
                     "shuffled": {"val_size": 100, "shuffled_labels": 0.5, "seed": 3}}.items():
        for part, (x, y) in mnist.split(**kw).items():
            out[f"{name}.{part}.x"] = Entry(tensor_summary(x) + [float(x.shape[0])])
            out[f"{name}.{part}.y"] = Entry(y.double().tolist())
    return out


def metrics() -> Values:
    """:func:`reportgen.run.metrics.test_metrics` of fixed logits (300 images, 70 % of them favoured right);
    confidences are rounded to 5 decimals, hence that tolerance."""
    from reportgen.run.metrics import test_metrics

    rng = np.random.default_rng(0)
    y = rng.integers(0, 10, 300)
    logits = rng.normal(0, 1.5, (300, 10))
    logits[np.arange(300), y] += 2.0 * (rng.random(300) < 0.7)
    return numbers(test_metrics(torch.from_numpy(logits.astype(np.float32)), torch.from_numpy(y)), "test", atol=1e-5)


def range_test() -> Values:
    from reportgen.run.lrfinder import range_test as run

    config = BASE.model_copy(update={"optim": Optim(name="sgd", lr=0.1, momentum=0.9),
                                     "train": Train(batch_size=16, range_test=RangeTest(start_lr=1e-4, end_lr=0.3))})
    out = run(config, 4, blobs())
    return {**numbers(out["range_test"], "range_test"), **model_numbers(out["model"], "model")}


def augment() -> Values:
    """Each augmentation op (affine: rotation, translation, scale; perspective) on 16 images."""
    from reportgen.run.augment import make

    x = blobs().x_train[:16]
    out: Values = {}
    for name, cfg in {"affine": Augment(rotation=15, translate=0.1, scale=0.1),
                      "all": Augment(rotation=30, translate=0.2, scale=0.2, perspective=0.4, perspective_p=0.5)}.items():
        torch.manual_seed(0)
        y = make(cfg)(x)
        out[name] = Entry([v for img in y for v in tensor_summary(img)])
    return out


def digits() -> Values:
    """The synthetic digit set (drawing and :func:`reportgen.data.digits.preprocess`) and every robustness
    perturbation at each of its severities."""
    from reportgen.data.digits import synthetic_digits
    from reportgen.run.perturb import robustness_transforms

    out: Values = {"synthetic": Entry([v for d in synthetic_digits(1, 0) for v in d.processed.ravel().tolist()])}
    pixels = torch.sigmoid(blobs().x_test[:8])
    for name, axis in robustness_transforms().items():
        out[name] = Entry([v for s in axis.severities for v in tensor_summary(axis.apply(pixels, s, seed=0))])
    return out


MODELS = {
    "mlp": [MLP(hidden=(32, 16), activation="tanh", dropout=0.1, init="xavier_uniform"), MLP(hidden=(24,)),
            MLP(hidden=(8,), activation="selu", init="normal_0.01"), MLP(hidden=(8,), init="kaiming_normal")],
    "cnn": [CNN(channels=(4, 8), hidden=(16,)),
            CNN(channels=(4, 4), convs_per_block=2, padding="same", batchnorm=True, residual=True, head="gap",
                hidden=(8,), dropout=0.1, activation="gelu", init="kaiming_normal")],
    "layers": [Layers(layers=(Conv(4, batchnorm=True), MaxPool(), Residual(body=(Conv(8), Conv(8, activation="none"))),
                              GAP(), Dense(10, activation="none"))),
               Layers(layers=(Conv(4, kernel=5, padding="valid", activation="elu", dropout=0.1), MaxPool(size=4),
                              Dense(12, activation="leaky_relu"), Dense(10, activation="none")), init="xavier_uniform")],
    "resnet": [ResNet(depth=18)],
}


def model(kind: str) -> Values:
    """Initial weights (global RNG seeded 0) and eval-mode logits on 4 fixed inputs, per config."""
    from reportgen.run.models import build

    x = torch.randn(4, 1, 28, 28, generator=torch.Generator().manual_seed(1))
    out: Values = {}
    for i, spec in enumerate(MODELS[kind]):
        torch.manual_seed(0)
        net = build(spec.model_dump()).eval()
        with torch.no_grad():
            out[f"{i}.logits"] = Entry(net(x).flatten().tolist())
        out.update(model_numbers(net, str(i)))
    return out


PROBE_MODELS = {"feature_maps": CNN(channels=(4, 8), hidden=(16,)),
                "saturation": Layers(layers=(Dense(16, activation="relu"), Dense(16, activation="tanh"),
                                             Dense(10, activation="none")))}


def probe(name: str) -> Values:
    """A two-epoch run of a small model with only this probe (indices 0, 3 and 7 where it takes some)."""
    from reportgen.run.probes import make_probes
    from reportgen.run.train import train_run

    with tempfile.TemporaryDirectory() as empty:  # custom_digits: an empty folder → the synthetic set
        spec = ProbeSpec(name=name, indices=(0, 3, 7) if name in ("digit_panel", "feature_maps") else (),
                         images=empty if name == "custom_digits" else None)
        config = BASE.model_copy(update={"model": PROBE_MODELS.get(name, BASE.model), "probes": (spec,)})
        result = train_run(config, 2, blobs(), probes=make_probes(config))
    return numbers(result["probes"][name], name, atol=ROUNDED.get(name, ATOL))


def recipe(component: str) -> Callable[[], Values]:
    """The recipe of a component of :data:`reportgen.spec.numerics.VERSIONS`. Raises KeyError for another name."""
    fixed = {"data": data_pipeline, "trainer": trainer, "metrics": metrics, "range_test": range_test,
             "augment": augment, "digits": digits}
    if component in fixed:
        return fixed[component]
    family, _, name = component.partition(".")
    if family == "model" and name in MODELS:
        return lambda: model(name)
    if family == "probe":
        return lambda: probe(name)
    raise KeyError(f"no fingerprint recipe for {component!r}")
