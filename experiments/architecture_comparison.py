"""How do a dense net, a small ConvNet, a VGG-like stack, ResNet-18 and ResNet-50 compare per cost?

Run:      invoke run --spec architecture_comparison    (add --smoke for a one-minute check)
Expected: every convolutional model ≥ 99 %, the ConvNet ≥ 99.2 %; the ResNets, built for 224-pixel
          ImageNet photos, add 10–25 M parameters and 70–170 MFLOPs per image for no gain on
          28×28 digits; the dense net trails at ≈ 98 %.
Cost:     5 models × 3 seeds × 10 epochs; on 2 CPU cores several hours (the ResNets dominate:
          run this one on a GPU, where it takes minutes).
Source:   seed notebook 004 (reported, single runs: DNN 98.14 %, ConvNet 99.29 %, VGG-like 99.25 %,
          ResNet-50 98.62 %).
"""
from reportgen.spec import (MLP, Conv, Dense, Expect, Layers, MaxPool, Optim, ProbeSpec, ResNet, Study, Sweep,
                            Train)

CONVNET = Layers(layers=(  # 3 × (3×3 conv → max-pool), dense head
    Conv(32), MaxPool(), Conv(64), MaxPool(), Conv(128), MaxPool(), Dense(128, dropout=0.25),
    Dense(10, activation="none"),
))
RESNETS_BEFORE = "this spec's Expected line, before any ResNet result"
VGG = Layers(layers=(  # VGG-style: stacked 3×3 pairs (Simonyan & Zisserman 2015), widths halved for 28×28
    Conv(32), Conv(32), MaxPool(), Conv(64), Conv(64), MaxPool(), Conv(128), Conv(128), MaxPool(),
    Dense(256, dropout=0.5), Dense(10, activation="none"),
))

STUDY = Study(
    title="Architecture comparison",
    question="How do a dense network, a 3-layer ConvNet, a VGG-like stack and torchvision's ResNet-18 and ResNet-50 compare on MNIST in accuracy, macro F1, ROC-AUC, parameters, FLOPs, training time and inference speed?",
    section="Architectures & capacity",
    optim=Optim(name="adam", lr=1e-3),
    train=Train(epochs=10, batch_size=64),
    probes=(ProbeSpec(name="first_layer_weights"), ProbeSpec(name="feature_maps", indices=(0,))),
    sweep=Sweep(variants={
        "dnn": {"model": MLP(hidden=(512, 256), dropout=0.2).model_dump()},
        "convnet": {"model": CONVNET.model_dump()},
        "vgg-like": {"model": VGG.model_dump()},
        "resnet-18": {"model": ResNet(depth=18).model_dump()},
        "resnet-50": {"model": ResNet(depth=50).model_dump()},
    }, seeds=(0, 1, 2)),
    reference="convnet",
    reported={"dnn": 0.9814, "convnet": 0.9929, "vgg-like": 0.9925, "resnet-50": 0.9862},
    reported_source="seed notebook 004, single runs",
    analyses=("comparison_table", "architecture", "learning_curves", "first_layer_weights", "feature_maps",
              "confusion_matrix"),
    answer=("comparison_table", "architecture"),
    expect=(
        Expect("test_accuracy", variant="convnet", at_least=0.992, source="issue 5 acceptance"),
        Expect("test_accuracy", variant="convnet", higher_than="dnn",
               source="seed notebook 004, single runs (ConvNet \"99.29%\", DNN \"98.14%\")"),
        # Written while the ResNets' first runs were training, before any of their results existed.
        Expect("test_accuracy", variant="resnet-18", at_least=0.99, source=RESNETS_BEFORE),
        Expect("test_accuracy", variant="resnet-50", at_least=0.99, source=RESNETS_BEFORE),
        Expect("test_accuracy", variant="resnet-50", lower_than="convnet",
               source="seed notebook 004, single runs (ResNet50 \"98.62%\", ConvNet \"99.29%\")"),
    ),
)
