"""Hybrid retrieval over a matter: full-text ranks and dense ranks fused by reciprocal rank fusion.

Both retrievers see only current versions of documents in a matter the principal may read (the
matter check raises 404 otherwise) and honour the same document filters as search. Every passage is
a stored chunk, so it cites (document, page, start, end) with ``page.text[start:end] == text``.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from legalai.accounts.principal import Principal
from legalai.analysis.clauses import ClauseModel
from legalai.documents.models import Chunk, Document
from legalai.documents.repository import DocumentFilter
from legalai.matters.repository import MatterRepository
from legalai.retrieval.dense import DenseIndex, Embedder
from legalai.retrieval.intent import IntentRouter
from legalai.retrieval.terms import question_terms
from legalai.search.lexical import search_parsed
from legalai.search.query import Query, Term

Mode = Literal["lexical", "dense", "hybrid"]
MODES: tuple[Mode, ...] = ("lexical", "dense", "hybrid")
RRF_K = 60
# Weight of the clause model's ranking in the fusion, times the router's confidence.
CLAUSE_WEIGHT = 12.0
MIN_INTENT_CONFIDENCE = 0.2


@dataclass
class Passage:
    chunk_id: int
    document_id: str
    filename: str
    path: str
    page: int
    start: int
    end: int
    text: str
    score: float
    ranks: dict[str, int] = field(default_factory=dict)  # retriever -> 1-based rank


def question_query(question: str) -> Query | None:
    """Any-word query (OR) of the question's content words; ranking does the rest."""
    terms = question_terms(question)
    if not terms:
        return None
    return Query([[Term((t,))] for t in terms])


def fuse(
    rankings: dict[str, list[int]], weights: dict[str, float] | None = None, k: int = RRF_K
) -> list[tuple[int, float, dict[str, int]]]:
    """(Weighted) reciprocal rank fusion of several best-first id lists."""
    scores: dict[int, float] = {}
    ranks: dict[int, dict[str, int]] = {}
    for name, ids in rankings.items():
        weight = (weights or {}).get(name, 1.0)
        for rank, cid in enumerate(ids, start=1):
            scores[cid] = scores.get(cid, 0.0) + weight / (k + rank)
            ranks.setdefault(cid, {})[name] = rank
    ordered = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))
    return [(cid, score, ranks[cid]) for cid, score in ordered]


