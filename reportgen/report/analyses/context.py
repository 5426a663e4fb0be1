"""What an analysis may use (:class:`Context`) and how it formats an interval (:func:`fmt`)."""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from reportgen.results.stats import t_interval
from reportgen.results.summary import METRICS, StudyResults, VariantResults, device_of, short_device

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


def fmt(iv, digits: int) -> str:
    """``mean ± half`` (half omitted for n = 1); NaN as an em dash."""
    if not np.isfinite(iv.mean):
        return "—"
    if digits == 0:  # counts (parameters): thousands separators, no interval
        return f"{iv.mean:,.0f}"
    if iv.n < 2 or not np.isfinite(iv.half_width):
        return f"{iv.mean:.{digits}f}"
    return f"{iv.mean:.{digits}f} ± {iv.half_width:.{digits}f}"


def epochs(values) -> str:
    """Epoch numbers over seeds as ``median (min–max)``, one number when all agree; an em dash
    when none is finite (e.g. ``[10, 10, 4]`` → ``10 (4–10)``)."""
    vals = np.asarray([x for x in values if np.isfinite(x)], dtype=float)
    if not len(vals):
        return "—"
    lo, mid, hi = vals.min(), float(np.median(vals)), vals.max()
    return f"{mid:g}" if lo == hi else f"{mid:g} ({lo:g}–{hi:g})"


#: Marks a cell computed without a variant's outlier seeds; the table's note names them.
OUTLIER_MARK = "†"


def cell(v: VariantResults, metric: str, *, mixed: bool = False, mark: bool = True) -> str:
    """One table cell of ``metric`` for variant ``v``, over its seeds without outliers
    (:meth:`~reportgen.results.summary.VariantResults.outliers`; marked ``†`` unless ``mark`` is false):

    * epoch numbers: :func:`epochs` (median and range);
    * timings: :func:`timing` (median and range per device, the device named when ``mixed`` or
      when the variant's own runs ran on more than one);
    * counts (no decimals): the mean with thousands separators;
    * anything else: :func:`fmt` of the mean ± 95 % CI, or ``mean (min–max)`` when that interval
      reaches past the values the metric can take (an accuracy above 100 %).
    """
    m = METRICS[metric]
    if m.timing:
        return timing(v, metric, mixed=mixed)
    c = v.clean
    flag = OUTLIER_MARK if mark and c is not v and m.digits else ""  # counts are the same on every seed
    if m.epoch:
        return epochs(c.values(metric)) + flag
    if not m.digits:
        return fmt(c.interval(metric), 0)
    return bounded([x * m.scale for x in c.values(metric)], m.digits, m.bounds) + flag


def bounded(values, digits: int, bounds: tuple[float, float] = (-np.inf, np.inf)) -> str:
    """:func:`fmt` of the Student-t interval of ``values``, or ``mean (min–max)`` over them when that
    interval reaches past ``bounds`` (the values the quantity can take, e.g. (0, 100) for a share in
    %): ``[97.7, 97.6]`` within (0, 100) → ``97.65 ± 0.83``, ``[0.0, 4.2, 2.1]`` → ``2.1 (0.0–4.2)``."""
    vals = [float(x) for x in values]
    iv = t_interval(vals) if vals else None
    if iv is None or not np.isfinite(iv.mean):
        return "—"
    if iv.n > 1 and np.isfinite(iv.half_width) and (iv.low < bounds[0] or iv.high > bounds[1]):
        return f"{iv.mean:.{digits}f} ({min(vals):.{digits}f}–{max(vals):.{digits}f})"
    return fmt(iv, digits)


def timing(v: VariantResults, metric: str, *, mixed: bool = False) -> str:
    """A timing over seeds as ``median (min–max)`` for each device the runs were timed on, never
    pooled across devices or thread counts: ``18.2 (17.6–19.5)``, or with ``mixed`` (or runs of
    this variant on several devices) ``681.3 (670.9–689.6) [1 thread]; 325.0 [2 threads]``."""
    m = METRICS[metric]
    groups = v.spread(metric)
    if not groups:
        return "—"
    label = mixed or len(groups) > 1
    d = 0 if m.digits == 0 else min(m.digits, 1 if groups[0].median >= 10 else m.digits)

    def one(g) -> str:
        text = f"{g.median:,.{d}f}" if g.n == 1 or g.low == g.high else \
            f"{g.median:,.{d}f} ({g.low:,.{d}f}–{g.high:,.{d}f})"
        return text + (f" [{short_device(g.device)}]" if label else "")

    return "; ".join(one(g) for g in groups)


def devices(sr: StudyResults) -> list[str]:
    """The devices (with thread count) the study's runs were timed on, most runs first."""
    count: dict[str, int] = {}
    for r in sr.runs:
        count[device_of(r)] = count.get(device_of(r), 0) + 1
    return sorted(count, key=lambda d: -count[d])


def per_seed(v: VariantResults, metric: str) -> str:
    """Every seed's value in seed order, ``97.73 / 97.60 / 11.35†`` (an outlier marked)."""
    m, gone = METRICS[metric], {o.seed for o in v.outliers()}
    return " / ".join("—" if not np.isfinite(x) else f"{x * m.scale:.{m.digits}f}" + (OUTLIER_MARK if s in gone else "")
                      for s, x in zip(v.seeds(), v.values(metric))) or "—"


def runs_of(v: VariantResults, key: str) -> np.ndarray:
    """History field ``key`` per seed as float (seeds, epochs), cut to the shortest run."""
    seqs = [[h[key] for h in r["history"]] for r in v.runs]
    n = min((len(s) for s in seqs), default=0)
    return np.array([s[:n] for s in seqs], dtype=float).reshape(len(seqs), n)


def probe_rows(v: VariantResults, name: str) -> list[list[dict]]:
    """``probes.<name>`` rows per seed (runs without the probe give an empty list)."""
    return [r.get("probes", {}).get(name) or [] for r in v.runs]
