"""Every phrase a spec quotes from a seed notebook is in that notebook's text.

The seed notebooks' descriptions live beside the repository, in ``../shared/seeds/`` (files
``000_*.txt`` … ``004_*.txt``). A spec attributes a quote to notebook NNN in two places:

- an ``Expect``'s ``source`` that names "seed notebook NNN": it must quote the notebook (a claim
  attributed to a notebook says which words of it it rests on), and each quote must be in notebook
  NNN (the nearest number before the quote, when the source names several);
- the module docstring: a quote in a clause (the text between sentence ends, semicolons and the
  docstring's field headers) that mentions a notebook belongs to the notebook number nearest before
  it in the clause, or, when the clause names none ("The notebook reported ..."), to the notebook of
  the docstring's ``Source:`` line.

Quotes are compared after folding case and whitespace and dropping Markdown emphasis (``*``).
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from reportgen.spec.catalog import load_spec, spec_paths

REPO = Path(__file__).resolve().parents[1]
SEEDS = REPO.parent / "shared" / "seeds"
SPECS = spec_paths(REPO / "experiments")

QUOTE = re.compile(r'"([^"\n]+)"|“([^”]+)”')
NUMBER = re.compile(r"(?<![\d,.])(\d{3})(?!\d)")
FIELD = re.compile(r"\n(?=[A-Z][a-z]+:\s)")  # "Run:", "Expected:", "Cost:", "Source:" at a line start


def norm(text: str) -> str:
    """Lower case, single spaces, no Markdown emphasis."""
    return " ".join(text.replace("*", "").lower().split())


def notebooks() -> dict[str, str]:
    """Notebook number ("000") → its normalised text."""
    if not SEEDS.is_dir():
        print(f"skipping: no seed notebooks at {SEEDS}")
        pytest.skip(f"no seed notebooks at {SEEDS} (they live beside the repository, in ../shared/seeds)")
    return {p.name[:3]: norm(p.read_text(encoding="utf-8", errors="replace")) for p in sorted(SEEDS.glob("[0-9][0-9][0-9]_*.txt"))}


def quotes(text: str) -> list[tuple[int, str]]:
    """(start offset, quoted phrase) for every double-quoted phrase in ``text``."""
    return [(m.start(), m.group(1) or m.group(2)) for m in QUOTE.finditer(text)]


def source_quotes(source: str) -> list[tuple[str, str]]:
    """(notebook, phrase) for each quote of an Expect ``source`` that names a seed notebook."""
    if "notebook" not in source.lower():
        return []
    out = []
    for at, phrase in quotes(source):
        numbers = NUMBER.findall(source[:at])
        out.append((numbers[-1] if numbers else "", phrase))
    return out


def clauses(doc: str) -> list[str]:
    """The docstring cut at field headers, then at semicolons and sentence ends outside quotes."""
    out = []
    for field in FIELD.split(doc):
        field = " ".join(field.split())
        masked = QUOTE.sub(lambda m: '"' + "x" * (len(m.group(0)) - 2) + '"', field)  # no cuts inside quotes
        start = 0
        for m in re.finditer(r"; |[.?!]\)? (?=[A-Z(])", masked):
            out.append(field[start:m.end()])
            start = m.end()
        out.append(field[start:])
    return out


def doc_quotes(doc: str) -> list[tuple[str, str]]:
    """(notebook, phrase) for each quote in a docstring clause that mentions a notebook."""
    source_line = next((c for c in FIELD.split(doc) if c.startswith("Source:")), "")
    named = re.search(r"notebooks?\s+(\d{3})", source_line)
    out = []
    for clause in clauses(doc):
        if "notebook" not in clause.lower():
            continue
        for at, phrase in quotes(clause):
            numbers = NUMBER.findall(clause[:at])
            out.append((numbers[-1] if numbers else named.group(1) if named else "", phrase))
    return out


def missing(texts: dict[str, str], attributed: list[tuple[str, str]]) -> list[str]:
    """Each (notebook, phrase) whose phrase is not in that notebook's text, described."""
    bad = []
    for nb, phrase in attributed:
        if nb not in texts:
            bad.append(f'"{phrase}" is attributed to notebook {nb or "(none named)"}, which is not in {SEEDS}')
        elif norm(phrase) not in texts[nb]:
            bad.append(f'"{phrase}" is not in seed notebook {nb}')
    return bad


def test_extraction_reads_attributions():
    """The extractors find the quotes and their notebooks (so the checks below can fail)."""
    assert source_quotes('seed notebook 003 (a) and 004 ("x y") / "z"') == [("004", "x y"), ("004", "z")]
    assert source_quotes('this spec\'s expectation ("x")') == []
    assert source_quotes('seed notebook 002, on 60,000 images ("x")') == [("002", "x")]
    doc = ('Is it?\n\nExpected: a; the notebook said "p q". Also\n          "r" here; McCandlish, "T".\n'
           'Source:   seed notebook 001 task 1; Karpathy 2019, "K".\n')
    assert doc_quotes(doc) == [("001", "p q")]
    assert doc_quotes('Q?\n\nSource:   seed notebook 003 (a) and 004 ("b").\n') == [("004", "b")]


def test_a_misquote_is_caught():
    texts = notebooks()
    assert missing(texts, [("000", "lr 1e-2 is too high for Adam")])  # words the notebook never wrote
    assert not missing(texts, [("001", "Medium  L2 (0.001):\n best VALIDATION loss")])  # case, spacing


@pytest.mark.parametrize("path", SPECS, ids=[p.stem for p in SPECS])
def test_notebook_quotes_are_in_the_notebook(path):
    texts = notebooks()
    spec = load_spec(path)
    attributed = doc_quotes(spec.doc)
    unquoted = []
    for e in spec.study.expect:
        found = source_quotes(e.source)
        if re.search(r"seed notebook \d{3}", e.source) and not found:
            unquoted.append(f"{e.metric}: source {e.source!r} names a seed notebook but quotes none of it")
        attributed += found
    attributed += source_quotes(spec.study.reported_source)
    bad = missing(texts, attributed) + unquoted
    assert not bad, f"{path.name}:\n  " + "\n  ".join(bad)
