"""Defined terms and internal cross-references, found with rules.

Method
------
* **Defined terms** come in two shapes in contracts:

  - a quoted term followed by a defining verb: ``"Affiliate" means ...``, ``“Confidential
    Information” shall mean ...``, ``As used herein, the term "X" refers to ...``,
    ``"X" has the meaning set forth in ...``. The definition runs from the verb to the end of
    the sentence (abbreviation aware), or the paragraph, capped at ``MAX_DEFINITION`` chars;
  - a parenthetical naming the phrase just before it: ``... as of January 1, 2020 (the
    "Effective Date")``, ``Acme Corp., a Delaware corporation (hereinafter "Licensee")``.
    The definition is the preceding phrase, which starts after the nearest sentence start,
    ``;``/``:``, closing parenthesis, newline or a linking word (``between``, ``among``,
    ``as of``, ``dated``, ``by``, ``and``...), at most ``MAX_PHRASE`` chars back.

* **Cross-references**: ``Section 12.3``, ``Sections 4.1 and 4.2`` (one finding each),
  ``Article IV``, ``Exhibit A``, ``Schedule 2``, ``clause 7(b)``, ``paragraph 3``, ``§ 5``,
  normalized to the singular capitalized keyword and the reference (``Section 12.3``).

Limits: unquoted definitions (``Affiliate means``) and definitions in tables are not found; the
start of a parenthetical's phrase is a heuristic (multi-word names containing "and" are cut);
a reference to another document's section ("Section 5 of the Securities Act") is reported like
an internal one. All regexes are linear (bounded repetitions, no nested quantifiers), so the
functions run in time proportional to the text and never raise.

The sentence helpers ``sentence_start``/``sentence_end`` are shared with ``money`` and
``deadlines``.
"""

from __future__ import annotations

import bisect
import re

from legalai.analysis.types import CrossReference, DefinedTerm


def _words(words: str) -> list[str]:
    return words.split()


MAX_DEFINITION = 1000
MAX_PHRASE = 200

# Words whose trailing period does not end a sentence.
_ABBREVIATIONS = frozenset(
    _words(
        "inc ltd co corp no nos sec secs art arts e.g i.e etc vs v u.s u.k s.a n.a l.p l.l.c llc plc mr "
        "mrs ms dr prof st ave blvd jr sr p.o para paras ex cf fig approx dept est govt ref jan feb mar "
        "apr jun jul aug sep sept oct nov dec"
    )
)

_SENTENCE_END_RE = re.compile(r"[.!?][\"”\u2019')\]]*(?=\s)|\n[ \t]*\n|[;:][ \t]*\n")
_SENTENCE_START_RE = re.compile(r"[.!?][\"”\u2019')\]]*\s+|\n[ \t]*\n|[;:][ \t]*\n")
_WORD_BEFORE_RE = re.compile(r"([A-Za-z][A-Za-z.]{0,12})$")


def _is_abbreviation(text: str, dot: int) -> bool:
    """Whether the period at ``dot`` closes an abbreviation or a single initial."""
    if dot >= len(text) or text[dot] != ".":
        return False
    m = _WORD_BEFORE_RE.search(text, max(0, dot - 14), dot)
    if not m:
        return False
    word = m.group(1).lower().rstrip(".")
    if word in _ABBREVIATIONS:
        return True
    # A single capital initial ("John A. Smith", "U.S.") does not end a sentence.
    return len(m.group(1)) == 1 and m.group(1).isupper()


def sentence_end(text: str, pos: int, limit: int = MAX_DEFINITION) -> int:
    """Offset just after the end of the sentence containing ``pos`` (at most ``limit`` on)."""
    stop = min(len(text), pos + limit)
    for m in _SENTENCE_END_RE.finditer(text, pos, stop):
        ch = text[m.start()]
        if ch == "." and _is_abbreviation(text, m.start()):
            continue
        if ch == "\n":
            return m.start()
        if ch in ";:":
            return m.start() + 1
        return m.end()
    return stop


def sentence_start(text: str, pos: int, limit: int = 400) -> int:
    """Offset of the start of the sentence containing ``pos`` (at most ``limit`` back)."""
    lo = max(0, pos - limit)
    best = lo
    for m in _SENTENCE_START_RE.finditer(text, lo, pos):
        if text[m.start()] == "." and _is_abbreviation(text, m.start()):
            continue
        best = m.end()
    while best < pos and text[best].isspace():
        best += 1
    return best


