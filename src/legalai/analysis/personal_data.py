"""Personal data (PII / PHI) in legal text, found with validated rules.

Method
------
Each type has a precompiled, linear regex (bounded repetitions, possessive groups where digit
runs could be split many ways) and, where a checksum or a registry rule exists, a validator:

* ``email``: local part @ domain with a TLD;
* ``phone``: North American numbers (``(212) 555-0100``, ``212-555-0100``, ``+1 212.555.0100``,
  ``ext.``), area code and exchange starting 2-9 and the same separator throughout; space-only or
  unseparated numbers need a cue (Tel/Phone/Fax...); international numbers start with ``+``
  and have 8-15 digits. Dates, section numbers and amounts do not have these shapes;
* ``postal_address``: U.S. street addresses (number, street name, street type, optional unit,
  optional "City, ST 12345"), ``City, ST 12345`` lines, P.O. boxes, UK postcodes;
* ``date_of_birth``: a date (or "born in 1950") right after a DOB / date of birth / born cue;
* ``ssn``: area not 000/666/9xx, group not 00, serial not 0000; dashed SSNs are reported
  without a cue (lower confidence), space-separated or bare 9 digits only after a cue;
* ``tax_id``: U.S. EIN (valid IRS prefix) after an EIN/TIN/tax ID cue;
* ``card_number``: 13-19 digits, Luhn valid, a known IIN prefix with a matching length;
* ``iban``: country code, length per country where known, ISO 13616 mod-97 check;
* ``account_number``: digits after "account no./acct #/a/c"; ABA routing numbers (checksum)
  after "routing/ABA";
* ``medical_record_number``: after MRN / medical record no. / patient ID / chart no.;
* ``person_name``: only in contexts that say a person is named: honorifics ("Dr. Jane Doe"),
  labelled fields ("Name:", "Attention:", "Patient:", "Assigned to:"...), signatures
  ("/s/ Jane Doe", "By: Jane Doe"), party roles ("Plaintiff John Smith"), "represented by",
  and a name on the line above a judicial or counsel title. Candidates containing
  organisation or role words (Inc, LLC, Department, Counsel, Licensee...) are dropped;
* ``diagnosis``: the condition after "diagnosed with", "diagnosis of/:", "suffers from"...;
  ICD-10 codes (``M54.5``, ``S13.4XXA``) with a code cue or in a medical context; a short list
  of unambiguous conditions (PTSD, schizophrenia, diabetes mellitus...);
* ``medication``: a compact list of common drug names, or a capitalized word followed by a
  dosage, with dose ("800 mg", "5 mg/ml") and frequency ("b.i.d.", "PRN") when present.

Overlapping findings are resolved by keeping the most specific type (validated identifiers
first, names last), then the longest span. Spans cover the value, not the cue.

Limits: names without such a context (e.g. in running prose) are not found, by design
(precision first); non-U.S. addresses other than UK postcodes, non-English cues, and drugs
outside the built-in list without a dosage are missed; a dashed 3-2-4 number that is not an SSN
but passes the rules is reported with confidence 0.6.
"""

from __future__ import annotations

import re
from typing import TypeAlias

from legalai.analysis.deadlines import DATE_PATTERN
from legalai.analysis.types import PersonalDataFinding


def _words(words: str) -> list[str]:
    return words.split()


# --- shared pieces -------------------------------------------------------------------------------

_RANK = {
    "card_number": 10,
    "iban": 10,
    "ssn": 9,
    "tax_id": 9,
    "account_number": 8,
    "medical_record_number": 8,
    "email": 8,
    "date_of_birth": 7,
    "phone": 6,
    "postal_address": 5,
    "medication": 4,
    "diagnosis": 3,
    "person_name": 2,
}

_Found = list[PersonalDataFinding]
_ASCII_LOWER = {c: c + 32 for c in range(65, 91)}
_Node: TypeAlias = dict[str, "_Node"]


def _trie(phrases: list[str]) -> str:
    """A regex alternation shaped as a prefix tree (much faster in ``re`` than a flat list).

    A space in a phrase matches a run of blanks, an apostrophe an optional straight or curly one.
    """
    root: _Node = {}
    for phrase in phrases:
        node = root
        for ch in phrase:
            node = node.setdefault(ch, {})
        node[""] = {}

    def atom(ch: str) -> str:
        if ch == " ":
            return r"[ \t]+"
        if ch == "'":
            return "['\u2019]?"
        return re.escape(ch)

    def emit(node: _Node) -> str:
        alts = [atom(ch) + emit(child) for ch, child in sorted(node.items()) if ch]
        if not alts:
            return ""
        body = alts[0] if len(alts) == 1 else "(?:" + "|".join(alts) + ")"
        if "" in node:
            return "(?:" + body + ")?"
        return body

    return emit(root)


def _add(out: _Found, kind: str, start: int, end: int, confidence: float) -> None:
    if end > start:
        out.append(PersonalDataFinding(type=kind, start=start, end=end, confidence=round(confidence, 3)))


def _cue_before(pattern: re.Pattern[str], text: str, start: int, window: int = 40) -> bool:
    return pattern.search(text, max(0, start - window), start) is not None


def _digits(s: str) -> str:
    return "".join(c for c in s if c.isdigit())


# --- email ---------------------------------------------------------------------------------------

