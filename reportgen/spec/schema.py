"""The study specification: a :class:`Study` sweeps the fields of a run's configuration
(:mod:`reportgen.spec.config`) over variants and seeds, and states what it expects. Pydantic models
only, no torch; a spec file in ``experiments/`` builds one :class:`Study`.
"""
from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import Field, ValidationInfo, field_validator, model_validator

from reportgen.spec.config import (  # noqa: F401 - the run configuration, re-exported for spec files
    Activation,
    ANALYSIS_NAMES,
    AnalysisName,
    HeadlineName,
    Augment,
    CNN,
    Conv,
    conv_shape,
    DatasetName,
    ImageFolder,
    Import,
    Cosine,
    CUSTOM_DIGITS_DIR,
    Data,
    DATA_ANALYSES,
    Dense,
    EarlyStopping,
    GAP,
    Init,
    Layer,
    layer_shapes,
    Layers,
    MaxPool,
    MLP,
    Model,
    Optim,
    Plateau,
    ProbeName,
    ProbeSpec,
    RangeTest,
    Residual,
    ResNet,
    RunConfig,
    Scheduler,
    SLUG,
    StepLR,
    Strict,
    Train,
    VARIANT_SLUG,
)


def _no_repeats(values: tuple, what: str) -> tuple:
    """``values`` unchanged; ValueError naming ``what`` when a value repeats."""
    if len(set(values)) != len(values):
        raise ValueError(f"{what} repeat: {list(values)}")
    return values


class FromResults(Strict):
    """Grid values computed from another study's recorded results when this study is planned: the
    median over seeds of ``field`` (a dotted path in the result JSON, e.g. ``range_test.suggested_lr``)
    of that study's ``variant``, times each of ``factors``, rounded to 3 significant digits. Until the
    other study has results, this study waits (``reportgen run`` trains the other study first)."""

    study: str = Field(pattern=r"^[a-z0-9][a-z0-9_]*$")
    variant: str = "default"
    field: str = Field(min_length=1)
    factors: tuple[Annotated[float, Field(gt=0.0)], ...] = Field((1.0,), min_length=1)

    _distinct = field_validator("factors")(classmethod(lambda cls, v: _no_repeats(v, "factors")))


class Selected(Strict):
    """A study's base config taken from another study: the variant with the best mean ``metric`` over
    seeds (a name from the metrics table, e.g. ``val_acc``; higher is better unless the metric is a
    loss or a cost). Chosen when this study is planned, from the other study's recorded results."""

    study: str = Field(pattern=r"^[a-z0-9][a-z0-9_]*$")
    metric: str = "val_acc"


