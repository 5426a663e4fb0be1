"""Interactive charts for the site: Vega-Lite specs written from the results beside the static
figures, drawn in the browser by the vendored Vega scripts (``docs/javascripts/charts.js``).

:func:`learning_curves` writes a two-panel chart (loss, accuracy) of every seed of every variant:
hover a point for its values, click a variant, seed or split in a legend to show only it (shift-click
to add more, double-click the chart to show everything), scroll to zoom, drag to pan; a chart of many
variants starts with the first few selected (:data:`FIRST_SHOWN`), the others faded. The data sit inline in
the spec, one record per run with per-epoch arrays that Vega-Lite's ``flatten`` and ``fold``
transforms expand, so a study's chart is a few tens of kilobytes. Vega-Lite:
https://vega.github.io/vega-lite/docs/ (v6 schema).
"""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from matplotlib.colors import to_hex

from reportgen.results.summary import StudyResults

SCHEMA = "https://vega.github.io/schema/vega-lite/v6.json"  # an identifier: nothing fetches it
#: History fields drawn, and how each is shown: (field, measure, split, scale to display units).
SERIES = (("train_loss", "loss", "train", 1.0), ("val_loss", "loss", "validation", 1.0),
          ("train_acc", "accuracy", "train", 100.0), ("val_acc", "accuracy", "validation", 100.0))
FADED = 0.07  # opacity of what a legend selection leaves out
#: A chart of more variants than this selects the spec's first FIRST_SHOWN at first (the rest faded); the
#: reader picks others, and seeds, in the legends.
FIRST_SHOWN = 3
#: Significant digits of a loss in a learning-curve chart's data and tooltip (d3 format ``.4r``).
LOSS_DIGITS = 4


def _runs(sr: StudyResults) -> list[dict[str, Any]]:
    """One record per run: variant label, seed, epochs and each series as per-epoch lists (display
    units: loss in nats to :data:`LOSS_DIGITS` significant digits, as the tooltip shows it, which keeps a
    late epoch's 0.0009623 distinct from 0.001 when the reader zooms in; accuracy in % to 2 decimals, as
    the tooltip shows it and as one image of 10,000 moves it); a NaN or missing value becomes null
    (Vega leaves a gap)."""
    out = []
    for v in sr.variants:
        for r in v.runs:
            hist = r.get("history") or []
            rec: dict[str, Any] = {"variant": v.label, "seed": r["seed"], "epoch": [h["epoch"] for h in hist]}
            for name, _, _, scale in SERIES:
                rec[name] = [None if h.get(name) is None or not math.isfinite(h[name]) else
                             (round(h[name] * scale, 2) if scale != 1.0 else float(f"{h[name]:.{LOSS_DIGITS}g}")) for h in hist]
            out.append(rec)
    return out


def _legend(name: str, first: list[str] | None = None) -> dict[str, Any]:
    """A point selection on field ``name`` bound to its legend (empty = everything shown), holding the
    values ``first`` at first."""
    param = {"name": name, "select": {"type": "point", "fields": [name]}, "bind": "legend"}
    if first:
        param["value"] = [{name: value} for value in first]
    return param


def first_shown(labels: list[str]) -> list[str]:
    """The variants a learning-curve chart selects at first: the first :data:`FIRST_SHOWN` when there
    are more, else none (everything shown)."""
    return list(labels[:FIRST_SHOWN]) if len(labels) > FIRST_SHOWN else []


def _panel(measure: str, title: str, ytitle: str, zero: bool, legends: bool,
           colours: dict[str, str] | None = None, first: list[str] | None = None) -> dict[str, Any]:
    """One panel: a line per run and split, a point per epoch (hover: values); the loss panel
    (``legends``) holds the legend selections, which both panels obey, the variants ``first`` selected."""
    selected = {"and": [{"param": "variant"}, {"param": "seed"}, {"param": "split"}]}
    x = {"field": "epoch", "type": "quantitative", "title": "epoch", "axis": {"tickMinStep": 1}}
    y = {"field": "value", "type": "quantitative", "title": ytitle, "scale": {"zero": zero}}
    colour = {"field": "variant", "type": "nominal", "title": "variant"}
    if colours:  # the spec's variant order and the static figure's colours, not Vega's alphabetical order
        colour["scale"] = {"domain": list(colours), "range": list(colours.values())}
    return {
        "name": measure, "title": title, "height": 260,
        "transform": [{"filter": {"field": "measure", "equal": measure}}],
        "layer": [
            {"mark": {"type": "line", "strokeWidth": 1.6},
             "params": [_legend("variant", first), _legend("split")] if legends else [],
             "encoding": {"x": x, "y": y, "color": colour, "detail": {"field": "seed", "type": "nominal"},
                          "strokeDash": {"field": "split", "type": "nominal", "title": "split",
                                         "scale": {"domain": ["train", "validation"], "range": [[5, 3], [1, 0]]}},
                          "opacity": {"condition": {"test": selected, "value": 0.9}, "value": FADED}}},
            {"mark": {"type": "point", "filled": True, "size": 22},
             "params": [{"name": f"zoom_{measure}", "select": "interval", "bind": "scales"}]
             + ([_legend("seed")] if legends else []),
             "encoding": {"x": x, "y": y, "color": colour,
                          "shape": {"field": "seed", "type": "nominal", "title": "seed"},
                          "opacity": {"condition": {"test": selected, "value": 0.9}, "value": FADED},
                          "tooltip": [{"field": "variant"}, {"field": "seed"}, {"field": "split"},
                                      {"field": "epoch", "type": "quantitative"},
                                      {"field": "value", "type": "quantitative", "title": ytitle,
                                       "format": f".{LOSS_DIGITS}r" if measure == "loss" else ".2f"}]}},
        ],
    }


