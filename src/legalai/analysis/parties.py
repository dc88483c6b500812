"""Parties of a contract from its preamble (and signature blocks as a fallback).

Split out of ``keyterms`` (see its module docstring for the base method); ``extract_parties(text)``
is the entry point and never raises. On top of that method:

* every "between / among / made by" list in the opening 8,000 characters is a candidate (and the
  next 40,000 when none is credible); each is scored by how party-like its names are (corporate
  suffix, descriptor such as ", a Delaware corporation", defined short name; bare role words or
  names defined elsewhere score low) and the first credible list wins, so a later "between
  Licensor and Licensee" cannot replace the preamble;
* labelled parties ("Party A: ...", "Between: ... And: ...", "Licensor: ...") are one more candidate;
* a period inside an address or before "(the "X")" / "Hereinafter" / "And" does not end the list;
* a corporate suffix followed by an address or a lower-case word ends the name
  ("Acme AG Hauptstrasse 1", "Acme, Inc. c/o ...");
* "The undersigned hereby agree ..." documents take their parties from the signature blocks;
* a "PARTIES (1) ... (2) ..." heading and "between the following two parties ...:" open a list;
  "BETWEEN:" / "between" alone on its line is a strong cue and "AND:" / "AND\n\n2." continue it;
* short names listed as parties ("by and among PSS, PSS Merger Corp. and GSMS") resolve to the full
  names defined earlier ('Physician Sales & Service, Inc. ("PSS")'); a bare role word or another
  party's short name in the list is dropped;
* name boundaries: "E.piphany" / "A.B. Watley" initials are not enumerators; "NETWORK  1" keeps a
  double-spaced digit unless an address follows; "Acme Ltd. of Beijing, China", ", Anaheim, Calif.",
  ", Businessperson," and a next column after 3+ spaces end the name after its corporate suffix
  ("Bancorp, Inc. of Pennsylvania" keeps a state); street addresses, "P.O. Box" and the Securities
  and Exchange Commission are never names.

* list items: bullets, comma-separated complete corporate names ("Acme Inc., a Delaware corporation,
  Beta LLC, a ..."), ", together with", title-page lists in capitals ("ACME CORPORATION,\n\nBETA
  CORPORATION\n\nand\n\n..."); an upper-case "AND" between capitals, or "of Mines and Energy" inside a
  descriptor, stays inside one name; a stray straight quote does not hide the rest of the list;
* names inside running text: the words right before a descriptor or short-name definition ("... under
  which Acme, Inc., a Nevada corporation (...), authorizes Beta LLC, a ...", "that ACME TRUST COMPANY,
  a statutory trust ... appoint ..."), and a corporate name ending a list item ("the joint filing of
  Acme Fund, L.P."); "Jane Roe, director of Acme Ltd." names Acme; "agent for Jane Roe ("Talent")"
  adds the person defined by a role; a bare "the Corporation" resolves to its full name;
* labels anywhere on a line ("... Platform. Party A: Acme Co., Ltd. Legal Representative: ..."), on the
  next line, in lower case ("The buyer/End-User:"), "Company Name:", "Reseller Full Legal Name X",
  "To:/From:" headers and capital role columns ("SHIPPER  ACME PIPELINES S.A."); form fields and a
  letter's addressee ("Acme Securities Inc. ... Ladies and Gentlemen:") complete a short list;
* signature pages: "the Parties signatory hereto" reads "For and on behalf of X" and entities before
  "By:"; side-by-side names split at wide gaps (a caption such as "LICENSEE" is dropped) or read above
  "BY   BY" captions; "SIGNED SEALED AND DELIVERED by X" / "Signed for X"; an individual's own
  "/s/ Jane Roe  Jane Roe" and accented capitals in joint filings;
* precision: clauses about the parties ("relationship between A and B"), laws and documents defined
  like parties ('... Investment (the "Joint Venture Law")'), defined terms without a corporate suffix
  or role in the fallback, role-word phrases ("Developer and Client"), phrases trailing complete
  parties and weak lists without any party-like name are not parties;
* every regex that may meet long runs of whitespace starts at the run's first character (linear time).

Dev-set (CUAD, 302 contracts) set-F1: 0.726 -> 0.788 -> 0.835 -> 0.902. Remaining errors are mostly
label noise (typos, descriptive tails or subsets in the answers), forms whose parties are blank and
documents without a preamble or signature block (titles such as "X and Y License Agreement").
"""

from __future__ import annotations

import re

from legalai.analysis.keyterms import _CANONICAL_PLACE, _US_STATES
from legalai.analysis.types import Party

__all__ = ["extract_parties"]

_HEAD_CHARS = 8000  # preamble window
_WIDE_HEAD_CHARS = 40000  # searched only when the first window has no credible party list
_MAX_SEGMENTS = 40  # candidate party lists examined per window
_GOOD_LIST = 4.0  # score of a credible party list (two named entities with descriptors)


# --------------------------------------------------------------------------------------------
# Parties
# --------------------------------------------------------------------------------------------

