"""What an analysis may use (:class:`Context`), the table cells it formats (re-exported from
:mod:`reportgen.report.judge.cells`) and the per-seed arrays it reads from results."""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from reportgen.report.judge.cells import OUTLIER_MARK, bounded, cell, devices, epochs, fmt, per_seed, timing
from reportgen.results.summary import StudyResults, VariantResults

__all__ = ["OUTLIER_MARK", "TABLE_METRICS", "Context", "bounded", "cell", "devices", "epochs", "fmt", "left_out",
           "per_seed", "probe_rows", "runs_of", "timing"]

TABLE_METRICS = ("test_accuracy", "macro_f1", "roc_auc_ovr", "test_loss", "generalization_gap", "best_epoch",
                 "params", "seconds_per_epoch")


@dataclass
class Context:
    """What an analysis may use: the results, where figures go, and how pages link to them."""

    sr: StudyResults
    fig_dir: Path  # docs/assets/<study>
    fig_url: str  # the same folder, relative to the study page
    data_root: Path | None = None

    def figure(self, name: str) -> tuple[Path, str]:
        return self.fig_dir / name, f"{self.fig_url}/{name}"

    @cached_property
    def _test_raw(self) -> Path:
        from reportgen.data.fetch import data_root, ensure, raw_dir

        root = data_root(self.data_root)
        ensure(root)  # missing files are fetched and every file's md5 checked, as `reportgen fetch` does
        return raw_dir(root)

    @cached_property
    def test_images(self) -> np.ndarray:
        """uint8 (10000, 28, 28) from the verified IDX file (16-byte header; LeCun's format), numpy only."""
        raw = (self._test_raw / "t10k-images-idx3-ubyte").read_bytes()
        return np.frombuffer(raw, np.uint8, offset=16).reshape(-1, 28, 28)

    @cached_property
    def test_labels(self) -> np.ndarray:
        """uint8 (10000,) digits from the verified IDX label file (8-byte header)."""
        return np.frombuffer((self._test_raw / "t10k-labels-idx1-ubyte").read_bytes(), np.uint8, offset=8)

    @cached_property
    def train_images(self) -> np.ndarray:
        """uint8 (60000, 28, 28) from the verified training IDX file (16-byte header), numpy only."""
        return np.frombuffer(self.raw_bytes("train-images-idx3-ubyte"), np.uint8, offset=16).reshape(-1, 28, 28)

    @cached_property
    def train_labels(self) -> np.ndarray:
        """uint8 (60000,) digits from the verified training label file (8-byte header)."""
        return np.frombuffer(self.raw_bytes("train-labels-idx1-ubyte"), np.uint8, offset=8)

    def raw_bytes(self, name: str) -> bytes:
        """The whole verified file ``name`` (e.g. ``"t10k-images-idx3-ubyte"``), header included.
        Fetches missing files on first use; raises DataError when they cannot be fetched or are corrupt."""
        return (self._test_raw / name).read_bytes()


def left_out(vs: list[VariantResults]) -> list[str]:
    """What :attr:`VariantResults.clean` leaves out of ``vs``, one phrase per outlier seed:
    ``seed 2 of lr-1e-2 (collapsed to 11.35 %)``."""
    said = []
    for v in vs:
        for o in v.outliers():
            acc = f"{100 * o.accuracy:.2f} %" if np.isfinite(o.accuracy) else "no finite accuracy"
            why = (f"collapsed to {acc}" if o.reason == "collapsed" else f"diverged, {acc}" if o.reason == "diverged"
                   else f"{acc} against {100 * o.others:.2f} % for the other seeds")
            said.append(f"seed {o.seed} of {v.label} ({why})")
    return said


def runs_of(v: VariantResults, key: str) -> np.ndarray:
    """History field ``key`` per seed as float (seeds, epochs), cut to the shortest run."""
    seqs = [[h[key] for h in r["history"]] for r in v.runs]
    n = min((len(s) for s in seqs), default=0)
    return np.array([s[:n] for s in seqs], dtype=float).reshape(len(seqs), n)


def probe_rows(v: VariantResults, name: str) -> list[list[dict]]:
    """``probes.<name>`` rows per seed (runs without the probe give an empty list)."""
    return [r.get("probes", {}).get(name) or [] for r in v.runs]
