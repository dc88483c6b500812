"""Monetary amounts with currency, normalized value and a coarse kind.

Method
------
One linear regex finds a number (``1,500,000``, ``2.5``, ``.01``) with an optional multiplier
(``million``, ``billion``, ``thousand``, ``m``, ``mm``, ``bn``, ``k``) that is either preceded
by a currency sign or code (``$``, ``US$``, ``USD``, ``€``, ``£``, ``¥``, ``C$``, ``RMB``,
``CAD``...) or followed by a code or currency word (``Dollars``, ``U.S. dollars``, ``euros``,
``pounds sterling``, ``yuan``, ``yen``...). Spelled-out amounts written before a numeric
parenthetical (``Five Thousand Dollars ($5,000)``) become one finding whose span covers the
words and the parenthesis; the numeric part gives the value.

Amounts are normalized to a decimal string with two decimals (``"1500000.00"``). ``kind`` reads
the sentence around the amount: ``liability_cap`` when it speaks of liability with a limit
("in no event shall ... liability exceed", "aggregate liability ... shall not exceed",
"cap"), ``fee`` when it speaks of fees, payments, royalties, prices or compensation, else
``other``.

Limits: a bare ``¥`` is read as JPY (write ``RMB``/``CNY`` for yuan); ``$`` is read as USD
unless qualified (``C$``, ``A$``, ``HK$``...); amounts written only in words (no digits) are not
found; the sentence window is a heuristic (abbreviations such as "Inc." are handled, unusual
ones may cut it short).
"""

from __future__ import annotations

import bisect
import re
from decimal import Decimal, InvalidOperation
from typing import Literal

from legalai.analysis.definitions import sentence_end, sentence_start
from legalai.analysis.types import Money


def _words(words: str) -> list[str]:
    return words.split()


MoneyKind = Literal["liability_cap", "fee", "other"]

_PREFIX_CURRENCY = {
    "us$": "USD",
    "u.s.$": "USD",
    "usd$": "USD",
    "$": "USD",
    "c$": "CAD",
    "ca$": "CAD",
    "can$": "CAD",
    "a$": "AUD",
    "au$": "AUD",
    "hk$": "HKD",
    "s$": "SGD",
    "nz$": "NZD",
    "r$": "BRL",
    "mx$": "MXN",
    "€": "EUR",
    "£": "GBP",
    "¥": "JPY",
    "￥": "JPY",
    "rmb¥": "CNY",
    "rmb": "CNY",
    "₹": "INR",
    "₩": "KRW",
    "chf": "CHF",
    "fr.": "CHF",
}
_CODES = _words(
    "USD EUR GBP JPY CNY CAD AUD CHF HKD INR SGD NZD SEK NOK DKK KRW MXN BRL ZAR RUB PLN CZK HUF ILS "
    "TWD THB MYR IDR PHP TRY AED SAR"
)
_WORD_CURRENCY = {
    "dollars": "USD",
    "dollar": "USD",
    "us dollars": "USD",
    "u.s. dollars": "USD",
    "united states dollars": "USD",
    "canadian dollars": "CAD",
    "australian dollars": "AUD",
    "hong kong dollars": "HKD",
    "singapore dollars": "SGD",
    "euros": "EUR",
    "euro": "EUR",
    "pounds sterling": "GBP",
    "pounds": "GBP",
    "sterling": "GBP",
    "yen": "JPY",
    "yuan": "CNY",
    "renminbi": "CNY",
    "swiss francs": "CHF",
    "rupees": "INR",
}
_MULTIPLIERS = {
    "thousand": Decimal(1000),
    "k": Decimal(1000),
    "million": Decimal(10) ** 6,
    "millions": Decimal(10) ** 6,
    "m": Decimal(10) ** 6,
    "mm": Decimal(10) ** 6,
    "mn": Decimal(10) ** 6,
    "mio": Decimal(10) ** 6,
    "billion": Decimal(10) ** 9,
    "bn": Decimal(10) ** 9,
    "b": Decimal(10) ** 9,
    "trillion": Decimal(10) ** 12,
}