_EMAIL_RE = re.compile(
    r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9][A-Za-z0-9._%+-]{0,63}@"
    r"[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63}){0,8}\.[A-Za-z]{2,24}(?![A-Za-z0-9-])"
)


def _emails(text: str, low: str, out: _Found) -> None:
    if "@" not in text:
        return
    for m in _EMAIL_RE.finditer(text):
        _add(out, "email", m.start(), m.end(), 0.97)


# --- phone ---------------------------------------------------------------------------------------

_PHONE_CUE = re.compile(
    r"(?i:\b(?:tel|telephone|phone|ph|fax|facsimile|mobile|cell|direct|main|office|toll[ -]free|"
    r"contact)\b\.?(?:[ \t]*(?:no|number|#)\.?)?[ \t]*[:#]?[ \t]*\(?\+?$)"
)
_US_PHONE_RE = re.compile(
    r"(?<![\w$€£.,/+-])(?:(?P<cc>\+?1)(?P<s0>[-. \t]{0,2}))?"
    r"(?:\((?P<a1>[2-9]\d\d)\)[-. \t]{0,2}|(?P<a2>[2-9]\d\d)(?P<s1>[-. \t]?))"
    r"(?P<ex>[2-9]\d\d)(?P<s2>[-. \t]?)(?P<ln>\d{4})(?![\w-]|[.,/]\d)"
    r"(?P<ext>[ \t]{0,3},?[ \t]{0,3}(?i:ext\.?|extension|x)[ \t]{0,2}\d{1,6}(?!\d))?"
)
_INTL_PHONE_RE = re.compile(
    r"(?<![\w+])\+(?P<cc>[1-9]\d{0,2}+)(?:[ .-]?\(0\))?+(?:[ .-]?\(\d{1,4}+\))?+"
    r"(?:[ .-]?+\d{1,5}+){2,6}+(?![\w-]|[.,]\d)"
)


def _phones(text: str, low: str, out: _Found) -> None:
    for m in _US_PHONE_RE.finditer(text):
        start = m.start()
        cue = _cue_before(_PHONE_CUE, text, start, 30)
        if m.group("a1"):
            seps_ok = True
            separated = True
        else:
            s1, s2 = m.group("s1") or "", m.group("s2") or ""
            seps_ok = s1 == s2
            separated = s1 in ("-", ".")
        if not seps_ok and not cue:
            continue
        if not separated and not cue:
            continue  # "212 555 0100" or "2125550100" alone: too often a reference number
        if start > 0 and text[start - 1] in "#§":
            continue
        _add(out, "phone", start, m.end(), 0.93 if cue else 0.8)
    for m in _INTL_PHONE_RE.finditer(text):
        body = m.group(0)
        digits = len(_digits(body.replace("(0)", "")))
        if not 8 <= digits <= 15:
            continue
        cue = _cue_before(_PHONE_CUE, text, m.start(), 30)
        _add(out, "phone", m.start(), m.end(), 0.9 if cue else 0.75)


# --- postal addresses ----------------------------------------------------------------------------

