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


def _per_character_reference(text: str) -> tuple[str, list[int]]:
    """The original per-character normalization, kept as the reference the fast one must equal."""
    fold = str.maketrans(
        {
            "\u2018": "'",
            "\u2019": "'",
            "\u201c": '"',
            "\u201d": '"',
            "\u2013": "-",
            "\u2014": "-",
            "\u00a0": " ",
        }
    )
    out: list[str] = []
    where: list[int] = []
    pending_space = False
    for i, ch in enumerate(text):
        if ch.isspace():
            pending_space = bool(out)
            continue
        if pending_space:
            out.append(" ")
            where.append(i - 1)
            pending_space = False
        out.append(ch.translate(fold))
        where.append(i)
    return "".join(out), where


def test_word_level_normalization_equals_the_per_character_reference() -> None:
    import random

    from legalai.ask.verify import _Normalized

    rng = random.Random(7)
    alphabet = [
        "a",
        "b",
        "Z",
        "1",
        ".",
        " ",
        "  ",
        "\t",
        "\n",
        "\u00a0",
        "\u2019",
        "\u201c",
        "\u2014",
        "\u2003",
    ]
    for _ in range(400):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 60)))
        norm = _Normalized(text)
        expected_text, expected_where = _per_character_reference(text)
        assert norm.text == expected_text, repr(text)
        assert [norm.source(i) for i in range(len(norm.text))] == expected_where, repr(text)
