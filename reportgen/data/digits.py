"""Digits from outside MNIST: bring any image to MNIST form, load a folder of them, and render a
synthetic fallback set (the ``custom_images`` study; its perturbations are :mod:`reportgen.run.perturb`).

MNIST form is what LeCun, Cortes & Burges describe on the MNIST page
(http://yann.lecun.com/exdb/mnist/): the digits were "size normalized to fit in a 20x20 pixel box
while preserving their aspect ratio", anti-aliased to grey levels, and "centered in a 28x28 image by
computing the center of mass of the pixels, and translating the image so as to position this point
at the center of the 28x28 field". Measured on the real files, that centre is array index (14, 14)
(row, column; the mean centre of mass of the 10,000 test images is (13.99, 14.00), spread ±0.29 px:
the uniform spread of a whole-pixel translation), ink bounding boxes are exactly 20 px on the longer
side, and every image's brightest pixel is 254 or 255. :func:`preprocess` reproduces all three.

numpy, scipy and Pillow only: no torch.
"""
from __future__ import annotations

import functools
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont, ImageOps
from scipy import ndimage

#: Output side, box the ink is fitted into, and the centre of mass target (array index, row and column).
SIDE, BOX, CENTRE = 28, 20, 14.0
#: Share of the ink contrast above which a pixel counts as ink for the bounding box (paper noise below).
INK_THRESHOLD = 0.2
#: An image whose ink contrast (brightest ink minus background, in [0, 1]) is below this is blank.
MIN_CONTRAST = 0.1
#: Longer side of the ``original`` kept for display.
DISPLAY_MAX = 280
#: Defaults of :func:`load_folder`: 20 MiB per file, 40 megapixels per image.
MAX_BYTES, MAX_PIXELS = 20 * 2**20, 40_000_000
#: A file name that starts with one digit followed by ``_`` or ``-`` carries its label: ``7_mine.png``.
LABEL_PATTERN = re.compile(r"^([0-9])[_-]")
#: The synthetic fallback set for an empty folder: digits per class, and the drawing seed.
SYNTHETIC_PER_DIGIT, SYNTHETIC_SEED = 3, 0


def to_hex(img: np.ndarray) -> str:
    """float (28, 28) in [0, 1] → 1,568 hex characters (uint8, row-major, rounded): compact in JSON.

    The form in which probes store an image they showed a model (``custom_digits``, ``sanity``)."""
    return np.round(np.clip(img, 0, 1) * 255).astype(np.uint8).tobytes().hex()


@dataclass(frozen=True)
class Loaded:
    """One digit image.

    Attributes:
        name: the file name (``7_mine.png``) or, for a synthetic digit, ``synthetic_<digit>_<k>_<font>``.
        original: uint8 (H, W) grayscale as given (dark ink on light paper stays so), longer side at
            most ``DISPLAY_MAX`` px: for display next to ``processed``.
        processed: float32 (28, 28) in [0, 1], MNIST form (ink 1, background 0): :func:`preprocess`.
        label: the digit 0–9 when known (from the file name, see :data:`LABEL_PATTERN`), else None.
    """

    name: str
    original: np.ndarray
    processed: np.ndarray
    label: int | None


@dataclass(frozen=True)
class Rejected:
    """A file of the folder that was not used; ``reason`` is one line naming the file, what was wrong
    and what is allowed."""

    path: Path
    reason: str

    def __str__(self) -> str:
        return self.reason


# --------------------------------------------------------------------------------------- preprocessing


