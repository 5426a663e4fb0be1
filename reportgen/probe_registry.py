"""The one registry of every probe a spec may name (``spec.ProbeName``), by name.

Each probe is a numerics component of its own (``probe.<name>`` in :data:`reportgen.numerics.VERSIONS`).
"""
from __future__ import annotations

from . import probes, probes_eval, probes_predict
from .probes import Probe
from .spec import RunConfig

PROBES: dict[str, type[Probe]] = {**probes.PROBES, "test_curve": probes_eval.TestCurve,
                                  "feature_maps": probes_eval.FeatureMaps, **probes_predict.PROBES}


def make_probes(config: RunConfig) -> tuple[Probe, ...]:
    """The probes a run config declares, in declaration order."""
    return tuple(PROBES[s.name](s, config) for s in config.probes)
