"""Which hidden activation suits the 784-128-10 MLP, and does any of them starve the first layer of gradient?

Run:      invoke run --spec activation_functions    (add --smoke for a one-minute check)
Expected: ReLU, LeakyReLU and GELU within about 0.2 pp of each other; sigmoid lowest after 10 epochs;
          tanh, softsign and sigmoid show saturated units. The notebook reported "Tanh: Smooth but
          suffers from vanishing gradients" and "GELU: Best performance".
Cost:     6 variants × 3 seeds × 10 epochs; about 7 minutes on 2 CPU cores.
Source:   seed notebook 001 task 9.
"""
from reportgen.spec import MLP, Expect, Optim, ProbeSpec, Study, Sweep, Train

STUDY = Study(
    title="Activation functions",
    question="How do ReLU, Tanh, Softsign, GELU, LeakyReLU and Sigmoid compare in test accuracy, gradient flow to the first layer, and saturated or dead units?",
    section="Training dynamics & regularization",
    model=MLP(hidden=(128,), activation="relu"),
    optim=Optim(name="adam", lr=1e-3),
    train=Train(epochs=10, batch_size=32),
    probes=(ProbeSpec(name="grad_norms"), ProbeSpec(name="saturation")),
    sweep=Sweep(grid={"model.activation": ("relu", "tanh", "softsign", "gelu", "leaky_relu", "sigmoid")},
                seeds=(0, 1, 2)),
    reference="activation=relu",
    analyses=("comparison_table", "gradient_flow", "saturation", "learning_curves", "confusion_matrix"),
    expect=(
        Expect("test_accuracy", highest="activation=gelu", source="seed notebook 001 task 9 (\"GELU: Best performance\")"),
        Expect("grad_norm_ratio", variant="activation=tanh", lower_than="activation=relu",
               source="seed notebook 001 task 9 (\"Tanh: Smooth but suffers from vanishing gradients\")"),
    ),
)
