"""A user's model named by import path (``spec.Import``): ``"package.module:ClassName"`` built as
``ClassName(**init_args)``, from a module on the project's allowlist only
(:func:`reportgen.spec.sources.module_file`). Constructor parameters named ``in_channels``,
``num_classes`` or ``image_size`` that ``init_args`` leaves out are filled from the data set.
"""
from __future__ import annotations

import importlib
import inspect
import sys
from pathlib import Path

import torch
from torch import nn

from reportgen.spec.sources import ModelError, module_file, project_root

#: Constructor parameters filled from the data set when the spec does not give them.
FROM_DATA = ("in_channels", "num_classes", "image_size")


def resolve(target: str) -> type:
    """The class ``target`` names, imported after the allowlist check.

    Raises:
        reportgen.spec.sources.NotAllowed: the module is not allowed or not found.
        ModelError: the module has no such attribute, or it is not an ``nn.Module`` subclass.
    """
    path = module_file(target)
    module, _, name = target.partition(":")
    root = str(project_root())
    if root not in sys.path:
        sys.path.insert(0, root)
    loaded = sys.modules.get(module)
    if loaded is not None and Path(getattr(loaded, "__file__", "") or "").resolve() != path.resolve():
        del sys.modules[module]  # another project's module of the same name: import the allowed file
    cls = getattr(importlib.import_module(module), name, None)
    if cls is None:
        raise ModelError(f"model.target {target!r}: module {module!r} has no attribute {name!r}")
    if not (inspect.isclass(cls) and issubclass(cls, nn.Module)):
        raise ModelError(f"model.target {target!r}: {name} is not a torch.nn.Module subclass")
    return cls


def build(cfg: dict, shape: tuple[int, int, int] = (1, 28, 28), classes: int = 10) -> nn.Module:
    """``cfg``: an ``Import`` spec as a dict. The model is checked on one zero image: its output must be
    float (1, classes).

    Raises:
        ModelError: the constructor rejects the arguments, the forward pass fails, or the output shape
            is not (1, classes); each message names the target.
    """
    target = cfg["target"]
    cls = resolve(target)
    kwargs = dict(cfg.get("init_args") or {})
    given = {"in_channels": shape[0], "num_classes": classes, "image_size": shape[1]}
    params = inspect.signature(cls).parameters
    for name in FROM_DATA:
        if name in params and name not in kwargs:
            kwargs[name] = given[name]
    try:
        model = cls(**kwargs)
    except TypeError as err:
        raise ModelError(f"model.target {target!r}: {cls.__name__}(**{kwargs}) failed: {err}") from None
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            out = model(torch.zeros(1, *shape))
    except Exception as err:  # noqa: BLE001 - any failure of user code is reported with the target
        raise ModelError(f"model.target {target!r}: the forward pass on a (1, {', '.join(map(str, shape))}) image "
                         f"failed: {type(err).__name__}: {err}") from None
    model.train(was_training)
    if tuple(out.shape) != (1, classes):
        raise ModelError(f"model.target {target!r}: outputs shape {tuple(out.shape)} for one image; the data set "
                         f"has {classes} classes, so the model must output (batch, {classes}) logits")
    return model
