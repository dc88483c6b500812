"""Who may do and see what, remembered between requests without ever being stale.

Resolving a principal costs four queries (the credential, the account, the role, the visible
matters): on cheap reads that was a third of the request's CPU. :class:`PrincipalCache` keeps the
principal of each credential in memory, and every request checks it against one number:
``organizations.access_version``.

That number is bumped in the *same transaction* as every change that could alter a principal:
roles and organization memberships, matter memberships and ethical-wall screens, API keys (other
than their last-used time), web sessions (other than their last-seen time) and accounts (other
than sign-in bookkeeping). The bump is made by a flush listener on every ORM session, not by each
service function, so no code path can forget it; bulk ``UPDATE``/``DELETE`` statements on those
tables bump every organization unless marked :data:`ACCESS_NEUTRAL`. Because the change and the
bump commit together, a request that reads the current number after the change sees the bump and
rebuilds the principal; a cached principal is therefore never used after a revocation, a removed
membership or a new screen has committed, in this process or any other (the number lives in the
shared database). A principal is cached under the number read *before* any of the state it was
built from, so a change committing in between only causes one needless rebuild.

Time-based limits (key expiry, session expiry and idle timeout) are checked on every request from
the cached entry; an entry is also dropped after ``max_age`` seconds, so even a change made behind
the ORM's back (raw SQL in a console) is honoured within that bound.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, event, select, update
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction

from legalai.accounts.models import (
    ApiKey,
    MatterMember,
    MatterScreen,
    Organization,
    OrganizationMember,
    User,
    WebSession,
)
from legalai.accounts.principal import Principal, Unauthenticated
from legalai.accounts.security import split_api_key, token_hash
from legalai.accounts.service import Touch, authenticate_api_key, resolve_web_session

# Execution option for bulk statements that change nothing a principal depends on.
ACCESS_NEUTRAL = "legalai_access_neutral"

# Columns whose changes do not alter what a principal may do or see.
_NEUTRAL_COLUMNS: dict[type, frozenset[str]] = {
    ApiKey: frozenset({"last_used_at", "name"}),
    WebSession: frozenset({"last_seen_at", "ip", "user_agent"}),
    User: frozenset({"failed_logins", "locked_until", "last_login_at", "display_name"}),
    OrganizationMember: frozenset(),
    MatterMember: frozenset(),
    MatterScreen: frozenset(),
}
_WATCHED_TABLES = frozenset(cls.__table__.name for cls in _NEUTRAL_COLUMNS)  # type: ignore[attr-defined]
_organizations = cast(Table, Organization.__table__)


def access_version(session: Session, organization_id: str) -> int | None:
    """The organization's current access version (None when it no longer exists)."""
    value = session.scalar(select(Organization.access_version).where(Organization.id == organization_id))
    return None if value is None else int(value)


def _changed(obj: Any, neutral: frozenset[str]) -> bool:
    from sqlalchemy import inspect

    state = inspect(obj)
    for attr in state.mapper.column_attrs:
        if attr.key in neutral:
            continue
        if state.attrs[attr.key].history.has_changes():
            return True
    return False


def _bump(session: Session, organization_ids: set[str], users: set[str], matters: set[str]) -> None:
    table = _organizations
    stmt = update(table).values(access_version=table.c.access_version + 1)
    if organization_ids:
        session.execute(stmt.where(table.c.id.in_(sorted(organization_ids))))
    if users:
        orgs_of_users = select(OrganizationMember.organization_id).where(
            OrganizationMember.user_id.in_(sorted(users))
        )
        session.execute(stmt.where(table.c.id.in_(orgs_of_users.scalar_subquery())))
    if matters:
        from legalai.matters.models import Matter

        orgs_of_matters = select(Matter.organization_id).where(Matter.id.in_(sorted(matters)))
        session.execute(stmt.where(table.c.id.in_(orgs_of_matters.scalar_subquery())))


@event.listens_for(Session, "before_flush")
def _bump_on_flush(session: Session, flush_context: UOWTransaction, instances: Any) -> None:
    organizations: set[str] = set()
    users: set[str] = set()
    matters: set[str] = set()
    for obj in (*session.new, *session.dirty, *session.deleted):
        neutral = _NEUTRAL_COLUMNS.get(type(obj))
        if neutral is None:
            continue
        if obj in session.new and isinstance(obj, ApiKey | WebSession):
            continue  # a new credential changes no principal that exists yet
        if obj in session.dirty and obj not in session.deleted and not _changed(obj, neutral):
            continue
        if isinstance(obj, ApiKey | WebSession | OrganizationMember):
            if obj.organization_id:
                organizations.add(obj.organization_id)
        elif isinstance(obj, User):
            if obj.id:
                users.add(obj.id)
        elif isinstance(obj, MatterMember | MatterScreen) and obj.matter_id:
            matters.add(obj.matter_id)
    if organizations or users or matters:
        with session.no_autoflush:
            _bump(session, organizations, users, matters)


