"""Shared fixtures: tiny synthetic MNIST files, a tiny learnable in-memory data set, real MNIST.

Nothing here touches the network or the repository's ``results/`` and ``docs/``; training tests use
a few hundred synthetic images on the CPU so the suite stays fast on a busy 2-core machine.
"""
from __future__ import annotations

import functools
import hashlib
import http.server
import os
import shutil
import struct
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch

from reportgen.data import mnist as data_mod
from reportgen.data import fetch as fetch_mod

REPO = Path(__file__).resolve().parents[1]
RAW_NAMES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
             "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")

# One thread: the tests are tiny, the machine is shared with long training jobs, and a single thread
# keeps CPU float results identical from run to run.
torch.set_num_threads(1)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The ``slow`` tests (training on real MNIST, minutes each) first, each kind in its own order: under
    pytest-xdist the long ones then start while the many short ones fill the other workers, instead of
    one long test finishing the session alone."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


def idx_bytes(array: np.ndarray) -> bytes:
    """IDX encoding (LeCun's MNIST format): big-endian magic 0x0000_08_<ndim> (uint8 data), then each
    dimension as a big-endian uint32, then the raw bytes. 2051 for images (ndim 3), 2049 for labels."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    magic = 0x0800 + array.ndim
    return struct.pack(f">I{array.ndim}I", magic, *array.shape) + array.tobytes()


@dataclass(frozen=True)
class RawMNIST:
    """A synthetic data root in torchvision's layout: ``root/MNIST/raw/<name>``."""

    root: Path
    arrays: dict[str, np.ndarray]
    md5: dict[str, str]

    @property
    def raw(self) -> Path:
        return self.root / "MNIST" / "raw"


def write_raw_mnist(root: Path, n_train: int = 30, n_test: int = 12, seed: int = 0) -> RawMNIST:
    rng = np.random.default_rng(seed)
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte": (np.arange(n_train) % 10).astype(np.uint8),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": ((np.arange(n_test) * 3) % 10).astype(np.uint8),
    }
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    md5 = {}
    for name, array in arrays.items():
        blob = idx_bytes(array)
        (raw / name).write_bytes(blob)
        md5[name] = hashlib.md5(blob).hexdigest()
    return RawMNIST(root, arrays, md5)


@pytest.fixture
def raw_mnist(tmp_path: Path) -> RawMNIST:
    """Four tiny IDX files (30 train, 12 test images) under ``tmp_path/mnist``; the module's ``MD5``
    table is left alone (see ``synthetic_md5``)."""
    return write_raw_mnist(tmp_path / "mnist")


@pytest.fixture
def synthetic_md5(raw_mnist: RawMNIST, monkeypatch: pytest.MonkeyPatch) -> RawMNIST:
    """``raw_mnist`` with ``reportgen.data.fetch.MD5`` pointing at the synthetic files' checksums."""
    monkeypatch.setattr(fetch_mod, "MD5", dict(raw_mnist.md5))
    return raw_mnist


def make_blobs(n_train: int = 1100, n_test: int = 300, seed: int = 0, noise: float = 3.0) -> data_mod.MNIST:
    """A learnable stand-in for MNIST: each class is a fixed random 28×28 prototype plus Gaussian
    noise (std ``noise``). Classes are balanced and shuffled; a small MLP reaches ~100 % in 2 epochs."""
    g = torch.Generator().manual_seed(seed)
    prototypes = torch.randn(10, 1, 28, 28, generator=g)

    def draw(n: int) -> tuple[torch.Tensor, torch.Tensor]:
        y = (torch.arange(n) % 10)[torch.randperm(n, generator=g)]
        return prototypes[y] + noise * torch.randn(n, 1, 28, 28, generator=g), y

    x_train, y_train = draw(n_train)
    x_test, y_test = draw(n_test)
    return data_mod.MNIST(x_train, y_train, x_test, y_test, md5="synthetic")


@pytest.fixture(scope="session")
def blobs_factory():
    """:func:`make_blobs`, for tests that need their own size or noise."""
    return make_blobs


@pytest.fixture(scope="session")
def tiny_mnist() -> data_mod.MNIST:
    """1,100 training images (use ``val_size=100``) and 300 test images, on the CPU."""
    return make_blobs()


@pytest.fixture(scope="session")
def real_mnist() -> data_mod.MNIST:
    """The real MNIST from ``$REPORTGEN_DATA``, verified and loaded once on the CPU."""
    root = os.environ.get("REPORTGEN_DATA")
    if not root:
        pytest.skip("REPORTGEN_DATA is not set: no real MNIST to test against "
                    "(e.g. export REPORTGEN_DATA=../shared/data)")
    if not all((Path(root) / "MNIST" / "raw" / n).exists() for n in RAW_NAMES):
        pytest.skip(f"REPORTGEN_DATA={root} has no MNIST/raw/ with the four MNIST files")
    return data_mod.load(Path(root), "cpu", download=False)


