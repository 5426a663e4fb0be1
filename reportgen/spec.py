"""The study specification: pydantic models only, no torch.

A spec file in ``experiments/`` builds one :class:`Study` from these models. Everything here is pure
data, so listing, validating and rendering never import torch. Every model forbids unknown keys, and
every number carries its allowed range, so a typo fails with the field's path and what is allowed.
"""
from __future__ import annotations

import re
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

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
    "architecture",
    "capacity_curve",
    "target_accuracy",
    "first_layer_weights",
    "feature_maps",
    "lr_range_test",
    "grid_heatmap",
    "diagnosis",
    "split_overview",
    "data_checks",
    "pixel_statistics",
    "class_images",
    "duplicates",
    "prediction_panel",
    "confidence_extremes",
    "calibration",
    "confused_pairs",
    "custom_images",
    "robustness",
    "sanity_checks",
)
AnalysisName = Literal[ANALYSIS_NAMES]  # type: ignore[valid-type]
#: The analyses that read the data set only (no run results): the ones an ``explore`` study may name.
DATA_ANALYSES = ("split_overview", "data_checks", "pixel_statistics", "class_images", "duplicates")


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


class _OutFirst(Strict):
    """A layer whose output size may be given positionally: ``Conv(8)``, ``Dense(10)``."""

    def __init__(self, out: int | None = None, /, **data: Any) -> None:
        if out is not None:
            data["out"] = out
        super().__init__(**data)


class Conv(_OutFirst):
    """Conv2d(k×k, stride 1) → [BatchNorm2d] → activation → [Dropout(p)]."""

    type: Literal["conv"] = "conv"
    out: int = Field(ge=1, le=2048, description="output channels")
    kernel: Literal[1, 3, 5, 7] = 3
    padding: Literal["valid", "same"] = "same"
    batchnorm: bool = False
    activation: Activation | Literal["none"] = "relu"
    dropout: float = Field(0.0, ge=0.0, lt=1.0)


class MaxPool(Strict):
    """MaxPool2d(size): height and width divided by ``size`` (rounded down)."""

    type: Literal["maxpool"] = "maxpool"
    size: int = Field(2, ge=2, le=8)


class Residual(Strict):
    """``body(x) + skip(x)``: the skip is the identity, or a 1×1 conv when the channels differ
    (He et al. 2016, "Deep Residual Learning", option B). Body convs keep the size ("same")."""

    type: Literal["residual"] = "residual"
    body: tuple[Conv, ...] = Field(min_length=1, max_length=8)

    @field_validator("body")
    @classmethod
    def _same_padding(cls, body: tuple[Conv, ...]) -> tuple[Conv, ...]:
        if any(c.padding != "same" for c in body):
            raise ValueError("convs inside a residual block need padding='same' (the sum needs equal sizes)")
        return body


class GAP(Strict):
    """Global average pooling: (C, H, W) → (C, 1, 1) (Lin et al. 2014, "Network in Network")."""

    type: Literal["gap"] = "gap"


class Dense(_OutFirst):
    """Flatten (when the input is a feature map) → Linear(out) → activation → [Dropout(p)]."""

    type: Literal["dense"] = "dense"
    out: int = Field(ge=1, le=65536)
    activation: Activation | Literal["none"] = "relu"
    dropout: float = Field(0.0, ge=0.0, lt=1.0)


Layer = Annotated[Union[Conv, MaxPool, Residual, GAP, Dense], Field(discriminator="type")]