def learning_curves_spec(sr: StudyResults, palette: list[str]) -> dict[str, Any]:
    """The Vega-Lite spec (a dict) of ``sr``'s learning curves; ``palette``: hex colours in variant
    order (the static figure's, so both show a variant in the same colour)."""
    labels = [v.label for v in sr.variants if v.runs]
    colours = {label: palette[i % len(palette)] for i, label in enumerate(labels)}
    fields = [name for name, *_ in SERIES]
    measure = " : ".join(f"datum.series === '{name}' ? '{m}'" for name, m, _, _ in SERIES) + " : null"
    split = " : ".join(f"datum.series === '{name}' ? '{s}'" for name, _, s, _ in SERIES) + " : null"
    return {
        "$schema": SCHEMA,
        "description": f"{sr.spec.study.title}: training and validation loss and accuracy per epoch, every seed",
        "data": {"values": _runs(sr)},
        "transform": [{"flatten": ["epoch", *fields]}, {"fold": fields, "as": ["series", "value"]},
                      {"filter": "isValid(datum.value)"},
                      {"calculate": measure, "as": "measure"}, {"calculate": split, "as": "split"}],
        "hconcat": [_panel("loss", "Loss", "cross-entropy (nats)", True, legends=True, colours=colours,
                           first=first_shown(labels)),
                    _panel("accuracy", "Accuracy", "accuracy (%)", False, legends=False, colours=colours)],
        "resolve": {"scale": {"color": "shared", "shape": "shared", "strokeDash": "shared"}},
        "config": {"range": {"category": palette},
                   "legend": {"symbolLimit": 0, "labelLimit": 220}},
        "usermeta": {"variants": labels, "selected": first_shown(labels)},
    }


def write(spec: dict[str, Any], path: Path) -> Path:
    """Write a Vega-Lite ``spec`` to ``path`` (JSON, stable key order and formatting, so unchanged results
    leave the file byte-identical). Returns ``path``. Raises ``ValueError`` on a NaN (strict JSON)."""
    text = json.dumps(spec, ensure_ascii=False, separators=(",", ":"), allow_nan=False) + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")
    return path


def learning_curves(sr: StudyResults, path: Path) -> Path:
    """Write the learning-curve spec of ``sr`` to ``path`` (:func:`write`). Returns ``path``."""
    from reportgen.report.draw.colours import COLOURS

    return write(learning_curves_spec(sr, [to_hex(c) for c in COLOURS]), path)


def _num(x: float | None, digits: int = 4) -> float | None:
    """A finite number rounded for the spec, else None (Vega leaves it out)."""
    return None if x is None or not math.isfinite(x) else round(float(x), digits)


