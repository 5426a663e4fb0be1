"""Does the seed-003 CNN pass the checks worth running before any long training: output shape, initial loss ≈ ln 10, a gradient for every parameter, and memorising 100 images?

Run:      invoke run --spec sanity_checks    (add --smoke for a one-minute check)
Expected: output (8, 10); initial loss 2.30 ± 0.05 nats; all 8 parameter tensors get a gradient;
          206,922 parameters; 100 % train accuracy on the first 100 training images within about
          10–20 of the 50 epochs.
Cost:     1 variant × 3 seeds × 50 epochs on 100 images; about 3 minutes on 2 CPU cores (most of it
          the per-epoch validation on 5,000 images).
Source:   seed notebook 003's checks on its CNN; Karpathy 2019, "A Recipe for Training Neural Networks"
          (verify the loss at init, overfit one batch, visualise just before the net).
"""
from reportgen.spec import Conv, Data, Dense, Layers, MaxPool, Optim, ProbeSpec, Study, Sweep, Train

STUDY = Study(
    title="Sanity checks",
    question="Before any long training, does the seed-003 CNN give a (B, 10) output, start at a loss of about ln 10, send a gradient to every parameter, and memorise 100 training images to 100 % accuracy?",
    section="Data & baselines",
    diagnostic=True,
    # lr_probe's SEED003_CNN (the model of the tuning chain), with its SGD optimizer.
    model=Layers(layers=(Conv(16), MaxPool(), Conv(32), MaxPool(), Dense(128, dropout=0.25),
                         Dense(10, activation="none"))),
    optim=Optim(name="sgd", lr=0.01, momentum=0.9),
    train=Train(epochs=50, batch_size=10),
    data=Data(train_subset=100),
    probes=(ProbeSpec(name="sanity"),),
    sweep=Sweep(variants={"overfit-100": {}}, seeds=(0, 1, 2)),
    analyses=("sanity_checks", "learning_curves"),
)
