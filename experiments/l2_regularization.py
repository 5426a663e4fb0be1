"""Does an L2 penalty on the dense kernels help a 784-128-10 MLP, and is AdamW's decoupled weight decay the same thing?

Run:      invoke run --spec l2_regularization    (add --smoke for a one-minute check)
Expected: weight norms shrink as the penalty grows; 1e-2 as a loss penalty underfits (lower training
          accuracy); the same numbers as AdamW weight decay barely change the weights, because AdamW
          decays by lr × weight_decay per step (Loshchilov & Hutter 2019). The notebook reported
          "Medium L2 (0.001): Best validation loss" among 1e-4, 1e-3 and 1e-2, and "Large L2 (0.01):
          Underfitting"; Keras counts the penalty in its validation loss, the val_loss here is the
          cross-entropy alone.
Cost:     7 variants × 3 seeds × 10 epochs; about 8 minutes on 2 CPU cores.
Source:   seed notebook 001 task 6 (Keras Dense(..., kernel_regularizer=l2(λ))).
"""
from reportgen.spec import MLP, Expect, Optim, ProbeSpec, Study, Sweep, Train

STUDY = Study(
    title="L2 regularization and weight decay",
    question="How do an L2 penalty on the dense kernels (λ = 1e-4, 1e-3, 1e-2) and AdamW weight decay of the same sizes change the weights, validation loss and test accuracy of the MLP?",
    section="Training dynamics & regularization",
    model=MLP(hidden=(128,), activation="relu"),
    optim=Optim(name="adam", lr=1e-3),
    train=Train(epochs=10, batch_size=32),
    probes=(ProbeSpec(name="weight_norms"), ProbeSpec(name="weight_histograms")),
    sweep=Sweep(variants={
        "none": {},
        "l2-1e-4": {"optim.l2": 1e-4},
        "l2-1e-3": {"optim.l2": 1e-3},
        "l2-1e-2": {"optim.l2": 1e-2},
        "adamw-1e-4": {"optim.name": "adamw", "optim.weight_decay": 1e-4},
        "adamw-1e-3": {"optim.name": "adamw", "optim.weight_decay": 1e-3},
        "adamw-1e-2": {"optim.name": "adamw", "optim.weight_decay": 1e-2},
    }, seeds=(0, 1, 2)),
    reference="none",
    analyses=("comparison_table", "learning_curves", "weight_norms", "weight_histograms", "generalization_gap",
              "confusion_matrix"),
    answer=("weight_norms", "comparison_table"),
    expect=(
        Expect("val_loss", variant="l2-1e-3", lower_than="l2-1e-4",
               source="seed notebook 001 task 6 (\"Medium L2 (0.001): Best validation loss\")"),
        Expect("val_loss", variant="l2-1e-3", lower_than="l2-1e-2",
               source="seed notebook 001 task 6 (\"Medium L2 (0.001): Best validation loss\")"),
        Expect("test_accuracy", highest="l2-1e-3",
               source="this spec's expectation, extending the notebook's validation-loss finding to test "
                      "accuracy over all seven variants"),
        Expect("train_acc", lowest="l2-1e-2",
               source="seed notebook 001 task 6 (\"Large L2 (0.01): Underfitting due to excessive penalty\")"),
    ),
)
