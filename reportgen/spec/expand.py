"""Study → list of runs: apply the sweep's overrides to the base config, one run per (variant, seed).

A run's identity is its *key*: a SHA-256 over the canonical resolved config, the seed, the data
checksum and the numerics version of each component the run uses (see :mod:`reportgen.spec.numerics`).
Nothing else (study name, title, analyses, source code, docstrings) enters it, so the same baseline
declared by three studies trains once, and a refactor retrains nothing.
"""
from __future__ import annotations

import copy
import functools
import hashlib
import itertools
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from pydantic import ValidationError

from reportgen.data.fetch import DATASET_MD5  # noqa: F401 - re-exported
from reportgen.spec.numerics import versions
from reportgen.spec.config import VARIANT_SLUG, RunConfig
from reportgen.spec.sources import MNIST_ONLY_ANALYSES, identity, name_of, source_digest
from reportgen.spec.schema import FromResults, Study

#: Set by ``reportgen run --images DIR``: the folder every ``custom_digits`` probe reads instead of its own.
IMAGES_ENV = "REPORTGEN_IMAGES"

#: What ``--smoke`` changes, identically for every spec (DESIGN: specs never special-case it); a
#: ``data.train_subset`` already below 1,000 is kept.
SMOKE = {"data.train_subset": 1000, "data.val_size": 250, "data.test_subset": 500, "train.epochs": 1}
#: Under ``--smoke`` the trained model's inference throughput is timed on this many test images, not
#: on all 10,000 (a timing only: no result's numbers or key depend on it).
SMOKE_TIMING_IMAGES = 256


class SpecError(ValueError):
    """A spec that cannot be turned into runs; the message names the file, field, value, allowed."""


@dataclass(frozen=True)
class Run:
    """One (variant, seed) of a study. ``config`` is validated and fully resolved."""

    study: str
    variant: str  # slug: the results folder name
    label: str  # human-readable, e.g. "dropout=0.1"
    seed: int
    config: RunConfig
    smoke: bool = False  # expanded with ``smoke=True`` (:data:`SMOKE` applied); not part of the key

    @property
    def numerics(self) -> dict[str, int]:
        """``{component: numerics version}`` of the components this run uses (:mod:`reportgen.spec.numerics`)."""
        return versions(self.config)

    @property
    def key(self) -> str:
        """Hex SHA-256 identifying this run's numbers: the canonical config (:func:`key_config`), seed,
        data checksum (:func:`reportgen.spec.sources.identity`) and :attr:`numerics`; for an import-path
        model, its module's source digest; for a ``custom_digits`` probe, the contents of its image
        folder (adding a photo re-runs it) and of the fonts its synthetic fallback set is drawn in."""
        return key_of(self.config, self.seed, self.numerics)


