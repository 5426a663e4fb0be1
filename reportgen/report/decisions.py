"""A study's sequential decisions as the pages read them: the record's member for a pair or a bound, its
latest decision and how it was made (:mod:`reportgen.report.verdicts` makes them). Reads the record only."""
from __future__ import annotations

from dataclasses import dataclass

from reportgen.results.sequential import FIXED, Decision, Member, Record, hypotheses


@dataclass(frozen=True)
class Found:
    """A member of a study's record with its latest decision and the look that made it."""

    member: Member
    decision: Decision
    look: int
    record: Record

    @property
    def how(self) -> str:
        """``paired t test over 7 seeds, decided at look 3 of the sequential design (level 0.0031; …)`` or,
        for the one look at the seeds a study has, ``paired t test over 3 seeds, Holm-adjusted p = 0.04
        over the study's 12 hypotheses``."""
        d, rec = self.decision, self.record
        over = f"{d.test} over {d.n} seed{'s' if d.n != 1 else ''}"
        m = hypotheses(rec.family)
        if rec.spending == FIXED:
            p = d.p_adjusted if self.member.delta is None or d.verdict != "equivalent" else d.p_equivalence_adjusted
            shown = "n/a" if p is None else "< 0.001" if p < 0.001 else f"= {p:.2g}"
            return f"{over}, Holm-adjusted p {shown} over the study's {m} hypothes{'is' if m == 1 else 'es'}"
        state = (f"decided at look {self.look}" if d.verdict != "undecided" else
                 f"undecided after look {self.look}" + (f" ({rec.stopped})" if rec.stopped else ""))
        return (f"{over}, {state} of the sequential design (level {d.level:.2g}; α = {rec.alpha:g} spent over "
                f"the looks, Holm over {m} hypothes{'is' if m == 1 else 'es'})")


def lookup(record: Record | None, metric: str, a: str, b: str | None = None, bound: float | None = None) -> Found | None:
    """``record``'s member for ``a`` against ``b`` (either order) or against ``bound`` on ``metric``, with its
    latest decision; None when the record is None or has no such member. ``a``, ``b``: variant slugs."""
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