_ROLE_WORDS = {
    "licensor": "licensor",
    "licensee": "licensee",
    "sublicensee": "licensee",
    "sublicensor": "licensor",
    "supplier": "supplier",
    "vendor": "supplier",
    "customer": "customer",
    "client": "customer",
    "distributor": "distributor",
    "dealer": "distributor",
    "reseller": "reseller",
    "company": "company",
    "corporation": "company",
    "consultant": "consultant",
    "advisor": "consultant",
    "adviser": "consultant",
    "contractor": "contractor",
    "employee": "employee",
    "executive": "employee",
    "employer": "employer",
    "landlord": "landlord",
    "lessor": "landlord",
    "tenant": "tenant",
    "lessee": "tenant",
    "lender": "lender",
    "borrower": "borrower",
    "buyer": "buyer",
    "purchaser": "buyer",
    "seller": "seller",
    "manufacturer": "manufacturer",
    "franchisor": "franchisor",
    "franchisee": "franchisee",
    "provider": "provider",
    "service provider": "provider",
    "agent": "agent",
    "sponsor": "sponsor",
    "developer": "developer",
    "owner": "owner",
    "investor": "investor",
    "partner": "partner",
    "bank": "bank",
    "marketer": "marketer",
    "publisher": "publisher",
    "carrier": "carrier",
    "shipper": "shipper",
    "assignor": "assignor",
    "assignee": "assignee",
    "host": "host",
    "collaborator": "collaborator",
    "trust": "trust",
    "fund": "fund",
    "endorser": "endorser",
    "talent": "endorser",
    "recipient": "recipient",
    "discloser": "discloser",
    "disclosing party": "discloser",
    "receiving party": "recipient",
    "manager": "manager",
    "administrator": "administrator",
    "sender": "shipper",
    "consignee": "consignee",
    "transporter": "carrier",
    "guarantor": "guarantor",
    "issuer": "issuer",
    "underwriter": "underwriter",
    "servicer": "servicer",
    "trustee": "trustee",
    "counterparty": "counterparty",
    "producer": "producer",
    "broker": "broker",
    "retailer": "reseller",
}
_ROLE_RE = re.compile(
    r"\b(" + "|".join(sorted((re.escape(k) for k in _ROLE_WORDS), key=len, reverse=True)) + r")\b",
    re.IGNORECASE,
)
_PREAMBLE_TRIGGER = re.compile(
    r"\b(?:by\s+and\s+(?:between|among|amongst)|between|among|amongst|"
    r"(?:entered\s+into|made|executed)(?:\s+and\s+entered\s+into)?\s+by(?!\s+and\b))\b\s*[:\-]?\s*"
    r"(?:the\s+(?:following|undersigned)(?:\s+\w+)?\s+part(?:y|ies)\b(?:[^:.;\n]{0,60}:)?\s*[:\-]?\s*)?|"
    # A "PARTIES" heading (English-style agreements): "PARTIES (1) Acme Limited ... (2) ...".
    r"(?-i:(?:^|(?<=\s))(?:PARTIES|Parties)(?:[ \t]*:\s*|\s+(?=\(?(?:1|a|A)[).]\s)))",
    re.IGNORECASE,
)
# Bullets that introduce the items of a party list ("by and between: \u25cf Acme Inc. ...; and \u25cf ...").
_BULLETS = "\u25cf\u2022\u25aa\u25a0\u25e6\u00b7\u2023\u2043\u27a2\u25ba"
# What may start a party list: a capitalized or numbered name, a bracket or quote, "the Acme ...",
# a bullet, or a brand written in lower case ("eGain", "theglobe.com").
_SEGMENT_START = re.compile(
    r"(?:[A-Z0-9(\[\"\u201c_" + _BULLETS + r"]|the\s+[A-Z](?!\w*\s+(?:parties|party)\b)|[a-z]+[A-Z.]\w*|"
    r"[a-z][\w\-]*\s+[A-Z]{2,})"
)
_ABBREVIATIONS = {
    "blvd",
    "ave",
    "inc",
    "corp",
    "ltd",
    "co",
    "no",
    "st",
    "ste",
    "rd",
    "ft",
    "mt",
    "bldg",
    "fl",
    "dept",
}
_PREAMBLE_CONTEXT = re.compile(
    r"agreement|contract|made|entered|dated|executed|memorandum|lease|licen[cs]e|amendment", re.IGNORECASE
)
_SEGMENT_END = re.compile(
    r"\bWHEREAS\b|\bW\s?I\s?T\s?N\s?E\s?S\s?S\s?E\s?T\s?H|\bR\s?E\s?C\s?I\s?T\s?A\s?L\s?S\b|\bWitnesseth\b|\bRECITALS?\b|\bBACKGROUND\b|"
    r"\bPREAMBLE\b|\bNOW,?\s+THEREFORE|\bIN\s+CONSIDERATION\b|\bThe\s+parties\s+(?:hereto\s+)?agree|"
    r"\bIT\s+IS\s+(?:HEREBY\s+)?AGREED|\bagree\s+as\s+follows|\bRecitals\b|\bIntroduction\b|"
    # After a blank line (matched at its last line break: no backtracking over runs of blank lines).
    r"\n[ \t]*\n[ \t]*(?:\d+\.|ARTICLE|Section|SECTION)\s|"
    r"\n[ \t]*\n[ \t]*[\"\u201c][^\"\u201d\n]{1,60}[\"\u201d]\s+(?:means|shall\s+mean|has\s+the\s+meaning)\b|"
    r"\n[ \t]*\n[ \t]*(?:Source:|Page\s+\d|TABLE\s+OF|Table\s+of)|"
    # A party labelled by its role after a blank line ("\n\nLicensor: Acme ..."): a list of its own.
    r"\n[ \t]*\n[ \t]*(?:The[ \t]+)?(?i:Licensor|Licensee|Supplier|Buyer|Seller|Purchaser|Customer|"
    r"Distributor|Consultant|Contractor|Client|Vendor|Manufacturer|Franchisor|Franchisee|Sponsor|"
    r"Reseller)[ \t]*:",
)
# End of sentence: a period not closing a common abbreviation or an initial.
_SENTENCE_END = re.compile(
    r"(?<!\bInc)(?<!\bINC)(?<!\bCorp)(?<!\bCORP)(?<!\bCo)(?<!\bCO)(?<!\bLtd)(?<!\bLTD)(?<!\bNo)"
    r"(?<!\bSt)(?<!\bMr)(?<!\bMs)(?<!\bDr)(?<!\bJr)(?<!\bSr)(?<!\bN\.A)(?<!\bS\.A)(?<!\bB\.V)"
    r"(?<!\bN\.V)(?<!\bL\.P)(?<!\bP\.C)(?<!\bL\.L\.C)(?<!\bU\.S)(?<!\bPty)(?<!\bBhd)(?<!\bSdn)"
    r"(?<!\b[A-Z])(?<!\bS\.p\.A)(?<!\bplc)(?<!\bPLC)(?<!\bLLC)(?<!\bL\.L\.P)(?<!\bSte)(?<!\bAve)"
    r"\.[\"\u201d]?(?=\s+[A-Z(\"\u201c])"
)
_NAME_STOP = re.compile(
    # Every stop begins at the start of a whitespace run, never inside one (linear time).
    r"(?:(?<!\s)|(?=[,(\"\u201c\u201d]))(?:\s*\((?!\s*(?:a|an)\s)|\s*[\"\u201c\u201d]|"
    r",?\s+(?:a|an)\s+(?=(?:[A-Z][\w.\-]*\s+){0,5}?(?:corporation|company|limited|partnership|"
    r"individual|association|trust|bank|entity|organization|organisation|société|societe|"
    r"statutory|business|banking|national|public|private|non-profit|nonprofit|not-for-profit|"
    r"joint|wholly|federally|state|agency|institution|university|exempted|professional|"
    r"sole|general|mutual|cooperative|foreign|federal|Delaware|Nevada|California|New|corp|LLC)\b)|"
    r",\s*(?:a|an|the|having|with|whose|located|organized|organised|incorporated|existing|doing|its|which|"
    r"acting|each|duly|registered|residing|being|by|on\s+behalf|as|in\s+its|at|c/o|formerly|"
    r"hereinafter|herein|together|including|through|for|whose|d/b/a|dba)\b|"
    r"\s+(?:having|with\s+(?:its|a|an|offices|principal|registered|an?\s+address)|whose|located|"
    r"organized|organised|incorporated|existing\s+under|hereinafter|herein\s+referred|residing|"
    r"doing\s+business|a\s+company|an\s+individual|acting\s+through|represented\s+by|through\s+its|"
    r"registered\s+(?:office|in|under)|with\s+registered|\(hereinafter)\b|"
    r",?\s+of\s+(?=\d|P\.?O\.?\s|\[)|,\s*(?=\d)|\s*\n\s*\n|,\s*(?:ACN|ABN|CIN|Company\s+No|"
    r"Registration|registered)\b|,\s*(?!(?:inc|corp|ltd|llc|l\.?p|co|plc|s\.?a|n\.?v|b\.?v|gmbh|ag|limited|"
    r"incorporated|llp|pte|pty|s\.?l|n\.?a)\b)(?-i:[a-z])|\s+(?:dated|effective|located|residing|pursuant)\b|"
    r"\s+to\s+be\s+(?:formed|organi[sz]ed|incorporated)\b|"
    r"\s+(?:is|are|was|has|have|shall|will|hereby|agrees?)\s|,\s+(?!(?:inc|corp|ltd|llc|l\.?p|plc|co|limited|gmbh|ag|s\.?a|n\.?v|b\.?v)\b)(?=[A-Z][\w\-]*\s+\d)|"
    r"(?<=[.A-Za-z])\s{2,}(?=\d{2,}|(?-i:\d\s+[A-Z][a-z])|c/o|P\.?O\.?\s)|\s+(?:This|THIS)\s+(?:Agreement|AGREEMENT)\b|\s+Source:|"
    r"\s+(?=\d+(?:st|nd|rd|th)?\s+(?:Floor|floor|[A-Z][a-z]+\s+(?:Street|St\.?|Avenue|Ave\.?|Road|Rd\.?|"
    r"Drive|Blvd\.?|Boulevard|Way|Lane|Place|Parkway|Court)\b)))",
    re.IGNORECASE,
)
_UPPER_STOP = re.compile(
    r"(?:(?<!\s)|(?=,)),?\s+(?:A|AN)\s+[A-Z]+\s+(?:CORPORATION|COMPANY|LIMITED|PARTNERSHIP)|,\s*(?:HAVING|WITH|WHOSE|LOCATED)\b"
)
_QUOTED = re.compile(
    r"[\"\u201c\u201d\u2018\u2019'`]{1,2}\s*([^\"\u201c\u201d\n]{1,60}?)\s*[\"\u201c\u201d\u2019'`]{1,2}"
)
_HEREINAFTER_UNQUOTED = re.compile(
    r"\(\s*(?:hereinafter|herein)\s+(?:referred\s+to\s+as\s+|called\s+|named\s+)?(?:the\s+)?"
    r"([A-Z][\w&.\- ]{1,40}?)\s*\)"
)
_ENUM_PREFIX = re.compile(
    r"^\s*(?:\(?\s*(?:\d{1,2}|[a-hA-H]|i{1,3}|iv|v)\s*(?:\)\s*|[.:](?:\s+|$))|and\s*:\s*|and[\s,]+|&\s+|the\s+undersigned,?\s+|"
    r"[" + _BULLETS + r"]\s*|(?-i:[A-Z][A-Z ]{2,40}:[ \t]{2,})|"
    r"(?:on\s+the\s+(?:one|other)\s+hand\s*,?\s*)|"
    r"[:;,\-]\s*|\bparties\b[:\s]*|(?:its|their)\s+[A-Za-z\-]+\s*,\s*|(?:ladies\s+and\s+)?gentlemen\s*:\s*|dear\s+sirs?\s*:?\s*|"
    r"(?:by\s+and\s+)?(?:between|among)\s*:?\s*)+",
    re.IGNORECASE,
)
_GENERIC_SHORT = {"agreement", "party", "parties", "this agreement", "effective date", "contract", "we", "us"}
_NOT_NAMES = re.compile(
    # Pronouns, bare role words and sentence words are never a party's name.
    r"^(?:the\s+)?(?:you|your|we|us|our|licensor|licensee|company|consultant|customer|supplier|"
    r"distributor|agent|client|affiliates?|subsidiaries|effective)\W*$|"
    r"^(?:the\s+)?(?:parties|party|undersigned|following|company\s+and|each|both|either|it|its|they|"
    r"such|said|this|that|which|whom|who|under|other|certain|all|any|date|dated|made|witnesseth|"
    r"whereas|in|on|for|of|to|by|at|as|from|with|and|or|pursuant|know\s+all|page|table|exhibit|schedule|annex|"
    r"appendix|attachment|upon|if|when|where|after|before|unless|provided|subject|notwithstanding|except)"
    r"(?![\w&'\u2019.\-])|"
    # A collective defined term ("the Nissin Parties") is not one party.
    r"^.*\bpart(?:y|ies)$",
    re.IGNORECASE,
)
_SMALL_WORDS = {
    "of",
    "and",
    "the",
    "de",
    "du",
    "des",
    "la",
    "le",
    "for",
    "&",
    "in",
    "at",
    "on",
    "a",
    "an",
    "und",
    "y",
}


_PIECE_COMPLETE = re.compile(
    r",\s*[a-z]|\(|\b(?:having|with|whose|located|organized|organised|incorporated|residing)\b|\d|\n\s*\n"
)
_CORP_END = re.compile(
    r"\b(?:Inc|Corp|Corporation|Company|Co|Ltd|Limited|LLC|L\.L\.C|LLP|LP|L\.P|PLC|plc|GmbH|AG|S\.A|SA|N\.V|"
    r"B\.V|Pty|Pte|S\.p\.A|S\.r\.l|S\.A\.S|SAS|A/S|S/A|G\.I\.E|Trust|Bank|University|Fund|Partners|N\.A)\.?\s*$",
    re.IGNORECASE,
)


def _piece_complete(piece: str) -> bool:
    """Whether a piece of a party list already holds a whole party (a descriptor, address, definition)."""
    prefix = _ENUM_PREFIX.match(piece)
    return bool(_PIECE_COMPLETE.search(piece, prefix.end() if prefix else 0))


