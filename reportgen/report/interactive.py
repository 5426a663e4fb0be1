"""Interactive charts for the site: Vega-Lite specs written from the results beside the static
figures, drawn in the browser by the vendored Vega scripts (``docs/javascripts/charts.js``).

:func:`learning_curves` writes a two-panel chart (loss, accuracy) of every seed of every variant:
hover a point for its values, click a variant, seed or split in a legend to show only it (shift-click
to add more, double-click the chart to reset), scroll to zoom, drag to pan. The data sit inline in
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


def _runs(sr: StudyResults) -> list[dict[str, Any]]:
    """One record per run: variant label, seed, epochs and each series as per-epoch lists (display
    units: loss in nats, accuracy in %); a NaN or missing value becomes null (Vega leaves a gap)."""
    out = []
    for v in sr.variants:
        for r in v.runs:
            hist = r.get("history") or []
            rec: dict[str, Any] = {"variant": v.label, "seed": r["seed"], "epoch": [h["epoch"] for h in hist]}
            for name, _, _, scale in SERIES:
                rec[name] = [None if h.get(name) is None or not math.isfinite(h[name]) else round(h[name] * scale, 6)
                             for h in hist]
            out.append(rec)
    return out


def _legend(name: str) -> dict[str, Any]:
    """A point selection on field ``name`` bound to its legend (empty = everything shown)."""
    return {"name": name, "select": {"type": "point", "fields": [name]}, "bind": "legend"}


def _panel(measure: str, title: str, ytitle: str, zero: bool, legends: bool,
           colours: dict[str, str] | None = None) -> dict[str, Any]:
    """One panel: a line per run and split, a point per epoch (hover: values); the loss panel
    (``legends``) holds the legend selections, which both panels obey."""
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
             "params": [_legend("variant"), _legend("split")] if legends else [],
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
                                       "format": ".4f" if measure == "loss" else ".2f"}]}},
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
        "hconcat": [_panel("loss", "Loss", "cross-entropy (nats)", True, legends=True, colours=colours),
                    _panel("accuracy", "Accuracy", "accuracy (%)", False, legends=False, colours=colours)],
        "resolve": {"scale": {"color": "shared", "shape": "shared", "strokeDash": "shared"}},
        "config": {"range": {"category": palette},
                   "legend": {"symbolLimit": 0, "labelLimit": 220}},
        "usermeta": {"variants": labels},
    }


def learning_curves(sr: StudyResults, path: Path) -> Path:
    """Write the learning-curve spec of ``sr`` to ``path`` (JSON, stable key order and formatting so
    unchanged results leave the file byte-identical). Returns ``path``."""
    from reportgen.report.colours import COLOURS

    spec = learning_curves_spec(sr, [to_hex(c) for c in COLOURS])
    text = json.dumps(spec, ensure_ascii=False, separators=(",", ":"), allow_nan=False) + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")
    return path
