"""The prediction-behaviour probes (predictions, custom_digits, robustness, sanity), their keys and
the calibration arithmetic, on tiny synthetic data whose right answer is known."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image, ImageDraw
from torch import nn

from reportgen.run.probes import predictions as PP
from reportgen.report.analyses.predictions import reliability_bins
from reportgen.report.analyses.sanity import _checks
from reportgen.spec.expand import IMAGES_ENV, SMOKE, Run, expand, key_config
from reportgen.run.probes import make_probes
from reportgen.spec import MLP, Data, Optim, ProbeSpec, RunConfig, Study, Sweep, Train
from reportgen.run.train import train_run


def config(probes, epochs=2, **data) -> RunConfig:
    return RunConfig(model=MLP(hidden=(32,), dropout=0.2), optim=Optim(name="adam", lr=1e-3),
                     train=Train(epochs=epochs, batch_size=64), data=Data(val_size=100, **data), probes=probes)


def strip(history):
    return [{k: v for k, v in h.items() if k != "seconds"} for h in history]


def digit_png(path: Path, fmt: str = "PNG") -> None:
    """A dark '1' stroke on light paper."""
    im = Image.new("L", (60, 80), 240)
    ImageDraw.Draw(im).line([(30, 10), (30, 70)], fill=20, width=6)
    im.convert("RGB").save(path, fmt)


def test_new_probes_do_not_change_training(tiny_mnist, tmp_path):
    """They measure on a copy or in eval mode on a forked RNG: the run's numbers are bit-identical."""
    probes = tuple(ProbeSpec(name=n) for n in ("predictions", "robustness", "sanity")) + (
        ProbeSpec(name="custom_digits", images=str(tmp_path)),)
    digit_png(tmp_path / "1_a.png")
    plain = train_run(config(()), 1, tiny_mnist)
    probed = train_run(config(probes), 1, tiny_mnist, probes=make_probes(config(probes)))
    assert strip(plain["history"]) == strip(probed["history"])
    for a, b in zip(plain["model"].state_dict().values(), probed["model"].state_dict().values()):
        assert torch.equal(a, b)
    assert set(probed["probes"]) == {"predictions", "robustness", "sanity", "custom_digits"}


def test_predictions_are_the_softmax_of_the_final_model(tiny_mnist):
    cfg = config((ProbeSpec(name="predictions"),))
    out = train_run(cfg, 0, tiny_mnist, probes=make_probes(cfg))
    rec = out["probes"]["predictions"][0]
    x, y = tiny_mnist.x_test, tiny_mnist.y_test
    out["model"].eval()
    p = F.softmax(out["model"](x), 1).detach()
    assert rec["predicted"] == p.argmax(1).tolist()
    assert np.allclose(rec["confidence"], p.max(1).values.numpy(), atol=5e-5)
    assert np.allclose(rec["true_prob"], p.gather(1, y[:, None])[:, 0].numpy(), atol=5e-5)
    acc = np.mean(np.asarray(rec["predicted"]) == y.numpy())
    assert acc == pytest.approx(out["test"]["accuracy"])


def test_ece_of_a_hand_computed_example():
    """Two bins used: {0.95, 0.95} with accuracy 1/2 and {0.55, 0.55} with accuracy 1:
    ECE = 0.5·|0.5 − 0.95| + 0.5·|1 − 0.55| = 0.45."""
    out = reliability_bins(np.array([0.95, 0.95, 0.55, 0.55]), np.array([True, False, True, True]), bins=10)
    assert out["ece"] == pytest.approx(0.45)
    assert out["count"][9] == 2 and out["count"][5] == 2 and sum(out["count"]) == 4
    assert math.isnan(out["acc"][0])
    perfect = reliability_bins(np.array([1.0, 1.0]), np.array([True, True]))
    assert perfect["ece"] == pytest.approx(0.0)


def test_robustness_at_severity_zero_is_the_clean_test_accuracy(tiny_mnist):
    cfg = config((ProbeSpec(name="robustness"),))
    out = train_run(cfg, 0, tiny_mnist, probes=make_probes(cfg))
    rec = out["probes"]["robustness"][0]
    assert set(rec) == {"rotation", "shift", "noise"}
    for axis in rec.values():
        assert axis["severities"][0] == 0 and len(axis["accuracy"]) == len(axis["severities"])
        assert axis["accuracy"][0] == pytest.approx(out["test"]["accuracy"], abs=1e-6)
    assert rec["noise"]["accuracy"][-1] < rec["noise"]["accuracy"][0]  # σ = 1 noise hurts


