"""The training loop on tiny synthetic data on the CPU: reproducibility, learning, divergence, early
stopping, bit-exact resume, and the test metrics."""
from __future__ import annotations

import copy
import math

import numpy as np
import pytest
import torch

from reportgen.results import store
from reportgen.spec.expand import set_path
from reportgen.run.metrics import test_metrics as compute_test_metrics
from reportgen.spec import MLP, Data, Optim, RunConfig, Train
from reportgen.run.train import train_run

BASE = RunConfig(model=MLP(hidden=(32,)), optim=Optim(name="adam", lr=1e-3),
                 train=Train(epochs=2, batch_size=64), data=Data(val_size=100))


def config(**overrides) -> RunConfig:
    """BASE with dotted-path overrides written as ``model__dropout=0.2``."""
    tree = BASE.model_dump()
    for path, value in overrides.items():
        set_path(tree, path.replace("__", "."), value)
    return RunConfig.model_validate(tree)


def without_seconds(history: list[dict]) -> list[dict]:
    return [{k: v for k, v in h.items() if k != "seconds"} for h in history]


def same_numbers(a: dict, b: dict) -> bool:
    """Equal dicts where NaN equals NaN (roc_auc_ovr may be NaN on degenerate predictions)."""
    return json_like(a) == json_like(b)


