from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from legalai.kit.db import Base, BigIntPK, Timestamps, UUIDPk


class Role(enum.StrEnum):
    """Roles within one organization, most powerful first."""

    owner = "owner"
    admin = "admin"
    attorney = "attorney"
    paralegal = "paralegal"
    viewer = "viewer"

    @property
    def manages_people(self) -> bool:
        return self in (Role.owner, Role.admin)

    @property
    def can_write(self) -> bool:
        return self is not Role.viewer


class Organization(UUIDPk, Timestamps, Base):
    """A tenant: a firm or a legal team. Every matter and document belongs to exactly one."""

    __tablename__ = "organizations"

    name: Mapped[str] = mapped_column(String(200), nullable=False)
    slug: Mapped[str] = mapped_column(String(100), nullable=False, unique=True)
    # Bumped in the same transaction as any change to roles, memberships, screens, keys, sessions
    # or accounts of this organization (accounts.access): cached principals compare it.
    access_version: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default=text("0"))


class User(UUIDPk, Timestamps, Base):
    __tablename__ = "users"

    email: Mapped[str] = mapped_column(String(320), nullable=False, unique=True)  # stored lower-cased
    display_name: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    # Null for accounts that only sign in through single sign-on.
    password_hash: Mapped[str | None] = mapped_column(String(255), nullable=True)
    is_active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class OrganizationMember(UUIDPk, Timestamps, Base):
    __tablename__ = "organization_members"
    __table_args__ = (UniqueConstraint("organization_id", "user_id", name="uq_org_members_org_user"),)

    organization_id: Mapped[str] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False, index=True
    )
    user_id: Mapped[str] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
    )
    role: Mapped[str] = mapped_column(String(16), nullable=False)


class MatterMember(UUIDPk, Timestamps, Base):
    """Who may read a matter. Being a member is what grants access, whatever the role."""

    __tablename__ = "matter_members"
    __table_args__ = (UniqueConstraint("matter_id", "user_id", name="uq_matter_members_matter_user"),)

    matter_id: Mapped[str] = mapped_column(
        ForeignKey("matters.id", ondelete="CASCADE"), nullable=False, index=True
    )
    user_id: Mapped[str] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
    )


class MatterScreen(UUIDPk, Timestamps, Base):
    """An ethical wall: this person may not see this matter, whatever their role or membership."""

    __tablename__ = "matter_screens"
    __table_args__ = (UniqueConstraint("matter_id", "user_id", name="uq_matter_screens_matter_user"),)

    matter_id: Mapped[str] = mapped_column(
        ForeignKey("matters.id", ondelete="CASCADE"), nullable=False, index=True
    )
    user_id: Mapped[str] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
    )
    reason: Mapped[str] = mapped_column(String(500), nullable=False, default="")


class ApiKey(UUIDPk, Timestamps, Base):
    """``lgl_<prefix>_<secret>``: the prefix identifies the key, only a hash of the secret is kept."""

    __tablename__ = "api_keys"

    organization_id: Mapped[str] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False, index=True
    )
    user_id: Mapped[str] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
    )
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    prefix: Mapped[str] = mapped_column(String(32), nullable=False, unique=True)
    secret_hash: Mapped[str] = mapped_column(String(128), nullable=False)
    scopes: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    replaced_by_id: Mapped[str | None] = mapped_column(String(32), nullable=True)


class WebSession(UUIDPk, Timestamps, Base):
    """A browser sign-in. The cookie holds a random token; only its hash is stored."""

    __tablename__ = "web_sessions"

    token_hash: Mapped[str] = mapped_column(String(128), nullable=False, unique=True)
    user_id: Mapped[str] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
    )
    organization_id: Mapped[str] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False
    )
    csrf_token: Mapped[str] = mapped_column(String(64), nullable=False)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    ip: Mapped[str] = mapped_column(String(64), nullable=False, default="")
    user_agent: Mapped[str] = mapped_column(String(400), nullable=False, default="")


class SetupToken(UUIDPk, Timestamps, Base):
    """One-time link that lets a newcomer create the first owner of an empty installation."""

    __tablename__ = "setup_tokens"

    token_hash: Mapped[str] = mapped_column(String(128), nullable=False, unique=True)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class AuditEvent(Base):
    """Append-only, hash-chained per organization: ``hash = sha256(prev_hash + canonical(event))``.

    An event is inserted *pending* (``seq``, ``prev_hash`` and ``hash`` all NULL) by ``record`` and
    linked into its organization's chain shortly after by the chainer (``legalai.audit.chainer``).
    NULL seqs are distinct for the unique constraint on both databases, so any number may be pending.
    """

    __tablename__ = "audit_events"
    __table_args__ = (
        UniqueConstraint("organization_id", "seq", name="uq_audit_events_org_seq"),
        CheckConstraint(
            "(seq IS NULL AND prev_hash IS NULL AND hash IS NULL)"
            " OR (seq IS NOT NULL AND prev_hash IS NOT NULL AND hash IS NOT NULL)",
            name="chained_or_pending",
        ),
        # What the chainer reads each round: small, since events are pending for about a second.
        Index(
            "ix_audit_events_pending",
            "organization_id",
            "id",
            postgresql_where=text("seq IS NULL"),
            sqlite_where=text("seq IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    organization_id: Mapped[str] = mapped_column(String(32), nullable=False, index=True)
    seq: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    actor_user_id: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    actor_api_key_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    actor_label: Mapped[str] = mapped_column(String(320), nullable=False, default="")
    matter_id: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    action: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    target_type: Mapped[str] = mapped_column(String(32), nullable=False, default="")
    target_id: Mapped[str] = mapped_column(String(64), nullable=False, default="")
    outcome: Mapped[str] = mapped_column(String(16), nullable=False, default="success")
    ip: Mapped[str] = mapped_column(String(64), nullable=False, default="")
    user_agent: Mapped[str] = mapped_column(String(400), nullable=False, default="")
    details: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
    prev_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    hash: Mapped[str | None] = mapped_column(String(64), nullable=True)

    @property
    def pending(self) -> bool:
        """Recorded but not yet linked into the chain (and so not yet protected by it)."""
        return self.seq is None
