"""Money amounts, defined terms and cross-references."""

from __future__ import annotations

import time

import pytest

from legalai.analysis.definitions import find_cross_references, find_defined_terms
from legalai.analysis.money import find_money


@pytest.mark.parametrize(
    ("text", "amount", "currency"),
    [
        ("a fee of $1,500,000 payable", "1500000.00", "USD"),
        ("US$ 2.5 million", "2500000.00", "USD"),
        ("USD 10,000.00", "10000.00", "USD"),
        ("EUR 500", "500.00", "EUR"),
        ("€1.2m", "1200000.00", "EUR"),
        ("£300", "300.00", "GBP"),
        ("1,000,000 Dollars", "1000000.00", "USD"),
        ("RMB 300", "300.00", "CNY"),
        ("CAD 45", "45.00", "CAD"),
        ("¥10,000", "10000.00", "JPY"),
        ("C$5", "5.00", "CAD"),
        ("par value $.01 per share", "0.01", "USD"),
        ("10,000 euros", "10000.00", "EUR"),
    ],
)
def test_amount_formats(text: str, amount: str, currency: str) -> None:
    found = find_money(text)
    assert [(m.amount, m.currency) for m in found] == [(amount, currency)]
    assert text[found[0].start : found[0].end].strip() == text[found[0].start : found[0].end]


def test_spelled_amount_with_numeric_parenthetical_is_one_finding() -> None:
    text = "The deposit is Five Thousand Dollars ($5,000)."
    found = find_money(text)
    assert len(found) == 1
    assert text[found[0].start : found[0].end] == "Five Thousand Dollars ($5,000)"
    assert found[0].amount == "5000.00"


def test_kinds() -> None:
    text = (
        "In no event shall either party's aggregate liability exceed $1,500,000. "
        "Licensee shall pay a license fee of $20,000. The building is worth $3,000,000."
    )
    assert [m.kind for m in find_money(text)] == ["liability_cap", "fee", "other"]
    cap = "The aggregate liability of Supplier under this Agreement shall not exceed USD 250,000."
    assert find_money(cap)[0].kind == "liability_cap"


def test_no_money_in_plain_numbers() -> None:
    assert find_money("Section 12.3, 30 days, 1,000 shares, the year 2020.") == []


def test_defined_terms_means_and_parentheticals() -> None:
    text = (
        '"Affiliate" means any entity that controls, is controlled by, or is under common control with a '
        "party. “Confidential Information” shall mean all information disclosed by Acme Inc. to Beta.\n"
        'As used herein, the term "Software" refers to the program.\n'
        'This Agreement is entered into as of January 1, 2020 (the "Effective Date") by and between '
        'Acme Corp., a Delaware corporation (hereinafter "Licensee"), and Beta LLC ("Beta").'
    )
    terms = {d.term: d for d in find_defined_terms(text)}
    assert terms["Affiliate"].definition.startswith("any entity that controls")
    assert terms["Affiliate"].definition.endswith("with a party.")
    assert terms["Confidential Information"].definition == "all information disclosed by Acme Inc. to Beta."
    assert terms["Software"].definition == "the program."
    assert terms["Effective Date"].definition == "January 1, 2020"
    assert terms["Licensee"].definition == "Acme Corp., a Delaware corporation"
    assert terms["Beta"].definition == "Beta LLC"
    for d in terms.values():
        span = text[d.start : d.end]
        assert d.term in span
    assert text[terms["Effective Date"].start : terms["Effective Date"].end] == (
        'January 1, 2020 (the "Effective Date")'
    )


def test_definition_is_capped() -> None:
    text = '"Term" means ' + "word " * 1000
    (d,) = find_defined_terms(text)
    assert d.end - d.start <= 1100


def test_cross_references() -> None:
    text = (
        "See Sections 4.1 and 4.2, Article IV, Exhibit A, Schedule 2, clause 7(b), paragraph 3 and § 5. "
        "Subject to Section 12.3."
    )
    refs = find_cross_references(text)
    assert [r.target for r in refs] == [
        "Section 4.1",
        "Section 4.2",
        "Article IV",
        "Exhibit A",
        "Schedule 2",
        "Clause 7(b)",
        "Paragraph 3",
        "Section 5",
        "Section 12.3",
    ]
    assert [text[r.start : r.end] for r in refs][:3] == ["Sections 4.1", "4.2", "Article IV"]


def test_heading_is_not_a_reference() -> None:
    refs = find_cross_references("Section 1. The Offering.\nSee Section 2.")
    assert [r.target for r in refs] == ["Section 2"]
    assert [r.target for r in find_cross_references("Section 1. Title\n")] == []


@pytest.mark.parametrize("text", ["", "\x00\xff" * 500, "“”“”" * 1000, "$$$$" * 1000, "(((" * 1000])
def test_never_raise(text: str) -> None:
    find_money(text)
    find_defined_terms(text)
    find_cross_references(text)


def test_adversarial_30mb() -> None:
    n = 10_000_000
    text = "1" * n + " " * n + "A" * n
    for fn in (find_money, find_defined_terms, find_cross_references):
        t0 = time.perf_counter()
        fn(text)
        assert time.perf_counter() - t0 < 20, fn.__name__


@pytest.mark.parametrize("unit", ["$1,000,000 ", '"A" "B" (the "C") ', "Section 1, 2, 3, ", "1 "])
def test_adversarial_dense(unit: str) -> None:
    text = unit * (2_000_000 // len(unit))
    for fn in (find_money, find_defined_terms, find_cross_references):
        t0 = time.perf_counter()
        fn(text)
        assert time.perf_counter() - t0 < 20, fn.__name__
