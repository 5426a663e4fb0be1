"""Figures laid out for a phone: the smallest text a figure draws is recorded in its PNG, and a figure
whose text a phone would show below 9 px gets a layout that reads there (a phone layout beside a
figure of several panels; a single panel or a picture grid drawn at a phone's width for every screen)."""
from __future__ import annotations

import numpy as np
from PIL import Image

from reportgen.report.draw import figures, legibility, phone, pngopt


def _panels(n: int) -> list[figures.Panel]:
    x = np.arange(1, 11)
    return [figures.Panel(f"panel {k}: validation loss of every variant, per epoch", "loss (nats)",
                          {f"variant {i}": (x, np.vstack([np.linspace(2, 0.2, 10) + 0.1 * i] * 2)) for i in range(3)})
            for k in range(n)]


def test_the_smallest_text_is_measured_from_the_figure():
    fig, (a, b) = figures.plt.subplots(1, 2)
    a.plot([0, 1], [0, 1])
    a.set_title("title", fontsize=12)
    a.tick_params(labelsize=6)
    b.imshow(np.zeros((4, 4)))
    b.axis("off")  # its tick labels are not drawn
    b.set_title("caption", fontsize=7)
    fig.canvas.draw()
    assert legibility.smallest_text_px(fig, dpi=72) == 6.0
    b.set_title("caption", fontsize=5)
    assert legibility.smallest_text_px(fig, dpi=144) == 10.0
    figures.plt.close(fig)
    assert legibility.min_font_pt(4.0, 358) * 358 / (72 * 4.0) == legibility.MIN_DISPLAYED_PX


def test_the_drawn_texts_are_every_shown_text_but_a_hidden_axis_labels():
    """The same texts as ``findobj`` less those under a turned-off axis, found without making that
    axis's ticks (a grid of 64 pictures would otherwise make 256 ticks per save)."""
    fig, axes = figures.plt.subplots(8, 9)
    shown = axes.flat[0]
    shown.plot([0, 1], [0, 1])
    shown.set(xlabel="epoch", title="loss")
    for ax in axes.flat[1:]:
        ax.imshow(np.zeros((4, 4)))
        ax.axis("off")
        ax.set_title("7", fontsize=7)
        ax.set_xlabel("never drawn")
    fig.suptitle("a grid")
    fig.canvas.draw()
    hidden = {id(t) for ax in axes.flat[1:] for axis in (ax.xaxis, ax.yaxis) for t in axis.findobj(legibility.Text)}
    expected = {id(t) for t in fig.findobj(legibility.Text)
                if t.get_visible() and t.get_text().strip() and id(t) not in hidden}
    assert {id(t) for t in legibility.drawn_texts(fig)} == expected
    figures.plt.close(fig)
    fig, axes = figures.plt.subplots(8, 8)
    for ax in axes.flat:
        ax.axis("off")
    made = [len(ax.xaxis.majorTicks) + len(ax.yaxis.majorTicks) for ax in axes.flat]
    legibility.drawn_texts(fig)
    assert [len(ax.xaxis.majorTicks) + len(ax.yaxis.majorTicks) for ax in axes.flat] == made, "hidden axes' ticks were made"
    figures.plt.close(fig)


def test_panels_side_by_side_get_a_phone_layout_beside_them(tmp_path):
    path = figures.lines(_panels(3), tmp_path / "curves.png", title="three panels")
    narrow = phone.phone_path(path)
    assert narrow.name == "curves.phone.png" and narrow.is_file()
    assert phone.shown_text_px(path) < legibility.MIN_DISPLAYED_PX  # the wide figure as it was drawn
    assert phone.shown_text_px(narrow) >= legibility.MIN_DISPLAYED_PX
    with Image.open(path) as wide, Image.open(narrow) as small:
        assert wide.size[0] > 2 * figures.PANEL_W * 100 and small.size[0] < wide.size[0] / 1.5
        assert small.size[1] > small.size[0]  # stacked
    assert pngopt.panels_of(narrow) == 3


def test_a_picture_grid_and_a_single_panel_are_drawn_to_read_on_a_phone(tmp_path):
    rng = np.random.default_rng(0)
    grid = figures.image_grid(rng.random((20, 28, 28)), [f"3→5 ({i})" for i in range(20)], tmp_path / "g.png", "errors")
    single = figures.range_test([(list(np.logspace(-5, 0, 30)), list(np.linspace(2.3, 1, 30)), 0)], 1e-2,
                                tmp_path / "r.png", "range test")
    for path in (grid, single):
        assert not phone.phone_path(path).exists()
        assert phone.shown_text_px(path) >= legibility.MIN_DISPLAYED_PX


def test_a_figure_shown_as_a_chart_on_a_phone_keeps_no_phone_layout(tmp_path):
    stale = tmp_path / "curves.phone.png"
    stale.write_bytes(b"old")
    curves = {"a": {"val_loss": [[1.0, 0.5, 0.4]], "val_acc": [[0.8, 0.9, 0.95]]}}
    figures.learning_curves(curves, tmp_path / "curves.png")
    assert not stale.exists() and pngopt.text_px_of(tmp_path / "curves.png") > 0
