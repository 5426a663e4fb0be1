"""Which learning rate should SGD use for the seed-003 CNN: four fixed rates, or an LR range test?

Run:      invoke run --spec lr_probe    (add --smoke for a one-minute check)
Expected: lr 0.1 diverges or lags, 0.01 is best after one epoch, 0.0001 has barely moved; the range
          test's loss falls steepest around 1e-2 and bottoms out near 1e-1, suggesting ≈ 1e-2.
Cost:     5 variants × 3 seeds × 1 epoch; about 5 minutes on 2 CPU cores.
Source:   seed notebook 003 (lr probe 0.1 / 0.01 / 0.001 / 0.0001 with SGD); L. N. Smith 2017 (range test).
          lr_wd_grid centres its grid on this study's recorded suggestion.
"""
from reportgen.spec import Conv, Dense, Layers, MaxPool, Optim, RangeTest, Study, Sweep, Train

#: A small CNN in the spirit of seed notebook 003's: two conv + pool stages and a dense head (≈ 0.2 M parameters).
SEED003_CNN = Layers(layers=(Conv(16), MaxPool(), Conv(32), MaxPool(), Dense(128, dropout=0.25),
                             Dense(10, activation="none")))

STUDY = Study(
    title="Learning-rate probe and range test",
    question="After one epoch of SGD (momentum 0.9) at lr 0.1, 0.01, 0.001 and 0.0001, which rate is best on validation, and which rate does an LR range test suggest?",
    section="Tuning",
    model=SEED003_CNN,
    optim=Optim(name="sgd", lr=0.01, momentum=0.9),
    train=Train(epochs=1, batch_size=64),
    sweep=Sweep(variants={
        "lr-0.1": {"optim.lr": 0.1},
        "lr-0.01": {"optim.lr": 0.01},
        "lr-0.001": {"optim.lr": 0.001},
        "lr-0.0001": {"optim.lr": 0.0001},
        "range-test": {"train.range_test": RangeTest(start_lr=1e-6, end_lr=1.0).model_dump()},
    }, seeds=(0, 1, 2)),
    reference="lr-0.01",
    analyses=("lr_range_test", "comparison_table"),
    answer=("lr_range_test",),
)
