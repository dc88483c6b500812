"""Offline answers: the best passages, with the sentences that answer the question picked out.

Nothing is generated: every statement is a sentence of a document, verbatim, cited by its exact
page span, and the answer is labelled as extracted. Sentences are scored by the question's content
words they contain (stemmed, weighted by how rare the word is among the retrieved passages),
plus a small bonus for the passage's retrieval rank.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from legalai.retrieval.hybrid import Passage
from legalai.retrieval.terms import question_terms
from legalai.search.query import stem

_SENTENCE_END = re.compile(
    r"(?<=[.;:!?])[\"')\]]?\s+(?=[\"'(\[]?[A-Z0-9(])|\n\s*\n|\n(?=\s*\(?[0-9a-zA-Z]{1,3}[.)]\s)"
)
_WORD = re.compile(r"\w+")
MAX_SENTENCE_CHARS = 700
MIN_SENTENCE_CHARS = 25


@dataclass
class Extract:
    passage: Passage
    start: int  # page offsets of the chosen sentence(s)
    end: int
    text: str  # page_text[start:end] == passage.text[start - passage.start : end - passage.start]
    score: float
    highlights: list[tuple[int, int]]  # page offsets of question words inside the sentence


def sentences(text: str) -> list[tuple[int, int]]:
    """Sentence-ish spans of ``text`` (trimmed, never empty); long ones cut at a space."""
    spans: list[tuple[int, int]] = []
    pos = 0
    for m in _SENTENCE_END.finditer(text):
        spans.extend(_pieces(text, pos, m.start() if text[m.start() : m.end()].isspace() else m.end()))
        pos = m.end()
    spans.extend(_pieces(text, pos, len(text)))
    return spans


def _pieces(text: str, start: int, end: int) -> list[tuple[int, int]]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    out = []
    while end - start > MAX_SENTENCE_CHARS:
        cut = text.rfind(" ", start + MAX_SENTENCE_CHARS // 2, start + MAX_SENTENCE_CHARS)
        cut = cut if cut > start else start + MAX_SENTENCE_CHARS
        out.append((start, cut))
        start = cut + 1 if text[cut : cut + 1] == " " else cut
    if end > start:
        out.append((start, end))
    return out


SentenceScorer = Callable[[str, list[str]], "np.ndarray | None"]
CLAUSE_SENTENCE_WEIGHT = 3.0
MIN_CLAUSE = 0.3  # clause-model score (probability x router confidence) that alone makes a sentence relevant


def extract(
    question: str,
    passages: Sequence[Passage],
    max_statements: int = 3,
    scorer: SentenceScorer | None = None,
) -> list[Extract]:
    """The best sentence of each of the first ``max_statements`` passages. ``scorer`` (the clause
    model, for a question about a clause category) adds how much each sentence reads like that
    clause, so "may it be assigned?" picks the assignment sentence, not the one naming the deal."""
    terms = {stem(t) for t in question_terms(question)}
    df: Counter[str] = Counter()
    for p in passages:
        df.update({stem(w.lower()) for w in _WORD.findall(p.text)} & terms)
    n = max(1, len(passages))
    weight = {t: math.log(1 + n / (1 + df[t])) + 0.1 for t in terms}
    found: list[Extract] = []
    for rank, p in enumerate(passages[:max_statements]):
        best: Extract | None = None
        spans = [
            (s, e) for s, e in sentences(p.text) if e - s >= MIN_SENTENCE_CHARS or (s, e) == (0, len(p.text))
        ]
        clause = scorer(question, [p.text[s:e] for s, e in spans]) if scorer is not None and spans else None
        for i, (s, e) in enumerate(spans):
            words = [
                (m.start() + s, m.end() + s, stem(m.group().lower())) for m in _WORD.finditer(p.text[s:e])
            ]
            hit_terms = {w for _, _, w in words if w in terms}
            score = sum(weight[t] for t in hit_terms) + 1.0 / (2 + rank)
            if clause is not None:
                score += CLAUSE_SENTENCE_WEIGHT * float(clause[i])
            if best is None or score > best.score:
                best = Extract(
                    passage=p,
                    start=p.start + s,
                    end=p.start + e,
                    text=p.text[s:e],
                    score=score,
                    highlights=[(p.start + a, p.start + b) for a, b, w in words if w in terms],
                )
        if best is None:
            continue
        # Past the best passage, a sentence must show some sign of answering: a question word, or
        # a clause-model reading of the asked-about clause (else it is noise under the answer).
        relevant = (
            bool(best.highlights) or best.score - 1.0 / (2 + rank) >= CLAUSE_SENTENCE_WEIGHT * MIN_CLAUSE
        )
        if not found or relevant:
            found.append(best)
    return found  # in retrieval order: the passage ranking is the better signal
