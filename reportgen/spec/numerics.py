"""Numerics versions: one small integer per component that computes a run's numbers.

A run's key (:attr:`reportgen.spec.expand.Run.key`) holds the versions of the components the run uses,
not the bytes of their source files: a refactor, a docstring, a moved function or a new module
retrains nothing, and a real change to what a component computes retrains exactly the runs that use
it. The table :data:`VERSIONS` is the one place the versions live.

Components (what each covers, and which runs use it):

===================  ==================================================================  ==========================
component            code whose numbers it stands for (under ``reportgen/``)             used by
===================  ==================================================================  ==========================
``data``             loading, normalisation and splits (``data/mnist.py``)               every run
``data.<loader>``    another data set's loader (``data/sets.py``): ``mnist_format``      runs on that data set
                     (fashion_mnist, kmnist), ``sklearn_digits``, ``image_folder``
``trainer``          training loop, loss, optimizers, lr schedules, packed training      every run
                     (``run/train.py``, ``run/optim.py``, ``run/multirun.py``)
``metrics``          final test metrics (``run/metrics.py``)                             every run but range tests
``range_test``       the lr range test (``run/lrfinder.py``)                             runs with ``train.range_test``
``augment``          training-time augmentation (``run/augment.py``)                     runs with ``train.augment``
``digits``           outside digits and perturbations (``data/digits.py``,               ``custom_digits``, ``robustness``
                     ``run/perturb.py``)
``model.<kind>``     one model family: ``run/models/<kind>.py`` with ``common.py``        runs of that ``model.kind``
                     (``model.import``: building a model by import path; the user's
                     module itself enters the key by its source digest)
``probe.<name>``     one training-time probe (``run/probes/``)                           runs that declare it
===================  ==================================================================  ==========================

**The bump rule.** Bump a component's version (+1) in the same commit as any change that alters a
number it computes for some run: initialisation, data order, a loss, an optimizer step, a metric's
formula, a probe's rounding. Do not bump for changes that leave every number the same (refactors,
renames, comments, speed-ups with identical results). Every component has a golden fingerprint
(``tests/fingerprints/<component>.json``): a tiny deterministic run recorded under its current
version. ``python -m reportgen.run.fingerprints check`` (and ``tests/test_numerics.py``) fails when a
component's numbers moved without a bump, or when a version was bumped and its fingerprint not
re-recorded; ``python -m reportgen.run.fingerprints record COMPONENT`` re-records after a bump (and refuses
to overwrite a fingerprint with other numbers under the same version). The comparison tolerates the
last-bit differences between CPU kernel sets (AVX2, AVX512, the default kernels).

Torch-free: keys are computed when listing and planning, which never import torch.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from reportgen.spec.config import RunConfig

#: The numerics version of every component. Bump by hand (see the module docstring).
VERSIONS: dict[str, int] = {
    "data": 1,
    "data.mnist_format": 1,
    "data.sklearn_digits": 1,
    "data.image_folder": 1,
    "trainer": 1,
    "metrics": 1,
    "range_test": 1,
    "augment": 1,
    "digits": 1,
    "model.mlp": 1,
    "model.cnn": 1,
    "model.layers": 1,
    "model.resnet": 1,
    "model.import": 1,
    "probe.weight_norms": 1,
    "probe.weight_histograms": 1,
    "probe.grad_norms": 1,
    "probe.saturation": 1,
    "probe.grad_noise": 1,
    "probe.first_layer_weights": 1,
    "probe.digit_panel": 1,
    "probe.test_curve": 1,
    "probe.feature_maps": 1,
    "probe.predictions": 1,
    "probe.custom_digits": 1,
    "probe.robustness": 1,
    "probe.sanity": 1,
}

#: The loader component of each named data set other than MNIST (a folder's is ``data.image_folder``).
DATA_COMPONENT = {"fashion_mnist": "data.mnist_format", "kmnist": "data.mnist_format",
                  "sklearn_digits": "data.sklearn_digits"}
#: Probes whose inputs :mod:`reportgen.data.digits` and :mod:`reportgen.run.perturb` make (preprocessing, synthetic set, perturbations).
DIGITS_PROBES = ("custom_digits", "robustness")


def components(config: "RunConfig") -> list[str]:
    """The components a run of ``config`` uses, in :data:`VERSIONS` order.

    Raises:
        KeyError: the config names a model family or probe that has no entry in :data:`VERSIONS`.
    """
    used = {"data", "trainer", f"model.{config.model.kind}"}
    dataset = config.data.dataset
    if dataset != "mnist":
        used.add(DATA_COMPONENT.get(dataset, "data.image_folder") if isinstance(dataset, str) else "data.image_folder")
    used.add("range_test" if config.train.range_test is not None else "metrics")
    if config.train.augment is not None:
        used.add("augment")
    for probe in config.probes:
        used.add(f"probe.{probe.name}")
        if probe.name in DIGITS_PROBES:
            used.add("digits")
    missing = used - VERSIONS.keys()
    if missing:
        raise KeyError(f"no numerics version for {', '.join(sorted(missing))}: add it to "
                       "reportgen.spec.numerics.VERSIONS (with a fingerprint)")
    return [name for name in VERSIONS if name in used]


def versions(config: "RunConfig") -> dict[str, int]:
    """``{component: version}`` for the components of ``config`` (:func:`components`)."""
    return {name: VERSIONS[name] for name in components(config)}


def changes(stored: dict[str, int] | None, current: dict[str, int]) -> list[str]:
    """What differs between a result's recorded versions and the current ones, e.g.
    ``["trainer 1→2", "augment –→1"]`` (– for a component absent on that side); ``[]`` when equal.
    ``stored`` None (a result written before numerics versions) gives ``["no numerics versions"]``."""
    if stored is None:
        return ["no numerics versions"]
    out = []
    for name in [*current, *(n for n in stored if n not in current)]:
        old, new = stored.get(name), current.get(name)
        if old != new:
            out.append(f"{name} {'–' if old is None else old}→{'–' if new is None else new}")
    return out