def valid_result(key: str, status: str = "completed", study: str = "s", variant: str = "v", seed: int = 0,
                 **extra) -> dict:
    """The smallest result that matches ``reportgen.results.schema.Result`` (a header, a status and a
    provenance), for tests of the cache and the store."""
    from reportgen.spec import RunConfig
    from reportgen.results.store import SCHEMA_VERSION

    return {"schema_version": SCHEMA_VERSION, "key": key, "study": study, "variant": variant, "label": variant,
            "seed": seed, "numerics": {"data": 1}, "config": RunConfig().model_dump(mode="json"), "status": status,
            "provenance": {"git_commit": "test", "torch": "test", "python": "3", "device": "cpu", "data_md5": "x",
                           "created": "2026-01-01T00:00:00+00:00"}, **extra}


@pytest.fixture
def no_png(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """``reportgen.report.draw.figures.save`` (the one place every figure is written) replaced for the
    test: the figure is built as usual, then closed without being drawn or encoded, and an empty file
    stands at its path. For tests of the rendered Markdown, which names figures but never reads them.
    Returns the list of paths "saved"."""
    import matplotlib.pyplot as plt

    from reportgen.report.draw import figures

    saved: list[Path] = []

    def save(fig, path: Path, **_) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()
        plt.close(fig)
        saved.append(path)
        return path

    monkeypatch.setattr(figures, "save", save)
    return saved


#: What ``python3 -m venv`` puts in every virtualenv before any install.
VENV_BASICS = ("pip", "setuptools", "pkg_resources", "wheel")


def base_install_env(folder: Path) -> dict[str, str]:
    """``os.environ`` for a subprocess that sees only what the base install (``pip install -e .``, no
    extras) brings: a ``sitecustomize`` in ``folder`` puts a finder first on ``sys.meta_path`` that
    refuses every top-level module whose distributions are all outside the transitive requirements of
    ``reportgen`` without extras (torch, torchvision, scikit-learn, pytest, … raise
    ``ModuleNotFoundError`` as in the Pages workflow's virtualenv). A finder, not
    ``sys.modules["torch"] = None``: scipy's array-API check trips on the latter."""
    from importlib import metadata

    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    allowed, todo = set(), ["reportgen"]
    while todo:
        name = canonicalize_name(todo.pop())
        if name in allowed:
            continue
        allowed.add(name)
        try:
            requires = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue
        for text in requires:
            req = Requirement(text)
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                todo.append(req.name)
    blocked = sorted({top for top, dists in metadata.packages_distributions().items()
                      if not top.startswith("_") and top not in VENV_BASICS
                      and not any(canonicalize_name(d) in allowed for d in dists)})
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "sitecustomize.py").write_text(
        "import sys\n"
        f"BLOCKED = frozenset({blocked!r})\n\n\n"
        "class _BaseInstallOnly:\n"
        "    @staticmethod\n"
        "    def find_spec(name, path=None, target=None):\n"
        "        if name.partition('.')[0] in BLOCKED:\n"
        "            raise ModuleNotFoundError(f'No module named {name!r} (not in the base install)', name=name)\n"
        "        return None\n\n\n"
        "sys.meta_path.insert(0, _BaseInstallOnly)\n", encoding="utf-8")
    path = os.pathsep.join(p for p in (str(folder), os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, "PYTHONPATH": path, "DISABLE_MKDOCS_2_WARNING": "true"}


# The built site and a headless Chromium, for the browser tests (test_site.py, test_site_a11y.py). The
# site is session-scoped: built once per pytest-xdist worker, and those tests share one xdist group.


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if path := shutil.which(name):
            return path
    return None


def _site_config(tmp: Path) -> Path:
    """``mkdocs.yml``, or with ``REPORTGEN_SITE_DOCS`` set (a docs folder rendered elsewhere, e.g. by
    ``reportgen render --docs-dir``), a config inheriting it with that ``docs_dir``."""
    docs = os.environ.get("REPORTGEN_SITE_DOCS")
    if not docs:
        return REPO / "mkdocs.yml"
    cfg = tmp / "mkdocs.yml"  # an inherited config's paths resolve against its folder: name them in full
    cfg.write_text(f"INHERIT: {REPO / 'mkdocs.yml'}\ndocs_dir: {Path(docs).resolve()}\n"
                   f"theme:\n  name: material\n  custom_dir: {REPO / 'overrides'}\n"
                   f"hooks:\n  - {REPO / 'reportgen' / 'site' / 'hooks.py'}\n", encoding="utf-8")
    return cfg


@pytest.fixture(scope="session")
def site(tmp_path_factory):
    """The committed docs (or ``$REPORTGEN_SITE_DOCS``) built with ``mkdocs build --strict`` (with the base
    install's packages only) and served over HTTP on a free port."""
    out = tmp_path_factory.mktemp("site")
    cfg = _site_config(tmp_path_factory.mktemp("config"))
    # built as the Pages workflow builds it: with the base install's packages only
    build = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-f", str(cfg), "-d", str(out)],
                           cwd=REPO, capture_output=True, text=True,
                           env=base_install_env(tmp_path_factory.mktemp("base")))
    assert build.returncode == 0, build.stdout + build.stderr
    handler = functools.partial(_QuietHandler, directory=str(out))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield out, f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep pytest output clean
        pass


@pytest.fixture(scope="module")
def browser():
    exe = _chromium()
    if exe is None:
        pytest.skip("no Chromium on this machine (apt-get install chromium): the browser test cannot run")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("playwright is not installed (it comes with the dev extra)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=exe, args=["--no-sandbox"])
        yield b
        b.close()
