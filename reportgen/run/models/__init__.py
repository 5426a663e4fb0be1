"""Model families, one module each, and each its own numerics component (``model.<kind>`` in
:data:`reportgen.spec.numerics.VERSIONS`, which covers ``common.py`` too)."""
from __future__ import annotations

import importlib

from torch import nn

FAMILIES = {"mlp": "mlp", "cnn": "cnn", "layers": "layers", "resnet": "resnet", "import": "imported"}  # ``kind`` → module
#: MNIST's input (channels, height, width) and classes: the defaults of :func:`build`.
MNIST_SHAPE, MNIST_CLASSES = (1, 28, 28), 10


def input_of(config) -> tuple[tuple[int, int, int], int]:
    """(shape, classes) of a ``RunConfig``'s data set as its model sees it, without loading the images
    (a folder without ``size``, or one not on this machine, is read: :func:`reportgen.data.sets.read_folder`)."""
    from reportgen.spec.sources import classes_of, shape_of

    dataset = config.data.dataset
    shape, classes = shape_of(dataset), classes_of(dataset)
    if shape is None or classes is None:
        from reportgen.data.sets import read_folder

        arrays = read_folder(dataset)
        shape, classes = tuple(arrays["x_train"].shape[1:]), int(arrays["y_train"].max()) + 1
    return shape, classes


def build_for(config) -> nn.Module:
    """:func:`build` of a ``RunConfig``'s model for its data set (:func:`input_of`)."""
    shape, classes = input_of(config)
    return build(config.model.model_dump(), shape, classes)


def build(model_cfg: dict, shape: tuple[int, int, int] = MNIST_SHAPE, classes: int = MNIST_CLASSES) -> nn.Module:
    """The ``nn.Module`` for a model spec dict (``kind`` selects the family), mapping float
    (B, *shape) to logits (B, classes). Initialisation uses the global torch RNG: seed it first (the
    runner does)."""
    return importlib.import_module(f".{FAMILIES[model_cfg['kind']]}", __name__).build(model_cfg, tuple(shape), classes)

