"""The one registry of every probe a spec may name (``spec.ProbeName``), by name.

Each probe is a numerics component of its own (``probe.<name>`` in :data:`reportgen.spec.numerics.VERSIONS`).
"""
from __future__ import annotations

from reportgen.run.probes import evaluation, predictions, training
from reportgen.run.probes.training import Probe
from reportgen.spec.config import RunConfig

PROBES: dict[str, type[Probe]] = {**training.PROBES, "test_curve": evaluation.TestCurve,
                                  "feature_maps": evaluation.FeatureMaps, **predictions.PROBES}


def make_probes(config: RunConfig) -> tuple[Probe, ...]:
    """The probes a run config declares, in declaration order."""
    return tuple(PROBES[s.name](s, config) for s in config.probes)