def _split_top_level(segment: str) -> list[tuple[int, int]]:
    """Pieces of ``segment`` separated by top-level ';', 'and', '), ' and enumerators."""
    pieces: list[tuple[int, int]] = []
    depth = 0
    start = 0
    i = 0
    n = len(segment)
    in_quote = False
    quote_start = 0
    while i < n:
        ch = segment[i]
        if in_quote and i - quote_start > 80:
            in_quote = False  # an unbalanced quote ('(hereinafter, -Licensee")') does not hide the list
        if ch in "\u201c\u201d":
            in_quote = ch == "\u201c"
            quote_start = i
        elif ch == '"':
            # A straight quote after a word closes, one before a word opens: a stray quote does not
            # swallow the rest of the list.
            before = segment[i - 1] if i else " "
            after = segment[i + 1] if i + 1 < n else " "
            if before.isalnum() or before in ".,!?)":
                in_quote = False
            elif after.isalnum() and (before.isspace() or before in "([{"):
                in_quote = True
            else:
                in_quote = not in_quote
            quote_start = i
        elif ch in "([" and not in_quote:
            # "(1)" style enumerators separate parties.
            enum = re.match(
                r"[(\[]\s*(?:\d{1,2}|[a-h]|i{1,3}|iv)\s*[)\]]\s+(?=[A-Z\[\"])", segment[i : i + 12]
            )
            if enum and depth == 0:
                pieces.append((start, i))
                start = i + enum.end()
                i = start
                continue
            depth += 1
        elif ch in ")]" and not in_quote:
            depth = max(0, depth - 1)
            if depth == 0:
                sep = re.match(
                    r"\)\s*,\s*(?:and\s+|&\s+|together\s+with\s+)?(?=[A-Z\[\"\u201c])|\)\s+(?:and|&)\s+",
                    segment[i : i + 40],
                )
                if sep:
                    pieces.append((start, i + 1))
                    start = i + sep.end()
                    i = start
                    continue
        elif depth == 0 and not in_quote:
            if ch == ";" or (
                ch in _BULLETS and segment[start:i].strip() and segment[i + 1 : i + 2].isspace()
            ):
                pieces.append((start, i))
                start = i + 1
            elif ch == "," and (_piece_complete(segment[start:i]) or _CORP_END.search(segment[start:i])):
                # "Acme Inc., a Delaware corporation, Beta LLC, a Texas limited liability company, and ...":
                # a comma followed by another complete corporate name starts the next party.
                sep = _NEXT_ENTITY.match(segment, i)
                if sep:
                    pieces.append((start, i))
                    start = sep.end()
                    i = start
                    continue
            elif ch == " " and re.match(
                r"\s+(?:their|its|this|an?|the)\s+agreement\s+with\s+", segment[i : i + 40], re.IGNORECASE
            ):
                sep = re.match(
                    r"\s+(?:their|its|this|an?|the)\s+agreement\s+with\s+", segment[i : i + 40], re.I
                )
                assert sep is not None
                pieces.append((start, i))
                start = i + sep.end()
                i = start
                continue
            elif ch in " ,\n\t" and segment[i : i + 12].lower().lstrip(" ,\n\t").startswith(
                ("and ", "and\n", "and:", "and,")
            ):
                sep = re.match(r"[\s,]+and\s*[:,]?\s+", segment[i : i + 20], re.IGNORECASE)
                # "and" inside a name ("Institute of Grassland and Environmental Research") is kept:
                # split only after a complete party (descriptor, corporate suffix) or at ", and".
                # "THE FENWICK FILM AND MEDIA CORPORATION": an upper-case "AND" between upper-case words
                # on one line joins the words of one name.
                # "Ministry of Mines and Energy" inside a descriptor is one name.
                of_name = bool(
                    sep
                    and re.search(r"\b(?:of|for)[ \t]+[A-Z][\w\-]*$", segment[start:i])
                    and re.search(r",\s*(?:a|an)\s+[a-z]", segment[start:i])
                )
                inside_caps = of_name or bool(
                    sep
                    and re.fullmatch(r"[ \t]+AND[ \t]+", sep.group(0))
                    and re.search(r"\b[A-Z]{2,}$", segment[start:i])
                    and re.match(r"[A-Z]{2,}\b", segment[i + sep.end() :])
                    and not _CORP_END.search(segment[start:i])
                )
                if (
                    sep
                    and not inside_caps
                    and (
                        "," in sep.group(0)
                        or _piece_complete(segment[start:i])
                        or _CORP_END.search(segment[start:i])
                    )
                ):
                    pieces.append((start, i))
                    start = i + sep.end()
                    i = start
                    continue
        i += 1
    pieces.append((start, n))
    return [(a, b) for a, b in pieces if segment[a:b].strip()]


# An address or a government body written where a party's name is expected.
_ADDRESS_NAME = re.compile(
    r"^(?:\d[\w\-/]*,?\s+(?:[A-Z][\w.]*\s+){0,4}(?:Street|St|Avenue|Ave|Road|Rd|Drive|Dr|Boulevard|Blvd|"
    r"Way|Lane|Ln|Place|Parkway|Court|Ct|Highway|Square|Plaza|Floor|Suite)\b|P\.?\s?O\.?\s+Box\b)|"
    r"\b\d{5}(?:-\d{4})?$",
    re.IGNORECASE,
)
_GOVERNMENT_BODY = re.compile(
    r"^(?:the\s+)?(?:U\.?S\.?\s+)?(?:Securities\s+and\s+)?Exchange\s+Commission$|"
    r"^(?:the\s+)?(?:Internal\s+Revenue\s+Service|Federal\s+Trade\s+Commission|Food\s+and\s+Drug\s+"
    r"Administration|Commission)$",
    re.IGNORECASE,
)
# Words a name may have in lower case: corporate suffixes ("drkoop.com, inc.").
_LOWER_SUFFIX = {
    "inc",
    "inc.",
    "corp",
    "corp.",
    "ltd",
    "ltd.",
    "llc",
    "co",
    "co.",
    "plc",
    "gmbh",
    "corporation",
    "company",
    "incorporated",
    "limited",
}
# Sentence words that may still begin a company name ending in a corporate suffix ("At Home Corporation").
_STOP_PREFIX_OK = re.compile(r"^(?:at|in|on|for|of|to|by|as|from|with|all|any|other|certain)\s+[A-Z]", re.I)


def _is_name(name: str) -> bool:
    stripped = name.strip()
    if len(stripped) < 2 or len(stripped) > 120 or not re.search(r"[A-Za-z]", stripped):
        return False
    first_word = stripped.split()[0]
    has_suffix = bool(_CORP_END.search(stripped))
    if has_suffix and len(re.findall(r"[\w&]+", stripped)) == 1 and not re.search(r"[a-z]", stripped[1:]):
        return False  # a bare "Inc." or "LIMITED" left over from a longer name
    brand = (
        bool(re.match(r"[a-z]+(?:[A-Z]|\.[a-z])", first_word))
        or bool(re.match(r"[a-z][a-z]*[\d\-][\w\-]*\s+[A-Z]{2,}", stripped))
        or bool(re.fullmatch(r"[a-z][\w\-.@]*,?\s+(?:inc|corp|ltd|llc|co|plc|gmbh)\.?", stripped, re.I))
    )
    if not (stripped[0].isupper() or stripped[0].isdigit() or stripped[0] in "[_" or brand):
        return False
    if _NOT_NAMES.match(stripped) and not (has_suffix and _STOP_PREFIX_OK.match(stripped)):
        return False
    if re.search(r"\bagreement\b|\bdated\b|\bbetween\b|\bamong\b", stripped, re.IGNORECASE):
        return False
    plain = [w.lower() for w in re.findall(r"[A-Za-z]+", stripped)]
    if len(plain) > 1 and all(w in _ROLE_WORDS or w in _SMALL_WORDS for w in plain):
        return False  # "Developer and Client", "Franchisor and Master Franchisee"
    possessive = re.match(r"(?:the\s+)?([A-Za-z]+)['\u2019]s\s", stripped, re.IGNORECASE)
    if possessive and possessive.group(1).lower() in _ROLE_WORDS:
        return False  # "Company's Board of Directors" belongs to a party

    if _ADDRESS_NAME.search(stripped) or _GOVERNMENT_BODY.match(stripped):
        return False
    place = re.sub(
        r"\s+(?:corporation|company|limited|incorporated|corp\.?)$", "", re.sub(r"\s+", " ", stripped)
    )
    if place.lower() in _CANONICAL_PLACE:
        return False  # "Delaware" or "Delaware corporation" is a descriptor
    words = re.findall(r"[\w&'\u2019.\-/]+", stripped)
    if not words or len(words) > 16:
        return False
    capitalized = sum(
        1
        for w in words
        if w[0].isupper()
        or w[0].isdigit()
        or w.lower() in _SMALL_WORDS
        or w.lower() in _LOWER_SUFFIX
        or w is words[0]
    )
    return capitalized / len(words) >= 0.7


def _short_name(piece: str) -> str | None:
    for match in _QUOTED.finditer(piece):
        value = match.group(1).strip(" ,.")
        if value and value.lower() not in _GENERIC_SHORT and not value.lower().startswith("the agreement"):
            return re.sub(r"^(?:the)\s+", "", value, flags=re.IGNORECASE)
    unquoted = _HEREINAFTER_UNQUOTED.search(piece)
    if unquoted:
        return unquoted.group(1).strip()
    return None


def _role(short_name: str | None, piece: str) -> str | None:
    if short_name:
        match = _ROLE_RE.search(short_name)
        if match:
            return _ROLE_WORDS[match.group(1).lower()]
    match = re.search(
        r"(?:hereinafter|herein|referred\s+to\s+as|called|acting\s+as|as\s+the)\W{0,20}(?:the\s+)?"
        r"[\"\u201c]?(" + _ROLE_RE.pattern + r")",
        piece,
        re.IGNORECASE,
    )
    if match:
        return _ROLE_WORDS[match.group(2).lower()]
    return None


def _clean_name(text: str, start: int, end: int) -> tuple[int, int]:
    """Trim whitespace and trailing punctuation (keeping a period after an abbreviation)."""
    while start < end and text[start] in " \t\r\n,;:-\u2013\u2014*":
        start += 1
    while end > start and text[end - 1] in " \t\r\n,;:-\u2013\u2014*":
        end -= 1
    while (
        end > start
        and text[end - 1] == "."
        and not re.search(
            r"(?:\b[A-Z]|Inc|INC|inc|Corp|CORP|corp|Co|CO|Ltd|LTD|ltd|Bhd|BHD|Pty|PTY|Jr|Sr|N\.A|S\.A|B\.V|N\.V|L\.P|"
            r"L\.L\.C|P\.C|S\.p\.A|a\.s|A\.G|AG|Ltda|S\.L|S\.R\.L|Inc\s?|Co\s?)\.$",
            text[max(start, end - 8) : end],
        )
    ):
        end -= 1
    while end > start and text[end - 1] in " \t\r\n,;:":
        end -= 1
    tail = re.search(r"[\s,]+(?:of|and|the|at|in|by|&)$", text[start:end], re.IGNORECASE)
    if tail:
        end = start + tail.start()
    return start, end


