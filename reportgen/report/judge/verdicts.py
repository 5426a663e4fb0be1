"""Three-way verdicts decided by adding seeds: the statistics behind ``reportgen run --until-decided``.

A study's *family* (:func:`family`) is every comparison it declares: its claims (a pair of
variants, a variant against a bound; "highest" is the named variant against each other one) and its
reference comparisons on test accuracy, each pair once. Each pair has two hypotheses: "no
difference" (two-sided t test; rejected: ``a ahead`` or ``b ahead``, ahead meaning better on the
metric) and, where it has a margin δ, "differ by at least δ" (two one-sided tests, Schuirmann 1987;
rejected: ``equivalent`` within ±δ). A bound has one: "the mean equals the bound" (rejected:
``above`` or ``below``). Anything not rejected is ``undecided``.

The tests are made at *looks*: the first at the seeds the study has (n₀), then after each batch of
paired seeds (the same new seed numbers for every variant still in an undecided comparison), up to
a seed cap N. Validity under repeated looks: α is spent over the looks by the Pocock-type spending
function of Lan & DeMets (1983), f(t) = α ln(1 + (e − 1) t) at information fraction t = n / N
(Kim & DeMets 1987), each look getting the increment f(tₖ) − f(tₖ₋₁) (a Bonferroni split over the
looks, so it needs no normal approximation: Σ increments = α). Within a look, Holm's step-down
(Holm 1979) runs over the whole family's M hypotheses as a graphical procedure (Bretz et al. 2009):
a hypothesis is rejected when its p ≤ increment / (M − R), R the hypotheses rejected so far at any
look, which Maurer & Bretz (2013, *Statistics in Biopharmaceutical Research* 5:311–320) show
controls the family-wise error rate at α with group-sequential boundaries. A hypothesis of a
decided pair is no longer tested. The procedure is conservative (the split over looks ignores their
correlation); the A/A simulation in the test suite measures its error rate.

Why not a library: ``adastop`` (Mathieu et al. 2023) decides by permutation tests on two
independent samples, which would drop the pairing by seed that most comparisons here have.
Torch-free.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
from scipy import stats as st

from reportgen.report.judge.decisions import Found, lookup
from reportgen.report.judge.margins import margin_of

from reportgen.results.sequential import FIXED, Decision, Look, Member, Record, hypotheses
from reportgen.results.summary import METRICS, StudyResults

ALPHA = 0.05
SPENDING = "Pocock-type α·ln(1 + (e − 1)·n/N) (Lan & DeMets 1983), split over the looks; Holm within a look"
VERDICTS = ("a ahead", "b ahead", "equivalent", "above", "below", "undecided")


def spending(t: float | np.ndarray, alpha: float = ALPHA) -> float | np.ndarray:
    """α spent by information fraction ``t`` ∈ [0, 1] (clipped): α ln(1 + (e − 1) t), the Pocock-type
    spending function (Lan & DeMets 1983, *Biometrika* 70:659–663); f(0) = 0, f(1) = α."""
    return alpha * np.log1p((math.e - 1) * np.clip(t, 0.0, 1.0))


def schedule(n0: int, batch: int, max_seeds: int) -> list[int]:
    """Seeds per variant at each look: n₀, n₀ + batch, …, the last one ``max_seeds`` (a smaller last
    batch when the cap is not a whole number of batches away). Raises ValueError if n₀ > cap."""
    if n0 > max_seeds:
        raise ValueError(f"the study already has {n0} seeds, more than the cap of {max_seeds}")
    looks = list(range(n0, max_seeds + 1, batch))
    return looks if looks[-1] == max_seeds else [*looks, max_seeds]


def increments(n0: int, batch: int, max_seeds: int, alpha: float = ALPHA) -> list[float]:
    """α each look of :func:`schedule` may spend: f(tₖ) − f(tₖ₋₁), summing to ``alpha``."""
    spent = [float(spending(n / max_seeds, alpha)) for n in schedule(n0, batch, max_seeds)]
    return [spent[0], *np.diff(spent).tolist()]


@dataclass(frozen=True)
class Stats:
    """Tests of many members at once; every field has the batch shape. diff: mean difference (or
    mean − bound); low/high: its two-sided 95 % CI; p: two-sided p of "no difference"; p_eq: two
    one-sided tests' p of "differ by at least δ" (NaN without a margin); n, df."""

    diff: np.ndarray
    low: np.ndarray
    high: np.ndarray
    p: np.ndarray
    p_eq: np.ndarray
    n: np.ndarray
    df: np.ndarray
    n_each: tuple[np.ndarray, np.ndarray] | None = None  # Welch's test: the seeds of a and of b


