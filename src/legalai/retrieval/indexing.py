"""Writing a version's chunks, with their dense vectors, in one statement (pipeline and tools)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import insert
from sqlalchemy.orm import Session

from legalai.documents.chunking import ChunkSpan
from legalai.documents.models import Chunk, DocumentVersion
from legalai.retrieval.dense import Embedder, encode_vectors
from legalai.search.lexical import index_chunks


def embed_spans(embedder: Embedder, page_text: dict[int, str], spans: Sequence[ChunkSpan]) -> list[bytes]:
    """Stored-format vectors of the chunks' texts, in order."""
    if not spans:
        return []
    texts = [page_text[s.page_number][s.start : s.end] for s in spans]
    return encode_vectors(embedder.embed(texts))


def insert_chunks(
    session: Session,
    version: DocumentVersion,
    page_text: dict[int, str],
    spans: Sequence[ChunkSpan],
    vectors: Sequence[bytes] | None = None,
    model: str | None = None,
) -> None:
    """Insert the chunks of ``version`` (and their vectors when given) and add them to the FTS index."""
    if vectors is not None and len(vectors) != len(spans):
        raise ValueError("one vector per chunk is needed")
    if spans:
        session.execute(
            insert(Chunk),
            [
                {
                    "version_id": version.id,
                    "document_id": version.document_id,
                    "organization_id": version.organization_id,
                    "matter_id": version.matter_id,
                    "ordinal": i,
                    "page_number": s.page_number,
                    "start": s.start,
                    "end": s.end,
                    "text": page_text[s.page_number][s.start : s.end],
                    "embedding": vectors[i] if vectors is not None else None,
                    "embedding_model": model if vectors is not None else None,
                }
                for i, s in enumerate(spans)
            ],
        )
    index_chunks(session, version.id)