# --- defined terms -------------------------------------------------------------------------------

_TERM = r"[^\"“”\n]{1,80}?"

_MEANS_RE = re.compile(
    r"(?:(?i:(?:as\s+used\s+(?:herein|in\s+this\s+\w+)\s*,\s*)?the\s+(?:term|phrase|expression)s?)\s+)?"
    r"[\"“](?P<term>" + _TERM + r")[,.]?[\"”]"
    r"(?:\s*(?:,\s*)?\((?:or\s+)?[^()\n]{1,80}\))?"  # ("Party" or "Parties") / (or "the Company")
    r"(?:\s+(?:or|and)\s+[\"“][^\"“”\n]{1,80}[\"”])?"
    r"\s*,?\s*(?:as\s+used\s+(?:herein|in\s+this\s+\w+)\s*,?\s*)?"
    r"(?P<verb>(?i:(?:shall|will|does|is\s+intended\s+to|is\s+used\s+to)\s+)?"
    r"(?i:means?|mean|refers?\s+to|refer\s+to|has\s+the\s+meanings?|have\s+the\s+meanings?"
    r"|shall\s+have\s+the\s+meanings?|is\s+defined\s+as|includes?|shall\s+include"
    r"|denotes?|shall\s+be\s+deemed\s+to\s+mean))\b"
)

_PAREN_RE = re.compile(
    r"\(\s*(?i:(?:each|individually|collectively|together|jointly|both|hereafter|herein)\s*,?\s*)?"
    r"(?i:(?:hereinafter|hereafter|herein)\s*(?:,\s*)?(?:(?:referred\s+to|called|designated|defined)"
    r"\s+(?:herein\s+)?as\s*|as\s*)?|(?:referred\s+to|called)\s+(?:herein\s+|hereinafter\s+)?as\s+"
    r"|as\s+)?"
    r"(?i:(?:the|a|an|this)\s+)?"
    r"[\"“](?P<term>" + _TERM + r")[,.]?[\"”]"
    r"(?:\s*(?:,|;)?\s*(?i:or|and)\s+(?i:(?:the|a|an)\s+)?[\"“][^\"“”\n]{1,80}[\"”])?"
    r"\s*\)"
)

_PHRASE_BOUNDARY_RE = re.compile(
    r"[;:)\]\n]|(?<=[.!?])\s|\b(?:by\s+and\s+between|between|among|amongst|as\s+of|dated|entered\s+into"
    r"|made|by|and|with|to|from|under|for|of|in|on|is|are|was|were|hereby|includes?|including)\b"
)