@event.listens_for(Session, "do_orm_execute")
def _bump_on_bulk(state: ORMExecuteState) -> None:
    if not (state.is_update or state.is_delete) or state.execution_options.get(ACCESS_NEUTRAL):
        return
    table = getattr(state.statement, "table", None)
    name = getattr(table, "name", None)
    if name in _WATCHED_TABLES:  # which organizations it touches is unknown: all of them
        state.session.execute(
            update(_organizations).values(access_version=_organizations.c.access_version + 1),
            execution_options={ACCESS_NEUTRAL: True},
        )


# ---- the cache ---------------------------------------------------------------------------------


@dataclass
class CachedPrincipal:
    principal: Principal
    version: int
    stored: float  # time.monotonic() when built
    expires_at: datetime | None = None  # the key's or the session's hard expiry
    last_seen: datetime | None = None  # web sessions: for the idle timeout
    csrf_token: str = ""  # web sessions


class PrincipalCache:
    """Principals by credential digest (sha-256 of the key or session token), at most
    ``max_entries``, each at most ``max_age`` seconds old. Thread-safe."""

    def __init__(self, *, max_entries: int = 10_000, max_age: float = 60.0) -> None:
        self.max_entries = max_entries
        self.max_age = max_age
        self._entries: OrderedDict[str, CachedPrincipal] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, digest: str) -> CachedPrincipal | None:
        with self._lock:
            entry = self._entries.get(digest)
            if entry is None or time.monotonic() - entry.stored > self.max_age:
                if entry is not None:
                    del self._entries[digest]
                self.misses += 1
                return None
            self._entries.move_to_end(digest)
            self.hits += 1
            return entry

    def put(self, digest: str, entry: CachedPrincipal) -> None:
        with self._lock:
            self._entries[digest] = entry
            self._entries.move_to_end(digest)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def forget(self, digest: str) -> None:
        with self._lock:
            self._entries.pop(digest, None)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


@dataclass(frozen=True)
class SessionRef:
    """The web session a request came with: what the CSRF check and sign-out need."""

    id: str
    csrf_token: str


def _aware(value: datetime | None) -> datetime | None:
    from datetime import UTC

    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


def _current(session: Session, entry: CachedPrincipal) -> bool:
    return access_version(session, entry.principal.organization_id) == entry.version


def principal_for_api_key(
    session: Session, presented: str, cache: PrincipalCache, *, now: datetime, touch: Touch | None = None
) -> Principal:
    """:func:`accounts.service.authenticate_api_key`, answered from ``cache`` while the
    organization's access version is unchanged and the key has not expired."""
    presented = presented.strip()
    digest = token_hash(presented)
    entry = cache.get(digest)
    if (
        entry is not None
        and (entry.expires_at is None or entry.expires_at > now)
        and _current(session, entry)
    ):
        if (
            touch is not None
            and entry.principal.api_key_id
            and (entry.last_seen is None or (now - entry.last_seen).total_seconds() > 60)
        ):
            touch(entry.principal.api_key_id, now)
            entry.last_seen = now
        return entry.principal
    parts = split_api_key(presented)
    organization_id = (
        session.scalar(select(ApiKey.organization_id).where(ApiKey.prefix == parts[0])) if parts else None
    )
    if organization_id is None:
        raise Unauthenticated("Invalid API key")
    version = access_version(session, organization_id)  # before the state the principal is made of
    principal = authenticate_api_key(session, presented, touch=touch)
    key = session.get(ApiKey, principal.api_key_id)
    if version is not None and key is not None:
        cache.put(
            digest,
            CachedPrincipal(
                principal, version, time.monotonic(), expires_at=_aware(key.expires_at), last_seen=now
            ),
        )
    return principal


def principal_for_session_token(
    session: Session,
    token: str,
    cache: PrincipalCache,
    *,
    now: datetime,
    idle: timedelta,
    touch: Touch | None = None,
) -> tuple[Principal, SessionRef]:
    """:func:`accounts.service.resolve_web_session`, answered from ``cache`` while the
    organization's access version is unchanged and the session is neither expired nor idle
    (otherwise the full resolution decides, and revokes an expired session)."""
    digest = token_hash(token)
    entry = cache.get(digest)
    if (
        entry is not None
        and entry.principal.session_id
        and entry.expires_at is not None
        and entry.expires_at > now
        and entry.last_seen is not None
        and now - entry.last_seen <= idle
        and _current(session, entry)
    ):
        if (now - entry.last_seen).total_seconds() > 30:
            if touch is not None:
                touch(entry.principal.session_id, now)
            entry.last_seen = now
        return entry.principal, SessionRef(entry.principal.session_id, entry.csrf_token)
    organization_id = session.scalar(
        select(WebSession.organization_id).where(WebSession.token_hash == digest)
    )
    if organization_id is None:
        raise Unauthenticated("Please sign in")
    version = access_version(session, organization_id)
    principal, ws = resolve_web_session(session, token, idle=idle, touch=touch)
    last_seen = _aware(ws.last_seen_at)
    if touch is not None and last_seen is not None and (now - last_seen).total_seconds() > 30:
        last_seen = now  # resolve_web_session just noted this use
    if version is not None:
        cache.put(
            digest,
            CachedPrincipal(
                principal,
                version,
                time.monotonic(),
                expires_at=_aware(ws.expires_at),
                last_seen=last_seen,
                csrf_token=ws.csrf_token,
            ),
        )
    return principal, SessionRef(ws.id, ws.csrf_token)
