"""The layer-list and ResNet model families, their spec validation, and the measured cost of a model
(parameters, FLOPs, layer table) against hand counts."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from pydantic import ValidationError
from torch import nn

from reportgen.run import modelinfo
from reportgen.results import store
from reportgen.report.analyses.architectures import _stays_above
from reportgen.spec.catalog import SpecError, load_spec
from reportgen.spec.expand import expand
from reportgen.run.models import build
from reportgen.results.quantized import decode
from reportgen.spec import RunConfig
from reportgen.spec import GAP, MLP, Conv, Dense, Layers, MaxPool, ProbeSpec, Residual, ResNet, RunConfig
from reportgen.run.train import train_run

#: Conv(2, 3×3 valid) → MaxPool(2) → Dense(10): counted by hand below.
TINY = Layers(layers=(Conv(2, padding="valid"), MaxPool(), Dense(10, activation="none")))


def test_tiny_model_params_and_flops_match_a_hand_count():
    model = build(TINY.model_dump())
    conv_params = 1 * 2 * 3 * 3 + 2  # weights + biases
    dense_params = 2 * 13 * 13 * 10 + 10  # (2 channels × 13 × 13) → 10
    assert sum(p.numel() for p in model.parameters()) == conv_params + dense_params == 3410
    # 2 FLOPs per multiply-add: each of the 26×26×2 conv outputs takes 9 products; the dense layer 338 × 10.
    assert modelinfo.flops_per_image(model) == 2 * (26 * 26 * 2 * 9) + 2 * (338 * 10) == 31096
    rows = modelinfo.architecture(model)
    assert sum(r["params"] for r in rows) == 3410
    assert [r["output"] for r in rows if r["type"] in ("Conv2d", "MaxPool2d", "Linear")] == [[2, 26, 26], [2, 13, 13], [10]]


def test_mlp_flops_are_two_per_multiply_add():
    model = build(MLP(hidden=(128,)).model_dump())
    assert modelinfo.flops_per_image(model) == 2 * (784 * 128 + 128 * 10)


def test_layer_shapes_follow_padding_pooling_and_gap():
    m = Layers(layers=(Conv(8), Conv(8, padding="valid", kernel=5), MaxPool(), Residual(body=(Conv(16), Conv(16))),
                       GAP(), Dense(10, activation="none")))
    net = build(m.model_dump())
    assert net(torch.zeros(3, 1, 28, 28)).shape == (3, 10)
    shapes = [r["output"] for r in modelinfo.architecture(net)]
    assert [8, 24, 24] in shapes and [8, 12, 12] in shapes and [16, 1, 1] in shapes


def test_residual_block_uses_identity_or_a_projection():
    same = build(Layers(layers=(Conv(8), Residual(body=(Conv(8),)), GAP(), Dense(10, activation="none"))).model_dump())
    wider = build(Layers(layers=(Conv(8), Residual(body=(Conv(16),)), GAP(), Dense(10, activation="none"))).model_dump())
    assert isinstance(same[1].skip, nn.Identity)
    assert isinstance(wider[1].skip, nn.Conv2d) and wider[1].skip.kernel_size == (1, 1)


def test_batchnorm_convs_have_no_bias():
    net = build(Layers(layers=(Conv(4, batchnorm=True), GAP(), Dense(10, activation="none"))).model_dump())
    conv = next(m for m in net.modules() if isinstance(m, nn.Conv2d))
    assert conv.bias is None and any(isinstance(m, nn.BatchNorm2d) for m in net.modules())


@pytest.mark.parametrize("layers, message", [
    ((Conv(8, kernel=7, padding="valid"),) * 5 + (Dense(10, activation="none"),), "layers[4] (conv 7×7, valid) gets a 4×4"),
    ((Dense(64), Conv(8), Dense(10, activation="none")), "layers[1] (conv) follows a dense layer"),
    ((Conv(8), GAP()), "must end in 10 logits"),
    ((Conv(8), GAP(), Dense(10)), "logits need activation='none'"),
    ((MaxPool(size=8), MaxPool(size=8), Dense(10, activation="none")), "layers[1] (maxpool 8) gets a 3×3 map"),
])
def test_impossible_layer_lists_are_rejected_with_the_layer_named(layers, message):
    """Order and logits' activation are checked by Layers itself; shapes against the run's data set (MNIST here)."""
    with pytest.raises(ValidationError, match=message.replace("[", r"\[").replace("(", r"\(").replace(")", r"\)")):
        RunConfig(model=Layers(layers=layers))


def test_residual_body_needs_same_padding():
    with pytest.raises(ValidationError, match="padding='same'"):
        Residual(body=(Conv(8, padding="valid"),))


def test_a_bad_layer_in_a_spec_file_names_the_file_and_the_field(tmp_path: Path):
    path = tmp_path / "bad_layers.py"
    path.write_text('"""Bad.\n\nRun: x\nExpected: x\nCost: x\n"""\n'
                    "from reportgen.spec import Conv, Dense, Layers, Study\n"
                    "STUDY = Study(title='t', question='q', model=Layers(layers=(Conv(8, kernel=4), "
                    "Dense(10, activation='none'))))\n")
    with pytest.raises(SpecError) as err:
        load_spec(path)
    text = str(err.value)
    assert "bad_layers.py" in text and "kernel" in text and "4" in text


def test_resnets_take_one_channel_and_give_ten_logits():
    for depth in (18, 50):
        net = build(ResNet(depth=depth).model_dump())
        assert net(torch.zeros(2, 1, 28, 28)).shape == (2, 10)
        assert net[1].conv1.in_channels == 1
    # torchvision's ResNet-18 has 11,689,512 parameters with a 1000-way head on RGB; ours differs only
    # in conv1 (64·3·49 → 64·1·49) and the head (512·1000+1000 → 512·10+10).
    n18 = sum(p.numel() for p in build(ResNet(depth=18).model_dump()).parameters())
    assert n18 == 11_689_512 - 64 * 2 * 49 - (512 * 990 + 990)


def test_eval_probes_enter_the_numerics_only_of_runs_that_use_them(tmp_path):
    from reportgen.spec.expand import Run

    plain = Run("s", "v", "v", 0, RunConfig())
    probed = Run("s", "v", "v", 0, RunConfig(probes=(ProbeSpec(name="weight_norms"),)))
    curve = Run("s", "v", "v", 0, RunConfig(probes=(ProbeSpec(name="test_curve"),)))
    assert len({plain.key, probed.key, curve.key}) == 3
    assert "probe.test_curve" in curve.numerics and "probe.test_curve" not in probed.numerics


def test_test_curve_records_each_epoch_and_ends_at_the_final_test_accuracy(tiny_mnist):
    from reportgen.run.probes import make_probes

    config = RunConfig(model=TINY, train={"epochs": 2, "batch_size": 64}, data={"val_size": 100},
                       probes=(ProbeSpec(name="test_curve"), ProbeSpec(name="feature_maps", indices=(3,))))
    out = train_run(config, 0, tiny_mnist, probes=make_probes(config))
    curve = out["probes"]["test_curve"]
    assert [row["epoch"] for row in curve] == [1, 2]
    assert curve[-1]["test_acc"] == pytest.approx(out["test"]["accuracy"])
    maps = out["probes"]["feature_maps"]
    assert maps[0]["index"] == 3 and maps[0]["shape"] == [2, 26, 26]
    conv1 = out["model"][0][0]  # the first conv block's Conv2d (the probe hooks its output)
    with torch.no_grad():
        real = conv1(tiny_mnist.x_test[3:4])[0].numpy()
    assert np.allclose(decode(maps[0]["maps"]), real, atol=float(max(maps[0]["maps"]["scale"])) / 2 + 1e-4)
    # The probes only look: the same run without them trains to the same numbers.
    bare = train_run(config.model_copy(update={"probes": ()}), 0, tiny_mnist)
    assert [h["train_loss"] for h in bare["history"]] == [h["train_loss"] for h in out["history"]]


@pytest.mark.parametrize("acc, first", [([0.9, 0.995, 0.996], 2), ([0.995, 0.99, 0.996], 3),
                                        ([0.995, 0.996, 0.99], None), ([], None)])
def test_first_epoch_staying_above_the_target(acc, first):
    assert _stays_above(acc, 0.994) == first


def test_stored_results_without_flops_get_them_from_their_config(tmp_path):
    from reportgen.spec.catalog import Spec
    from reportgen.run.execute import describe_missing
    from reportgen.run.plan import plan
    from reportgen.spec import Study
    from conftest import valid_result

    study = Study(title="t", question="q", model=TINY)
    spec = Spec("tiny", tmp_path / "tiny.py", study, "")
    run = expand(study, "tiny")[0]
    path = store.result_path(tmp_path, "tiny", run.variant, run.seed)
    store.write_json(path, valid_result(run.key, study="tiny", variant=run.variant, seed=run.seed,
                                        config=run.config.model_dump(mode="json"), numerics=run.numerics))
    planned = [p for p in plan([spec], tmp_path) if p.run.seed == run.seed]
    assert planned[0].action == "cached"
    assert describe_missing(planned) == 1
    result = store.read_result(path)
    assert result["flops"] == 31096 and sum(r["params"] for r in result["architecture"]) == 3410
    assert describe_missing(planned) == 0  # done once