class _PhraseStarts:
    """Phrase boundaries, scanned once left to right as parentheticals are met (linear overall)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.scanned = 0
        self.ends: list[int] = []

    def preceding_phrase(self, paren: int) -> tuple[int, str]:
        text = self.text
        lo = max(0, paren - MAX_PHRASE, sentence_start(text, paren, MAX_PHRASE))
        for m in _PHRASE_BOUNDARY_RE.finditer(text, max(lo, self.scanned), paren):
            self.ends.append(m.end())
        self.scanned = max(self.scanned, paren)
        i = bisect.bisect_left(self.ends, paren - 1)
        start = self.ends[i - 1] if i > 0 and self.ends[i - 1] >= lo else lo
        # Commas introduce appositives ("Acme Corp., a Delaware corporation"): kept in the phrase.
        phrase = text[start:paren]
        stripped = phrase.strip(" \t\r\n,")
        offset = start + (len(phrase) - len(phrase.lstrip(" \t\r\n,")))
        return offset, stripped


def find_defined_terms(text: str) -> list[DefinedTerm]:
    """Terms defined in ``text`` with their definitions, in order of appearance."""
    if not isinstance(text, str) or not text:
        return []
    found: list[DefinedTerm] = []
    for m in _MEANS_RE.finditer(text):
        term = m.group("term").strip()
        if not _plausible_term(term):
            continue
        body_start = m.end("verb")
        end = sentence_end(text, body_start, MAX_DEFINITION)
        definition = " ".join(text[body_start:end].split()).strip(" ,:")
        if not definition:
            continue
        found.append(DefinedTerm(term=term, definition=definition, start=m.start(), end=end))
    phrases = _PhraseStarts(text)
    for m in _PAREN_RE.finditer(text):
        term = m.group("term").strip()
        if not _plausible_term(term):
            continue
        start, phrase = phrases.preceding_phrase(m.start())
        phrase = " ".join(phrase.split())
        if not phrase or len(phrase) < 2:
            continue
        found.append(DefinedTerm(term=term, definition=phrase, start=start, end=m.end()))
    found.sort(key=lambda d: (d.start, -d.end))
    out: list[DefinedTerm] = []
    seen: set[tuple[int, str]] = set()
    for d in found:
        key = (d.start, d.term)
        if key in seen:
            continue
        seen.add(key)
        out.append(d)
    return out


def _plausible_term(term: str) -> bool:
    if not term or len(term) > 80 or not any(c.isalpha() for c in term):
        return False
    # Defined terms are capitalized (or acronyms / digits-led like "30-Day Period").
    first = next((c for c in term if c.isalnum()), "")
    return first.isupper() or first.isdigit()


# --- cross-references ----------------------------------------------------------------------------

_KEYWORDS = {
    "section": "Section",
    "sections": "Section",
    "article": "Article",
    "articles": "Article",
    "exhibit": "Exhibit",
    "exhibits": "Exhibit",
    "schedule": "Schedule",
    "schedules": "Schedule",
    "clause": "Clause",
    "clauses": "Clause",
    "paragraph": "Paragraph",
    "paragraphs": "Paragraph",
    "annex": "Annex",
    "annexes": "Annex",
    "appendix": "Appendix",
    "appendices": "Appendix",
    "attachment": "Attachment",
    "attachments": "Attachment",
    "subsection": "Subsection",
    "subsections": "Subsection",
    "§": "Section",
    "§§": "Section",
}

_REF = (
    r"(?:\d{1,3}(?:\.\d{1,3}){0,4}(?:\([a-zA-Z0-9]{1,4}\)){0,4}(?:\.(?=\d))?"
    r"|[IVXLC]{1,7}(?:\.\d{1,3}){0,3}(?:\([a-zA-Z0-9]{1,4}\)){0,3}(?![A-Za-z])"
    r"|[A-Z](?:-\d{1,3}|\.\d{1,3})?(?:\([a-zA-Z0-9]{1,4}\)){0,3}(?![A-Za-z]))"
)
_XREF_RE = re.compile(
    r"(?:(?<![A-Za-z])(?P<kw>(?i:(?:sub)?sections?|articles?|exhibits?|schedules?|clauses?"
    r"|paragraphs?|annex(?:es)?|appendix|appendices|attachments?))(?![A-Za-z])[ \t\xa0]*(?:No\.?\s*)?"
    r"|(?P<sym>§§?)[ \t\xa0]*)"
    r"(?P<first>" + _REF + r")"
    r"(?P<rest>(?:[ \t]*(?:,[ \t]*(?:and[ \t]+|or[ \t]+)?|and[ \t]+|or[ \t]+|through[ \t]+|to[ \t]+"
    r"|[-\u2013][ \t]*)" + _REF + r"){0,12})"
)
_REF_RE = re.compile(_REF)


def _normal_ref(ref: str) -> str:
    return ref.rstrip(".")


def _at_line_start(text: str, pos: int) -> bool:
    i = pos - 1
    while i >= 0 and text[i] in " \t\xa0":
        i -= 1
    return i < 0 or text[i] in "\n\r\f"


def find_cross_references(text: str) -> list[CrossReference]:
    """References to sections, articles, exhibits, schedules... with normalized targets."""
    if not isinstance(text, str) or not text:
        return []
    out: list[CrossReference] = []
    for m in _XREF_RE.finditer(text):
        kw_raw = m.group("kw") or m.group("sym") or ""
        keyword = _KEYWORDS.get(kw_raw.lower())
        if keyword is None:
            continue
        first = m.group("first")
        if _at_line_start(text, m.start()):
            continue  # a heading ("Section 1. The Offering."), not a reference
        out.append(
            CrossReference(target=f"{keyword} {_normal_ref(first)}", start=m.start(), end=m.end("first"))
        )
        rest_start = m.start("rest")
        for r in _REF_RE.finditer(text, rest_start, m.end("rest")):
            if not r.group(0):
                continue
            out.append(
                CrossReference(target=f"{keyword} {_normal_ref(r.group(0))}", start=r.start(), end=r.end())
            )
    return out
