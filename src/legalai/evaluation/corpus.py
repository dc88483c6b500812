"""Load plain-text documents straight into a matter (evaluation and benchmarks).

The rows are the ones the processing pipeline writes for a one-page text document (document,
version, page, chunks with vectors, full-text index), through the same chunker and the same
``insert_chunks``, so retrieval and answers are measured on the code that serves users; only
upload, blob storage and extraction are skipped.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import insert
from sqlalchemy.orm import Session, sessionmaker

from legalai.accounts.models import Organization
from legalai.accounts.principal import Principal
from legalai.documents.chunking import chunk_pages
from legalai.documents.models import Document, DocumentVersion, Page, ProcessingStatus
from legalai.kit.db import new_id, transaction
from legalai.matters.models import Matter
from legalai.retrieval.dense import Embedder
from legalai.retrieval.indexing import embed_spans, insert_chunks


@dataclass
class Corpus:
    principal: Principal
    matter_id: str
    document_ids: dict[str, str]  # file name -> document id
    chunks: int


def read_texts(folder: Path, names: list[str] | None = None) -> dict[str, str]:
    files = [folder / n for n in names] if names is not None else sorted(folder.glob("*.txt"))
    return {f.name: f.read_text(encoding="utf-8", errors="replace") for f in files if f.is_file()}


def load_corpus(
    sessions: sessionmaker[Session],
    texts: dict[str, str],
    *,
    embedder: Embedder | None,
    chunk_chars: int = 1200,
    overlap: int = 150,
    matter_name: str = "evaluation",
) -> Corpus:
    org_id, matter_id = new_id(), new_id()
    with transaction(sessions) as session:
        session.add(Organization(id=org_id, name=matter_name, slug=f"{matter_name}-{org_id[:8]}"))
        session.flush()
        session.add(Matter(id=matter_id, organization_id=org_id, name=matter_name))
        session.flush()
    document_ids: dict[str, str] = {}
    total = 0
    batch = list(texts.items())
    for lo in range(0, len(batch), 50):
        with transaction(sessions) as session:
            for name, text in batch[lo : lo + 50]:
                document_ids[name] = _add(
                    session, org_id, matter_id, name, text, embedder, chunk_chars, overlap
                )
                total += len(chunk_pages([(1, text)], chunk_chars, overlap))
    return Corpus(Principal(organization_id=org_id), matter_id, document_ids, total)


def _add(
    session: Session,
    org_id: str,
    matter_id: str,
    name: str,
    text: str,
    embedder: Embedder | None,
    chunk_chars: int,
    overlap: int,
) -> str:
    raw = text.encode("utf-8")
    doc_id, version_id = new_id(), new_id()
    ready = ProcessingStatus.ready.value
    session.add(
        Document(
            id=doc_id,
            organization_id=org_id,
            matter_id=matter_id,
            filename=name,
            path="",
            current_version_id=version_id,
            status=ready,
            kind="text",
        )
    )
    session.flush()
    version = DocumentVersion(
        id=version_id,
        document_id=doc_id,
        organization_id=org_id,
        matter_id=matter_id,
        number=1,
        sha256=hashlib.sha256(raw).hexdigest(),
        size_bytes=len(raw),
        kind="text",
        media_type="text/plain",
        blob_key="",
        status=ready,
        page_count=1,
    )
    session.add(version)
    session.flush()
    session.execute(insert(Page), [{"version_id": version_id, "number": 1, "text": text, "ocr": False}])
    page_text = {1: text}
    spans = chunk_pages([(1, text)], chunk_chars, overlap)
    vectors = embed_spans(embedder, page_text, spans) if embedder is not None else None
    insert_chunks(session, version, page_text, spans, vectors, embedder.version if embedder else None)
    return doc_id