def test_custom_digits_reads_png_and_jpeg_and_rejects_the_rest(tiny_mnist, tmp_path):
    digit_png(tmp_path / "1_a.png")
    digit_png(tmp_path / "1-b.jpg", "JPEG")
    (tmp_path / "notes.txt").write_text("not an image")
    (tmp_path / "big.png").write_bytes(b"\0" * 10)  # replaced below by a too-large file
    Image.new("L", (7000, 6000), 255).save(tmp_path / "big.png")  # 42 megapixels: over the limit
    cfg = config((ProbeSpec(name="custom_digits", images=str(tmp_path)),), epochs=1)
    rec = train_run(cfg, 0, tiny_mnist, probes=make_probes(cfg))["probes"]["custom_digits"][0]
    assert rec["source"] == "folder"
    assert [im["name"] for im in rec["images"]] == ["1-b.jpg", "1_a.png"]
    assert [im["label"] for im in rec["images"]] == [1, 1]
    for im in rec["images"]:
        assert len(im["processed"]) == 2 * 28 * 28 and sum(im["probs"]) == pytest.approx(1, abs=1e-3)
    assert len(rec["rejected"]) == 2
    assert any(r.startswith("notes.txt: not an image") for r in rec["rejected"])
    assert any(r.startswith("big.png: image too large") for r in rec["rejected"])


def test_custom_digits_falls_back_to_synthetic_digits_for_an_empty_folder(tiny_mnist, tmp_path):
    (tmp_path / ".gitkeep").write_text("")
    cfg = config((ProbeSpec(name="custom_digits", images=str(tmp_path)),), epochs=1)
    rec = train_run(cfg, 0, tiny_mnist, probes=make_probes(cfg))["probes"]["custom_digits"][0]
    assert rec["source"] == "synthetic" and rec["rejected"] == []
    assert [im["label"] for im in rec["images"]] == [d for d in range(10) for _ in range(PP.SYNTHETIC_PER_DIGIT)]


def test_an_original_is_shown_only_while_it_still_gives_the_recorded_mnist_form(tmp_path):
    """The page shows an image beside the 28×28 the model saw only if that file (or that synthetic
    drawing, on a machine with other fonts) still preprocesses to the recorded bytes."""
    from reportgen.report.analyses.custom import _originals
    from reportgen.data import digits

    digit_png(tmp_path / "1_a.png")
    digit_png(tmp_path / "1_b.png")
    record = {"source": "folder", "folder": str(tmp_path),
              "images": [{"name": d.name, "processed": digits.to_hex(d.processed)}
                         for d in digits.load_folder(str(tmp_path))[0]]}
    assert set(_originals(record)) == {"1_a.png", "1_b.png"}
    im = Image.new("L", (60, 80), 240)  # 1_b.png changed after the run: a diagonal stroke
    ImageDraw.Draw(im).line([(10, 10), (50, 70)], fill=20, width=6)
    im.save(tmp_path / "1_b.png")
    assert set(_originals(record)) == {"1_a.png"}
    assert _originals({**record, "folder": str(tmp_path / "gone")}) == {}


def study_with_folder(folder: str | None) -> Study:
    return Study(title="t", question="q?", probes=(ProbeSpec(name="custom_digits", images=folder),),
                 sweep=Sweep(seeds=(0,)))


def test_the_image_folder_contents_enter_the_key(tmp_path, monkeypatch):
    monkeypatch.delenv(IMAGES_ENV, raising=False)
    (run,) = expand(study_with_folder(str(tmp_path)), "t")
    before = run.key
    assert run.key == before  # stable while the folder is unchanged
    digit_png(tmp_path / "1_a.png")
    assert run.key != before  # a new photo re-runs the study
    other = tmp_path / "other"
    other.mkdir()
    monkeypatch.setenv(IMAGES_ENV, str(other))  # reportgen run --images DIR
    (moved,) = expand(study_with_folder(str(tmp_path)), "t")
    assert moved.config.probes[0].images == str(other) and moved.key != run.key


def test_the_fonts_of_the_synthetic_set_enter_the_key_of_custom_digits_runs_only(tmp_path, monkeypatch):
    from reportgen.spec import expand as expand_mod

    monkeypatch.delenv(IMAGES_ENV, raising=False)
    (run,) = expand(study_with_folder(str(tmp_path)), "t")
    plain = Run("s", "v", "v", 0, RunConfig())
    before, plain_before = run.key, plain.key
    monkeypatch.setattr(expand_mod, "fonts_digest", lambda: "0" * 64)  # a matplotlib shipping other fonts
    assert run.key != before and plain.key == plain_before


