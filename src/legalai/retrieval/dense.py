"""Dense retrieval: a matter's chunk vectors as one matrix, cached per process.

Vectors are computed by the embedding stage that follows processing and stored on the chunk rows
(both engines, no vector extension needed). At query time the current versions' vectors of a
matter are loaded once into a float32 matrix and kept while the matter's set of chunks is
unchanged (a cheap signature query tells). Chunks that have no vector for the current model (the
embedding stage has not run yet or failed, documents processed before an upgrade) are embedded on
demand and written back.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from sqlalchemy import Select, func, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from legalai.accounts.principal import Principal
from legalai.documents.models import Chunk, Document
from legalai.documents.repository import DocumentFilter, apply_filter
from legalai.observability.logging import get_logger

log = get_logger(__name__)

BACKFILL_BATCH = 512


class Embedder(Protocol):
    @property
    def version(self) -> str: ...

    @property
    def dim(self) -> int: ...

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...


def encode_vectors(vectors: np.ndarray) -> list[bytes]:
    """Rows as little-endian float16 bytes: the stored format of ``Chunk.embedding``."""
    data = np.asarray(vectors, dtype="<f2")
    return [row.tobytes() for row in data]


def decode_vectors(blobs: Sequence[bytes], dim: int) -> np.ndarray:
    if not blobs:
        return np.zeros((0, dim), dtype=np.float32)
    joined = b"".join(blobs)
    return np.frombuffer(joined, dtype="<f2").reshape(len(blobs), dim).astype(np.float32)


@dataclass
class _Entry:
    signature: tuple[int, int]
    ids: np.ndarray  # chunk ids, int64
    matrix: np.ndarray  # (n, dim) float32


def _is_empty(flt: DocumentFilter) -> bool:
    return not any(
        (
            flt.document_id,
            flt.status,
            flt.kind,
            flt.path_prefix,
            flt.filename,
            flt.created_from,
            flt.created_to,
        )
    )


class DenseIndex:
    """Per-process cache of matter matrices, bounded by the total number of vectors held."""

    def __init__(self, embedder: Embedder, max_vectors: int = 400_000) -> None:
        self.embedder = embedder
        self.max_vectors = max_vectors
        self._entries: OrderedDict[tuple[str, str], _Entry] = OrderedDict()
        self._lock = threading.Lock()

    def _current(self, principal: Principal, matter_id: str) -> Select[int]:
        return (
            select(Chunk.id)
            .join(
                Document,
                (Document.id == Chunk.document_id) & (Document.current_version_id == Chunk.version_id),
            )
            .where(
                Chunk.organization_id == principal.organization_id,
                Chunk.matter_id == matter_id,
                Document.organization_id == principal.organization_id,
                Document.matter_id == matter_id,
            )
        )

    def _signature(self, session: Session, principal: Principal, matter_id: str) -> tuple[int, int]:
        sub = self._current(principal, matter_id).subquery()
        count, top = session.execute(select(func.count(), func.max(sub.c.id))).one()
        return int(count or 0), int(top or 0)

    def backfill(
        self, session: Session, principal: Principal, matter_id: str, limit: int | None = None
    ) -> int:
        """Embed and store vectors for the matter's current chunks that have none of this model
        (e.g. `legalai` tools after a model upgrade); returns how many were written."""
        model = self.embedder.version
        done = 0
        while limit is None or done < limit:
            rows = session.execute(
                self._current(principal, matter_id)
                .add_columns(Chunk.text)
                .where(Chunk.embedding_model.is_(None) | (Chunk.embedding_model != model))
                .order_by(Chunk.id)
                .limit(BACKFILL_BATCH)
            ).all()
            if not rows:
                break
            self._store(session, [r.id for r in rows], self.embedder.embed([r.text for r in rows]))
            done += len(rows)
        return done

    def _store(self, session: Session, ids: Sequence[int], vectors: np.ndarray) -> None:
        blobs = encode_vectors(vectors)
        model = self.embedder.version
        session.execute(
            update(Chunk),
            [
                {"id": cid, "embedding": b, "embedding_model": model}
                for cid, b in zip(ids, blobs, strict=True)
            ],
        )

    def _load(self, session: Session, principal: Principal, matter_id: str) -> _Entry:
        key = (principal.organization_id, matter_id)
        signature = self._signature(session, principal, matter_id)
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and entry.signature == signature:
                self._entries.move_to_end(key)
                return entry
        model = self.embedder.version
        rows = session.execute(
            self._current(principal, matter_id)
            .add_columns(Chunk.embedding, Chunk.embedding_model)
            .order_by(Chunk.id)
        ).all()
        ids = np.fromiter((r.id for r in rows), dtype=np.int64, count=len(rows))
        matrix = np.zeros((len(rows), self.embedder.dim), dtype=np.float32)
        stale = [i for i, r in enumerate(rows) if r.embedding_model != model or r.embedding is None]
        stale_set = set(stale)
        fresh = [i for i in range(len(rows)) if i not in stale_set]
        if fresh:
            matrix[fresh] = decode_vectors([rows[i].embedding for i in fresh], self.embedder.dim)
        if stale:
            matrix[stale] = self._embed_missing(session, [int(ids[i]) for i in stale], matter_id)
        entry = _Entry(signature, ids, matrix)
        with self._lock:
            self._entries[key] = entry
            self._entries.move_to_end(key)
            held = sum(len(e.ids) for e in self._entries.values())
            while held > self.max_vectors and len(self._entries) > 1:
                _, dropped = self._entries.popitem(last=False)
                held -= len(dropped.ids)
        return entry

    def _embed_missing(self, session: Session, ids: list[int], matter_id: str) -> np.ndarray:
        """Vectors for chunks processed without one (or by an older model): computed now, used at
        once, and written back in a transaction of their own so the caller's stays read-only (a
        write there would hold SQLite's lock while, say, an AI provider is called)."""
        out = np.zeros((len(ids), self.embedder.dim), dtype=np.float32)
        for lo in range(0, len(ids), BACKFILL_BATCH):
            batch = ids[lo : lo + BACKFILL_BATCH]
            texts = dict(
                (cid, text)
                for cid, text in session.execute(select(Chunk.id, Chunk.text).where(Chunk.id.in_(batch)))
            )
            out[lo : lo + len(batch)] = self.embedder.embed([texts.get(cid, "") for cid in batch])
        try:
            with Session(bind=session.get_bind()) as own, own.begin():
                for lo in range(0, len(ids), BACKFILL_BATCH):
                    self._store(own, ids[lo : lo + BACKFILL_BATCH], out[lo : lo + BACKFILL_BATCH])
        except SQLAlchemyError as exc:  # a read-only replica, a busy lock: vectors come next time
            log.warning("retrieval.backfill_not_saved", matter_id=matter_id, error=str(exc))
        else:
            log.info(
                "retrieval.backfilled", matter_id=matter_id, chunks=len(ids), model=self.embedder.version
            )
        return out

    def search(
        self,
        session: Session,
        principal: Principal,
        matter_id: str,
        query_vector: np.ndarray,
        filters: DocumentFilter | None = None,
        *,
        limit: int = 50,
    ) -> list[tuple[int, float]]:
        """(chunk id, cosine similarity) of the best chunks, best first."""
        entry = self._load(session, principal, matter_id)
        if not len(entry.ids):
            return []
        scores = entry.matrix @ query_vector.astype(np.float32)
        flt = filters or DocumentFilter()
        if not _is_empty(flt):
            allowed_stmt = apply_filter(self._current(principal, matter_id), flt)
            allowed = np.fromiter(session.scalars(allowed_stmt), dtype=np.int64)
            mask = np.isin(entry.ids, allowed)
            scores = np.where(mask, scores, -np.inf)
        k = min(limit, len(scores))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(int(entry.ids[i]), float(scores[i])) for i in top if np.isfinite(scores[i])]

    def invalidate(self, organization_id: str, matter_id: str) -> None:
        with self._lock:
            self._entries.pop((organization_id, matter_id), None)