_STATE_ABBR = _words(
    "AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ NM "
    "NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY PR GU VI"
)
_STATE_NAMES = (
    "Alabama|Alaska|Arizona|Arkansas|California|Colorado|Connecticut|Delaware|Florida|Georgia|Hawaii"
    "|Idaho|Illinois|Indiana|Iowa|Kansas|Kentucky|Louisiana|Maine|Maryland|Massachusetts|Michigan"
    "|Minnesota|Mississippi|Missouri|Montana|Nebraska|Nevada|New[ \t]Hampshire|New[ \t]Jersey"
    "|New[ \t]Mexico|New[ \t]York|North[ \t]Carolina|North[ \t]Dakota|Ohio|Oklahoma|Oregon|Pennsylvania"
    "|Rhode[ \t]Island|South[ \t]Carolina|South[ \t]Dakota|Tennessee|Texas|Utah|Vermont|Virginia"
    "|Washington|West[ \t]Virginia|Wisconsin|Wyoming|District[ \t]of[ \t]Columbia|Puerto[ \t]Rico"
)
_STATE = r"(?:(?:" + "|".join(_STATE_ABBR) + r")(?![A-Za-z])|" + _STATE_NAMES + r")"
_CITY_WORD = r"[A-Z][A-Za-z.'\u2019-]{1,24}"
_CITY_STATE_ZIP = (
    r"(?:" + _CITY_WORD + r"[ \t]{1,3}){0,3}" + _CITY_WORD + r",?[ \t]{1,3}" + _STATE + r"\.?,?[ \t]{1,3}"
    r"\d{5}(?:-\d{4})?(?![\d-])"
)
_STRONG_SUFFIX = (
    r"Street|St|Avenue|Ave|Av|Road|Rd|Boulevard|Blvd|Drive|Dr|Lane|Ln|Parkway|Pkwy|Highway|Hwy"
    r"|Freeway|Fwy|Expressway|Turnpike|Pike"
)
_WEAK_SUFFIX = (
    r"Way|Court|Ct|Place|Pl|Circle|Cir|Terrace|Ter|Square|Sq|Plaza|Trail|Trl|Center|Ctr|Row|Alley"
    r"|Loop|Crossing|Xing|Run|Path|Point|Broadway"
)
_UNIT = (
    r"(?:,?[ \t]{0,3}(?:\r?\n[ \t]{0,20})?(?:Suite|Ste\.?|Unit|Apt\.?|Apartment|Floor|Fl\.?|Room|Rm\.?"
    r"|Bldg\.?|Building|\#)[ \t]{0,3}[A-Za-z0-9-]{1,8}(?![A-Za-z0-9-]))"
)
_STREET_RE = re.compile(
    r"(?<![\w$.,/#-])\d{1,6}[A-Za-z]?(?:-\d{1,5})?[ \t]{1,3}"
    r"(?:(?:North|South|East|West|N|S|E|W|NE|NW|SE|SW)\.?[ \t]{1,3})?"
    r"(?:(?:[A-Z][A-Za-z'\u2019.-]{0,24}|\d{1,3}(?:st|nd|rd|th))[ \t]{1,3}){0,4}?"
    r"(?:(?P<strong>" + _STRONG_SUFFIX + r")|(?P<weak>" + _WEAK_SUFFIX + r"))\.?(?![A-Za-z])"
    r"(?:[ \t]{1,3}(?:N|S|E|W|NE|NW|SE|SW)\.?(?![A-Za-z]))?"
    r"(?P<unit>" + _UNIT + r"{0,2})"
    r"(?P<city>,?[ \t]{0,3}(?:\r?\n[ \t]{0,20})?" + _CITY_STATE_ZIP + r")?"
)
_CSZ_TAIL_RE = re.compile(r",[ \t]{1,3}(?:" + "|".join(_STATE_ABBR) + r")[ \t]{1,3}\d{5}(?:-\d{4})?(?![\d-])")
_CITY_BEFORE_RE = re.compile(
    r"(?<![A-Za-z.'\u2019-])(?:" + _CITY_WORD + r"[ \t]{1,3}){0,3}" + _CITY_WORD + r"$"
)
_PO_BOX_RE = re.compile(
    r"(?<![\w])(?:P\.?[ \t]?O\.?|Post[ \t]+Office|POB)[ \t]*Box[ \t]+\d{1,7}(?!\d)"
    r"(?:,?[ \t]{0,3}(?:\r?\n[ \t]{0,20})?" + _CITY_STATE_ZIP + r")?",
    re.IGNORECASE,
)
_UK_POSTCODE_RE = re.compile(
    r"(?<![\w-])(?:[A-PR-UWYZ][A-HK-Y]?\d[A-Z\d]?|GIR)[ \t]\d[ABD-HJLNP-UW-Z]{2}(?![\w-])"
)


def _addresses(text: str, low: str, out: _Found) -> None:
    for m in _STREET_RE.finditer(text):
        has_city = bool(m.group("city"))
        if m.group("weak") and not has_city and not m.group("unit"):
            continue
        _add(out, "postal_address", m.start(), m.end(), 0.9 if has_city else 0.7)
    for m in _CSZ_TAIL_RE.finditer(text):
        city = _CITY_BEFORE_RE.search(text, max(0, m.start() - 110), m.start())
        if city:
            _add(out, "postal_address", city.start(), m.end(), 0.65)
    if "box" in low:
        for m in _PO_BOX_RE.finditer(text):
            _add(out, "postal_address", m.start(), m.end(), 0.85)
    for m in _UK_POSTCODE_RE.finditer(text):
        _add(out, "postal_address", m.start(), m.end(), 0.6)


# --- dates of birth ------------------------------------------------------------------------------

_DOB_RE = re.compile(
    r"(?:date[ \t]+of[ \t]+birth|d\.?[ \t]?o\.?[ \t]?b\b\.?|birth[ \t]?date|birthday|born)"
    r"(?:[ \t]+(?:on|is|was|of))?[ \t]*[:\-\u2013]?[ \t]*"
    r"(?:(?P<date>(?i:" + DATE_PATTERN + r"))|(?P<num>\d{1,2}[-./]\d{1,2}[-./](?:\d{4}|\d\d)(?![\d/.-]))"
    r"|(?i:in[ \t]+)(?P<year>(?:19|20)\d\d)(?!\d))"
)


def _dates_of_birth(text: str, low: str, out: _Found) -> None:
    if not any(k in low for k in ("birth", "dob", "d.o.b", "born")):
        return
    for m in _DOB_RE.finditer(low):
        if m.start() > 0 and low[m.start() - 1].isalnum():
            continue
        for group, confidence in (("date", 0.95), ("num", 0.9), ("year", 0.6)):
            if m.group(group):
                _add(out, "date_of_birth", m.start(group), m.end(group), confidence)
                break


# --- government and financial identifiers --------------------------------------------------------

_SSN_CUE = re.compile(
    r"(?i:\b(?:ssn|ss[ \t]?#|ss[ \t]?no\.?|soc(?:ial)?\.?[ \t]+sec(?:urity)?\.?(?:[ \t]+(?:no|number|num|#))?"
    r"|social[ \t]+security)\b)"
)
_SSN_RE = re.compile(r"(?P<a>\d(?<![\w-]\d)\d{2})(?P<sep>[- ]?)(?P<g>\d{2})(?P=sep)(?P<s>\d{4})(?![\w-])")
_SSN_INVALID = {"078051120", "219099999"}


def _valid_ssn(area: str, group: str, serial: str) -> bool:
    if area in ("000", "666") or area[0] == "9" or group == "00" or serial == "0000":
        return False
    return area + group + serial not in _SSN_INVALID