def t_tests(a: np.ndarray, b: np.ndarray | None, paired: bool, delta: float | None,
            bound: float = 0.0) -> Stats:
    """Student's paired t test (``paired``), Welch's test (``b`` given, not paired) or a one-sample
    test against ``bound`` (``b`` None), over the last axis (seeds; NaN entries are not seeds).

    a, b: float arrays of shape (..., n) in one unit; delta: the equivalence margin in that unit.
    The p-values equal scipy's ``ttest_rel``, ``ttest_ind(equal_var=False)``, ``ttest_1samp``; the
    equivalence p is max of the two one-sided p's against ±δ (Schuirmann 1987, *J. Pharmacokinet.
    Biopharm.* 15:657–680). Fewer than 2 seeds, or no spread with a zero mean: NaN.
    """
    a = np.asarray(a, float)
    each = None
    if b is None or paired:
        x = a - (bound if b is None else np.asarray(b, float))
        n = np.sum(np.isfinite(x), axis=-1)
        with warnings.catch_warnings():  # fewer than 2 seeds: NaN variance, reported as no test below
            warnings.simplefilter("ignore", RuntimeWarning)
            mean = np.nanmean(x, axis=-1)
            var = np.nanvar(x, axis=-1, ddof=1) if x.shape[-1] > 1 else np.full(mean.shape, np.nan)
        se, df = np.sqrt(var / n), n - 1.0
    else:
        b = np.asarray(b, float)
        na, nb = np.sum(np.isfinite(a), axis=-1), np.sum(np.isfinite(b), axis=-1)
        with warnings.catch_warnings():  # fewer than 2 seeds: NaN variance, reported as no test below
            warnings.simplefilter("ignore", RuntimeWarning)
            mean = np.nanmean(a, axis=-1) - np.nanmean(b, axis=-1)
            va, vb = np.nanvar(a, axis=-1, ddof=1) / na, np.nanvar(b, axis=-1, ddof=1) / nb
        se = np.sqrt(va + vb)
        with np.errstate(divide="ignore", invalid="ignore"):
            df = (va + vb) ** 2 / (va ** 2 / (na - 1) + vb ** 2 / (nb - 1))  # Welch–Satterthwaite
        n = np.minimum(na, nb)
        each = (na, nb)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = mean / se
        p = np.where(se > 0, 2 * st.t.sf(np.abs(z), df), np.where(mean != 0, 0.0, np.nan))
        half = st.t.ppf(0.975, df) * se
        if delta is None:
            p_eq = np.full(np.shape(mean), np.nan)
        else:
            lower = st.t.sf((mean + delta) / se, df)  # H0: diff ≤ −δ
            upper = st.t.cdf((mean - delta) / se, df)  # H0: diff ≥ +δ
            p_eq = np.where(se > 0, np.maximum(lower, upper), np.where(np.abs(mean) < delta, 0.0, 1.0))
    few = n < 2
    p, p_eq = np.where(few, np.nan, p), np.where(few, np.nan, p_eq)
    return Stats(mean, mean - half, mean + half, p, p_eq, n, df, each)


