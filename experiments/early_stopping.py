"""How much training does early stopping on validation loss save, and what does it cost in accuracy?

Run:      invoke run --spec early_stopping    (add --smoke for a one-minute check)
Expected: patience 2 stops within about 10 epochs, patience 10 within about 20; with the best weights
          restored, test accuracy stays within a few tenths of a point of the 50-epoch run.
Cost:     3 variants × 3 seeds × (stopped epoch ≤ 50); about 4 minutes on 2 CPU cores. The "none"
          variant is epochs_learning_curve's run, reused from the cache.
Source:   seed notebook 001 task 4 (early stopping as a regularization method; it gives no settings,
          so monitoring validation loss and restoring the best weights are this spec's choice).
"""
from reportgen.spec import MLP, Optim, Study, Sweep, Train

STUDY = Study(
    title="Early stopping",
    question="With early stopping on validation loss (patience 2, 5 or 10, best weights restored), how many epochs are saved against 50 epochs of training, and at what cost in test accuracy?",
    section="Training dynamics & regularization",
    model=MLP(hidden=(128,), activation="relu"),
    optim=Optim(name="adam", lr=1e-3),
    train=Train(epochs=50, batch_size=32),
    sweep=Sweep(variants={
        "none": {},
        "patience-2": {"train.early_stopping": {"patience": 2, "restore_best": True}},
        "patience-5": {"train.early_stopping": {"patience": 5, "restore_best": True}},
        "patience-10": {"train.early_stopping": {"patience": 10, "restore_best": True}},
    }, seeds=(0, 1, 2)),
    reference="none",
    analyses=("comparison_table", "early_stopping", "learning_curves", "confusion_matrix"),
)
