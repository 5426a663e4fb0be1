"""Pictures for the site: palette PNGs with their panel count, model drawings from layer tables,
and the build hook that gives every image its size, lazy loading and a permalink."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
from PIL import Image

from reportgen.report.draw import figures, modelpics, pngopt

REPO = Path(__file__).resolve().parents[1]


def test_a_figure_is_a_palette_png_that_knows_its_panels(tmp_path):
    fig, axes = figures.plt.subplots(1, 2, figsize=(6, 2.5))
    im = axes[0].imshow(np.random.default_rng(0).normal(size=(40, 40)), cmap="viridis")
    fig.colorbar(im, ax=axes[0])
    for k in range(20):
        axes[1].plot(np.sin(np.linspace(0, 6, 200) + k), lw=1.5)
    path = figures.save(fig, tmp_path / "two.png")
    with Image.open(path) as png:
        assert png.mode == "P" and len(png.getcolors(1 << 16)) <= 256
    assert pngopt.panels_of(path) == 2  # the colorbar is not a panel

    fig, axes = figures.plt.subplots(2, 3)
    for ax in axes.flat:
        ax.axis("off")  # an image grid
    assert pngopt.panels_of(figures.save(fig, tmp_path / "grid.png")) == 0


def test_quantizing_keeps_the_drawing(tmp_path):
    fig, ax = figures.plt.subplots(figsize=(5, 3))
    for k in range(6):
        ax.plot(np.arange(30), np.cumsum(np.random.default_rng(k).normal(size=30)), lw=1.5, label=f"line {k}")
    ax.legend()
    fig.savefig(tmp_path / "rgba.png")
    figures.plt.close(fig)
    before = np.asarray(Image.open(tmp_path / "rgba.png").convert("RGB"), dtype=float)
    size = (tmp_path / "rgba.png").stat().st_size
    assert pngopt.shrink(tmp_path / "rgba.png", 1) < size / 2
    after = np.asarray(Image.open(tmp_path / "rgba.png").convert("RGB"), dtype=float)
    error = np.abs(after - before).max(axis=2)
    assert error.mean() < 1.0 and np.percentile(error, 99.5) < 16  # off by a shade at most, and rarely


RESNET_BLOCK = [("conv1", "Conv2d", [64, 8, 8], 100), ("bn1", "BatchNorm2d", [64, 8, 8], 2),
                ("relu", "ReLU", [64, 8, 8], 0), ("conv2", "Conv2d", [64, 8, 8], 100)]


def _resnet_layers() -> list[dict]:
    rows = [{"layer": "1.conv1", "type": "Conv2d", "output": [64, 16, 16], "params": 3136},
            {"layer": "1.relu", "type": "ReLU", "output": [64, 16, 16], "params": 0},
            {"layer": "1.maxpool", "type": "MaxPool2d", "output": [64, 8, 8], "params": 0}]
    for b in range(3):
        rows += [{"layer": f"1.layer1.{b}.{n}", "type": t, "output": o, "params": p} for n, t, o, p in RESNET_BLOCK]
        if b == 0:
            rows.append({"layer": "1.layer1.0.downsample.0", "type": "Conv2d", "output": [64, 8, 8], "params": 50})
    rows.append({"layer": "1.fc", "type": "Linear", "output": [10], "params": 650})
    return rows


def test_model_blocks_fold_activations_and_group_residual_blocks():
    bs = modelpics.blocks(_resnet_layers())
    assert [b.kind for b in bs] == ["input", "conv", "max pool", "residual block", "residual block", "dense"]
    assert bs[1].extras == ["ReLU"]
    first, rest = bs[3], bs[4]
    assert first.convs == 2 and "conv on the skip" in first.extras and first.params == 252
    assert rest.repeat == 2 and rest.params == 2 * 202 and rest.shape == (64, 8, 8)


def test_every_recorded_model_is_drawn(tmp_path):
    """Each model of the three architecture studies, from its committed layer table: a PNG no wider
    than a row (plus one slot), with a block per layer that is neither folded nor a no-op flatten."""
    for study in ("cnn_variants", "budget_cnns", "architecture_comparison"):
        for path in sorted((REPO / "results" / study).glob("*/seed0.json")):
            layers = json.loads(path.read_text(encoding="utf-8"))["architecture"]
            out = modelpics.draw(layers, tmp_path / f"{study}_{path.parent.name}.png", path.parent.name)
            with Image.open(out) as png:
                assert png.size[0] <= (modelpics.ROW_WIDTH + 1.2) * 110, (study, path.parent.name, png.size)
            drawn = sum(b.repeat for b in modelpics.blocks(layers)) - 1
            assert drawn >= sum(1 for row in layers if row["type"] in ("Conv2d", "Linear")) // 4


def _hooks():
    spec = importlib.util.spec_from_file_location("site_hooks", REPO / 'reportgen' / 'site' / 'hooks.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_build_hook_sizes_images_and_links_figures_and_commits(tmp_path):
    hooks = _hooks()
    (tmp_path / "assets").mkdir()
    fig, axes = figures.plt.subplots(1, 3, figsize=(6, 2))
    figures.save(fig, tmp_path / "assets" / "curves_a.png")
    html = ('<p><a class="glightbox" href="../assets/curves_a.png"><img alt="x" src="../assets/curves_a.png" /></a></p>'
            '<p><img alt="y" src="../assets/curves_a.png"></p><a href="repo:commit/abc">abc</a>')
    config = SimpleNamespace(docs_dir=str(tmp_path), repo_url="https://example.org/me/fork/", edit_uri="edit/main/docs/")
    page = SimpleNamespace(url="studies/", file=SimpleNamespace(src_uri="studies.md"), meta={})
    out = hooks.on_page_content(html, page, config, None)
    with Image.open(tmp_path / "assets" / "curves_a.png") as png:
        w, h = png.size
    assert f'width="{w}" height="{h}" data-panels="3" id="fig-curves-a"' in out
    assert 'id="fig-curves-a-2"' in out and out.count('loading="lazy"') == 2
    link = out.index('<a class="glightbox" href="../assets/curves_a.png">')
    # the permalink comes after the lightbox link closes (in the caption of a lone figure), not inside it
    assert out.index('</a>', link) < out.index('<a class="fig-permalink" href="#fig-curves-a"', link)
    assert 'href="https://example.org/me/fork/commit/abc"' in out


def test_generated_pages_edit_their_source(tmp_path):
    hooks = _hooks()
    config = SimpleNamespace(docs_dir=str(tmp_path / "docs"), repo_url="https://example.org/me/fork",
                             edit_uri="edit/main/docs/")
    marker = "<!-- " + hooks.GENERATED + " -->"
    study = SimpleNamespace(meta={"edit_source": "experiments/x.py"}, file=SimpleNamespace(src_uri="studies/x.md"),
                            edit_url="https://example.org/me/fork/edit/main/docs/studies/x.md")
    hooks.on_page_markdown(marker, study, config, None)
    assert study.edit_url == "https://example.org/me/fork/edit/main/experiments/x.py"
    index = SimpleNamespace(meta={}, file=SimpleNamespace(src_uri="index.md"), edit_url="…")
    hooks.on_page_markdown(marker, index, config, None)
    assert index.edit_url == "https://example.org/me/fork/edit/main/reportgen/report/pages/templates/index.md.j2"
    hand = SimpleNamespace(meta={}, file=SimpleNamespace(src_uri="tutorial.md"), edit_url="kept")
    hooks.on_page_markdown("# A hand-written page", hand, config, None)
    assert hand.edit_url == "kept"


def test_the_build_hook_offers_a_phone_layout_through_picture(tmp_path):
    hooks = _hooks()
    (tmp_path / "assets").mkdir()
    fig, _ = figures.plt.subplots(1, 2, figsize=(8, 2.5))
    figures.save(fig, tmp_path / "assets" / "two.png")  # text too small on a phone: a phone layout beside it
    assert (tmp_path / "assets" / "two.phone.png").is_file()
    html = '<p><a class="glightbox" href="../assets/two.png"><img alt="Two panels" src="../assets/two.png" /></a></p>'
    config = SimpleNamespace(docs_dir=str(tmp_path), repo_url="", edit_uri="")
    page = SimpleNamespace(url="studies/", file=SimpleNamespace(src_uri="studies.md"), meta={})
    out = hooks.on_page_content(html, page, config, None)
    with Image.open(tmp_path / "assets" / "two.phone.png") as png:
        w, h = png.size
    assert (f'<a class="glightbox" href="../assets/two.png"><picture><source media="{hooks.PHONE_MEDIA}" '
            f'srcset="../assets/two.phone.png" width="{w}" height="{h}"><img ') in out  # the tap opens the full figure
    assert '</picture></a><figcaption><span class="fig-number">Figure 1:</span> Two panels' in out
