"""One document's full analysis: run every analyzer, evaluate the playbook, map offsets to pages.

The analyzers work on one string, the pages joined by ``PAGE_SEPARATOR``; this module turns
their offsets into ``{"page", "start", "end", "text"}`` spans of the stored pages (a finding
that crosses a page break becomes one span per page), so every span satisfies
``pages[page].text[start:end] == text``.

Each analyzer runs on its own: one that fails (a bug, an input it cannot cope with) is named in
``warnings`` and the others still report, so a document always gets the partial analysis that
was possible. Very long documents are analyzed up to ``max_chars`` and say so.

The result is plain JSON (stored with the document version, served by the API and printed by
``legalai analyze``) and records the versions of everything that produced it.
"""

from __future__ import annotations

import bisect
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from legalai.analysis.types import (
    PAGE_SEPARATOR,
    ClauseFinding,
    Duration,
    Findings,
    KeyTerms,
    Offsets,
    RiskFlag,
)

# Bump when an analyzer's rules change in a way that changes results: `legalai reanalyze`
# refreshes every analysis whose recorded versions differ from the running ones.
ANALYZER_VERSION = "2026.11.1"
SCHEMA_VERSION = 1
DEFAULT_MAX_CHARS = 8_000_000  # ~2,600 pages of dense text

T = TypeVar("T")


@dataclass(frozen=True)
class PageText:
    number: int
    text: str


class PageMap:
    """Offsets in the joined text <-> (page number, offset in that page)."""

    def __init__(self, pages: Sequence[PageText]) -> None:
        self.pages = list(pages)
        self.starts: list[int] = []
        position = 0
        for page in self.pages:
            self.starts.append(position)
            position += len(page.text) + len(PAGE_SEPARATOR)
        self.text = PAGE_SEPARATOR.join(p.text for p in self.pages)

    def spans(self, start: int, end: int) -> list[dict[str, Any]]:
        """The stored-page spans covering ``text[start:end]`` (separators dropped)."""
        out: list[dict[str, Any]] = []
        if not self.pages or end <= start:
            return out
        index = max(0, bisect.bisect_right(self.starts, start) - 1)
        while index < len(self.pages) and self.starts[index] < end:
            page = self.pages[index]
            base = self.starts[index]
            local_start = max(start - base, 0)
            local_end = min(end - base, len(page.text))
            if local_end > local_start:
                out.append(
                    {
                        "page": page.number,
                        "start": local_start,
                        "end": local_end,
                        "text": page.text[local_start:local_end],
                    }
                )
            index += 1
        return out

    def span(self, start: int, end: int) -> dict[str, Any] | None:
        found = self.spans(start, end)
        return found[0] if found else None


@dataclass
class Analyzers:
    """What an analysis runs with; loaded once per process (the clause model takes ~1 s)."""

    clause_model: Any | None
    playbook: Any | None
    # Why an analyzer is missing (e.g. the clause model could not be loaded); shown as warnings.
    problems: tuple[str, ...] = ()

    @property
    def versions(self) -> dict[str, Any]:
        from legalai.analysis.playbooks import playbook_fingerprint

        playbook = None
        if self.playbook is not None:
            playbook = {
                "id": self.playbook.id,
                "name": self.playbook.name,
                "version": self.playbook.version,
                "fingerprint": playbook_fingerprint(self.playbook),
            }
        return {
            "analyzer": ANALYZER_VERSION,
            "schema": SCHEMA_VERSION,
            "clause_model": getattr(self.clause_model, "version", None),
            "playbook": playbook,
        }


_DEFAULT_MODEL: Any | None = None


def default_clause_model() -> Any:
    """The shipped clause model, loaded once per process."""
    global _DEFAULT_MODEL
    if _DEFAULT_MODEL is None:
        from legalai.analysis.clauses import ClauseModel

        _DEFAULT_MODEL = ClauseModel.load()
    return _DEFAULT_MODEL


def load_clause_model() -> tuple[Any | None, tuple[str, ...]]:
    """The shipped clause model, or None and the reason (the other analyzers still run)."""
    try:
        return default_clause_model(), ()
    except Exception as exc:  # noqa: BLE001 - a missing or damaged model must not stop the analysis
        return None, (f"The clause model could not be loaded ({type(exc).__name__}); clauses are missing.",)


def default_analyzers(playbook: Any | None = None) -> Analyzers:
    from legalai.analysis.playbooks import default_playbook

    model, problems = load_clause_model()
    return Analyzers(clause_model=model, playbook=playbook or default_playbook(), problems=problems)


