"""What is in MNIST — how many images per split and digit, how balanced, which pixel values, any invalid values or duplicates — and which images does every study validate on?

Run:      invoke run --spec dataset_exploration     (trains nothing: renders the page from the data files)
Expected: 60,000 training and 10,000 test images of 28×28 uint8 pixels with labels 0–9 and no invalid
          values; mildly imbalanced classes (1 commonest, 5 rarest, a max/min ratio near 1.2);
          pixel mean ≈ 0.1307 and std ≈ 0.3081 on [0, 1], as customary; validation is the last 5,000
          training images.
Cost:     no training; about half a minute to read the files, hash 70,000 images and draw the figures.
Source:   seed notebooks 001 (task 1: look at the data), 003 and 004 (exploratory data analysis).
"""
from reportgen.spec import Study

STUDY = Study(
    title="Dataset exploration",
    question="What does MNIST contain — splits, label counts, class balance, pixel statistics, invalid values, "
             "duplicates — and which images form the validation split every study uses?",
    section="Data & baselines",
    kind="explore",
    analyses=("split_overview", "data_checks", "pixel_statistics", "class_images", "duplicates"),
    answer=("split_overview", "pixel_statistics", "data_checks", "duplicates"),
)
