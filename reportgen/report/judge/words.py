"""Words around numbers: counted nouns with the right plural, lists joined with "and", per-seed values.

Pages never write "seed(s)": :func:`count` picks the singular or the plural from the number.
Registered as Jinja filters by :mod:`reportgen.report.pages.render` (``{{ n | count("seed") }}``).
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence

#: Irregular plurals the pages use; every other noun takes "s" (or "es" after s, x, ch, sh).
IRREGULAR = {"epoch": "epochs", "diagnosis": "diagnoses", "was": "were", "is": "are", "has": "have", "does": "do", "differs": "differ", "reaches": "reach",
             "stays": "stay", "passes": "pass", "fails": "fail", "misses": "miss", "meets": "meet"}


def plural(word: str, n: int | float) -> str:
    """``word`` as it agrees with the number ``n``: "seed" → "seeds" unless n == 1; verbs in the third
    person singular ("differs", "reaches") → their plural ("differ", "reach") unless n == 1."""
    if n == 1:
        return word
    if " " in word:  # a phrase: its last word agrees ("distinct diagnosis" → "distinct diagnoses")
        head, last = word.rsplit(" ", 1)
        return f"{head} {plural(last, n)}"
    if word in IRREGULAR:
        return IRREGULAR[word]
    if word.endswith(("s", "x", "ch", "sh")):
        return word + "es"
    if word.endswith("y") and word[-2:-1] not in "aeiou":
        return word[:-1] + "ies"
    return word + "s"


def count(n: int | float, word: str, digits: str = ",") -> str:
    """``n`` and ``word`` agreeing with it: ``count(1, "seed")`` → "1 seed", ``count(3, "seed")`` →
    "3 seeds", ``count(1200, "image")`` → "1,200 images" (``digits`` is the integer format spec)."""
    shown = format(n, digits) if float(n).is_integer() else f"{n:g}"
    return f"{shown} {plural(word, n)}"


def join(items: Iterable[str], last: str = "and") -> str:
    """"a", "a and b", "a, b and c" (no serial comma); empty input gives ""."""
    xs = [str(x) for x in items]
    if len(xs) <= 1:
        return "".join(xs)
    return f"{', '.join(xs[:-1])} {last} {xs[-1]}"


def seeds(values: Sequence[float], digits: int = 2, sep: str = "/") -> str:
    """Per-seed values joined in seed order, e.g. ``97.72/97.79/97.80``; NaN as "—"."""
    return sep.join("—" if v != v else f"{v:.{digits}f}" for v in values)


def seed_list(seeds: Sequence[int]) -> str:
    """``0, 1, 2`` for up to three seeds, else runs of consecutive seeds as ranges: ``0–8, 10–19``."""
    if len(seeds) <= 3:
        return ", ".join(map(str, seeds))
    runs: list[list[int]] = []
    for x in seeds:
        if runs and x == runs[-1][-1] + 1:
            runs[-1].append(x)
        else:
            runs.append([x])
    return ", ".join(str(r[0]) if len(r) == 1 else f"{r[0]}–{r[-1]}" for r in runs)
