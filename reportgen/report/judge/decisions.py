"""A study's sequential decisions as the pages read them: the record's member for a pair or a bound, its
latest decision and how it was made (:mod:`reportgen.report.judge.verdicts` makes them). Reads the record only."""
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
    def sequential(self) -> bool:
        """Whether a look of the sequential design made the decision (not the one look at the seeds a study has)."""
        return self.record.spending != FIXED

    @property
    def over(self) -> str:
        """The test and its seeds: ``paired t test over 7 seeds``; Welch's test names both samples
        (``over 3 + 9 seeds``) where the decision records them."""
        d = self.decision
        return (f"{d.test} over {d.n_each[0]} + {d.n_each[1]} seeds" if d.n_each is not None else
                f"{d.test} over {d.n} seed{'s' if d.n != 1 else ''}")

    @property
    def how(self) -> str:
        """``paired t test over 7 seeds, decided at look 3 of the sequential design (level 0.0031; …)`` or,
        for the one look at the seeds a study has, ``paired t test over 3 seeds, adjusted p = 0.04
        over the study's 6 comparisons (Shaffer)`` (the test and its seeds: :attr:`over`)."""
        d, rec, over = self.decision, self.record, self.over
        m = hypotheses(rec.family)
        if rec.spending == FIXED:
            p = d.p_adjusted if self.member.delta is None or d.verdict != "equivalent" else d.p_equivalence_adjusted
            shown = "n/a" if p is None else "< 0.001" if p < 0.001 else f"= {p:.2g}"
            k = len(rec.family)
            return f"{over}, adjusted p {shown} over the study's {k} comparison{'' if k == 1 else 's'} (Shaffer)"
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


def oriented(f: Found, a: str) -> tuple[float, float | None, float | None]:
    """(estimate, low, high) of the decision as ``a`` − other: the record may hold the pair the other way
    round, and then the interval is negated and swapped. low/high are None without an interval."""
    d = f.decision
    if d.low is None or d.high is None:
        return signed(f, a), None, None
    return (signed(f, a), d.low, d.high) if f.member.a == a else (signed(f, a), -d.high, -d.low)


def detail(f: Found, a_label: str, b_label: str, a: str, unit: str, named: bool = True) -> str:
    """What :func:`sentence` gives in brackets: the estimate (unless a winner is ``named`` beside it), its
    95 % CI and how the verdict was reached."""
    diff, lo, hi = oriented(f, a)
    u = f" {unit}" if unit else ""
    if named and f.decision.verdict in ("a ahead", "b ahead"):
        ci = f"95 % CI {min(abs(lo), abs(hi)):.2f}–{max(abs(lo), abs(hi)):.2f}, " if lo is not None else ""
        return f"{ci}{f.how}"
    ci = f"95 % CI {lo:.2f}–{hi:.2f}, " if lo is not None else ""
    return f"{a_label} − {b_label} = {diff:+.2f}{u}, {ci}{f.how}"


def sentence(f: Found, a_label: str, b_label: str, a: str, unit: str) -> str:
    """The one verdict in words, as ``a`` against the other: ``X beats Y by 0.33 pp (95 % CI 0.10–0.56,
    how)``, ``A and B are equivalent within ±0.22 pp (…)`` or ``undecided between A and B (…)``."""
    diff, u, why = signed(f, a), f" {unit}" if unit else "", detail(f, a_label, b_label, a, unit)
    if f.decision.verdict in ("a ahead", "b ahead"):
        win, lose, by = (a_label, b_label, diff) if diff > 0 else (b_label, a_label, -diff)
        return f"{win} beats {lose} by {by:.2f}{u} ({why})"
    if f.decision.verdict == "equivalent":
        return f"{a_label} and {b_label} are equivalent within ±{f.member.delta:.2f}{u} ({why})"
    return f"undecided between {a_label} and {b_label} ({why})"


def strength(records: list[Record | None]) -> tuple[int, float]:
    """How much a study's verdicts show, for ordering its key finding: ``(rank, effect)`` with rank 0 when a
    pair on test accuracy is decided as a difference (effect: the largest decided |difference|, pp), 1 when
    only a bound, an equivalence or another metric is decided (effect 0), 2 when nothing is decided.
    ``records``: the study's sequential record and its one-look record (either may be None); a member
    decided in both counts once, by its latest decision in the first record that holds it."""
    seen: set[str] = set()
    best, rank = 0.0, 2
    for record in records:
        latest = record.decided() if record is not None else {}
        for m in record.family if record is not None else []:
            got = latest.get(m.id)
            if got is None or m.key in seen:
                continue
            seen.add(m.key)
            d = got[0]
            if d.verdict == "undecided":
                continue
            if m.b is not None and m.metric == "test_accuracy" and d.verdict in ("a ahead", "b ahead"):
                rank, best = 0, max(best, abs(d.diff or 0.0))
            else:
                rank = min(rank, 1)
    return rank, best
