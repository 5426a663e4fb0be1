"""Stage 1: what to run. Declarative study specs (:mod:`.schema`, re-exported here so that a spec file
reads ``from reportgen.spec import MLP, Study, Sweep``), the catalog of spec files, their expansion into
runs with run keys, tuning chains, and the numerics versions that enter the keys."""
from reportgen.spec.schema import *  # noqa: F401,F403 - the spec vocabulary, one import away
