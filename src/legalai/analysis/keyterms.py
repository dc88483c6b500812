"""Offline, rule-based key-term extraction for contracts.

``extract_key_terms(text)`` returns a :class:`~legalai.analysis.types.KeyTerms` with the document
type, the parties, the agreement / effective / expiration dates, the governing law and venue, and
the term / renewal provisions. Everything is found with precompiled regular expressions and small
hand-written vocabularies (month names, number words, jurisdiction names, role words); there is no
model and no network access.

Method, field by field:

* **Document type** - the title is the first line of the opening ~1,500 characters that contains
  a document word ("Agreement", "Contract", "License", "Opinion", "Complaint", ...). An ordered
  list of keyword rules (most specific first: "non-disclosure" before "license" before "services")
  is applied to the title (confidence 0.9); without a usable title the same rules vote over the
  opening ~6,000 characters (confidence 0.3-0.6); letters, court decisions and pleadings have
  their own cues.
* **Parties** - only the preamble is read (the first ~8,000 characters). The party list follows
  "by and between", "between", "among" (with an optional colon and "(1)"-style enumeration). It
  is cut at the recitals ("WHEREAS", "RECITALS", "NOW, THEREFORE", ...) or the end of the
  sentence, split at top level (outside parentheses and quotes) on ";", "and", and commas that
  close a parenthetical, and each piece is reduced to its name by stopping at the descriptor
  (", a Delaware corporation", "having its principal place of business", "(the "Supplier")",
  an address, ...). The first quoted defined name in the piece is its short name; a role
  (licensor, supplier, ...) is derived from the short name or the "hereinafter ... as" wording.
  Fallbacks: defined-name parentheticals (``Acme Corp. ("Acme")``) in the opening text, then the
  signature blocks ("IN WITNESS WHEREOF" ... upper-case entity lines before "By:").
* **Dates** - one date grammar ("June 21, 1999", "21st day of June, 1999", "21 June 1999",
  "6/21/1999", "6/21/99", "1999-06-21"); blanks ("____, 2019") never produce a date. The
  agreement date is the preamble date with the best score: +cue ("dated", "made", "entered into",
  "as of", "Date:", "this ... day of"), +the document dating itself ("This Amendment ... is entered
  into on"), +a title-block "Dated as of" line; -a date of another document ("that certain ...
  Agreement dated", "previously entered into", '... dated May 1, 2015 (the "EPC Agreement")'), -an
  end date ("terminating on"); EDGAR "Source:" and "Page N" lines are skipped. Without a cued
  preamble date: "This Agreement is dated ..." anywhere, then the latest signature-block date. The
  effective date is, in order: a defined or labelled "Effective/Commencement Date" (before or after
  the label, also "Effective Date: ..." and tabular forms), "effective as of/on" in the preamble
  (not in recitals about other documents), an effective date tied to the last signature or to "the
  date first above written", the date the term commences ("The term ... shall commence on ..."),
  else the agreement date (the CUAD labels treat an agreement that says nothing else as effective
  when made). The expiration date is the clearest statement of the term: explicit end dates
  ("shall expire on", "until", "through and including", "concluding", "the later of (i)", labels
  "Expiration/Termination Date", "until the end of the calendar year", "the last day of February,
  2023") and initial terms ("for a period of five (5) years", "the fifth anniversary", "three (3)
  years from the Effective Date", "a four (4) year term") are scored by the sentence (term clause vs
  contract years, quarters, payments); survival and tail periods ("for two years after termination",
  "during the Term and for ...") are ignored. A duration is added to the start date (effective, else
  agreement date) the same day ("5 years from June 1, 2020" is June 1, 2025, as CUAD labels it). A
  perpetual or indefinite term gives an expiration finding with ``value=None``.
* **Governing law** - every "law(s) of <place>" and "<place> law" near "governed", "construed",
  "interpreted" or "governing law" is a candidate, scored by those cues; places introduced by
  "organized/incorporated/existing under the laws of" (corporate domicile) and by court or
  arbitration wording are penalized. With federal and state law together, the state wins.
  Places are normalized with a gazetteer (US states, Canadian provinces, Australian states,
  countries, "England and Wales", "Hong Kong", ...). The venue is the best place after "courts
  of/in/located in", "jurisdiction of", "venue".
* **Term** - initial term, perpetual, automatic renewal, renewal period and the notice needed to
  stop a renewal come from sentences around "term", "renew", "perpetual" and "non-renewal",
  with durations parsed from digits or number words ("ninety (90) days", "one-year").

Speed: the preamble rules look at a bounded head of the text; clause rules scan the whole text
with simple anchored patterns, look only at bounded windows around each hit, and stop after a
fixed number of hits, so the work is linear in the text length. No function raises on any input.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date

from dateutil.relativedelta import relativedelta

from legalai.analysis.numbers import MONTHS, NUMBER_WORDS
from legalai.analysis.types import (
    DateFinding,
    Duration,
    DurationUnit,
    Jurisdiction,
    KeyTerms,
    Offsets,
    TermInfo,
)

__all__ = ["extract_key_terms"]

_HEAD_CHARS = 8000  # preamble window for parties and dates
_TITLE_CHARS = 1500
_MAX_CLAUSE_HITS = 400  # per clause rule, bounds the work on huge texts
_WINDOW = 400
_SCAN_CHARS = 400_000  # whole-text date rules read at most this much (a long contract's length)

# --------------------------------------------------------------------------------------------
# Numbers and durations
# --------------------------------------------------------------------------------------------

_UNITS_WORDS = {**NUMBER_WORDS, "a": 1, "an": 1}
_NUMBER_WORD = (
    r"(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|"
    r"sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|hundred)"
)
_NUMBER = rf"(?:\d{{1,4}}(?:\.\d+)?|{_NUMBER_WORD}(?:(?:\s+and\s+|[\s-]+){_NUMBER_WORD}){{0,3}}|an?|half)"
_DURATION_RE = re.compile(
    rf"\b(?P<num>{_NUMBER})(?:\s*\(\s*(?P<digits>\d{{1,4}}(?:\.\d+)?)\s*\))?[\s-]*"
    r"(?P<qual>(?:(?:calendar|business|working|full|consecutive|banking|contract)\s+){0,2})"
    r"(?P<unit>days?|weeks?|months?|years?)\b",
    re.IGNORECASE,
)
_UNIT_DAYS = {"days": 1.0, "business_days": 7 / 5, "weeks": 7.0, "months": 30.0, "years": 365.0}


def _word_number(words: str) -> float | None:
    words = words.lower().strip()
    if not words:
        return None
    if re.fullmatch(r"\d+(?:\.\d+)?", words):
        return float(words)
    if words == "half":
        return 0.5
    total = 0
    current = 0
    for token in re.split(r"[\s-]+", words):
        if token == "and":  # noqa: S105 - a number word, not a secret
            continue
        if token == "hundred":  # noqa: S105
            current = max(current, 1) * 100
        elif token in _UNITS_WORDS:
            current += _UNITS_WORDS[token]
        else:
            return None
    total += current
    return float(total) if total else None


def _duration_from_match(match: re.Match[str]) -> Duration | None:
    value = _word_number(match.group("digits") or "") or _word_number(match.group("num"))
    if value is None or value <= 0:
        return None
    unit_word = match.group("unit").lower().rstrip("s")
    qual = (match.group("qual") or "").lower()
    unit: DurationUnit
    if unit_word == "day":
        unit = "business_days" if re.search(r"business|working|banking", qual) else "days"
    elif unit_word == "week":
        unit = "weeks"
    elif unit_word == "month":
        unit = "months"
    else:
        unit = "years"
    return Duration(value=value, unit=unit, days=round(value * _UNIT_DAYS[unit]), text=match.group(0))


# --------------------------------------------------------------------------------------------
# Dates
# --------------------------------------------------------------------------------------------

_MONTHS = {
    **MONTHS,
    "jan": 1,
    "feb": 2,
    "mar": 3,
    "apr": 4,
    "jun": 6,
    "jul": 7,
    "aug": 8,
    "sep": 9,
    "sept": 9,
    "oct": 10,
    "nov": 11,
    "dec": 12,
}
_ORDINAL_WORDS = {
    "first": 1,
    "second": 2,
    "third": 3,
    "fourth": 4,
    "fifth": 5,
    "sixth": 6,
    "seventh": 7,
    "eighth": 8,
    "ninth": 9,
    "tenth": 10,
    "eleventh": 11,
    "twelfth": 12,
    "thirteenth": 13,
    "fourteenth": 14,
    "fifteenth": 15,
    "sixteenth": 16,
    "seventeenth": 17,
    "eighteenth": 18,
    "nineteenth": 19,
    "twentieth": 20,
    "thirtieth": 30,
}


def _by_first_letter(alternatives: list[str]) -> str:
    """``a|b|...`` as one alternation grouped by first letter: ``j(?:anuary|une|...)|f(?:...)``.

    It matches exactly what the flat alternation does (at a given position only the alternatives
    starting with the letter there can match, and they are tried in the same order), but the
    regex engine, which has no first-character shortcut for case-insensitive alternatives, tries
    one alternative per letter instead of every one. The grouping needs every alternative to
    start with an ASCII letter, and no two groups whose letters differ only in case (so that,
    case-insensitive or not, a character matches one group's letter at most); otherwise the
    alternatives are joined as they are.
    """
    by_letter: dict[str, list[str]] = {}
    for alternative in alternatives:
        first = alternative[:1]
        if not (first.isascii() and first.isalpha()):
            return "|".join(alternatives)
        by_letter.setdefault(first, []).append(alternative[1:])
    if len({letter.lower() for letter in by_letter}) < len(by_letter):
        return "|".join(alternatives)
    return "|".join(f"{letter}(?:{'|'.join(rests)})" for letter, rests in by_letter.items())


_MONTH = (
    "(?:"
    + _by_first_letter(
        [
            *("january", "february", "march", "april", "may", "june", "july", "august", "september"),
            *("october", "november", "december", "jan", "feb", "mar", "apr", "jun", "jul", "aug"),
            *("sept", "sep", "oct", "nov", "dec"),
        ]
    )
    + ")"
)
_ORDINAL = (
    r"(?:(?:twenty|thirty)[\s-]+)?(?:"
    + _by_first_letter(
        [
            *("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth"),
            *("tenth", "eleventh", "twelfth", "thirteenth", "fourteenth", "fifteenth", "sixteenth"),
            *("seventeenth", "eighteenth", "nineteenth", "twentieth", "thirtieth"),
        ]
    )
    + ")"
)
_SUFFIX = r"(?:\s?(?:st|nd|rd|th|s\s?t|t\s?h|n\s?d|r\s?d))?"
_YEAR = r"(?:19|20)\d{2}"
_DATE_RE = re.compile(
    rf"(?:"
    # June 21, 1999 / June 21st 1999 / Jun. 21, 1999
    rf"(?<![A-Za-z])(?P<m1>{_MONTH})\.?\s{{0,3}}(?P<d1>\d{{1,2}}){_SUFFIX}\s{{0,3}}[,.]?\s{{0,3}}(?P<y1>{_YEAR})"
    # 21st day of June, 1999 / 21 June 1999 / twenty-first day of June, 1999
    rf"|(?:(?<!\d)(?P<d2>\d{{1,2}})|(?<![A-Za-z])(?P<d2w>{_ORDINAL})){_SUFFIX}\s{{1,3}}(?:day\s{{1,3}}of\s{{1,3}})?(?:[a-z]+,?\s{{1,3}})?"
    rf"(?P<m2>{_MONTH})\.?\s{{0,3}},?\s{{0,3}}(?:in\s+the\s+year\s+)?(?P<y2>{_YEAR})"
    # 6/21/1999, 6-21-99, 21.6.1999
    rf"|(?<![\d/.\-])(?P<n1>\d{{1,2}})(?P<sep>[/.\-])(?P<n2>\d{{1,2}})(?P=sep)(?P<y3>{_YEAR}|\d{{2}})(?![\d/])"
    # 1999-06-21
    rf"|(?<!\d)(?P<y4>{_YEAR})-(?P<n4>\d{{2}})-(?P<d4>\d{{2}})"
    rf")(?!\d)",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class _Date:
    value: str
    start: int
    end: int


def _make_date(year: int, month: int, day: int) -> str | None:
    try:
        return date(year, month, day).isoformat()
    except ValueError:
        return None


def _parse_date(match: re.Match[str]) -> str | None:
    g = match.groupdict()
    if g["m1"]:
        return _make_date(int(g["y1"]), _MONTHS[g["m1"].lower()], int(g["d1"]))
    if g["m2"]:
        raw_day = (g["d2"] or g["d2w"]).lower()
        if raw_day.isdigit():
            day = int(raw_day)
        else:
            parts = re.split(r"[\s-]+", raw_day)
            day = sum(_ORDINAL_WORDS.get(p, {"twenty": 20, "thirty": 30}.get(p, 0)) for p in parts)
        return _make_date(int(g["y2"]), _MONTHS[g["m2"].lower()], day)
    if g["n1"]:
        first, second = int(g["n1"]), int(g["n2"])
        year_text = g["y3"]
        year = (
            int(year_text)
            if len(year_text) == 4
            else int(year_text) + (2000 if int(year_text) < 50 else 1900)
        )
        if g["sep"] == "." and first <= 31 and second <= 12:
            month, day = second, first  # 21.6.1999 is day-first
        elif first > 12 >= second:
            month, day = second, first
        else:
            month, day = first, second
        return _make_date(year, month, day)
    if g["y4"]:
        return _make_date(int(g["y4"]), int(g["n4"]), int(g["d4"]))
    return None


def _dates_in(text: str, start: int, end: int) -> Iterator[_Date]:
    for match in _DATE_RE.finditer(text, start, end):
        value = _parse_date(match)
        if value:
            yield _Date(value, match.start(), match.end())


# --------------------------------------------------------------------------------------------
# Jurisdictions
# --------------------------------------------------------------------------------------------

_US_STATES = [
    "Alabama",
    "Alaska",
    "Arizona",
    "Arkansas",
    "California",
    "Colorado",
    "Connecticut",
    "Delaware",
    "Florida",
    "Georgia",
    "Hawaii",
    "Idaho",
    "Illinois",
    "Indiana",
    "Iowa",
    "Kansas",
    "Kentucky",
    "Louisiana",
    "Maine",
    "Maryland",
    "Massachusetts",
    "Michigan",
    "Minnesota",
    "Mississippi",
    "Missouri",
    "Montana",
    "Nebraska",
    "Nevada",
    "Ohio",
    "Oklahoma",
    "Oregon",
    "Pennsylvania",
    "Tennessee",
    "Texas",
    "Utah",
    "Vermont",
    "Virginia",
    "Washington",
    "Wisconsin",
    "Wyoming",
    "New Hampshire",
    "New Jersey",
    "New Mexico",
    "New York",
    "North Carolina",
    "North Dakota",
    "Rhode Island",
    "South Carolina",
    "South Dakota",
    "West Virginia",
    "District of Columbia",
    "Puerto Rico",
]
_PROVINCES = [
    "Ontario",
    "Quebec",
    "British Columbia",
    "Alberta",
    "Manitoba",
    "Saskatchewan",
    "Nova Scotia",
    "New Brunswick",
    "Newfoundland and Labrador",
    "Prince Edward Island",
    "New South Wales",
    "Victoria",
    "Queensland",
    "Western Australia",
    "South Australia",
    "Tasmania",
]
_COUNTRIES = [
    "United States",
    "Canada",
    "Mexico",
    "Brazil",
    "Argentina",
    "Chile",
    "Colombia",
    "Peru",
    "England",
    "Wales",
    "Scotland",
    "Northern Ireland",
    "Ireland",
    "France",
    "Germany",
    "Italy",
    "Spain",
    "Portugal",
    "Netherlands",
    "Belgium",
    "Luxembourg",
    "Switzerland",
    "Austria",
    "Sweden",
    "Norway",
    "Denmark",
    "Finland",
    "Iceland",
    "Poland",
    "Czech Republic",
    "Hungary",
    "Greece",
    "Cyprus",
    "Malta",
    "Russia",
    "Russian Federation",
    "Ukraine",
    "Turkey",
    "Israel",
    "Egypt",
    "South Africa",
    "Nigeria",
    "Kenya",
    "India",
    "Pakistan",
    "China",
    "Hong Kong",
    "Macau",
    "Taiwan",
    "Japan",
    "Korea",
    "Republic of Korea",
    "South Korea",
    "Singapore",
    "Malaysia",
    "Thailand",
    "Vietnam",
    "Indonesia",
    "Philippines",
    "Australia",
    "New Zealand",
    "Papua New Guinea",
    "United Arab Emirates",
    "Saudi Arabia",
    "Qatar",
    "Bermuda",
    "Cayman Islands",
    "British Virgin Islands",
    "Bahamas",
    "Barbados",
    "Panama",
    "Costa Rica",
    "Jersey",
    "Guernsey",
    "Isle of Man",
    "Liechtenstein",
    "Monaco",
]
_JURISDICTION_ALIASES = {
    "england and wales": "England and Wales",
    "england & wales": "England and Wales",
    "english": "England",
    "united kingdom": "England",
    "u.k.": "England",
    "people's republic of china": "China",
    "peoples republic of china": "China",
    "p.r.c.": "China",
    "prc": "China",
    "p.r. china": "China",
    "united states of america": "United States",
    "u.s.a.": "United States",
    "u.s.": "United States",
    "usa": "United States",
    "hong kong special administrative region": "Hong Kong",
    "hong kong sar": "Hong Kong",
    "the netherlands": "Netherlands",
    "republic of singapore": "Singapore",
    "washington, d.c.": "District of Columbia",
    "washington d.c.": "District of Columbia",
    "new york state": "New York",
    "the state of israel": "Israel",
    "federal republic of germany": "Germany",
    "republic of china": "Taiwan",
    "r.o.c.": "Taiwan",
    "republic of korea": "South Korea",
    "republic of india": "India",
    "republic of ireland": "Ireland",
    "italian republic": "Italy",
    "french republic": "France",
    "kingdom of the netherlands": "Netherlands",
    "swiss": "Switzerland",
    "italian": "Italy",
    "german": "Germany",
    "french": "France",
    "dutch": "Netherlands",
    "spanish": "Spain",
    "israeli": "Israel",
    "chinese": "China",
    "japanese": "Japan",
    "korean": "South Korea",
    "taiwanese": "Taiwan",
    "canadian": "Canada",
    "australian": "Australia",
    "irish": "Ireland",
    "swedish": "Sweden",
    "danish": "Denmark",
    "norwegian": "Norway",
    "finnish": "Finland",
    "belgian": "Belgium",
    "austrian": "Austria",
    "indian": "India",
    "mexican": "Mexico",
    "brazilian": "Brazil",
    "singapore": "Singapore",
    "scottish": "Scotland",
    "luxembourg": "Luxembourg",
    "colombian": "Colombia",
    "hong kong": "Hong Kong",
}
_DEMONYMS = {
    "swiss",
    "italian",
    "german",
    "french",
    "dutch",
    "spanish",
    "israeli",
    "chinese",
    "japanese",
    "korean",
    "taiwanese",
    "canadian",
    "australian",
    "irish",
    "swedish",
    "danish",
    "norwegian",
    "finnish",
    "belgian",
    "austrian",
    "indian",
    "mexican",
    "brazilian",
    "scottish",
    "colombian",
    "english",
}
_CANONICAL_PLACE: dict[str, str] = {name.lower(): name for name in (*_US_STATES, *_PROVINCES, *_COUNTRIES)}
_CANONICAL_PLACE.update(_JURISDICTION_ALIASES)
_US_STATE_SET = {s.lower() for s in _US_STATES}
_FEDERAL = {"United States"}


def _place_alternation() -> str:
    """All gazetteer names, longest first (grouped by first letter: ~200 names)."""
    names = sorted(_CANONICAL_PLACE, key=len, reverse=True)
    parts = []
    for name in names:
        escaped = re.escape(name).replace(r"\ ", r"\s+")
        parts.append(escaped.replace("'", "['\u2019]?"))
    return _by_first_letter(parts)


_PLACE = _place_alternation()
_PLACE_RE = re.compile(rf"(?<![\w.])(?P<place>{_PLACE})(?![\w])", re.IGNORECASE)
# "laws of the State of New York", "law of England", "laws of the Province of Ontario"
_LAWS_OF_RE = re.compile(
    r"\b(?:laws?|regulations)\s+(?:in\s+force\s+in\s+|prevailing\s+in\s+|applicable\s+in\s+)?(?:of|in)\s+"
    r"(?:the\s+)?(?:(?:State|Commonwealth|Province|Territory)\s+of\s+(?:the\s+)?)?"
    r"|\b(?:State|Commonwealth|Province)\s+of\s+",
    re.IGNORECASE,
)
_PLACE_LAW_RE = re.compile(
    rf"(?<![\w.])(?P<place>{_PLACE})\s+(?:state\s+|substantive\s+|governing\s+)?laws?\b", re.IGNORECASE
)
_GOVERN_CUE = re.compile(r"govern|constru|interpret|enforced|applicable\s+law|subject\s+to\s+the\s+law", re.I)
_DOMICILE_CUE = re.compile(
    r"(?:organi[sz]ed|incorporated|existing|formed|chartered|registered|constituted|established|"
    r"company|corporation|partnership|incorporation)\s*(?:and\s+\w+\s+)?(?:under|pursuant\s+to|by|in)"
    r"\s*(?:and\s+by\s+virtue\s+of\s+)?(?:the\s+)?$",
    re.IGNORECASE,
)
_COURT_CUE = re.compile(r"court|jurisdiction|venue|arbitra|tribunal|forum", re.I)
_GOVERN_TRIGGER = re.compile(
    r"govern(?:ed|ing|s)?\b|constru(?:ed|ction)\b|interpret(?:ed|ation)\b|\blaws?\b", re.IGNORECASE
)
_VENUE_TRIGGER = re.compile(r"\b(?:courts?|jurisdiction|venue|forum|tribunals?)\b|\barbitrat", re.IGNORECASE)


def _place_name(raw: str, text: str, end: int) -> tuple[str, int]:
    """Canonical place name for a gazetteer hit; extends "England" to "England and Wales"."""
    key = re.sub(r"\s+", " ", raw.lower().replace("\u2019", "'"))
    name = _CANONICAL_PLACE.get(key, raw.strip())
    if name == "England":
        tail = re.match(r"\s*(?:and|&)\s+Wales\b", text[end : end + 20], re.IGNORECASE)
        if tail:
            return "England and Wales", end + tail.end()
    if name == "Washington":
        tail = re.match(r",?\s*D\.?\s?C\.?", text[end : end + 8])
        if tail:
            return "District of Columbia", end + tail.end()
    return name, end


# --------------------------------------------------------------------------------------------
# Document type
# --------------------------------------------------------------------------------------------

_TYPE_RULES: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (name, re.compile(pattern, re.IGNORECASE))
    for name, pattern in (
        ("nda", r"non[\s-]?disclosure|confidentiality\s+agreement|secrecy|\bnda\b"),
        ("settlement", r"settlement|release\s+agreement"),
        ("employment", r"employment|\bemployee\b|executive\s+agreement|offer\s+letter"),
        ("joint_venture", r"joint\s+venture"),
        ("strategic_alliance", r"strategic\s+alliance|alliance\s+agreement"),
        ("franchise", r"franchise"),
        (
            "ip_assignment",
            r"(?:patent|intellectual\s+property|trademark|copyright)\s+(?:assignment|agreement)",
        ),
        ("sponsorship", r"sponsorship"),
        ("endorsement", r"endorsement"),
        ("reseller", r"reseller|resale|\bvar\s+agreement"),
        ("distribution", r"distribut"),
        ("hosting", r"hosting|co[\s-]?location|cloud\s+services"),
        ("outsourcing", r"outsourc"),
        ("manufacturing", r"manufactur"),
        ("supply", r"supply"),
        ("maintenance", r"maintenance|support\s+agreement"),
        ("collaboration", r"collaborat|co[\s-]?development|co[\s-]?promotion"),
        ("development", r"development"),
        ("license", r"licen[cs]e|licensing"),
        ("marketing", r"marketing|co[\s-]?branding|promotion|advertising|affiliate\s+agreement"),
        ("consulting", r"consult|advisory"),
        ("transportation", r"transport|shipping|carriage|freight|logistics"),
        ("agency", r"\bagency\b|\bagent\s+agreement"),
        ("partnership", r"partnership"),
        ("lease", r"\blease\b|sublease|tenancy"),
        ("loan", r"\bloan\b|credit\s+agreement|promissory\s+note|credit\s+facility"),
        ("purchase", r"purchase|\bsale\b|sales\s+agreement"),
        ("services", r"services?\b"),
    )
)
_TITLE_LINE = re.compile(
    r"[^\n]*\b(?:agreement|contract|licen[cs]e|lease|memorandum|addendum|amendment|deed|terms|letter|"
    r"opinion|complaint|petition|motion)\b[^\n]*",
    re.IGNORECASE,
)
_COURT_RE = re.compile(
    r"\b(?:IN\s+THE\s+(?:UNITED\s+STATES\s+)?(?:DISTRICT\s+|SUPREME\s+|CIRCUIT\s+)?COURT|OPINION\s+OF\s+THE\s+COURT|"
    r"Court\s+of\s+Appeals|Before:?\s+[A-Z]|AFFIRMED|REVERSED|REMANDED)\b"
)
_PLEADING_RE = re.compile(
    r"\b(?:COMPLAINT|MOTION\s+(?:TO|FOR)|PETITION|PLAINTIFFS?|DEFENDANTS?|Case\s+No\.|Civil\s+Action)\b"
)
_LETTER_RE = re.compile(r"^\s*(?:Dear\s+[A-Z][^\n]{0,60}[:,]|Re:|Sincerely|Very truly yours)", re.MULTILINE)
_CONTRACT_CUE = re.compile(
    r"\b(?:agreement|hereby\s+agree|parties\s+hereto|witnesseth|in\s+witness\s+whereof)\b", re.IGNORECASE
)


def _document_type(text: str) -> tuple[str, float]:
    head = text[:_TITLE_CHARS]
    for match in _TITLE_LINE.finditer(head):
        line = match.group(0)
        if len(line.strip()) > 200 or re.search(r"\bsource:", line, re.IGNORECASE):
            # A long line is running text; use only its first part.
            line = line[:200]
        if not re.search(r"agreement|contract|licen[cs]e|lease", line, re.IGNORECASE):
            continue
        for name, pattern in _TYPE_RULES:
            if pattern.search(line):
                return name, 0.9
    wide = text[:6000]
    contract_like = bool(_CONTRACT_CUE.search(wide))
    if not contract_like:
        if len(_COURT_RE.findall(wide)) >= 2:
            return "court_decision", 0.6
        if len(_PLEADING_RE.findall(wide)) >= 3:
            return "pleading", 0.5
        if _LETTER_RE.search(wide):
            return "correspondence", 0.5
    best, best_count = "other", 0
    for name, pattern in _TYPE_RULES:
        count = len(pattern.findall(wide))
        if count > best_count:
            best, best_count = name, count
    if best_count >= 3:
        return best, 0.6
    if best_count:
        return best, 0.3
    return "other", 0.2 if contract_like else 0.1


# --------------------------------------------------------------------------------------------
# Dates in the preamble and the term clause
# --------------------------------------------------------------------------------------------

_AGREEMENT_CUE = re.compile(
    r"(?:dated|made|entered\s+into|executed|signed|as\s+of|date[d]?\s*:|effective|day\s+of|this\s+\d|"
    r"made\s+and\s+entered|concluded|agreement\s+date|date\s+of\s+this\s+agreement)[^.;]{0,80}$",
    re.IGNORECASE,
)
_SOURCE_LINE = re.compile(r"source:|filed|rev\.|revised|\b10-[KQ]|\b8-K|\bS-1|page\s+\d", re.IGNORECASE)
# "that certain Supply Agreement dated ...", "previously entered into ...": a date of another document.
_REFERENCE_WORDS = (
    r"(?:that\s+certain|previous\w*|heretofore|original\w*|\bprior\b|existing|underlying|as\s+amended|"
    r"amended\s+(?:on|as\s+of|by)|pursuant\s+to|\bunder\s+(?:the|that|a|an)\b|supersed\w*|replac\w*|"
    r"entered\s+into\s+(?:the|a|an|that|certain)\b|with\s+an\s+effective\s+date|effective\s+date\s+of)"
)
_REFERENCE_RE = re.compile(_REFERENCE_WORDS, re.IGNORECASE)
_DOC_WORDS = r"(?:agreement|contract|lease|licen[cs]e|amendment|plan|memorandum|indenture)"
_REFERENCE_CUE = re.compile(
    rf"{_REFERENCE_WORDS}[^.;]{{0,120}}$|"
    # "Amendment to the Supply Agreement dated ...": the date of the amended document.
    rf"\b(?:to|of|amend\w*)\s+(?:the|that|a|an)\s+(?:[\w&-]+\s+){{0,8}}?{_DOC_WORDS}\s*,?\s*"
    r"(?:dated|made|entered\s+into|executed)\s+(?:as\s+of\s+|on\s+)?$",
    re.IGNORECASE,
)
# '... dated May 1, 2015 (the "Supply Agreement")': the date belongs to a defined other document.
_OTHER_DOC_DEF = re.compile(
    r"\s*,?\s*\(\s*(?:the\s+|as\s+amended[^)]{0,60}?,?\s*)?[\"\u201c][^\"\u201d]{0,60}"
    r"(?:agreement|contract|lease|license|licence|plan|indenture|mou|memorandum|note)\w*\s*[\"\u201d]",
    re.IGNORECASE,
)
_END_CONTEXT = re.compile(
    r"(?:terminat\w*|expir\w*|until|through|thru|ending|ends?|conclud\w*|end\s+date|termination\s+date)"
    r"\s*(?:on|at|date)?\s*:?\s*(?:the\s+)?$",
    re.IGNORECASE,
)
# "This Amendment ... is entered into on", "THIS AGREEMENT is made the": the document dating itself.
_THIS_DOC = re.compile(
    r"\bthis\s+(?:[\w'\u2019&-]+\s+){0,10}(?:agreement|amendment|contract|lease|addendum|exhibit|"
    r"licen[cs]e|letter|memorandum|instrument|deed|order|statement\s+of\s+work|sow|plan|assignment|"
    r"guarant\w+|undertaking|supplement|appendix|schedule|confirmation)\b",
    re.IGNORECASE,
)
_SELF_VERB = re.compile(
    r"\b(?:made|entered|dated|executed|signed|concluded|effective|date[d]?\s*:)", re.IGNORECASE
)
_SENTENCE_BREAK = re.compile(
    r"(?<!\bInc)(?<!\bCorp)(?<!\bCo)(?<!\bLtd)(?<!\bNo)(?<!\b[A-Z])\.\s+(?=[A-Z(])|;|\n[ \t]*\n"
)
_DATED_LINE = re.compile(r"(?:^|\n)[ \t]*(?:dated|date)?[ \t]*(?:as\s+of)?[ \t]*:?[ \t]*$", re.IGNORECASE)
_SELF_DATED_RE = re.compile(
    r"\bthis\s+(?:agreement|contract|amendment|lease|addendum)\s+(?:is|was|has\s+been|shall\s+be)\s+"
    r"(?:made\s+and\s+)?(?:dated|made|entered\s+into|executed|signed|concluded)\s+(?:(?:on|as\s+of|at)\s+)?"
    r"(?:this\s+)?(?:the\s+)?",
    re.IGNORECASE,
)
_SIGNATURE_DATE_CUE = re.compile(
    r"(?:date[d]?\s*:?|executed[^.]{0,80}?(?:on|as\s+of)|signed[^.]{0,120}?\bon|day\s+of|,)\s*(?:the\s+)?"
    r"(?:date[d]?\s*:?\s*)*$",
    re.IGNORECASE,
)
_LABELLED_OTHER_DATE = re.compile(
    r"(?:effective|commencement|start|terminat\w*|expir\w*|end)\s+date[\"\u201d]?\s*:?\s*$", re.IGNORECASE
)
_WITNESS_RE = re.compile(r"IN\s+WITNESS\s+WHEREOF", re.IGNORECASE)
_DATE_LABEL_RE = re.compile(r"\bDate[d]?\s*:", re.IGNORECASE)


def _line_prefix(text: str, pos: int) -> str:
    """The text of the line containing ``pos`` up to ``pos`` (at most 200 characters)."""
    lo = max(0, pos - 200)
    newline = text.rfind("\n", lo, pos)
    return text[newline + 1 if newline >= 0 else lo : pos]


def _on_source_line(text: str, found: _Date) -> bool:
    """EDGAR page furniture: "Source: ACME INC, 10-K, 3/1/2019", "Page 4 May 2004"."""
    prefix = _line_prefix(text, found.start)
    if re.search(r"source:|page\s*$", prefix, re.IGNORECASE):
        return True
    return bool(_SOURCE_LINE.search(text[max(0, found.start - 40) : found.start]))


def _clause_before(text: str, pos: int, width: int = 400) -> str:
    """The text of the current sentence before ``pos`` (bounded)."""
    window = text[max(0, pos - width) : pos]
    cut = 0
    for match in _SENTENCE_BREAK.finditer(window):
        cut = match.end()
    return window[cut:]


def _self_dated(clause: str) -> bool:
    """True when ``clause`` (the sentence before a date) has the document dating itself."""
    begin = 0
    for reference in _REFERENCE_RE.finditer(clause):
        begin = reference.end()  # "this ..." must follow any mention of another document
    last = None
    for match in _THIS_DOC.finditer(clause, begin):
        last = match
    if last is None:
        return False
    verbs = list(_SELF_VERB.finditer(clause, last.end()))
    verb = verbs[-1] if verbs else None
    if verb is None or len(clause) - verb.end() > 80:
        return False
    # The verb must belong to "this ...", not to another document named in between.
    gap = re.sub(r"\([^()]*\)|[\"\u201c][^\"\u201d]*[\"\u201d]", " ", clause[last.end() : verb.start()])
    return not re.search(rf"\b{_DOC_WORDS}\b", gap, re.IGNORECASE)


def _score_agreement_date(text: str, found: _Date) -> int:
    before = text[max(0, found.start - 120) : found.start]
    clause = _clause_before(text, found.start)
    score = 0
    if _AGREEMENT_CUE.search(before):
        score += 2
    self_dated = _self_dated(clause)
    if self_dated:
        score += 3
    elif found.start < 3000 and _DATED_LINE.search(before) and re.match(r"[ \t]*(?:\n|$)", text[found.end :]):
        score += 2  # a title-block line "Dated as of June 1, 2020" or the bare date
    if re.search(r"(?:agreement|lease|contract)\b[^.;]{0,160}$", before, re.IGNORECASE):
        score += 1
    if not self_dated and (
        _REFERENCE_CUE.search(clause[-160:]) or _OTHER_DOC_DEF.match(text, found.end, found.end + 120)
    ):
        score -= 3
    if _END_CONTEXT.search(before[-40:]):
        score -= 3
    return score - found.start // 3000  # prefer the opening


def _agreement_date(text: str) -> DateFinding | None:
    head_end = min(len(text), _HEAD_CHARS)
    best: tuple[int, _Date] | None = None
    for found in _dates_in(text, 0, head_end):
        if _on_source_line(text, found):
            continue
        score = _score_agreement_date(text, found)
        if best is None or score > best[0]:
            best = (score, found)
    if best is None or best[0] < 2:
        # "This Agreement is dated April 29, 2010." anywhere, then the signature blocks.
        for hits, cue in enumerate(_SELF_DATED_RE.finditer(text, 0, _SCAN_CHARS)):
            if hits >= _MAX_CLAUSE_HITS:
                break
            stated = next(_dates_in(text, cue.end(), min(len(text), cue.end() + 40)), None)
            if stated is not None and stated.start - cue.end() < 12:
                return DateFinding("agreement_date", stated.value, stated.start, stated.end, 0.8)
        signed = _signature_date(text)
        if signed is not None:
            return signed
    if best is None:
        return None
    score, found = best
    confidence = 0.9 if score >= 2 else 0.6 if score >= 0 else 0.4
    return DateFinding("agreement_date", found.value, found.start, found.end, confidence)


def _signature_date(text: str) -> DateFinding | None:
    """The latest date written in the first signature blocks ("Date: ...", "executed ... on ...")."""
    witness = _WITNESS_RE.search(text)
    if witness:
        starts = [witness.start()]
    else:
        starts = [m.start() for _, m in zip(range(5), _DATE_LABEL_RE.finditer(text), strict=False)]
    latest: _Date | None = None
    for start in starts:
        for found in _dates_in(text, start, min(len(text), start + 6000)):
            if _on_source_line(text, found):
                continue
            before = text[max(start, found.start - 160) : found.start]
            line_end = text.find("\n", found.end, found.end + 200)
            line_rest = text[found.end : line_end if line_end >= 0 else found.end]
            bare = not re.search(r"[A-Za-z]", _line_prefix(text, found.start) + line_rest)
            if not (bare or _SIGNATURE_DATE_CUE.search(before)) or _LABELLED_OTHER_DATE.search(before[-40:]):
                continue
            if latest is None or found.value > latest.value:
                latest = found
        if latest is not None:
            break
    if latest is None:
        return None
    return DateFinding("agreement_date", latest.value, latest.start, latest.end, 0.5)


_EFFECTIVE_DEF = re.compile(r"[\"\u201c]\s*effective\s+date\s*[\"\u201d]", re.IGNORECASE)
_EFFECTIVE_AS_OF = re.compile(
    r"\b(?:effective|commenc\w*|start(?:ing)?|begin(?:ning)?)\s+(?:date\s+)?(?:as\s+of|on|from)\s+(?:the\s+)?",
    re.IGNORECASE,
)
# 'Effective Date: June 1, 2020', 'EFFECTIVE DATE means 1 June 2020', '"Commencement Date" means ...',
# 'Contract start: 04-01-06', and tabular 'Effective Date      01 April 2006'.
_EFFECTIVE_LABEL = re.compile(
    r"(?<![\w-])(?:effective\s+date|commencement\s+date|start\s+date|contract\s+start(?:\s+date)?|"
    r"date\s+of\s+commencement)[\"\u201d]?(?:\s*\))?"
    r"(?:\s*(?P<link>:|(?:shall\s+)?(?:means?|be|is|will\s+be)\b\s*:?))?",
    re.IGNORECASE,
)
# The agreement takes effect when the last party signs.
_SIGNATURE_EFFECTIVE = re.compile(
    r"date\s+of\s+(?:the\s+)?last\s+signature|last\s+signature|later\s+of\s+the\s+(?:\w+\s+){0,3}?dates?|"
    r"(?:last|latest|later)\s+(?:of\s+the\s+)?dates?\s+(?:signed|of\s+(?:signature|execution)|set\s+forth|"
    r"shown|written|indicated)|signed\s+by\s+(?:both|all|each|the\s+last)|"
    r"(?:signature|execution)\s+(?:of\s+this\s+\w+\s+)?by\s+(?:both|all|each|the\s+last)|"
    r"last\s+(?:party\s+)?to\s+(?:sign|execute)|fully\s+executed|date\s+(?:of\s+)?(?:its\s+)?execution",
    re.IGNORECASE,
)
_HEREOF_EFFECTIVE = re.compile(
    r"date\s+(?:and\s+year\s+)?first\s+(?:above\s+|set\s+forth\s+above\s+|written\s+above\s+)?"
    r"(?:written|set\s+forth|stated)|date\s+hereof|date\s+of\s+this\s+(?:agreement|contract)",
    re.IGNORECASE,
)
_TAKES_EFFECT = re.compile(
    r"\b(?:effective|enter\w*\s+into\s+(?:force|effect)|take\s+effect|come\s+into\s+(?:force|effect)|"
    r"in\s+(?:force|effect)\s+(?:beginning|from|on|as\s+of)|commenc\w*|begin\w*|start\w*)\b",
    re.IGNORECASE,
)
_COMMENCE_RE = re.compile(
    r"\b(?:commenc\w*|begin(?:s|ning)?|start(?:s|ing)?|take\s+effect|(?:become|be)\s+effective|"
    r"enter\s+into\s+(?:force|effect)|(?:in|into)\s+(?:force|effect)\s+(?:beginning|from)|"
    r"effective(?=\s+(?:on|as\s+of|from)\b))"
    r"\s+(?:on\s+|as\s+of\s+|from\s+|with\s+effect\s+from\s+)?(?:the\s+)?",
    re.IGNORECASE,
)
_TERM_SUBJECT = re.compile(
    r"\bterm\b|\bthis\s+(?:agreement|contract|amendment|addendum|lease)\b|\bagreement\s+(?:shall|will)\b|"
    r"commencement\s+date|contract\s+period|\bit\s+(?:shall|will)\b",
    re.IGNORECASE,
)
_OTHER_DOC_CLAUSE = re.compile(rf"{_REFERENCE_WORDS}|memorandum|\bmou\b|whereas", re.IGNORECASE)


def _effective_from_clause(
    text: str, pos: int, agreement: DateFinding | None, signed: Callable[[], DateFinding | None]
) -> DateFinding | None:
    """An effective date stated by reference: the last signature, or the date of the agreement."""
    s_start, s_end = _sentence_bounds(text, pos)
    sentence = text[s_start:s_end]
    signature = signed() if _SIGNATURE_EFFECTIVE.search(sentence) else None
    if signature is not None:
        value = signature.value
        if value and re.search(
            r"day\s+(?:after|following)\s+the\s+(?:date\s+of\s+)?(?:last|latest|later|final)", sentence, re.I
        ):
            value = _add_duration(value, Duration(1, "days", 1, "one day"))
        return DateFinding("effective_date", value, signature.start, signature.end, 0.6)
    if agreement is not None and agreement.value and _HEREOF_EFFECTIVE.search(sentence):
        return DateFinding("effective_date", agreement.value, agreement.start, agreement.end, 0.7)
    return None


def _effective_date(text: str, agreement: DateFinding | None) -> DateFinding | None:
    cache: list[DateFinding | None] = []

    def signature() -> DateFinding | None:  # the signature blocks are read only when needed
        if not cache:
            cache.append(_signature_date(text))
        return cache[0]

    head_end = min(len(text), 60000)
    for definition in _EFFECTIVE_DEF.finditer(text, 0, head_end):
        # '... as of June 1, 2020 (the "Effective Date")': the nearest date before the definition.
        before = [
            found
            for found in _dates_in(text, max(0, definition.start() - 160), definition.start())
            if not _on_source_line(text, found)
        ]
        if before:
            last = before[-1]
            gap = text[last.end : definition.start()]
            if not re.search(r"[.;]\s", gap):
                return DateFinding("effective_date", last.value, last.start, last.end, 0.9)
        if not re.match(
            r"[\s\"\u201d)]*(?:shall\s+)?(?:means?|be|is|:)",
            text[definition.end() : definition.end() + 40],
            re.I,
        ):
            stated = _effective_from_clause(text, definition.start(), agreement, signature)
            if stated is not None:
                return stated
    for hits, label in enumerate(_EFFECTIVE_LABEL.finditer(text, 0, _SCAN_CHARS)):
        if hits >= _MAX_CLAUSE_HITS:
            break
        # '"Effective Date" means June 1, 2020' / 'shall be June 1, 2020' / 'EFFECTIVE DATE: June 1, 2020'.
        limit = 100 if label.group("link") else 60
        after = next(_dates_in(text, label.end(), min(len(text), label.end() + limit)), None)
        if after is None:
            continue
        gap = text[label.end() : after.start]
        if label.group("link"):
            if re.search(r";|(?<![.\s][a-z])\.\s|\n\s*\n\s*\S[^\n]*\n", gap):
                continue
        elif not re.fullmatch(r"[\s:\-\u2013]*", gap):
            continue
        return DateFinding("effective_date", after.value, after.start, after.end, 0.9)
    for cue in _EFFECTIVE_AS_OF.finditer(text, 0, min(len(text), _HEAD_CHARS)):
        found = next(_dates_in(text, cue.end(), cue.end() + 40), None)
        if (
            found
            and found.start - cue.end() < 25
            and not _OTHER_DOC_CLAUSE.search(_clause_before(text, cue.start(), 300))
        ):
            return DateFinding("effective_date", found.value, found.start, found.end, 0.8)
    # 'This Agreement shall enter into force on the date of its signature by both Parties'.
    for hits, cue in enumerate(_TAKES_EFFECT.finditer(text, 0, _SCAN_CHARS)):
        if hits >= _MAX_CLAUSE_HITS:
            break
        window = text[cue.end() : cue.end() + 120]
        if (_SIGNATURE_EFFECTIVE.search(window) or _HEREOF_EFFECTIVE.search(window)) and _TERM_SUBJECT.search(
            _clause_before(text, cue.start(), 200)
        ):
            stated = _effective_from_clause(text, cue.start(), agreement, signature)
            if stated is not None:
                return stated
            break
    # 'The term of this Agreement shall commence on February 1, 1998'.
    for hits, cue in enumerate(_COMMENCE_RE.finditer(text, 0, _SCAN_CHARS)):
        if hits >= _MAX_CLAUSE_HITS:
            break
        found = next(_dates_in(text, cue.end(), min(len(text), cue.end() + 30)), None)
        if found is None or found.start - cue.end() > 3:
            continue
        clause = _clause_before(text, cue.start(), 300)
        if _TERM_SUBJECT.search(clause) and not _OTHER_DOC_CLAUSE.search(clause):
            return DateFinding("effective_date", found.value, found.start, found.end, 0.7)
    if agreement and agreement.value:
        return DateFinding("effective_date", agreement.value, agreement.start, agreement.end, 0.6)
    return None


_TERM_ANCHOR = re.compile(
    r"\b(?:term|terms|expir\w*|perpetu\w*|indefinite\w*|renew\w*|non-renewal|evergreen|anniversary|"
    r"continu\w*\s+(?:in\s+(?:full\s+)?(?:force|effect)|until|through|for)|remain\w*\s+in\s+(?:full\s+)?(?:force|effect)|"
    r"(?:shall|will)\s+(?:begin|commence)|(?:shall|will)\s+(?:terminate|expire|end)\s+on|contract\s+period|"
    r"conclud\w*|(?:in\s+(?:full\s+)?(?:force|effect)|effective)\s+(?:until|through))\b",
    re.IGNORECASE,
)
_END_DATE_CUE = re.compile(
    r"\b(?:expir\w*|terminat\w*|end(?:s|ing)?|until|through|thru|(?:to|through|up\s+to)\s+and\s+including|conclud\w*|"
    r"continu\w*\s+(?:in\s+(?:full\s+)?(?:force|effect)\s+)?(?:until|through)|to)\b\s*(?:on|at)?\s*"
    r"(?:(?:midnight|5:00\s*p\.?m\.?|the\s+close\s+of\s+business)[^,]{0,30},?\s*)?(?:on\s+)?"
    r"(?:the\s+(?:later|earlier)\s+of\s*:?\s*(?:\(\w{1,3}\)\s*)?)?$|"
    r"\b(?:no|not)\s+(?:event\s+)?later\s+than\s*$|"
    r"expiration\s+date[\"\u201d]?\s*(?:shall\s+)?(?:means?|be|is|:)\s*$",
    re.IGNORECASE,
)
_INITIAL_TERM_RE = re.compile(
    rf"(?:initial\s+term|term\s+of\s+this\s+agreement|term\s+hereof|this\s+agreement|agreement|term|"
    rf"initial\s+period|shall\s+continue|remain\s+in\s+(?:full\s+)?(?:force|effect)|"
    rf"continue\s+in\s+(?:full\s+)?(?:force|effect))"
    rf"[^.;]{{0,120}}?\b(?:of|for|be|is|a\s+period\s+of|until\s+the)\s+(?:at\s+least\s+)?"
    rf"(?:an?\s+(?:initial\s+)?(?:period|term)\s+of\s+)?(?:the\s+)?(?:initial\s+)?(?:an?\s+(?=\w+\s*\())?"
    rf"(?P<dur>{_NUMBER}(?:\s*\(\s*\d{{1,4}}\s*\))?[\s-]*(?:(?:full|calendar|consecutive|contract)\s+){{0,2}}"
    rf"(?:years?|months?))\b",
    re.IGNORECASE,
)
_ANNIVERSARY_RE = re.compile(
    rf"\b(?:(?P<ord>{_ORDINAL}|\d{{1,2}}\s?(?:st|nd|rd|th|t\s?h))"
    r"\s+(?:\(\s*\d{1,2}\s?(?:st|nd|rd|th|t\s?h)?\s*\)\s+)?"
    # "five (5) year anniversary"
    rf"|(?P<num>{_NUMBER})\s*(?:\(\s*(?P<digits>\d{{1,2}})\s*\)\s*)?[\s-]*years?[\s-]+)anniversary\b",
    re.IGNORECASE,
)
# "... terminate on the date three (3) years from the Effective Date", "ending two (2) years thereafter",
# "the entire four (4) year term".
_TERM_FROM_RE = re.compile(
    rf"(?P<dur>\b{_NUMBER}(?:\s*\(\s*\d{{1,4}}\s*\))?[\s-]*(?:(?:full|calendar|consecutive|contract)\s+){{0,2}}"
    r"(?:years?|months?))(?:\s+(?:from|after|following|subsequent\s+to|thereafter|commencing|beginning|starting)\b|"
    r"[\s-]+(?:initial\s+)?term\b)",
    re.IGNORECASE,
)
# Survival and tail periods ("for two (2) years after the termination", "during the Term and for ...").
_TAIL_BEFORE = re.compile(
    r"surviv|(?:after|following|upon|beyond|from)\s+(?:the\s+)?(?:date\s+of\s+)?(?:any\s+|such\s+|its\s+)?"
    r"(?:expiration|termination|expiry)|during\s+the\s+(?:initial\s+)?term|\bnotice\b",
    re.IGNORECASE,
)
_TAIL_AFTER = re.compile(
    r"\s*(?:\([^)]{0,40}\)\s*)?(?:after|following|from|of|beyond)\s+(?:the\s+)?(?:date\s+of\s+)?"
    r"(?:any\s+|such\s+|its\s+)?(?:expiration|termination|expiry)|"
    r"\s*(?:after|following)\s+(?:this\s+agreement|it)\s+(?:expires|terminates|ends)",
    re.IGNORECASE,
)
_STRONG_TERM = re.compile(
    r"\binitial\s+term\b|\bterm\s+of\s+(?:this|the)\b|\bterm\s+hereof|\bthe\s+term\b|[\"\u201c]term[\"\u201d]|"
    r"\bterm\s*:|this\s+(?:agreement|contract)\s+(?:shall|will)\s+(?:commence|continue|remain|be\s+in|expire|"
    r"terminate|become|take|have|be\s+for)",
    re.IGNORECASE,
)
_OTHER_PERIOD = re.compile(r"contract\s+year|quarter|phase|fiscal|season", re.IGNORECASE)
_NOT_TERM_PERIOD = re.compile(
    r"contract\s+year|quarter|phase|fiscal|season|royalt|payment|invoice|deliver|report", re.IGNORECASE
)


def _term_score(sentence: str, start: int, end: int) -> int | None:
    """How clearly a duration or end date at ``sentence[start:end]`` states the agreement's term."""
    if _TAIL_BEFORE.search(sentence[:start]) or _TAIL_AFTER.match(sentence, end, end + 80):
        return None
    score = 2 if _STRONG_TERM.search(sentence) else 0
    if _NOT_TERM_PERIOD.search(sentence[:start]):
        score -= 2
    return score


_FROM_START_RE = re.compile(
    r"^[^.;]{0,80}?\b(?:from|after|following|commencing|beginning|starting|as\s+of|of|on)\b[^.;]{0,40}?"
    r"(?:effective\s+date|date\s+(?:hereof|first\s+(?:above\s+)?written|of\s+(?:this\s+agreement|execution|"
    r"signature|its\s+execution))|execution\s+date|commencement\s+date|the\s+date\s+on\s+which|"
    r"execution|signing)",
    re.IGNORECASE,
)
_PERPETUAL_RE = re.compile(
    r"\bperpetu\w*|\bindefinite(?:ly)?\b|until\s+(?:terminated|such\s+time\s+as)|"
    r"unless\s+and\s+until\s+terminated|no\s+(?:fixed|specified)\s+(?:term|expiration)",
    re.IGNORECASE,
)
_AUTO_RENEW_RE = re.compile(
    r"automatic(?:ally)?\s+(?:be\s+)?(?:renew|extend|continue)\w*|renew\w*\s+automatically|"
    r"(?:shall|will)\s+(?:thereafter\s+)?(?:be\s+)?(?:renew|extend)\w*\s+(?:automatically\s+)?for\s+"
    r"(?:successive|additional|consecutive|further|subsequent)|"
    r"thereafter\s+(?:continue|renew)\w*\s+(?:from\s+year\s+to\s+year|for\s+(?:successive|additional|"
    r"consecutive|further))|from\s+year\s+to\s+year|year[\s-]+to[\s-]+year|evergreen|auto-renew\w*",
    re.IGNORECASE,
)
_NO_AUTO_RENEW_RE = re.compile(
    r"(?:shall|will)\s+not\s+(?:be\s+)?(?:automatically\s+)?renew|no\s+automatic\s+renewal|"
    r"may\s+(?:be\s+)?(?:renew|extend)\w*\s+(?:only\s+)?(?:by|upon)\s+(?:mutual|the\s+mutual|written)",
    re.IGNORECASE,
)
_RENEWAL_PERIOD_RE = re.compile(
    rf"(?:successive|additional|consecutive|further|subsequent|renewal)\s+(?:terms?\s+of\s+|periods?\s+of\s+)?"
    rf"(?:(?:an?\s+)?(?:period|term)s?\s+of\s+)?(?P<dur>{_NUMBER}(?:\s*\(\s*\d{{1,4}}\s*\))?[\s-]*"
    rf"(?:calendar\s+)?(?:years?|months?|days?))"
    rf"|(?P<dur2>{_NUMBER}(?:\s*\(\s*\d{{1,4}}\s*\))?[\s-]*(?:years?|months?))\s+"
    rf"(?:renewal|successive|additional|extension)",
    re.IGNORECASE,
)
_NOTICE_RE = re.compile(
    rf"(?P<dur>{_NUMBER}(?:\s*\(\s*\d{{1,4}}\s*\))?[\s-]*(?:calendar\s+|business\s+)?(?:days?|weeks?|months?))"
    r"['\u2019]?\s*(?:\(|prior|advance|written|notice|before|in\s+advance|preceding)",
    re.IGNORECASE,
)


def _duration(text: str) -> Duration | None:
    match = _DURATION_RE.search(text)
    return _duration_from_match(match) if match else None


def _add_duration(start_iso: str, duration: Duration) -> str | None:
    try:
        start = date.fromisoformat(start_iso)
        value = duration.value
        if duration.unit == "years":
            if value.is_integer():
                end = start + relativedelta(years=int(value))
            else:
                end = start + relativedelta(months=round(value * 12))
        elif duration.unit == "months":
            end = start + relativedelta(months=round(value))
        elif duration.unit == "weeks":
            end = start + relativedelta(days=round(value * 7))
        else:
            end = start + relativedelta(days=round(value))
        return end.isoformat()
    except (ValueError, OverflowError):
        return None


def _sentence_bounds(text: str, pos: int) -> tuple[int, int]:
    lo = max(0, pos - _WINDOW)
    hi = min(len(text), pos + _WINDOW)
    start = lo
    for match in re.finditer(r"[.;]\s+(?=[A-Z(])|\n\s*\n", text[lo:pos]):
        start = lo + match.end()
    end_match = re.search(r"\.\s+(?=[A-Z(])|\n\s*\n", text[pos:hi])
    end = pos + end_match.start() + 1 if end_match else hi
    return start, end


def _initial_term_candidates(sentence: str, lower: str) -> Iterator[tuple[Duration, int, int, bool]]:
    """Stated initial terms in one sentence: (duration, start, end, anchored to the start date)."""
    pos = 0
    for _ in range(6):  # overlapping matches: a heading "Term and Renewal" may open the sentence
        match = _INITIAL_TERM_RE.search(sentence, pos)
        if match is None:
            break
        pos = match.start() + 1
        if re.search(r"renew|notice|terminat\w*\s+(?:upon|by|on)", match.group(0), re.I):
            continue
        duration = _duration(match.group("dur"))
        if duration and duration.unit in ("years", "months") and duration.value <= 99:
            anchored = bool(_FROM_START_RE.search(sentence[match.end() :])) or bool(
                re.search(r"commenc|begin|effective\s+date|date\s+hereof|first\s+above", lower)
            )
            yield duration, match.start("dur"), match.end("dur"), anchored
            break
    anniversary = _ANNIVERSARY_RE.search(sentence)
    if anniversary and re.search(
        r"\b(?:end|expir|terminat|until|continu)", sentence[: anniversary.start()], re.I
    ):
        if anniversary.group("ord"):
            raw = anniversary.group("ord").lower()
            years = int(re.sub(r"\D", "", raw) or 0) if raw[0].isdigit() else _ordinal_value(raw)
        else:
            years = int(_word_number(anniversary.group("digits") or anniversary.group("num")) or 0)
        if 0 < years < 100:
            duration = Duration(float(years), "years", years * 365, anniversary.group(0))
            yield duration, anniversary.start(), anniversary.end(), True
    for match in _TERM_FROM_RE.finditer(sentence):
        if re.search(
            r"renew|extension|additional|successive",
            sentence[max(0, match.start() - 40) : match.start()],
            re.I,
        ):
            continue
        duration = _duration(match.group("dur"))
        if duration and duration.unit in ("years", "months") and duration.value <= 99:
            yield duration, match.start("dur"), match.end("dur"), True


def _ordinal_value(raw: str) -> int:
    return sum(
        _ORDINAL_WORDS.get(p, {"twenty": 20, "thirty": 30}.get(p, 0)) for p in re.split(r"[\s-]+", raw)
    )


# '"Expiration Date" means March 31, 2020', 'Termination Date: December 31, 2023', 'Contract end: 04-01-08'.
_END_LABEL = re.compile(
    r"(?<![\w-])(?:expiration|expiry|termination|end)\s+date[\"\u201d]?(?:\s*\))?"
    r"(?:\s*(?P<link>:|(?:shall\s+)?(?:means?|be|is|will\s+be)\b\s*:?))?|contract\s+end\s*(?P<colon>:)",
    re.IGNORECASE,
)
# "until the end of the current calendar year", "until the end of 2006", "the last day in February, 2023".
_YEAR_END_RE = re.compile(
    rf"\b(?:until|through|expire\w*|terminat\w*|end\w*|continu\w*|remain\w*)\b[^.;]{{0,100}}?\b(?:the\s+)?"
    rf"(?:end\s+of\s+(?:the\s+)?(?:(?P<current>(?:then[\s-])?current|same|such)\s+)?calendar\s+year|"
    rf"end\s+of\s+(?:calendar\s+(?:year\s+)?)?(?P<year>{_YEAR})\b|"
    rf"last\s+day\s+(?:of|in)\s+(?P<month>{_MONTH})\s*,?\s*(?P<myear>{_YEAR}))",
    re.IGNORECASE,
)


def _labelled_end_date(text: str, start_date: DateFinding | None) -> _Date | None:
    for hits, label in enumerate(_END_LABEL.finditer(text, 0, _SCAN_CHARS)):
        if hits >= _MAX_CLAUSE_HITS:
            break
        linked = bool(label.group("link") or label.group("colon"))
        after = next(_dates_in(text, label.end(), min(len(text), label.end() + (80 if linked else 40))), None)
        if after is None:
            continue
        gap = text[label.end() : after.start]
        if (linked and not re.search(r"[;.]\s|\n\s*\n", gap)) or re.fullmatch(r"[\s:\-\u2013]*", gap):
            return after
    for hits, match in enumerate(_YEAR_END_RE.finditer(text, 0, _SCAN_CHARS)):
        if hits >= _MAX_CLAUSE_HITS:
            break
        s_start = _sentence_bounds(text, match.start())[0]
        if not _TERM_SUBJECT.search(text[s_start : match.start()]) or _TAIL_BEFORE.search(
            text[s_start : match.start()]
        ):
            continue
        value: str | None = None
        if match.group("year"):
            value = _make_date(int(match.group("year")), 12, 31)
        elif match.group("month"):
            month = _MONTHS[match.group("month").lower()]
            first_next = date(int(match.group("myear")) + month // 12, month % 12 + 1, 1)
            value = (first_next - relativedelta(days=1)).isoformat()
        elif start_date is not None and start_date.value:
            value = _make_date(int(start_date.value[:4]), 12, 31)
        if value:
            return _Date(value, match.start(), match.end())
    return None


@dataclass
class _TermResult:
    info: TermInfo
    expiration: DateFinding | None


def _term(text: str, start_date: DateFinding | None) -> _TermResult:
    evidence: list[Offsets] = []
    initial: Duration | None = None
    initial_anchored = False
    initial_span: tuple[int, int] | None = None
    explicit_end: _Date | None = None
    end_score = -99
    initial_score = -99
    perpetual_span: tuple[int, int] | None = None
    auto: bool | None = None
    renewal: Duration | None = None
    notice: Duration | None = None
    seen_sentences: set[int] = set()
    hits = 0
    for anchor in _TERM_ANCHOR.finditer(text):
        hits += 1
        if hits > _MAX_CLAUSE_HITS:
            break
        s_start, s_end = _sentence_bounds(text, anchor.start())
        if s_start in seen_sentences:
            continue
        seen_sentences.add(s_start)
        sentence = text[s_start:s_end]
        lower = sentence.lower()
        about_term = bool(re.search(r"\bterm\b|this\s+agreement|agreement\s+shall|period", lower))
        if not about_term:
            continue
        # Explicit end date of the term (the clearest statement of the term wins).
        if re.search(r"\bterm\b|agreement|expir|period", lower):
            for found in _dates_in(text, s_start, s_end):
                before = text[max(s_start, found.start - 60) : found.start]
                score = _term_score(sentence, found.start - s_start, found.end - s_start)
                if (
                    score is not None
                    and score > end_score
                    and not _OTHER_PERIOD.search(sentence[: found.start - s_start])
                    and _END_DATE_CUE.search(before)
                    and not re.search(
                        r"\b(?:notice|payment|invoice|deliver|report|pay)", before, re.IGNORECASE
                    )
                ):
                    explicit_end, end_score = found, score
                    break
        for candidate in _initial_term_candidates(sentence, lower):
            score = _term_score(sentence, candidate[1], candidate[2])
            if score is not None and score > initial_score:
                initial, initial_score = candidate[0], score
                initial_span = (s_start + candidate[1], s_start + candidate[2])
                initial_anchored = candidate[3]
        if perpetual_span is None and initial is None:
            perpetual = _PERPETUAL_RE.search(sentence)
            if (
                perpetual
                and re.search(r"\bterm\b|this\s+agreement|agreement\s+shall", lower)
                and not re.search(
                    r"licen[cs]e|right|obligation|confidential|surviv", lower[: perpetual.start() + 1]
                )
            ):
                perpetual_span = (s_start + perpetual.start(), s_start + perpetual.end())
        if "renew" in lower or "year to year" in lower or "extend" in lower or "evergreen" in lower:
            if auto is None or auto is False:
                positive = _AUTO_RENEW_RE.search(sentence)
                if positive and not _NO_AUTO_RENEW_RE.search(sentence):
                    auto = True
                    evidence.append(Offsets(s_start + positive.start(), s_start + positive.end()))
                elif auto is None and _NO_AUTO_RENEW_RE.search(sentence):
                    auto = False
            if renewal is None:
                period = _RENEWAL_PERIOD_RE.search(sentence)
                if period:
                    renewal = _duration(period.group("dur") or period.group("dur2") or "")
                elif re.search(r"year[\s-]+to[\s-]+year|annual\s+(?:basis|renewal|periods?)", lower):
                    renewal = Duration(1, "years", 365, "year to year")
            if notice is None and re.search(r"notice|notif", lower):
                match = _NOTICE_RE.search(sentence)
                if match:
                    notice = _duration(match.group("dur"))
                    if notice:
                        evidence.append(Offsets(s_start + match.start("dur"), s_start + match.end("dur")))
        if (
            explicit_end
            and initial
            and auto is not None
            and renewal
            and notice
            and min(end_score, initial_score) >= 2
        ):
            break
    labelled_end = _labelled_end_date(text, start_date)
    if labelled_end is not None and (explicit_end is None or end_score < 2):
        explicit_end, end_score = labelled_end, 2
    if explicit_end is not None:
        evidence.append(Offsets(explicit_end.start, explicit_end.end))
    if initial_span is not None:
        evidence.append(Offsets(*initial_span))

    expiration: DateFinding | None = None
    if explicit_end is not None and initial is not None and initial_score > end_score:
        explicit_end = None
    if explicit_end is not None:
        expiration = DateFinding(
            "expiration_date", explicit_end.value, explicit_end.start, explicit_end.end, 0.8
        )
    elif initial is not None and initial_span and start_date and start_date.value:
        value = _add_duration(start_date.value, initial)
        if value:
            confidence = 0.7 if initial_anchored else 0.5
            expiration = DateFinding("expiration_date", value, initial_span[0], initial_span[1], confidence)
    elif perpetual_span is not None:
        expiration = DateFinding("expiration_date", None, perpetual_span[0], perpetual_span[1], 0.6)
    if perpetual_span is not None:
        evidence.append(Offsets(*perpetual_span))
    info = TermInfo(
        initial_term=initial,
        perpetual=perpetual_span is not None and initial is None and explicit_end is None,
        automatic_renewal=auto,
        renewal_term=renewal,
        notice_to_terminate_renewal=notice,
        evidence=tuple(evidence),
    )
    return _TermResult(info, expiration)


# --------------------------------------------------------------------------------------------
# Governing law and venue
# --------------------------------------------------------------------------------------------


def _place_after(text: str, pos: int, limit: int) -> tuple[str, int, int] | None:
    match = _PLACE_RE.search(text, pos, min(len(text), pos + limit + 60))
    if not match or match.start() - pos > limit or match.group("place").lower() in _DEMONYMS:
        return None
    name, end = _place_name(match.group("place"), text, match.end())
    return name, match.start(), end


def _governing_law(text: str) -> Jurisdiction | None:
    candidates: list[tuple[float, int, Jurisdiction]] = []
    hits = 0
    for trigger in _GOVERN_TRIGGER.finditer(text):
        hits += 1
        if hits > _MAX_CLAUSE_HITS * 5:
            break
        lo = max(0, trigger.start() - 300)
        hi = min(len(text), trigger.end() + 300)
        window_found = False
        for laws in _LAWS_OF_RE.finditer(text, lo, hi):
            place = _place_after(text, laws.end(), 12)
            if place is None:
                continue
            window_found = True
            candidates.append(_score_law(text, laws.start(), place))
        if not window_found or "law" in trigger.group(0).lower():
            for match in _PLACE_LAW_RE.finditer(text, lo, hi):
                name, end = _place_name(
                    match.group("place"), text, match.start("place") + len(match.group("place"))
                )
                candidates.append(_score_law(text, match.start(), (name, match.start("place"), end)))
    if not candidates:
        return None
    # Deduplicate: the same place found from several triggers keeps its best score.
    best: dict[int, tuple[float, int, Jurisdiction]] = {}
    for cand in candidates:
        key = cand[2].start
        if key not in best or cand[0] > best[key][0]:
            best[key] = cand
    ranked = sorted(best.values(), key=lambda c: (-c[0], c[1]))
    top_score, _, top = ranked[0]
    if top_score < 2:
        return None
    if top.jurisdiction in _FEDERAL:
        # "laws of the United States and the State of New York": the state decides.
        for other_score, _, other in ranked[1:]:
            if (
                other.jurisdiction not in _FEDERAL
                and other_score >= top_score - 2
                and abs(other.start - top.start) < 200
            ):
                return other
    return top


def _score_law(text: str, cue_start: int, place: tuple[str, int, int]) -> tuple[float, int, Jurisdiction]:
    name, start, end = place
    sentence_start, sentence_end = _sentence_bounds(text, cue_start)
    before = text[max(sentence_start, cue_start - 250) : cue_start]
    after = text[end : min(sentence_end, end + 200)]
    near_before = before[-80:]
    score = 0.0
    if re.search(r"govern", before, re.IGNORECASE):
        score += 4
    if re.search(r"constru|interpret|enforced|performed", before, re.IGNORECASE):
        score += 2
    if re.search(r"\bshall\s+govern|\bgovern", after[:150], re.IGNORECASE):
        score += 4
    if re.search(
        r"governing\s+law|applicable\s+law|choice\s+of\s+law", text[max(0, cue_start - 300) : cue_start], re.I
    ):
        score += 1
    if re.search(r"in\s+accordance\s+with|subject\s+to|under", near_before[-40:], re.IGNORECASE):
        score += 0.5
    if re.search(r"in\s+accordance\s+with\s+(?:the\s+)?(?:\w+\s+)?$", near_before, re.IGNORECASE):
        score += 1.5
    if re.match(
        r"\s*(?:law\s+|laws\s+)?(?:shall|will)?\s*appl(?:y|ies)\b", after[:40], re.IGNORECASE
    ) or re.search(
        r"application\s+of\s+(?:the\s+)?(?:laws?\s+of\s+)?(?:the\s+)?$", near_before, re.IGNORECASE
    ):
        score += 2
    if re.search(r"this\s+agreement|hereof|hereunder", before + after, re.IGNORECASE):
        score += 1
    if re.search(r"export|tax|securities|regulations\s+and", near_before + after[:60], re.IGNORECASE):
        score -= 1
    if _DOMICILE_CUE.search(near_before):
        score -= 8
    if re.search(r"organi[sz]ed|incorporated|existing\s+under", near_before, re.IGNORECASE):
        score -= 4
    if _COURT_CUE.search(near_before) and not re.search(r"govern|constru", near_before, re.IGNORECASE):
        score -= 2
    if re.search(r"conflicts?\s+of\s+laws?|choice\s+of\s+law", after, re.IGNORECASE):
        score += 1
    return score, start, Jurisdiction(name, start, end)


def _venue(text: str, governing: Jurisdiction | None) -> Jurisdiction | None:
    hits = 0
    best: tuple[float, Jurisdiction] | None = None
    for trigger in _VENUE_TRIGGER.finditer(text):
        hits += 1
        if hits > _MAX_CLAUSE_HITS * 3:
            break
        word = trigger.group(0).lower()
        lo = trigger.end()
        place = _place_after(text, lo, 120)
        if place is None:
            continue
        between = text[lo : place[1]]
        if re.search(r"[.;]\s|\blaws?\s+of\b", between, re.IGNORECASE):
            continue
        sentence_start, sentence_end = _sentence_bounds(text, trigger.start())
        sentence = text[sentence_start:sentence_end].lower()
        score = 1.0
        if re.search(
            r"exclusive|submit|venue|consent|irrevocabl|brought|located\s+in|sitting\s+in", sentence
        ):
            score += 2
        if "arbitrat" in word or "arbitrat" in sentence:
            score += 0.5
        if re.search(r"organi[sz]ed|incorporated", sentence):
            score -= 3
        candidate = Jurisdiction(place[0], place[1], place[2])
        if best is None or score > best[0]:
            best = (score, candidate)
    if best is None or best[0] < 2:
        return None
    return best[1]


# --------------------------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------------------------


def extract_key_terms(text: str) -> KeyTerms:
    """Key terms of one contract text (see the module docstring); never raises."""
    if not isinstance(text, str) or not text.strip():
        return KeyTerms(document_type="other", document_type_confidence=0.0)
    try:
        return _extract(text)
    except Exception:  # noqa: BLE001 - a best-effort analyzer must not fail the pipeline
        return KeyTerms(document_type="other", document_type_confidence=0.0)


def _extract(text: str) -> KeyTerms:
    document_type, confidence = _document_type(text)
    from legalai.analysis.parties import extract_parties

    parties = extract_parties(text)
    agreement = _agreement_date(text)
    effective = _effective_date(text, agreement)
    term = _term(text, effective or agreement)
    dates = tuple(d for d in (agreement, effective, term.expiration) if d is not None)
    governing = _governing_law(text)
    venue = _venue(text, governing)
    return KeyTerms(
        document_type=document_type,
        document_type_confidence=confidence,
        parties=parties,
        dates=dates,
        governing_law=governing,
        venue=venue,
        term=term.info,
    )
