"""How well does the simplest dense network, 784-128-10 with ReLU, classify MNIST digits?

Run:      invoke run --spec mlp_baseline        (add --smoke for a one-minute check)
Expected: test accuracy ≈ 97.5–98 % after 10 epochs; validation loss bottoms out around epoch 5–7
          while training loss keeps falling (the generalization gap opens).
Cost:     1 variant × 3 seeds × 10 epochs; about 2 minutes on 2 CPU cores.
Source:   seed notebook 001, task 3 (Keras Sequential: Flatten, Dense(128, relu), Dense(10)).
"""
from reportgen.spec import MLP, Expect, Optim, Study, Sweep, Train

STUDY = Study(
    title="MLP baseline",
    question="How accurate is a 784-128-10 ReLU MLP trained with Adam for 10 epochs on MNIST?",
    section="Data & baselines",
    model=MLP(hidden=(128,), activation="relu", dropout=0.0),
    optim=Optim(name="adam", lr=1e-3),
    train=Train(epochs=10, batch_size=32),
    sweep=Sweep(seeds=(0, 1, 2)),
    analyses=("comparison_table", "learning_curves", "confusion_matrix", "misclassified_examples"),
    expect=(Expect("test_accuracy", at_least=0.975, source="foundation issue acceptance"),),
)