def step_down(p: np.ndarray, open_: np.ndarray, rejected: np.ndarray, m: int, increment: float) -> np.ndarray:
    """One look's Holm step-down over hypotheses: which open ones are rejected now.

    p: (S, H) p-values (NaN never rejects); open_: (S, H) bool, tested at this look; rejected:
    (S,) ints, hypotheses of the family rejected at earlier looks (updated in place); m: the family's
    size M; increment: this look's α. A hypothesis is rejected when p ≤ increment / (M − R), R
    counting the rejections so far, repeated until none is added (Holm 1979 as a graphical
    procedure, Bretz et al. 2009). Returns the (S, H) bool rejections of this look."""
    new = np.zeros(p.shape, bool)
    while True:
        level = increment / np.maximum(m - rejected, 1)
        hit = open_ & ~new & (np.nan_to_num(p, nan=2.0) <= level[:, None])
        if not hit.any():
            return new
        new |= hit
        rejected += hit.sum(axis=1)


def shaffer(p: list[float], member_of: list[int]) -> list[float]:
    """Adjusted p's of Shaffer's step-down (Shaffer 1986, *JASA* 81:826–831, method S1) for hypotheses
    of which at most one per member can be true ("no difference" and "differ by at least δ" of one pair
    exclude each other): the i-th smallest p is multiplied by t_i, the number of members that still have
    a hypothesis among the i-th and larger, and the products are made non-decreasing (capped at 1).
    NaN p's stay NaN and are never rejected. Reject where the adjusted p ≤ α; with one hypothesis per
    member this is Holm's procedure (Holm 1979)."""
    order = sorted((i for i in range(len(p)) if math.isfinite(p[i])), key=lambda i: p[i])
    out, running = [math.nan] * len(p), 0.0
    for k, i in enumerate(order):
        t = len({member_of[j] for j in order[k:]} | {member_of[j] for j in range(len(p)) if not math.isfinite(p[j])})
        running = max(running, min(1.0, t * p[i]))
        out[i] = running
    return out


def verdict_of(member: Member, diff: float, by_difference: bool, by_equivalence: bool) -> str:
    """The words of a decision: ``a ahead``/``b ahead`` (ahead = better on the metric), ``above``/``below``
    a bound, ``equivalent``, else ``undecided``. A pair found both different and within δ is ahead."""
    if by_difference:
        if member.b is None:
            return "above" if diff > 0 else "below"
        better = diff > 0 if METRICS[member.metric].higher_is_better else diff < 0
        return "a ahead" if better else "b ahead"
    return "equivalent" if by_equivalence else "undecided"


# --- the family of a study -------------------------------------------------------------------------


def family(sr: StudyResults, which: str = "all") -> tuple[list[Member], list[str]]:
    """(members, notes) of the study's family: ``which`` = ``claims`` (its expectations),
    ``comparisons`` (its reference comparisons on test accuracy) or ``all``. Each pair appears once
    (identical comparisons are one member); notes say what could not join (a trend claim, a timing, a
    claim naming a variant the study lacks).

    Raises:
        ValueError: ``which`` is none of the three.
    """
    from reportgen.report.judge.significance import pairs_of

    if which not in ("claims", "comparisons", "all"):
        raise ValueError(f"family {which!r}: one of claims, comparisons, all")
    members: dict[tuple, Member] = {}
    notes: list[str] = []

    def pair(metric: str, a: str, b: str, delta: float | None = None) -> None:
        key = (metric, frozenset((a, b)))
        if a != b and key not in members:
            d = delta if delta is not None else margin_of(sr, metric)
            members[key] = Member(id=f"{metric}: {sr.variant(a).label} vs {sr.variant(b).label}", metric=metric,
                                  a=a, b=b, delta=d)

    if which in ("claims", "all") and sr.spec is not None:
        for e in sr.spec.study.expect:
            m = METRICS.get(e.metric)
            if m is None or m.timing or m.epoch:
                notes.append(f"{e.metric}: {'a timing' if m and m.timing else 'an epoch count' if m else 'unknown'}"
                             " is not decided by adding seeds")
                continue
            try:
                own = sr.variant(e.variant).slug if e.variant else sr.reference
                for name in (e.higher_than, e.lower_than, e.equal_to, e.highest, e.lowest):
                    if name:
                        sr.variant(name)
            except KeyError as err:  # the claim's own check says so where it is shown
                notes.append(str(err.args[0]))
                continue
            if e.at_least is not None or e.at_most is not None:
                bound = (e.at_least if e.at_least is not None else e.at_most) * m.scale
                key = (e.metric, own, bound)
                members.setdefault(key, Member(id=f"{e.metric}: {sr.variant(own).label} vs {bound:g} {m.unit}".rstrip(),
                                               metric=e.metric, a=own, bound=bound))
            elif e.higher_than or e.lower_than or e.equal_to:
                other = sr.variant(e.higher_than or e.lower_than or e.equal_to).slug
                pair(e.metric, own, other, e.delta * m.scale if e.delta is not None else None)
            elif e.highest or e.lowest:
                named = sr.variant(e.highest or e.lowest).slug
                for v in sr.variants:  # a variant without a finite mean cannot rank
                    if v.runs and np.isfinite(v.clean.interval(e.metric).mean):
                        pair(e.metric, named, v.slug)
            else:
                notes.append(f"trend claim on {e.metric}: decided by a rank correlation, not by adding seeds")
    if which in ("comparisons", "all"):
        for a, b in pairs_of(sr):
            if a.runs and b.runs and all(r.get("test") for r in a.runs + b.runs):  # a range test has no test set
                pair("test_accuracy", a.slug, b.slug)
    return list(members.values()), notes


