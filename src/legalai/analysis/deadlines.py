"""Deadlines (time-limited obligations), durations and written dates.

Method
------
* ``parse_duration`` reads a length of time written as digits, number words or both
  ("thirty (30) days", "12 months", "one (1) year", "90 business days", "two weeks"); when a
  parenthetical number is given it wins over the words.
* ``parse_date`` reads one written date: "March 1, 2025", "Mar. 1st, 2025", "1 March 2025",
  "the 1st day of March, 2025", "3/1/2025" (U.S. month/day/year), "2025-03-01".
* ``find_deadlines`` looks for two shapes of time limits:

  - a relative one: a lead-in (``within``, ``no later than``, ``not less than``, ``at least``,
    ``due``, ``payable``...) + a duration + a direction (``after``, ``following``, ``from``,
    ``of``, ``prior to``, ``before``, ``in advance of``) + an anchor (a date, or a phrase up to
    the next punctuation or clause word: "the Effective Date", "receipt of the invoice",
    "the expiration of the Term"); ``within N days`` with no anchor is also reported;
  - an absolute one: ``no later than`` / ``not later than`` / ``on or before`` / ``by`` /
    ``before`` / ``prior to`` + a written date.

  The anchor is resolved against ``anchors`` (case-insensitive, leading "the" ignored, plus a
  few aliases: "expiration of the Term" -> "Expiration Date", "the date hereof" -> "Agreement
  Date", "Closing" -> "Closing Date"...), or is itself a literal date. The due date is the
  anchor moved by the offset (``relativedelta`` for days/weeks/months/years; business days skip
  Saturdays and Sundays, not holidays).

Limits: holidays are not known; "the first business day of each month" and other recurring
deadlines are not modelled (a recurring "within 30 days after the end of each quarter" is
reported with its anchor, unresolved); dates in day/month/year numeric form (European) are read
as month/day. Regexes are linear (bounded repetitions), so the functions are fast and never
raise on any input.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Literal

from dateutil.relativedelta import relativedelta

from legalai.analysis.definitions import sentence_end, sentence_start
from legalai.analysis.numbers import MONTHS, NUMBER_WORDS
from legalai.analysis.types import Deadline, Duration, DurationUnit

Relation = Literal["before", "after", "on", "no_later_than"]

_UNITS = {**NUMBER_WORDS, "ones": 1, "a": 1, "an": 1, "fourty": 40}
_NUM_WORD = (
    r"(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen"
    r"|sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fourty|fifty|sixty|seventy|eighty|ninety"
    r"|hundred|thousand)"
)
_NUM_WORDS = r"(?:" + _NUM_WORD + r"(?:[\s-]{1,3}(?:and[\s-]{1,3})?" + _NUM_WORD + r"){0,5}|an?)"
_DURATION = (
    r"(?P<dnum>(?<![\w.])(?:(?P<words>" + _NUM_WORDS + r")\b(?:[ \t\xa0]*\((?P<paren>\d{1,5})\))?"
    r"|(?P<digits>\d{1,5}(?:\.\d{1,2})?)(?![\d.,]\d)(?:[ \t\xa0]*\(\d{1,5}\))?))"
    r"[\s-]{1,3}(?:\(?(?P<cal>calendar|business|working|banking|consecutive)\)?[\s-]{1,3})?"
    r"(?P<unit>days?|weeks?|months?|years?)\b"
)
_DURATION_RE = re.compile(r"(?i:" + _DURATION + r")")

_MONTHS = dict(MONTHS)
_MONTH = (
    r"(?:January|February|March|April|May|June|July|August|September|October|November|December"
    r"|Jan\.?|Feb\.?|Mar\.?|Apr\.?|Jun\.?|Jul\.?|Aug\.?|Sept?\.?|Oct\.?|Nov\.?|Dec\.?)"
)
_DAY = r"(?:[0-3]?\d)(?:st|nd|rd|th)?"
_YEAR = r"(?:1[89]\d\d|2[01]\d\d)"
DATE_PATTERN = (
    r"(?:(?P<m1>" + _MONTH + r")[ \t\xa0]{1,3}(?P<d1>" + _DAY + r"),?[ \t\xa0]{1,3}(?P<y1>" + _YEAR + r")"
    r"|(?:the[ \t\xa0]{1,3})?(?P<d2>"
    + _DAY
    + r")[ \t\xa0]{1,3}(?:day[ \t\xa0]{1,3}of[ \t\xa0]{1,3})?(?P<m2>"
    + _MONTH
    + r"),?[ \t\xa0]{1,3}(?P<y2>"
    + _YEAR
    + r")"
    r"|(?<![\d/.-])(?P<m3>[01]?\d)/(?P<d3>[0-3]?\d)/(?P<y3>" + _YEAR + r"|\d\d)(?![\d/])"
    r"|(?<![\d/.-])(?P<y4>" + _YEAR + r")-(?P<m4>[01]\d)-(?P<d4>[0-3]\d)(?![\d-]))"
)
_DATE_RE = re.compile(r"(?i:" + DATE_PATTERN + r")")


def _month_number(name: str) -> int:
    key = name.lower().rstrip(".")
    for full, number in _MONTHS.items():
        if full.startswith(key) and len(key) >= 3:
            return number
    return 0


def _date_from_match(m: re.Match[str], prefix: str = "") -> date | None:
    def g(name: str) -> str:
        return m.group(prefix + name) or ""

    try:
        if g("m1"):
            y, mo, d = int(g("y1")), _month_number(g("m1")), int(_digits(g("d1")))
        elif g("m2"):
            y, mo, d = int(g("y2")), _month_number(g("m2")), int(_digits(g("d2")))
        elif g("m3"):
            y, mo, d = int(g("y3")), int(g("m3")), int(g("d3"))
            if y < 100:
                y += 2000 if y < 70 else 1900
        elif g("y4"):
            y, mo, d = int(g("y4")), int(g("m4")), int(g("d4"))
        else:
            return None
        return date(y, mo, d)
    except (ValueError, TypeError, OverflowError):
        return None


def _digits(s: str) -> str:
    return "".join(c for c in s if c.isdigit())


def parse_date(text: str) -> str | None:
    """ISO form of the first written date in ``text`` ("March 1, 2025" -> "2025-03-01")."""
    if not isinstance(text, str) or not text:
        return None
    for m in _DATE_RE.finditer(text[:10000]):
        d = _date_from_match(m)
        if d is not None:
            return d.isoformat()
    return None


def _words_to_number(words: str) -> int | None:
    total = 0
    current = 0
    seen = False
    for word in re.split(r"[\s-]+", words.lower()):
        if not word or word == "and":
            continue
        if word in _UNITS:
            current += _UNITS[word]
            seen = True
        elif word == "hundred":
            current = max(current, 1) * 100
            seen = True
        elif word == "thousand":
            total += max(current, 1) * 1000
            current = 0
            seen = True
        else:
            return None
    return total + current if seen else None


def _duration_from_match(m: re.Match[str]) -> Duration | None:
    value: float | None
    if m.group("paren"):
        value = float(m.group("paren"))
    elif m.group("digits"):
        try:
            value = float(m.group("digits"))
        except ValueError:
            return None
    else:
        n = _words_to_number(m.group("words") or "")
        value = float(n) if n is not None else None
    if value is None or value <= 0:
        return None
    unit_word = m.group("unit").lower().rstrip("s")
    cal = (m.group("cal") or "").lower()
    unit: DurationUnit
    if unit_word == "day":
        unit = "business_days" if cal in ("business", "working", "banking") else "days"
    else:
        unit = {"week": "weeks", "month": "months", "year": "years"}[unit_word]  # type: ignore[assignment]
    factor = {"days": 1.0, "business_days": 7 / 5, "weeks": 7.0, "months": 30.0, "years": 365.0}[unit]
    return Duration(value=value, unit=unit, days=round(value * factor), text=m.group(0))


def parse_duration(text: str) -> Duration | None:
    """The first length of time written in ``text`` ("thirty (30) days" -> 30 days)."""
    if not isinstance(text, str) or not text:
        return None
    for m in _DURATION_RE.finditer(text[:10000]):
        d = _duration_from_match(m)
        if d is not None:
            return d
    return None


# --- deadlines -----------------------------------------------------------------------------------

_STOP = (
    r"(?:and|or|but|unless|provided|if|in\s+which|which|that|who|where|whereupon|to|shall|will|may|must"
    r"|by|for|with|as|at|on|upon|under|during|pursuant|subject|except|including|then|whichever)"
)
_ANCHOR_WORD = r"[A-Za-z][\w'\u2019&-]{0,30}"
_ANCHOR = (
    r"(?P<anchor>(?P<adate>" + DATE_PATTERN.replace("?P<", "?P<a_") + r")"
    r"|(?:" + _ANCHOR_WORD + r")(?:[ \t\xa0]{1,3}(?!" + _STOP + r"\b)" + _ANCHOR_WORD + r"){0,7})"
)
_RELATIVE_RE = re.compile(
    r"(?i:(?P<lead>\b(?:within|no\s+later\s+than|not\s+later\s+than|no\s+earlier\s+than|at\s+least"
    r"|not\s+less\s+than|no\s+less\s+than|not\s+fewer\s+than|no\s+fewer\s+than|a\s+minimum\s+of"
    r"|due|payable|(?:on|by)\s+the\s+date\s+(?:that\s+is\s+)?)\s+(?:(?:the|a)\s+(?:period\s+of\s+)?)?)"
    + _DURATION
    + r"(?:[ \t\xa0]{1,3}(?P<dir>after|following|from|of|prior\s+to|before|preceding|in\s+advance\s+of"
    r"|subsequent\s+to)[ \t\xa0]{1,3}(?:the[ \t\xa0]{1,3}(?:date\s+of\s+(?:the\s+)?)?)?)?)"
    r"(?P<anchor_part>" + _ANCHOR + r")?"
)
_ABSOLUTE_RE = re.compile(
    r"(?i:(?P<lead>\b(?:no\s+later\s+than|not\s+later\s+than|on\s+or\s+before|by|before|prior\s+to"
    r"|on\s+or\s+prior\s+to)\s+(?:the\s+close\s+of\s+business\s+on\s+|5:00\s*p\.?m\.?[^,;.\n]{0,30}?\s+on\s+"
    r"|(?:the\s+)?)?)"
    r"(?P<date>" + DATE_PATTERN.replace("?P<", "?P<b_") + r"))"
)

_ALIASES = {
    "expiration of the term": "Expiration Date",
    "expiration of this agreement": "Expiration Date",
    "expiry of the term": "Expiration Date",
    "end of the term": "Expiration Date",
    "expiration date": "Expiration Date",
    "expiration of the initial term": "Expiration Date",
    "end of the initial term": "Expiration Date",
    "termination date": "Termination Date",
    "effective date": "Effective Date",
    "date hereof": "Agreement Date",
    "date of this agreement": "Agreement Date",
    "execution of this agreement": "Agreement Date",
    "execution date": "Agreement Date",
    "agreement date": "Agreement Date",
    "closing": "Closing Date",
    "closing date": "Closing Date",
    "commencement date": "Commencement Date",
}


def _clean_anchor(anchor: str) -> str:
    a = " ".join(anchor.split()).strip(" ,.;:'\u2019")
    low = a.lower()
    for prefix in ("the ", "such ", "this "):
        if low.startswith(prefix) and len(a) > len(prefix) + 2:
            a = a[len(prefix) :]
            low = a.lower()
    return a


def _known_prefix(anchor: str, anchors: dict[str, str]) -> str:
    """Cut a run-on anchor ("Effective Date Licensee") back to a known anchor name."""
    low = anchor.lower()
    names = [str(k) for k in anchors] + list(_ALIASES)
    best = ""
    for name in names:
        n = " ".join(name.split()).lower().removeprefix("the ")
        if n and low.startswith(n) and len(n) > len(best) and (len(low) == len(n) or low[len(n)] == " "):
            best = n
    return anchor[: len(best)] if best else anchor


def _resolve_anchor(anchor: str, anchors: dict[str, str]) -> date | None:
    low = {(" ".join(str(k).split())).lower().removeprefix("the "): v for k, v in anchors.items()}
    key = anchor.lower()
    candidates = [key]
    alias = _ALIASES.get(key)
    if alias:
        candidates.append(alias.lower())
    for k in candidates:
        iso = low.get(k)
        if iso:
            try:
                return date.fromisoformat(str(iso)[:10])
            except ValueError:
                return None
    return None


def _add_business_days(start: date, n: int, sign: int) -> date:
    d = start
    remaining = min(n, 100_000)
    while remaining > 0:
        d += timedelta(days=sign)
        if d.weekday() < 5:
            remaining -= 1
    return d


def _shift(anchor: date, duration: Duration, sign: int) -> date | None:
    try:
        v = duration.value
        if duration.unit == "business_days":
            return _add_business_days(anchor, int(v), sign)
        if duration.unit == "days":
            return anchor + timedelta(days=sign * int(v))
        if duration.unit == "weeks":
            return anchor + timedelta(days=sign * round(v * 7))
        if duration.unit == "months":
            months = int(v)
            days = round((v - months) * 30)
            return anchor + relativedelta(months=sign * months, days=sign * days)
        years = int(v)
        return anchor + relativedelta(years=sign * years, months=sign * round((v - years) * 12))
    except (OverflowError, ValueError):
        return None


def _description(text: str, start: int, end: int) -> str:
    s = sentence_start(text, start, 600)
    e = sentence_end(text, end, 600)
    sentence = " ".join(text[s:e].split())
    if len(sentence) <= 300:
        return sentence
    # Keep a 300-char window around the deadline itself.
    evidence = " ".join(text[start:end].split())
    idx = sentence.find(evidence)
    if idx < 0:
        return sentence[:297] + "..."
    room = max(0, 294 - len(evidence))
    lo = max(0, idx - room // 2)
    hi = min(len(sentence), lo + 294)
    lo = max(0, hi - 294)
    return ("..." if lo > 0 else "") + sentence[lo:hi] + ("..." if hi < len(sentence) else "")


def find_deadlines(text: str, anchors: dict[str, str] | None = None) -> list[Deadline]:
    """Time-limited obligations in ``text``, with due dates resolved against ``anchors``."""
    if not isinstance(text, str) or not text:
        return []
    anchors = anchors if isinstance(anchors, dict) else {}
    found: list[Deadline] = []
    for m in _RELATIVE_RE.finditer(text):
        deadline = _relative(text, m, anchors)
        if deadline is not None:
            found.append(deadline)
    for m in _ABSOLUTE_RE.finditer(text):
        day = _date_from_match(m, "b_")
        if day is None:
            continue
        lead = " ".join(m.group("lead").lower().split())
        relation: Relation = "before" if lead.startswith(("before", "prior")) else "no_later_than"
        if lead.startswith("by") and _is_by_party(text, m.start()):
            continue
        found.append(
            Deadline(
                description=_description(text, m.start(), m.end()),
                start=m.start(),
                end=m.end(),
                due_date=day.isoformat(),
                anchor=" ".join(m.group("date").split()),
                offset=None,
                relation=relation,
            )
        )
    found.sort(key=lambda d: (d.start, -(d.end - d.start)))
    out: list[Deadline] = []
    for d in found:
        if out and d.start < out[-1].end:
            continue
        out.append(d)
    return out


def _is_by_party(text: str, start: int) -> bool:
    # "executed by ... on March 1" never reaches here (date must follow "by"); but "signed by
    # March 1, 2025" is still a deadline. Only "dated by" style noise is filtered.
    return text[max(0, start - 7) : start].lower().strip().endswith("dated")


def _relative(text: str, m: re.Match[str], anchors: dict[str, str]) -> Deadline | None:
    duration = _duration_from_match(m)
    if duration is None:
        return None
    lead = " ".join(m.group("lead").lower().split())
    direction = " ".join((m.group("dir") or "").lower().split())
    anchor_text: str | None = None
    anchor_date: date | None = None
    end = m.end("unit")
    if direction and m.group("anchor_part"):
        if m.group("adate"):
            anchor_date = _date_from_match(m, "a_")
            anchor_text = " ".join(m.group("adate").split())
        else:
            anchor_text = _known_prefix(_clean_anchor(m.group("anchor")), anchors)
            anchor_date = _resolve_anchor(anchor_text, anchors) if anchor_text else None
        end = m.end("anchor_part")
        if anchor_text and not m.group("adate"):
            words = anchor_text.split()
            cut = re.search(r"\s+".join(map(re.escape, words)), m.group("anchor"), re.IGNORECASE)
            if cut:
                end = m.start("anchor") + cut.end()
        # Don't swallow a sentence-final period into the evidence.
        while end > m.start() and text[end - 1] in " .,;:":
            end -= 1
    elif not lead.startswith("within"):
        return None  # "at least 30 days" with nothing to count from is not a deadline
    relation: Relation
    if direction in ("prior to", "before", "preceding", "in advance of"):
        relation, sign = "before", -1
    else:
        relation, sign = "after", 1
    due: str | None = None
    if anchor_date is not None:
        shifted = _shift(anchor_date, duration, sign)
        due = shifted.isoformat() if shifted else None
    return Deadline(
        description=_description(text, m.start(), end),
        start=m.start(),
        end=end,
        due_date=due,
        anchor=anchor_text or None,
        offset=duration,
        relation=relation,
    )
