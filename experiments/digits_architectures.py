"""Does architecture_comparison's MNIST ranking hold on scikit-learn's 8×8 digits?

The dense net and the ConvNet are architecture_comparison's own; the third model, SmallNet, is
brought by import path (``experiments/models/smallnet.py``).

Run:      invoke run --spec digits_architectures     (add --smoke for a one-minute check)
Expected: on 1,437 training images of 8×8 pixels the ConvNet's lead should shrink (an 8×8 digit
          has 64 pixels, so there is little spatial structure for convolutions to exploit); the
          dense net and the ConvNet are architecture_comparison's own, unchanged.
Cost:     3 models × 10 seeds × 60 epochs on 1,257 training images; about 15 minutes on one CPU
          thread in all.
Source:   architecture_comparison (the same dense net and ConvNet, on MNIST); the data set is
          scikit-learn's ``load_digits`` (UCI optical recognition of handwritten digits, Alpaydin &
          Kaynak 1998), split 1,437 / 360 with 180 of the 1,437 for validation; the custom model is
          ``experiments/models/smallnet.py``, allowed in ``pyproject.toml`` ([tool.reportgen] models).
"""
from reportgen.spec import MLP, Conv, Data, Dense, Expect, Import, Layers, MaxPool, Optim, Study, Sweep, Train

CONVNET = Layers(layers=(  # architecture_comparison's ConvNet, unchanged: three 2×2 pools take 8×8 to 1×1
    Conv(32), MaxPool(), Conv(64), MaxPool(), Conv(128), MaxPool(), Dense(128, dropout=0.25),
    Dense(10, activation="none"),
))
RANKING = "architecture_comparison's ranking on MNIST (the ConvNet ahead of the dense net)"

STUDY = Study(
    title="Architectures on 8×8 digits",
    question="On scikit-learn's 8×8 digits (1,797 images), does the dense net trail the ConvNet as it does on MNIST, and how does a custom model brought by import path (SmallNet) compare, in test accuracy, macro F1, parameters and FLOPs?",
    section="Architectures & capacity",
    optim=Optim(name="adam", lr=1e-3),
    train=Train(epochs=60, batch_size=64),
    data=Data(dataset="sklearn_digits", val_size=180),
    sweep=Sweep(variants={
        "dnn": {"model": MLP(hidden=(512, 256), dropout=0.2).model_dump()},  # architecture_comparison's
        "convnet": {"model": CONVNET.model_dump()},
        "smallnet": {"model": Import(target="experiments.models.smallnet:SmallNet").model_dump()},
    }, seeds=tuple(range(10))),
    reference="convnet",
    analyses=("comparison_table", "architecture", "learning_curves", "confusion_matrix"),
    answer=("comparison_table", "architecture"),
    expect=(
        Expect("test_accuracy", variant="convnet", higher_than="dnn", source=RANKING),
        Expect("test_accuracy", variant="smallnet", higher_than="dnn", source="this spec, before any run"),
    ),
)