_NUMBER = r"(?:\d{1,3}(?:,\d{3}){1,6}(?:\.\d{1,4})?|\d{1,15}(?:\.\d{1,4})?|\.\d{1,4})"
_MULT = r"(?:[ \t]?(?i:thousand|millions?|billion|trillion|mm|mn|mio|bn)\b|(?i:m|k|b)\b)"
_PREFIX = (
    r"(?:(?i:us|u\.s\.|usd|ca|can|au|hk|nz|mx)\$|[CASR]\$|(?i:rmb)\s?[¥￥]|[$€£¥￥₹₩]"
    r"|(?<![A-Za-z])(?:" + "|".join(_CODES) + r"|RMB|CHF|Fr\.)(?![A-Za-z]))"
)
_SUFFIX_WORDS = (
    r"(?i:(?:(?:united\s+states|u\.?\s?s\.?|us|canadian|australian|hong\s+kong|singapore)\s+)?dollars?"
    r"|euros?|pounds(?:\s+sterling)?|sterling|yen|yuan|renminbi|swiss\s+francs|rupees)"
)
_MONEY_RE = re.compile(
    r"(?P<prefix>" + _PREFIX + r")[ \t\xa0]?(?P<num1>" + _NUMBER + r")(?P<mult1>" + _MULT + r")?"
    r"(?![\d,]\d)"
    r"|(?<![\w.,$€£¥])(?P<num2>" + _NUMBER + r")(?P<mult2>" + _MULT + r")?[ \t\xa0]?"
    r"(?P<suffix>(?<![A-Za-z])(?:"
    + "|".join(_CODES)
    + r"|RMB)(?![A-Za-z])|"
    + _SUFFIX_WORDS
    + r"(?![A-Za-z]))"
)

_NUMBER_WORDS = (
    r"zero|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen"
    r"|sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety"
    r"|hundred|thousand|million|billion|and|no|cents?|/100"
)
# Spelled amount right before "(": "Five Thousand Dollars (" - searched in a short window.
_WORDS_BEFORE_RE = re.compile(
    r"(?i:\b(?:(?:" + _NUMBER_WORDS + r")[\s-]{1,3}){1,14}(?:" + _SUFFIX_WORDS + r")"
    r"(?:[\s,]{1,3}(?:and[\s-]{1,3})?(?:\d{1,2}/100|(?:" + _NUMBER_WORDS + r")[\s-]{1,3}){0,4}(?:cents)?)?"
    r"[ \t]{0,3}\($)"
)

# Cue words, found once per text (on the lower-cased text) and looked up per sentence.
_LIABILITY_RE = re.compile(r"liabilit(?:y|ies)\b")
_LIMIT_RE = re.compile(
    r"\b(?:exceed|exceeds|not\s+be\s+more\s+than|limited\s+to|cap|caps|capped|maximum|in\s+excess\s+of"
    r"|in\s+no\s+event)\b"
)
_FEE_RE = re.compile(
    r"\b(?:fees?|pay|pays|paid|payable|payment|payments|royalt(?:y|ies)|price|prices|pricing"
    r"|compensation|salary|wages?|bonus|consideration|invoice[sd]?|rent|charges?|costs?|purchase"
    r"|remuneration|retainer|commissions?|subscription|deposit|reimburse\w*)\b"
)


class _Cues:
    """Sorted offsets of cue words, so a sentence is classified with a few bisections."""

    def __init__(self, text: str) -> None:
        low = text.lower()
        if len(low) != len(text):
            low = text.translate({c: c + 32 for c in range(65, 91)})
        self.liability = [m.start() for m in _LIABILITY_RE.finditer(low)]
        self.limit = [m.start() for m in _LIMIT_RE.finditer(low)]
        self.fee = [m.start() for m in _FEE_RE.finditer(low)]

    @staticmethod
    def _any(positions: list[int], start: int, end: int) -> bool:
        i = bisect.bisect_left(positions, start)
        return i < len(positions) and positions[i] < end

    def kind(self, start: int, end: int) -> MoneyKind:
        if self._any(self.liability, start, end) and self._any(self.limit, start, end):
            return "liability_cap"
        if self._any(self.fee, start, end):
            return "fee"
        return "other"


