"""Checks a plan must pass before any run trains: the data sets it reads can be read, and every
import-path model builds for its data set and outputs one logit per class. A failure raises with the
spec, variant and reason, and nothing is trained or written."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from reportgen.data.fetch import DataError, ensure


def _dataset_key(dataset: Any) -> str:
    return dataset if isinstance(dataset, str) else dataset.model_dump_json()


def preflight(todo: list[Any], data_root: Path, check_mnist: Callable[[Path], str] = ensure) -> None:
    """Check the planned runs ``todo`` (``Planned``) before training; MNIST with ``check_mnist``.

    Raises:
        DataError: MNIST missing or corrupt (:func:`reportgen.data.fetch.ensure`), or another data set
            that cannot be read (:func:`reportgen.data.sets.read`), naming the spec and variant.
        reportgen.spec.sources.ModelError: an import-path model that does not build or does not
            fit its data set, naming the spec and variant.
    """
    datasets: dict[str, Any] = {}
    for p in todo:
        datasets.setdefault(_dataset_key(p.run.config.data.dataset), p)
    for key, p in datasets.items():
        dataset = p.run.config.data.dataset
        if dataset == "mnist":
            check_mnist(data_root)
            continue
        from reportgen.data import sets

        try:
            pool = len(sets.read(dataset, data_root)["y_train"])
        except DataError as err:
            raise DataError(f"{p.run.study} (variant {p.run.variant!r}): {err}") from None
        for q in todo:
            if _dataset_key(q.run.config.data.dataset) == key and q.run.config.data.val_size >= pool:
                raise DataError(f"{q.run.study} (variant {q.run.variant!r}): data.val_size={q.run.config.data.val_size} "
                                f"leaves no training images: the data set's training split has {pool} images")
    built: set[str] = set()
    for p in todo:
        config = p.run.config
        if config.model.kind != "import":
            continue
        which = config.model.model_dump_json() + _dataset_key(config.data.dataset)
        if which in built:
            continue
        built.add(which)
        import torch

        from reportgen.run.models import build_for
        from reportgen.spec.sources import ModelError, NotAllowed

        try:
            with torch.device("meta"):
                build_for(config)
        except (ModelError, NotAllowed) as err:
            raise ModelError(f"{p.run.study} (variant {p.run.variant!r}): {err}") from None
