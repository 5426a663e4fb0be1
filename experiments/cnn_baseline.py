"""How much does a small convolutional network gain over the MLP baseline on MNIST?

Run:      invoke run --spec cnn_baseline        (add --smoke for a one-minute check)
Expected: test accuracy ≥ 99.0 % after 10 epochs (this project's target: seed notebook 000 reports no
          accuracy for its baseline).
Cost:     1 variant × 3 seeds × 10 epochs; about 15 minutes on 2 CPU cores, under a minute on a GPU.
Source:   seed notebook 000's baseline, "two convolutional blocks followed by dense layers" trained
          with Adam for 10 epochs; the text gives no sizes, so these are this project's:
          Conv(32, 3×3)-ReLU-MaxPool, Conv(64, 3×3)-ReLU-MaxPool, Flatten, Dense(128, relu),
          Dropout(0.25), Dense(10); batch 64.
"""
from reportgen.spec import CNN, Expect, Optim, Study, Sweep, Train

STUDY = Study(
    title="CNN baseline",
    question="How accurate is a two-block CNN (32 and 64 3×3 filters, max-pooling, dense 128 with dropout 0.25) trained with Adam for 10 epochs?",
    section="Data & baselines",
    model=CNN(channels=(32, 64), kernel_size=3, padding="valid", hidden=(128,), dropout=0.25),
    optim=Optim(name="adam", lr=1e-3),
    train=Train(epochs=10, batch_size=64),
    sweep=Sweep(seeds=(0, 1, 2)),
    analyses=("comparison_table", "learning_curves", "confusion_matrix", "misclassified_examples"),
    expect=(Expect("test_accuracy", at_least=0.99, source="foundation issue acceptance"),),
)