def json_like(obj):
    if isinstance(obj, float) and math.isnan(obj):
        return "NaN"
    if isinstance(obj, dict):
        return {k: json_like(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_like(v) for v in obj]
    return obj


def test_result_shape_and_history_fields(tiny_mnist):
    out = train_run(config(), 0, tiny_mnist)
    assert out["status"] == "completed" and out["reason"] == ""
    assert [h["epoch"] for h in out["history"]] == [1, 2]
    assert out["stopped_epoch"] == 2
    assert set(out["history"][0]) == {"epoch", "train_loss", "train_acc", "train_eval_loss", "train_eval_acc",
                                      "val_loss", "val_acc", "lr", "seconds"}
    assert all(h["lr"] == 1e-3 for h in out["history"])
    assert out["params"] == 784 * 32 + 32 + 32 * 10 + 10
    val_losses = [h["val_loss"] for h in out["history"]]
    assert out["best_epoch"] == 1 + int(np.argmin(val_losses))
    assert sum(out["test"]["per_class"][str(c)]["support"] for c in range(10)) == 300
    assert isinstance(out["model"], torch.nn.Module)


def test_the_test_set_is_predicted_once_when_the_best_epoch_is_the_last(tiny_mnist, monkeypatch):
    from reportgen.run import train as train_mod

    sizes, real = [], train_mod.predict
    monkeypatch.setattr(train_mod, "predict", lambda model, x, *a, **k: sizes.append(len(x)) or real(model, x, *a, **k))
    out = train_run(config(train__epochs=1), 0, tiny_mnist)
    assert out["best_epoch"] == out["stopped_epoch"] == 1
    assert sizes.count(300) == 1  # the 300 test images; the 100 validation and 1,000 training ones aside
    assert out["test_best_epoch"] == {k: out["test"][k] for k in ("accuracy", "loss", "macro_f1")}


def test_same_seed_gives_identical_numbers(tiny_mnist):
    cfg = config(model__dropout=0.2, data__shuffled_labels=0.1)
    a, b = train_run(cfg, 3, tiny_mnist), train_run(cfg, 3, tiny_mnist)
    assert without_seconds(a["history"]) == without_seconds(b["history"])
    assert same_numbers(a["test"], b["test"])
    for pa, pb in zip(a["model"].state_dict().values(), b["model"].state_dict().values()):
        assert torch.equal(pa, pb)


def test_different_seeds_differ(tiny_mnist):
    a, b = train_run(config(), 0, tiny_mnist), train_run(config(), 1, tiny_mnist)
    assert a["history"][0]["train_loss"] != b["history"][0]["train_loss"]
    assert a["test"]["loss"] != b["test"]["loss"]


def test_learnable_data_is_learned_and_shuffled_labels_are_not(tiny_mnist):
    good = train_run(config(), 0, tiny_mnist)
    assert good["test"]["accuracy"] > 0.9
    assert good["history"][-1]["val_acc"] > 0.9
    noise = train_run(config(data__shuffled_labels=1.0, train__epochs=3), 0, tiny_mnist)
    assert noise["status"] == "completed"
    assert noise["test"]["accuracy"] < 0.3  # chance is 0.1: labels carry no information
    assert noise["history"][-1]["val_acc"] < 0.3


def test_huge_sgd_learning_rate_diverges_without_raising(tiny_mnist, tmp_path):
    out = train_run(config(optim__name="sgd", optim__lr=10.0, train__epochs=6), 0, tiny_mnist)
    assert out["status"] == "diverged"
    assert "non-finite training loss" in out["reason"]
    last = out["history"][-1]
    assert not math.isfinite(last["train_loss"])
    assert f"in epoch {last['epoch']}" in out["reason"]
    assert out["stopped_epoch"] == len(out["history"]) < 6  # training stops at the divergence
    assert all(math.isfinite(h["train_loss"]) for h in out["history"][:-1])
    # ...and the result is still storable as strict JSON.
    payload = {"key": "k", **{k: v for k, v in out.items() if k != "model"}}
    path = store.result_path(tmp_path, "s", "v", 0)
    store.write_json(path, payload)
    back = store.read_json(path)
    assert back["status"] == "diverged" and not math.isfinite(back["history"][-1]["train_loss"])


@pytest.mark.parametrize("restore_best", [True, False])
def test_early_stopping_stops_and_records_epochs(tiny_mnist, restore_best):
    cfg = config(model__hidden=(64,), optim__lr=1e-2, data__shuffled_labels=1.0, train__epochs=30,
                 train__early_stopping={"patience": 2, "restore_best": restore_best})
    out = train_run(cfg, 0, tiny_mnist)
    val_losses = [h["val_loss"] for h in out["history"]]
    assert out["status"] == "completed"
    assert out["stopped_epoch"] == len(out["history"]) < 30
    assert out["best_epoch"] == 1 + int(np.argmin(val_losses))
    assert out["stopped_epoch"] == out["best_epoch"] + 2
    assert min(val_losses[out["best_epoch"]:]) >= val_losses[out["best_epoch"] - 1]
    assert "early stop" in out["reason"] and f"after epoch {out['best_epoch']}" in out["reason"]
    best = out["test_best_epoch"]
    if restore_best:
        assert {k: out["test"][k] for k in best} == best
    else:
        assert out["test"]["loss"] != best["loss"]


CHECKPOINTED = {
    "adam_dropout_step": dict(model__dropout=0.3, train__epochs=4, train__scheduler={"name": "step", "step_size": 1, "gamma": 0.5}),
    "sgd_momentum_plateau_es": dict(model__dropout=0.5, optim__name="sgd", optim__lr=0.05, optim__momentum=0.9,
                                    data__shuffled_labels=0.3, train__epochs=4,
                                    train__scheduler={"name": "plateau", "factor": 0.5, "patience": 0},
                                    train__early_stopping={"patience": 3}),
}


@pytest.mark.parametrize("name", list(CHECKPOINTED))
@pytest.mark.parametrize("k", [1, 2])
def test_resume_from_checkpoint_is_bit_exact(tiny_mnist, name, k):
    cfg = config(**CHECKPOINTED[name])
    saved: dict[int, dict] = {}

    def keep(state: dict) -> None:
        # The state holds live references (weights, history list): a real checkpoint is a copy.
        saved[len(state["history"])] = copy.deepcopy(state)

    full = train_run(cfg, 5, tiny_mnist, checkpoint=keep)
    assert sorted(saved) == list(range(1, full["stopped_epoch"] + 1))
    assert without_seconds(saved[k]["history"]) == without_seconds(full["history"][:k])

    resumed = train_run(cfg, 5, tiny_mnist, resume=saved[k])
    assert without_seconds(resumed["history"]) == without_seconds(full["history"])
    assert (resumed["status"], resumed["reason"], resumed["best_epoch"], resumed["stopped_epoch"]) == (
        full["status"], full["reason"], full["best_epoch"], full["stopped_epoch"])
    assert same_numbers(resumed["test"], full["test"])
    assert resumed["test_best_epoch"] == full["test_best_epoch"]
    for (n, a), b in zip(full["model"].state_dict().items(), resumed["model"].state_dict().values()):
        assert torch.equal(a, b), n
    if name == "adam_dropout_step":
        assert [h["lr"] for h in full["history"]] == pytest.approx([1e-3, 5e-4, 2.5e-4, 1.25e-4], rel=1e-12)


def test_resume_differs_without_rng_state(tiny_mnist):
    """Control for the test above: dropout makes the RNG state matter, so restoring it is tested."""
    cfg = config(**CHECKPOINTED["adam_dropout_step"])
    saved = {}
    full = train_run(cfg, 5, tiny_mnist, checkpoint=lambda s: saved.setdefault(len(s["history"]), copy.deepcopy(s)))
    state = saved[2]
    state["torch_rng"] = torch.Generator().manual_seed(12345).get_state()
    resumed = train_run(cfg, 5, tiny_mnist, resume=state)
    assert resumed["history"][2]["train_loss"] != full["history"][2]["train_loss"]
    assert without_seconds(resumed["history"][:2]) == without_seconds(full["history"][:2])


def test_on_epoch_sees_each_history_row(tiny_mnist):
    rows = []
    out = train_run(config(train__epochs=3), 0, tiny_mnist, on_epoch=rows.append)
    assert rows == out["history"]


# ------------------------------------------------------------------------------------ metrics


def test_metrics_agree_with_each_other():
    rng = np.random.default_rng(0)
    y = torch.tensor(np.arange(60) % 10)
    logits = torch.tensor(rng.normal(size=(60, 10)), dtype=torch.float32)
    logits[torch.arange(60), y] += 2.0  # mostly right, some wrong
    m = compute_test_metrics(logits, y)
    pred = logits.argmax(1)
    wrong = torch.nonzero(pred != y).flatten().tolist()
    cm = np.array(m["confusion_matrix"])
    assert 0 < len(wrong) < 60
    assert cm.shape == (10, 10) and cm.sum() == 60
    assert m["accuracy"] == pytest.approx(np.trace(cm) / 60) == pytest.approx(1 - len(wrong) / 60)
    assert m["misclassified"] == wrong
    assert m["misclassified_pred"] == pred[wrong].tolist()
    assert len(m["misclassified_conf"]) == len(wrong) and all(0.1 <= c <= 1 for c in m["misclassified_conf"])
    assert cm.sum(1).tolist() == [m["per_class"][str(c)]["support"] for c in range(10)] == [6] * 10
    for c in range(10):
        assert m["per_class"][str(c)]["recall"] == pytest.approx(cm[c, c] / cm[c].sum())
        col = cm[:, c].sum()
        assert m["per_class"][str(c)]["precision"] == pytest.approx(cm[c, c] / col if col else 0.0)
    assert m["macro_f1"] == pytest.approx(np.mean([m["per_class"][str(c)]["f1"] for c in range(10)]))
    assert m["loss"] == pytest.approx(torch.nn.functional.cross_entropy(logits, y).item())
    assert 0.5 < m["roc_auc_ovr"] <= 1.0
    assert sum(b["count"] for b in m["calibration"]) == 60


def test_ece_is_zero_for_a_confident_correct_predictor():
    y = torch.arange(50) % 10
    logits = 100.0 * torch.nn.functional.one_hot(y, 10).float()
    m = compute_test_metrics(logits, y)
    assert m["accuracy"] == 1.0 and m["misclassified"] == [] and m["macro_f1"] == 1.0
    assert m["ece"] == 0.0
    assert m["calibration"][-1] == {"count": 50, "accuracy": 1.0, "confidence": 1.0}
    assert np.array(m["confusion_matrix"]).tolist() == (5 * np.eye(10, dtype=int)).tolist()
    assert m["roc_auc_ovr"] == 1.0


def test_ece_is_one_for_a_confident_wrong_predictor():
    y = torch.arange(50) % 10
    logits = 100.0 * torch.nn.functional.one_hot((y + 1) % 10, 10).float()
    m = compute_test_metrics(logits, y)
    assert m["accuracy"] == 0.0 and m["misclassified"] == list(range(50))
    assert m["ece"] == pytest.approx(1.0)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.UndefinedMetricWarning")
def test_missing_class_gives_nan_auc_not_an_error():
    y = torch.tensor([0, 1, 2, 0, 1, 2])
    logits = 10.0 * torch.nn.functional.one_hot(y, 10).float()
    m = compute_test_metrics(logits, y)
    assert math.isnan(m["roc_auc_ovr"])
    assert m["accuracy"] == 1.0
    assert m["per_class"]["5"]["support"] == 0


def _steps(model_cfg, o: Optim, flat: bool, channels_last: bool = False, steps: int = 40) -> list[torch.Tensor]:
    """``steps`` training steps (batch 16, dropout and batchnorm in train mode) on fixed random images:
    the weights after them, in module order."""
    from torch.nn import functional as F

    from reportgen.run.models import build
    from reportgen.run.optim import make_optimizer

    torch.manual_seed(0)
    model = build(model_cfg.model_dump())
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    opt = make_optimizer(model, o, flat=flat)
    g = torch.Generator().manual_seed(1)
    x, y = torch.randn(steps * 16, 1, 28, 28, generator=g), torch.randint(0, 10, (steps * 16,), generator=g)
    model.train()
    for i in range(0, len(x), 16):
        opt.zero_grad(set_to_none=False)
        F.cross_entropy(model(x[i:i + 16]), y[i:i + 16]).backward()
        opt.step()
    return [p.detach().clone() for p in model.parameters()]


@pytest.mark.parametrize("o", [Optim(name="adam", lr=1e-3), Optim(name="adam", lr=1e-3, weight_decay=1e-4),
                               Optim(name="adamw", lr=1e-3, weight_decay=1e-2),
                               Optim(name="sgd", lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-4),
                               Optim(name="rmsprop", lr=1e-3, momentum=0.5)], ids=lambda o: o.name)
def test_one_parameter_buffer_gives_the_per_tensor_numbers_bit_for_bit(o):
    """``flat_parameters``: the optimizer updates one buffer instead of a tensor per parameter; every
    weight ends bit for bit where the per-tensor update puts it (an MLP with dropout, and a conv model
    with batchnorm whose tensor sizes put elements in and out of the vectorised kernels' tails)."""
    from reportgen.spec import Conv, Dense, Layers, MaxPool

    cnn = Layers(layers=(Conv(6, kernel=3, batchnorm=True), MaxPool(), Conv(10, kernel=5, dropout=0.1), MaxPool(),
                         Dense(13), Dense(10, activation="none")))
    for model_cfg in (MLP(hidden=(37, 19), dropout=0.2), cnn):
        per_tensor, flat = _steps(model_cfg, o, flat=False), _steps(model_cfg, o, flat=True)
        assert all(torch.equal(a, b) for a, b in zip(per_tensor, flat, strict=True)), (model_cfg.kind, o.name)


def test_one_parameter_buffer_makes_views_and_keeps_a_channels_last_layout():
    from reportgen.run.optim import flat_parameters
    from reportgen.run.models import build
    from reportgen.spec import Conv, Dense, Layers

    model = build(MLP(hidden=(8,)).model_dump())
    before = [p.detach().clone() for p in model.parameters()]
    (flat,) = flat_parameters(model)
    assert flat.numel() == sum(p.numel() for p in before)
    for p, b in zip(model.parameters(), before):
        assert torch.equal(p, b) and p.untyped_storage().data_ptr() == flat.untyped_storage().data_ptr()
        assert p.grad.untyped_storage().data_ptr() == flat.grad.untyped_storage().data_ptr()
    convs = Layers(layers=(Conv(4), Conv(6), Dense(10, activation="none")))
    conv = build(convs.model_dump()).to(memory_format=torch.channels_last)
    assert [id(p) for p in flat_parameters(conv)] == [id(p) for p in conv.parameters()]  # not contiguous: as it is
    weights = _steps(convs, Optim(name="adam", lr=1e-3), flat=True, channels_last=True, steps=3)
    assert not weights[2].is_contiguous() and weights[2].is_contiguous(memory_format=torch.channels_last)


def test_a_trained_model_saves_although_its_weights_share_one_buffer(tiny_mnist, tmp_path):
    from reportgen.run.modelstore import load, save

    out = train_run(BASE, 0, tiny_mnist)
    path = tmp_path / "m.safetensors"
    header = {"config": BASE.model_dump(mode="json"), "key": "k", "study": "s", "variant": "v", "seed": 0}
    save(path, out["model"], header, "results/s/v/seed0.json")
    model, _ = load(path)
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), out["model"].state_dict().values()))


