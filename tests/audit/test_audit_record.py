"""What `record` stores: who acted, from where, nothing secret, and only in the caller's transaction."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from sqlalchemy import event as sa_event
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from legalai.accounts.models import AuditEvent, Organization
from legalai.accounts.principal import Principal
from legalai.audit import ACTIONS, AuditContext, chain_pending, record, verify_chain
from legalai.kit.db import transaction

Factory = Callable[..., Any]


@pytest.fixture
def org(make_org: Factory) -> Organization:
    result: Organization = make_org("Bleak House LLP")
    return result


def _events(sessions: sessionmaker[Session]) -> list[AuditEvent]:
    """What was stored, after the chainer has linked it (so the hash is there to inspect too)."""
    chain_pending(sessions)
    with sessions() as session:
        return list(session.scalars(select(AuditEvent).order_by(AuditEvent.organization_id, AuditEvent.seq)))


def test_actor_and_context_come_from_the_principal_and_request(
    sessions: sessionmaker[Session], org: Organization, principal_for: Factory
) -> None:
    principal: Principal = principal_for(org, label="jarndyce@example.com")
    context = AuditContext(ip="203.0.113.9", user_agent="Mozilla/5.0", request_id="req-1")
    with transaction(sessions) as session:
        record(
            session,
            principal,
            "document.download",
            matter_id="m" * 32,
            target_type="document",
            target_id="doc-1",
            context=context,
        )
    [event] = _events(sessions)
    assert (event.actor_user_id, event.actor_api_key_id, event.actor_label) == (
        principal.user_id,
        None,
        "jarndyce@example.com",
    )
    assert (event.organization_id, event.matter_id, event.target_id) == (org.id, "m" * 32, "doc-1")
    assert (event.ip, event.user_agent, event.details) == (
        "203.0.113.9",
        "Mozilla/5.0",
        {"request_id": "req-1"},
    )


def test_failed_sign_in_is_anonymous_and_names_the_attempted_account(
    sessions: sessionmaker[Session], org: Organization
) -> None:
    with transaction(sessions) as session:
        record(
            session,
            None,
            "auth.login_failed",
            organization_id=org.id,
            outcome="failure",
            details={"email": "mallory@example.com", "password": "hunter2"},
        )
        record(session, None, "auth.login_failed", organization_id=org.id, actor_label="eve@example.com")
    first, second = _events(sessions)
    assert (first.actor_user_id, first.actor_label, first.outcome) == (None, "mallory@example.com", "failure")
    assert first.details == {"email": "mallory@example.com", "password": "[redacted]"}
    assert second.actor_label == "eve@example.com"


def test_secrets_are_redacted_at_any_depth_but_ids_are_kept(
    sessions: sessionmaker[Session], org: Organization, principal_for: Factory
) -> None:
    details = {
        "api_key": "lgl_abc_s3cr3t",
        "api_key_id": "k1",
        "headers": {"Authorization": "Bearer lgl_abc_s3cr3t", "Accept": "*/*"},
        "changes": [{"field": "smtp", "client_secret": "xyz", "Refresh-Token": "rt"}],
        "new_password": "hunter2",
    }
    with transaction(sessions) as session:
        record(session, principal_for(org), "settings.changed", details=details)
    [event] = _events(sessions)
    assert event.details == {
        "api_key": "[redacted]",
        "api_key_id": "k1",
        "headers": {"Authorization": "[redacted]", "Accept": "*/*"},
        "changes": [{"field": "smtp", "client_secret": "[redacted]", "Refresh-Token": "[redacted]"}],
        "new_password": "[redacted]",
    }
    assert "s3cr3t" not in event.hash + str(event.details)


def test_unknown_actions_and_outcomes_are_programming_errors(
    sessions: sessionmaker[Session], org: Organization, principal_for: Factory
) -> None:
    with transaction(sessions) as session:
        with pytest.raises(ValueError, match="unknown audit action"):
            record(session, principal_for(org), "document.teleport")
        with pytest.raises(ValueError, match="outcome"):
            record(session, principal_for(org), "search", outcome="x" * 17)
        with pytest.raises(ValueError, match="needs an organization"):
            record(session, None, "auth.login_failed")
    assert _events(sessions) == []
    assert "audit.exported" in ACTIONS


def test_hostile_request_data_is_cut_to_fit_every_database(
    sessions: sessionmaker[Session], org: Organization, principal_for: Factory
) -> None:
    context = AuditContext(ip="1" * 100, user_agent="A\x00" * 500)
    with transaction(sessions) as session:
        record(
            session,
            principal_for(org),
            "search",
            target_id="t" * 100,
            context=context,
            details={"query": "nul\x00byte", "due": date(2027, 1, 31)},
        )
    [event] = _events(sessions)
    assert (len(event.ip), event.user_agent, len(event.target_id)) == (64, "A" * 400, 64)
    assert event.details == {"query": "nulbyte", "due": "2027-01-31"}  # stored as it was hashed
    with sessions() as session:
        assert verify_chain(session).intact


def test_the_event_belongs_to_the_callers_transaction(
    sessions: sessionmaker[Session], org: Organization, principal_for: Factory
) -> None:
    """Audit and action commit or roll back together: a rolled-back action leaves no event."""
    session = sessions()
    record(session, principal_for(org), "document.delete", target_id="d1")
    record(session, principal_for(org), "document.delete", target_id="d2")
    session.rollback()
    session.close()
    assert _events(sessions) == []
    with transaction(sessions) as session:
        event = record(session, principal_for(org), "document.delete", target_id="d3")
    assert event.id is not None and event.pending  # inserted by the commit, not chained yet
    [stored] = _events(sessions)
    assert (stored.id, stored.target_id, stored.seq) == (event.id, "d3", 1)


def test_a_rolled_back_savepoint_takes_only_its_own_events(
    sessions: sessionmaker[Session], org: Organization, principal_for: Factory, database_url: str
) -> None:
    """Events recorded around and inside SAVEPOINTs follow them exactly, however deep."""
    principal = principal_for(org)
    with transaction(sessions) as session:
        record(session, principal, "search", target_id="outer-before")
        try:
            with session.begin_nested():
                record(session, principal, "search", target_id="undone")
                raise RuntimeError("undo the savepoint")
        except RuntimeError:
            pass
        with session.begin_nested():
            record(session, principal, "search", target_id="kept-savepoint")
        try:
            with session.begin_nested():
                with session.begin_nested():  # released into a savepoint that is then undone
                    record(session, principal, "search", target_id="undone-inner")
                raise RuntimeError("undo the outer savepoint")
        except RuntimeError:
            pass
        record(session, principal, "search", target_id="outer-after")
    assert sorted(e.target_id for e in _events(sessions)) == [
        "kept-savepoint",
        "outer-after",
        "outer-before",
    ]
    if database_url.startswith("postgresql"):
        # Not on SQLite: pysqlite emits no BEGIN before a SAVEPOINT opened first in a transaction,
        # so releasing it commits (for any table; a driver limitation, not the audit log's).
        session = sessions()
        with session.begin_nested():
            record(session, principal, "search", target_id="savepoint-of-a-rolled-back-transaction")
        session.rollback()
        session.close()
        assert len(_events(sessions)) == 3
    with sessions() as session:
        assert verify_chain(session).intact


def test_recording_runs_no_sql_until_the_commit(
    sessions: sessionmaker[Session], org: Organization, principal_for: Factory
) -> None:
    """No lock, no read of the chain head, no early INSERT: one INSERT at the commit."""
    statements: list[str] = []
    engine = sessions.kw["bind"]

    def spy(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    with transaction(sessions) as session:
        session.execute(select(AuditEvent.id).limit(1))  # the request has begun reading
        sa_event.listen(engine, "before_cursor_execute", spy)
        try:
            for i in range(3):
                record(session, principal_for(org), "document.view", target_id=f"d{i}")
            session.execute(select(AuditEvent.id).limit(1))  # autoflush must not INSERT early
            assert [s for s in statements if "audit_events" in s and "INSERT" in s] == []
            assert len(statements) == 1
            statements.clear()
            session.commit()
        finally:
            sa_event.remove(engine, "before_cursor_execute", spy)
    assert statements and all(s.lstrip().startswith("INSERT INTO audit_events") for s in statements)


def test_api_keys_are_named_as_actors(
    sessions: sessionmaker[Session], org: Organization, principal_for: Factory
) -> None:
    key = Principal(organization_id=org.id, kind="api_key", user_id="u1", api_key_id="k1", label="CI key")
    system = Principal(organization_id=org.id)
    with transaction(sessions) as session:
        record(session, key, "search")
        record(session, system, "settings.changed")
    by_key, by_system = _events(sessions)
    assert (by_key.actor_user_id, by_key.actor_api_key_id, by_key.actor_label) == ("u1", "k1", "CI key")
    assert (by_system.actor_user_id, by_system.actor_label) == (None, "system")
