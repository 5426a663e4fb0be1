"""The one registry of every probe a spec may name (``spec.ProbeName``), by name.

Each probe is a numerics component of its own (``probe.<name>`` in :data:`reportgen.spec.numerics.VERSIONS`).
"""
from __future__ import annotations

from reportgen.run.probes import training as probes, evaluation as probes_eval, predictions as probes_predict
from reportgen.run.probes.training import Probe
from reportgen.spec.config import RunConfig

PROBES: dict[str, type[Probe]] = {**probes.PROBES, "test_curve": probes_eval.TestCurve,
                                  "feature_maps": probes_eval.FeatureMaps, **probes_predict.PROBES}


def make_probes(config: RunConfig) -> tuple[Probe, ...]:
    """The probes a run config declares, in declaration order."""
    return tuple(PROBES[s.name](s, config) for s in config.probes)