@pytest.mark.parametrize("name", list(CHECKPOINTED))
def test_a_checkpoint_with_one_optimizer_tensor_per_parameter_resumes_bit_for_bit(tiny_mnist, name):
    """Checkpoints written when the optimizer held one state tensor per parameter (before the runner put
    the weights in one buffer) resume to the uninterrupted run's numbers: the state is joined."""
    cfg = config(**CHECKPOINTED[name])
    saved: dict[int, dict] = {}
    full = train_run(cfg, 5, tiny_mnist, checkpoint=lambda s: saved.setdefault(len(s["history"]), copy.deepcopy(s)))
    old = saved[1]
    (flat_state,) = old["optim"]["state"].values()
    sizes = [p.numel() for p in full["model"].parameters()]
    assert sum(sizes) == next(v for v in flat_state.values() if torch.is_tensor(v) and v.dim()).numel()
    per = {}
    for i, (start, n) in enumerate(zip(np.cumsum([0, *sizes[:-1]]), sizes)):
        per[i] = {k: (v[start:start + n].clone() if torch.is_tensor(v) and v.dim() else v) for k, v in flat_state.items()}
    old["optim"] = {"state": per, "param_groups": [{**old["optim"]["param_groups"][0], "params": list(per)}]}
    resumed = train_run(cfg, 5, tiny_mnist, resume=old)
    assert without_seconds(resumed["history"]) == without_seconds(full["history"])
    for a, b in zip(full["model"].state_dict().values(), resumed["model"].state_dict().values()):
        assert torch.equal(a, b)
