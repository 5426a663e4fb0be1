"""Figures read as they should: the grid heat map's values and axis titles, the Pareto figure with a
collapsed seed, a collapsed seed left out of curves and confusion matrices and named, the feature-map
title's channel count, and bar labels that do not overlap. Most tests catch the figure just before it
is saved and inspect its artists."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from reportgen.report.draw import colours, figures
from reportgen.report.analyses import Context
from reportgen.spec.catalog import load_spec
from reportgen.results.summary import StudyResults, VariantResults

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def caught(monkeypatch):
    """Every figure saved during the test, drawn, in order."""
    figs = []
    real = figures.save

    def keep(fig, path, **options):
        fig.canvas.draw()
        fig.caught_renderer = fig.canvas.get_renderer()  # closing the figure detaches its canvas
        figs.append(fig)
        return real(fig, path, **options)

    monkeypatch.setattr(figures, "save", keep)
    return figs


def _overlap(boxes) -> bool:
    return any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1:])


def test_grid_heatmap_shows_percent_once_per_seed_and_names_its_axes(tmp_path, caught):
    from reportgen.report.analyses.tuning import grid_heatmap

    spec = load_spec(REPO / "experiments" / "lr_wd_grid.py")
    vs = []
    for lr in (0.01, 0.03):
        for wd in (0.0, 1e-4):
            runs = [{"seed": s, "config": {"optim": {"name": "sgd", "lr": lr, "weight_decay": wd}},
                     "history": [{"val_acc": 0.988 + lr / 10 + s / 1000}]} for s in (0, 1)]
            vs.append(VariantResults(f"lr={lr}, weight_decay={wd}", f"lr={lr}, weight_decay={wd}", runs, 2))
    out = grid_heatmap(Context(StudyResults(spec, vs, vs[0].slug), tmp_path, "x"))
    ax = caught[0].axes[0]
    cells = sorted(t.get_text() for t in ax.texts)
    assert "98.95 %\n(98.90, 99.00)" in cells  # lr 0.01: 98.9 %, 99.0 % on seed 1; the mean in %, each seed beside it
    assert not any("9880" in c for c in cells)
    assert ax.get_xlabel() == "learning rate of sgd\n(optim.lr)"
    assert ax.get_ylabel() == "weight decay coefficient of sgd, added to the gradient\n(optim.weight_decay)"
    assert "Validation accuracy" in ax.get_title() and "test set plays no part" in ax.get_title()
    assert out["best"] == "lr=0.03, weight_decay=0.0"


def test_a_collapsed_seed_neither_moves_its_median_nor_stretches_the_axis(tmp_path, caught):
    seeds = [[97.73, 97.60, 11.35], [98.0, 98.2, 98.1], [97.9, 98.0, 98.1], [99.1, 99.2, 99.3]]
    figures.pareto([2e5, 1e5, 8e3, 5e5], seeds, ["cnn: lr-1e-2", "mlp", "small cnn", "big"], tmp_path / "p.png",
                   "parameters (log scale)", "t")
    ax = caught[0].axes[0]
    assert ax.get_yscale() == "log" and ax.get_xscale() == "log"
    low, high = ax.get_ylim()
    assert 0 < low and high < 150  # an error rate: no −50 … 200 % axis
    rings = ax.collections[-1].get_offsets()  # the medians, drawn after the per-seed dots
    assert np.isclose(rings[0][1], 100 - 97.60)  # the collapsed variant's ring sits with its good seeds
    dots = np.concatenate([c.get_offsets()[:, 1] for c in ax.collections[:-1]])
    assert np.isclose(dots, 100 - 11.35).any()  # the collapsed seed is shown, not averaged away
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend[2:] == ["1: small cnn (8,000, 2.00 %)", "2: mlp (100,000, 1.90 %)", "3: big (500,000, 0.80 %)"]
    assert not any("lr-1e-2" in t for t in legend)  # only the front is named


def test_the_bench_bars_name_each_workload_without_overlap(tmp_path, caught):
    labels = ["mlp (cpu, 2 threads)", "examples_cnn (cpu, 2 threads)", "budget_model3 (cpu, 2 threads)"]
    figures.hbars(labels, [7.4, 1.2, 1.3], tmp_path / "b.png", "speedup (×)", "t", targets=[10.0, 3.0, None])
    ax = caught[0].axes[0]
    ticks = ax.get_yticklabels()
    assert [t.get_text() for t in sorted(ticks, key=lambda t: -t.get_position()[1])] == labels  # top to bottom
    renderer = caught[0].caught_renderer
    assert not _overlap([t.get_window_extent(renderer) for t in ticks])
    assert sorted(t.get_text() for t in ax.texts) == ["1.2×", "1.3×", "7.4×"]
    assert ax.get_xlim()[1] > 10.0  # the 10× target is inside the axes


def test_feature_map_titles_count_the_channels_they_show(tmp_path, caught):
    from reportgen.report.analyses.architectures import feature_maps
    from reportgen.results.quantized import encode

    spec = load_spec(REPO / "experiments" / "architecture_comparison.py")
    maps = [{"layer": "conv2", "index": 0, "label": 7, "maps": encode(np.zeros((64, 14, 14)))},
            {"layer": "conv1", "index": 0, "label": 7, "maps": encode(np.zeros((16, 26, 26)))}]
    v = VariantResults("convnet", "convnet", [{"history": [{"val_acc": 0.99}], "probes": {"feature_maps": maps}}], 1)
    ctx = Context(StudyResults(spec, [v], "convnet"), tmp_path, "x")
    ctx.__dict__["test_images"] = np.zeros((10, 28, 28), np.uint8)
    feature_maps(ctx)
    titles = [f._suptitle.get_text() for f in caught[:2]]
    assert titles[0].endswith("the first 32 of 64 channels, each 14×14")
    assert titles[1].endswith("all 16 channels, each 26×26")


def test_small_multiples_are_at_most_two_panels_wide_with_one_legend_in_the_spare_cell(tmp_path, caught):
    """Three panels asked for in three columns come out two wide (so the site's text column shows
    them near full size), and their shared legend fills the empty fourth cell."""
    series = {"a": ([1, 2, 3], np.ones((2, 3))), "b": ([1, 2, 3], np.zeros((2, 3)))}
    figures.lines([figures.Panel(f"panel {k}", "accuracy (%)", series) for k in range(3)], tmp_path / "f.png", cols=3)
    fig = caught[0]
    drawn = [ax for ax in fig.axes if ax.axison]
    assert len(drawn) == 3
    assert len({round(ax.get_position().x0, 3) for ax in drawn}) == 2  # two columns
    assert fig.get_size_inches()[0] <= figures.MAX_COLS * figures.PANEL_W + 1e-9
    legends = [ax.get_legend() for ax in fig.axes if ax.get_legend() is not None]
    assert len(legends) == 1 and not legends[0].axes.axison
    assert [t.get_text() for t in legends[0].get_texts()] == ["a", "b"]


def test_reliability_diagrams_wrap_at_two_columns(tmp_path, caught):
    d = {"edges": [0, 0.5, 1], "acc": [0.4, 0.9], "conf": [0.3, 0.8], "count": [10, 90]}
    figures.reliability({"x": d, "y": d, "z": d}, tmp_path / "r.png", "t")
    drawn = [ax for ax in caught[0].axes if ax.axison]
    assert len(drawn) == 3 and len({round(ax.get_position().x0, 3) for ax in drawn}) == 2


def test_each_variant_of_a_figure_has_its_own_colour(tmp_path, caught):
    """cnn_hyperparameters' twelve variants: twelve colours in its learning curves and bars, the first
    ten unchanged from the colour-blind palette."""
    from matplotlib.colors import to_hex

    names = list(load_spec(REPO / "experiments" / "cnn_hyperparameters.py").study.sweep.variants)
    assert len(names) == 12
    curves = {n: {"train_loss": [[0.3, 0.2]], "val_loss": [[0.3, 0.25]], "train_acc": [[0.9, 0.95]],
                  "val_acc": [[0.9, 0.94]]} for n in names}
    figures.learning_curves(curves, tmp_path / "curves.png")
    legend = caught[-1].axes[0].get_legend()
    line_colours = {t.get_text(): to_hex(h.get_color()) for t, h in zip(legend.get_texts(), legend.legend_handles)}
    assert set(line_colours) == set(names)
    assert len(set(line_colours.values())) == 12, line_colours
    assert line_colours["lr-1e-2"] != line_colours["init-normal-0.01"]
    assert [line_colours[n] for n in names[:10]] == [to_hex(c) for c in figures.PALETTE]

    figures.bars(names, [1.0] * 12, [0.1] * 12, tmp_path / "bars.png", "y", "t")
    assert len({to_hex(p.get_facecolor()) for p in caught[-1].axes[0].patches}) == 12
    panel = figures.Panel("t", "y", {n: ([1, 2], np.array([[0.9, 0.95]])) for n in names})
    for shared in (True, False):
        figures.lines([panel], tmp_path / f"lines-{shared}.png", shared_colours=shared)
        assert len({to_hex(ln.get_color()) for ln in caught[-1].axes[0].get_lines()}) == 12
    assert len({to_hex(c) for c in colours.COLOURS}) == len(colours.COLOURS) == 40


def _run(seed: int, acc: float) -> dict:
    """A run with a two-epoch history ending at ``acc`` and a confusion matrix marking its seed."""
    hist = [{"epoch": e, "train_loss": 1.0 / e, "val_loss": 1.0 / e, "train_acc": acc, "val_acc": acc,
             "train_eval_acc": acc} for e in (1, 2)]
    return {"seed": seed, "status": "completed", "history": hist, "best_epoch": 2 + seed, "stopped_epoch": 2,
            "config": {"train": {"early_stopping": None}},
            "test": {"accuracy": acc, "confusion_matrix": (np.eye(10) * (seed + 1)).tolist()}}


def test_a_collapsed_seed_is_left_out_of_curves_and_confusion_matrix_and_named(tmp_path, monkeypatch):
    from reportgen.report.analyses import dynamics, standard

    spec = load_spec(REPO / "experiments" / "cnn_hyperparameters.py")
    good = VariantResults("baseline", "baseline", [_run(s, 0.99) for s in (0, 1, 2)], 3)
    bad = VariantResults("lr-1e-2", "lr-1e-2", [_run(0, 0.977), _run(1, 0.976), _run(2, 0.1135)], 3)
    ctx = Context(StudyResults(spec, [good, bad], "baseline"), tmp_path, "assets")
    got: dict = {}
    monkeypatch.setattr(figures, "learning_curves", lambda curves, path, marks=None: got.update(curves=curves))
    monkeypatch.setattr(figures, "confusion_matrix", lambda cm, path, title, names=None: got.setdefault("cms", []).append((cm, title)))
    monkeypatch.setattr(figures, "lines", lambda panels, path, title, **kw: got.update(panels=panels))

    lc = standard.learning_curves(ctx)
    assert got["curves"]["lr-1e-2"]["val_acc"] == [[0.977] * 2, [0.976] * 2]  # seed 2 out of mean and band
    assert len(got["curves"]["baseline"]["val_acc"]) == 3
    assert lc["best_epochs"]["lr-1e-2"] == [2, 3]
    assert lc["left_out"] == ["seed 2 of lr-1e-2 (collapsed to 11.35 %)"]

    cm = standard.confusion_matrix(ctx)
    (cm_good, _), (cm_bad, title) = got["cms"]
    assert np.array_equal(cm_bad, np.eye(10) * 3) and np.array_equal(cm_good, np.eye(10) * 6)  # seeds 0 and 1 only
    assert "2 seed(s), seed 2 left out" in title
    assert cm["tabs"][1]["n"] == 2 and cm["tabs"][1]["left_out"] == "seed 2 collapsed to 11.35 % (chance level)"
    assert cm["tabs"][0]["left_out"] == ""

    ft = dynamics.factor_tables(ctx)
    x, runs = got["panels"][0].series["lr-1e-2"]
    assert np.allclose(runs, [[97.7] * 2, [97.6] * 2])
    assert ft["left_out"] == ["seed 2 of lr-1e-2 (collapsed to 11.35 %)"]


def test_the_interactive_curves_colour_each_variant_as_the_static_figure_does():
    """Vega-Lite would sort the variants alphabetically; the chart fixes the spec's order and the static
    figure's colours (optimizer_comparison: sgd is the same colour in both)."""
    from matplotlib.colors import to_hex

    from reportgen.report.analyses.standard import _curves
    from reportgen.report.draw.colours import COLOURS, series_colour
    from reportgen.report.draw.interactive import learning_curves_spec
    from reportgen.results.chain import collect
    from reportgen.spec.catalog import load_spec

    root = Path(__file__).resolve().parents[1]
    sr = collect(load_spec(root / "experiments" / "optimizer_comparison.py"), root / "results")
    static = {label: to_hex(series_colour(i)) for i, label in enumerate(_curves(type("C", (), {"sr": sr})()))}
    spec = learning_curves_spec(sr, [to_hex(c) for c in COLOURS])
    for panel in spec["hconcat"]:
        for layer in panel["layer"]:
            scale = layer["encoding"]["color"]["scale"]
            assert dict(zip(scale["domain"], scale["range"])) == static
    assert list(static) != sorted(static)  # the case that went wrong: spec order is not alphabetical


def test_learning_curves_of_many_variants_start_with_a_few_selected():
    """A chart of more than FIRST_SHOWN variants selects the spec's first ones (the legend picks others);
    one of few variants shows them all."""
    from reportgen.report.draw.interactive import FIRST_SHOWN, first_shown, learning_curves_spec
    from reportgen.results.chain import collect
    from reportgen.spec.catalog import load_spec

    root = Path(__file__).resolve().parents[1]
    for study in ("optimizer_comparison", "mlp_baseline"):
        sr = collect(load_spec(root / "experiments" / f"{study}.py"), root / "results")
        labels = [v.label for v in sr.variants if v.runs]
        spec = learning_curves_spec(sr, ["#000000"])
        params = {p["name"]: p for layer in spec["hconcat"][0]["layer"] for p in layer.get("params", [])}
        value = params["variant"].get("value", [])
        assert [v["variant"] for v in value] == (labels[:FIRST_SHOWN] if len(labels) > FIRST_SHOWN else [])
        assert spec["usermeta"]["selected"] == first_shown(labels)
        assert "value" not in params["seed"] and "value" not in params["split"]
