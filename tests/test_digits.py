"""reportgen.data.digits: MNIST-form preprocessing (checked against the real MNIST files), folder loading
with rejections, the synthetic fallback set, and the batched robustness perturbations."""
from __future__ import annotations

import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw
from scipy import ndimage

from reportgen.data import digits
from reportgen.run import perturb
from reportgen.spec.expand import fonts_digest

CENTRE = 14.0  # the convention: centre of mass at array index (row 14, column 14), as in real MNIST


def seven_on_paper(width: int = 200, height: int = 100) -> Image.Image:
    """A thick dark-grey '7' on light paper, off-centre (right half), ink box about 46 × 70 px."""
    im = Image.new("L", (width, height), 235)
    draw = ImageDraw.Draw(im)
    draw.line([(130, 15), (170, 15), (145, 80)], fill=30, width=6)
    return im


def ink_box(a: np.ndarray, level: float = 0.0) -> tuple[int, int]:
    rows, cols = np.nonzero(a > level)
    return rows.max() - rows.min() + 1, cols.max() - cols.min() + 1


# ------------------------------------------------------------------------------------------ preprocess


def test_light_paper_digit_becomes_mnist_form():
    out = digits.preprocess(seven_on_paper())
    assert out.shape == (28, 28) and out.dtype == np.float32
    assert out.min() >= 0 and out.max() == pytest.approx(1.0)
    h, w = ink_box(out)                      # everything non-zero fits the 20×20 box ...
    assert h <= 20 and w <= 20
    assert max(ink_box(out, 0.2)) >= 19      # ... and the longer side fills it
    assert h > w                             # the aspect ratio is kept: the 7 stays taller than wide
    cy, cx = ndimage.center_of_mass(out)
    assert abs(cy - CENTRE) <= 0.5 and abs(cx - CENTRE) <= 0.5
    assert out[0].max() == 0 and out[:, 0].max() == 0 and out[-1].max() == 0 and out[:, -1].max() == 0
    assert out.mean() < 0.35                 # mostly background, not an inverted (white) page


def test_aspect_ratio_of_a_wide_stroke():
    im = Image.new("L", (300, 200), 255)
    ImageDraw.Draw(im).rectangle([40, 50, 159, 69], fill=0)  # 120 × 20 px bar
    h, w = ink_box(digits.preprocess(im), 0.2)
    assert w == 20 and h in (3, 4)            # 20 × 20·20/120 ≈ 3.3


def test_dark_background_is_not_inverted():
    light = np.asarray(seven_on_paper())
    dark = 255 - light                       # light ink on black, like MNIST itself
    out_dark = digits.preprocess(dark)
    np.testing.assert_allclose(out_dark, digits.preprocess(light), atol=1e-5)
    assert out_dark[0].max() == 0 and out_dark.max() == pytest.approx(1.0)


def test_colour_and_transparent_input():
    rgba = Image.new("RGBA", (120, 120), (0, 0, 0, 0))            # transparent canvas ...
    ImageDraw.Draw(rgba).ellipse([30, 20, 80, 100], outline=(0, 0, 90, 255), width=8)  # ... blue ink
    out = digits.preprocess(rgba)
    assert ink_box(out, 0.2)[0] >= 19
    assert out[0].max() == 0


@pytest.mark.parametrize("blank", [np.full((50, 80), 255, np.uint8), np.full((50, 80), 0.4, np.float32),
                                   np.random.default_rng(0).integers(240, 256, (60, 60)).astype(np.uint8)])
def test_blank_image_is_a_value_error(blank):
    with pytest.raises(ValueError, match="blank image"):
        digits.preprocess(blank)


def test_real_mnist_is_already_in_form():
    """preprocess() of real MNIST test images changes them only little: validates the pipeline (box,
    anti-aliasing, centre convention) against the data LeCun et al. made."""
    root = os.environ.get("REPORTGEN_DATA")
    path = Path(root or ".") / "MNIST" / "raw" / "t10k-images-idx3-ubyte"
    if not root or not path.is_file():
        pytest.skip("REPORTGEN_DATA is not set or has no MNIST/raw/t10k-images-idx3-ubyte")
    with open(path, "rb") as f:
        magic, n, rows, cols = struct.unpack(">IIII", f.read(16))
        assert (magic, rows, cols) == (2051, 28, 28)
        images = np.frombuffer(f.read(300 * 28 * 28), np.uint8).reshape(300, 28, 28) / 255.0
    diff = np.array([np.abs(digits.preprocess(x) - x).mean() for x in images])
    assert diff.mean() < 0.005               # measured 0.0008 (ink is 0.12 of the mean pixel)
    assert (diff < 1e-3).mean() >= 0.85      # measured 95 % reproduced exactly