def to_gray(img: Image.Image | np.ndarray) -> np.ndarray:
    """Grayscale float32 (H, W) in [0, 1] (0 black, 1 white) from a Pillow image or an array.

    Arrays: (H, W), (H, W, 3) RGB or (H, W, 4) RGBA; uint8 is divided by 255, floats are taken as
    [0, 1]. Transparent pixels are composited over white (a digit drawn on a transparent canvas reads
    as ink on paper). Colour becomes luminance with Pillow's ITU-R 601-2 weights.

    Raises:
        ValueError: for any other shape or dtype, or an empty image.
    """
    if isinstance(img, Image.Image):
        if img.mode.startswith(("I", "F")):  # 16/32-bit integer or float pixels
            a = np.asarray(img, dtype=np.float32)
            full = 1.0 if img.mode == "F" and a.max() <= 1 else 255.0 if a.max() <= 255 else 65535.0
            return np.clip(a / full, 0, 1)
        if img.mode in ("RGBA", "LA", "PA") or "transparency" in img.info:
            rgba = img.convert("RGBA")
            img = Image.alpha_composite(Image.new("RGBA", rgba.size, "white"), rgba)
        return np.asarray(img.convert("L"), dtype=np.float32) / 255.0
    a = np.asarray(img)
    if a.size == 0:
        raise ValueError("empty image (no pixels)")
    if a.dtype == np.uint8:
        a = a.astype(np.float32) / 255.0
    elif a.dtype == bool or np.issubdtype(a.dtype, np.floating):
        a = a.astype(np.float32)
    else:
        raise ValueError(f"image array must be uint8, bool or float in [0, 1], not {a.dtype}")
    if a.ndim == 3 and a.shape[2] in (3, 4):
        gray = a[..., 0] * 0.299 + a[..., 1] * 0.587 + a[..., 2] * 0.114
        a = gray if a.shape[2] == 3 else gray * a[..., 3] + (1 - a[..., 3])
    if a.ndim != 2:
        raise ValueError(f"image array must be (H, W), (H, W, 3) or (H, W, 4), not {a.shape}")
    return np.clip(a, 0, 1)


def preprocess(img: Image.Image | np.ndarray) -> np.ndarray:
    """Bring an arbitrary digit image to MNIST form, the way the original data was made (LeCun, Cortes
    & Burges, the MNIST page): fitted into a 20×20 box keeping its aspect ratio, anti-aliased, placed
    in a 28×28 field with its centre of mass at the centre.

    Steps: grayscale (:func:`to_gray`); the background level is the median of the border pixels (the
    outermost row and column on each side) — when it is light (> 0.5) the image is inverted so ink is
    bright; the background level is subtracted and the contrast stretched so the brightest ink is 1;
    crop to the bounding box of the pixels above ``INK_THRESHOLD`` (paper noise and dust below it do
    not count); resize so the longer side is 20 px (Pillow, Lanczos: anti-aliased; the shorter side
    rounded, at least 1 px); rescale so the brightest pixel is 1 (as in MNIST, whose images all peak
    at 254–255); place in a 28×28 black field translated by whole pixels so the centre of mass
    (``scipy.ndimage.center_of_mass``) lands on array index (14, 14) — row and column, within 0.5 px,
    which is where the real MNIST digits have it. Like MNIST, a very lopsided digit may lose a pixel
    row of ink past the field's edge rather than be off-centre.

    Args:
        img: a Pillow image (any mode) or an array, see :func:`to_gray`. Either polarity: dark ink on
            light paper (a photo, a scan) or light ink on dark (MNIST itself; not inverted).

    Returns:
        float32 (28, 28) in [0, 1], ink 1, background 0.

    Raises:
        ValueError: the image is blank — its ink contrast is below ``MIN_CONTRAST`` (e.g. an empty page
            or a uniform fill) — or its array shape or dtype is not an image.
    """
    g = to_gray(img)
    border = np.concatenate([g[0], g[-1], g[:, 0], g[:, -1]])
    background = float(np.median(border))
    if background > 0.5:
        g, background = 1.0 - g, 1.0 - background
    contrast = float(g.max()) - background
    if contrast < MIN_CONTRAST:
        raise ValueError(f"blank image: the ink differs from the background by {contrast:.3f} "
                         f"(at least {MIN_CONTRAST} of the full grey range is needed)")
    g = np.clip((g - background) / contrast, 0, 1)

    rows, cols = np.nonzero(g > INK_THRESHOLD)
    g = g[rows.min():rows.max() + 1, cols.min():cols.max() + 1]
    h, w = g.shape
    scale = BOX / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))  # Pillow: (width, height)
    small = np.asarray(Image.fromarray(np.ascontiguousarray(g)).resize(size, Image.Resampling.LANCZOS))
    small = np.clip(small, 0, None)
    small = small / small.max()

    cy, cx = ndimage.center_of_mass(small)
    top, left = int(np.floor(CENTRE - cy + 0.5)), int(np.floor(CENTRE - cx + 0.5))
    out = np.zeros((SIDE, SIDE), np.float32)
    h, w = small.shape
    r0, c0 = max(top, 0), max(left, 0)
    r1, c1 = min(top + h, SIDE), min(left + w, SIDE)
    out[r0:r1, c0:c1] = small[r0 - top:r1 - top, c0 - left:c1 - left]
    return out