class PassageLogits:
    """The clause model's logits of passages, remembered by their text (a bounded LRU).

    Questions about a matter keep ranking the same stored chunks; featurizing a passage costs
    far more than looking it up. Keyed by a digest of the text, so an edited or re-chunked
    passage is scored afresh and a chunk id reused by the database cannot return stale logits.
    """

    def __init__(self, model: ClauseModel, max_entries: int = 32_768) -> None:
        self.model = model
        self.max_entries = max_entries
        self._cache: OrderedDict[bytes, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    @staticmethod
    def _key(text: str) -> bytes:
        return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        keys = [self._key(t) for t in texts]
        out = np.empty((len(texts), len(self.model.categories)), dtype=np.float32)
        missing: list[int] = []
        with self._lock:
            for i, key in enumerate(keys):
                row = self._cache.get(key)
                if row is None:
                    missing.append(i)
                else:
                    self._cache.move_to_end(key)
                    out[i] = row
            self.hits += len(texts) - len(missing)
            self.misses += len(missing)
        if missing:
            fresh = self.model.passage_logits([texts[i] for i in missing])
            out[missing] = fresh
            with self._lock:
                for i, row in zip(missing, fresh, strict=True):
                    self._cache[keys[i]] = row.copy()
                while len(self._cache) > self.max_entries:
                    self._cache.popitem(last=False)
        return out

    def __len__(self) -> int:
        return len(self._cache)


class ClauseRanker:
    """Ranks candidate passages by the clause model's probability for the question's categories."""

    def __init__(self, model: ClauseModel, embedder: Embedder | None) -> None:
        self.model = model
        self.router = IntentRouter(model, embedder)
        self.logits = PassageLogits(model)

    def scores(self, question: str, texts: list[str]) -> np.ndarray | None:
        """Per text, the clause model's probability for the question's categories (None when the
        question is about no category with enough confidence)."""
        intent = self.router.route(question)
        if intent.confidence < MIN_INTENT_CONFIDENCE or not texts:
            return None
        logits = self.logits(texts)
        prob = 1.0 / (1.0 + np.exp(-np.clip(logits, -30, 30)))
        out: np.ndarray = (prob @ intent.weights) * intent.confidence
        return out

    def rank(self, question: str, candidates: dict[int, str]) -> tuple[list[int], float]:
        intent = self.router.route(question)
        if intent.confidence < MIN_INTENT_CONFIDENCE or not candidates:
            return [], intent.confidence
        ids = list(candidates)
        logits = self.logits([candidates[i] for i in ids])
        prob = 1.0 / (1.0 + np.exp(-np.clip(logits, -30, 30)))
        score = prob @ intent.weights
        order = np.argsort(-score, kind="stable")
        return [ids[i] for i in order], intent.confidence


class Retriever:
    def __init__(self, dense: DenseIndex, pool: int = 50, clauses: ClauseRanker | None = None) -> None:
        self.dense = dense
        self.pool = pool
        self.clauses = clauses

    def retrieve(
        self,
        session: Session,
        principal: Principal,
        matter_id: str,
        question: str,
        filters: DocumentFilter | None = None,
        *,
        limit: int = 5,
        mode: Mode = "hybrid",
        clauses: ClauseRanker | None = None,
    ) -> list[Passage]:
        """Best passages for ``question``. ``hybrid`` fuses lexical and dense ranks and, when the
        question is about a clause category, the clause model's ranking of those candidates."""
        MatterRepository(session, principal).get(matter_id)  # 404 unless visible
        flt = filters or DocumentFilter()
        rankings: dict[str, list[int]] = {}
        texts: dict[int, str] = {}
        if mode in ("lexical", "hybrid"):
            query = question_query(question)
            hits = (
                search_parsed(session, principal, matter_id, query, flt, limit=self.pool, highlight=False)
                if query
                else []
            )
            rankings["lexical"] = [h.chunk_id for h in hits]
            texts.update((h.chunk_id, h.text) for h in hits)
        if mode in ("dense", "hybrid"):
            vector = self.dense.embedder.embed([question])[0]
            found = self.dense.search(session, principal, matter_id, vector, flt, limit=self.pool)
            rankings["dense"] = [cid for cid, _ in found]
        weights: dict[str, float] = {}
        ranker = clauses or self.clauses
        if mode == "hybrid" and ranker is not None:
            missing = [cid for cid in rankings["dense"] if cid not in texts]
            if missing:
                rows = session.execute(select(Chunk.id, Chunk.text).where(Chunk.id.in_(missing)))
                texts.update((cid, text) for cid, text in rows)
            order, confidence = ranker.rank(question, texts)
            if order:
                rankings["clause"] = order
                weights["clause"] = CLAUSE_WEIGHT * confidence
        fused = fuse(rankings, weights)[:limit]
        return self._passages(session, principal, fused)

    def _passages(
        self, session: Session, principal: Principal, fused: list[tuple[int, float, dict[str, int]]]
    ) -> list[Passage]:
        if not fused:
            return []
        rows = session.execute(
            select(Chunk, Document)
            .join(Document, Document.id == Chunk.document_id)
            .where(
                Chunk.id.in_([cid for cid, _, _ in fused]),
                Chunk.organization_id == principal.organization_id,
            )
        ).all()
        by_id = {chunk.id: (chunk, doc) for chunk, doc in rows}
        passages = []
        for cid, score, ranks in fused:
            if cid not in by_id:
                continue
            chunk, doc = by_id[cid]
            passages.append(
                Passage(
                    chunk_id=cid,
                    document_id=doc.id,
                    filename=doc.filename,
                    path=doc.path,
                    page=chunk.page_number,
                    start=chunk.start,
                    end=chunk.end,
                    text=chunk.text,
                    score=score,
                    ranks=ranks,
                )
            )
        return passages
