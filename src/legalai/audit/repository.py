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

from sqlalchemy import Connection, Row, Select, func, or_, select
from sqlalchemy.orm import Session

from legalai.accounts.models import AuditEvent, Organization
from legalai.accounts.principal import Principal

_EVENT_COLUMNS = tuple(AuditEvent.__table__.columns)


# ---- system-level chain access (append and verify) -------------------------------------------


def chain_head(session: Session | Connection, organization_id: str) -> tuple[int, str] | None:
    """(seq, hash) of the newest chained event of an organization, or None for an empty chain.

    Pending events (seq NULL) are not part of the chain yet; PostgreSQL would sort them first.
    """
    row = session.execute(
        select(AuditEvent.seq, AuditEvent.hash)
        .where(AuditEvent.organization_id == organization_id, AuditEvent.seq.is_not(None))
        .order_by(AuditEvent.seq.desc())
        .limit(1)
    ).first()
    return None if row is None else (row.seq, row.hash)


def pending_summary(
    session: Session | Connection, organization_id: str | None = None
) -> dict[str, tuple[int, datetime]]:
    """Per organization with pending (not yet chained) events: how many, and the oldest created_at."""
    stmt = (
        select(AuditEvent.organization_id, func.count(), func.min(AuditEvent.created_at))
        .where(AuditEvent.seq.is_(None))
        .group_by(AuditEvent.organization_id)
    )
    if organization_id is not None:
        stmt = stmt.where(AuditEvent.organization_id == organization_id)
    return {org: (count, oldest) for org, count, oldest in session.execute(stmt)}


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
    """An organization's chained events in seq order, as plain rows fetched in keyset batches.

    Plain rows (not ORM objects) so the identity map does not grow with the log. Pending events
    (seq NULL) are not part of the chain and not returned.
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
        """A page of events, newest first, and the total matching the filters.

        Pending events (not chained yet, seq None) are the newest: they come first, newest id first.
        """
        filters = AuditFilter(matter_id, user_id, action, since, until)
        stmt = self._scoped(filters)
        total = self.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
        newest_first = (AuditEvent.seq.desc().nulls_first(), AuditEvent.id.desc())
        rows = self.session.scalars(stmt.order_by(*newest_first).offset(offset).limit(limit)).all()
        return rows, total

    def iter_matching(self, filters: AuditFilter, *, batch_size: int = 500) -> Iterator[AuditEvent]:
        """Every matching event in chain order, in keyset batches, for exports of any size.

        First the chain up to the head seen when the export starts (seq order), then the events
        that existed then but were not chained up to that head (id order: still pending, or
        chained since). So the export is a stable snapshot even while the organization keeps
        working, and shows pending events too. Call ``chain_pending`` first to keep that tail
        short. Rows are detached after use so memory stays flat.
        """
        stmt = self._scoped(filters)
        org = self.principal.organization_id
        head = chain_head(self.session, org)
        last = 0 if head is None else head[0]
        newest_id = self.session.scalar(
            select(func.max(AuditEvent.id)).where(AuditEvent.organization_id == org)
        )
        after = 0
        while after < last:
            batch = self.session.scalars(
                stmt.where(AuditEvent.seq > after, AuditEvent.seq <= last)
                .order_by(AuditEvent.seq)
                .limit(batch_size)
            ).all()
            if not batch:
                break
            yield from self._detached(batch)
            after = batch[-1].seq or after
        if newest_id is None:
            return
        tail = stmt.where(AuditEvent.id <= newest_id, or_(AuditEvent.seq.is_(None), AuditEvent.seq > last))
        after_id = 0
        while True:
            batch = self.session.scalars(
                tail.where(AuditEvent.id > after_id).order_by(AuditEvent.id).limit(batch_size)
            ).all()
            yield from self._detached(batch)
            if len(batch) < batch_size:
                return
            after_id = batch[-1].id

    def _detached(self, batch: Sequence[AuditEvent]) -> Iterator[AuditEvent]:
        for event in batch:
            yield event
            self.session.expunge(event)
