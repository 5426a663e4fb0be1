"""When does a 784-128-10 MLP start to overfit, and what does training past that point cost?

Run:      invoke run --spec epochs_learning_curve    (add --smoke for a one-minute check)
Expected: validation loss is lowest within the first 10 epochs and then climbs while training loss
          keeps falling; test accuracy at the best-validation epoch is about the same as at epoch 50.
Cost:     1 variant × 3 seeds × 50 epochs; about 5 minutes on 2 CPU cores. Its run is shared with
          early_stopping's "no early stopping" variant (trained once).
Source:   seed notebook 001 (MLP trained for many epochs to show the learning curve).
"""
from reportgen.spec import MLP, Expect, Optim, Study, Sweep, Train

STUDY = Study(
    title="Learning curve over 50 epochs",
    question="Over 50 epochs of Adam, at which epoch is validation loss lowest, when does the generalization gap open, and does training on cost test accuracy?",
    section="Training dynamics & regularization",
    model=MLP(hidden=(128,), activation="relu"),
    optim=Optim(name="adam", lr=1e-3),
    train=Train(epochs=50, batch_size=32),
    sweep=Sweep(seeds=(0, 1, 2)),
    analyses=("comparison_table", "learning_curves", "overfitting", "confusion_matrix"),
    expect=(
        Expect("best_epoch", at_most=10, source="mlp_baseline's expected result (validation loss bottoms out around epoch 5–7)"),
    ),
)
