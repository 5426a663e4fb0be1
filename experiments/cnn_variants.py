"""What does each architectural change to cnn_baseline buy, and what does it cost?

Run:      invoke run --spec cnn_variants    (add --smoke for a one-minute check)
Expected: every variant lands within a few tenths of a point of the baseline's 99.2 %; 1×1 kernels
          (no spatial context before the dense head) are clearly worse; BatchNorm and the deeper
          stack are at least as good; the GAP head needs far fewer parameters for a small loss.
Cost:     8 new variants × 3 seeds × 10 epochs ("baseline" is cnn_baseline's runs, reused); about
          2 hours on 2 CPU cores, a few minutes on a GPU.
Source:   seed notebook 000, "Architectural Variants" (each a one-line change of the baseline).
"""
from reportgen.spec import CNN, Expect, Optim, Study, Sweep, Train

BEFORE = "this spec's Expected line, written before any full run"

STUDY = Study(
    title="CNN architecture variants",
    question="Changing one thing of cnn_baseline at a time (depth, kernel size, activation, BatchNorm, pooling head, skip connections), how do accuracy, parameters, FLOPs and training time move?",
    section="Architectures & capacity",
    model=CNN(channels=(32, 64), kernel_size=3, padding="valid", hidden=(128,), dropout=0.25),
    optim=Optim(name="adam", lr=1e-3),
    train=Train(epochs=10, batch_size=64),
    sweep=Sweep(variants={
        "baseline": {},
        "deeper": {"model.convs_per_block": 2},  # two more 3×3 conv layers, one per block
        "kernel-1x1": {"model.kernel_size": 1},
        "kernel-5x5": {"model.kernel_size": 5},
        "leaky-relu": {"model.activation": "leaky_relu"},
        "tanh": {"model.activation": "tanh"},
        "batchnorm": {"model.batchnorm": True},
        "gap-head": {"model.head": "gap"},
        "skip-connections": {"model.residual": True},  # 1×1 projection skips; 'same' padding
    }, seeds=(0, 1, 2)),
    reference="baseline",
    analyses=("comparison_table", "architecture", "learning_curves", "confusion_matrix"),
    expect=(
        Expect("test_accuracy", variant="kernel-1x1", lower_than="baseline", source=BEFORE),
        Expect("test_accuracy", variant="batchnorm", equal_to="baseline", delta=0.003, source=BEFORE),
        Expect("test_accuracy", variant="deeper", equal_to="baseline", delta=0.003, source=BEFORE),
        Expect("params", variant="gap-head", lower_than="baseline", source=BEFORE),
    ),
)
