"""Trained longer, how good is the configuration lr_wd_grid selected, and does its saved model reload?

Run:      invoke run --spec final_model    (trains lr_probe and lr_wd_grid first if needed)
          reportgen evaluate --model models/final_model/default/seed0.safetensors
Expected: ≈ 99 % test accuracy after 15 epochs, a good fit (small train–val gap, flat validation loss);
          the reloaded model's test predictions are identical to the recorded ones.
Cost:     1 configuration × 3 seeds × 15 epochs; about 15 minutes on 2 CPU cores.
Source:   seed notebook 003 (final training) and 004 ("test the best trained model").
"""
from reportgen.spec import Selected, Study, Sweep

STUDY = Study(
    title="Final model",
    question="Trained for 15 epochs with the learning rate and weight decay lr_wd_grid chose on validation, what test accuracy does the selected configuration reach, with what fit, and does the saved model reproduce it?",
    section="Tuning",
    base=Selected(study="lr_wd_grid", metric="val_acc"),
    sweep=Sweep(common={"train.epochs": 15}, seeds=(0, 1, 2)),
    save_models=True,
    analyses=("comparison_table", "learning_curves", "diagnosis", "confusion_matrix", "misclassified_examples"),
)