def display_copy(gray: np.ndarray) -> np.ndarray:
    """uint8 (H, W) copy of a [0, 1] grayscale image, downscaled (Lanczos) to at most ``DISPLAY_MAX``
    px on the longer side."""
    im = Image.fromarray(np.round(gray * 255).astype(np.uint8))
    im.thumbnail((DISPLAY_MAX, DISPLAY_MAX), Image.Resampling.LANCZOS)
    return np.asarray(im)


# --------------------------------------------------------------------------------------------- folders


def parse_label(name: str) -> int | None:
    """The label in a file name: its first character when that is a digit followed by ``_`` or ``-``
    (``7_mine.png``, ``3-scan.jpg`` → 7, 3); otherwise None (``mine.png``, ``7.png``, ``12_x.png``)."""
    m = LABEL_PATTERN.match(name)
    return int(m.group(1)) if m else None


def load_folder(path: str | Path, max_bytes: int = MAX_BYTES,
                max_pixels: int = MAX_PIXELS) -> tuple[list[Loaded], list[Rejected]]:
    """Read every image of a folder, in sorted file-name order, and bring it to MNIST form.

    Any raster format Pillow reads is accepted (PNG, JPEG, GIF — first frame —, BMP, TIFF, WebP, …);
    JPEG orientation tags are applied. Hidden files (``.gitkeep``) and sub-folders are skipped. Every
    other file that cannot be used — not an image, corrupt or truncated, larger than ``max_bytes`` on
    disk or ``max_pixels`` in pixel count (checked on the header before decoding, so a decompression
    bomb is never decoded; Pillow's own ``DecompressionBombWarning`` is an error here too), or blank —
    becomes a :class:`Rejected` with a one-line reason, and the remaining files are still processed.

    Naming rule: a file name starting with one digit and ``_`` or ``-`` (``7_mine.png``) gives the
    image's label, see :func:`parse_label`; other names leave it unlabelled.

    Returns:
        (loaded, rejected), each in file-name order; both empty for an empty folder.

    Raises:
        NotADirectoryError: ``path`` is not an existing folder.
    """
    folder = Path(path)
    if not folder.is_dir():
        raise NotADirectoryError(f"{folder}: not a folder of digit images")
    allowed = (f"allowed: an image Pillow can read (PNG, JPEG, ...), at most {max_bytes / 2**20:g} MiB "
               f"and {max_pixels / 1e6:g} megapixels, with a visible digit")
    loaded: list[Loaded] = []
    rejected: list[Rejected] = []
    for file in sorted(folder.iterdir()):
        if file.name.startswith(".") or not file.is_file():
            continue
        try:
            loaded.append(_load_file(file, max_bytes, max_pixels))
        except _Reject as why:
            rejected.append(Rejected(file, f"{file.name}: {why}; {allowed}"))
    return loaded, rejected


class _Reject(Exception):
    """Why one file was not used (the message names what was wrong)."""


