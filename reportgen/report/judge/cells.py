"""Table cells: a metric over a variant's seeds as one string (mean ± 95 % CI, epochs as median and
range, timings per device), shared by the analyses, the comparison tables and the claims.

Intervals are Student-t intervals over seeds (:func:`reportgen.results.stats.t_interval`)."""
from __future__ import annotations

import numpy as np

from reportgen.results.stats import t_interval
from reportgen.results.summary import METRICS, StudyResults, VariantResults, device_of, short_device


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
    if _past(iv, bounds):
        return f"{iv.mean:.{digits}f} ({min(vals):.{digits}f}–{max(vals):.{digits}f})"
    return fmt(iv, digits)


def _past(iv, bounds: tuple[float, float]) -> bool:
    return iv.n > 1 and np.isfinite(iv.half_width) and (iv.low < bounds[0] or iv.high > bounds[1])


def ranged(v: VariantResults, metric: str) -> bool:
    """Whether :func:`cell` shows ``metric`` of ``v`` as ``mean (min–max)`` over the seeds used, not
    as ``mean ± 95 % CI`` (the interval reaches past the values the metric can take, as with two
    seeds); False for timings, epochs and counts, which are never shown as an interval."""
    m = METRICS[metric]
    if m.timing or m.epoch or not m.digits:
        return False
    vals = [x * m.scale for x in v.clean.values(metric)]
    iv = t_interval(vals) if vals else None
    return iv is not None and np.isfinite(iv.mean) and _past(iv, m.bounds)


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
