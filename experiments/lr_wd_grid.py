"""Around lr_probe's suggested learning rate, which lr × weight decay is best on validation?

Run:      invoke run --spec lr_wd_grid    (trains lr_probe first if it has no results; --smoke for a check)
Expected: a broad plateau: the suggested lr and 3× it within a few tenths of a point; weight decay
          up to 5e-4 changes little in 5 epochs, 1e-3 starts to cost accuracy at the smallest lr.
Cost:     3 lrs × 4 weight decays × 2 seeds × 5 epochs; about 40 minutes on 2 CPU cores.
Source:   seed notebook 003 (grid search). The lr values are computed from lr_probe's recorded range
          test (median suggestion over seeds × 1/3, 1, 3), never typed; model and optimizer are
          lr_probe's best fixed-lr variant.
"""
from reportgen.spec import FromResults, Selected, Study, Sweep

STUDY = Study(
    title="Learning rate × weight decay grid",
    question="Around lr_probe's suggested learning rate (× 1/3, 1, 3) and for weight decay 0, 1e-4, 5e-4 and 1e-3, which combination gives the best validation accuracy after 5 epochs?",
    section="Tuning",
    base=Selected(study="lr_probe", metric="val_acc"),
    sweep=Sweep(
        grid={"optim.lr": FromResults(study="lr_probe", variant="range-test", field="range_test.suggested_lr",
                                      factors=(1 / 3, 1.0, 3.0)),
              "optim.weight_decay": (0.0, 1e-4, 5e-4, 1e-3)},
        common={"train.epochs": 5},
        seeds=(0, 1)),
    analyses=("grid_heatmap", "comparison_table", "learning_curves"),
    answer=("grid_heatmap",),
)