_WORD = re.compile(r"[A-Za-z]+")
_ENGLISH = frozenset(
    [
        "the",
        "of",
        "and",
        "to",
        "in",
        "a",
        "or",
        "any",
        "shall",
        "be",
        "by",
        "this",
        "for",
        "such",
        "with",
        "that",
        "as",
        "is",
        "on",
        "agreement",
        "party",
        "parties",
        "not",
        "other",
        "which",
        "any",
        "under",
        "its",
        "will",
        "are",
        "all",
        "may",
        "from",
        "has",
        "have",
        "been",
    ]
)


def detect_language(text: str, sample: int = 20_000) -> str:
    """'en' when common English function words are frequent in a sample, else 'unknown'."""
    words = [w.lower() for w in _WORD.findall(text[:sample])]
    if len(words) < 20:
        return "unknown" if text.strip() else "empty"
    share = sum(1 for w in words if w in _ENGLISH) / len(words)
    return "en" if share >= 0.12 else "unknown"


def analyze_pages(
    pages: Sequence[PageText],
    analyzers: Analyzers,
    *,
    max_chars: int = DEFAULT_MAX_CHARS,
) -> dict[str, Any]:
    """The stored JSON analysis of one document version."""
    started = time.perf_counter()
    pagemap = PageMap(pages)
    full = pagemap.text
    text = full[:max_chars]
    warnings: list[str] = list(analyzers.problems)
    timings: dict[str, float] = {}
    if len(full) > max_chars:
        covered = max(i for i, s in enumerate(pagemap.starts) if s < max_chars) + 1 if pagemap.starts else 0
        warnings.append(
            f"The document is very long: the analysis covers its first {max_chars:,} characters "
            f"(about {covered:,} of {len(pages):,} pages)."
        )
    language = detect_language(text)
    if language == "unknown":
        warnings.append(
            "The text does not look like English; the analysis is tuned for English and may miss findings."
        )

    def run(name: str, fn: Callable[[], T], fallback: T) -> T:
        t0 = time.perf_counter()
        try:
            return fn()
        except Exception as exc:  # noqa: BLE001 - one analyzer's failure must not lose the others
            warnings.append(f"The {name} analysis failed ({type(exc).__name__}); its findings are missing.")
            return fallback
        finally:
            timings[name] = round((time.perf_counter() - t0) * 1000, 2)

    findings = collect_findings(text, analyzers, run)
    risks: list[RiskFlag] = []
    if analyzers.playbook is not None:
        from legalai.analysis.playbooks import evaluate

        playbook = analyzers.playbook
        risks = run("risk", lambda: evaluate(playbook, findings, findings.key_terms.document_type), [])
    from legalai.analysis.summary import summarize

    empty_summary: dict[str, Any] = {"text": "", "points": [], "method": "extractive"}
    summary: dict[str, Any] = run("summary", lambda: summarize(findings, risks), empty_summary)
    for point in summary.get("points", []):
        point["spans"] = [s for a, b in point.pop("offsets", []) for s in pagemap.spans(a, b)]
    result = to_json(findings, risks, summary, pagemap)
    result["versions"] = analyzers.versions
    result["stats"] = {
        "pages": len(pages),
        "characters": len(full),
        "analyzed_characters": len(text),
        "truncated": len(full) > max_chars,
        "language": language,
        "timings_ms": timings,
        "total_ms": round((time.perf_counter() - started) * 1000, 2),
    }
    result["warnings"] = warnings
    return result


def collect_findings(text: str, analyzers: Analyzers, run: Callable[..., Any]) -> Findings:
    from legalai.analysis.citations import find_citations
    from legalai.analysis.deadlines import find_deadlines
    from legalai.analysis.definitions import find_cross_references, find_defined_terms
    from legalai.analysis.keyterms import extract_key_terms
    from legalai.analysis.money import find_money
    from legalai.analysis.personal_data import find_personal_data

    empty_terms = KeyTerms(document_type="other", document_type_confidence=0.0)
    key_terms: KeyTerms = run("key_terms", lambda: extract_key_terms(text), empty_terms)
    clauses: list[ClauseFinding] = []
    if analyzers.clause_model is not None:
        model = analyzers.clause_model
        clauses = run("clauses", lambda: model.find_clauses(text), [])
    anchors = {
        name: d.value for d in key_terms.dates if d.value for name in [_ANCHOR_NAMES.get(d.kind, d.kind)]
    }
    return Findings(
        text=text,
        key_terms=key_terms,
        clauses=tuple(clauses),
        citations=tuple(run("citations", lambda: find_citations(text), [])),
        personal_data=tuple(run("personal_data", lambda: find_personal_data(text), [])),
        money=tuple(run("money", lambda: find_money(text), [])),
        defined_terms=tuple(run("defined_terms", lambda: find_defined_terms(text), [])),
        cross_references=tuple(run("cross_references", lambda: find_cross_references(text), [])),
        deadlines=tuple(run("deadlines", lambda: find_deadlines(text, anchors), [])),
    )


