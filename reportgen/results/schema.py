"""The schema of a result file ``results/<study>/<variant>/seed<k>.json``, as pydantic models.

Used to document the format (the generated "Results reference" page) and to check real result files
in the tests; reading results elsewhere stays plain JSON. Units: losses in nats (natural-log
cross-entropy), accuracies and rates as fractions in [0, 1], times in seconds.
"""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from reportgen.spec.config import RunConfig


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class HistoryRow(_Model):
    """One epoch of training."""

    epoch: int = Field(description="1-based epoch number")
    train_loss: float = Field(description="mean training cross-entropy over the epoch's steps (dropout on, while updating), nats")
    train_acc: float = Field(description="running training accuracy over the epoch, fraction")
    train_eval_loss: float = Field(description="cross-entropy on the first 5,000 training images in eval mode after the epoch, nats")
    train_eval_acc: float = Field(description="accuracy on the same images in eval mode, fraction")
    val_loss: float = Field(description="validation cross-entropy after the epoch, nats")
    val_acc: float = Field(description="validation accuracy after the epoch, fraction")
    lr: float = Field(description="learning rate used during the epoch")
    seconds: float = Field(description="wall time of the epoch including its evaluations, s")


class ClassMetrics(_Model):
    precision: float
    recall: float
    f1: float
    support: int = Field(description="test images of this digit")


class CalibrationBin(_Model):
    count: int = Field(description="test images whose confidence falls in the bin")
    accuracy: float | None = Field(description="their accuracy (null for an empty bin)")
    confidence: float | None = Field(description="their mean confidence (null for an empty bin)")


class TestMetrics(_Model):
    """Metrics of the final weights on the test set (scikit-learn; see ``reportgen.run.metrics``)."""

    accuracy: float = Field(description="fraction of test images classified correctly")
    loss: float = Field(description="mean test cross-entropy, nats")
    macro_f1: float = Field(description="F1 averaged over the ten digits")
    roc_auc_ovr: float = Field(description="one-vs-rest macro ROC-AUC of the softmax probabilities (NaN if a digit is absent)")
    per_class: dict[str, ClassMetrics] = Field(description="by digit '0'…'9'")
    confusion_matrix: list[list[int]] = Field(description="10×10 counts, rows true digit, columns predicted")
    misclassified: list[int] = Field(description="test indices of the errors, ascending")
    misclassified_pred: list[int] = Field(description="predicted digit of each error")
    misclassified_conf: list[float] = Field(description="max softmax probability of each error")
    least_confident_correct: list[int] | None = Field(None, description="the 30 correct test images of lowest confidence (schema ≥ 2)")
    least_confident_conf: list[float] | None = Field(None, description="their confidence (schema ≥ 2)")
    ece: float = Field(description="expected calibration error over 15 equal-width bins (Guo et al. 2017), fraction")
    calibration: list[CalibrationBin] = Field(description="the 15 bins of the reliability diagram")


class BestEpochMetrics(_Model):
    accuracy: float
    loss: float
    macro_f1: float


class Attempt(_Model):
    """One attempt at a run: the first, and one more each time a killed run resumed from its checkpoint."""

    started: str | None = Field(None, description="UTC time the attempt started, ISO 8601; null where not recorded")
    ended: str | None = Field(None, description="UTC time the attempt ended, ISO 8601 (for an attempt that was killed: "
                                                "its last checkpoint); null where not recorded")
    wall_seconds: float = Field(description="wall time of the attempt, s; for an attempt that was killed, up "
                                            "to its last checkpoint (the work after it was lost and redone)")
    device: str | None = Field(None, description="as Provenance.device, for this attempt; null where not recorded")
    cpu_capability: str | None = Field(None, description="as Provenance.cpu_capability, for this attempt ('unknown' "
                                                         "where not recorded)")
    threads: int | None = Field(None, description="torch CPU threads of this attempt; null where not recorded")
    epochs: int | None = Field(None, description="epochs this attempt trained (and checkpointed)")
    reconstructed: bool | None = Field(None, description=(
        "true for an entry that reportgen.results.migrate rebuilt for a result written before attempts were "
        "recorded: the last attempt keeps the recorded wall time, device and start; where the per-epoch "
        "seconds show that earlier epochs ran in an earlier attempt, one entry stands for that attempt (or "
        "those attempts) with the sum of those epochs' seconds as its wall time and no start, device or "
        "threads; a resume the history does not show cannot be seen. Absent for attempts the runner recorded"))


class Provenance(_Model):
    git_commit: str = Field(description="commit (plain SHA) of the package that trained the run ('unknown' outside "
                                        "a git checkout)")
    git_dirty: bool | None = Field(None, description=(
        "true when reportgen/ had uncommitted changes (edited, added or deleted files) as the run started; null "
        "outside a git checkout. For results migrated from the '<sha>+dirty' form (reportgen.results.migrate): "
        "true where the commit ended in '+dirty', false where it did not (that recorder appended '+dirty' "
        "whenever tracked files under reportgen/ had edits; new untracked files were not counted)"))
    cpu_capability: str | None = Field(None, description=(
        "the vector ISA torch dispatched CPU kernels to (torch.backends.cpu.get_cpu_capability(): 'AVX2', "
        "'AVX512', 'DEFAULT', …) or, on CUDA, the GPU name; 'unknown' where it was not recorded; for a resumed "
        "run, its last attempt's"))
    threads: int | None = Field(None, description="torch CPU threads of the run's last attempt; null where not "
                                                  "recorded")
    torch: str
    python: str
    device: str = Field(description="GPU name, or 'cpu (<processor>, [<vector ISA torch uses>, ]<threads> threads)'; "
                                    "for a resumed run, its last attempt's")
    data_md5: str = Field(description="checksum of the data set read: for MNIST the md5 over its four files' md5s; "
                                      "for another set its identity (reportgen.spec.sources.identity)")
    created: str = Field(description="UTC time the result was written, ISO 8601 (for a copy reused from another "
                                     "study, the source's; results migrated by reportgen.results.migrate: when the "
                                     "run's last attempt started)")
    attempts: list[Attempt] | None = Field(None, description="every attempt at the run in order; the result's "
                                                            "wall_seconds is the sum of theirs")
    reused_from: str | None = Field(None, description="for a run shared with another study: the file it was copied from")
    packed_with: int | None = Field(None, description="runs trained together with this one in one vmapped step "
                                                      "(reportgen.run.multirun), this one included; absent when alone")