def test_late_probe_fields_at_their_default_keep_earlier_keys():
    cfg = RunConfig(probes=(ProbeSpec(name="grad_norms"),))
    assert key_config(cfg)["probes"] == [{"name": "grad_norms", "every": 1, "indices": []}]
    with pytest.raises(ValueError, match="custom_digits probe only"):
        ProbeSpec(name="grad_norms", images="x")


def test_sanity_probe_finds_a_parameter_without_gradient(tiny_mnist):
    class Unused(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(784, 10)
            self.spare = nn.Parameter(torch.zeros(3))  # never used in forward

        def forward(self, x):
            return self.fc(x.flatten(1))

    probe = make_probes(config((ProbeSpec(name="sanity"),)))[0]
    model = Unused()
    split = tiny_mnist.split(100, None, None, 0.0, 0)
    probe.start(model, split)
    rec = probe.result()[0]
    assert rec["no_grad"] == ["spare"] and model.spare.grad is None and model.fc.weight.grad is None
    assert rec["output_shape"] == [PP.RANDOM_BATCH, 10] and rec["params"] == 7853
    assert math.isfinite(rec["initial_loss"]) and rec["expected_loss"] == pytest.approx(2.302585)
    assert len(rec["batch"]["images"]) == len(rec["batch"]["labels"]) == PP.BATCH_SHOWN


def test_sanity_checks_pass_on_a_memorising_run_and_fail_on_a_wrong_shape(tiny_mnist):
    cfg = config((ProbeSpec(name="sanity"),), epochs=30, train_subset=100)
    out = train_run(cfg, 0, tiny_mnist, probes=make_probes(cfg))
    run = {"config": cfg.model_dump(), "history": out["history"], "params": out["params"]}
    probe = out["probes"]["sanity"][0]
    checks = {c["name"]: c["passed"] for c in _checks(run, probe)}
    assert all(checks.values()), checks
    bad = _checks(run, {**probe, "output_shape": [8, 9], "initial_loss": 9.0, "no_grad": ["fc1.bias"]})
    assert [c["passed"] for c in bad] == [False, False, False, True, True]


def test_a_small_train_subset_survives_smoke():
    study = Study(title="t", question="q?", data=Data(train_subset=100), sweep=Sweep(seeds=(0,)))
    (run,) = expand(study, "t", smoke=True)
    assert run.config.data.train_subset == 100 and run.config.train.epochs == 1
    (big,) = expand(Study(title="t", question="q?", sweep=Sweep(seeds=(0,))), "t", smoke=True)
    assert big.config.data.train_subset == SMOKE["data.train_subset"] > 100


def test_runs_with_prediction_probes_hold_their_numerics_versions():
    plain = Run("s", "v", "v", 0, RunConfig())
    probed = Run("s", "v", "v", 0, RunConfig(probes=(ProbeSpec(name="predictions"),)))
    grad = Run("s", "v", "v", 0, RunConfig(probes=(ProbeSpec(name="grad_norms"),)))
    assert set(probed.numerics) - set(plain.numerics) == {"probe.predictions"}
    assert set(grad.numerics) - set(plain.numerics) == {"probe.grad_norms"}
    robust = Run("s", "v", "v", 0, RunConfig(probes=(ProbeSpec(name="robustness"),)))
    custom = Run("s", "v", "v", 0, RunConfig(probes=(ProbeSpec(name="custom_digits"),)))
    assert set(robust.numerics) - set(plain.numerics) == {"probe.robustness", "digits"}
    assert set(custom.numerics) - set(plain.numerics) == {"probe.custom_digits", "digits"}


def test_images_flag_must_name_a_folder(tmp_path, capsys):
    from reportgen import cli

    assert cli.main(["plan", "--images", str(tmp_path / "nope"), "custom_images"]) == 2
    assert "not a folder" in capsys.readouterr().err


def test_run_names_the_files_it_will_skip_before_training(tmp_path, monkeypatch):
    from rich.console import Console

    from reportgen.spec.catalog import load_all
    from reportgen.cli import _warn_rejected_images

    digit_png(tmp_path / "1_a.png")
    (tmp_path / "notes.txt").write_text("not an image")
    monkeypatch.setenv(IMAGES_ENV, str(tmp_path))
    specs = [load_all(Path(__file__).resolve().parents[1] / "experiments")[0]["custom_images"]]
    console = Console(record=True, width=300)
    _warn_rejected_images(specs, console)
    text = console.export_text()
    assert "skipped" in text and "notes.txt: not an image" in text and "1_a.png" not in text