_SUFFIX_TAIL = re.compile(
    r"\b(?:Inc|Incorporated|Corp|Corporation|Ltd|Limited|LLC|L\.L\.C|LLP|L\.L\.P|LP|L\.P|PLC|plc|GmbH|AG|"
    r"S\.A|SA|N\.V|B\.V|Pty|Pte|S\.p\.A|S\.r\.l|A/S|S/A|AB|G\.I\.E|Company|INC|CORP|CORPORATION|LTD|LIMITED|"
    r"COMPANY)"
    r"\b\.?(?=[ \t\n]+(?P<rest>\S[^\n]*))"
)
# What may follow a corporate suffix inside a name: another suffix, "(...)", or an upper-case word
# that is not an address.
_ADDRESS_AFTER_SUFFIX = re.compile(
    r"(?:[a-z]|c/o|\d|(?:Suite|Room|Floor|Unit|Building|Bldg|P\.?\s?O\.?\s|Box|Level|Tower|Plaza|"
    r"Street|Avenue|Road|Department|Departement|Telephone|Tel|Fax|Address|Attn|Attention|Legal|"
    r"Registered|Registration|Contact|E-?mail|Phone|Represented|Authori[sz]ed)\b)"
)
_LEADING_LOWER_THE = re.compile(r"the\s+(?=[A-Z0-9])")


_SUFFIX_WORDS = (
    r"(?:Inc|Incorporated|Corp|Corporation|Ltd|Limited|LLC|L\.L\.C|LLP|L\.L\.P|LP|L\.P|PLC|GmbH|AG|S\.A|SA|"
    r"N\.V|B\.V|Pty|Pte|S\.p\.A|S\.r\.l|A/S|AB|Co|Company|Ltda|S\.L|N\.A)"
)
# ", Businessperson, having ..." after the corporate suffix: a description, not the name.
_SUFFIX_THEN_WORD = re.compile(
    r"\b(?i:" + _SUFFIX_WORDS + r")\.?(?=,[ \t]*(?!(?i:" + _SUFFIX_WORDS + r")\b)[A-Z][a-z]+(?:,|$))"
)


# After a comma: a corporate name that ends in a suffix and is followed by a comma, a parenthesis, a
# descriptor ("a Delaware corporation") or "and" (the next item of a party list).
_NEXT_ENTITY = re.compile(
    r",[ \t]*\n?\s*(?!(?i:inc|corp|ltd|llc|l\.?l\.?c|l\.?p|co|plc|n\.?a|s\.?a|limited|incorporated)\b)"
    r"(?=(?:the\s+|The\s+|THE\s+)?[A-Z][\w&'\u2019.\-]*"
    r"(?:[ \t]+(?!and\b)[\w&'\u2019.\-()/]+){0,8}?,?[ \t]+(?i:"
    + _SUFFIX_WORDS
    + r")\.?(?:\s*[,;(]|\s+(?:a|an|and|&)\s|\s*$))"
)


# "Acme S.A., Department of Imaging": a department, division or branch after the name.
_SUFFIX_THEN_UNIT = re.compile(
    r"\b(?i:" + _SUFFIX_WORDS + r")\.?(?=,?[ \t]+(?:(?i:d[eé]partement|department|division|business\s+unit)|"
    r"(?:[A-Z][\w\-]*[ \t]+){0,2}(?i:branch))\b)"
)


def _cut_after_suffix(text: str, start: int, end: int) -> int:
    """End of the name when a corporate suffix is followed by an address or a lower-case word."""
    described = _SUFFIX_THEN_WORD.search(text, start, end)
    if described:
        end = described.end()
    unit = _SUFFIX_THEN_UNIT.search(text, start, end)
    if unit:
        end = unit.end()
    for match in _SUFFIX_TAIL.finditer(text, start, end):
        rest_start = match.start("rest")
        if rest_start >= end:
            break
        rest = text[rest_start:end]
        if re.match(r"of\s", rest):
            # "Acme Ltd. of Beijing, China" / "Acme A/S of Industriparken 55": a seat, not a name
            # ("Insurance Company of North America" keeps its "of").
            # "Alliance Bancorp, Inc. of Pennsylvania" names a state or country: part of the name.
            seat = re.match(r"of\s+(?:\d|([A-Z][\w\-]*(?:[ \t]+[A-Z][\w\-]*){0,3})[ \t]*(?:,|\d|$))", rest)
            if (
                seat
                and not re.match(r"(?:Company|Corporation|COMPANY|CORPORATION)\b", match.group(0))
                and (seat.group(1) or "").lower() not in _CANONICAL_PLACE
            ):
                return match.end()
            continue
        if _ADDRESS_AFTER_SUFFIX.match(rest) or re.search(r"\d", rest):
            return match.end()
        if re.match(r"[ \t]{3,}", text[match.end() : rest_start]) and not _SUFFIX_TAIL.match(rest + " x"):
            return match.end()  # the next column of a multi-column layout
    return end


# "Acme Lubricants, Anaheim, Calif.": a city and a state (or country) after the name are its address.
_CITY_STATE_TAIL = re.compile(
    r",[ \t]+[A-Z][\w.\-]*(?:[ \t]+[A-Z][\w.\-]*){0,2},[ \t]+(?:"
    + "|".join(re.escape(s) for s in sorted(_US_STATES, key=len, reverse=True))
    + r"|Calif|Cal|Tex|Fla|Mass|Penn|Wash|Ariz|Colo|Conn|Ill|Ind|Mich|Minn|Ore|Wis|Va|N\.\s?Y|N\.\s?J"
    r"|[A-Z]{2}|U\.?S\.?A|Canada|England|China|Japan|Germany|France|Israel|India)\.?[ \t]*$"
)


_ACTING_FOR = re.compile(
    r"(?:(?<![ \t])|(?=,)),?[ \t]+(?:the[ \t]+|its[ \t]+)?"
    r"(?:director|president|chief[ \t]+executive[ \t]+officer|ceo|owner|founder|"
    r"managing[ \t]+director|general[ \t]+manager|managing[ \t]+member|sole[ \t]+proprietor|principal|"
    r"authori[sz]ed[ \t]+representative|legal[ \t]+representative|chairman)[ \t]+(?:of|for)[ \t]+(?=[A-Z])",
    re.IGNORECASE,
)


def _name_from_piece(text: str, start: int, end: int) -> tuple[int, int] | None:
    piece = text[start:end]
    prefix = _ENUM_PREFIX.match(piece)
    offset = prefix.end() if prefix else 0
    lower_the = _LEADING_LOWER_THE.match(piece, offset)
    if lower_the:
        offset = lower_the.end()
    article = re.match(r"(?:A|An|AN)\s+(?=[A-Z][\w&.\-]*\s+)", piece[offset:])
    if article and _CORP_END.search(_NAME_STOP.split(piece[offset:], 1)[0].strip(" ,")):
        offset += article.end()  # "A Cypress Trading Company to be formed by ..."
    body = piece[offset:]
    stop = _NAME_STOP.search(body)
    cut = stop.start() if stop else len(body)
    upper = _UPPER_STOP.search(body)
    if upper and upper.start() < cut:
        cut = upper.start()
    name_start, name_end = start + offset, start + offset + cut
    name_end = _cut_after_suffix(text, name_start, name_end)
    city = _CITY_STATE_TAIL.search(text, name_start, name_end)
    if city:
        name_end = city.start()
    # "NAME, (address)" or a name running into a second line of description.
    name_start, name_end = _clean_name(text, name_start, name_end)
    if name_end <= name_start:
        return None
    if not _is_name(text[name_start:name_end]):
        return None
    # "Jane Roe, director of Acme Web Ltd. (hereinafter "Company")": the person signs for the company.
    acting = _ACTING_FOR.match(text, name_end, end)
    if acting and not _CORP_END.search(text[name_start:name_end]):
        company = _name_from_piece(text, acting.end(), end)
        if company:
            return company
    return name_start, name_end


# After a period, text that still belongs to the party list ("Acme Corp. ("Acme") ...",
# "... Israel. Hereinafter referred to as ...", "... Japan. And Beta Ltd. ...").
_CONTINUATION = re.compile(
    r"\s+(?:\(|[\"\u201c]|(?:hereinafter|herein|and|&)\b(?!\s+(?:whereas|now|the\s+parties)\b))",
    re.IGNORECASE,
)


def _sentence_end(text: str, start: int, end: int) -> int | None:
    """Position of the first sentence-ending period in ``text[start:end]`` (abbreviations skipped)."""
    for match in _SENTENCE_END.finditer(text, start, end):
        word = re.search(r"([\w&]+)$", text[max(start, match.start() - 12) : match.start()])
        token = word.group(1) if word else ""
        if token and ((len(token) <= 3 and token[0].isupper()) or token.lower() in _ABBREVIATIONS):
            continue
        if re.fullmatch(r"\d{1,2}", token) and re.search(
            r"(?:^|\n)[ \t]*\d{1,2}$", text[start : match.start()]
        ):
            continue  # an enumerator at the start of a line ("1. Acme Corp.")
        if _CONTINUATION.match(text, match.start() + 1):
            continue
        return match.start()
    return None


# "... no agency relationship between Acme and Beta", "disputes between the parties": a clause about
# the parties, not the preamble that names them.
_NOT_PREAMBLE_BEFORE = re.compile(
    r"\b(?:relationships?|partnership|joint\s+venture|agency|disputes?|differences|controversy|conflicts?|"
    r"communications?|negotiations|discussions|relations|transactions|correspondence|or|nor)[ \t\n]+\Z",
    re.IGNORECASE,
)


