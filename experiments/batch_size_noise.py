"""How does the batch size change gradient noise, speed and generalization of the 784-128-10 MLP?

Run:      invoke run --spec batch_size_noise    (add --smoke for a one-minute check)
Expected: the minibatch gradient variance falls as 1/B while the simple noise scale tr(Σ)/‖G‖² does
          not depend on B; seconds per epoch fall steeply with B; at a fixed lr large batches
          underfit in 10 epochs, and scaling lr with B (Goyal et al. 2017) recovers part of it.
          The notebook recommended batch 32.
Cost:     7 variants × 3 seeds × 10 epochs, batch 8 dominating (≈ 4× batch 32's time); about
          15 minutes on 2 CPU cores.
Source:   seed notebook 001 task 8; McCandlish et al. 2018, "An Empirical Model of Large-Batch Training".
"""
from reportgen.spec import MLP, Expect, Optim, ProbeSpec, Study, Sweep, Train

STUDY = Study(
    title="Batch size and gradient noise",
    question="How do batch sizes 8, 32, 128 and 512 (lr fixed at 1e-3, and lr scaled linearly with the batch) change gradient noise, seconds per epoch and the generalization gap?",
    section="Training dynamics & regularization",
    model=MLP(hidden=(128,), activation="relu"),
    optim=Optim(name="adam", lr=1e-3),
    train=Train(epochs=10, batch_size=32),
    probes=(ProbeSpec(name="grad_noise", every=2),),
    sweep=Sweep(variants={
        "batch-8": {"train.batch_size": 8},
        "batch-32": {},
        "batch-128": {"train.batch_size": 128},
        "batch-512": {"train.batch_size": 512},
        # Linear scaling rule: lr = 1e-3 × B / 32 (Goyal et al. 2017); batch 32 is the shared anchor.
        "batch-8-scaled-lr": {"train.batch_size": 8, "optim.lr": 2.5e-4},
        "batch-128-scaled-lr": {"train.batch_size": 128, "optim.lr": 4e-3},
        "batch-512-scaled-lr": {"train.batch_size": 512, "optim.lr": 1.6e-2},
    }, seeds=(0, 1, 2)),
    reference="batch-32",
    analyses=("comparison_table", "gradient_noise", "generalization_gap", "learning_curves", "confusion_matrix"),
    answer=("gradient_noise", "generalization_gap"),
    expect=(Expect("test_accuracy", highest="batch-32", source="seed notebook 001 task 8 (\"Batch 32: Best overall stability vs. performance (recommended)\")"),),
)
