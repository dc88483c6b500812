"""Stored analyses (one per document version) and organizations' playbooks."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from legalai.kit.db import Base, Timestamps, UUIDPk, utcnow


class AnalysisStatus:
    queued = "queued"
    ready = "ready"
    failed = "failed"


class DocumentAnalysis(UUIDPk, Timestamps, Base):
    """The analysis of one document version; re-analysis replaces it in place.

    ``fingerprint`` is the analyzer, model and playbook versions it was made with: an analysis
    whose fingerprint differs from the running one is out of date (``legalai reanalyze``).
    """

    __tablename__ = "document_analyses"
    __table_args__ = (
        Index("ix_document_analyses_matter", "organization_id", "matter_id"),
        Index("ix_document_analyses_document", "document_id"),
    )

    version_id: Mapped[str] = mapped_column(
        ForeignKey("document_versions.id", ondelete="CASCADE"), nullable=False, unique=True
    )
    document_id: Mapped[str] = mapped_column(String(32), nullable=False)
    organization_id: Mapped[str] = mapped_column(String(32), nullable=False)
    matter_id: Mapped[str] = mapped_column(String(32), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default=AnalysisStatus.queued)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    versions: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
    fingerprint: Mapped[str] = mapped_column(String(64), nullable=False, default="")
    playbook_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    duration_ms: Mapped[float | None] = mapped_column(Float, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class StoredPlaybook(UUIDPk, Timestamps, Base):
    """An organization's playbook (YAML as uploaded). The active one is used for new analyses."""

    __tablename__ = "playbooks"
    __table_args__ = (Index("ix_playbooks_org_active", "organization_id", "active"),)

    organization_id: Mapped[str] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False
    )
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    playbook_key: Mapped[str] = mapped_column(String(100), nullable=False)  # the YAML's `id`
    version: Mapped[str] = mapped_column(String(50), nullable=False)
    fingerprint: Mapped[str] = mapped_column(String(100), nullable=False)
    source: Mapped[str] = mapped_column(Text, nullable=False)
    rule_count: Mapped[int] = mapped_column(Integer, nullable=False)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    created_by: Mapped[str | None] = mapped_column(String(320), nullable=True)