def _preamble_segments(text: str, begin: int, head_end: int) -> list[tuple[int, int, int, bool]]:
    """Candidate party lists after "between" / "among" / "made by".

    Each is (start, end at the first sentence end, end at the recitals, strong cue): a period
    inside an address ("... Port Vila. AND Beta Ltd.") may end the sentence too early.
    """
    found: list[tuple[int, int, int, bool]] = []
    for trigger in _PREAMBLE_TRIGGER.finditer(text, begin, head_end):
        if len(found) >= _MAX_SEGMENTS:
            break
        before = text[max(0, trigger.start() - 400) : trigger.start()]
        if not _PREAMBLE_CONTEXT.search(before) or _NOT_PREAMBLE_BEFORE.search(before):
            continue
        after = text[trigger.end() : trigger.end() + 40]
        if not _SEGMENT_START.match(after):
            continue
        seg_start = trigger.end()
        limit = min(len(text), seg_start + 3000)
        end_match = _SEGMENT_END.search(text, seg_start, limit)
        # "AND\n\n2. Beta Ltd." continues a numbered list of parties.
        while end_match and re.search(r"\b(?:and|AND|And)\s*:?\s*$", text[seg_start : end_match.start()]):
            end_match = _SEGMENT_END.search(text, end_match.end(), limit)
        full_end = end_match.start() if end_match else limit
        sentence = _sentence_end(text, seg_start, full_end)
        seg_end = sentence + 1 if sentence is not None else full_end
        # "BETWEEN:" or "between" alone on its line after the title introduces the parties.
        heading = bool(
            re.match(
                r"[ \t]*(?:by\s+and\s+)?(?:between|among)[ \t]*:?[ \t]*\n",
                text[trigger.start() : trigger.end() + 1],
                re.I,
            )
        ) and bool(re.search(r"(?:^|\n)[ \t]*$", before))
        strong = (
            heading
            or trigger.group(0).lower().startswith(("by and", "entered", "made", "executed", "parties"))
            or bool(
                re.search(
                    r"(?:entered\s+into|made|dated|executed|is|effective)[^.;]{0,120}$", before, re.IGNORECASE
                )
            )
        )
        found.append((seg_start, seg_end, min(full_end, seg_start + 1500), strong))
    return found


_DEFINED_PARTY_RE = re.compile(
    r"(?P<name>(?:[A-Z0-9][\w&'\u2019.,\-/]*(?:[ \t]+|(?=\()))"
    r"(?:(?:[A-Z0-9&][\w&'\u2019.,\-/]*|of|and|the|de|for)[ \t]+){0,8}?)"
    r"\(\s*(?:the\s+|hereinafter\s+(?:referred\s+to\s+as\s+|called\s+)?(?:the\s+)?)?[\"\u201c]"
    r"(?P<short>[^\"\u201d\n]{2,40})[\"\u201d]"
)
_PARTY_DEFINITION = re.compile(
    r"\(\s*(?:the\s+|hereinafter\s+(?:referred\s+to\s+as\s+|called\s+)?(?:the\s+)?)?[\"\u201c]"
    r"[A-Z][^\"\u201d\n]{1,40}[\"\u201d]"
)
_SIGNATURE_NAME = re.compile(
    r"^[ \t]*(?P<name>[A-Z0-9][A-Z0-9&.,'\u2019\- ]{2,80}?"
    r"(?:INC|CORP|CORPORATION|COMPANY|LLC|L\.L\.C|LTD|LIMITED|LP|L\.P|PLC|GMBH|AG|S\.A|N\.V|B\.V|"
    r"TRUST|BANK|PARTNERS|HOLDINGS|GROUP)\.?)[ \t]*,?[ \t]*$",
    re.MULTILINE,
)


_SIGNATURE_COLUMNS = re.compile(
    r"^[ \t]*(?P<names>[A-Z0-9][A-Z0-9&.,'\-]*(?:[ \t]+[A-Z0-9&.,'\-]+)*[ \t]{3,}[A-Z0-9][A-Z0-9&.,'\-]*"
    r"(?:[ \t]+[A-Z0-9&.,'\-]+)*)[ \t]*\n(?:[ \t]*\n)?[ \t]*(?:BY|By)\b[ \t:]*[\-_]*[ \t]{3,}(?:BY|By)\b",
    re.MULTILINE,
)
_UNDERSIGNED = re.compile(r"\b(?:the\s+undersigned|each\s+party\s+hereto)\b", re.IGNORECASE)
_SIGNATURE_ZONE = 12000
_ENTITY_SUFFIX = (
    r"(?:Inc|Incorporated|Corp|Corporation|Company|Co|Ltd|Limited|LLC|L\.L\.C|LLP|L\.L\.P|LP|L\.P|"
    r"PLC|GmbH|AG|S\.A|N\.V|B\.V|S\.\s?[\u00c0A]\s?R\.L|S\.a\.r\.l|Trust|TRUST|Fund|FUND|Partners|PARTNERS|"
    r"INC|CORP|CORPORATION|COMPANY|LTD|LIMITED)\.?"
)
# A signatory: an entity name ending in a corporate word right before "By:" (or after "By:" when
# it acts for another: "By: Acme GP, LLC, its general partner"), or a person's name in capitals
# before a signature line.
# A capital letter, accented ones included ("DANIEL KŘETÍNSKÝ"); names are checked with str.isupper().
_CAPITAL = "[A-Z\u00c0-\u00d6\u00d8-\u00de\u0100-\u017f]"
_SIGNATORY = re.compile(
    r"(?:^|(?<=\n)|(?<=\)\s)|(?<=[a-z]\s)|(?<=\d\s)|(?<=\S\s\s)|(?<=:\s))[ \t]*"
    r"(?P<entity>(?:THE\s+|The\s+)?[A-Z][\w&'\u2019.\-/]*"
    r"(?:,?[ \t]+[\w&'\u2019.\-/()]+){0,9}?,?[ \t]+" + _ENTITY_SUFFIX + r")[ \t]*(?:\n[ \t]*)*"
    r"(?=By\s*:|/s/|\(Signature\))|"
    r"(?:^|(?<=\n)|(?<=\)\s)|(?<=[a-z]\s))[ \t]*"
    r"(?P<person>"
    + _CAPITAL
    + r"{2,}(?:[ \t]+[A-Z]\.)?(?:[ \t]+"
    + _CAPITAL
    + _CAPITAL
    + r"*[A-Z'\-]*){1,2})"
    r"[ \t]*(?:\n[ \t]*)*(?=By\s*:\s*/s/|/s/)|"
    # An individual's own signature: "/s/ Jane Q. Roe  Jane Q. Roe" (not "By: /s/ ..." for an entity).
    r"(?<!By:\s)(?<!By:)/s/[ \t]*(?P<signed>[A-Z][a-z]+(?:[ \t]+[A-Z]\.)?(?:[ \t]+[A-Z][a-z'\-]+){1,2})"
    r"(?=[ \t]+(?P=signed)\b)",
    re.MULTILINE,
)


_SIGNATURE_WORDS = re.compile(
    r"(?:Officer|President|Signatory|Secretary|Director|Manager|Esq|Title|Name|Date|Vice|Counsel|Treasurer|"
    r"Member|Trustee|Partner|Signature|amended|\(Date\)|\(Signature\)|\(Name/Title\)|\d[\d,./]*)\.?,?$"
)


def _signatory_start(text: str, start: int, end: int) -> int:
    """Start of a signatory name: the trailing run of name words (all capitals for a capitalized name)."""
    tokens = list(re.finditer(r"\S+", text[start:end]))
    if not tokens:
        return start
    # Capitalization of the name proper (the word before a short suffix such as "LP").
    proper = [
        t for t in tokens if not re.fullmatch(r"(?i:" + _SUFFIX_WORDS + r")\.?,?", t.group(0))
    ] or tokens
    probe = "".join(re.sub(r"[^A-Za-z\u00c0-\u024f]", "", t.group(0)) for t in proper[-3:])
    upper = probe.isupper()
    first = len(tokens) - 1
    for index in range(len(tokens) - 2, -1, -1):
        token = tokens[index].group(0)
        letters = re.sub(r"[^A-Za-z\u00c0-\u024f]", "", token)
        if _SIGNATURE_WORDS.match(token) or (upper and letters and not letters.isupper()):
            break
        if token.endswith((".", ":")) and len(letters) > 3 and not letters.isupper():
            break
        if not upper and letters and not (letters[0].isupper() or token in _SMALL_WORDS):
            break
        first = index
    return start + tokens[first].start()


# What follows a party's name in running text: a descriptor ("a Delaware corporation") or its
# defined short name ("(the "Adviser")").
_NAME_ANCHOR = re.compile(
    r"(?:(?<![ \t])|(?=,)),?[ \t]+(?:a|an)[ \t]+(?:[\w.\-]+[ \t]+){0,5}?"
    r"(?:corporation|company|partnership|limited|trust|bank|"
    r"association|entity|organi[sz]ation|statutory|corp)\b|"
    r"(?<![ \t])[ \t]*\(\s*"
    r"(?:the\s+|hereinafter\s+(?:referred\s+to\s+as\s+|called\s+)?(?:the\s+)?)?[\"\u201c]",
    re.IGNORECASE,
)


_DOCUMENT_WORD = re.compile(
    r"(?i:agreement|contract|amendment|addendum|license|licence|lease|copy|version|exhibit|schedule|annex|"
    r"appendix|confidential|draft)"
)


def _name_start_before(text: str, start: int, stop: int) -> int:
    """Start of the run of name words that ends at ``stop`` (not before ``start``)."""
    first = stop
    base = max(start, stop - 200)
    tokens = list(re.finditer(r"\S+", text[base:stop]))
    for count, token_match in enumerate(reversed(tokens)):
        if count >= 12:
            break
        token = token_match.group(0)
        gap = text[base + token_match.end() : first]
        if "\n" in gap or "    " in gap or "\t" in gap:
            break
        letters = token.strip(",.&'\u2019-") or token
        if _DOCUMENT_WORD.fullmatch(letters):
            break  # "... AGREEMENT   Acme, a Delaware corporation": the title ends before the name
        if token[-1] in ')];:"\u201d' or not letters.strip(",.'\u2019-"):
            break
        if (
            token.endswith(",")
            and first != stop
            and not re.match(_SUFFIX_WORDS + r"\b", text[first:stop], re.I)
        ):
            break  # a comma ends a clause ("2004, that ...") unless a suffix follows ("Acme, Inc.")
        lowered = letters.lower()
        if lowered in {"a", "an"}:
            break  # "... Inc., a Delaware corporation (the ...)": the descriptor, not a name
        if not (
            letters[0].isupper()
            or letters[0].isdigit()
            or lowered in _SMALL_WORDS
            or lowered in _LOWER_SUFFIX
            or re.match(r"[a-z]+[A-Z.]", letters)
        ):
            break
        first = base + token_match.start()
    while True:
        lead = re.match(r"(?:and|of|the|for|&|de|a|an|in|at|on|to)\s+", text[first:stop], re.IGNORECASE)
        if not lead or not lead.group(0).strip().islower():
            break
        first += lead.end()
    return first


