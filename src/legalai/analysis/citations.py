"""Case, statute and regulation citations with exact spans, short forms resolved (eyecite).

eyecite (the extractor CourtListener uses) finds full case citations, statutes and regulations
through reporters-db (U.S.C., C.F.R., state codes, public laws), and the short forms that refer
back to them (``Id.``, ``supra``, ``410 U.S. at 130``), which ``resolve_citations`` links to the
full citation they mean. Spans are offsets into the text given, so a finding cites its source.

Speed: eyecite's tokenizer runs every candidate extractor regex (~100 of its ~6,800 reporter,
statute and journal patterns pass its substring pre-filter on a typical contract, through short
strings such as "P" or "CO") over the whole text. ``_GuardedTokenizer`` first checks each
candidate with the extractor's core pattern, which without eyecite's leading boundary alternation
lets the regex engine skip straight to the possible first characters, and runs the full pattern
only when the core matches somewhere; the tokens, and so the citations, are the same.
"""

from __future__ import annotations

import re
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any

from eyecite import get_citations, resolve_citations
from eyecite import tokenizers as eyecite_tokenizers
from eyecite.models import (
    FullCaseCitation,
    FullJournalCitation,
    FullLawCitation,
    IdCitation,
    ReferenceCitation,
    ShortCaseCitation,
    SupraCitation,
    Token,
    TokenExtractor,
    UnknownCitation,
)
from eyecite.tokenizers import EXTRACTORS, AhocorasickTokenizer, default_tokenizer

# eyecite wraps each reporter/law/journal pattern as BOUNDARY_START + "(" + core + ")" + BOUNDARY_END
# (eyecite.regexes.nonalphanum_boundaries_re).
_BOUNDARY_START = "(?:^|[^a-zA-Z0-9])"
_BOUNDARY_END = "(?:[^a-zA-Z0-9]|$)"


@dataclass
class Citation:
    kind: str  # case, statute, regulation, public_law, journal, id, supra, short_case, reference
    text: str  # exactly text[start:end]
    start: int
    end: int
    normalized: str  # corrected full form; for a short form, that of the citation it refers to
    groups: dict[str, str] = field(default_factory=dict)  # volume/reporter/page, title/section...
    pin_cite: str | None = None
    year: str | None = None
    court: str | None = None
    refers_to: int | None = None  # index of the full citation a short form resolves to

    @property
    def is_short_form(self) -> bool:
        return self.kind in ("id", "supra", "short_case", "reference")


def _kind(cite: Any) -> str | None:
    if isinstance(cite, FullLawCitation):
        reporter = str(cite.groups.get("reporter") or "")
        if "C.F.R" in reporter or "Fed. Reg" in reporter:
            return "regulation"
        if reporter.startswith("Pub. L"):
            return "public_law"
        return "statute"
    kinds: list[tuple[type[Any], str]] = [
        (FullCaseCitation, "case"),
        (FullJournalCitation, "journal"),
        (IdCitation, "id"),
        (SupraCitation, "supra"),
        (ShortCaseCitation, "short_case"),
        (ReferenceCitation, "reference"),
    ]
    for cls, name in kinds:
        if isinstance(cite, cls):
            return name
    return None  # UnknownCitation and other noise (e.g. a bare section sign)


def _core_pattern(extractor: TokenExtractor) -> re.Pattern[str] | None:
    """``(core)`` of a boundary-wrapped extractor pattern, or None when it is not of that form.

    Every match of the full pattern has its group 1 (the core) starting at the match start or
    one character after it, so the core matches there too: a text where the core matches nowhere
    has no match of the full pattern, and none starts before the core's first match minus one.
    The core is compiled inside its group so group numbers (and any back-reference) stay the same.
    """
    regex: str = extractor.regex
    if not (regex.startswith(_BOUNDARY_START + "(") and regex.endswith(")" + _BOUNDARY_END)):
        return None
    core = regex[len(_BOUNDARY_START) + 1 : -len(_BOUNDARY_END) - 1]
    try:
        re.compile(core, extractor.flags)  # balanced on its own, so "(" + core + ")" is one group
        return re.compile("(" + core + ")", extractor.flags)
    except re.error:
        return None


