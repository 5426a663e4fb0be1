"""A study's sequential decisions as the pages read them: the record's member for a pair or a bound, its
latest decision and how it was made (:mod:`reportgen.report.verdicts` makes them). Reads the record only."""
from __future__ import annotations

from dataclasses import dataclass

from reportgen.results.sequential import Decision, Member, Record, hypotheses
from reportgen.results.summary import StudyResults


@dataclass(frozen=True)
class Found:
    """A member of a study's record with its latest decision and the look that made it."""

    member: Member
    decision: Decision
    look: int
    record: Record

    @property
    def how(self) -> str:
        """``paired t test over 7 seeds, decided at look 3 of the sequential design (level 0.0031)``."""
        d = self.decision
        state = (f"decided at look {self.look}" if d.verdict != "undecided" else
                 f"undecided after look {self.look}" + (f" ({self.record.stopped})" if self.record.stopped else ""))
        return (f"{d.test} over {d.n} seed{'s' if d.n != 1 else ''}, {state} of the sequential design "
                f"(level {d.level:.2g}; α = {self.record.alpha:g} spent over the looks, Holm over "
                f"{hypotheses(self.record.family)} hypotheses)")


def found(sr: StudyResults, metric: str, a: str, b: str | None = None, bound: float | None = None) -> Found | None:
    """The record's member for ``a`` against ``b`` (either order) or against ``bound`` on ``metric``, or None
    (no record, or not in its family). ``a``, ``b``: variant slugs."""
    record = getattr(sr, "sequential", None)
    if record is None:
        return None
    decided = record.decided()
    for m in record.family:
        same = ({m.a, m.b} == {a, b}) if b is not None else (m.b is None and m.a == a and m.bound is not None
                                                               and bound is not None and abs(m.bound - bound) < 1e-9)
        if m.metric == metric and same and m.id in decided:
            d, look = decided[m.id]
            return Found(m, d, look, record)
    return None


def signed(f: Found, a: str) -> float:
    """The decision's estimate as ``a`` − other (the record may hold the pair the other way round)."""
    return (f.decision.diff or 0.0) * (1 if f.member.a == a else -1)