_ANCHOR_NAMES = {
    "agreement_date": "Agreement Date",
    "effective_date": "Effective Date",
    "expiration_date": "Expiration Date",
}


def _duration(d: Duration | None) -> dict[str, Any] | None:
    if d is None:
        return None
    return {"value": d.value, "unit": d.unit, "days": d.days, "iso": d.iso, "text": d.text}


def to_json(findings: Findings, risks: Sequence[Any], summary: Any, pagemap: PageMap) -> dict[str, Any]:
    def span(start: int, end: int) -> dict[str, Any] | None:
        return pagemap.span(start, end)

    def spans(offsets: Sequence[Offsets]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for o in offsets:
            out.extend(pagemap.spans(o.start, o.end))
        return out

    kt = findings.key_terms
    dates: dict[str, Any] = {"agreement_date": None, "effective_date": None, "expiration_date": None}
    evidence: dict[str, Any] = {}
    for d in kt.dates:
        if dates.get(d.kind) is None and d.kind not in evidence:
            dates[d.kind] = d.value
            evidence[d.kind] = {"value": d.value, "confidence": d.confidence, "span": span(d.start, d.end)}
    term = kt.term
    return {
        "schema_version": SCHEMA_VERSION,
        "document_type": kt.document_type,
        "document_type_confidence": round(kt.document_type_confidence, 3),
        "parties": [
            {"name": p.name, "role": p.role, "short_name": p.short_name, "span": span(p.start, p.end)}
            for p in kt.parties
        ],
        "dates": {**dates, "evidence": evidence},
        "term": {
            "initial_term": _duration(term.initial_term),
            "perpetual": term.perpetual,
            "automatic_renewal": term.automatic_renewal,
            "renewal_term": _duration(term.renewal_term),
            "notice_to_terminate_renewal": _duration(term.notice_to_terminate_renewal),
            "spans": spans(term.evidence),
        },
        "governing_law": (
            {
                "jurisdiction": kt.governing_law.jurisdiction,
                "span": span(kt.governing_law.start, kt.governing_law.end),
            }
            if kt.governing_law
            else None
        ),
        "venue": (
            {"jurisdiction": kt.venue.jurisdiction, "span": span(kt.venue.start, kt.venue.end)}
            if kt.venue
            else None
        ),
        "clauses": [
            {"category": c.category, "confidence": round(c.confidence, 3), "spans": spans(c.spans)}
            for c in sorted(findings.clauses, key=lambda c: -c.confidence)
        ],
        "citations": [
            {
                "kind": c.kind,
                "normalized": c.normalized,
                "groups": c.groups,
                "pin_cite": c.pin_cite,
                "year": c.year,
                "court": c.court,
                "refers_to": c.refers_to,
                "span": span(c.start, c.end),
            }
            for c in findings.citations
        ],
        "personal_data": [
            {"type": p.type, "confidence": round(p.confidence, 3), "span": span(p.start, p.end)}
            for p in findings.personal_data
        ],
        "money": [
            {"amount": m.amount, "currency": m.currency, "kind": m.kind, "span": span(m.start, m.end)}
            for m in findings.money
        ],
        "defined_terms": [
            {"term": t.term, "definition": t.definition, "span": span(t.start, t.end)}
            for t in findings.defined_terms
        ],
        "cross_references": [
            {"target": r.target, "span": span(r.start, r.end)} for r in findings.cross_references
        ],
        "deadlines": [
            {
                "description": d.description,
                "due_date": d.due_date,
                "anchor": d.anchor,
                "offset": _duration(d.offset),
                "relation": d.relation,
                "span": span(d.start, d.end),
            }
            for d in findings.deadlines
        ],
        "risks": [
            {
                "rule": r.rule,
                "severity": r.severity,
                "title": r.title,
                "explanation": r.explanation,
                "absent": r.absent,
                "spans": spans(r.spans),
            }
            for r in risks
        ],
        "summary": summary,
    }


def analyze_text(text: str, analyzers: Analyzers, *, max_chars: int = DEFAULT_MAX_CHARS) -> dict[str, Any]:
    """Analysis of a plain text as one page (used for .txt files and evaluation)."""
    return analyze_pages([PageText(1, text)], analyzers, max_chars=max_chars)