# Volume patterns of eyecite's reporter templates that match digits only (ending in a digit),
# each followed by the space (or optional space) before the reporter.
_DIGIT_VOLUMES = (
    r"(?P<volume>[1-9]\d*) ",
    r"(?P<volume>(1[89]\d{2}|20)?\d{2}) ?",
    r"(?P<volume>1[789]\d{2}|20\d{2}) ",
    r"(?P<volume>\d{1,3}) ",
    r"(?P<year>1\d{3}|20\d{2}) ",
    r"(?P<issue>\d+) ",
    r"(?P<title>\d+) ",
)


def _top_level_alternatives(regex: str, start: int) -> tuple[list[str], int] | None:
    """The ``|``-separated alternatives of the group whose body starts at ``start``, and its end.

    None when the group does not close or holds a character class (not parsed here).
    """
    parts: list[str] = []
    depth, i, begin = 0, start, start
    while i < len(regex):
        char = regex[i]
        if char == "\\":
            i += 2
            continue
        if char == "[":
            return None
        if char == "(":
            depth += 1
        elif char == ")":
            if depth == 0:
                parts.append(regex[begin:i])
                return parts, i
            depth -= 1
        elif char == "|" and depth == 0:
            parts.append(regex[begin:i])
            begin = i + 1
        i += 1
    return None


def _needs_digit_before(extractor: TokenExtractor) -> bool:
    """True when every match has a digit right before its reporter string, whitespace aside.

    That holds for the usual "<volume> <reporter> ..." patterns: the core starts with one of
    ``_DIGIT_VOLUMES`` and then the reporter group, whose alternatives are exactly eyecite's
    whitespace-relaxed forms of the extractor's filter strings (so a reporter match, with its
    whitespace removed, is one of those strings). Anything else answers False.
    """
    relax = getattr(eyecite_tokenizers, "_relax_ws", None)
    regex = extractor.regex
    head = _BOUNDARY_START + "("
    if relax is None or extractor.flags or not extractor.strings or not regex.startswith(head):
        return False
    for volume in _DIGIT_VOLUMES:
        opening = head + volume + "(?P<reporter>"
        if regex.startswith(opening):
            found = _top_level_alternatives(regex, len(opening))
            if found is None:
                return False
            expected = {relax(re.escape(string)) for string in extractor.strings}
            return set(found[0]) <= expected
    return False