def pareto_spec(points: list[dict[str, Any]], xtitle: str, title: str) -> dict[str, Any]:
    """Test error rate (100 − accuracy, %, log scale) against ``points``' ``x`` (log scale), one point per
    variant at its mean with its 95 % CI as a bar; hover: variant, study, mean ± CI, seeds. A checkbox
    shows every seed's own point. ``points``: dicts with ``variant``, ``study``, ``x``, ``mean``,
    ``low``, ``high`` (accuracy, %), ``n`` and ``seeds`` (accuracies, %)."""
    rows, seeds = [], []
    for p in points:
        err = lambda a: None if a is None or not math.isfinite(a) else max(100.0 - a, 0.01)  # noqa: E731
        rows.append({"variant": p["variant"], "study": p["study"], "x": _num(p["x"], 1), "error": _num(err(p["mean"])),
                     "error_low": _num(err(p["high"])), "error_high": _num(err(p["low"])), "accuracy": _num(p["mean"], 2),
                     "ci": f"{p['low']:.2f}–{p['high']:.2f} %" if math.isfinite(p["low"]) else "n/a", "n": p["n"]})
        kept = [a for a in p["seeds"] if math.isfinite(a)]
        seeds.append({"variant": p["variant"], "study": p["study"], "x": _num(p["x"], 1),
                      "error": [_num(err(a)) for a in kept], "accuracy": [_num(a, 2) for a in kept]})
    x = {"field": "x", "type": "quantitative", "title": xtitle, "scale": {"type": "log"}}
    y = {"field": "error", "type": "quantitative", "title": "test error rate (100 − accuracy, %; log scale)",
         "scale": {"type": "log"}}
    study = {"field": "study", "type": "nominal", "title": "study"}
    return {
        "$schema": SCHEMA, "description": title, "title": title, "height": 380,
        "params": [{"name": "every_seed", "value": False, "bind": {"input": "checkbox", "name": "show every seed "}}],
        "layer": [
            {"data": {"values": rows}, "mark": {"type": "rule", "opacity": 0.5},
             "encoding": {"x": x, "y": {**y, "field": "error_low"}, "y2": {"field": "error_high"}, "color": study}},
            {"data": {"values": rows}, "mark": {"type": "point", "filled": True, "size": 70, "opacity": 0.85},
             "params": [{"name": "zoom", "select": "interval", "bind": "scales"}],
             "encoding": {"x": x, "y": y, "color": study, "shape": study,
                          "tooltip": [{"field": "variant"}, {"field": "study"},
                                      {"field": "accuracy", "title": "test accuracy (%, mean)", "format": ".2f"},
                                      {"field": "ci", "title": "95 % CI"}, {"field": "n", "title": "seeds"},
                                      {"field": "x", "title": xtitle, "format": ",.0f"}]}},
            {"data": {"values": seeds}, "transform": [{"filter": "every_seed"}, {"flatten": ["error", "accuracy"]}],
             "mark": {"type": "point", "size": 14, "opacity": 0.55, "aria": False},  # empty until ticked: no unnamed group
             "encoding": {"x": x, "y": y, "color": study,
                          "tooltip": [{"field": "variant"}, {"field": "study"},
                                      {"field": "accuracy", "title": "test accuracy (%, this seed)", "format": ".2f"}]}},
        ],
        "config": {"legend": {"symbolLimit": 0, "labelLimit": 220}},
    }


def matrix_spec(cells: list[dict[str, Any]], x: str, y: str, value: str, value_title: str,
                tooltip: list[dict[str, Any]], title: str, x_order: list[str] | None = None,
                y_order: list[str] | None = None, fmt: str = ".2f", scheme: str = "viridis",
                dark_high: bool = False) -> dict[str, Any]:
    """A heat map: one square per cell of ``cells`` (dicts with keys ``x`` and ``y``: the column and row
    category) coloured by ``value`` and labelled with it; ``x``/``y``: the axes' titles; hover shows
    ``tooltip`` (Vega-Lite tooltip fields). ``x_order``/``y_order``: the categories in the order drawn
    (default: as they come). A label is white on the dark half of the
    colour scale (the low half, or the high half with ``dark_high``), black on the other."""
    vals = [c[value] for c in cells if c.get(value) is not None]
    mid = (min(vals) + max(vals)) / 2 if vals else 0.0
    cells = [{**c, "ink": "black" if c.get(value) is None or ((c[value] > mid) != dark_high) else "white"}
             for c in cells]
    ax = {"field": "x", "type": "ordinal", "title": x, **({"sort": x_order} if x_order else {})}
    ay = {"field": "y", "type": "ordinal", "title": y, **({"sort": y_order} if y_order else {})}
    colour = {"field": value, "type": "quantitative", "title": value_title, "scale": {"scheme": scheme}}
    return {
        "$schema": SCHEMA, "description": title, "title": title, "data": {"values": cells},
        "layer": [
            {"mark": {"type": "rect"}, "encoding": {"x": ax, "y": ay, "color": colour, "tooltip": tooltip}},
            {"mark": {"type": "text", "fontSize": 10},
             "encoding": {"x": ax, "y": ay, "text": {"field": value, "type": "quantitative", "format": fmt},
                          "color": {"condition": {"test": "datum.ink === 'white'", "value": "white"}, "value": "black"}, "tooltip": tooltip}},
        ],
        "usermeta": {"square": True},
    }


