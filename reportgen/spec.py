"""The study specification: pydantic models only, no torch.

A spec file in ``experiments/`` builds one :class:`Study` from these models. Everything here is pure
data, so listing, validating and rendering never import torch. Every model forbids unknown keys, and
every number carries its allowed range, so a typo fails with the field's path and what is allowed.
"""
from __future__ import annotations

import re
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

SLUG = re.compile(r"^[a-z0-9][a-z0-9_]*$")
#: Variant names also become folder names: no path separators, no leading dot.
VARIANT_SLUG = re.compile(r"^[a-z0-9][a-z0-9_.\-]*$")

Activation = Literal["relu", "leaky_relu", "gelu", "tanh", "sigmoid", "softsign", "elu", "selu"]
Init = Literal["default", "xavier_uniform", "kaiming_normal", "normal_0.01"]

#: The closed set of analyses a spec may name; ``reportgen.analyses.ANALYSES`` implements exactly these.
ANALYSIS_NAMES = (
    "comparison_table",
    "learning_curves",
    "confusion_matrix",
    "misclassified_examples",
    "generalization_gap",
    "overfitting",
    "early_stopping",
    "convergence",
    "weight_norms",
    "weight_histograms",
    "gradient_noise",
    "gradient_flow",
    "saturation",
    "factor_tables",
)
AnalysisName = Literal[ANALYSIS_NAMES]  # type: ignore[valid-type]


class Strict(BaseModel):
    """Base for every spec model: unknown keys are errors, instances are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class MLP(Strict):
    """A dense stack: Flatten → [Linear → activation → Dropout] × len(hidden) → Linear(…, 10)."""

    kind: Literal["mlp"] = "mlp"
    hidden: tuple[Annotated[int, Field(ge=1, le=65536)], ...] = (128,)
    activation: Activation = "relu"
    dropout: float = Field(0.0, ge=0.0, lt=1.0, description="drop probability after each hidden layer")
    init: Init = "default"


class CNN(Strict):
    """Conv blocks then a dense head.

    Each block is ``convs_per_block`` × (Conv(k×k) → [BatchNorm] → activation), with an identity/1×1
    skip around the block when ``residual``, then MaxPool(2). The head is Flatten (``dense``) or global
    average pooling (``gap``), then ``hidden`` dense layers with ``dropout``, then Linear(…, 10).
    """

    kind: Literal["cnn"] = "cnn"
    channels: tuple[Annotated[int, Field(ge=1, le=1024)], ...] = Field((32, 64), min_length=1, max_length=4)
    convs_per_block: int = Field(1, ge=1, le=4)
    kernel_size: Literal[1, 3, 5, 7] = 3
    padding: Literal["valid", "same"] = "valid"
    activation: Activation = "relu"
    batchnorm: bool = False
    residual: bool = False
    head: Literal["dense", "gap"] = "dense"
    hidden: tuple[Annotated[int, Field(ge=1, le=65536)], ...] = (128,)
    dropout: float = Field(0.0, ge=0.0, lt=1.0)
    init: Init = "default"


Model = Annotated[Union[MLP, CNN], Field(discriminator="kind")]


class Optim(Strict):
    """Optimizer. ``weight_decay`` is the optimizer's own (decoupled for AdamW); ``l2`` adds
    ``l2 · Σ‖W‖²`` over dense kernels to the loss, like Keras' ``kernel_regularizer=l2(l2)``."""

    name: Literal["sgd", "adam", "adamw", "rmsprop"] = "adam"
    lr: float = Field(1e-3, gt=0.0, le=10.0)
    momentum: float = Field(0.0, ge=0.0, lt=1.0)
    nesterov: bool = False
    weight_decay: float = Field(0.0, ge=0.0, le=1.0)
    l2: float = Field(0.0, ge=0.0, le=1.0)

    @model_validator(mode="after")
    def _momentum_only_for_sgd(self) -> "Optim":
        if self.name not in ("sgd", "rmsprop") and self.momentum:
            raise ValueError(f"momentum applies to sgd and rmsprop, not {self.name!r}")
        if self.nesterov and not (self.name == "sgd" and self.momentum > 0):
            raise ValueError("nesterov needs name='sgd' and momentum > 0")
        return self


class EarlyStopping(Strict):
    """Stop when ``val_loss`` has not improved for ``patience`` epochs; optionally restore the best."""

    patience: int = Field(5, ge=1, le=1000)
    restore_best: bool = True


class Plateau(Strict):
    """``torch.optim.lr_scheduler.ReduceLROnPlateau`` on ``val_loss``, stepped once per epoch."""

    name: Literal["plateau"] = "plateau"
    factor: float = Field(0.1, gt=0.0, lt=1.0)
    patience: int = Field(2, ge=0, le=100)


