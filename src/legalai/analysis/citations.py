"""Case, statute and regulation citations with exact spans, short forms resolved (eyecite).

eyecite (the extractor CourtListener uses) finds full case citations, statutes and regulations
through reporters-db (U.S.C., C.F.R., state codes, public laws), and the short forms that refer
back to them (``Id.``, ``supra``, ``410 U.S. at 130``), which ``resolve_citations`` links to the
full citation they mean. Spans are offsets into the text given, so a finding cites its source.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from eyecite import get_citations, resolve_citations
from eyecite.models import (
    FullCaseCitation,
    FullJournalCitation,
    FullLawCitation,
    IdCitation,
    ReferenceCitation,
    ShortCaseCitation,
    SupraCitation,
    UnknownCitation,
)


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


def find_citations(text: str) -> list[Citation]:
    """Every recognizable citation in ``text`` in order, short forms linked to their full form."""
    found = [c for c in get_citations(text) if not isinstance(c, UnknownCitation)]
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
