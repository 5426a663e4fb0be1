"""How much dropout does a 784-128-10 MLP need on MNIST?

Run:      invoke run --spec dropout_ablation    (add --smoke for a one-minute check)
Expected: test accuracy within a few tenths of a point across rates; 0.0 shows the largest
          train/val gap; 0.5 learns slowest. (Seed notebook 001 task 5 reported "No Dropout: Highest
          overfitting", "Dropout 0.1: Reduced overfitting, best balance" and "Dropout 0.3: Too much noise,
          slower convergence".)
Cost:     4 variants × 3 seeds × 10 epochs (0.0 is the MLP baseline, reused from its cache);
          about 6 minutes on 2 CPU cores.
"""
from reportgen.spec import MLP, Expect, Optim, Study, Sweep, Train

STUDY = Study(
    title="Dropout ablation",
    question="How does the dropout rate after the hidden layer change overfitting and test accuracy?",
    section="Training dynamics & regularization",
    model=MLP(hidden=(128,), dropout=0.0),
    optim=Optim(name="adam", lr=1e-3),
    train=Train(epochs=10, batch_size=32),
    sweep=Sweep(grid={"model.dropout": (0.0, 0.1, 0.3, 0.5)}, seeds=(0, 1, 2)),
    analyses=("comparison_table", "learning_curves", "generalization_gap", "confusion_matrix",
              "misclassified_examples"),
    answer=("generalization_gap", "comparison_table"),
    expect=(
        Expect("generalization_gap", highest="dropout=0",
               source="seed notebook 001 task 5 (\"No Dropout: Highest overfitting\")"),
        Expect("test_accuracy", highest="dropout=0.1",
               source="seed notebook 001 task 5 (\"Dropout 0.1: Reduced overfitting, best balance\"; "
                      "read here as the highest test accuracy)"),
        Expect("epochs_to_97", variant="dropout=0.3", higher_than="dropout=0.1",
               source="seed notebook 001 task 5 (\"Dropout 0.3: Too much noise, slower convergence\")"),
    ),
)
