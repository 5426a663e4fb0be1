"""Can the report tell, from recorded evidence alone, how a deliberately broken model fails?

Run:      invoke run --spec failed_models       (add --smoke for a one-minute check)
Expected: the `diagnosis` analysis labels each variant with the failure it was built to show:
          baseline → healthy; lr_too_high → diverged (loss explodes, then NaN); deep_sigmoid_sgd →
          vanishing_gradients (first/last layer gradient ratio far below 1 %, train accuracy at
          chance); bottleneck_2 → underfit; small_data_1000 → overfit (train 100 %, val about 8 pp
          lower); shuffled_labels → memorised (train accuracy far above a validation accuracy at chance).
Cost:     6 variants × 3 seeds (10–40 epochs, MLPs only; "baseline" is mlp_baseline's run, reused
          from the cache): 15 runs, about 5 minutes on 2 idle CPU cores (from single-thread epoch
          timings); the committed runs took 97 minutes on 2 cores shared with other training jobs.
Source:   seed notebook 000 ("Three models are intentionally designed to underperform using poor
          hyperparameters or architectural choices"; it does not say which). The failures chosen here
          are this project's: a learning rate far too high, a network too small to fit, a large model
          on too few images, vanishing gradients in a deep sigmoid network (Glorot & Bengio 2010) and
          random labels (Zhang et al. 2017).
"""
from reportgen.spec import MLP, Optim, ProbeSpec, Study, Sweep, Train

STUDY = Study(
    title="Deliberately failed models",
    question="Does each deliberately broken MLP fail the way it was built to — diverging, starving its first layers of gradient, underfitting, overfitting or memorising random labels — and can the failure be diagnosed from its recorded curves and gradient norms?",
    section="Failure analysis",
    diagnostic=True,
    model=MLP(hidden=(128,), activation="relu", dropout=0.0),
    optim=Optim(name="adam", lr=1e-3),
    train=Train(epochs=10, batch_size=32),
    # The first-to-last layer gradient ratio is the vanishing-gradient evidence.
    probes=(ProbeSpec(name="grad_norms"),),
    sweep=Sweep(variants={
        # mlp_baseline's exact config (no probe), so its three runs are reused from the cache.
        "baseline": {"probes": ()},
        # SGD with momentum 0.9 at lr 10, 1,000× the usual 0.01: the loss explodes in epoch 1 and
        # usually turns NaN in epoch 2.
        "lr_too_high": {"optim.name": "sgd", "optim.lr": 10.0, "optim.momentum": 0.9},
        # Eight sigmoid layers with plain SGD: each layer scales the backward signal by at most
        # sigmoid' ≤ 0.25 (Glorot & Bengio 2010), so the first layers barely move.
        "deep_sigmoid_sgd": {"model.hidden": (128,) * 8, "model.activation": "sigmoid",
                             "optim.name": "sgd", "optim.lr": 0.01},
        # Two hidden units cannot separate ten digits.
        "bottleneck_2": {"model.hidden": (2,)},
        # A 784-512-512-10 MLP (669,706 parameters) on the first 1,000 training images, no regularisation.
        "small_data_1000": {"model.hidden": (512, 512), "data.train_subset": 1000, "train.epochs": 30},
        # Every label of the first 5,000 training images permuted (Zhang et al. 2017): nothing to
        # learn, everything to memorise.
        "shuffled_labels": {"model.hidden": (512, 512), "data.train_subset": 5000, "data.shuffled_labels": 1.0,
                            "train.epochs": 40},
    }, seeds=(0, 1, 2)),
    reference="baseline",
    analyses=("diagnosis", "learning_curves", "comparison_table"),
    answer=("diagnosis",),
)
