"""Scoring key-term extraction against the CUAD labels (``cuad/labels.csv``).

Conventions follow ``shared/data/README.md``:

* **Governing law** - the predicted jurisdiction, normalized, must equal ``Governing Law-Answer``
  normalized the same way. Contracts whose answer is empty (or has no letters, e.g. a redaction
  ``[* * *]``) are skipped. Normalization (:func:`normalize_jurisdiction`, applied to both sides)
  case-folds, drops "State/Commonwealth/Province of", a trailing ", Canada" / ", United Kingdom" /
  ", Australia" qualifier, and treats "England and Wales" / "England; Wales" as "England" and
  "People's Republic of China" / "PRC" as "China". When an answer lists several jurisdictions
  (``"Illinois; New York"``, ``"Delaware, Illinois"``) a prediction equal to any one of them counts as
  correct: the extractor returns a single governing law by design.
* **Dates** - agreement, effective and expiration dates are compared as ISO dates with the answer
  (``M/D/YYYY``); rows whose answer is empty or not a complete date (``[]/[]/2020``, ``perpetual``)
  are skipped.
* **Parties** - set F1 between the predicted party names and the names in ``Parties-Answer`` per
  contract, averaged over the contracts that have at least one labelled name. The answer is split on
  ``;``; of each item the text before the first parenthesis is the name (a leading parenthesis is
  ignored, placeholders such as ``[]`` are dropped). Names on both sides go through
  :func:`normalize_party_name`: Unicode quotes/dashes unified, accents dropped, case-folded, dotted
  abbreviations undotted ("L.P." as "LP"), an alias introduced by
  "d/b/a" / "f/k/a" / "a/k/a" cut off, a leading "the" and trailing corporate suffixes (Inc, Corp,
  LLC, Ltd, ...) dropped, then everything but letters and digits removed. Answer items that only
  restate the parties collectively ("X and Y (each a "Party" ...)") are not names and are dropped.
"""

from __future__ import annotations

import csv
import re
import sys
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from legalai.analysis.keyterms import extract_key_terms
from legalai.analysis.types import KeyTerms

DATE_FIELDS = ("agreement_date", "effective_date", "expiration_date")
_DATE_COLUMNS = {
    "agreement_date": "Agreement Date-Answer",
    "effective_date": "Effective Date-Answer",
    "expiration_date": "Expiration Date-Answer",
}


def load_labels(labels_csv: Path | str) -> dict[str, dict[str, str]]:
    """Rows of ``labels.csv`` keyed by ``contract_file`` (every column kept as a string)."""
    # Some span cells are large; raise the csv field limit once.
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    with Path(labels_csv).open(encoding="utf-8", newline="") as handle:
        return {row["contract_file"]: dict(row) for row in csv.DictReader(handle)}


# --------------------------------------------------------------------------------------------
# Normalization shared by the gold and predicted sides
# --------------------------------------------------------------------------------------------

_QUOTES = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u201b": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u2010": "-",
        "\u2011": "-",
        "\u2012": "-",
        "\u2013": "-",
        "\u2014": "-",
        "\u00a0": " ",
    }
)
_CORP_SUFFIX = re.compile(
    r"(?:[\s,]+(?:incorporated|inc|corporation|corp|company|co|limited|ltd|llc|l\s*l\s*c|llp|l\s*l\s*p|"
    r"lp|l\s*p|plc|p\s*l\s*c|gmbh|ag|sa|s\s*a|bv|b\s*v|nv|n\s*v|pty|pte|ab|as|oy|spa|srl|"
    r"sarl|kk|pc|p\s*c)\.?)+\s*$"
)
# Dotted abbreviations ("L.P.", "S.A.", "L.L.C.") are compared undotted ("LP", "SA", "LLC").
_DOTTED = re.compile(r"\b(?:[a-z]\.){2,}(?![a-z])|\b[a-z]\.[a-z]\b")
_ALIAS = re.compile(r"[\s,]+(?:d/b/a|dba|f/k/a|fka|a/k/a|aka|doing business as|formerly known as)\b")
_LEADING_THE = re.compile(r"^the\s+")
_NON_ALNUM = re.compile(r"[\W_]+")