class StepLR(Strict):
    """``torch.optim.lr_scheduler.StepLR``: lr × gamma every ``step_size`` epochs."""

    name: Literal["step"] = "step"
    step_size: int = Field(5, ge=1, le=1000)
    gamma: float = Field(0.1, gt=0.0, le=1.0)


class Cosine(Strict):
    """``torch.optim.lr_scheduler.CosineAnnealingLR`` over the run's epochs (Loshchilov & Hutter 2017)."""

    name: Literal["cosine"] = "cosine"


Scheduler = Annotated[Union[Plateau, StepLR, Cosine], Field(discriminator="name")]


class Augment(Strict):
    """Per-image random augmentation of training batches on the device (kornia.augmentation):
    rotation ±``rotation`` degrees, translation up to ``translate`` × image size, scale in
    [1-``scale``, 1+``scale``], perspective distortion ``perspective`` (0 = off), each with p=1 except
    perspective (p=``perspective_p``)."""

    rotation: float = Field(0.0, ge=0.0, le=180.0)
    translate: float = Field(0.0, ge=0.0, le=0.5)
    scale: float = Field(0.0, ge=0.0, le=0.5)
    perspective: float = Field(0.0, ge=0.0, le=1.0)
    perspective_p: float = Field(0.5, ge=0.0, le=1.0)


class Train(Strict):
    epochs: int = Field(10, ge=1, le=1000)
    batch_size: int = Field(32, ge=1, le=65536)
    early_stopping: EarlyStopping | None = None
    scheduler: Scheduler | None = None
    augment: Augment | None = None


class Data(Strict):
    """Which images a run sees. Validation is the *last* ``val_size`` training images."""

    val_size: int = Field(5000, ge=100, le=30000)
    train_subset: int | None = Field(None, ge=10, le=60000, description="first N of the training split")
    test_subset: int | None = Field(None, ge=10, le=10000, description="first N test images (smoke only)")
    shuffled_labels: float = Field(0.0, ge=0.0, le=1.0, description="fraction of training labels permuted")


ProbeName = Literal["grad_norms", "weight_norms", "weight_histograms", "first_layer_weights",
                    "saturation", "grad_noise", "digit_panel"]


class ProbeSpec(Strict):
    """A training-time measurement recorded into the run's JSON under ``probes.<name>``, taken every
    ``every`` epochs (and after the last). ``indices``: test images for ``digit_panel``."""

    name: ProbeName
    every: int = Field(1, ge=1, le=1000)
    indices: tuple[Annotated[int, Field(ge=0, lt=10000)], ...] = ()


class RunConfig(Strict):
    """Everything that determines a run's numbers, apart from the seed. Its canonical JSON is hashed."""

    model: Model = Field(default_factory=MLP)
    optim: Optim = Field(default_factory=Optim)
    train: Train = Field(default_factory=Train)
    data: Data = Field(default_factory=Data)
    probes: tuple[ProbeSpec, ...] = ()


class Sweep(Strict):
    """Variants: the cartesian product of ``grid`` (dotted paths into RunConfig), times the labelled
    ``variants`` (each a dict of dotted-path overrides); every variant runs once per seed."""

    grid: dict[str, tuple[Any, ...]] = Field(default_factory=dict)
    variants: dict[str, dict[str, Any]] = Field(default_factory=dict)
    seeds: tuple[Annotated[int, Field(ge=0, le=2**31 - 1)], ...] = Field((0, 1, 2), min_length=1)

    @field_validator("grid")
    @classmethod
    def _grid_nonempty(cls, grid: dict[str, tuple[Any, ...]]) -> dict[str, tuple[Any, ...]]:
        for path, values in grid.items():
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

    @field_validator("seeds")
    @classmethod
    def _unique_seeds(cls, seeds: tuple[int, ...]) -> tuple[int, ...]:
        if len(set(seeds)) != len(seeds):
            raise ValueError(f"seeds repeat: {list(seeds)}")
        return seeds


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
    """One study = one spec file. Its name is the file stem (set by the loader)."""

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
    model: Model = Field(default_factory=MLP)
    optim: Optim = Field(default_factory=Optim)
    train: Train = Field(default_factory=Train)
    data: Data = Field(default_factory=Data)
    probes: tuple[ProbeSpec, ...] = ()
    sweep: Sweep = Field(default_factory=Sweep)
    reference: str | None = Field(None, description="variant the others are compared with; default: the first")
    analyses: tuple[AnalysisName, ...] = ("comparison_table", "learning_curves", "confusion_matrix")
    expect: tuple[Expect, ...] = ()
    comparisons: tuple[tuple[str, str], ...] = Field(
        (), description="(a, b) variant pairs to test; default: every variant against the reference")

    def base_config(self) -> dict[str, Any]:
        """The study's shared RunConfig as a plain dict, before any variant override."""
        return RunConfig(model=self.model, optim=self.optim, train=self.train, data=self.data,
                         probes=self.probes).model_dump()