def key_of(config: RunConfig, seed: int, numerics: dict[str, int]) -> str:
    """The run key of ``config`` and ``seed`` under the given numerics versions (see :attr:`Run.key`)."""
    payload: dict[str, Any] = {"config": key_config(config), "seed": seed,
                               "data_md5": identity(config.data.dataset), "numerics": numerics}
    if config.model.kind == "import":
        payload["model_source"] = source_digest(config.model.target)
    folders = [p.images_dir() for p in config.probes if p.images_dir()]
    if folders:
        payload["inputs"] = [folder_digest(f) for f in folders]
        payload["fonts"] = fonts_digest()
    blob = json.dumps(payload, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(blob.encode()).hexdigest()


#: Fields added to RunConfig after results were committed, with their defaults: a field at its default
#: is left out of the key, so adding it kept every earlier run's key (and cache entry) valid.
LATE_FIELDS = {("train", "range_test"): None, ("train", "channels_last"): False, ("optim", "fused"): False,
               ("data", "dataset"): "mnist"}


#: The same for fields added to ProbeSpec (each entry of ``probes``).
LATE_PROBE_FIELDS = {"images": None}


def key_config(config: RunConfig) -> dict[str, Any]:
    """The config as hashed into the key: ``model_dump(mode="json")`` without late fields at their default."""
    tree = config.model_dump(mode="json")
    for (section, name), default in LATE_FIELDS.items():
        if tree[section].get(name, default) == default:
            tree[section].pop(name, None)
    for probe in tree["probes"]:
        for name, default in LATE_PROBE_FIELDS.items():
            if probe.get(name, default) == default:
                probe.pop(name, None)
    return tree


def folder_digest(folder: str) -> str:
    """SHA-256 over the sorted (file name, contents) of a folder's visible files (the ones
    :func:`reportgen.data.digits.load_folder` reads); ``"missing"`` when the folder does not exist. The
    files are read again only when their names, sizes or modification times change (``Run.key`` is
    read many times per command)."""
    root = Path(folder)
    if not root.is_dir():
        return "missing"
    return _digest(_listing(sorted(f for f in root.iterdir() if f.is_file() and not f.name.startswith("."))))


def fonts_digest() -> str:
    """SHA-256 over the (file name, contents) of :func:`reportgen.data.digits.digit_fonts`, the fonts the
    synthetic fallback set is drawn in: a matplotlib that ships other fonts retrains the runs of a
    ``custom_digits`` probe instead of reusing numbers measured on other drawings."""
    from reportgen.data.digits import digit_fonts  # numpy, scipy, Pillow: not torch

    return _digest(_listing(Path(p) for p in digit_fonts()))


def _listing(files: Iterable[Path]) -> tuple[tuple[str, int, int], ...]:
    """(path, size, modification time) per file, in the given order: what :func:`_digest` is cached on."""
    return tuple((str(f), f.stat().st_size, f.stat().st_mtime_ns) for f in files)


@functools.lru_cache(maxsize=64)
def _digest(listing: tuple[tuple[str, int, int], ...]) -> str:
    h = hashlib.sha256()
    for path, _, _ in listing:
        f = Path(path)
        h.update(f.name.encode() + b"\0" + hashlib.sha256(f.read_bytes()).digest())
    return h.hexdigest()


def _apply_smoke(tree: dict[str, Any]) -> None:
    """Apply :data:`SMOKE` to a resolved config tree; a ``train_subset`` or ``val_size`` already smaller is
    kept (a study about a small subset stays about it; a small data set keeps its training images)."""
    for path, value in SMOKE.items():
        if path == "data.train_subset" and (tree["data"]["train_subset"] or value) < value:
            continue
        if path == "data.val_size" and tree["data"]["val_size"] < value:
            continue
        set_path(tree, path, value)


def _images_override(tree: dict[str, Any], folder: str) -> None:
    """Point every ``custom_digits`` probe of a config tree at ``folder`` (``--images DIR``)."""
    for probe in tree["probes"]:
        if probe["name"] == "custom_digits":
            probe["images"] = folder


def set_path(tree: dict[str, Any], path: str, value: Any) -> None:
    """Set ``tree["a"]["b"] = value`` for ``path="a.b"``; raises KeyError naming the unknown part."""
    *parents, leaf = path.split(".")
    node = tree
    for i, part in enumerate(parents):
        if not isinstance(node, dict) or part not in node or not isinstance(node[part], dict):
            raise KeyError(".".join(parents[: i + 1]))
        node = node[part]
    if leaf not in node:
        raise KeyError(path)
    node[leaf] = copy.deepcopy(value)


def _fmt(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return format(value, "g")
    if isinstance(value, (tuple, list)):
        return "x".join(_fmt(v) for v in value) or "none"
    if value is None:
        return "none"
    if isinstance(value, dict):
        return "_".join(f"{k}-{_fmt(v)}" for k, v in value.items())
    return str(value)


def _short_names(paths: list[str]) -> dict[str, str]:
    """Last path component, unless two grid paths share it (then the whole path)."""
    last = [p.rsplit(".", 1)[-1] for p in paths]
    return {p: (s if last.count(s) == 1 else p) for p, s in zip(paths, last)}


def variants(study: Study) -> list[tuple[str, str, dict[str, Any]]]:
    """``[(slug, label, overrides)]`` in declaration order; a study without a sweep has one, ``default``;
    an ``explore`` study has none (it trains nothing, so :func:`expand` gives it no runs)."""
    if study.kind == "explore":
        return []
    labelled = list(study.sweep.variants.items()) or [("", {})]
    paths = list(study.sweep.grid)
    short = _short_names(paths)
    # An unresolved FromResults (see reportgen.results.chain) stands for its factors: enough to validate.
    grid = {p: v.factors if isinstance(v, FromResults) else v for p, v in study.sweep.grid.items()}
    combos = list(itertools.product(*(grid[p] for p in paths))) or [()]
    out = []
    for (vname, vover), combo in itertools.product(labelled, combos):
        grid_over = dict(zip(paths, combo))
        parts = [f"{short[p]}={_fmt(v)}" for p, v in grid_over.items()]
        label = ", ".join(([vname] if vname else []) + parts) or "default"
        slug_parts = ([vname] if vname else []) + [
            re.sub(r"[^a-z0-9_.\-]", "_", f"{short[p]}-{_fmt(v)}".lower()) for p, v in grid_over.items()
        ]
        slug = "_".join(slug_parts) or "default"
        out.append((slug, label, {**study.sweep.common, **vover, **grid_over}))
    return out


def expand(study: Study, name: str, origin: str = "", smoke: bool = False) -> list[Run]:
    """All runs of ``study`` (named ``name``, loaded from ``origin``), variant-major, seed-minor.

    Raises:
        SpecError: an override names an unknown field or gives a value the schema rejects.
    """
    runs: list[Run] = []
    seen: dict[str, str] = {}
    seeds = study.sweep.seeds[:1] if smoke else study.sweep.seeds
    for slug, label, overrides in variants(study):
        if not VARIANT_SLUG.match(slug):
            raise SpecError(f"{origin}: variant {label!r} gives folder name {slug!r}, which is not a slug")
        if slug in seen:
            raise SpecError(f"{origin}: variants {seen[slug]!r} and {label!r} share the folder {slug!r}")
        seen[slug] = label
        try:
            tree = study.base_config()
        except ValidationError as err:
            raise SpecError(f"{origin}: " + format_errors(err, prefix="")) from None
        for path, value in overrides.items():
            try:
                set_path(tree, path, value)
            except KeyError as err:
                raise SpecError(
                    f"{origin}: sweep override {path!r} (variant {label!r}): no field {err.args[0]!r}; "
                    f"allowed top-level fields: {', '.join(RunConfig.model_fields)}"
                ) from None
        if smoke:
            _apply_smoke(tree)
        if os.environ.get(IMAGES_ENV):
            _images_override(tree, os.environ[IMAGES_ENV])
        try:
            config = RunConfig.model_validate(tree)
        except ValidationError as err:
            raise SpecError(f"{origin}: variant {label!r}: " + format_errors(err, prefix="")) from None
        extra = () if smoke else study.sweep.extra_seeds.get(slug, ())
        runs.extend(Run(name, slug, label, seed, config, smoke) for seed in (*seeds, *extra))
    _mnist_only_analyses(study, runs, origin)
    unknown = sorted(set(study.sweep.extra_seeds) - set(seen))
    if unknown:
        raise SpecError(f"{origin}: sweep.extra_seeds names no variant: {', '.join(unknown)}; variants: "
                        f"{', '.join(seen)}")
    return runs


def _mnist_only_analyses(study: Study, runs: list[Run], origin: str) -> None:
    """SpecError when a study on another data set than MNIST names an analysis that reads MNIST's files
    or an MNIST-only probe (:data:`reportgen.spec.sources.MNIST_ONLY_ANALYSES`)."""
    other = sorted({name_of(r.config.data.dataset) for r in runs} - {"mnist"})
    bad = [a for a in study.analyses if a in MNIST_ONLY_ANALYSES]
    if other and bad:
        raise SpecError(f"{origin}: analyses {bad} are for MNIST only (they read MNIST's files or its images); "
                        f"this study's runs use {', '.join(other)}. Remove them from analyses.")


#: Discriminated-union tags pydantic puts into error locations; dropped so a path reads model.layers.3.out.
_UNION_TAGS = {"MLP", "CNN", "mlp", "cnn", "layers", "resnet", "import", "conv", "maxpool", "residual", "gap", "dense",
               "ImageFolder", "image_folder"}


def format_errors(err: ValidationError, prefix: str) -> str:
    """One line per problem: ``field.path: message (given: value)``."""
    lines = []
    for e in err.errors():
        loc = ".".join(str(p) for p in e["loc"] if p not in _UNION_TAGS)
        given = e.get("input")
        given_s = repr(given) if not isinstance(given, dict) else "{…}"
        if not loc:  # a check across fields (RunConfig's): its message names the fields itself
            lines.append(f"{prefix}{e['msg'].removeprefix('Value error, ')}")
            continue
        lines.append(f"{prefix}{loc}: {e['msg']} (given: {given_s[:80]})")
    return "; ".join(lines)
