"""Which optimizer trains the 784-128-10 MLP fastest and most stably: SGD, SGD with momentum, Adam or AdamW?

Run:      invoke run --spec optimizer_comparison    (add --smoke for a one-minute check)
Expected: Adam and AdamW pass 97 % validation accuracy within 2–3 epochs; plain SGD at lr 0.01 needs
          many more (or never within 10); momentum closes most of the gap. The notebook reported
          "Adam: Fastest convergence".
Cost:     4 variants × 3 seeds × 10 epochs; about 3 minutes on 2 CPU cores ("adam" is mlp_baseline's
          run, reused from the cache).
Source:   seed notebook 001 task 7.
"""
from reportgen.spec import MLP, Expect, Optim, Study, Sweep, Train

STUDY = Study(
    title="Optimizer comparison",
    question="How many epochs do SGD (lr 0.01), SGD with momentum 0.9, Adam (lr 1e-3) and AdamW (lr 1e-3, weight decay 1e-2) need to reach 97 % validation accuracy, and how stable is their validation loss?",
    section="Training dynamics & regularization",
    model=MLP(hidden=(128,), activation="relu"),
    optim=Optim(name="adam", lr=1e-3),
    train=Train(epochs=10, batch_size=32),
    sweep=Sweep(variants={
        "sgd": {"optim.name": "sgd", "optim.lr": 0.01},
        "sgd-momentum": {"optim.name": "sgd", "optim.lr": 0.01, "optim.momentum": 0.9},
        "adam": {},
        "adamw": {"optim.name": "adamw", "optim.weight_decay": 1e-2},
    }, seeds=(0, 1, 2)),
    reference="adam",
    analyses=("comparison_table", "convergence", "learning_curves", "confusion_matrix"),
    answer=("convergence",),
    expect=(Expect("epochs_to_97", lowest="adam", source="seed notebook 001 task 7 (\"Adam: Fastest convergence\")"),),
)