def _ssns(text: str, low: str, out: _Found) -> None:
    for m in _SSN_RE.finditer(text):
        if not _valid_ssn(m.group("a"), m.group("g"), m.group("s")):
            continue
        cue = _cue_before(_SSN_CUE, text, m.start(), 40)
        sep = m.group("sep")
        if cue:
            _add(out, "ssn", m.start(), m.end(), 0.97)
        elif sep == "-":
            _add(out, "ssn", m.start(), m.end(), 0.6)


_EIN_PREFIXES = frozenset(
    [f"{n:02d}" for n in [*range(1, 7), *range(10, 17), *range(20, 28), *range(30, 49), *range(50, 69)]]
    + [f"{n:02d}" for n in [*range(71, 78), *range(80, 89), *range(90, 96), 98, 99]]
)
_EIN_CUE = re.compile(
    r"\b(?:f?ein|tin|employer[ \t]+identification(?:[ \t]+(?:no|number|#))?"
    r"|(?:federal[ \t]+)?tax(?:payer)?"
    r"[ \t]+(?:id|identification)(?:[ \t]+(?:no|number|#))?|i\.?r\.?s\.?[ \t]+(?:no|number))\b\.?"
    r"[ \t]*(?:no\.?|number|#)?[ \t]*[:#]?[ \t]*$"
)
_EIN_RE = re.compile(r"(?P<p>\d(?<![\w-]\d)\d)-?\d{7}(?![\d-])")


def _tax_ids(text: str, low: str, out: _Found) -> None:
    for m in _EIN_RE.finditer(text):
        if m.group("p") in _EIN_PREFIXES and _cue_before(_EIN_CUE, low, m.start(), 50):
            _add(out, "tax_id", m.start(), m.end(), 0.93)


_CARD_RE = re.compile(r"\d(?<![\d-]\d)(?:[ -]?\d){12,18}(?![\d]|-\d)")


def _luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def _card_brand_ok(d: str) -> bool:
    n = len(d)
    if d[0] == "4":
        return n in (13, 16, 19)
    two, four = int(d[:2]), int(d[:4])
    if 51 <= two <= 55 or 2221 <= four <= 2720:
        return n == 16
    if two in (34, 37):
        return n == 15
    if d.startswith("6011") or 644 <= int(d[:3]) <= 649 or two == 65:
        return 16 <= n <= 19
    if 300 <= int(d[:3]) <= 305 or two in (36, 38, 39):
        return 14 <= n <= 19
    if 3528 <= four <= 3589:
        return 16 <= n <= 19
    if two == 62:
        return 16 <= n <= 19
    if two in (50, 56, 57, 58, 67) or d.startswith("6304"):
        return 12 <= n <= 19
    return False


def _cards(text: str, low: str, out: _Found) -> None:
    for m in _CARD_RE.finditer(text):
        raw = m.group(0)
        d = _digits(raw)
        if not 13 <= len(d) <= 19 or not _card_brand_ok(d) or not _luhn(d):
            continue
        seps = {c for c in raw if not c.isdigit()}
        if len(seps) > 1:
            continue
        if seps and min(len(g) for g in re.split(r"[ -]", raw)) < 3:
            continue  # "1 2 3 4 ..." is a list of numbers, not a card
        _add(out, "card_number", m.start(), m.end(), 0.9 if seps else 0.8)


_IBAN_LENGTHS = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22, "BR": 29,
    "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "DO": 28, "EE": 20, "EG": 29, "ES": 24,
    "FI": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28, "HR": 21,
    "HU": 28, "IE": 22, "IL": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LI": 21,
    "LT": 20, "LU": 20, "LV": 21, "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MR": 27, "MT": 31, "MU": 30,
    "NL": 18, "NO": 15, "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "SA": 24,
    "SE": 24, "SI": 19, "SK": 24, "SM": 27, "TN": 24, "TR": 26, "UA": 29, "VG": 24, "XK": 20,
}  # fmt: skip
_IBAN_RE = re.compile(
    r"[A-Z](?<![A-Za-z0-9][A-Z])[A-Z]\d{2}(?:[ ]?[A-Z0-9]{4}){2,7}(?:[ ]?[A-Z0-9]{1,4})?(?![A-Za-z0-9])"
)


def _valid_iban(iban: str) -> bool:
    expected = _IBAN_LENGTHS.get(iban[:2])
    if expected is not None and len(iban) != expected:
        return False
    if expected is None and not 15 <= len(iban) <= 34:
        return False
    rearranged = iban[4:] + iban[:4]
    number = "".join(str(int(c, 36)) for c in rearranged)
    return int(number) % 97 == 1


def _ibans(text: str, low: str, out: _Found) -> None:
    for m in _IBAN_RE.finditer(text):
        compact = m.group(0).replace(" ", "")
        if _valid_iban(compact):
            _add(out, "iban", m.start(), m.end(), 0.95)


_ACCOUNT_RE = re.compile(
    r"(?:account|acct|a/c)\.?[ \t]*(?:no|number|num|#)\.?[ \t]*[:#.]?[ \t]*"
    r"(?P<acct>(?:[x*]{2,12}[ -]?)?\d[\d -]{2,22}\d)(?![\d-])"
)
_ROUTING_CUE = re.compile(
    r"\b(?:routing|aba|rtn|transit)(?:[ \t]+(?:transit|routing))?(?:[ \t]*(?:no|number|num|#))?\.?"
    r"[ \t]*[:#.]?[ \t]*$"
)
_ROUTING_RE = re.compile(r"\d(?<![\w-]\d)\d{8}(?![\d-])")


