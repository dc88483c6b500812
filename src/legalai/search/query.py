"""The search query language, parsed once and rendered for each full-text engine.

    indemnif*                prefix
    "limitation of liability" phrase
    termination -convenience  exclude a term
    arbitration OR mediation  either
    (anything else)          all terms must match

Only word characters reach the engines: user input can never inject operators.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from functools import lru_cache

import snowballstemmer

from legalai.kit.errors import InvalidInput

_TOKEN = re.compile(r'(-?)"([^"]*)"|(\S+)')
_WORD = re.compile(r"\w+", re.UNICODE)
# A Snowball stemmer keeps the word being stemmed in its own fields: one instance per thread, or
# two requests stemming at once corrupt each other's words (IndexError, wrong stems).
_STEMMERS = threading.local()
MAX_QUERY_CHARS = 500
MAX_TERMS = 32


@dataclass(frozen=True)
class Term:
    words: tuple[str, ...]  # lower-cased; several words form a phrase
    prefix: bool = False
    negated: bool = False

    @property
    def is_phrase(self) -> bool:
        return len(self.words) > 1


@dataclass
class Query:
    # Disjunction of conjunctions: [[a, b], [c]] means (a AND b) OR c.
    groups: list[list[Term]] = field(default_factory=list)

    @property
    def positive_terms(self) -> list[Term]:
        return [t for g in self.groups for t in g if not t.negated]


def parse(text: str) -> Query:
    text = text.strip()
    if not text:
        raise InvalidInput("The search query is empty")
    if len(text) > MAX_QUERY_CHARS:
        raise InvalidInput(f"The search query is longer than {MAX_QUERY_CHARS} characters")
    groups: list[list[Term]] = [[]]
    count = 0
    for m in _TOKEN.finditer(text):
        if m.group(3) == "OR":
            if groups[-1]:
                groups.append([])
            continue
        term = _term(m)
        if term is None:
            continue
        count += 1
        if count > MAX_TERMS:
            raise InvalidInput(f"The search query has more than {MAX_TERMS} terms")
        groups[-1].append(term)
    groups = [g for g in groups if any(not t.negated for t in g)]
    if not groups:
        raise InvalidInput("The search query has no searchable words")
    return Query(groups)


def _term(m: re.Match[str]) -> Term | None:
    if m.group(2) is not None:
        words = tuple(w.lower() for w in _WORD.findall(m.group(2)))
        return Term(words, negated=bool(m.group(1))) if words else None
    raw = m.group(3)
    negated = raw.startswith("-") and len(raw) > 1
    prefix = raw.endswith("*")
    words = tuple(w.lower() for w in _WORD.findall(raw))
    if not words:
        return None
    if len(words) > 1:  # "non-compete", "U.S.C." behave as phrases
        return Term(words, negated=negated)
    return Term(words, prefix=prefix, negated=negated)


def _stemmer() -> snowballstemmer.Stemmer:
    stemmer: snowballstemmer.Stemmer | None = getattr(_STEMMERS, "english", None)
    if stemmer is None:
        stemmer = _STEMMERS.english = snowballstemmer.stemmer("english")
    return stemmer


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    return str(_stemmer().stemWord(word.lower()))


# ---- engines --------------------------------------------------------------------------------------


def to_fts5(query: Query) -> str:
    """SQLite FTS5 MATCH syntax (every word quoted; the porter tokenizer stems both sides)."""

    def term(t: Term) -> str:
        quoted = '"' + " ".join(t.words) + '"'
        return quoted + ("*" if t.prefix else "")

    rendered = []
    for group in query.groups:
        positive = " AND ".join(term(t) for t in group if not t.negated)
        negative = "".join(f" NOT {term(t)}" for t in group if t.negated)
        rendered.append(f"({positive}{negative})")
    return " OR ".join(rendered)


def to_tsquery(query: Query) -> str:
    """PostgreSQL to_tsquery('english', ...) syntax; words are plain \\w+ so no escaping is needed."""

    def term(t: Term) -> str:
        body = " <-> ".join(t.words) if t.is_phrase else t.words[0] + (":*" if t.prefix else "")
        body = f"({body})" if t.is_phrase else body
        return f"!{body}" if t.negated else body

    return " | ".join("(" + " & ".join(term(t) for t in group) + ")" for group in query.groups)
