"""The whole analysis of one document: page spans, isolation of failing analyzers, bad input."""

from __future__ import annotations

import time
from typing import Any

import pytest

from legalai.analysis.pipeline import (
    Analyzers,
    PageMap,
    PageText,
    analyze_pages,
    default_analyzers,
    detect_language,
)

CONTRACT_PAGE_1 = (
    "MASTER SERVICES AGREEMENT\n\n"
    'This Master Services Agreement (the "Agreement") is entered into as of March 3, 2021 (the '
    '"Effective Date") by and between Northwind Analytics, Inc., a Delaware corporation ("Provider"), '
    'and Blue Heron Foods LLC, a New York limited liability company ("Customer").\n\n'
    "1. Term. This Agreement commences on the Effective Date and continues for a period of two (2) years. "
    "Thereafter it renews automatically for successive one (1) year terms unless either party gives notice "
    "of non-renewal at least ninety (90) days prior to the end of the then-current term.\n\n"
    "2. Fees. Customer shall pay Provider a fee of $25,000 within thirty (30) days after the "
    "Effective Date.\n"
)
CONTRACT_PAGE_2 = (
    "3. Limitation of Liability. In no event shall either party's aggregate liability under this Agreement "
    "exceed the fees paid by Customer in the twelve (12) months preceding the claim.\n\n"
    "4. Assignment. Neither party may assign this Agreement without the prior written consent of the other "
    "party, which shall not be unreasonably withheld.\n\n"
    "5. Governing Law. This Agreement shall be governed by and construed in accordance with the laws of the "
    "State of New York, without regard to its conflict of laws principles. Any dispute shall be brought "
    "exclusively in the state or federal courts located in New York County, New York.\n\n"
    "6. Notices. Notices to Provider: Attention: Jane Alvarez, jane.alvarez@northwind.example, "
    "(212) 555-0142.\n"
)


@pytest.fixture(scope="module")
def analyzers() -> Analyzers:
    return default_analyzers()


def _spans(result: dict[str, Any]) -> list[dict[str, Any]]:
    """Every span anywhere in the result."""
    found: list[dict[str, Any]] = []

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            if {"page", "start", "end", "text"} <= value.keys():
                found.append(value)
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)

    walk(result)
    return found


def test_page_map_splits_a_span_across_a_page_break() -> None:
    pages = [PageText(1, "alpha beta"), PageText(2, "gamma delta")]
    pm = PageMap(pages)
    start = pm.text.index("beta")
    end = pm.text.index("gamma") + len("gamma")
    assert pm.spans(start, end) == [
        {"page": 1, "start": 6, "end": 10, "text": "beta"},
        {"page": 2, "start": 0, "end": 5, "text": "gamma"},
    ]
    assert pm.spans(3, 3) == []
    assert PageMap([]).spans(0, 5) == []


def test_full_analysis_of_a_two_page_contract(analyzers: Analyzers) -> None:
    pages = [PageText(1, CONTRACT_PAGE_1), PageText(2, CONTRACT_PAGE_2)]
    result = analyze_pages(pages, analyzers)
    by_page = {p.number: p.text for p in pages}
    spans = _spans(result)
    assert len(spans) > 10
    for s in spans:  # every span is exactly the stored page's text at its offsets
        assert by_page[s["page"]][s["start"] : s["end"]] == s["text"]
    assert result["governing_law"]["jurisdiction"] == "New York"
    assert result["governing_law"]["span"]["page"] == 2
    names = {p["name"] for p in result["parties"]}
    assert any("Northwind" in n for n in names) and any("Blue Heron" in n for n in names)
    assert result["dates"]["effective_date"] == "2021-03-03"
    assert result["term"]["automatic_renewal"] is True
    assert result["term"]["notice_to_terminate_renewal"]["days"] == 90
    categories = {c["category"] for c in result["clauses"]}
    assert "Anti-Assignment" in categories
    assert {"email", "phone"} <= {p["type"] for p in result["personal_data"]}
    assert any(d["due_date"] == "2021-04-02" for d in result["deadlines"])
    assert any(m["amount"].startswith("25000") and m["currency"] == "USD" for m in result["money"])
    assert result["summary"]["text"]
    assert result["versions"]["analyzer"] and result["versions"]["clause_model"]
    assert result["versions"]["playbook"]["fingerprint"]
    assert result["warnings"] == []
    # Renewal notice of 90 days is over the default playbook's 60: flagged, with the clause as evidence.
    rules = {r["rule"]: r for r in result["risks"]}
    renewal = [r for r in rules.values() if "renew" in r["rule"]]
    assert renewal and renewal[0]["spans"]