def _load_file(file: Path, max_bytes: int, max_pixels: int) -> Loaded:
    n_bytes = file.stat().st_size
    if n_bytes > max_bytes:
        raise _Reject(f"file too large ({n_bytes / 2**20:.1f} MiB)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(file) as im:
                w, h = im.size
                if w * h > max_pixels:
                    raise _Reject(f"image too large ({w}×{h} = {w * h / 1e6:.1f} megapixels)")
                im.load()
                gray = to_gray(ImageOps.exif_transpose(im))
    except _Reject:
        raise
    except Image.UnidentifiedImageError:
        raise _Reject("not an image (Pillow does not recognise the format)") from None
    except (Image.DecompressionBombWarning, Image.DecompressionBombError) as e:
        raise _Reject(f"image too large (Pillow's decompression-bomb guard: {e})") from None
    except Exception as e:  # truncated or corrupt data: OSError, SyntaxError, ValueError, ...
        raise _Reject(f"corrupt image ({type(e).__name__}: {e})") from None
    try:
        processed = preprocess(gray)
    except ValueError as e:
        raise _Reject(str(e)) from None
    return Loaded(file.name, display_copy(gray), processed, parse_label(file.name))


# ------------------------------------------------------------------------------------ synthetic digits


#: matplotlib's bundled text faces (file-name prefixes in ``mpl-data/fonts/ttf``). Its other files are
#: math-extension, symbol and fallback fonts that draw other glyphs (or boxes) at the digits' code points.
TEXT_FONTS = ("DejaVuSans", "DejaVuSerif", "STIXGeneral", "cmr10", "cmb10", "cmss10", "cmti10", "cmtt10")


@functools.lru_cache(maxsize=1)
def digit_fonts() -> tuple[str, ...]:
    """Paths of matplotlib's bundled text fonts (:data:`TEXT_FONTS`: DejaVu, STIX, Computer Modern) that
    draw ten distinct digits, sorted by file name. Only bundled ones: the fonts installed on a machine
    differ between machines, and the synthetic set has to be the same wherever a run of it is keyed
    (its fonts enter the key: :func:`reportgen.spec.expand.fonts_digest`). Empty when none:
    :func:`synthetic_digits` then uses Pillow's default font."""
    import matplotlib

    folder = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    usable = []
    for path in sorted(folder.glob("*.ttf"), key=lambda f: f.name):
        if not path.name.startswith(TEXT_FONTS):
            continue
        try:
            font = ImageFont.truetype(str(path), 32)
            masks = {bytes(font.getmask(str(d))) for d in range(10)}
        except Exception:  # unreadable font file or one without these glyphs
            continue
        if len(masks) == 10:
            usable.append(str(path))
    return tuple(usable)


def synthetic_digits(n_per_digit: int, seed: int) -> list[Loaded]:
    """The fallback set for an empty folder: each digit 0–9 drawn ``n_per_digit`` times, in order.

    Each digit is drawn dark on light paper like a photo of a handwritten digit (paper grey 190–255,
    ink 0–70, pixel noise σ 4 grey levels), in a font picked from :func:`digit_fonts` (Pillow's default
    font when none is installed) at size 80 px on a 128×128 canvas, with a random stroke width of 0–4
    px added around the glyph and a random affine distortion: rotation ±15°, shear ±0.25, scale
    0.75–1.15, translation ±12 px. Then :func:`preprocess` (which has to invert it).

    Deterministic: the same ``seed`` gives the same images wherever the same matplotlib (its bundled
    fonts) and Pillow (its FreeType) are installed. Labels are known.

    Returns:
        ``10 * n_per_digit`` :class:`Loaded`, ``original`` the uint8 (128, 128) drawing.
    """
    rng = np.random.default_rng(seed)
    fonts = digit_fonts()
    out = []
    for digit in range(10):
        for k in range(n_per_digit):
            path = fonts[rng.integers(len(fonts))] if fonts else None
            font = ImageFont.truetype(path, 80) if path else ImageFont.load_default(80)
            ink = _draw_glyph(str(digit), font, int(rng.integers(0, 5)), rng)
            paper, pen = rng.uniform(190, 255), rng.uniform(0, 70)
            page = paper - ink * (paper - pen) + rng.normal(0, 4, ink.shape)
            gray = np.clip(page, 0, 255).astype(np.float32) / 255
            stem = Path(path).stem if path else "default"
            out.append(Loaded(f"synthetic_{digit}_{k:03d}_{stem}", np.round(gray * 255).astype(np.uint8),
                              preprocess(gray), digit))
    return out


def _draw_glyph(text: str, font: ImageFont.ImageFont | ImageFont.FreeTypeFont, stroke: int,
                rng: np.random.Generator, side: int = 128) -> np.ndarray:
    """Ink coverage float (side, side) in [0, 1] of ``text`` drawn centred, then distorted."""
    canvas = Image.new("L", (side, side), 0)
    draw = ImageDraw.Draw(canvas)
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font, stroke_width=stroke)
    xy = ((side - left - right) / 2, (side - top - bottom) / 2)  # the glyph's box centred
    draw.text(xy, text, fill=255, font=font, stroke_width=stroke, stroke_fill=255)
    angle = np.deg2rad(rng.uniform(-15, 15))
    shear, scale = rng.uniform(-0.25, 0.25), rng.uniform(0.75, 1.15)
    tx, ty = rng.uniform(-12, 12, size=2)
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    forward = scale * rot @ np.array([[1.0, shear], [0.0, 1.0]])
    inverse = np.linalg.inv(forward)  # Pillow maps output pixels back to input pixels
    c = np.array([side / 2, side / 2])
    offset = c - inverse @ (c + np.array([tx, ty]))
    coeffs = (*inverse[0], offset[0], *inverse[1], offset[1])
    warped = canvas.transform(canvas.size, Image.Transform.AFFINE, coeffs, Image.Resampling.BILINEAR)
    return np.asarray(warped, dtype=np.float32) / 255