# ---------------------------------------------------------------------------------------- load_folder


def png_bytes(im: Image.Image) -> bytes:
    from io import BytesIO

    buf = BytesIO()
    im.save(buf, "PNG")
    return buf.getvalue()


def claim_size(png: bytes, width: int, height: int) -> bytes:
    """The PNG with its IHDR header claiming another size (CRC fixed): a decompression bomb's header."""
    ihdr = png[12:29]
    new = ihdr[:4] + struct.pack(">II", width, height) + ihdr[12:]
    return png[:12] + new + struct.pack(">I", zlib.crc32(new)) + png[33:]


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    seven = seven_on_paper()
    seven.save(tmp_path / "7_mine.png")
    seven.convert("RGB").save(tmp_path / "3-photo.jpg", quality=90)
    seven.save(tmp_path / "unlabelled.png")
    (tmp_path / "notes.txt").write_text("not an image\n")
    data = png_bytes(seven)
    (tmp_path / "broken.png").write_bytes(data[: len(data) // 2])
    (tmp_path / "bomb.png").write_bytes(claim_size(png_bytes(Image.new("L", (8, 8), 255)), 60_000, 60_000))
    Image.new("L", (64, 64), 250).save(tmp_path / "blank.png")
    (tmp_path / ".gitkeep").write_text("")
    (tmp_path / "sub").mkdir()
    return tmp_path


def test_folder_loads_the_valid_and_rejects_the_rest(folder: Path):
    loaded, rejected = digits.load_folder(folder)
    assert [x.name for x in loaded] == ["3-photo.jpg", "7_mine.png", "unlabelled.png"]
    assert [x.label for x in loaded] == [3, 7, None]
    for x in loaded:
        assert x.processed.shape == (28, 28) and x.processed.dtype == np.float32
        assert x.original.dtype == np.uint8 and x.original.shape == (100, 200)
    reasons = {r.path.name: r.reason for r in rejected}
    assert sorted(reasons) == ["blank.png", "bomb.png", "broken.png", "notes.txt"]
    assert "not an image" in reasons["notes.txt"]
    assert "corrupt" in reasons["broken.png"]
    assert "too large" in reasons["bomb.png"] and "megapixels" in reasons["bomb.png"]
    assert "blank" in reasons["blank.png"]
    for name, reason in reasons.items():
        assert reason.startswith(f"{name}: ") and "\n" not in reason and "allowed:" in reason


def test_size_limits_are_parameters(folder: Path):
    limit = (folder / "7_mine.png").stat().st_size - 1           # bytes: just under the PNG's size
    loaded, rejected = digits.load_folder(folder, max_bytes=limit)
    too_big = {r.path.name for r in rejected if "file too large" in r.reason}
    assert "7_mine.png" in too_big and "unlabelled.png" in too_big
    assert "notes.txt" not in too_big
    loaded, rejected = digits.load_folder(folder, max_pixels=10_000)  # pixels: 200 × 100 is over
    assert loaded == [] and any("image too large (200×100" in r.reason for r in rejected)


def test_large_original_is_downscaled_for_display(tmp_path: Path):
    seven_on_paper(1200, 600).save(tmp_path / "big.png")
    (x,), _ = digits.load_folder(tmp_path)
    assert x.original.shape == (140, 280)


def test_empty_folder_and_missing_folder(tmp_path: Path):
    assert digits.load_folder(tmp_path) == ([], [])
    with pytest.raises(NotADirectoryError, match="nowhere"):
        digits.load_folder(tmp_path / "nowhere")


@pytest.mark.parametrize("name, label", [("7_mine.png", 7), ("0-a.jpg", 0), ("3_.png", 3), ("mine.png", None),
                                         ("7.png", None), ("12_x.png", None), ("x_7.png", None)])
def test_label_from_file_name(name, label):
    assert digits.parse_label(name) == label


# ------------------------------------------------------------------------------------ synthetic digits


def test_synthetic_set_is_deterministic_and_covers_the_digits():
    a, b = digits.synthetic_digits(2, seed=7), digits.synthetic_digits(2, seed=7)
    assert [x.label for x in a] == [d for d in range(10) for _ in range(2)]
    assert [x.name for x in a] == [x.name for x in b]
    assert all(np.array_equal(x.processed, y.processed) and np.array_equal(x.original, y.original)
               for x, y in zip(a, b))
    c = digits.synthetic_digits(2, seed=8)
    assert not all(np.array_equal(x.processed, y.processed) for x, y in zip(a, c))
    for x in a:
        assert x.processed.shape == (28, 28) and x.processed.dtype == np.float32
        assert x.original[0].mean() > 150          # drawn dark on light paper ...
        assert x.processed[0].max() == 0            # ... and inverted by preprocess()
        cy, cx = ndimage.center_of_mass(x.processed)
        assert abs(cy - CENTRE) <= 0.5 and abs(cx - CENTRE) <= 0.5


def test_synthetic_set_is_drawn_in_matplotlibs_bundled_fonts_only():
    """System fonts differ between machines; matplotlib's bundled ones come with the package."""
    import matplotlib

    fonts = digits.digit_fonts()
    bundled = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    assert fonts and all(Path(f).parent == bundled for f in fonts)
    assert "DejaVuSans.ttf" in {Path(f).name for f in fonts}
    assert not {"LastResortHE-Regular.ttf", "cmex10.ttf", "cmsy10.ttf"} & {Path(f).name for f in fonts}  # boxes, symbols
    assert len(fonts_digest()) == 64
    stems = {Path(f).stem for f in fonts}
    assert all(x.name.rsplit("_", 1)[1] in stems for x in digits.synthetic_digits(3, seed=0))


def test_synthetic_set_without_installed_fonts(monkeypatch):
    monkeypatch.setattr(digits, "digit_fonts", lambda: ())
    xs = digits.synthetic_digits(1, seed=0)
    assert [x.label for x in xs] == list(range(10)) and all(x.name.endswith("_default") for x in xs)


def test_preprocessing_imports_without_torch():
    code = "import sys, reportgen.data.digits; print('torch' in sys.modules, 'matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


# ----------------------------------------------------------------------------------------- robustness


@pytest.fixture
def batch() -> torch.Tensor:
    return torch.rand(5, 1, 28, 28, generator=torch.Generator().manual_seed(0))


def test_perturbations_keep_shape_and_zero_is_identity(batch):
    transforms = perturb.robustness_transforms()
    assert set(transforms) == {"rotation", "shift", "noise"}
    for p in transforms.values():
        assert p.severities[0] == 0 and list(p.severities) == sorted(set(p.severities))
        assert torch.equal(p.apply(batch, 0), batch)
        for s in p.severities[1:]:
            y = p.apply(batch, s, seed=1)
            assert y.shape == batch.shape and y.dtype == batch.dtype
            assert not torch.allclose(y, batch)
    assert max(transforms["rotation"].severities) == 60 and max(transforms["shift"].severities) == 6
    assert max(transforms["noise"].severities) == 1.0


def test_rotation_and_shift_are_what_they_say(batch):
    torch.testing.assert_close(perturb.rotate(batch, 360), batch, atol=1e-5, rtol=0)
    dot = torch.zeros(1, 1, 28, 28)
    dot[..., 2, 14] = 1                                   # above the centre ...
    row, col = divmod(int(perturb.rotate(dot, 90).argmax()), 28)
    assert (row, col) == (13, 2)                          # ... counter-clockwise to its left
    expected = torch.zeros_like(batch)
    expected[..., 3:] = batch[..., :-3]
    torch.testing.assert_close(perturb.shift(batch, 3), expected, atol=1e-5, rtol=0)


def test_noise_is_seeded_and_stays_in_range(batch):
    a, b = perturb.gaussian_noise(batch, 0.3, seed=4), perturb.gaussian_noise(batch, 0.3, seed=4)
    assert torch.equal(a, b) and not torch.equal(a, perturb.gaussian_noise(batch, 0.3, seed=5))
    assert a.min() >= 0 and a.max() <= 1
    small = perturb.gaussian_noise(torch.full((64, 1, 28, 28), 0.5), 0.1, seed=0) - 0.5
    assert small.std().item() == pytest.approx(0.1, rel=0.05)