class _GuardedTokenizer(AhocorasickTokenizer):
    """eyecite's Aho-Corasick tokenizer with a sharper (still sound) filter and guarded patterns.

    Same tokens as ``default_tokenizer``. Candidate extractors come from the same substring
    filter over the whitespace-stripped text, except that an extractor for which
    ``_needs_digit_before`` holds is a candidate only where one of its strings follows a digit
    (in a contract, "P", "CO" or "Mt" occur everywhere, "7 P" or "12 Mt" hardly ever).
    Candidates run in eyecite's extractor order, de-duplicated by identity (the extractors' own
    hash is of their ``repr``, which is slow), and a candidate is skipped, or started later,
    only where ``_core_pattern`` proves it cannot match.
    """

    def __post_init__(self) -> None:
        self.unfiltered_extractors = default_tokenizer.unfiltered_extractors
        self.case_insensitive_filter = default_tokenizer.case_insensitive_filter
        # stripped string -> (its length, extractors needing a digit before it, the others)
        entries: dict[str, tuple[int, list[TokenExtractor], list[TokenExtractor]]] = {}
        for extractor in EXTRACTORS:
            if not extractor.strings or extractor.flags & re.I:
                continue
            after_digit = _needs_digit_before(extractor)
            for string in extractor.strings:
                key = "".join(string.split())
                entry = entries.setdefault(key, (len(key), [], []))
                (entry[1] if after_digit else entry[2]).append(extractor)
        # eyecite's automaton builder; each string's value is a list, found again by its id
        self.case_sensitive_filter = self.make_ahocorasick_filter((key, key) for key in entries)
        self._entries = {id(value): entries[value[0]] for _, value in self.case_sensitive_filter.items()}
        self._order = {id(e): i for i, e in enumerate(EXTRACTORS)}
        self._cores: dict[int, re.Pattern[str] | None] = {}

    def candidates(self, text: str) -> list[TokenExtractor]:
        """The extractors that can match ``text``, in eyecite's order (see the class docstring)."""
        stripped = "".join(text.split())  # eyecite's _strip_ws: the filter strings have no whitespace
        groups: dict[int, list[TokenExtractor]] = {}
        for end, value in self.case_sensitive_filter.iter(stripped):
            length, after_digit, others = self._entries[id(value)]
            groups[id(others)] = others
            start = end - length + 1
            if after_digit and start > 0 and stripped[start - 1].isdecimal():  # as \d matches
                groups[id(after_digit)] = after_digit
        for _, extractors in self.case_insensitive_filter.iter(stripped.lower()):
            groups[id(extractors)] = extractors
        unique = {id(e): e for e in self.unfiltered_extractors}
        for extractors in groups.values():
            unique.update((id(e), e) for e in extractors)
        return sorted(unique.values(), key=lambda e: self._order[id(e)])

    def extract_tokens(self, text: str) -> Generator[Token, None, None]:
        for extractor in self.candidates(text):
            start = 0
            key = id(extractor)
            if key not in self._cores:
                self._cores[key] = _core_pattern(extractor)
            core = self._cores[key]
            if core is not None:
                first = core.search(text)
                if first is None:
                    continue
                start = max(first.start() - 1, 0)
            for match in extractor.compiled_regex.finditer(text, start):
                yield extractor.get_token(match)


_TOKENIZER = _GuardedTokenizer()


def find_citations(text: str) -> list[Citation]:
    """Every recognizable citation in ``text`` in order, short forms linked to their full form."""
    found = [c for c in get_citations(text, tokenizer=_TOKENIZER) if not isinstance(c, UnknownCitation)]
    kept = [(c, k) for c in found if (k := _kind(c)) is not None]
    index = {id(c): i for i, (c, _k) in enumerate(kept)}
    resolved_to: dict[int, int] = {}
    for resource, members in resolve_citations([c for c, _k in kept]).items():
        full = getattr(resource, "citation", None)
        if full is None or id(full) not in index:
            continue
        for member in members:
            if member is not full and id(member) in index:
                resolved_to[index[id(member)]] = index[id(full)]
    results = [_citation(c, k, text) for c, k in kept]
    for i, target in resolved_to.items():
        results[i].refers_to = target
        results[i].normalized = results[target].normalized
    return results


def _normalized(cite: Any, kind: str, matched: str) -> str:
    if kind in ("statute", "regulation", "public_law"):
        # eyecite's corrected form of state codes can drop words ("Cal. Civ. Code" -> "Cal. Code").
        return " ".join(matched.split()).rstrip(".,;")
    return str(cite.corrected_citation()).strip().rstrip(".")


def _citation(cite: Any, kind: str, source: str) -> Citation:
    start, end = cite.span()
    metadata = cite.metadata
    return Citation(
        kind=kind,
        text=source[start:end],
        start=start,
        end=end,
        normalized=_normalized(cite, kind, source[start:end]),
        groups={k: str(v) for k, v in (cite.groups or {}).items() if v is not None},
        pin_cite=getattr(metadata, "pin_cite", None),
        year=getattr(metadata, "year", None),
        court=getattr(metadata, "court", None),
    )
