from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine.default import DefaultExecutionContext
from sqlalchemy.orm import Mapped, mapped_column

from legalai.kit.db import Base, BigIntPK, Timestamps, UUIDPk, utcnow


class ProcessingStatus(enum.StrEnum):
    queued = "queued"
    processing = "processing"
    ready = "ready"
    failed = "failed"


ORIGINAL_NAME_CHARS = 512  # a PostgreSQL index entry stays under its ~2.7 KB limit even in 4-byte UTF-8


def _original_name_default(context: DefaultExecutionContext) -> str | None:
    """Rows made without an original name (e-mail attachments) were named by us: the name is it."""
    parameters: dict[str, object] = context.get_current_parameters()  # type: ignore[no-untyped-call]
    name = parameters.get("filename")
    return name if isinstance(name, str) else None


class Stage(enum.StrEnum):
    """Follow-up stages of a ready (searchable) version, each its own job."""

    analysis = "analysis"
    embedding = "embedding"


class StageStatus(enum.StrEnum):
    pending = "pending"  # waiting for its job
    running = "running"  # claimed by a worker under a lease
    done = "done"
    failed = "failed"  # ``error`` says why; the document stays ready
    skipped = "skipped"  # switched off, nothing to do, or the version was superseded


STAGE_FINISHED = (StageStatus.done.value, StageStatus.failed.value, StageStatus.skipped.value)


class Document(UUIDPk, Timestamps, Base):
    """A logical document in a matter. Its content lives in versions; the current one is served.

    ``filename`` is the safe name that is stored and shown; ``original_name`` is the name the user
    gave, and a new upload is a new version of this document only when the user's name is the same
    (see :func:`legalai.documents.service.ingest_files`).
    """

    __tablename__ = "documents"
    __table_args__ = (
        Index("ix_documents_matter_path_name", "matter_id", "path", "filename"),
        Index("ix_documents_matter_created", "matter_id", "created_at"),
        Index("ix_documents_matter_original", "matter_id", "original_name"),
    )

    organization_id: Mapped[str] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False, index=True
    )
    matter_id: Mapped[str] = mapped_column(ForeignKey("matters.id", ondelete="CASCADE"), nullable=False)
    # E-mail attachments point to the e-mail they came with.
    parent_id: Mapped[str | None] = mapped_column(
        ForeignKey("documents.id", ondelete="CASCADE"), nullable=True, index=True
    )
    filename: Mapped[str] = mapped_column(String(255), nullable=False)
    # Folder inside an uploaded archive ("" for top level), '/'-separated.
    path: Mapped[str] = mapped_column(String(1024), nullable=False, default="")
    # The name as uploaded, before sanitizing (legalai.documents.intake.original_name_of): the client's
    # file name as sent (it may hold directories: "../../etc/passwd"), an archive entry's path inside
    # the archive, a file's path under the folder given to the CLI. Invisible characters are written
    # out as <U+202E>, so it is safe to show. NULL only on rows made before it existed.
    original_name: Mapped[str | None] = mapped_column(
        String(ORIGINAL_NAME_CHARS), nullable=True, default=_original_name_default
    )
    current_version_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    # Denormalized from the current version for listing and filtering.
    status: Mapped[str] = mapped_column(String(16), nullable=False, default=ProcessingStatus.queued.value)
    kind: Mapped[str] = mapped_column(String(32), nullable=False, default="")
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class DocumentName(Base):
    """Another name the same content was uploaded under (deduplicated: no version, no processing)."""

    __tablename__ = "document_names"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    document_id: Mapped[str] = mapped_column(
        ForeignKey("documents.id", ondelete="CASCADE"), nullable=False, index=True
    )
    filename: Mapped[str] = mapped_column(String(255), nullable=False)
    path: Mapped[str] = mapped_column(String(1024), nullable=False, default="")
    original_name: Mapped[str] = mapped_column(String(ORIGINAL_NAME_CHARS), nullable=False)
    request_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, nullable=False)