def test_member(sr: StudyResults, member: Member) -> tuple[Stats, str]:
    """The member's tests on the study's results now (seeds as
    :func:`reportgen.report.judge.significance.samples` picks them; display units), and the test's name."""
    from reportgen.report.judge.significance import samples

    a = sr.variant(member.a)
    if member.b is None:
        xs = [x * METRICS[member.metric].scale for x in a.clean.values(member.metric)]
        return t_tests(np.array([xs]), None, False, None, bound=member.bound or 0.0), "one-sample t test"
    s = samples(a, sr.variant(member.b), member.metric)
    return (t_tests(np.array([s.a]), np.array([s.b]), s.paired, member.delta),
            "paired t test" if s.paired else "Welch's t test")


def decision(member: Member, t: Stats, level: float, by_difference: bool, by_equivalence: bool,
             test: str) -> Decision:
    """A :class:`Decision` from row 0 of ``t``."""
    def f(x: np.ndarray) -> float | None:
        v = float(np.ravel(x)[0])
        return v if math.isfinite(v) else None

    diff = f(t.diff)
    each = None if t.n_each is None else (int(np.ravel(t.n_each[0])[0]), int(np.ravel(t.n_each[1])[0]))
    return Decision(verdict=verdict_of(member, diff or 0.0, by_difference, by_equivalence), diff=diff, low=f(t.low),
                    high=f(t.high), p=f(t.p), p_equivalence=f(t.p_eq) if member.delta is not None else None,
                    level=level, n=int(np.ravel(t.n)[0]), test=test, n_each=each)


# --- a look, on a study's results or on simulated ones ----------------------------------------------


def rejected_so_far(record: Record) -> int:
    """R: hypotheses of the family rejected at the record's looks."""
    return sum(len(d.rejected) for look in record.looks for d in look.decisions.values())


def open_members(record: Record) -> list[Member]:
    """The members not yet decided (every member before the first look)."""
    done = {mid for mid, (d, _) in record.decided().items() if d.verdict != "undecided"}
    return [m for m in record.family if m.id not in done]


