"""Retrieval as a process-wide service: the embedding model (loaded once, on first use), the dense
matrix cache and the hybrid retriever."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from legalai.analysis.clauses import ClauseModel
from legalai.retrieval.dense import DenseIndex, Embedder
from legalai.retrieval.hybrid import ClauseRanker, Retriever

if TYPE_CHECKING:
    from legalai.settings import Settings


def _default_clause_model() -> ClauseModel:
    from legalai.analysis.clauses import default_model

    return default_model()


@functools.cache
def _default_embedder() -> Embedder:
    """The packaged model, loaded once per process (every runtime of the process shares it)."""
    from legalai.retrieval.embedder import StaticEmbedder

    return StaticEmbedder.load()


class RetrievalService:
    def __init__(
        self,
        *,
        embed_in_pipeline: bool = True,
        max_cached_vectors: int = 400_000,
        pool: int = 50,
        load_embedder: Callable[[], Embedder] = _default_embedder,
        clause_reranking: bool = True,
        load_clause_model: Callable[[], ClauseModel] = _default_clause_model,
    ) -> None:
        self.clause_reranking = clause_reranking
        self._load_clause_model = load_clause_model
        self.embed_in_pipeline = embed_in_pipeline
        self.max_cached_vectors = max_cached_vectors
        self.pool = pool
        self._load_embedder = load_embedder
        self._embedder: Embedder | None = None
        self._retriever: Retriever | None = None
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> RetrievalService:
        return cls(
            embed_in_pipeline=settings.retrieval_embed_in_pipeline,
            max_cached_vectors=settings.retrieval_cache_vectors,
            pool=settings.retrieval_pool,
            clause_reranking=settings.retrieval_clause_reranking,
        )

    def embedder(self) -> Embedder:
        if self._embedder is None:
            with self._lock:
                if self._embedder is None:
                    self._embedder = self._load_embedder()
        return self._embedder

    @property
    def retriever(self) -> Retriever:
        if self._retriever is None:
            index = DenseIndex(self.embedder(), self.max_cached_vectors)
            clauses = (
                ClauseRanker(self._load_clause_model(), self.embedder()) if self.clause_reranking else None
            )
            with self._lock:
                if self._retriever is None:
                    self._retriever = Retriever(index, self.pool, clauses)
        return self._retriever