class DocumentVersion(UUIDPk, Timestamps, Base):
    """One uploaded content of a document, identified by its SHA-256."""

    __tablename__ = "document_versions"
    __table_args__ = (
        UniqueConstraint("document_id", "number", name="uq_document_versions_doc_number"),
        Index("ix_document_versions_matter_sha", "matter_id", "sha256"),
        Index("ix_document_versions_status", "status"),
    )

    document_id: Mapped[str] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"), nullable=False)
    organization_id: Mapped[str] = mapped_column(String(32), nullable=False)
    matter_id: Mapped[str] = mapped_column(String(32), nullable=False)
    number: Mapped[int] = mapped_column(Integer, nullable=False)
    sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    size_bytes: Mapped[int] = mapped_column(BigInteger, nullable=False)
    # Format decided by content: pdf, docx, text, html, email, image.
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    media_type: Mapped[str] = mapped_column(String(100), nullable=False)
    blob_key: Mapped[str] = mapped_column(String(200), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default=ProcessingStatus.queued.value)
    failure_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    page_count: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # Per-stage wall times in milliseconds, e.g. {"extract": 120.5, "chunk": 3.1, "index": 8.0}.
    timings: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
    # Metadata found in the file (title, author, e-mail headers, ...).
    extracted_metadata: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    lease_owner: Mapped[str | None] = mapped_column(String(64), nullable=True)
    lease_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    request_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    processed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # Last change of the row (status, lease): how long a queued version has waited (the sweeper's
    # grace). NULL only for rows older than the column.
    updated_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), nullable=True, default=utcnow, onupdate=utcnow
    )


class VersionStage(Base):
    """One follow-up stage (analysis, embedding) of a version: created ``pending`` (or ``skipped``)
    when the version becomes ready, then claimed, run and finished by its own job, like the
    processing job itself (lease, idempotent finish). A failed stage never fails the document."""

    __tablename__ = "version_stages"
    __table_args__ = (Index("ix_version_stages_status", "status"),)

    version_id: Mapped[str] = mapped_column(
        ForeignKey("document_versions.id", ondelete="CASCADE"), primary_key=True
    )
    stage: Mapped[str] = mapped_column(String(16), primary_key=True)
    organization_id: Mapped[str] = mapped_column(String(32), nullable=False)
    matter_id: Mapped[str] = mapped_column(String(32), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default=StageStatus.pending.value)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    lease_owner: Mapped[str | None] = mapped_column(String(64), nullable=True)
    lease_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    duration_ms: Mapped[float | None] = mapped_column(Float, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, default=utcnow, onupdate=utcnow
    )


class Page(Base):
    __tablename__ = "pages"
    __table_args__ = (UniqueConstraint("version_id", "number", name="uq_pages_version_number"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    version_id: Mapped[str] = mapped_column(
        ForeignKey("document_versions.id", ondelete="CASCADE"), nullable=False
    )
    number: Mapped[int] = mapped_column(Integer, nullable=False)  # 1-based
    text: Mapped[str] = mapped_column(Text, nullable=False)
    ocr: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)


class Chunk(Base):
    """A retrieval unit: ``text == page.text[start:end]`` of one page."""

    __tablename__ = "chunks"
    __table_args__ = (
        UniqueConstraint("version_id", "ordinal", name="uq_chunks_version_ordinal"),
        Index("ix_chunks_matter", "organization_id", "matter_id"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    version_id: Mapped[str] = mapped_column(
        ForeignKey("document_versions.id", ondelete="CASCADE"), nullable=False
    )
    document_id: Mapped[str] = mapped_column(String(32), nullable=False, index=True)
    organization_id: Mapped[str] = mapped_column(String(32), nullable=False)
    matter_id: Mapped[str] = mapped_column(String(32), nullable=False)
    ordinal: Mapped[int] = mapped_column(Integer, nullable=False)
    page_number: Mapped[int] = mapped_column(Integer, nullable=False)
    start: Mapped[int] = mapped_column(Integer, nullable=False)
    end: Mapped[int] = mapped_column(Integer, nullable=False)
    text: Mapped[str] = mapped_column(Text, nullable=False)
    # Dense vector of ``text`` (legalai.retrieval.embedder byte format) and the model that made it;
    # NULL until embedded. Vectors of another model version are recomputed on demand.
    embedding: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True, deferred=True)
    embedding_model: Mapped[str | None] = mapped_column(String(64), nullable=True)


class ProcessingEvent(Base):
    """Processing history of a version: every stage start, finish, retry and failure."""

    __tablename__ = "processing_events"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    version_id: Mapped[str] = mapped_column(
        ForeignKey("document_versions.id", ondelete="CASCADE"), nullable=False, index=True
    )
    stage: Mapped[str] = mapped_column(String(32), nullable=False)
    outcome: Mapped[str] = mapped_column(String(16), nullable=False)
    message: Mapped[str] = mapped_column(Text, nullable=False, default="")
    duration_ms: Mapped[float | None] = mapped_column(nullable=True)
    worker: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, nullable=False)
