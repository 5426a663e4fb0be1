"""Find and load the spec files in ``experiments/``: each ``<name>.py`` defines ``STUDY``.

The file stem is the study's name (a slug: lowercase letters, digits, underscore); it names the
results folder and the page. Loading executes the spec file, which only builds pydantic objects.
"""
from __future__ import annotations

import importlib.util
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from reportgen.spec.expand import SpecError, format_errors
from reportgen.spec.config import SLUG
from reportgen.spec.schema import Study


@dataclass(frozen=True)
class Spec:
    """A loaded spec: its name, file, validated Study and source text (shown on the study page)."""

    name: str
    path: Path
    study: Study
    source: str

    @property
    def doc(self) -> str:
        """The spec file's module docstring (question, run command, expected result, cost)."""
        import ast

        return ast.get_docstring(ast.parse(self.source)) or ""


def spec_paths(experiments: Path) -> list[Path]:
    """Spec files in name order; files starting with ``_`` are helpers, not studies."""
    return sorted(p for p in experiments.glob("*.py") if not p.name.startswith("_"))


def load_spec(path: Path) -> Spec:
    """Execute one spec file and validate its ``STUDY``.

    Raises:
        SpecError: bad file name, exception while executing, no ``STUDY``, or a field the schema
            rejects; the message starts with the file path and names the field, value and rule.
    """
    name = path.stem
    if not SLUG.match(name):
        raise SpecError(f"{path}: study name {name!r} is not a slug (lowercase letters, digits, '_')")
    source = path.read_text(encoding="utf-8")
    module_name = f"_reportgen_spec_{name}"
    mod_spec = importlib.util.spec_from_file_location(module_name, path)
    assert mod_spec and mod_spec.loader
    module = importlib.util.module_from_spec(mod_spec)
    try:
        mod_spec.loader.exec_module(module)
    except ValidationError as err:
        raise SpecError(f"{path}: {format_errors(err, prefix=_where(err, path))}") from None
    except SpecError:
        raise
    except Exception as err:  # a spec is user code: report where it broke, not our stack
        tb = traceback.extract_tb(err.__traceback__)
        line = next((f.lineno for f in reversed(tb) if f.filename == str(path)), None)
        raise SpecError(f"{path}:{line or '?'}: {type(err).__name__}: {err}") from None
    finally:
        sys.modules.pop(module_name, None)
    study = getattr(module, "STUDY", None)
    if not isinstance(study, Study):
        raise SpecError(f"{path}: defines no STUDY = Study(...) (found {type(study).__name__})")
    _check_variant_names(study, path)
    for up in study.upstream():  # a chained study reads another study's results (reportgen.results.chain)
        if up == name or not (path.parent / f"{up}.py").is_file():
            known = ", ".join(p.stem for p in spec_paths(path.parent) if p.stem != name)
            raise SpecError(f"{path}: base / FromResults name study {up!r}: "
                            f"{'a study cannot read its own results' if up == name else 'no such spec'}; "
                            f"studies are: {known}")
    return Spec(name, path, study, source)


def _check_variant_names(study: Study, path: Path) -> None:
    """Every variant a spec names (reference, expectations, comparisons) must exist.

    Raises:
        SpecError: names the field, the name given and the variants there are.
    """
    from reportgen.spec.expand import variants

    known = {n for slug, label, _ in variants(study) for n in (slug, label)}
    labels = [label for _, label, _ in variants(study)]
    named = [("reference", study.reference)]
    for i, e in enumerate(study.expect):
        named += [(f"expect[{i}].{f}", getattr(e, f)) for f in
                  ("variant", "highest", "lowest", "higher_than", "lower_than", "equal_to")]
    named += [(f"reported[{n!r}]", n) for n in study.reported]
    for i, pair in enumerate(study.comparisons):
        named += [(f"comparisons[{i}][{j}]", n) for j, n in enumerate(pair)]
    for where, n in named:
        if n is not None and n not in known and n.rsplit(".", 1)[-1] not in known:
            raise SpecError(f"{path}: {where}: no variant {n!r}; variants are: {', '.join(labels)}")


def _where(err: ValidationError, path: Path) -> str:
    """Field paths are relative to the model being built when the error fired (Study or a part)."""
    return "" if err.title == "Study" else f"{err.title}."


def load_all(experiments: Path) -> tuple[dict[str, Spec], list[SpecError]]:
    """Every spec in ``experiments``: ``({name: Spec}, [errors])``; one bad file does not hide others."""
    specs: dict[str, Spec] = {}
    errors: list[SpecError] = []
    for path in spec_paths(experiments):
        try:
            spec = load_spec(path)
        except SpecError as err:
            errors.append(err)
        else:
            specs[spec.name] = spec
    return specs, errors


def select(specs: dict[str, Spec], names: list[str]) -> list[Spec]:
    """The named specs, or all of them for an empty list.

    Raises:
        SpecError: an unknown name; the message lists the available studies.
    """
    unknown = [n for n in names if n not in specs]
    if unknown:
        raise SpecError(f"unknown study {', '.join(map(repr, unknown))}; available: {', '.join(sorted(specs))}")
    return [specs[n] for n in names] if names else list(specs.values())
