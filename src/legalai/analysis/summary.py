"""The offline, extractive summary: key terms, then the most important clauses, in plain language.

Nothing here is generated: every point restates a finding (with the gloss of its CUAD category)
and carries the spans it rests on, so a reader can check each line against the document. An AI
provider's summary, where a matter allows one, is added separately and verified the same way.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from legalai.analysis.cuad import CATEGORIES, KEY_TERM_CATEGORIES, PRIORITY
from legalai.analysis.types import Duration, Findings, Offsets, RiskFlag

MAX_CLAUSE_POINTS = 8
MIN_CONFIDENCE = 0.5

_DOC_TYPES = {
    "nda": "non-disclosure agreement",
    "ip_assignment": "intellectual property assignment",
    "joint_venture": "joint venture agreement",
    "strategic_alliance": "strategic alliance agreement",
    "court_decision": "court decision",
    "pleading": "pleading",
    "correspondence": "letter or e-mail",
}


def _doc_type(value: str) -> str:
    if value in _DOC_TYPES:
        return _DOC_TYPES[value]
    if value == "other":
        return "document"
    return f"{value.replace('_', ' ')} agreement"


def _duration(d: Duration) -> str:
    number = int(d.value) if float(d.value).is_integer() else d.value
    unit = d.unit.replace("_", " ")
    if number == 1:
        unit = unit.rstrip("s")
    return f"{number} {unit}"


def _point(text: str, offsets: Sequence[Offsets] = (), kind: str = "key_term") -> dict[str, Any]:
    return {"text": text, "kind": kind, "offsets": [[o.start, o.end] for o in offsets]}


def summarize(findings: Findings, risks: Sequence[RiskFlag] = ()) -> dict[str, Any]:
    """``{"text": one paragraph, "points": [{"text", "kind", "offsets"}...]}``.

    Offsets are into ``findings.text``; the pipeline turns them into page spans.
    """
    kt = findings.key_terms
    points: list[dict[str, Any]] = []
    if kt.parties:
        names = [p.name + (f' ("{p.short_name}")' if p.short_name else "") for p in kt.parties[:4]]
        points.append(
            _point(
                f"A {_doc_type(kt.document_type)} between {_join(names)}.",
                [Offsets(p.start, p.end) for p in kt.parties[:4]],
            )
        )
    elif kt.document_type != "other":
        points.append(_point(f"A {_doc_type(kt.document_type)}."))
    dated = {d.kind: d for d in kt.dates if d.value}
    labels = {"agreement_date": "Dated", "effective_date": "Effective", "expiration_date": "Expires"}
    parts = [f"{labels[k]} {d.value}" for k, d in dated.items() if k in labels]
    if parts:
        points.append(_point("; ".join(parts) + ".", [Offsets(d.start, d.end) for d in dated.values()]))
    term = kt.term
    term_bits: list[str] = []
    if term.perpetual:
        term_bits.append("It has no fixed end (perpetual)")
    elif term.initial_term:
        term_bits.append(f"Initial term of {_duration(term.initial_term)}")
    if term.automatic_renewal:
        renewal = (
            f"renews automatically for {_duration(term.renewal_term)}"
            if term.renewal_term
            else "renews automatically"
        )
        term_bits.append(renewal)
    if term.notice_to_terminate_renewal:
        term_bits.append(f"unless notice is given {_duration(term.notice_to_terminate_renewal)} before")
    if term_bits:
        sentence = ", ".join(term_bits)
        points.append(_point(sentence[0].upper() + sentence[1:] + ".", term.evidence))
    if kt.governing_law:
        law = kt.governing_law
        venue = f"; disputes go to the courts of {kt.venue.jurisdiction}" if kt.venue else ""
        offsets = [Offsets(law.start, law.end)] + (
            [Offsets(kt.venue.start, kt.venue.end)] if kt.venue else []
        )
        points.append(_point(f"Governed by the law of {law.jurisdiction}{venue}.", offsets))
    caps = [m for m in findings.money if m.kind == "liability_cap"]
    if caps:
        cap = caps[0]
        points.append(
            _point(f"Liability is capped at {cap.currency} {cap.amount}.", [Offsets(cap.start, cap.end)])
        )

    found = {
        c.category: c
        for c in findings.clauses
        if c.confidence >= MIN_CONFIDENCE and c.category not in KEY_TERM_CATEGORIES
    }
    ordered = [found[name] for name in PRIORITY if name in found]
    ordered += sorted((c for n, c in found.items() if n not in PRIORITY), key=lambda c: -c.confidence)
    for clause in ordered[:MAX_CLAUSE_POINTS]:
        gloss = CATEGORIES.get(clause.category, clause.category)
        points.append(_point(f"{clause.category}: {gloss}", clause.spans[:1], kind="clause"))
    serious = [r for r in risks if r.severity in ("high", "critical")]
    for risk in serious[:3]:
        points.append(_point(f"Risk ({risk.severity}): {risk.title}.", risk.spans[:1], kind="risk"))
    if findings.citations:
        full = [c for c in findings.citations if not c.is_short_form]
        counts = Counter(c.normalized for c in findings.citations)
        top = ", ".join(name for name, _n in counts.most_common(3))
        points.append(_point(f"Cites {len(full)} authorities; most often {top}.", kind="citations"))
    text = " ".join(p["text"] for p in points)
    return {"text": text, "points": points, "method": "extractive"}


def _join(names: Sequence[str]) -> str:
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]