def _entities_before_anchors(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Names inside running text: each right before a descriptor or a short-name definition.

    "... dated as of May 1, 2004, that ACME TRUST COMPANY, a statutory trust ..." and "... under which
    Acme Group, Inc., a Nevada corporation, authorizes ...": the words before the anchor back to a
    lower-case word, a closing parenthesis or quote, a line break or a wide gap are the name. A
    piece that ends in a corporate name ("... agree to the joint filing of Acme Fund, L.P.") gives
    that name.
    """
    anchors = [
        (m.start(), not m.group(0).lstrip(" \t").startswith("("))
        for m in _NAME_ANCHOR.finditer(text, start, end)
    ]
    tail = end
    while tail > start and text[tail - 1] in " \t\r\n,;:":
        tail -= 1
    if _CORP_END.search(text[max(start, tail - 20) : tail]) and all(a < tail for a, _ in anchors):
        anchors.append((tail, False))
    found: list[tuple[int, int]] = []
    for stop, described in anchors:
        if found and stop < found[-1][1] + 3:
            continue
        span = _clean_name(text, _name_start_before(text, start, stop), stop)
        if span[1] <= span[0]:
            continue
        name = text[span[0] : span[1]]
        if _is_name(name) and (described or _CORP_END.search(name) or _SUFFIX_TAIL.search(name + " x")):
            found.append(span)
    return found


# Short names of things that are not parties: laws, documents, plans, products.
_THING_SHORT = re.compile(
    r"\b(?:Law|Act|Agreement|Regulations?|Rules|Code|Plan|Contract|Statute|Treaty|Convention|Program|"
    r"Policy|Schedule|Exhibit|Appendix|Annex|Notes?|Debentures?|Securities|Shares|Stock|Units?|Property|"
    r"Premises|Territory|Term|Date)$",
    re.IGNORECASE,
)


_SERVICES_OF = re.compile(
    r"\b(?:agent\s+for|(?:for|furnishing)\s+(?:the\s+)?services\s+of|f/s/o|on\s+behalf\s+of)\s+"
    r"(?P<name>[A-Z][\w.\-'\u2019]*(?:[ \t]+[A-Z][\w.\-'\u2019]*){0,3})\s*"
    r"\(\s*(?:the\s+)?[\"\u201c](?P<short>[^\"\u201d\n]{2,30})[\"\u201d]"
)


def _parse_segment(text: str, seg_start: int, seg_end: int) -> list[tuple[Party, str]]:
    """Parties of one party list, each with the piece of text that described it."""
    parties: list[tuple[Party, str]] = []
    seen: set[str] = set()
    for a, b in _split_top_level(text[seg_start:seg_end]):
        piece_start, piece_end = seg_start + a, seg_start + b
        span = _name_from_piece(text, piece_start, piece_end)
        # Running text around the names ("... under which Acme, Inc., a Nevada corporation (...),
        # authorizes Beta LLC, a ..."): each name before a descriptor or a short-name definition.
        spans = [span] if span else _entities_before_anchors(text, piece_start, piece_end)
        for index, found in enumerate(spans):
            if span:
                described = text[piece_start:piece_end]
            else:
                following = spans[index + 1][0] if index + 1 < len(spans) else piece_end
                described = text[found[0] : following]
            name = text[found[0] : found[1]]
            key = re.sub(r"\W+", "", name.lower())
            if key in seen:
                continue
            seen.add(key)
            short = _short_name(described)
            if short and _THING_SHORT.search(short):
                continue  # '... Foreign Investment (the "Joint Venture Law")' names a law, not a party
            parties.append((Party(name, found[0], found[1], short, _role(short, described)), described))
            # 'Acme Speakers ("Agency") agent for Jane Roe ("Talent")': the person whose services are
            # furnished is a party too when defined by a role.
            for person in _SERVICES_OF.finditer(text, found[1], found[1] + len(described)):
                person_short = person.group("short").strip()
                person_key = re.sub(r"\W+", "", person.group("name").lower())
                if (
                    _ROLE_RE.fullmatch(person_short)
                    and person_key not in seen
                    and _is_name(person.group("name"))
                ):
                    seen.add(person_key)
                    role = _ROLE_WORDS[person_short.lower()]
                    party = Party(
                        person.group("name"), person.start("name"), person.end("name"), person_short, role
                    )
                    parties.append((party, person.group(0)))
        if not spans and parties and parties[-1][0].short_name is None:
            piece = text[piece_start:piece_end]
            short = _short_name(piece)
            if short:
                last, last_piece = parties[-1]
                party = Party(last.name, last.start, last.end, short, _role(short, piece) or last.role)
                parties[-1] = (party, last_piece + piece)
    return parties


_DESCRIPTOR = re.compile(
    r"(?:(?<!\s)|(?=,)),?\s+(?:an?\s+(?:[\w.\-]+\s+){0,5}?(?:corporation|company|partnership|individual|entity|bank|"
    r"association|trust|limited)|organi[sz]ed|incorporated|existing|having|located|residing|whose|"
    r"with\s+(?:its|a|an)\s+(?:principal|registered|office|address)|registered|"
    r"(?:hereinafter|herein)\b)",
    re.IGNORECASE,
)


def _party_quality(party: Party, piece: str, defined_elsewhere: set[str]) -> float:
    """How much a parsed party looks like a real party (a legal name with a descriptor)."""
    name = party.name
    words = re.findall(r"[\w&'\u2019.\-/]+", name)
    quality = 1.0
    if _CORP_END.search(name) or _SUFFIX_TAIL.search(name + " x"):
        quality += 1.5
    if _DESCRIPTOR.search(piece[piece.find(name[:20]) + len(name) :] if name[:20] in piece else piece):
        quality += 1.0
    if party.short_name:
        quality += 0.5
    if len(words) == 1 and not _full_name(name):
        lowered = name.lower().strip(".")
        if lowered in _ROLE_WORDS or lowered in defined_elsewhere or (name.isupper() and len(name) <= 6):
            quality = 0.2
    if len(words) > 9:
        quality -= 0.7
    if re.search(r"\b(?:and|or|between|without|with)\b", name) and not _CORP_END.search(name):
        quality -= 0.6
    return quality


def _segment_score(parties: list[tuple[Party, str]], strong: bool, defined: set[str]) -> float:
    if not parties:
        return 0.0
    score = sum(_party_quality(p, piece, defined) for p, piece in parties[:12])
    if len(parties) == 1:
        score *= 0.6
    return score + (1.0 if strong else 0.0)


def _definition_paragraph(text: str, head_end: int) -> tuple[int, int] | None:
    """The first paragraph that defines a party's short name (preambles without "between")."""
    for match in _PARTY_DEFINITION.finditer(text, 0, head_end):
        para_break = text.rfind("\n\n", 0, match.start())
        para_start = para_break + 2 if para_break >= 0 else 0
        prefix = text[para_start : match.start()]
        if re.match(r"\s*(?:WHEREAS|\d+\.|Section|ARTICLE)", prefix, re.IGNORECASE):
            continue
        para_end = text.find("\n\n", match.end(), match.end() + 3000)
        if para_end < 0 or para_end - para_start > 3000:
            para_end = min(len(text), para_start + 3000)
        cut = _SEGMENT_END.search(text, match.end(), para_end)
        end = cut.start() if cut else para_end
        sentence = _sentence_end(text, match.end(), end)
        return para_start, sentence + 1 if sentence is not None else end
    return None


def _short_fits(short: str, name: str) -> bool:
    """A defined name that plausibly names a party: a role word, a word of the name, or initials."""
    if _ROLE_RE.fullmatch(short.strip()):
        return True
    name_words = [w for w in re.findall(r"[A-Za-z0-9]+", name.lower()) if w not in _SMALL_WORDS]
    short_words = re.findall(r"[A-Za-z0-9]+", short.lower())
    if any(w in name_words for w in short_words if len(w) > 2):
        return True
    initials = "".join(w[0] for w in name_words)
    compact = "".join(short_words)
    return len(compact) >= 2 and initials.startswith(compact)


_LABELED_PARTY = re.compile(
    # At the start of a line, after a wide gap or after a sentence ("... Platform. Party A: Acme Ltd.").
    r"(?:(?<=\s)(?:Party|PARTY)[ \t]+[A-Z1-9]\b|"
    # A memorandum's or confirmation's header ("To: Acme Bank ... From: Beta AG").
    r"(?:^|(?<=\n)|(?<=\n[ \t]))(?:To|TO|From|FROM)(?=[ \t]*:)|"
    r"(?:^|(?<=\n)|(?<=\s\s)|(?<=[.;:]\s))(?:Between|BETWEEN|And|AND|"
    r"(?:[Tt]he\s+|THE\s+)?(?i:Licensor|Licensee|Supplier|Buyer|Seller|Purchaser|Customer|Distributor|Company|"
    r"Consultant|Contractor|Client|Vendor|Manufacturer|Franchisor|Franchisee|Covenanter|Provider|"
    r"Party\s+of\s+the\s+(?:first|second)\s+part|Sponsor|Reseller)(?:[ \t]*/[ \t]*[A-Za-z][\w\-]*)?))"
    # "Company Name:", "Reseller Full Legal Name Acme Ltd."
    r"(?:[ \t]+(?:Full[ \t]+)?(?:Legal[ \t]+)?(?:Name|NAME)[ \t]*[:\uff1a]?|"
    r"[ \t]*(?:\([^)\n]{1,30}\))?[ \t]*[:\uff1a])[ \t]*(?:\n[ \t]*){0,3}"
    # "SPONSOR:   Name: Acme Grill   Phone: ..."
    r"(?:(?:Name|NAME)[ \t]*:[ \t]*)?"
    r"(?=(?P<rest>[^\n]{2,300}))"
)
# A form's role column in capitals without a colon ("SHIPPER   ACME PETROLEUM LIMITED"): the name in
# capitals must end in a corporate suffix on the same line.
_CAPS_ROLE_LABEL = re.compile(
    r"(?:^|(?<=\n)|(?<=\n[ \t]))(?:LICENSOR|LICENSEE|SUPPLIER|BUYER|SELLER|PURCHASER|CUSTOMER|DISTRIBUTOR|"
    r"CONSULTANT|CONTRACTOR|CLIENT|VENDOR|MANUFACTURER|SPONSOR|RESELLER|SENDER|SHIPPER|CARRIER|CONSIGNEE|"
    r"LESSOR|LESSEE|LANDLORD|TENANT|LENDER|BORROWER)[ \t]+"
    r"(?=(?P<rest>[A-Z][A-Z0-9&.,'\- ]{1,80}?(?:INC|CORP|CORPORATION|COMPANY|LLC|LTD|LIMITED|PLC|GMBH|AG|"
    r"S\.\s?A|N\.V|B\.V)\.?)[ \t]*(?:\n|$|[ \t]{2,}))"
)
# The next field of a form after the name ("Acme Ltd. Legal Representative: ...", "Acme Grill Phone: ...").
_NEXT_FIELD = re.compile(
    r"(?<![ \t])[ \t]+"
    r"(?:(?:Legal|Authori[sz]ed|Business|Marketing|Company|Registered|Office|Mailing|Principal)[ \t]+)?"
    r"(?:Representative|Address|ADD|ADDRESS|Tel|Telephone|Phone|Fax|E-?mail|Contact|Attn|Attention|Signatory|Title|"
    r"Website|Web[ \t]+Site|Tax[ \t]+ID|Legal[ \t]+Representative)\b[^:\n\uff1a]{0,10}[:\uff1a]",
    re.IGNORECASE,
)


def _labeled_parties(text: str, head_end: int) -> list[tuple[Party, str]]:
    """Parties introduced by a label: "Party A: Acme Co., Ltd.", "Between: ... And: ...", "Licensor: ..."."""
    parties: list[tuple[Party, str]] = []
    seen: set[str] = set()
    labels = [*_LABELED_PARTY.finditer(text, 0, head_end), *_CAPS_ROLE_LABEL.finditer(text, 0, head_end)]
    for match in sorted(labels, key=lambda m: m.start()):
        label = match.start() + len(match.group(0)) - len(match.group(0).lstrip())
        if re.search(r"(?:^|\s)[a-z][\w\-]*,?[ \t]+\Z", text[max(0, label - 30) : label]):
            continue  # "... operated by Party A: ..." mentions a party in a sentence
        start = match.start("rest")
        line_end = match.end("rest")
        following = _LABELED_PARTY.search(text, start, line_end)
        if following:
            line_end = following.start()
        gap = re.search(r"\s{3,}|\t", text[start:line_end])
        end = start + gap.start() if gap else line_end
        field = _NEXT_FIELD.search(text, start - 1, end)
        if field and field.start() <= start:
            continue  # an empty field ("Seller:   Address: ...")
        if field:
            end = field.start()
        span = _name_from_piece(text, start, end)
        if not span:
            continue
        key = re.sub(r"\W+", "", text[span[0] : span[1]].lower())
        if key in seen:
            continue
        seen.add(key)
        piece = text[start:line_end]
        short = _short_name(piece)
        party = Party(text[span[0] : span[1]], span[0], span[1], short, _role(short, piece))
        parties.append((party, piece))
        if len(parties) >= 8:
            break
    return parties


def _defined_names(text: str, head_end: int) -> set[str]:
    """Lower-cased short names defined in the opening text ("Supplier", "SDBF", ...)."""
    names: set[str] = set()
    for match in _QUOTED.finditer(text, 0, head_end):
        value = match.group(1).strip(" ,.").lower()
        if 0 < len(value) <= 40:
            names.add(re.sub(r"^the\s+", "", value))
    return names


def _best_list(text: str, begin: int, head_end: int, defined: set[str]) -> tuple[float, list[Party]]:
    best_score = 0.0
    best: list[Party] = []
    candidates: list[tuple[list[tuple[Party, str]], bool]] = []
    for seg_start, seg_end, full_end, strong in _preamble_segments(text, begin, head_end):
        parsed = _parse_segment(text, seg_start, seg_end)
        if len(parsed) < 2 and full_end > seg_end:
            longer = _parse_segment(text, seg_start, full_end)
            known = {p.name for p, _ in parsed}
            extra = [(p, piece) for p, piece in longer if p.name not in known]
            # Only well-formed parties (a corporate suffix and a descriptor) may come from past the period.
            if (
                len(longer) >= 2
                and extra
                and all(_party_quality(p, pc, defined) >= 3.0 for p, pc in extra[:3])
            ):
                parsed = longer
        candidates.append((parsed, strong))
    paragraph = _definition_paragraph(text, head_end) if begin == 0 else None
    if paragraph:
        candidates.append((_parse_segment(text, *paragraph), False))
    if begin == 0:
        candidates.append((_labeled_parties(text, head_end), True))
    for rank, (parsed, strong) in enumerate(candidates):
        if not strong and all(_party_quality(p, piece, defined) < 2.5 for p, piece in parsed):
            continue  # "... between 3 cable Segments. (c) Cable Landing Point: ...": no party-like name
        score = _segment_score(parsed, strong, defined) - 0.05 * rank
        if strong and score >= _GOOD_LIST:
            # The first credible party list is the preamble; later lists mention the parties again.
            return score, _prune_weak(parsed, defined)
        if score > best_score:
            best_score, best = score, _prune_weak(parsed, defined)
    return best_score, best


def _prune_weak(parsed: list[tuple[Party, str]], defined: set[str]) -> list[Party]:
    """Drop bare phrases that trail a list of well-formed parties.

    "... between Acme S.A. (hereinafter ORION) and Beta Corporation (hereinafter BETA) for the Customer
    Support and Software Maintenance": a name without a corporate suffix, descriptor or short name
    next to two complete parties is a phrase of the sentence, not a party.
    """
    quality = [_party_quality(p, piece, defined) for p, piece in parsed]
    complete = [index for index, q in enumerate(quality) if q >= 3.0]
    if len(complete) < 2:
        return [p for p, _ in parsed]
    return [p for index, (p, _) in enumerate(parsed) if index <= complete[-1] or quality[index] > 1.0]


def _short_definitions(text: str, head_end: int) -> dict[str, tuple[int, int]]:
    """Full names of the short names defined in the opening text: 'Acme Corp. ("Acme")' -> Acme."""
    found: dict[str, tuple[int, int]] = {}
    for match in _DEFINED_PARTY_RE.finditer(text, 0, head_end):
        short = re.sub(r"^the\s+", "", match.group("short").strip(" ,."), flags=re.IGNORECASE)
        if not short or short.lower() in _GENERIC_SHORT or short in found:
            continue
        span = _name_from_piece(text, match.start("name"), match.end("name"))
        if span and _CORP_END.search(text[span[0] : span[1]]) and _short_fits(short, text[span[0] : span[1]]):
            found[short] = span
    return found


def _full_name(name: str) -> bool:
    """A name with a corporate suffix that is more than the suffix ("the Corporation" is a short name)."""
    return bool(_CORP_END.search(name)) and len(re.findall(r"[\w&]+", name)) > 1


def _resolve_short_names(text: str, parties: list[Party], head_end: int) -> list[Party]:
    """Replace defined short names in a party list by the full names defined in the opening text.

    "by and among PSS, PSS Merger Corp. and GSMS" lists parties by the short names given earlier
    ("Physician Sales & Service, Inc. ("PSS")"); a bare role word or another party's short name
    listed as a party is dropped.
    """
    if all(_full_name(p.name) for p in parties):
        return parties
    definitions = _short_definitions(text, head_end)
    expanded: list[Party] = []
    for party in parties:
        lead = re.match(r"([A-Z][\w&\-]*(?:\s+[A-Z][\w&\-]*)?),\s+(?=[A-Z])", party.name)
        tail = party.name[lead.end() :] if lead else ""
        if lead and lead.group(1) in definitions and _is_name(tail) and not _CORP_END.match(tail):
            first = lead.group(1)
            expanded.append(Party(first, party.start, party.start + len(first), first, None))
            rest = party.start + lead.end()
            expanded.append(Party(text[rest : party.end], rest, party.end, party.short_name, party.role))
        else:
            expanded.append(party)
    shorts = {p.short_name.lower(): p.name for p in expanded if p.short_name}
    resolved: list[Party] = []
    seen: set[str] = set()
    for party in expanded:
        name = party.name.strip()
        span = definitions.get(name) if not _full_name(name) else None
        if span:
            full = text[span[0] : span[1]]
            party = Party(full, span[0], span[1], name, party.role or _role(name, ""))
        elif not _full_name(name) and (name.lower() in _ROLE_WORDS or shorts.get(name.lower(), name) != name):
            continue
        key = re.sub(r"\W+", "", party.name.lower())
        if key not in seen:
            seen.add(key)
            resolved.append(party)
    return resolved if len(resolved) >= 1 else parties


_SALUTATION = re.compile(
    r"(?:^|(?<=\n)|(?<=\s\s))(?:Dear\s+)?(?:(?:Ladies\s+and\s+)?Gentlemen|Sirs?|Madam|Sir\s+or\s+Madam)\s*[:,]",
    re.IGNORECASE,
)
_LINE_GAP = re.compile(r"[ \t]*\n\s*|[ \t]{2,}")
_LETTER_HEAD = 4000  # a letter agreement's salutation comes within its first page


def _letter_addressee(text: str) -> Party | None:
    """The company a letter agreement is addressed to ("Acme Securities Inc. 1 Main St ... Gentlemen:").

    The nearest line (or wide-gap column) above the salutation that begins with a corporate name;
    addresses, "Attention:" lines and captions ("As Sales Agent") are passed over.
    """
    salutation = _SALUTATION.search(text, 0, min(len(text), _LETTER_HEAD))
    if not salutation:
        return None
    block_start = max(0, salutation.start() - 600)
    chunks: list[tuple[int, int]] = []
    position = block_start
    for gap in _LINE_GAP.finditer(text, block_start, salutation.start()):
        if gap.start() > position:
            chunks.append((position, gap.start()))
        position = gap.end()
    if salutation.start() > position:
        chunks.append((position, salutation.start()))
    for start, end in reversed(chunks[-8:]):
        if re.match(r"(?i:attention|attn|c/o|re:|as\s)", text[start:end]):
            continue
        span = _name_from_piece(text, start, end)
        if span and (
            _full_name(text[span[0] : span[1]]) or _SUFFIX_TAIL.search(text[span[0] : span[1]] + " x")
        ):
            return Party(text[span[0] : span[1]], span[0], span[1], None, None)
    return None


# A preamble that names its parties only on the signature pages ("between and among the Parties
# signatory hereto", "... and each other party identified on the signature page hereto").
_SIGNATORIES_CUE = re.compile(
    r"\bpart(?:y|ies)\s+signatory\s+(?:hereto|to\s+this)|\bsignatories\s+(?:hereto|to\s+this)|"
    r"\b(?:identified|listed|named)\s+on\s+the\s+signature\s+pages?\b",
    re.IGNORECASE,
)
# "For and on behalf of Acme Telecom Ltd.    By: ..." in a signature block.
_ON_BEHALF = re.compile(
    r"(?:^|(?<=\n)|(?<=[ \t]{2}))(?i:for\s+and\s+on\s+behalf\s+of|on\s+behalf\s+of)[ \t]*:?[ \t]*"
    r"(?P<name>[A-Za-z0-9][^\n]{1,120}?)[ \t,]*(?=[ \t]{3,}|\n|By\s*:|$)"
)


_EXECUTION_ZONE = 20000
_EXECUTION = re.compile(
    r"(?i:signed|executed)(?:[ \t,]+(?i:sealed))?(?:[ \t,]+(?i:and)[ \t]+(?i:delivered))?[ \t]+"
    r"(?:(?i:for[ \t]+and[ \t]+on[ \t]+behalf[ \t]+of|on[ \t]+behalf[ \t]+of|by|for)[ \t]+)"
    r"(?P<name>[A-Z][^\n]{1,100}?)"
    r"(?=[ \t]+(?i:by|acting|through|in[ \t]+the[ \t]+presence)\b|[ \t]*(?:\)|\n|$))"
)


def _signatories(text: str, zone: int) -> list[tuple[int, int]]:
    """Names of the signatories from ``zone`` on: entities before "By:", "For and on behalf of X",
    persons in capitals above a signature, and individuals' own "/s/ Jane Roe  Jane Roe"."""
    found: list[tuple[int, int]] = []
    for match in _SIGNATORY.finditer(text, zone):
        group = next(g for g in ("entity", "person", "signed") if match.group(g))
        if group == "person" and not match.group(group).isupper():
            continue
        begin = match.start(group)
        if group != "signed":
            begin = _signatory_start(text, match.start(group), match.end(group))
        for column in _signature_columns(text, begin, match.end(group)):
            found.append(_clean_name(text, *column))
    for match in _ON_BEHALF.finditer(text, zone):
        span = _name_from_piece(text, match.start("name"), match.end("name"))
        if span:
            found.append(span)
    kept: list[tuple[int, int]] = []
    for span in sorted(found, key=lambda s: (s[0], -s[1])):
        if span[1] <= span[0] or (kept and span[0] < kept[-1][1]):
            continue  # empty, or part of a longer name ("Media Group Ltd." in "Channel 9 Media Group Ltd.")
        if _is_name(text[span[0] : span[1]]):
            kept.append(span)
    return kept


def _parties(text: str) -> tuple[Party, ...]:
    head_end = min(len(text), _HEAD_CHARS)
    defined = _defined_names(text, head_end)
    score, best = _best_list(text, 0, head_end, defined)
    if score < 3.0 and len(text) > head_end:
        wide_end = min(len(text), _WIDE_HEAD_CHARS)
        wide_score, wide = _best_list(text, head_end - 200, wide_end, defined)
        if wide_score > score + 1.0:
            best = wide
    best = _resolve_short_names(text, best, head_end)
    # A letter's addressee, and parties named in a form's labelled fields ("Company Name: Acme Inc."
    # ... "between Beta Bank and the above-named Company"), complete a list that lacks them.
    extra = [_letter_addressee(text)]
    if len(best) < 2:
        extra += [p for p, _ in _labeled_parties(text, head_end)]
    if _SIGNATORIES_CUE.search(text, 0, head_end):
        witness = text.rfind("IN WITNESS WHEREOF")
        zone = witness if witness >= 0 else max(0, len(text) - _SIGNATURE_ZONE)
        for start, end in _signatories(text, zone)[:60]:
            extra.append(Party(text[start:end], start, end, None, None))
    for party in extra:
        if party and re.sub(r"\W+", "", party.name.lower()) not in {
            re.sub(r"\W+", "", p.name.lower()) for p in best
        }:
            best = [*best, party]
    if len(best) >= 2:
        return tuple(best)

    parties = list(best)
    seen = {re.sub(r"\W+", "", p.name.lower()) for p in parties}

    def add(start: int, end: int, piece: str) -> None:
        name = text[start:end]
        key = re.sub(r"\W+", "", name.lower())
        if not key or key in seen:
            return
        seen.add(key)
        short = _short_name(piece)
        parties.append(Party(name=name, start=start, end=end, short_name=short, role=_role(short, piece)))

    # Fallback 1: 'Name ("Short")' definitions in the opening text whose short name fits the name.
    for match in _DEFINED_PARTY_RE.finditer(text, 0, min(len(text), 4000)):
        short = match.group("short").strip()
        if short.lower() in _GENERIC_SHORT:
            continue
        span = _name_from_piece(text, match.start("name"), match.end("name"))
        if not span:
            continue
        name = text[span[0] : span[1]]
        # Defined terms abound ('Master Terms of Service ("MTS")'): only a corporate name or one
        # defined as a role ('Acme Tools ("Supplier")') is taken for a party.
        entity = _full_name(name) or bool(_SUFFIX_TAIL.search(name + " x")) or bool(_ROLE_RE.fullmatch(short))
        if entity and _short_fits(short, name):
            add(span[0], span[1], match.group(0))
    if len(parties) >= 2:
        return tuple(parties)

    # Fallback 2: "The undersigned hereby agree ..." (joint filing agreements and the like): the
    # parties are the signatories, each an entity name before "By:" or a person's name in capitals.
    if _UNDERSIGNED.search(text, 0, min(len(text), 3000)):
        for span in _signatories(text, max(0, len(text) - _SIGNATURE_ZONE))[:40]:
            add(span[0], span[1], "")
        if len(parties) >= 2:
            return tuple(parties)

    # Fallback 3: upper-case entity lines in the signature blocks.
    witness = text.rfind("IN WITNESS WHEREOF")
    if witness < 0:
        witness = max(0, len(text) - 6000)
    for match in _SIGNATURE_NAME.finditer(text, witness, min(len(text), witness + 6000)):
        for start, end in _signature_columns(text, match.start("name"), match.end("name")):
            span = _clean_name(text, start, end)
            if span[1] > span[0] and _is_name(text[span[0] : span[1]]):
                add(span[0], span[1], "")
    # Side-by-side blocks: a line of names in capitals above a line of "BY" captions, one per column
    # ("ACME TEST SYSTEMS, INC.        BETA TECHNICAL SERVICES" / "BY        BY").
    if len(parties) < 2:
        for match in _SIGNATURE_COLUMNS.finditer(text, witness, min(len(text), witness + 6000)):
            position = match.start("names")
            for gap in [*re.finditer(r"[ \t]{3,}", match.group("names")), None]:
                end = match.start("names") + gap.start() if gap else match.end("names")
                span = _clean_name(text, position, end)
                if (
                    span[1] > span[0]
                    and text[span[0] : span[1]].isupper()
                    and _is_name(text[span[0] : span[1]])
                ):
                    add(span[0], span[1], "")
                position = match.start("names") + gap.end() if gap else end
    # Entities right before "By:" ("Acceptance by Developer ACME SOFTWARE, Inc. By: /s/ ...").
    if len(parties) < 2:
        for start, end in _signatories(text, witness)[:12]:
            if _full_name(text[start:end]):
                add(start, end, "")
    # Execution clauses ("SIGNED SEALED AND DELIVERED by Acme Limited by its attorney ...", "Signed for
    # and on behalf of Beta (PNG) Limited by ...") near the end, schedules after them included.
    if len(parties) < 2:
        for match in _EXECUTION.finditer(text, max(0, len(text) - _EXECUTION_ZONE)):
            span = _name_from_piece(text, match.start("name"), match.end("name"))
            if span:
                add(span[0], span[1], "")
    return tuple(parties)


def _signature_columns(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Entity names on one line of side-by-side signature blocks ("ACME INC.      BETA CORP.").

    A column that is only a corporate word continues the previous one (a name wrapped across a
    wide gap); a column without a corporate suffix ("LICENSEE") is a caption, not a name.
    """
    columns: list[tuple[int, int]] = []
    position = start
    for gap in re.finditer(r"[ \t]{3,}", text[start:end]):
        columns.append((position, start + gap.start()))
        position = start + gap.end()
    columns.append((position, end))
    merged: list[tuple[int, int]] = []
    for column in columns:
        words = re.findall(r"[\w&]+", text[column[0] : column[1]])
        if merged and len(words) == 1 and _CORP_END.search(text[column[0] : column[1]]):
            merged[-1] = (merged[-1][0], column[1])
        else:
            merged.append(column)
    if len(merged) == 1:
        return merged
    return [c for c in merged if _CORP_END.search(text[c[0] : c[1]].rstrip(" ,"))]


def extract_parties(text: str) -> tuple[Party, ...]:
    try:
        return _parties(text)
    except Exception:  # noqa: BLE001 - a best-effort analyzer must not fail the pipeline
        return ()