class QuantizedArray(_Model):
    """A large float array of a probe (``first_layer_weights.weights``, ``feature_maps.maps``) stored
    compactly (``reportgen.results.quantized``): slice ``i`` along the first axis decodes to
    ``offset[i] + scale[i] * q``, ``q`` the uint8 codes of ``data``, row-major; each value is within
    ``scale[i] / 2`` of the measured one and each slice keeps its minimum and maximum."""

    encoding: Literal["uint8"]
    shape: list[int] = Field(description="shape of the decoded array")
    offset: list[float] = Field(description="per slice of the first axis: its minimum")
    scale: list[float] = Field(description="per slice: (maximum − minimum) / 255")
    data: str = Field(description="base64 of prod(shape) uint8 codes, row-major (C order)")


class ArchitectureRow(_Model):
    layer: str = Field(description="dotted module name")
    type: str = Field(description="module class")
    output: list[int] = Field(description="output shape for one image: [C, H, W] or [N]")
    params: int = Field(description="trainable parameters of this module itself")


class RangeTestResult(_Model):
    lr: list[float] = Field(description="learning rate of each step")
    loss: list[float] = Field(description="training loss of each step's batch, nats")
    smoothed: list[float] = Field(description="bias-corrected exponential moving average of the loss (weight 0.98)")
    min_loss_lr: float = Field(description="lr at the smoothed loss' minimum")
    suggested_lr: float = Field(description="min_loss_lr / 10 (Smith 2017; fastai lr_find)")
    steepest_lr: float = Field(description="lr of the steepest descent of the smoothed loss before its minimum")
    steps: int = Field(description="steps planned (one epoch)")
    stopped_at: int = Field(description="steps taken (fewer when the loss diverged)")


class Result(_Model):
    """One run's result. ``failed`` and ``interrupted`` results carry the header, the status, the
    reason and the provenance only."""

    schema_version: int
    key: str = Field(description="sha256 over the resolved config, seed, data checksum and numerics versions "
                                 "(and, for a custom_digits probe, its images and fonts)")
    study: str
    variant: str = Field(description="the variant's folder name (slug)")
    label: str = Field(description="the variant's readable name")
    seed: int
    class_names: list[str] | None = Field(None, description=(
        "the data set's class names, label order, where they are not MNIST's digits 0–9 (an ImageFolder's "
        "folders, Fashion-MNIST's garments); absent for MNIST"))
    numerics: dict[str, int] | None = Field(None, description=(
        "numerics version of each component the run uses (reportgen.spec.numerics), as hashed into the key; absent "
        "in results of schema < 3 that were not re-keyed"))
    runner_version: str | None = Field(None, description="schema < 3 only: hash of the source files that computed "
                                                         "the run, which the key held before numerics versions")
    config: RunConfig = Field(description="the resolved run config (see the spec reference)")
    status: Literal["completed", "diverged", "failed", "interrupted"]
    reason: str = Field("", description="why a run diverged, stopped early, failed or was interrupted")
    history: list[HistoryRow] = Field(default_factory=list)
    best_epoch: int | None = Field(None, description="epoch of the lowest validation loss")
    stopped_epoch: int | None = Field(None, description="epochs trained")
    test: TestMetrics | None = None
    test_best_epoch: BestEpochMetrics | None = Field(None, description="test metrics of the best epoch's weights")
    params: int | None = Field(None, description="trainable parameters")
    flops: int | None = Field(None, description="forward FLOPs per image (FlopCounterMode: 2 per multiply-add of "
                                                "convs and matmuls); added to older results from their config")
    architecture: list[ArchitectureRow] | None = Field(None, description="the model's leaf layers in call order")
    inference_images_per_s: float | None = Field(
        None, description="eval-mode throughput on the test set on the training device, images/s (best of 2)")
    probes: dict[str, Any] = Field(default_factory=dict, description=(
        "training-time probes, by name (see reportgen.run.probes.training); first_layer_weights[].weights and "
        "feature_maps[].maps are QuantizedArray"))
    range_test: RangeTestResult | None = Field(None, description="for a run with train.range_test: the lr range test")
    wall_seconds: float | None = Field(None, description="wall time of the whole run, s, summed over its attempts "
                                                         "(a packed run: its share)")
    peak_mem_mb: float | None = Field(None, description=(
        "peak memory of training the run above what was in use when it started (the resident data set is "
        "not counted), MiB (reportgen.run.peakmem): on CUDA from torch.cuda.max_memory_allocated, on the CPU from "
        "the process's peak resident set; for a packed run, the whole pack's"))
    provenance: Provenance
