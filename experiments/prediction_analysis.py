"""What do the catalog's baseline models say about single test images, how sure are they when they are wrong, and is their confidence calibrated?

Run:      invoke run --spec prediction_analysis    (add --smoke for a one-minute check)
Expected: the CNN gets nearly the whole panel right and makes fewer, less confident errors than the
          MLPs; the unregularised MLP is the most over-confident (highest ECE, a few tenths of a
          percent to about 1 %); 4↔9 and 3↔5 are among the three most-confused pairs of every model.
Cost:     3 variants × 3 seeds × 10 epochs (the mlp_baseline, dropout_ablation p=0.3 and
          cnn_baseline configurations, each with three end-of-training probes); about 15 minutes on
          2 CPU cores, mostly the CNN.
Source:   seed notebook 001 task 1 (predictions on chosen test digits, top-3 probabilities);
          calibration after Guo et al. 2017, "On Calibration of Modern Neural Networks".
"""
from reportgen.spec import CNN, MLP, Optim, ProbeSpec, Study, Sweep, Train

#: The fixed digit panel: the first test image of each digit 0–9 (indices 3, 2, 1, 18, 4, 8, 11, 0, 61, 7),
#: then six that all three cnn_baseline seeds misclassified (hard cases, chosen for display only).
PANEL = (3, 2, 1, 18, 4, 8, 11, 0, 61, 7, 340, 659, 1014, 1232, 2130, 4176)

STUDY = Study(
    title="Prediction behaviour",
    question="On a fixed panel of test digits, what do the baseline MLP, the MLP with dropout and the baseline CNN predict with what probabilities; which errors do they make most confidently, how well is their confidence calibrated, and which digit pairs do they confuse?",
    section="Prediction behaviour",
    model=MLP(hidden=(128,), activation="relu", dropout=0.0),
    optim=Optim(name="adam", lr=1e-3),
    train=Train(epochs=10, batch_size=32),
    probes=(ProbeSpec(name="digit_panel", indices=PANEL), ProbeSpec(name="predictions")),
    sweep=Sweep(variants={
        "mlp": {},  # mlp_baseline's configuration
        "mlp-dropout-0.3": {"model.dropout": 0.3},  # dropout_ablation's p = 0.3
        "cnn": {"model": CNN(channels=(32, 64), kernel_size=3, padding="valid", hidden=(128,),
                             dropout=0.25).model_dump(), "train.batch_size": 64},  # cnn_baseline's
    }, seeds=(0, 1, 2)),
    reference="mlp",
    analyses=("prediction_panel", "confidence_extremes", "calibration", "confused_pairs", "comparison_table"),
    answer=("prediction_panel", "confidence_extremes", "calibration", "confused_pairs"),
)