def normalize_party_name(name: str) -> str:
    """Comparable form of a party name (see module docstring); empty for placeholders."""
    # Accents are dropped ("Laboratórios" == "Laboratorios"): EDGAR texts and labels differ in them.
    text = unicodedata.normalize("NFKD", name.translate(_QUOTES))
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).casefold()
    text = _DOTTED.sub(lambda m: m.group(0).replace(".", ""), text)
    text = _ALIAS.split(text, 1)[0].strip(" \t\r\n,;:.\"'()[]")
    text = _LEADING_THE.sub("", text)
    text = re.sub(r"\s+", " ", text)
    previous = None
    while previous != text:
        previous = text
        text = _CORP_SUFFIX.sub("", text).rstrip(" ,.")
    return _NON_ALNUM.sub("", text)


_COLLECTIVE = re.compile(
    r"\b(?:collectively|together|individually|each|singularly|jointly)\b|\bparties\b", re.I
)


def parse_parties_answer(answer: str) -> list[str]:
    """Party names from a ``Parties-Answer`` cell: the text before each item's short name.

    Items that only restate the parties collectively ("X and Y (each a "Party" and collectively
    the "Parties")") are annotations, not parties, and are dropped.
    """
    names: list[str] = []
    for item in answer.translate(_QUOTES).split(";"):
        item = item.strip().lstrip("(").strip()
        name, _, rest = item.partition("(")
        name = name.split('"', 1)[0].strip(" ,")
        first_paren = rest.split(")", 1)[0]
        if _COLLECTIVE.search(first_paren) or _COLLECTIVE.search(name):
            continue
        if normalize_party_name(name):
            names.append(name)
    return names


_JURISDICTION_PREFIX = re.compile(r"^(?:the\s+)?(?:state|commonwealth|province|republic|kingdom)\s+of\s+")
_JURISDICTION_QUALIFIER = re.compile(
    r",\s*(?:canada|united kingdom|uk|australia|usa|u\.s\.a\.?|united states)$"
)
_JURISDICTION_ALIASES = {
    "england and wales": "england",
    "england & wales": "england",
    "wales": "england",
    "united kingdom": "england",
    "people's republic of china": "china",
    "peoples republic of china": "china",
    "prc": "china",
    "the prc": "china",
    "usa": "united states",
    "united states of america": "united states",
    "hong kong sar": "hong kong",
}


def normalize_jurisdiction(value: str) -> str:
    """Comparable form of one jurisdiction name (see module docstring)."""
    text = re.sub(r"\s+", " ", value.translate(_QUOTES).casefold()).strip(" .;,")
    text = _JURISDICTION_QUALIFIER.sub("", text).strip()
    text = _JURISDICTION_PREFIX.sub("", text).strip()
    return _JURISDICTION_ALIASES.get(text, text)


def gold_jurisdictions(answer: str) -> set[str]:
    """Acceptable normalized jurisdictions for a ``Governing Law-Answer`` cell (empty: skip)."""
    if not re.search(r"[A-Za-z]", answer):
        return set()
    text = answer.translate(_QUOTES)
    whole = normalize_jurisdiction(text.replace(";", " and "))
    options = {whole, normalize_jurisdiction(text)}
    for part in re.split(r";", text):
        options.add(normalize_jurisdiction(part))
        # "Delaware, Illinois" lists two states; "British Columbia, Canada" is one place.
        for piece in part.split(","):
            options.add(normalize_jurisdiction(piece))
    options.discard("")
    return options