def make_look(sr: StudyResults, record: Record, now: str) -> Look:
    """The record's next look on ``sr`` (which holds the seeds of that look): each open member tested
    (:func:`test_member`), Holm's step-down at this look's α increment over the family's M hypotheses
    (:func:`step_down`). Raises IndexError when the record has had all the looks its schedule allows."""
    k = len(record.looks)
    ns = schedule(record.n0, record.batch, record.max_seeds)
    inc = increments(record.n0, record.batch, record.max_seeds, record.alpha)[k]
    members = open_members(record)
    tests, names = zip(*(test_member(sr, m) for m in members)) if members else ((), ())
    p = np.array([[float(t.p[0]) for t in tests] + [float(t.p_eq[0]) for t in tests]]) if members else np.zeros((1, 0))
    has_margin = [m.b is not None and m.delta is not None for m in members]
    open_ = np.array([[True] * len(members) + has_margin], bool)
    if record.spending == FIXED:  # one look: Shaffer's step-down over the pairs (at most one true null each)
        cols = [j for j in range(p.shape[1]) if open_[0, j]]
        adj = shaffer([float(p[0, j]) for j in cols], [j % max(len(members), 1) for j in cols])
        new = np.zeros(p.shape[1], bool)
        for j, q in zip(cols, adj):
            new[j] = math.isfinite(q) and q <= inc
        level = inc / max(len(members), 1)
    else:  # Holm over the family's hypotheses at this look's increment (Maurer & Bretz 2013)
        rejected = np.array([rejected_so_far(record)])
        new = step_down(p, open_, rejected, hypotheses(record.family), inc)[0]
        level = inc / max(hypotheses(record.family) - rejected_so_far(record), 1)
    decisions = {}
    for i, (m, t) in enumerate(zip(members, tests)):
        by_diff, by_eq = bool(new[i]), bool(new[len(members) + i])
        d = decision(m, t, level, by_diff, by_eq, names[i])
        decisions[m.id] = d.model_copy(update={"rejected": [w for w, hit in (("difference", by_diff),
                                                                            ("equivalence", by_eq)) if hit]})
    return Look(look=k + 1, n=ns[k], spent=float(spending(ns[k] / record.max_seeds, record.alpha)), at=now,
                decisions=decisions)


# --- one verdict per comparison: what every page reads ----------------------------------------------


def judged(sr: StudyResults) -> Record:
    """The study's verdicts at the seeds it has, computed once and kept on ``sr``: one look over the
    family (:func:`family`, ``all``) less the members its sequential record decides, all of α at that
    look, Shaffer's step-down over the family's pairs (:func:`shaffer`; :data:`FIXED`)."""
    if sr.judged is not None:
        return sr.judged
    members = family(sr, "all")[0] if sr.variants and sr.runs else []
    if sr.sequential is not None:
        decided = {m.key for m in sr.sequential.family}
        members = [m for m in members if m.key not in decided]
    n0 = max(1, len(sr.spec.study.sweep.seeds) if sr.spec is not None else max(len(v.runs) for v in sr.variants))
    record = Record(study=sr.spec.name if sr.spec is not None else "", alpha=ALPHA, spending=FIXED, max_seeds=n0, batch=1, n0=n0, family=members)
    if members:
        look = make_look(sr, record, "")
        record.looks.append(_adjusted(look, members))
    sr.judged = record
    return record


def _adjusted(look: Look, members: list[Member]) -> Look:
    """``look`` with each decision's adjusted p's over the family (:func:`shaffer`)."""
    cols = [(m.id, "p", look.decisions[m.id].p, i) for i, m in enumerate(members)]
    cols += [(m.id, "p_equivalence", look.decisions[m.id].p_equivalence, i) for i, m in enumerate(members)
             if m.b is not None and m.delta is not None]
    adj = shaffer([math.nan if p is None else p for *_, p, _ in cols], [i for *_, i in cols])
    out = {k: d.model_copy() for k, d in look.decisions.items()}
    for (k, w, _, _), q in zip(cols, adj):
        if math.isfinite(q):
            out[k] = out[k].model_copy(update={"p_adjusted" if w == "p" else "p_equivalence_adjusted": q})
    return look.model_copy(update={"decisions": out})


def found(sr: StudyResults, metric: str, a: str, b: str | None = None, bound: float | None = None) -> Found | None:
    """The one verdict on ``a`` against ``b`` (or ``bound``) on ``metric``: from the sequential record when
    it decides the pair, else from :func:`judged`; None when neither holds it (not in the family)."""
    return lookup(sr.sequential, metric, a, b, bound) or lookup(judged(sr), metric, a, b, bound)


def comparisons(sr: StudyResults) -> list:
    """The study's reference comparisons on test accuracy
    (:func:`reportgen.report.judge.significance.comparisons`), each with its one verdict attached."""
    from dataclasses import replace

    from reportgen.report.judge.significance import comparisons as tested

    return [replace(c, decided=found(sr, "test_accuracy", c.a.slug, c.b.slug)) for c in tested(sr)]