def _aba_ok(d: str) -> bool:
    n = [int(c) for c in d]
    checksum = 3 * (n[0] + n[3] + n[6]) + 7 * (n[1] + n[4] + n[7]) + (n[2] + n[5] + n[8])
    return checksum % 10 == 0 and d != "000000000"


def _accounts(text: str, low: str, out: _Found) -> None:
    for m in _ROUTING_RE.finditer(text):
        if _aba_ok(m.group(0)) and _cue_before(_ROUTING_CUE, low, m.start(), 40):
            _add(out, "account_number", m.start(), m.end(), 0.9)
    if not any(k in low for k in ("account", "acct", "a/c")):
        return
    for m in _ACCOUNT_RE.finditer(low):
        if m.start() > 0 and low[m.start() - 1].isalnum():
            continue
        value = m.group("acct").rstrip(" -")
        if len(_digits(value)) >= 4:
            _add(out, "account_number", m.start("acct"), m.start("acct") + len(value), 0.9)


_MRN_RE = re.compile(
    r"(?:mrn|medical[ \t]+record(?:[ \t]+(?:no|number|num|#))?"
    r"|patient[ \t]+(?:id|identifier|no|number|#)"
    r"|chart[ \t]+(?:no|number|#))\.?[ \t]*[:#.]?[ \t]*"
    r"(?P<mrn>[a-z0-9][a-z0-9-]{3,19})(?![\w-])"
)


def _mrns(text: str, low: str, out: _Found) -> None:
    if not any(k in low for k in ("mrn", "medical record", "patient", "chart")):
        return
    for m in _MRN_RE.finditer(low):
        if m.start() > 0 and low[m.start() - 1].isalnum():
            continue
        if len(_digits(m.group("mrn"))) >= 3:
            _add(out, "medical_record_number", m.start("mrn"), m.end("mrn"), 0.9)


# --- person names --------------------------------------------------------------------------------

_NAME_WORD = (
    r"(?:(?:Mc|Mac|O['\u2019]|D['\u2019])?[A-Z][a-z]{1,20}(?:[-'\u2019][A-Z][a-z]{1,20})?)(?![A-Za-z])"
)
_INITIAL = r"[A-Z]\.(?![A-Za-z])"
_SUFFIX = r"(?:,?[ \t]{1,3}(?:Jr\.|Sr\.|Junior|Senior|II|III|IV|Esq\.?|M\.D\.|Ph\.D\.)(?![A-Za-z]))?"
_NAME = (
    r"(?P<name>(?:" + _INITIAL + r"[ \t]{1,20})?" + _NAME_WORD
    + r"(?:[ \t]{1,20}(?:" + _INITIAL + r"|[A-Z](?![A-Za-z.])|" + _NAME_WORD + r")){1,3}" + _SUFFIX + r")"
)  # fmt: skip
_CAPS_WORD = r"(?:[A-Z]{2,20}|[A-Z]\.)(?![A-Za-z])"
_CAPS_NAME = r"(?P<caps>[A-Z]{2,20}(?:[ \t]{1,3}" + _CAPS_WORD + r"){1,3})(?![A-Za-z])"

_HONORIFIC_RE = re.compile(
    r"(?:Mr|Mrs|Ms|Mx|Miss|Dr|Prof|Hon|Judge|Justice|Sen|Rep|Gov)\.?[ \t]{1,3}"
    r"(?P<name>(?:" + _INITIAL + r"[ \t]{1,3})?" + _NAME_WORD
    + r"(?:[ \t]{1,3}(?:" + _INITIAL + r"|" + _NAME_WORD + r")){0,3}" + _SUFFIX + r")"
)  # fmt: skip
_LABEL_RE = re.compile(
    r"(?:Name|NAME|Full[ \t]Name|Printed[ \t]Name|Print[ \t]Name|Patient(?:[ \t]Name)?|PATIENT"
    r"|Employee(?:[ \t]Name)?|Attention|ATTENTION|Attn\.?|ATTN\.?|Contact(?:[ \t]Person)?|Witness|Signatory"
    r"|Veteran|Claimant|Applicant|Beneficiary|Insured|Guarantor|Borrower|Notary(?:[ \t]Public)?"
    r"|Assigned[ \t]to|Referred[ \t]to|Presiding[ \t]Judge|Judge|Attorney|Decedent|Deponent|Affiant"
    r"|Secondary[ \t]Judge|Signed|Signature|By)[ \t]*:[ \t]*(?:\r?\n[ \t]*)?(?:/s/[ \t]*)?(?:"
    + _NAME
    + r"|"
    + _CAPS_NAME
    + r")"
)
_SIGNED_RE = re.compile(r"/s/[ \t]*(?:" + _NAME + r"|" + _CAPS_NAME + r")")
_ROLE_RE = re.compile(
    r"(?:Plaintiffs?|Defendants?|Petitioners?|Respondents?|Appellants?|Appellees?|Claimants?|Debtors?"
    r"|Movants?|Intervenors?|Relators?|Witness)[ \t]*[,:]?[ \t]*(?:\r?\n[ \t]*)?" + _NAME
)
_REPRESENTED_RE = re.compile(r"represented[ \t]+by[ \t]*(?:\r?\n[ \t]*)?" + _NAME)
_TITLE_AFTER_RE = re.compile(
    r"(?m:^[ \t]*(?:" + _NAME + r"|" + _CAPS_NAME + r")[ \t]*,?[ \t]*(?:\r?\n[ \t]*)?"
    r"(?:Acting[ \t]+)?(?:Veterans[ \t]+Law[ \t]+Judge|Counsel|Associate[ \t]+Counsel"
    r"|Attorney[ \t]+at[ \t]+Law"
    r"|(?:United[ \t]+States|U\.[ \t]?S\.)[ \t]+(?:District|Magistrate|Bankruptcy|Circuit)[ \t]+Judge"
    r"|(?:Chief|District|Magistrate|Bankruptcy|Circuit)[ \t]+Judge"
    r"|Notary[ \t]+Public|Esq\.)(?![A-Za-z]))"
)
_CONTACT_BELOW_RE = re.compile(
    r"(?m:^[ \t]*" + _NAME + r"[ \t]*\r?\n[ \t]*(?:Direct|Email|E-mail|Phone|Tel|Fax|Firm|Cell|\[COR)\b)"
)
_ATTORNEY_FOR_RE = re.compile(
    r"(?:ATTORNEY|COUNSEL)[ \t]+FOR[ \t]+THE[ \t]+[A-Z]{2,20}[ \t]*(?:\r?\n[ \t]*){1,4}" + _NAME
)

