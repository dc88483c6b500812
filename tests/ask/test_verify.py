"""The verification gate's quote matching."""

from __future__ import annotations

from legalai.ask.verify import citation_key, locate_quote, unknown_legal_citations

PAGE = (
    "12.  Notices.  All notices shall be sent to  Jane\nDoe at jane.doe@example.com or\n"
    "(415) 555-0134, with a copy to counsel.\n\nThe \u201cSupplier\u201d shall not assign this Agreement."
)


def test_whitespace_and_typographic_quotes_are_normalized() -> None:
    span = locate_quote(PAGE, "All notices shall be sent to Jane Doe at")
    assert span is not None
    assert PAGE[span[0] : span[1]] == "All notices shall be sent to  Jane\nDoe at"
    straight = locate_quote(PAGE, 'The "Supplier" shall not assign this Agreement.')
    assert straight is not None and PAGE[straight[0] : straight[1]].startswith("The \u201cSupplier")


def test_fabricated_or_too_short_quotes_fail() -> None:
    assert locate_quote(PAGE, "All notices shall be sent by courier") is None
    assert locate_quote(PAGE, "Notices") is None  # too short to prove anything
    assert locate_quote(PAGE, "") is None


def test_redaction_placeholders_match_what_they_replaced() -> None:
    span = locate_quote(PAGE, "sent to [REDACTED] at [EMAIL] or [PHONE], with a copy to counsel")
    assert span is not None
    assert PAGE[span[0] : span[1]].startswith("sent to  Jane") and PAGE[span[0] : span[1]].endswith("counsel")
    assert locate_quote(PAGE, "[EMAIL] [PHONE] [REDACTED]") is None  # placeholders alone prove nothing
    assert locate_quote(PAGE, "sent to [REDACTED] by registered mail") is None


def test_unknown_legal_citations_are_flagged() -> None:
    known = {citation_key("410 U.S. 113")}
    text = "See Roe v. Wade, 410 U.S. 113 (1973) and Smith v. Jones, 123 F.3d 456 (9th Cir. 1999)."
    flagged = unknown_legal_citations(text, known)
    assert flagged == ["123 F.3d 456"]