class Sweep(Strict):
    """Variants: the cartesian product of ``grid`` (dotted paths into RunConfig), times the labelled
    ``variants`` (each a dict of dotted-path overrides); every variant runs once per seed."""

    grid: dict[str, Union[FromResults, tuple[Any, ...]]] = Field(default_factory=dict)
    common: dict[str, Any] = Field(default_factory=dict, description=(
        "dotted-path overrides applied to every variant (on top of a study's base=Selected config)"))
    variants: dict[str, dict[str, Any]] = Field(default_factory=dict)
    seeds: tuple[Annotated[int, Field(ge=0, le=2**31 - 1)], ...] = Field((0, 1, 2), min_length=1)
    extra_seeds: dict[str, tuple[Annotated[int, Field(ge=0, le=2**31 - 1)], ...]] = Field(
        default_factory=dict, description=(
            "variant folder name → seeds run for that variant only, beyond ``seeds``. `reportgen run "
            "--until-decided` adds them from <results>/_sequential/<study>.json; a spec rarely sets them"))

    @field_validator("grid")
    @classmethod
    def _grid_nonempty(cls, grid: dict[str, tuple[Any, ...]]) -> dict[str, tuple[Any, ...]]:
        for path, values in grid.items():
            if isinstance(values, FromResults):
                continue
            if not values:
                raise ValueError(f"grid[{path!r}] is empty: give at least one value")
            if len(set(map(repr, values))) != len(values):
                raise ValueError(f"grid[{path!r}] repeats a value: {list(values)}")
        return grid

    @field_validator("variants")
    @classmethod
    def _variant_names(cls, variants: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        for name in variants:
            if not VARIANT_SLUG.match(name):
                raise ValueError(
                    f"variant name {name!r} is not a slug: use lowercase letters, digits, '_', '.', '-'"
                )
        return variants

    _unique_seeds = field_validator("seeds")(classmethod(lambda cls, v: _no_repeats(v, "seeds")))

    @field_validator("extra_seeds")
    @classmethod
    def _extra_not_repeated(cls, extra: dict[str, tuple[int, ...]], info: ValidationInfo) -> dict:
        base = set(info.data.get("seeds", ()))
        for slug, seeds in extra.items():
            _no_repeats(seeds, f"extra_seeds[{slug!r}]")
            if base & set(seeds):
                raise ValueError(f"extra_seeds[{slug!r}] repeats seeds of `seeds`: {sorted(base & set(seeds))}")
        return extra


class Expect(Strict):
    """A claim the study checks against its results, e.g. ``Expect("test_accuracy", at_least=0.975)``,
    ``Expect("generalization_gap", lowest="dropout=0.3")`` or
    ``Expect("grad_norm_ratio", variant="activation=tanh", lower_than="activation=relu")``. Thresholds are in the metric's own
    units (accuracies as fractions). ``source`` says who made the claim."""

    metric: str
    variant: str | None = Field(None, description="for thresholds and pairs: the variant (default: the reference)")
    at_least: float | None = None
    at_most: float | None = None
    highest: str | None = None
    lowest: str | None = None
    higher_than: str | None = Field(None, description="the variant's mean exceeds this variant's")
    lower_than: str | None = Field(None, description="the variant's mean is below this variant's")
    equal_to: str | None = Field(None, description="the variant's mean equals this variant's within ``delta``")
    delta: float | None = Field(None, gt=0.0, description="for equal_to: the equivalence margin, in metric units")
    monotone: Literal["increasing", "decreasing"] | None = Field(
        None, description="the metric rises/falls along the variants in declaration order")
    source: str = ""

    def __init__(self, metric: str | None = None, /, **data: Any) -> None:
        if metric is not None:
            data["metric"] = metric
        super().__init__(**data)

    @model_validator(mode="after")
    def _one_claim(self) -> "Expect":
        claims = ("at_least", "at_most", "highest", "lowest", "higher_than", "lower_than", "equal_to", "monotone")
        given = [k for k in claims if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one of {', '.join(claims)} (got {given or 'none'})")
        if (self.equal_to is None) != (self.delta is None):
            raise ValueError("equal_to and delta go together: equal_to='variant', delta=<margin>")
        return self


class Study(Strict):
    """One study = one spec file. Its name is the file stem (set by the loader).

    ``kind="train"`` (the default): the sweep's variants × seeds are trained and the analyses read the
    runs' results. ``kind="explore"``: nothing is trained; the study has no variants and no runs, its
    analyses (``DATA_ANALYSES`` only) read the data set when the page renders, and its model, optim
    and train are unused. Giving it a sweep grid or variants, probes, expectations or other run-level
    fields raises a ValidationError naming the field."""

    title: str = Field(min_length=1, max_length=120)
    question: str = Field(min_length=1, max_length=500)
    section: Literal[
        "Data & baselines",
        "Prediction behaviour",
        "Training dynamics & regularization",
        "Architectures & capacity",
        "Tuning",
        "Failure analysis",
    ] = "Data & baselines"
    kind: Literal["train", "explore"] = Field("train", description=(
        "train: the sweep's runs are trained and the analyses read their results. explore: nothing is "
        "trained, the study has no variants and no runs, and its analyses (data analyses only) read the "
        "data set; model, optim and train are unused, and a sweep grid or variants, probes, reference, "
        "expect, reported, target_accuracy or comparisons are errors"))
    model: Model = Field(default_factory=MLP)
    optim: Optim = Field(default_factory=Optim)
    train: Train = Field(default_factory=Train)
    data: Data = Field(default_factory=Data)
    probes: tuple[ProbeSpec, ...] = ()
    sweep: Sweep = Field(default_factory=Sweep)
    reference: str | None = Field(None, description="variant the others are compared with; default: the first")
    analyses: tuple[AnalysisName, ...] = Field(("comparison_table", "learning_curves", "confusion_matrix"),
                                               validate_default=True)  # an explore study must name its own
    answer: tuple[HeadlineName, ...] | None = Field(None, description=(
        "the analyses whose headline findings answer the question, in the order the answer states them (each "
        "named in analyses); default: every analysis with a headline, in the order of analyses, figure "
        "pointers last, the generic test-accuracy sentence left out where another headline states test accuracy"))
    expect: tuple[Expect, ...] = ()
    reported: dict[str, float] = Field(default_factory=dict, description=(
        "variant → test accuracy (fraction) that the source notebook reported, shown beside ours"))
    reported_source: str = Field("", description="where the reported numbers come from")
    target_accuracy: float | None = Field(None, gt=0.0, le=1.0, description=(
        "test accuracy line for the target_accuracy analysis (fraction), e.g. 0.994"))
    comparisons: tuple[tuple[str, str], ...] = Field(
        (), description="(a, b) variant pairs to test; default: every variant against the reference")
    margins: dict[str, Annotated[float, Field(gt=0.0)]] = Field(default_factory=dict, description=(
        "metric → equivalence margin δ in the metric's own units (accuracies as fractions): two variants "
        "within ±δ are 'equivalent'. Default for an accuracy: the binomial standard error of the "
        "difference of two accuracies on the test set (reportgen.report.judge.margins.default_margin); "
        "for an epoch count, one epoch"))
    save_models: bool = Field(False, description=(
        "save each trained run's final weights as models/<study>/<variant>/seed<k>.safetensors (with its "
        "config) for `reportgen evaluate --model PATH`"))
    base: Selected | None = Field(None, description=(
        "take model, optim, train, data and probes from another study's best variant (chosen on its "
        "results); this study's sweep overrides apply on top, and it must not set those fields itself"))
    diagnostic: bool = Field(False, description=(
        "the runs check a model or a method (sanity checks, models broken on purpose) rather than "
        "measure how good it is: the study has no best variant, stays off the leaderboard, and the "
        "index shows its verdicts instead of an accuracy. Not part of any run's key"))

    @model_validator(mode="after")
    def _base_excludes_own_config(self) -> "Study":
        own = sorted({"model", "optim", "train", "data", "probes"} & self.model_fields_set)
        if self.base is not None and own:
            raise ValueError(f"base=Selected({self.base.study!r}) supplies the config: remove {', '.join(own)} "
                             "(override single values in sweep.variants instead)")
        return self

    def upstream(self) -> list[str]:
        """Studies whose results this one's runs are computed from (``base``, ``FromResults``)."""
        names = [self.base.study] if self.base else []
        names += [v.study for v in self.sweep.grid.values() if isinstance(v, FromResults)]
        return list(dict.fromkeys(names))

    # An explore study has no runs, so anything about runs would silently do nothing: reject it by name.
    @field_validator("probes", "sweep", "reference", "expect", "reported", "target_accuracy", "comparisons")
    @classmethod
    def _explore_has_no_runs(cls, value: Any, info: ValidationInfo) -> Any:
        if info.data.get("kind") != "explore":
            return value
        if info.field_name == "sweep":
            given = [f"sweep.{f}" for f in ("grid", "variants") if getattr(value, f)]
        else:
            given = [info.field_name] if value not in (None, (), {}) else []
        if given:
            raise ValueError(f"kind='explore' trains nothing (no variants, runs or results): remove {', '.join(given)}")
        return value

    @field_validator("analyses")
    @classmethod
    def _explore_reads_data_only(cls, analyses: tuple[str, ...], info: ValidationInfo) -> tuple[str, ...]:
        bad = [a for a in analyses if a not in DATA_ANALYSES]
        if info.data.get("kind") == "explore" and (bad or not analyses):
            raise ValueError(f"kind='explore' has no run results for analyses {bad or '(none named)'}: name "
                             f"data analyses only ({', '.join(DATA_ANALYSES)})")
        return analyses

    @field_validator("answer")
    @classmethod
    def _answer_from_named_analyses(cls, answer: tuple[str, ...] | None, info: ValidationInfo):
        named = info.data.get("analyses") or ()
        missing = [a for a in answer or () if a not in named]
        if missing:
            raise ValueError(f"answer names {', '.join(missing)}, which analyses does not: an answer is composed "
                             f"from the headlines of the analyses the study runs ({', '.join(named)})")
        if answer is not None and len(set(answer)) != len(answer):
            raise ValueError(f"answer names an analysis twice: {', '.join(answer)}")
        return answer

    def base_config(self) -> dict[str, Any]:
        """The study's shared RunConfig as a plain dict, before any variant override."""
        return RunConfig(model=self.model, optim=self.optim, train=self.train, data=self.data,
                         probes=self.probes).model_dump()
