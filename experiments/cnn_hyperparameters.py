"""Which of cnn_baseline's hyperparameters matter, one factor at a time?

Run:      invoke run --spec cnn_hyperparameters    (add --smoke for a one-minute check)
Expected: learning rate matters most (1e-2 with Adam is unstable or worse, 1e-4 too slow in 10
          epochs); batch size, dropout and initialization move test accuracy by a few tenths of a
          point at most.
Cost:     11 variants × 3 seeds × 10 epochs ("baseline" is cnn_baseline's run, reused); about
          2.5 hours on 2 CPU cores, a few minutes on a GPU.
Source:   seed notebook 000, "hyperparameter experiments" (it lists what it varied, "Varying learning
          rates", but states no result: the two learning-rate claims are this project's own).
"""
from reportgen.spec import CNN, Expect, Optim, Study, Sweep, Train

STUDY = Study(
    title="CNN hyperparameters, one factor at a time",
    question="Around cnn_baseline, how much do the learning rate, the optimizer, the batch size, the dropout rate and the weight initialization each change validation and test accuracy?",
    section="Tuning",
    model=CNN(channels=(32, 64), kernel_size=3, padding="valid", hidden=(128,), dropout=0.25),
    optim=Optim(name="adam", lr=1e-3),
    train=Train(epochs=10, batch_size=64),
    sweep=Sweep(variants={
        "baseline": {},
        "lr-1e-2": {"optim.lr": 1e-2},
        "lr-1e-4": {"optim.lr": 1e-4},
        "sgd-momentum": {"optim.name": "sgd", "optim.lr": 0.01, "optim.momentum": 0.9},
        "batch-32": {"train.batch_size": 32},
        "batch-128": {"train.batch_size": 128},
        "batch-512": {"train.batch_size": 512},
        "dropout-0": {"model.dropout": 0.0},
        "dropout-0.5": {"model.dropout": 0.5},
        "init-xavier-uniform": {"model.init": "xavier_uniform"},
        "init-kaiming-normal": {"model.init": "kaiming_normal"},
        "init-normal-0.01": {"model.init": "normal_0.01"},
    }, seeds=(0, 1, 2)),
    reference="baseline",
    analyses=("comparison_table", "factor_tables", "learning_curves", "confusion_matrix"),
    expect=(
        Expect("test_accuracy", variant="lr-1e-2", lower_than="baseline",
               source="this spec's expectation: lr 1e-2 is too high for Adam"),
        Expect("test_accuracy", variant="lr-1e-4", lower_than="baseline",
               source="this spec's expectation: lr 1e-4 is too slow for 10 epochs"),
        Expect("test_accuracy", variant="batch-128", equal_to="baseline", delta=0.005,
               source="this spec's expectation: batch size moves accuracy by tenths of a point at most"),
    ),
)