class _Broken:
    version = "broken-1"

    def find_clauses(self, text: str) -> list[Any]:
        raise RuntimeError("model exploded")


def test_a_failing_analyzer_loses_only_its_own_findings(analyzers: Analyzers) -> None:
    broken = Analyzers(clause_model=_Broken(), playbook=analyzers.playbook)
    result = analyze_pages([PageText(1, CONTRACT_PAGE_1 + CONTRACT_PAGE_2)], broken)
    assert result["clauses"] == []
    assert any("clauses analysis failed" in w for w in result["warnings"])
    assert result["governing_law"]["jurisdiction"] == "New York"  # the others still report


def test_empty_and_non_english_documents(analyzers: Analyzers) -> None:
    empty = analyze_pages([], analyzers)
    assert empty["parties"] == [] and empty["clauses"] == [] and empty["stats"]["language"] == "empty"
    blank = analyze_pages([PageText(1, "")], analyzers)
    assert blank["governing_law"] is None
    german = (
        "Dieser Vertrag wird zwischen der Muster GmbH und der Beispiel AG geschlossen. Der Vertrag "
        "unterliegt deutschem Recht. Gerichtsstand ist München. Die Laufzeit beträgt zwei Jahre. " * 20
    )
    result = analyze_pages([PageText(1, german)], analyzers)
    assert result["stats"]["language"] == "unknown"
    assert any("English" in w for w in result["warnings"])
    assert detect_language(CONTRACT_PAGE_1) == "en"


def test_binary_garbage_completes(analyzers: Analyzers) -> None:
    import random

    rng = random.Random(7)
    garbage = "".join(chr(rng.randrange(0, 0x2FFF)) for _ in range(60_000))
    result = analyze_pages([PageText(1, garbage)], analyzers)
    assert result["stats"]["characters"] == 60_000


def test_a_huge_document_is_analyzed_up_to_the_limit(analyzers: Analyzers) -> None:
    page = CONTRACT_PAGE_2 * 3
    pages = [PageText(i, page) for i in range(1, 10_001)]  # 10,000 pages, ~25 MB
    started = time.perf_counter()
    result = analyze_pages(pages, analyzers, max_chars=1_000_000)
    elapsed = time.perf_counter() - started
    assert result["stats"]["truncated"] is True
    assert result["stats"]["pages"] == 10_000
    assert "very long" in result["warnings"][0]
    assert result["governing_law"]["jurisdiction"] == "New York"
    assert elapsed < 120  # generous: bounded by max_chars, not by the document


def test_the_extractive_summary_restates_findings_with_their_spans(analyzers: Analyzers) -> None:
    pages = [PageText(1, CONTRACT_PAGE_1), PageText(2, CONTRACT_PAGE_2)]
    summary = analyze_pages(pages, analyzers)["summary"]
    assert summary["method"] == "extractive"
    texts = [p["text"] for p in summary["points"]]
    assert any("Northwind" in t and "Blue Heron" in t for t in texts)
    assert any(t.startswith("Governed by the law of New York") for t in texts)
    assert any(t.startswith("Initial term of 2 years") and "renews automatically" in t for t in texts)
    assert all(t[0].isupper() for t in texts)
    by_page = {p.number: p.text for p in pages}
    for point in summary["points"]:
        if point["kind"] in ("key_term", "clause"):
            assert point["spans"], point
        for s in point["spans"]:
            assert by_page[s["page"]][s["start"] : s["end"]] == s["text"]


def test_a_missing_clause_model_is_a_warning_not_a_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    from legalai.analysis import pipeline

    def unavailable() -> Any:
        raise FileNotFoundError("clauses.json")

    monkeypatch.setattr(pipeline, "default_clause_model", unavailable)
    analyzers = pipeline.default_analyzers()
    assert analyzers.clause_model is None
    result = analyze_pages([PageText(1, CONTRACT_PAGE_1 + CONTRACT_PAGE_2)], analyzers)
    assert result["clauses"] == [] and result["governing_law"]["jurisdiction"] == "New York"
    assert any("clause model could not be loaded" in w for w in result["warnings"])
