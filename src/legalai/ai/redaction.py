"""Redact personal data from text before it leaves the machine.

The default redactor replaces e-mail addresses, phone numbers, US social security numbers and
payment card numbers (Luhn-checked) with typed placeholders (``[EMAIL]``, ``[PHONE]``, ``[SSN]``,
``[CARD]``). Callers that know more (the analysis' personal-data findings of the documents) pass
their own redactor, e.g. one built with :func:`span_redactor`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

Redactor = Callable[[str], str]

_EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}")
_SSN = re.compile(r"\b(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}\b")
_CARD = re.compile(r"\b(?:\d[ \-]?){12,18}\d\b")
# Not inside a longer run of digit groups (an account or card-like number is not a phone number).
_PHONE = re.compile(
    r"(?<![\w-])(?<!\d[ .\-])(?:\+\d{1,3}[\s.\-]?)?(?:\(\d{2,4}\)|\d{2,4})[\s.\-]?\d{3,4}[\s.\-]?\d{3,4}"
    r"(?![\w-])(?![ .\-]\d)"
)


def _luhn(digits: str) -> bool:
    total = 0
    for i, char in enumerate(reversed(digits)):
        n = int(char)
        if i % 2 == 1:
            n = n * 2 - 9 if n > 4 else n * 2
        total += n
    return total % 10 == 0


def _card(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group(0))
    return "[CARD]" if 13 <= len(digits) <= 19 and _luhn(digits) else match.group(0)


def _phone(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group(0))
    return "[PHONE]" if 7 <= len(digits) <= 15 else match.group(0)


def redact_personal_data(text: str) -> str:
    """``text`` with e-mails, SSNs, card numbers and phone numbers replaced by placeholders."""
    text = _EMAIL.sub("[EMAIL]", text)
    text = _SSN.sub("[SSN]", text)
    text = _CARD.sub(_card, text)
    return _PHONE.sub(_phone, text)


def span_redactor(values: Iterable[str], *, then: Redactor | None = redact_personal_data) -> Redactor:
    """A redactor that also replaces each of ``values`` (e.g. names found by the analysis) with
    ``[REDACTED]``, longest first, then applies ``then``."""
    known = sorted({v for v in values if v and v.strip()}, key=len, reverse=True)
    pattern = re.compile("|".join(re.escape(v) for v in known)) if known else None

    def redact(text: str) -> str:
        if pattern is not None:
            text = pattern.sub("[REDACTED]", text)
        return then(text) if then is not None else text

    return redact