_NOT_PERSON = frozenset(
    _words(
        "inc llc l.l.c corp corporation company co ltd limited llp lp plc bank trust group holdings "
        "partners partnership association university college department office board court county city "
        "state states united america american national federal insurance services service systems agency "
        "administration commission committee council fund foundation international technologies "
        "technology industries enterprises capital management legal general counsel president secretary "
        "officer director manager chief executive vice title date name signature agreement section "
        "article exhibit schedule party parties licensor licensee buyer seller purchaser vendor supplier "
        "customer client contractor consultant employer employee landlord tenant borrower lender agent "
        "attorney attorneys law firm veterans affairs appeals government republic ministry authority "
        "hospital clinic medical center street avenue road suite box the and of for to by not none "
        "unknown pro se all other its their his her our your this that such each any no yes see page "
        "total amount notice notices witness whereof district circuit division bankruptcy magistrate "
        "judge justice clerk sheriff marshal commissioner registered registrant debtor defendant "
        "plaintiff petitioner respondent appellant appellee terminated lead noticed represented estate "
        "society church school club network media energy financial solutions products pharmaceuticals "
        "health care communications equipment software properties realty investments securities motors "
        "airlines railway electric power oil gas mr mrs ms dr"
    )
)
_ORG_AFTER_RE = re.compile(
    r"[ \t]*,?[ \t]*(?:Inc|LLC|L\.L\.C|Corp|Corporation|Co|Company|Ltd|Limited|LLP|L\.P|LP|N\.A|PLC|P\.C|PLLC"
    r"|GmbH|AG|S\.A|B\.V)\b"
)


def _person_like(name: str, min_tokens: int) -> bool:
    tokens = [t for t in re.split(r"[ \t,]+", name) if t]
    words = [t.rstrip(".").lower() for t in tokens]
    if len([w for w in words if len(w) > 1]) < min_tokens:
        return False
    return not any(w in _NOT_PERSON for w in words)


def _names(text: str, low: str, out: _Found) -> None:
    def emit(m: re.Match[str], min_tokens: int, confidence: float, check_org: bool = True) -> None:
        if m.start() > 0 and text[m.start() - 1].isalnum():
            return  # the cue word is the tail of a longer word
        group = "name"
        if not m.group("name"):
            if "caps" not in m.re.groupindex or not m.group("caps"):
                return
            group = "caps"
        start, end = m.start(group), m.end(group)
        value = text[start:end]
        if not _person_like(value, min_tokens):
            return
        if check_org and _ORG_AFTER_RE.match(text, end):
            return
        _add(out, "person_name", start, end, confidence)

    for m in _HONORIFIC_RE.finditer(text):
        emit(m, 1, 0.88 if " " in m.group("name").strip() else 0.75)
    for m in _LABEL_RE.finditer(text):
        emit(m, 2, 0.85)
    for m in _SIGNED_RE.finditer(text):
        emit(m, 2, 0.88)
    for m in _ROLE_RE.finditer(text):
        # "Plaintiff West American Insurance Company": a following capitalized word means
        # the name regex stopped inside a longer (organisation) name.
        if re.match(r"[ \t]+[A-Z&]", text[m.end() : m.end() + 3]):
            continue
        emit(m, 2, 0.72)
    for m in _REPRESENTED_RE.finditer(text):
        emit(m, 2, 0.85)
    for m in _TITLE_AFTER_RE.finditer(text):
        emit(m, 2, 0.82)
    for m in _CONTACT_BELOW_RE.finditer(text):
        emit(m, 2, 0.8)
    for m in _ATTORNEY_FOR_RE.finditer(text):
        emit(m, 2, 0.85)


# --- health information --------------------------------------------------------------------------

