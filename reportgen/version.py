"""The runner version: a hash of the code that computes a run's numbers, and nothing else.

Hashed per run: the data pipeline, the training loop (precision included), the test metrics, and
the module of the run's own model family. Analyses, figures, templates and the CLI are not part of
it: editing them retrains nothing (DESIGN: "Runs, cache, results"). Torch-free.
"""
from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

PKG = Path(__file__).parent
CORE = ("data.py", "train.py", "optim.py", "metrics.py", "models/common.py")


@lru_cache(maxsize=None)
def _file_hash(rel: str) -> str:
    return hashlib.sha256((PKG / rel).read_bytes()).hexdigest()


def runner_version(model_kind: str, augmented: bool = False, probed: bool = False, eval_probed: bool = False,
                   range_test: bool = False, predict_probed: bool = False, digits_probed: bool = False) -> str:
    """16 hex digits over CORE, ``models/<model_kind>.py`` and, only for runs that use them,
    ``augment.py``, ``probes.py``, ``probes_eval.py`` and ``probes_predict.py`` (for their probes),
    ``digits.py`` (the inputs of the custom_digits and robustness probes) and ``lrfinder.py`` (range
    tests). A file is added only where it is used, so adding one kept every earlier run's version."""
    h = hashlib.sha256()
    extra = (("augment.py",) if augmented else ()) + (("probes.py",) if probed else ()) \
        + (("probes_eval.py",) if eval_probed else ()) + (("lrfinder.py",) if range_test else ()) \
        + (("probes_predict.py",) if predict_probed else ()) + (("digits.py",) if digits_probed else ())
    for rel in (*CORE, f"models/{model_kind}.py", *extra):
        h.update(rel.encode() + b"\0" + _file_hash(rel).encode())
    return h.hexdigest()[:16]
