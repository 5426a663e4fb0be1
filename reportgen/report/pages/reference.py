"""Reference pages generated from the code, so they cannot drift from it: the spec schema (every
field, type, default, allowed values, description), the result file schema, and the command line
(``reportgen`` subcommands and ``invoke`` tasks)."""
from __future__ import annotations

import argparse
import typing
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from reportgen.results import schema as resultschema
from reportgen.spec import schema as spec

SPEC_MODELS = (spec.Study, spec.MLP, spec.CNN, spec.Layers, spec.Conv, spec.MaxPool, spec.Residual, spec.GAP,
               spec.Dense, spec.ResNet, spec.Import, spec.Optim, spec.Train, spec.EarlyStopping, spec.Plateau,
               spec.StepLR, spec.Cosine, spec.Augment, spec.RangeTest, spec.Data, spec.ImageFolder, spec.ProbeSpec, spec.Sweep, spec.Expect)
RESULT_MODELS = (resultschema.Result, resultschema.HistoryRow, resultschema.TestMetrics, resultschema.ClassMetrics,
                 resultschema.CalibrationBin, resultschema.BestEpochMetrics, resultschema.Provenance,
                 resultschema.Attempt, resultschema.QuantizedArray,
                 resultschema.ArchitectureRow, resultschema.RangeTestResult)


def _type(annotation: Any) -> str:
    """A readable type: ``int``, ``float``, ``'relu' | 'tanh'``, ``tuple[int, ...]``, ``MLP | CNN``."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Literal:
        return " | ".join(repr(a) for a in args)
    if origin is typing.Annotated:
        return _type(args[0])
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        return " | ".join(_type(a) for a in args)
    if origin in (tuple, list, dict):
        inner = ", ".join("..." if a is Ellipsis else _type(a) for a in args)
        return f"{origin.__name__}[{inner}]"
    if annotation is type(None):
        return "None"
    return getattr(annotation, "__name__", str(annotation))


def _limits(field) -> str:
    parts = []
    for m in field.metadata:
        for attr, sym in (("ge", "≥"), ("gt", ">"), ("le", "≤"), ("lt", "<"), ("min_length", "min length"),
                          ("max_length", "max length")):
            v = getattr(m, attr, None)
            if v is not None:
                parts.append(f"{sym} {v}")
    return ", ".join(parts)


def _default(field) -> str:
    if field.default is PydanticUndefined and field.default_factory is None:
        return "required"
    value = field.default_factory() if field.default_factory is not None else field.default
    if isinstance(value, BaseModel):
        return f"{type(value).__name__}()"
    return repr(value)


def model_table(model: type[BaseModel]) -> dict[str, Any]:
    """One model's fields: name, type, default, limits, description."""
    hints = typing.get_type_hints(model, include_extras=True)
    rows = [{"name": name, "type": _type(hints.get(name, f.annotation)), "default": _default(f), "limits": _limits(f),
             "description": (f.description or "").replace("\n", " ")}
            for name, f in model.model_fields.items()]
    doc = (model.__doc__ or "").strip()
    return {"name": model.__name__, "doc": " ".join(doc.split()), "rows": rows}


def cli_reference(ap: argparse.ArgumentParser) -> list[dict[str, str]]:
    """The help of ``ap`` (``reportgen --help``) and of each subcommand, as argparse prints them."""
    out = [{"name": "reportgen", "help": ap.format_help()}]
    sub = next(a for a in ap._actions if isinstance(a, argparse._SubParsersAction))
    out += [{"name": f"reportgen {name}", "help": p.format_help()} for name, p in sub.choices.items()]
    return out


def task_reference(tasks_py: Path) -> list[dict[str, str]]:
    """The ``invoke`` tasks of ``tasks.py``: name, first docstring line and flags, read from the source
    without importing invoke's task machinery into the report."""
    import ast

    tree = ast.parse(tasks_py.read_text(encoding="utf-8"))
    out = []
    for fn in tree.body:
        if isinstance(fn, ast.FunctionDef) and any(
                (isinstance(d, ast.Name) and d.id == "task") or (isinstance(d, ast.Call) and getattr(d.func, "id", "") == "task")
                for d in fn.decorator_list):
            flags = [a.arg for a in fn.args.args[1:]]
            out.append({"name": fn.name.replace("_", "-"), "doc": (ast.get_docstring(fn) or "").splitlines()[0],
                        "flags": ", ".join(f"--{f.replace('_', '-')}" for f in flags)})
    return out
