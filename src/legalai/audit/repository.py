"""Every query on the audit log.

``AuditRepository`` is what the API uses: scoped to the principal's organization and only for
principals who may manage it. The module-level chain helpers are system-level (the append path and
``legalai audit verify``): they read one organization's chain by id, never on a user's behalf.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Row, Select, func, select
from sqlalchemy.orm import Session

from legalai.accounts.models import AuditEvent, Organization
from legalai.accounts.principal import Principal

_EVENT_COLUMNS = tuple(AuditEvent.__table__.columns)


# ---- system-level chain access (append and verify) -------------------------------------------


def chain_head(session: Session, organization_id: str) -> tuple[int, str] | None:
    """(seq, hash) of the newest event of an organization, or None for an empty chain."""
    row = session.execute(
        select(AuditEvent.seq, AuditEvent.hash)
        .where(AuditEvent.organization_id == organization_id)
        .order_by(AuditEvent.seq.desc())
        .limit(1)
    ).first()
    return None if row is None else (row.seq, row.hash)


def chain_organizations(session: Session) -> list[str]:
    """Organizations that have events, from the log itself: a deleted organization's chain still counts."""
    return list(session.scalars(select(AuditEvent.organization_id).distinct().order_by("organization_id")))


def organization_labels(session: Session, organization_ids: Sequence[str]) -> dict[str, str]:
    """Slugs for display; ids of organizations that no longer exist are simply absent."""
    rows = session.execute(
        select(Organization.id, Organization.slug).where(Organization.id.in_(organization_ids))
    )
    return {org_id: slug for org_id, slug in rows}


def iter_chain(session: Session, organization_id: str, *, batch_size: int = 1000) -> Iterator[Row[Any]]:
    """An organization's events in seq order, as plain rows fetched in keyset batches.

    Plain rows (not ORM objects) so the identity map does not grow with the log.
    """
    after = 0
    while True:
        batch = session.execute(
            select(*_EVENT_COLUMNS)
            .where(AuditEvent.organization_id == organization_id, AuditEvent.seq > after)
            .order_by(AuditEvent.seq)
            .limit(batch_size)
        ).all()
        yield from batch
        if len(batch) < batch_size:
            return
        after = batch[-1].seq


# ---- what a manager may read --------------------------------------------------------------------


@dataclass(frozen=True)
class AuditFilter:
    """Filters shared by the listing and the exports; ``since`` inclusive, ``until`` exclusive."""

    matter_id: str | None = None
    user_id: str | None = None
    action: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def apply(self, stmt: Select[Any]) -> Select[Any]:
        if self.matter_id is not None:
            stmt = stmt.where(AuditEvent.matter_id == self.matter_id)
        if self.user_id is not None:
            stmt = stmt.where(AuditEvent.actor_user_id == self.user_id)
        if self.action is not None:
            stmt = stmt.where(AuditEvent.action == self.action)
        if self.since is not None:
            stmt = stmt.where(AuditEvent.created_at >= _utc(self.since))
        if self.until is not None:
            stmt = stmt.where(AuditEvent.created_at < _utc(self.until))
        return stmt


def _utc(value: datetime) -> datetime:
    """Events are stored in UTC and SQLite compares the text form, so bounds must be UTC too."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class AuditRepository:
    """The organization-wide audit log. Only owners and admins (admin-scoped keys) may read it:
    it names every matter and every person, so matter membership is not enough."""

    def __init__(self, session: Session, principal: Principal) -> None:
        self.session = session
        self.principal = principal

    def _scoped(self, filters: AuditFilter) -> Select[Any]:
        self.principal.require_manage()
        stmt = select(AuditEvent).where(AuditEvent.organization_id == self.principal.organization_id)
        return filters.apply(stmt)

    def query(
        self,
        matter_id: str | None = None,
        user_id: str | None = None,
        action: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        offset: int = 0,
        limit: int = 100,
    ) -> tuple[Sequence[AuditEvent], int]:
        """A page of events, newest first, and the total matching the filters."""
        filters = AuditFilter(matter_id, user_id, action, since, until)
        stmt = self._scoped(filters)
        total = self.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
        rows = self.session.scalars(stmt.order_by(AuditEvent.seq.desc()).offset(offset).limit(limit)).all()
        return rows, total

    def iter_matching(self, filters: AuditFilter, *, batch_size: int = 500) -> Iterator[AuditEvent]:
        """Every matching event in chain order, in keyset batches, for exports of any size.

        The export stops at the head seen when it starts, so it is a stable snapshot even while
        the organization keeps working; rows are detached after use so memory stays flat.
        """
        stmt = self._scoped(filters)
        head = chain_head(self.session, self.principal.organization_id)
        last = 0 if head is None else head[0]
        after = 0
        while after < last:
            batch = self.session.scalars(
                stmt.where(AuditEvent.seq > after, AuditEvent.seq <= last)
                .order_by(AuditEvent.seq)
                .limit(batch_size)
            ).all()
            if not batch:
                return
            for event in batch:
                yield event
                self.session.expunge(event)
            after = batch[-1].seq
