"""AI usage, the egress log, the response cache (without Redis), matter policies and budgets."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column

from legalai.kit.db import Base, BigIntPK, utcnow

LOCAL_ONLY = "local_only"
ALLOWED = "allowed"
POLICY_MODES = (LOCAL_ONLY, ALLOWED)


class AIUsage(Base):
    """One provider call (or cache hit): tokens and cost, for accounting and budgets."""

    __tablename__ = "ai_usage"
    __table_args__ = (
        Index("ix_ai_usage_org_created", "organization_id", "created_at"),
        Index("ix_ai_usage_matter", "matter_id"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, nullable=False)
    organization_id: Mapped[str] = mapped_column(String(32), nullable=False)
    matter_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    user_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    provider: Mapped[str] = mapped_column(String(100), nullable=False)
    model: Mapped[str] = mapped_column(String(200), nullable=False)
    operation: Mapped[str] = mapped_column(String(16), nullable=False)  # chat, stream, embed
    purpose: Mapped[str] = mapped_column(String(64), nullable=False, default="")
    input_tokens: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    output_tokens: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    cost_usd: Mapped[float] = mapped_column(Float, nullable=False, default=0.0)
    cached: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    local: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)


class EgressLogEntry(Base):
    """A request whose text left this machine: to whom, how much (bytes and sha256 of the body), for
    whom and why. Never the text itself, never a key."""

    __tablename__ = "ai_egress_log"
    __table_args__ = (
        Index("ix_ai_egress_log_matter_created", "matter_id", "created_at"),
        Index("ix_ai_egress_log_org_created", "organization_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, nullable=False)
    organization_id: Mapped[str] = mapped_column(String(32), nullable=False)
    matter_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    user_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    provider: Mapped[str] = mapped_column(String(100), nullable=False)
    model: Mapped[str] = mapped_column(String(200), nullable=False)
    destination: Mapped[str] = mapped_column(String(300), nullable=False)
    operation: Mapped[str] = mapped_column(String(16), nullable=False)
    purpose: Mapped[str] = mapped_column(String(64), nullable=False, default="")
    byte_count: Mapped[int] = mapped_column(BigInteger, nullable=False)
    sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    redacted: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    outcome: Mapped[str] = mapped_column(String(32), nullable=False)  # ok, or the failure's kind
    status: Mapped[int | None] = mapped_column(Integer, nullable=True)


class AIResponseCacheEntry(Base):
    """Cached answers when there is no Redis; the key covers provider, model, prompt and parameters."""

    __tablename__ = "ai_response_cache"
    __table_args__ = (
        Index("ix_ai_response_cache_matter", "matter_id"),
        Index("ix_ai_response_cache_expires", "expires_at"),
    )

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    organization_id: Mapped[str] = mapped_column(String(32), nullable=False)
    matter_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    provider: Mapped[str] = mapped_column(String(100), nullable=False)
    model: Mapped[str] = mapped_column(String(200), nullable=False)
    result: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, nullable=False)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)


class MatterAIPolicy(Base):
    """What a matter allows: ``local_only`` (the default when a matter has no row: nothing leaves
    the machine) or ``allowed`` (local providers plus the named ones); redaction; budgets."""

    __tablename__ = "matter_ai_policies"
    __table_args__ = (CheckConstraint("mode IN ('local_only', 'allowed')", name="mode"),)

    matter_id: Mapped[str] = mapped_column(ForeignKey("matters.id", ondelete="CASCADE"), primary_key=True)
    organization_id: Mapped[str] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False, index=True
    )
    mode: Mapped[str] = mapped_column(String(16), nullable=False, default=LOCAL_ONLY)
    allowed_providers: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    redact_personal_data: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    token_budget: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    cost_budget_usd: Mapped[float | None] = mapped_column(Float, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, nullable=False)
    updated_by: Mapped[str | None] = mapped_column(String(32), nullable=True)


class OrganizationAIBudget(Base):
    """An organization's AI budget over all its usage; without a row, the settings' default applies."""

    __tablename__ = "organization_ai_budgets"

    organization_id: Mapped[str] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True
    )
    token_budget: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    cost_budget_usd: Mapped[float | None] = mapped_column(Float, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, nullable=False)
