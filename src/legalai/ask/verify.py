"""The verification gate: no statement is shown as supported unless its quote is really there.

A quote is accepted only when it occurs verbatim, up to whitespace (runs of spaces, tabs and line
breaks compare equal; typographic quotes and dashes compare equal to their ASCII forms), in the
cited page of a current document version in the matter that the principal may read. The verified
span is reported as page offsets of the original text, so the UI can highlight it. Legal
citations in generated text (case reports, U.S.C., C.F.R. ...) are checked against the citations
extracted from the matter's documents and flagged when none matches.
"""

from __future__ import annotations

import re
from array import array
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from sqlalchemy import select
from sqlalchemy.orm import Session

from legalai.accounts.principal import Principal
from legalai.analysis.citations import find_citations
from legalai.documents.models import Document, Page

MIN_QUOTE_CHARS = 12
_SPACE = re.compile(r"\s+")
_FOLD = str.maketrans(
    {"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u2013": "-", "\u2014": "-", "\u00a0": " "}
)


_NON_SPACE = re.compile(r"\S+")


class _Normalized:
    """Whitespace-collapsed, quote-folded text, and the source offset of each of its characters.

    Built per word, not per character (pages run to 100,000 characters and every statement of an
    answer is checked against one): ``starts`` holds where each word begins in the output and
    ``sources`` where it begins in the source. A collapsed space maps to the last whitespace
    character of its run, a word character to itself.
    """

    __slots__ = ("sources", "starts", "text")

    def __init__(self, text: str) -> None:
        folded = text.translate(_FOLD)  # one character for one: offsets are unchanged
        words: list[str] = []
        starts: list[int] = []
        sources: list[int] = []
        length = 0
        for match in _NON_SPACE.finditer(folded):
            if words:
                length += 1  # the single space standing for the whitespace run before this word
            words.append(match.group())
            starts.append(length)
            sources.append(match.start())
            length += match.end() - match.start()
        self.text = " ".join(words)
        # Compact (8 bytes an entry, not a Python int each): pages stay in the cache below.
        self.starts = array("q", starts)
        self.sources = array("q", sources)

    def source(self, position: int) -> int:
        """Source offset of output character ``position``."""
        word = bisect_right(self.starts, position) - 1
        if word < 0:
            raise IndexError(position)
        inside = position - self.starts[word]
        if word + 1 < len(self.starts) and position == self.starts[word + 1] - 1:
            return self.sources[word + 1] - 1  # the collapsed space before the next word
        return self.sources[word] + inside


@lru_cache(maxsize=64)
def _normalized_page(text: str) -> _Normalized:
    # Several statements of one answer, and the next questions, cite the same pages (at most
    # about 250 kB each, for the longest page of 100,000 characters).
    return _Normalized(text)


# Placeholders the redactor puts where personal data was (legalai.ai.redaction): a model that saw
# redacted text quotes them; each stands for a short stretch of the original page.
_PLACEHOLDER = re.compile(r"\[(?:REDACTED|EMAIL|PHONE|SSN|CARD)\]")
_PLACEHOLDER_SPAN = r".{1,120}?"


def locate_quote(page_text: str, quote: str) -> tuple[int, int] | None:
    """Page offsets of ``quote`` in ``page_text`` (whitespace-normalized), or None. Redaction
    placeholders in the quote match the personal data they replaced; the literal rest must match."""
    wanted = _Normalized(quote).text
    literal = _PLACEHOLDER.sub("", wanted)
    if len(literal.strip()) < MIN_QUOTE_CHARS:
        return None
    page = _normalized_page(page_text)
    haystack = page.text
    if literal == wanted:
        pos = haystack.find(wanted)
        if pos < 0:
            return None
        return page.source(pos), page.source(pos + len(wanted) - 1) + 1
    pattern = _PLACEHOLDER_SPAN.join(re.escape(part) for part in _PLACEHOLDER.split(wanted))
    found = re.search(pattern, haystack, re.DOTALL)
    if found is None or found.end() == found.start():
        return None
    return page.source(found.start()), page.source(found.end() - 1) + 1


@dataclass
class ClaimedCitation:
    document_id: str
    page: int
    quote: str


@dataclass
class VerifiedCitation:
    document_id: str
    filename: str
    page: int
    start: int
    end: int
    quote: str  # exactly page.text[start:end]


@dataclass
class CheckedStatement:
    text: str
    citations: list[VerifiedCitation]
    rejected: list[ClaimedCitation] = field(default_factory=list)

    @property
    def supported(self) -> bool:
        return bool(self.citations)


class PageSource:
    """Pages of current versions in one matter that the principal may read, fetched once each."""

    def __init__(self, session: Session, principal: Principal, matter_id: str) -> None:
        self.session = session
        self.principal = principal
        self.matter_id = matter_id
        self._pages: dict[tuple[str, int], str | None] = {}
        self._names: dict[str, str] = {}

    def _readable(self) -> bool:
        return self.principal.may_see_matter(self.matter_id)

    def prefetch(self, keys: Iterable[tuple[str, int]]) -> None:
        wanted = {k for k in keys if k not in self._pages}
        if not wanted or not self._readable():
            for k in wanted:
                self._pages[k] = None
            return
        doc_ids = {d for d, _ in wanted}
        rows = self.session.execute(
            select(Document.id, Document.filename, Page.number, Page.text)
            .join(Page, Page.version_id == Document.current_version_id)
            .where(
                Document.id.in_(doc_ids),
                Document.organization_id == self.principal.organization_id,
                Document.matter_id == self.matter_id,
                Page.number.in_({p for _, p in wanted}),
            )
        ).all()
        for doc_id, filename, number, text in rows:
            self._names[doc_id] = filename
            if (doc_id, number) in wanted:
                self._pages[(doc_id, number)] = text
        for k in wanted:
            self._pages.setdefault(k, None)

    def page(self, document_id: str, number: int) -> str | None:
        self.prefetch([(document_id, number)])
        return self._pages.get((document_id, number))

    def filename(self, document_id: str) -> str:
        return self._names.get(document_id, "")


def verify_statements(
    source: PageSource, statements: Sequence[tuple[str, Sequence[ClaimedCitation]]]
) -> list[CheckedStatement]:
    """Check every claimed citation; keep only the verified ones on each statement."""
    source.prefetch((c.document_id, c.page) for _, cites in statements for c in cites)
    checked = []
    for text, cites in statements:
        good: list[VerifiedCitation] = []
        bad: list[ClaimedCitation] = []
        for c in cites:
            page_text = source.page(c.document_id, c.page)
            span = locate_quote(page_text, c.quote) if page_text is not None else None
            if span is None or page_text is None:
                bad.append(c)
                continue
            start, end = span
            good.append(
                VerifiedCitation(
                    c.document_id, source.filename(c.document_id), c.page, start, end, page_text[start:end]
                )
            )
        checked.append(CheckedStatement(text, good, bad))
    return checked


def citation_key(normalized: str) -> str:
    return re.sub(r"[^a-z0-9§]+", "", normalized.lower())


def unknown_legal_citations(text: str, known: set[str]) -> list[str]:
    """Full legal citations in ``text`` whose normalized form is not among ``known`` keys."""
    flagged = []
    for c in find_citations(text):
        if c.kind in ("id", "supra", "short_case", "reference"):
            continue
        if citation_key(c.normalized) not in known and c.text not in flagged:
            flagged.append(c.text)
    return flagged