def confusion_spec(cm: list[list[int]], title: str, names: list[str] | None = None) -> dict[str, Any]:
    """A confusion matrix (rows: true digit, columns: predicted) as a heat map of counts; hover gives the
    count and its share of the true digit's images. ``cm``: K×K counts (summed over seeds). The data are
    one row of counts per true digit, expanded in the browser (``flatten``), so a matrix costs ~1 kB.
    ``names``: the classes' names where they are not the digits 0 … K−1 (the axes then say "class")."""
    k = len(cm)
    digits = list(names) if names else [str(d) for d in range(k)]
    mid = (min(min(r) for r in cm) + max(max(r) for r in cm)) / 2 if cm else 0
    what = "class" if names else "digit"
    true, pred = f"true {what}", f"predicted {what}"
    ax = {"field": pred, "type": "ordinal", "sort": digits, "title": pred}
    ay = {"field": true, "type": "ordinal", "sort": digits, "title": true}
    tip = [{"field": true}, {"field": pred}, {"field": "count", "type": "quantitative", "format": ","},
           {"field": "share", "type": "quantitative", "title": f"share of the true {what}'s images (%)", "format": ".2f"}]
    return {
        "$schema": SCHEMA, "description": title, "title": title,
        "data": {"values": [{true: d, "count": [int(c) for c in row], pred: digits}
                            for d, row in zip(digits, cm)]},
        "transform": [{"flatten": ["count", pred]},
                      {"joinaggregate": [{"op": "sum", "field": "count", "as": "row_total"}], "groupby": [true]},
                      {"calculate": "100 * datum.count / max(datum.row_total, 1)", "as": "share"},
                      {"calculate": f"datum.count > {mid:g} ? 'white' : 'black'", "as": "ink"}],
        "layer": [
            {"mark": {"type": "rect"}, "encoding": {
                "x": ax, "y": ay, "tooltip": tip,
                "color": {"field": "count", "type": "quantitative", "title": "images",
                          "scale": {"scheme": "blues", "type": "symlog"}}}},  # the diagonal dwarfs the errors
            {"mark": {"type": "text", "fontSize": {"expr": "width < 330 ? 7 : 10"}}, "encoding": {
                "x": ax, "y": ay, "tooltip": tip, "text": {"field": "count", "type": "quantitative", "format": ",d"},
                "color": {"condition": {"test": "datum.ink === 'white'", "value": "white"}, "value": "black"}}},
        ],
        "usermeta": {"square": True},
    }


def roofline_spec(points: list[dict[str, Any]], roofs: list[dict[str, Any]], curves: list[dict[str, Any]],
                  title: str) -> dict[str, Any]:
    """Achieved GFLOP/s against the FLOPs of one training step (both log scales): a point per model row
    (``points``: ``study``, ``variant``, ``model``, ``threads``, ``step_mflop``, ``gflops``,
    ``best_epoch_gflops``), a horizontal rule per measured peak (``roofs``: ``roof``, ``gflops``) and the
    per-step overhead roof (``curves``: ``roof``, ``step_mflop``, ``gflops`` samples). Hover a point for
    its study, variant, model, threads and rates; hover a roof for its name and value."""
    x = {"field": "step_mflop", "type": "quantitative", "scale": {"type": "log"},
         "title": "FLOPs of one training step (MFLOP: 3 × forward × batch)"}
    y = {"field": "gflops", "type": "quantitative", "scale": {"type": "log"},
         "title": "achieved GFLOP/s (counted FLOPs / seconds)"}
    roof_tip = [{"field": "roof"}, {"field": "gflops", "title": "GFLOP/s", "format": ",.1f"}]
    return {
        "$schema": SCHEMA, "description": title, "title": title, "height": 380,
        "layer": [
            {"data": {"values": roofs}, "mark": {"type": "rule", "strokeDash": [4, 3], "opacity": 0.7},
             "encoding": {"y": y, "color": {"value": "#555"}, "tooltip": roof_tip}},
            {"data": {"values": curves}, "mark": {"type": "line", "strokeDash": [1, 2], "color": "#555"},
             "encoding": {"x": x, "y": y, "detail": {"field": "roof"}, "tooltip": roof_tip}},
            {"data": {"values": points}, "mark": {"type": "point", "filled": True, "size": 60, "opacity": 0.85},
             "params": [{"name": "zoom", "select": "interval", "bind": "scales"}],
             "encoding": {"x": x, "y": y, "color": {"field": "model", "type": "nominal", "title": "model"},
                          "shape": {"field": "threads", "type": "nominal", "title": "threads"},
                          "tooltip": [{"field": "study"}, {"field": "variant"}, {"field": "model"},
                                      {"field": "threads"}, {"field": "step_mflop", "title": "MFLOP per step", "format": ",.2f"},
                                      {"field": "gflops", "title": "GFLOP/s, recorded", "format": ",.1f"},
                                      {"field": "best_epoch_gflops", "title": "GFLOP/s, fastest epoch", "format": ",.1f"}]}},
        ],
        "config": {"legend": {"symbolLimit": 0, "labelLimit": 220}},
    }
