"""What has the MLP learned in its first layer, and how does accuracy change with hidden width?

Run:      invoke run --spec weight_inspection    (add --smoke for a one-minute check)
Expected: first-layer units look like blurred stroke and digit-part templates; test accuracy rises
          from ≈ 95 % at 16 units and saturates near 98 % from a few hundred units, while train
          accuracy keeps climbing, so the generalization gap widens with width.
Cost:     8 widths × 3 seeds × 10 epochs; about 20 minutes on 2 CPU cores.
Source:   seed notebook 001 task 10 (capacity) and the weight visualisation of notebook 000.
"""
from reportgen.spec import MLP, Optim, ProbeSpec, Study, Sweep, Train

WEIGHT_PROBES = [ProbeSpec(name="first_layer_weights").model_dump(), ProbeSpec(name="weight_histograms").model_dump()]

STUDY = Study(
    title="Weight inspection and capacity",
    question="What do the 128 first-layer units of the baseline MLP look like, how are each layer's weights distributed, and how do train, validation and test accuracy change with hidden width?",
    section="Architectures & capacity",
    model=MLP(hidden=(128,)),
    optim=Optim(name="adam", lr=1e-3),
    train=Train(epochs=10, batch_size=32),
    sweep=Sweep(variants={
        # The weights are recorded for the baseline width only (2,048 units × 784 would make 12 MB results).
        **{f"width-{w}": ({"model.hidden": (w,), "probes": WEIGHT_PROBES} if w == 128 else {"model.hidden": (w,)})
           for w in (16, 32, 64, 128, 256, 512, 1024, 2048)},
    }, seeds=(0, 1, 2)),
    reference="width-128",
    analyses=("comparison_table", "capacity_curve", "first_layer_weights", "weight_histograms", "architecture",
              "learning_curves"),
    answer=("capacity_curve", "first_layer_weights", "weight_histograms"),
)