def parse_answer_date(answer: str) -> str | None:
    """ISO date for an ``M/D/YYYY`` answer; None for empty, partial or non-date answers."""
    match = re.fullmatch(r"\s*(\d{1,2})/(\d{1,2})/(\d{4})\s*", answer)
    if not match:
        return None
    month, day, year = (int(g) for g in match.groups())
    try:
        return date(year, month, day).isoformat()
    except ValueError:
        return None


# --------------------------------------------------------------------------------------------
# Scores
# --------------------------------------------------------------------------------------------


@dataclass
class Mistake:
    contract: str
    field: str
    expected: str
    predicted: str


@dataclass
class KeyTermScores:
    governing_law: float = 0.0
    agreement_date: float = 0.0
    effective_date: float = 0.0
    expiration_date: float = 0.0
    parties_f1: float = 0.0
    n: dict[str, int] = field(default_factory=dict)  # contracts scored per field
    mistakes: list[Mistake] = field(default_factory=list)

    def summary(self) -> str:
        parts = [
            f"{name}={getattr(self, name):.3f} (n={self.n.get(name, 0)})"
            for name in ("governing_law", "agreement_date", "effective_date", "expiration_date", "parties_f1")
        ]
        return ", ".join(parts)


def _set_f1(predicted: Iterable[str], gold: Iterable[str]) -> float:
    pred = {p for p in (normalize_party_name(x) for x in predicted) if p}
    want = {g for g in (normalize_party_name(x) for x in gold) if g}
    if not pred or not want:
        return 0.0 if (pred or want) else 1.0
    hits = len(pred & want)
    if not hits:
        return 0.0
    precision, recall = hits / len(pred), hits / len(want)
    return 2 * precision * recall / (precision + recall)


def _date_value(terms: KeyTerms, kind: str) -> str | None:
    return next((d.value for d in terms.dates if d.kind == kind), None)


def score_key_terms(
    contracts_dir: Path,
    labels_csv: Path,
    extract: Callable[[str], KeyTerms] = extract_key_terms,
) -> KeyTermScores:
    """Run ``extract`` on every labelled contract found in ``contracts_dir`` and score it."""
    labels = load_labels(labels_csv)
    hits: dict[str, float] = {name: 0.0 for name in (*DATE_FIELDS, "governing_law", "parties_f1")}
    counts: dict[str, int] = dict.fromkeys(hits, 0)
    mistakes: list[Mistake] = []
    for contract, row in sorted(labels.items()):
        path = Path(contracts_dir) / contract
        if not path.is_file():
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        terms = extract(text)

        gold_law = gold_jurisdictions(row.get("Governing Law-Answer", ""))
        if gold_law:
            counts["governing_law"] += 1
            predicted_law = terms.governing_law.jurisdiction if terms.governing_law else ""
            if normalize_jurisdiction(predicted_law) in gold_law:
                hits["governing_law"] += 1
            else:
                mistakes.append(
                    Mistake(contract, "governing_law", row["Governing Law-Answer"], predicted_law)
                )

        for kind in DATE_FIELDS:
            gold_date = parse_answer_date(row.get(_DATE_COLUMNS[kind], ""))
            if gold_date is None:
                continue
            counts[kind] += 1
            predicted_date = _date_value(terms, kind)
            if predicted_date == gold_date:
                hits[kind] += 1
            else:
                mistakes.append(Mistake(contract, kind, gold_date, str(predicted_date)))

        gold_parties = parse_parties_answer(row.get("Parties-Answer", ""))
        if gold_parties:
            counts["parties_f1"] += 1
            names = [p.name for p in terms.parties]
            f1 = _set_f1(names, gold_parties)
            hits["parties_f1"] += f1
            if f1 < 1.0:
                mistakes.append(Mistake(contract, "parties", " | ".join(gold_parties), " | ".join(names)))

    scores = KeyTermScores(n=counts, mistakes=mistakes)
    for name, total in hits.items():
        setattr(scores, name, total / counts[name] if counts[name] else 0.0)
    return scores
