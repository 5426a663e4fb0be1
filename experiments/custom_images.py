"""Do the baseline models read digits that were not in MNIST, and how fast do they fail when the test digits are rotated, shifted or noisy?

Run:      invoke run --spec custom_images                     (the images in experiments/custom_digits/)
          invoke run --spec custom_images --images ~/my_digits  (any folder of PNG/JPEG digits)
Expected: with the synthetic fallback (an empty folder: digits drawn in matplotlib's bundled
          fonts), the CNN reads most digits and the MLP fewer; both stay above 95 % up to about 10°
          of rotation and 1–2 px of shift, the MLP falls faster with shift (it has no translation
          tolerance), and noise of σ ≥ 0.5 hurts both.
Cost:     2 variants × 3 seeds × 10 epochs (the mlp_baseline and cnn_baseline configurations with
          two end-of-training probes); about 12 minutes on 2 CPU cores. Changing the folder's files
          (or the bundled fonts) changes the runs' keys and retrains them.
Source:   seed notebook 001 task 2 (classify your own handwriting); preprocessing after LeCun, Cortes &
          Burges, the MNIST database page (20×20 box, centre of mass at the centre of 28×28).
"""
from reportgen.spec import CNN, MLP, Optim, ProbeSpec, Study, Sweep, Train

STUDY = Study(
    title="Your own digits and robustness",
    question="Brought to MNIST form the way the original data was made, are digits from outside MNIST classified correctly by the baseline MLP and CNN, and how does their test accuracy fall under rotation, shift and Gaussian noise?",
    section="Prediction behaviour",
    model=MLP(hidden=(128,), activation="relu", dropout=0.0),
    optim=Optim(name="adam", lr=1e-3),
    train=Train(epochs=10, batch_size=32),
    probes=(ProbeSpec(name="custom_digits", images="experiments/custom_digits"), ProbeSpec(name="robustness")),
    sweep=Sweep(variants={
        "mlp": {},  # mlp_baseline's configuration
        "cnn": {"model": CNN(channels=(32, 64), kernel_size=3, padding="valid", hidden=(128,),
                             dropout=0.25).model_dump(), "train.batch_size": 64},  # cnn_baseline's
    }, seeds=(0, 1, 2)),
    reference="mlp",
    analyses=("custom_images", "robustness", "comparison_table"),
)
