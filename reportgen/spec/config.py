"""What a run is: the pydantic models of one run's configuration (:class:`RunConfig`: model, optimizer,
training, data, probes), no torch.

Everything here is pure data, so listing, validating and rendering never import torch. Every model
forbids unknown keys, and every number carries its allowed range, so a typo fails with the field's
path and what is allowed. A study (:mod:`reportgen.spec.schema`) sweeps these fields.
"""
from __future__ import annotations

import re
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from reportgen.spec.shapes import check_fits, conv_shape, layer_shapes  # noqa: F401 - re-exported
from reportgen.spec.sources import Dataset, DatasetName, ImageFolder, Import  # noqa: F401 - re-exported

SLUG = re.compile(r"^[a-z0-9][a-z0-9_]*$")
#: Variant names also become folder names: no path separators, no leading dot.
VARIANT_SLUG = re.compile(r"^[a-z0-9][a-z0-9_.\-]*$")

Activation = Literal["relu", "leaky_relu", "gelu", "tanh", "sigmoid", "softsign", "elu", "selu"]
Init = Literal["default", "xavier_uniform", "kaiming_normal", "normal_0.01"]

#: The closed set of analyses a spec may name; ``reportgen.report.analyses.ANALYSES`` implements exactly these.
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
#: The analyses with a headline finding (a sentence of computed numbers and a verdict): the ones a study's
#: ``answer`` may name. ``reportgen.report.analyses.HEADLINES`` holds their rules (the same names).
HEADLINE_NAMES = ("comparison_table", "generalization_gap", "overfitting", "early_stopping", "convergence",
                  "factor_tables", "weight_norms", "weight_histograms", "gradient_noise", "gradient_flow",
                  "saturation", "architecture", "capacity_curve", "target_accuracy", "first_layer_weights",
                  "lr_range_test", "grid_heatmap", "diagnosis", "sanity_checks", "prediction_panel",
                  "confidence_extremes", "calibration", "confused_pairs", "custom_images", "robustness",
                  "split_overview", "data_checks", "pixel_statistics", "class_images", "duplicates")
HeadlineName = Literal[HEADLINE_NAMES]  # type: ignore[valid-type]
#: The analyses that read the data set only (no run results): the ones an ``explore`` study may name.
DATA_ANALYSES = ("split_overview", "data_checks", "pixel_statistics", "class_images", "duplicates")


class Strict(BaseModel):
    """Base for every spec model: unknown keys are errors, instances are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class MLP(Strict):
    """A dense stack: Flatten → [Linear → activation → Dropout] × len(hidden) → Linear(…, classes)."""

    kind: Literal["mlp"] = "mlp"
    hidden: tuple[Annotated[int, Field(ge=1, le=65536)], ...] = (128,)
    activation: Activation = "relu"
    dropout: float = Field(0.0, ge=0.0, lt=1.0, description="drop probability after each hidden layer")
    init: Init = "default"


class CNN(Strict):
    """Conv blocks then a dense head.

    Each block is ``convs_per_block`` × (Conv(k×k) → [BatchNorm] → activation), with an identity/1×1
    skip around the block when ``residual``, then MaxPool(2). The head is Flatten (``dense``) or global
    average pooling (``gap``), then ``hidden`` dense layers with ``dropout``, then Linear(…, classes).
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


class Layers(Strict):
    """A model written as a list of layers (``Conv``, ``MaxPool``, ``Residual``, ``GAP``, ``Dense``) on the
    data set's image ((1, 28, 28) for MNIST). The last layer's output, flattened, must have exactly one
    value per class: the logits (a final ``Dense(10, activation="none")`` on MNIST, or a conv to 10
    channels at 1×1, as in the budget CNNs). Shapes are checked against the data set by ``RunConfig``."""

    kind: Literal["layers"] = "layers"
    layers: tuple[Layer, ...] = Field(min_length=1, max_length=64)
    init: Init = "default"

    @model_validator(mode="after")
    def _structure(self) -> "Layers":
        for i, (before, layer) in enumerate(zip(self.layers, self.layers[1:]), start=1):
            if before.type == "dense" and layer.type != "dense":
                raise ValueError(f"layers[{i}] ({layer.type}) follows a dense layer: only dense layers may come after one")
        if self.layers[-1].type in ("conv", "dense") and self.layers[-1].activation != "none":
            raise ValueError(f"the last layer has activation {self.layers[-1].activation!r}: logits need "
                             "activation='none'")
        return self


class ResNet(Strict):
    """torchvision's ResNet-``depth`` (He et al. 2016) as it is, trained from scratch, with a stem for the
    data set's channels (conv1 takes 1 on MNIST) and one output per class; a 28×28 input is
    zero-padded to 32×32."""

    kind: Literal["resnet"] = "resnet"
    depth: Literal[18, 34, 50] = 18


Model = Annotated[Union[MLP, CNN, Layers, ResNet, Import], Field(discriminator="kind")]


class Optim(Strict):
    """Optimizer. ``weight_decay`` is the optimizer's own (decoupled for AdamW); ``l2`` adds
    ``l2 · Σ‖W‖²`` over dense kernels to the loss, like Keras' ``kernel_regularizer=l2(l2)``."""

    name: Literal["sgd", "adam", "adamw", "rmsprop"] = "adam"
    lr: float = Field(1e-3, gt=0.0, le=10.0)
    momentum: float = Field(0.0, ge=0.0, lt=1.0)
    nesterov: bool = False
    weight_decay: float = Field(0.0, ge=0.0, le=1.0)
    l2: float = Field(0.0, ge=0.0, le=1.0)
    fused: bool = Field(False, description=(
        "torch's fused optimizer kernel (fused=True: one pass over the weights per step instead of one "
        "per operation; sgd, adam and adamw). Faster where the update dominates a step (the 784-128-10 "
        "MLP at batch 32 on the CPU), but its floats differ from the default update in the last bits, "
        "and the difference grows over steps: opt-in, and part of the run's key"))

    @model_validator(mode="after")
    def _momentum_only_for_sgd(self) -> "Optim":
        if self.name not in ("sgd", "rmsprop") and self.momentum:
            raise ValueError(f"momentum applies to sgd and rmsprop, not {self.name!r}")
        if self.nesterov and not (self.name == "sgd" and self.momentum > 0):
            raise ValueError("nesterov needs name='sgd' and momentum > 0")
        if self.fused and self.name not in ("sgd", "adam", "adamw"):
            raise ValueError(f"fused=True: torch has a fused kernel for sgd, adam and adamw, not {self.name!r}")
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
    exponentially from ``start_lr`` to ``end_lr`` (see :mod:`reportgen.run.lrfinder`)."""

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
    channels_last: bool = Field(False, description="conv models in torch.channels_last on the CPU too (faster wide "
                                                   "convolutions; other rounding, other conv dropout masks; always "
                                                   "on CUDA)")


class Data(Strict):
    """Which images a run sees: ``dataset`` (:mod:`reportgen.spec.sources`; MNIST by default). Validation
    is the *last* ``val_size`` images of the training split (for ``sklearn_digits`` and a folder, of
    what the fixed test split leaves)."""

    dataset: Dataset = Field("mnist", description="mnist, fashion_mnist, kmnist, sklearn_digits or an ImageFolder")

    val_size: int = Field(5000, ge=10, le=30000)
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

    @model_validator(mode="after")
    def _model_fits_data(self) -> "RunConfig":
        check_fits(self.model, self.data, self.probes)
        return self
