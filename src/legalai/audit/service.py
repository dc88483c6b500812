"""Append-only, tamper-evident audit log: one hash chain per organization.

Each chained event stores ``seq`` (1, 2, 3... per organization), the previous event's hash and its
own ``hash = sha256(prev_hash + canonical_json(every stored field except id and hash))``. Editing,
inserting, reordering or deleting an event in the middle of a chain therefore breaks a link that
``verify_chain`` finds.

Recording and chaining are two steps, so that no request ever waits for another to audit:

1. ``record`` adds the event to the caller's transaction *pending* (``seq``, ``prev_hash`` and
   ``hash`` NULL); it is INSERTed when that transaction commits, so an action and its audit event
   commit or roll back together. No lock, no read of the chain head, no early flush.
2. The chainer (``legalai.audit.chainer``: a background thread in every API and worker process,
   and ``chain_pending`` on demand) takes a single-chainer lock that requests never touch, reads
   pending events in id order and links them to each organization's head in one transaction.

The honest limit: between its commit and the next chainer round (about a second) an event is not
yet protected by the chain; ``verify_chain`` counts pending events and the age of the oldest, so a
chainer that is not running shows up.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session, SessionTransaction

from legalai.accounts.models import AuditEvent
from legalai.accounts.principal import Principal
from legalai.audit.repository import chain_organizations, iter_chain, pending_summary
from legalai.kit.db import utcnow

GENESIS_HASH = "0" * 64

ACTIONS: frozenset[str] = frozenset(
    {
        "auth.login",
        "auth.login_failed",
        "auth.logout",
        "auth.logout_all",
        "document.view",
        "document.download",
        "document.upload",
        "document.delete",
        "search",
        "question.ask",
        "export",
        "matter.create",
        "matter.reanalyzed",
        "matter.ai_policy_changed",
        "document.summary_requested",
        "matter.member_added",
        "matter.member_removed",
        "matter.screen_added",
        "matter.screen_removed",
        "user.created",
        "user.role_changed",
        "api_key.created",
        "api_key.revoked",
        "api_key.rotated",
        "settings.changed",
        "playbook.activated",
        "playbook.reset",
        "audit.exported",
    }
)

# The fields the hash covers, in no particular order (the canonical form sorts keys).
HASHED_FIELDS = (
    "organization_id",
    "seq",
    "created_at",
    "actor_user_id",
    "actor_api_key_id",
    "actor_label",
    "matter_id",
    "action",
    "target_type",
    "target_id",
    "outcome",
    "ip",
    "user_agent",
    "details",
)

REDACTED = "[redacted]"
_SECRET_WORDS = ("password", "passwd", "secret", "token", "api_key", "apikey", "authorization", "cookie")
# Identifiers and labels of secrets are evidence, not secrets: "api_key_id" stays readable.
_NOT_SECRET_SUFFIXES = ("_id", "_ids", "_prefix", "_name", "_count")


@dataclass(frozen=True)
class AuditContext:
    """Where a request came from; filled by the endpoint, since services know no HTTP."""

    ip: str = ""
    user_agent: str = ""
    request_id: str | None = None


# ---- hashing ------------------------------------------------------------------------------------


def _utc_iso(value: datetime) -> str:
    # SQLite hands back naive datetimes (stored in UTC); PostgreSQL may use the session time zone.
    aware = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return aware.isoformat(timespec="microseconds")


def canonical_json(fields: Mapping[str, Any]) -> str:
    """The exact text the hash covers: stable across databases, drivers and Python versions."""
    payload = {name: fields[name] for name in HASHED_FIELDS}
    payload["created_at"] = _utc_iso(fields["created_at"])
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def event_hash(prev_hash: str, fields: Mapping[str, Any]) -> str:
    return hashlib.sha256((prev_hash + canonical_json(fields)).encode("utf-8")).hexdigest()


# ---- cleaning what goes in ----------------------------------------------------------------------


def _clean_text(value: str, limit: int) -> str:
    """Fit a column on every database: PostgreSQL rejects NUL and enforces varchar lengths."""
    value = value.replace("\x00", "").encode("utf-8", "replace").decode("utf-8")
    return value[:limit]


def _is_secret_key(key: str) -> bool:
    name = key.lower().replace("-", "_")
    if name.endswith(_NOT_SECRET_SUFFIXES):
        return False
    return any(word in name for word in _SECRET_WORDS)


def redact(value: Any) -> Any:
    """Replace the values of secret-looking keys, at any depth: the log is read by many, forever."""
    if isinstance(value, Mapping):
        return {str(k): REDACTED if _is_secret_key(str(k)) else redact(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact(v) for v in value]
    if isinstance(value, str):
        return value.replace("\x00", "")
    return value


def _normalized_details(details: Mapping[str, Any] | None, context: AuditContext) -> dict[str, Any]:
    """Redacted and passed through JSON once, so what is hashed is exactly what is read back."""
    merged = dict(details or {})
    if context.request_id:
        merged.setdefault("request_id", context.request_id)
    text_form = json.dumps(redact(merged), default=str, allow_nan=False)
    result: dict[str, Any] = json.loads(text_form)
    return result


# ---- appending ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Actor:
    user_id: str | None
    api_key_id: str | None
    label: str


def _actor(principal: Principal | None, label: str | None, details: Mapping[str, Any]) -> _Actor:
    if principal is None:  # e.g. a failed sign-in: name the attempted account, nothing more
        email = details.get("email")
        fallback = email if isinstance(email, str) and email else "anonymous"
        return _Actor(None, None, _clean_text(label or fallback, 320))
    default = principal.label or ("system" if principal.kind == "system" else "")
    return _Actor(principal.user_id, principal.api_key_id, _clean_text(label or default, 320))


def _organization(principal: Principal | None, organization_id: str | None) -> str:
    if principal is not None and organization_id not in (None, principal.organization_id):
        raise ValueError("organization_id differs from the principal's organization")
    org = organization_id or (principal.organization_id if principal else None)
    if not org:
        raise ValueError("an audit event needs an organization: pass a principal or organization_id")
    return org


_DEFERRED_KEY = "legalai_audit_deferred"


def _defer(session: Session, event: AuditEvent) -> None:
    """Insert ``event`` when the caller's transaction commits; forget it if that rolls back.

    No SQL now: on SQLite an INSERT would take the database's single write lock for the rest of
    the request. Inside a SAVEPOINT the event is simply added (flushed with the savepoint), so a
    rolled-back savepoint takes its events with it, exactly as the ORM does for any row.
    """
    if session.in_nested_transaction():
        session.add(event)
        return
    root = session.get_transaction() or session.begin()
    deferred: tuple[SessionTransaction, list[AuditEvent]] | None = session.info.get(_DEFERRED_KEY)
    if deferred is None or deferred[0] is not root:
        deferred = (root, [])
        session.info[_DEFERRED_KEY] = deferred
    deferred[1].append(event)


@sa_event.listens_for(Session, "before_commit")
def _insert_deferred(session: Session) -> None:
    """Add the deferred events to the session as its transaction commits, so they are flushed
    (INSERTed) in the same commit as the action they record.

    ``before_commit`` also fires when a SAVEPOINT is released. Events of the outer transaction
    are added then only if that savepoint's parent is the outer transaction (it can no longer roll
    back on its own); under deeper savepoints they wait, since an inner one could still be undone.
    """
    deferred: tuple[SessionTransaction, list[AuditEvent]] | None = session.info.get(_DEFERRED_KEY)
    if deferred is None:
        return
    root, events = deferred
    nested = session.get_nested_transaction()
    if nested is not None and nested.parent is not root:
        return
    session.info.pop(_DEFERRED_KEY, None)
    # Events of a transaction that has ended (normally dropped by _drop_deferred): had it
    # committed, this hook would have added them then, so they were rolled back with it.
    if session.get_transaction() is root:
        session.add_all(events)


@sa_event.listens_for(Session, "after_transaction_end")
def _drop_deferred(session: Session, transaction: SessionTransaction) -> None:
    """A rolled-back (or closed) transaction drops the events it deferred: nothing was done."""
    deferred: tuple[SessionTransaction, list[AuditEvent]] | None = session.info.get(_DEFERRED_KEY)
    if deferred is not None and deferred[0] is transaction:
        session.info.pop(_DEFERRED_KEY, None)


def record(
    session: Session,
    principal: Principal | None,
    action: str,
    *,
    organization_id: str | None = None,
    matter_id: str | None = None,
    target_type: str = "",
    target_id: str = "",
    outcome: str = "success",
    details: Mapping[str, Any] | None = None,
    context: AuditContext | None = None,
    actor_label: str | None = None,
) -> AuditEvent:
    """Record one event in the caller's transaction: inserted when it commits, gone if it rolls back.

    ``principal`` None means anonymous (a failed sign-in): pass ``organization_id`` and, as
    ``actor_label`` or ``details["email"]``, the account that was attempted. Unknown actions and
    malformed outcomes are programming errors (ValueError). Secret-looking keys in ``details`` are
    redacted; the request id from ``context`` is kept in ``details["request_id"]``.

    Takes no lock and reads nothing: the event is stored *pending* (``seq``, ``prev_hash`` and
    ``hash`` None) and the chainer (``legalai.audit.chainer``) links it into the organization's
    chain within about a second of the commit. The returned object therefore has no ``seq`` yet.
    """
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}; add it to legalai.audit.ACTIONS")
    if not outcome or len(outcome) > 16:
        raise ValueError("outcome must be 1 to 16 characters, e.g. 'success', 'failure', 'denied'")
    context = context or AuditContext()
    org = _organization(principal, organization_id)
    clean_details = _normalized_details(details, context)
    actor = _actor(principal, actor_label, clean_details)
    fields: dict[str, Any] = {
        "organization_id": org,
        "created_at": utcnow(),
        "actor_user_id": actor.user_id,
        "actor_api_key_id": actor.api_key_id,
        "actor_label": actor.label,
        "matter_id": matter_id,
        "action": action,
        "target_type": _clean_text(target_type, 32),
        "target_id": _clean_text(target_id, 64),
        "outcome": outcome,
        "ip": _clean_text(context.ip, 64),
        "user_agent": _clean_text(context.user_agent, 400),
        "details": clean_details,
    }
    event = AuditEvent(**fields, seq=None, prev_hash=None, hash=None)
    _defer(session, event)
    return event


# ---- verifying ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class BrokenLink:
    seq: int
    event_id: int
    reason: str


@dataclass(frozen=True)
class ChainReport:
    organization_id: str
    events_checked: int
    head_seq: int
    head_hash: str
    broken: BrokenLink | None = None
    # Recorded but not yet linked: not protected by the chain until the chainer's next round.
    pending_count: int = 0
    oldest_pending_seconds: float | None = None
    pending_stale: bool = False  # the oldest has waited longer than it should: is a chainer running?

    @property
    def intact(self) -> bool:
        return self.broken is None


@dataclass(frozen=True)
class VerifyReport:
    chains: list[ChainReport]

    @property
    def intact(self) -> bool:
        return all(chain.intact for chain in self.chains)

    @property
    def pending_count(self) -> int:
        return sum(chain.pending_count for chain in self.chains)

    @property
    def pending_stale(self) -> bool:
        return any(chain.pending_stale for chain in self.chains)


def _link_problem(row: Mapping[str, Any], expected_seq: int, prev_hash: str) -> str | None:
    if row["seq"] != expected_seq:
        return f"sequence gap: expected {expected_seq} got {row['seq']}"
    if row["prev_hash"] != prev_hash:
        return "prev_hash does not match previous event"
    if event_hash(row["prev_hash"], row) != row["hash"]:
        return "hash mismatch"
    return None


def pending_age_seconds(oldest_created_at: datetime, now: datetime) -> float:
    aware = oldest_created_at.replace(tzinfo=UTC) if oldest_created_at.tzinfo is None else oldest_created_at
    return max(0.0, (now - aware).total_seconds())


def _verify_organization(
    session: Session, organization_id: str, batch_size: int, stale_after_seconds: float
) -> ChainReport:
    summary = pending_summary(session, organization_id).get(organization_id)
    count, age = (0, None) if summary is None else (summary[0], pending_age_seconds(summary[1], utcnow()))

    def report(checked: int, head_seq: int, head_hash: str, broken: BrokenLink | None = None) -> ChainReport:
        stale = age is not None and age > stale_after_seconds
        return ChainReport(organization_id, checked, head_seq, head_hash, broken, count, age, stale)

    checked, prev_hash = 0, GENESIS_HASH
    for row in iter_chain(session, organization_id, batch_size=batch_size):
        fields: dict[str, Any] = dict(row._mapping)
        checked += 1
        problem = _link_problem(fields, checked, prev_hash)
        if problem is not None:
            return report(
                checked, fields["seq"], fields["hash"], BrokenLink(fields["seq"], fields["id"], problem)
            )
        prev_hash = fields["hash"]
    return report(checked, checked, prev_hash)


def verify_chain(
    session: Session,
    organization_id: str | None = None,
    *,
    batch_size: int = 1000,
    stale_after_seconds: float = 60.0,
) -> VerifyReport:
    """Walk each organization's chain in seq order (streamed in batches), recomputing every hash.

    Reads only what is chained: call ``legalai.audit.chainer.chain_pending`` first to link what is
    pending. Pending events are counted per organization with the age of the oldest; one older
    than ``stale_after_seconds`` sets ``pending_stale`` (no chainer is running). A pending event is
    not yet protected: editing or deleting it before it is chained leaves no trace.

    Reports, per organization, the events checked and the FIRST broken link:
    "hash mismatch" (an event's content was edited), "prev_hash does not match previous event"
    (an event was inserted, reordered, or edited with its hash recomputed), or
    "sequence gap: expected N got M" (an event was deleted).

    Limitation: deleting the newest events (or the whole chain) leaves a shorter chain that is
    still valid; nothing inside the database can tell. Anchor the head externally: record
    ``head_seq``/``head_hash`` from each report somewhere else (a ticket, a signed e-mail, WORM
    storage) and compare later. Keeping such an anchor is out of scope here.
    """
    orgs = [organization_id] if organization_id is not None else chain_organizations(session)
    return VerifyReport([_verify_organization(session, org, batch_size, stale_after_seconds) for org in orgs])
