from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from legalai.kit.schemas import UtcDateTime


class VersionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    number: int
    sha256: str
    size_bytes: int
    kind: str
    media_type: str
    status: str
    failure_reason: str | None
    page_count: int | None
    timings: dict[str, float]
    attempts: int
    created_at: UtcDateTime
    processed_at: UtcDateTime | None
    # Follow-up stages of a ready version (see DocumentOut); None before the version is ready.
    analysis_status: str | None = None
    analysis_error: str | None = None
    embedding_status: str | None = None
    embedding_error: str | None = None


class DocumentNameOut(BaseModel):
    """Another name the document's content was uploaded under."""

    model_config = ConfigDict(from_attributes=True)

    filename: str
    path: str
    original_name: str
    created_at: UtcDateTime


class DocumentOut(BaseModel):
    id: str
    matter_id: str
    parent_id: str | None
    filename: str
    path: str
    # The name as uploaded (directories a client sent, an archive entry's path; invisible characters
    # written as <U+202E>); versions are decided by it. ``filename`` is the safe name shown.
    # The API always fills it ("" only where a DocumentOut is built by hand).
    original_name: str = ""
    # Other names the same content was uploaded under (deduplicated, not stored again).
    additional_names: list[DocumentNameOut] = []
    kind: str
    status: str
    failure_reason: str | None = None
    page_count: int | None = None
    version: int | None = None
    size_bytes: int | None = None
    timings: dict[str, float] = {}
    metadata: dict[str, Any] = {}
    # ``status`` ready means searchable (pages, chunks, full-text index). Analysis and embedding
    # follow as stages of their own: pending, running, done, failed (``*_error`` says why; the
    # document stays ready) or skipped (switched off, nothing to do). Questions asked before the
    # embedding stage is done still work: missing vectors are computed on demand.
    analysis_status: str | None = None
    analysis_error: str | None = None
    embedding_status: str | None = None
    embedding_error: str | None = None
    created_at: UtcDateTime
    updated_at: UtcDateTime


class DocumentList(BaseModel):
    items: list[DocumentOut]
    total: int
    offset: int
    limit: int


class PageOut(BaseModel):
    number: int
    text: str
    ocr: bool
    char_count: int


class ProcessingEventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    stage: str
    outcome: str
    message: str
    duration_ms: float | None
    created_at: UtcDateTime


class UploadError(BaseModel):
    status: int
    title: str
    detail: str


class UploadItem(BaseModel):
    filename: str
    path: str
    document_id: str | None = None
    version_id: str | None = None
    version: int | None = None
    status: str | None = None
    kind: str | None = None
    deduplicated: bool = False
    error: UploadError | None = None
    # The uploaded .zip this entry came from; null for a file uploaded as such.
    archive: str | None = None
    # The name as uploaded; ``filename`` is the name it is stored and shown under.
    original_name: str | None = None
    # Deduplicated, and the name was new to the document: recorded as one of its additional_names.
    additional_name: bool = False


class UploadResult(BaseModel):
    accepted: list[UploadItem]
    rejected: list[UploadItem]