_DX_STOP = (
    r"(?:and|or|in|on|at|by|which|that|was|were|is|are|who|with|from|since|after|before|during|due|secondary"
    r"|manifested|but|as|the|a|an|his|her|their|of|to|for|when|while|because|although|has|had|have|been"
    r"|not|no|per|than|then|being|he|she|they|it)"
)
_DX_WORD = r"[a-z][a-z'\u2019/-]{0,30}"
_DIAGNOSIS_RE = re.compile(
    r"(?:diagnosed[ \t]+(?:with|as[ \t]+having|as)|diagnos[ie]s[ \t]*(?:of|:|was|were|is|included)"
    r"|dx[ \t]*:|suffers?[ \t]+from|suffering[ \t]+from|treated[ \t]+for|treatment[ \t]+for|assessment[ \t]*:"
    r"|impression[ \t]*:)[ \t]{1,3}(?:(?:a|an|the|his|her|their|chronic|acute|severe|mild)[ \t]+)?"
    r"(?P<dx>(?!" + _DX_STOP + r"\b)" + _DX_WORD
    + r"(?:[ \t]{1,3}(?!" + _DX_STOP + r"\b)" + _DX_WORD + r"){0,5})"
)  # fmt: skip
_CONDITIONS = [
    "posttraumatic stress disorder", "post-traumatic stress disorder", "ptsd", "schizophrenia",
    "schizoaffective disorder", "bipolar disorder", "bipolar i disorder", "bipolar ii disorder",
    "major depressive disorder", "generalized anxiety disorder", "panic disorder",
    "obsessive compulsive disorder", "obsessive-compulsive disorder", "diabetes mellitus",
    "type 1 diabetes", "type 2 diabetes", "type ii diabetes", "hypertension", "coronary artery disease",
    "congestive heart failure", "copd", "chronic obstructive pulmonary disease", "asthma", "epilepsy",
    "multiple sclerosis", "parkinson's disease", "alzheimer's disease", "dementia",
    "traumatic brain injury", "tinnitus", "sleep apnea", "hepatitis a", "hepatitis b", "hepatitis c",
    "hiv", "aids", "degenerative disc disease", "degenerative joint disease", "osteoarthritis",
    "rheumatoid arthritis", "fibromyalgia", "lumbosacral strain", "radiculopathy",
    "peripheral neuropathy", "leukemia", "lymphoma", "melanoma", "breast cancer", "lung cancer",
    "prostate cancer", "colon cancer", "alcohol dependence", "opioid use disorder", "substance abuse",
    "anxiety disorder", "depressive disorder", "psychosis",
]  # fmt: skip
_CONDITIONS_RE = re.compile(r"(?<![a-z0-9])" + _trie(_CONDITIONS) + r"(?![a-z0-9])")
_ICD_RE = re.compile(r"[A-TV-Z](?<![\w.][A-TV-Z])\d{2}\.[0-9A-Z]{1,4}(?![\w]|\.\w)")
_ICD_CUE = re.compile(r"(?i:\b(?:icd(?:-?(?:9|10))?(?:-cm)?|diagnos\w*|dx|diagnostic[ \t]+code|code)\b)")
_MEDICAL_CONTEXT = re.compile(
    r"(?i:diagnos|\bicd\b|patient|medical|clinical|treatment|symptom|disorder|injur|\bpain\b|physician"
    r"|doctor|\bdx\b|hospital|therapy|prescri)"
)


def _health(text: str, low: str, out: _Found) -> None:
    if any(
        k in low
        for k in ("diagnos", "dx", "suffer", "treated for", "treatment for", "assessment", "impression")
    ):
        _diagnosis_cues(text, low, out)
    for m in _CONDITIONS_RE.finditer(low):
        if m.group(0) == "aids" and text[m.start() : m.end()] != "AIDS":
            continue  # "aids" is a verb/noun in contracts
        _add(out, "diagnosis", m.start(), m.end(), 0.6)
    for m in _ICD_RE.finditer(text):
        if _cue_before(_ICD_CUE, text, m.start(), 40):
            _add(out, "diagnosis", m.start(), m.end(), 0.85)
        elif _MEDICAL_CONTEXT.search(text, max(0, m.start() - 300), min(len(text), m.end() + 300)):
            _add(out, "diagnosis", m.start(), m.end(), 0.65)
    for m in _DRUG_RE.finditer(low):
        dose = _DOSE_FREQ_RE.match(text, m.end())
        end = dose.end() if dose else m.end()
        has_dose = bool(dose and dose.group("dose"))
        if not has_dose and m.group(0) in _DOSE_ONLY:
            continue
        _add(out, "medication", m.start(), end, 0.9 if has_dose else 0.8)
    if _DOSE_GATE.search(text):
        for m in _DOSED_RE.finditer(text):
            if m.group("word").lower() in _DOSED_STOP:
                continue
            _add(out, "medication", m.start(), m.end(), 0.65)


def _diagnosis_cues(text: str, low: str, out: _Found) -> None:
    for m in _DIAGNOSIS_RE.finditer(low):
        if m.start() > 0 and low[m.start() - 1].isalnum():
            continue
        value = m.group("dx").rstrip(" -/'\u2019")
        if len(value) >= 3:
            _add(out, "diagnosis", m.start("dx"), m.start("dx") + len(value), 0.75)


