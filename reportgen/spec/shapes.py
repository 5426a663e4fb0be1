"""Does a run's model fit its data set? Layer-by-layer shapes of a ``Layers`` model for the data set's
input, and the checks a run configuration must pass before anything trains: logits = classes,
probes allowed on the data set, an import-path model on the allowlist. No torch.
"""
from __future__ import annotations

from typing import Any

from reportgen.spec import sources

#: MNIST's image as a model sees it: (channels, height, width).
MNIST_SHAPE = (1, 28, 28)


def layer_shapes(layers: tuple[Any, ...], input_shape: tuple[int, ...] = MNIST_SHAPE) -> list[tuple[int, ...]]:
    """Output shape per layer for an ``input_shape`` (C, H, W) image: (C, H, W) for maps, (N,) after a
    Dense. Raises ValueError naming ``layers[i]`` when a layer would shrink the image below 1 pixel or
    follows a Dense with a conv. Torch-free, so ``reportgen validate`` catches it before training."""
    shape: tuple[int, ...] = tuple(input_shape)
    out = []
    for i, layer in enumerate(layers):
        if len(shape) == 1 and layer.type != "dense":
            raise ValueError(f"layers[{i}] ({layer.type}) follows a dense layer: only dense layers may come after one")
        if layer.type == "conv":
            shape = conv_shape(shape, layer, i)
        elif layer.type == "residual":
            for conv in layer.body:
                shape = conv_shape(shape, conv, i)
        elif layer.type == "maxpool":
            if shape[1] < layer.size or shape[2] < layer.size:
                raise ValueError(f"layers[{i}] (maxpool {layer.size}) gets a {shape[1]}×{shape[2]} map: too small")
            shape = (shape[0], shape[1] // layer.size, shape[2] // layer.size)
        elif layer.type == "gap":
            shape = (shape[0], 1, 1)
        else:
            shape = (layer.out,)
        out.append(shape)
    return out


def conv_shape(shape: tuple[int, ...], conv: Any, i: int) -> tuple[int, ...]:
    """(C, H, W) after ``conv`` (a ``Conv`` spec, stride 1) at ``layers[i]``; ValueError below 1 px."""
    if conv.padding == "same":
        return (conv.out, shape[1], shape[2])
    h, w = shape[1] - conv.kernel + 1, shape[2] - conv.kernel + 1
    if h < 1 or w < 1:
        raise ValueError(f"layers[{i}] (conv {conv.kernel}×{conv.kernel}, valid) gets a {shape[1]}×{shape[2]} map: too small")
    return (conv.out, h, w)


def check_layers(layers: tuple[Any, ...], input_shape: tuple[int, ...], classes: int) -> None:
    """ValueError unless the layers run on ``input_shape`` and end in ``classes`` logits."""
    shape = layer_shapes(layers, input_shape)[-1]
    n = 1
    for d in shape:
        n *= d
    if n != classes:
        raise ValueError(f"the last layer outputs {shape} = {n} values; the model must end in {classes} logits "
                         f"(e.g. Dense({classes}, activation='none'))")


def check_fits(model: Any, data: Any, probes: tuple[Any, ...]) -> None:
    """What a run configuration must satisfy across its fields (``RunConfig``'s validator).

    Raises:
        ValueError: ``data.val_size`` leaves no training images of ``sklearn_digits``; a ``Layers`` model does not run on the data set's images or does not end in its
            number of classes; a probe that only makes sense on MNIST on another data set; an
            import-path model outside the allowlist (:func:`sources.module_file`). Each message names
            the field.
    """
    dataset = data.dataset
    shape, classes = sources.shape_of(dataset), sources.classes_of(dataset)
    if model.kind == "layers" and shape is not None and classes is not None:
        check_layers(model.layers, shape, classes)
    name = sources.name_of(dataset)
    pool = sources.SKLEARN_DIGITS_IMAGES - sources.SKLEARN_DIGITS_TEST
    if name == "sklearn_digits" and data.val_size >= pool:
        raise ValueError(f"data.val_size={data.val_size} leaves no training images: sklearn_digits' training split "
                         f"has {pool:,} images ({sources.SKLEARN_DIGITS_IMAGES:,} less {sources.SKLEARN_DIGITS_TEST} "
                         f"for testing); choose data.val_size below {pool}, e.g. 180")
    if name != "mnist":
        for i, probe in enumerate(probes):
            if probe.name in sources.MNIST_ONLY_PROBES:
                raise ValueError(f"probes[{i}] ({probe.name!r}) is for MNIST only ({sources.MNIST_ONLY_PROBES[probe.name]}); "
                                 f"data.dataset is {name!r}")
    if model.kind == "import":
        sources.module_file(model.target)