def _normalize(number: str, mult: str | None) -> str | None:
    digits = number.replace(",", "")
    try:
        value = Decimal(digits)
        if mult:
            value *= _MULTIPLIERS.get(mult.strip().lower(), Decimal(1))
        if value.adjusted() > 20:
            return None
        return str(value.quantize(Decimal("0.01")))
    except (InvalidOperation, ValueError, ArithmeticError):
        return None


def _currency_from_prefix(prefix: str) -> str:
    p = prefix.replace(" ", "").lower()
    if p in _PREFIX_CURRENCY:
        return _PREFIX_CURRENCY[p]
    if p.startswith("rmb"):
        return "CNY"
    up = prefix.upper()
    return up if up in _CODES else _PREFIX_CURRENCY.get(p, up)


def _currency_from_suffix(suffix: str) -> str:
    key = " ".join(suffix.lower().split())
    if key.upper() in _CODES:
        return key.upper()
    if key == "rmb":
        return "CNY"
    if key in _WORD_CURRENCY:
        return _WORD_CURRENCY[key]
    key = key.replace("u. s.", "u.s.").replace("u.s ", "u.s. ").replace("us ", "us ")
    if key.endswith("dollar") or key.endswith("dollars"):
        for prefix, code in (("canad", "CAD"), ("austral", "AUD"), ("hong", "HKD"), ("singap", "SGD")):
            if key.startswith(prefix):
                return code
        return "USD"
    return _WORD_CURRENCY.get(key, "USD")


def _sentence_kind(sentence: str) -> MoneyKind:
    low = sentence.lower()
    if _LIABILITY_RE.search(low) and _LIMIT_RE.search(low):
        return "liability_cap"
    return "fee" if _FEE_RE.search(low) else "other"


def _kind(text: str, cues: _Cues | None, start: int, end: int) -> MoneyKind:
    s, e = sentence_start(text, start, 500), sentence_end(text, end, 400)
    # Few amounts: read their sentences; many (tables, adversarial input): index the cues once.
    return cues.kind(s, e) if cues is not None else _sentence_kind(text[s:e])


def find_money(text: str) -> list[Money]:
    """Monetary amounts in ``text``, in order of appearance."""
    if not isinstance(text, str) or not text:
        return []
    out: list[Money] = []
    last_end = -1
    cues: _Cues | None = None
    budget = len(text) // 300 + 20  # amounts read sentence by sentence before indexing the cues
    for m in _MONEY_RE.finditer(text):
        if m.group("prefix") is not None:
            number, mult = m.group("num1"), m.group("mult1")
            currency = _currency_from_prefix(m.group("prefix"))
        else:
            number, mult = m.group("num2"), m.group("mult2")
            currency = _currency_from_suffix(m.group("suffix"))
        amount = _normalize(number, mult)
        if amount is None:
            continue
        start, end = m.start(), m.end()
        if m.group("prefix") is None and not mult and m.group("num2") and _looks_like_year(number, text, end):
            continue
        # "Five Thousand Dollars ($5,000)": extend over the words and the closing parenthesis.
        if start > 0 and text[start - 1] == "(":
            close = end
            while close < len(text) and close < end + 3 and text[close] in " \t":
                close += 1
            if close < len(text) and text[close] == ")":
                wm = _WORDS_BEFORE_RE.search(text, max(0, start - 200), start)
                if wm:
                    start, end = wm.start(), close + 1
                    if out and out[-1].end > start:
                        out.pop()
        if start < last_end:
            continue
        if cues is None and len(out) > budget:
            cues = _Cues(text)
        out.append(
            Money(amount=amount, currency=currency, kind=_kind(text, cues, start, end), start=start, end=end)
        )
        last_end = end
    return out


def _looks_like_year(number: str, text: str, end: int) -> bool:
    # "2019 Dollars" is rare; "in 2019 dollars" is about a base year, not an amount.
    return len(number) == 4 and number.startswith(("19", "20")) and "dollars" in text[end - 8 : end].lower()