def layer_shapes(layers: tuple[Any, ...]) -> list[tuple[int, ...]]:
    """Output shape per layer for a (1, 28, 28) input: (C, H, W) for maps, (N,) after a Dense.
    Raises ValueError naming ``layers[i]`` when a layer would shrink the image below 1 pixel or
    follows a Dense with a conv. Torch-free, so ``reportgen validate`` catches it before training."""
    shape: tuple[int, ...] = (1, 28, 28)
    out = []
    for i, layer in enumerate(layers):
        if len(shape) == 1 and layer.type != "dense":
            raise ValueError(f"layers[{i}] ({layer.type}) follows a dense layer: only dense layers may come after one")
        if layer.type == "conv":
            shape = conv_shape(shape, layer, i)
        elif layer.type == "residual":
            for conv in layer.body:
                shape = conv_shape(shape, conv, i)
        elif layer.type == "maxpool":
            if shape[1] < layer.size or shape[2] < layer.size:
                raise ValueError(f"layers[{i}] (maxpool {layer.size}) gets a {shape[1]}×{shape[2]} map: too small")
            shape = (shape[0], shape[1] // layer.size, shape[2] // layer.size)
        elif layer.type == "gap":
            shape = (shape[0], 1, 1)
        else:
            shape = (layer.out,)
        out.append(shape)
    return out


def conv_shape(shape: tuple[int, ...], conv: "Conv", i: int) -> tuple[int, ...]:
    if conv.padding == "same":
        return (conv.out, shape[1], shape[2])
    h, w = shape[1] - conv.kernel + 1, shape[2] - conv.kernel + 1
    if h < 1 or w < 1:
        raise ValueError(f"layers[{i}] (conv {conv.kernel}×{conv.kernel}, valid) gets a {shape[1]}×{shape[2]} map: too small")
    return (conv.out, h, w)


class Layers(Strict):
    """A model written as a list of layers (``Conv``, ``MaxPool``, ``Residual``, ``GAP``, ``Dense``) on a
    (1, 28, 28) image. The last layer's output, flattened, must have exactly 10 values: the logits (a
    final ``Dense(10, activation="none")``, or a conv to 10 channels at 1×1, as in the budget CNNs)."""

    kind: Literal["layers"] = "layers"
    layers: tuple[Layer, ...] = Field(min_length=1, max_length=64)
    init: Init = "default"

    @model_validator(mode="after")
    def _ends_in_ten_logits(self) -> "Layers":
        shape = layer_shapes(self.layers)[-1]
        n = 1
        for d in shape:
            n *= d
        if n != 10:
            raise ValueError(f"the last layer outputs {shape} = {n} values; the model must end in 10 logits "
                             "(e.g. Dense(10, activation='none'))")
        if self.layers[-1].type in ("conv", "dense") and self.layers[-1].activation != "none":
            raise ValueError(f"the last layer has activation {self.layers[-1].activation!r}: logits need "
                             "activation='none'")
        return self


class ResNet(Strict):
    """torchvision's ResNet-``depth`` (He et al. 2016) as it is, trained from scratch, with a 1-channel
    stem (conv1 takes 1 channel) and a 10-way head; the 28×28 input is zero-padded to 32×32."""

    kind: Literal["resnet"] = "resnet"
    depth: Literal[18, 34, 50] = 18


Model = Annotated[Union[MLP, CNN, Layers, ResNet], Field(discriminator="kind")]


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


class RangeTest(Strict):
    """Instead of training: the learning-rate range test (Smith 2017), one epoch with the lr growing
    exponentially from ``start_lr`` to ``end_lr`` (see :mod:`reportgen.lrfinder`)."""

    start_lr: float = Field(1e-7, gt=0.0, le=1.0)
    end_lr: float = Field(10.0, gt=0.0, le=100.0)

    @model_validator(mode="after")
    def _increasing(self) -> "RangeTest":
        if self.end_lr <= self.start_lr:
            raise ValueError(f"end_lr ({self.end_lr}) must exceed start_lr ({self.start_lr})")
        return self


class Train(Strict):
    epochs: int = Field(10, ge=1, le=1000)
    batch_size: int = Field(32, ge=1, le=65536)
    early_stopping: EarlyStopping | None = None
    scheduler: Scheduler | None = None
    augment: Augment | None = None
    range_test: RangeTest | None = Field(None, description="run an lr range test instead of training")


class Data(Strict):
    """Which images a run sees. Validation is the *last* ``val_size`` training images."""

    val_size: int = Field(5000, ge=100, le=30000)
    train_subset: int | None = Field(None, ge=10, le=60000, description="first N of the training split")
    test_subset: int | None = Field(None, ge=10, le=10000, description="first N test images (smoke only)")
    shuffled_labels: float = Field(0.0, ge=0.0, le=1.0, description="fraction of training labels permuted")


ProbeName = Literal["grad_norms", "weight_norms", "weight_histograms", "first_layer_weights",
                    "saturation", "grad_noise", "digit_panel", "test_curve", "feature_maps",
                    "predictions", "custom_digits", "robustness", "sanity"]

#: Where the ``custom_digits`` probe reads images when its spec names no folder (relative to the project root).
CUSTOM_DIGITS_DIR = "experiments/custom_digits"


class ProbeSpec(Strict):
    """A training-time measurement recorded into the run's JSON under ``probes.<name>``, taken every
    ``every`` epochs (and after the last). ``indices``: test images for ``digit_panel`` and
    ``feature_maps``. ``images``: the folder ``custom_digits`` reads (default ``CUSTOM_DIGITS_DIR``;
    ``reportgen run --images DIR`` overrides it); its files' contents enter the run's key."""

    name: ProbeName
    every: int = Field(1, ge=1, le=1000)
    indices: tuple[Annotated[int, Field(ge=0, lt=10000)], ...] = ()
    images: str | None = Field(None, min_length=1, max_length=500)

    @model_validator(mode="after")
    def _images_for_custom_digits(self) -> "ProbeSpec":
        if self.images is not None and self.name != "custom_digits":
            raise ValueError(f"images= is read by the custom_digits probe only, not {self.name!r}")
        return self

    def images_dir(self) -> str | None:
        """The folder of a ``custom_digits`` probe (its own or the default); None for other probes."""
        return (self.images or CUSTOM_DIGITS_DIR) if self.name == "custom_digits" else None


class RunConfig(Strict):
    """Everything that determines a run's numbers, apart from the seed. Its canonical JSON is hashed."""

    model: Model = Field(default_factory=MLP)
    optim: Optim = Field(default_factory=Optim)
    train: Train = Field(default_factory=Train)
    data: Data = Field(default_factory=Data)
    probes: tuple[ProbeSpec, ...] = ()


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
    expect: tuple[Expect, ...] = ()
    reported: dict[str, float] = Field(default_factory=dict, description=(
        "variant → test accuracy (fraction) that the source notebook reported, shown beside ours"))
    reported_source: str = Field("", description="where the reported numbers come from")
    target_accuracy: float | None = Field(None, gt=0.0, le=1.0, description=(
        "test accuracy line for the target_accuracy analysis (fraction), e.g. 0.994"))
    comparisons: tuple[tuple[str, str], ...] = Field(
        (), description="(a, b) variant pairs to test; default: every variant against the reference")
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

    def base_config(self) -> dict[str, Any]:
        """The study's shared RunConfig as a plain dict, before any variant override."""
        return RunConfig(model=self.model, optim=self.optim, train=self.train, data=self.data,
                         probes=self.probes).model_dump()