_DRUGS = (
    "acetaminophen|adderall|albuterol|alprazolam|amitriptyline|amlodipine|amoxicillin|aripiprazole|aspirin"
    "|atorvastatin|azithromycin|baclofen|buprenorphine|bupropion|buspirone|carvedilol|celecoxib|cephalexin"
    "|ciprofloxacin|citalopram|clonazepam|clonidine|clopidogrel|codeine|cyclobenzaprine|diazepam|diclofenac"
    "|doxycycline|duloxetine|escitalopram|esomeprazole|fentanyl|fluoxetine|fluticasone|furosemide|gabapentin"
    "|glipizide|haloperidol|hydrochlorothiazide|hydrocodone|hydromorphone|ibuprofen|insulin|lamotrigine"
    "|levetiracetam|levothyroxine|lisinopril|lithium|lorazepam|losartan|meloxicam|metformin|methadone"
    "|methocarbamol|methylphenidate|metoprolol|mirtazapine|montelukast|morphine|naltrexone|naproxen"
    "|nortriptyline|olanzapine|omeprazole|oxycodone|pantoprazole|paroxetine|percocet|pravastatin|prazosin"
    "|prednisone|pregabalin|prozac|quetiapine|ranitidine|risperidone|rosuvastatin|seroquel|sertraline"
    "|simvastatin|suboxone|sumatriptan|tamsulosin|tizanidine|topiramate|tramadol|trazodone|tylenol"
    "|valium|venlafaxine|vicodin|warfarin|xanax|zoloft|zolpidem|ambien|lexapro|wellbutrin|lyrica|neurontin"
)
_DOSE = (
    r"(?P<dose>[ \t]{0,2}\d{1,5}(?:\.\d{1,3})?[ \t]?(?:mg|mcg|µg|g|ml|mL|units?|IU)"
    r"(?:/(?:ml|mL|kg|day|hr|h|dose))?"
    r"(?![A-Za-z]))?"
)
_FREQ = (
    r"(?:[ \t,]{1,3}(?:b\.i\.d\.?|t\.i\.d\.?|q\.i\.d\.?|q\.d\.?|p\.r\.n\.?|q\.h\.s\.?"
    r"|BID|TID|QID|PRN|QHS|q\d{1,2}h"
    r"|once[ \t]+daily|twice[ \t]+daily|daily|nightly|as[ \t]+needed)(?![A-Za-z]))?"
)
_DRUG_RE = re.compile(r"(?<![a-z0-9])" + _trie(_DRUGS.split("|")) + r"(?![a-z0-9])")
_DOSE_FREQ_RE = re.compile(_DOSE + _FREQ)
_DOSE_GATE = re.compile(r"\d[ \t]?(?:mg|mcg|mL|ml)(?![A-Za-z])")
_DOSE_ONLY = frozenset(["lithium", "insulin", "aspirin"])  # common outside medicine: need a dose
_DOSED_RE = re.compile(
    r"\b(?P<word>[A-Z][a-z]{3,20})[ \t]{1,2}\d{1,5}(?:\.\d{1,3})?[ \t]?(?:mg|mcg|mL|ml)(?:/(?:ml|mL|kg|day))?"
    r"(?![A-Za-z])" + _FREQ
)
_DOSED_STOP = frozenset(["take", "takes", "took", "dose", "daily", "total", "each", "with", "about", "only"])


# --- entry point ---------------------------------------------------------------------------------


def _select(cluster: _Found) -> _Found:
    """Greedy choice inside a group of overlapping findings: most specific, then longest."""
    if len(cluster) == 1:
        return cluster
    ordered = sorted(
        cluster, key=lambda f: (-_RANK.get(f.type, 0), -(f.end - f.start), -f.confidence, f.start)
    )
    kept: _Found = []
    for f in ordered:
        if all(f.end <= k.start or f.start >= k.end for k in kept):
            kept.append(f)
    return kept


def _deduplicate(found: _Found) -> _Found:
    found.sort(key=lambda f: (f.start, -f.end))
    out: _Found = []
    cluster: _Found = []
    cluster_end = -1
    for f in found:
        if cluster and f.start >= cluster_end:
            out.extend(_select(cluster))
            cluster = []
        if len(cluster) >= 64:  # pathological pile-up: keep the cluster bounded
            out.extend(_select(cluster))
            cluster = []
            cluster_end = -1
        cluster.append(f)
        cluster_end = max(cluster_end, f.end)
    if cluster:
        out.extend(_select(cluster))
    out.sort(key=lambda f: (f.start, f.end))
    # A bounded cluster split can leave overlaps at the seam; drop the later one.
    final: _Found = []
    for f in out:
        if final and f.start < final[-1].end:
            if _RANK.get(f.type, 0) > _RANK.get(final[-1].type, 0):
                final[-1] = f
            continue
        final.append(f)
    return final


def find_personal_data(text: str) -> list[PersonalDataFinding]:
    """Personal data in ``text``: typed, scored, non-overlapping findings in text order."""
    if not isinstance(text, str) or not text:
        return []
    low = text.lower()
    if len(low) != len(text):  # a few non-ASCII letters change length when lowered
        low = text.translate(_ASCII_LOWER)
    found: _Found = []
    for finder in (_emails, _phones, _addresses, _dates_of_birth, _ssns, _tax_ids, _cards, _ibans,
                   _accounts, _mrns, _names, _health):  # fmt: skip
        finder(text, low, found)
    return _deduplicate(found)
