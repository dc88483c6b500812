"""Reading the log (managers only, own organization), exporting it, and `legalai audit verify`."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from legalai.accounts.models import AuditEvent, Organization, Role
from legalai.accounts.principal import Forbidden, Principal
from legalai.audit import chain_pending, record, verify_chain
from legalai.audit.cli import verify_command
from legalai.audit.export import COLUMNS, iter_csv, iter_jsonl
from legalai.audit.repository import AuditFilter, AuditRepository
from legalai.audit.schemas import AuditEventOut, AuditEventPage
from legalai.kit.db import transaction, utcnow

Factory = Callable[..., Any]


@pytest.fixture
def org(make_org: Factory) -> Organization:
    result: Organization = make_org("Jarndyce and Jarndyce")
    return result


@pytest.fixture
def owner(org: Organization, principal_for: Factory) -> Principal:
    result: Principal = principal_for(org)
    return result


def _seed(sessions: sessionmaker[Session], owner: Principal, other: Principal) -> None:
    with transaction(sessions) as session:
        record(session, owner, "matter.create", matter_id="m1", target_type="matter", target_id="m1")
        record(session, owner, "document.view", matter_id="m1", target_id="d1")
        record(session, owner, "document.view", matter_id="m2", target_id="d2")
        record(session, None, "auth.login_failed", organization_id=owner.organization_id, actor_label="x")
        record(session, other, "document.view", matter_id="m1", target_id="elsewhere")


def test_managers_read_their_own_organization_newest_first(
    sessions: sessionmaker[Session],
    org: Organization,
    owner: Principal,
    make_org: Factory,
    principal_for: Factory,
) -> None:
    other = principal_for(make_org("Other Firm"))
    _seed(sessions, owner, other)
    chain_pending(sessions)
    with sessions() as session:
        repo = AuditRepository(session, owner)
        rows, total = repo.query(limit=2)
        assert total == 4 and [r.seq for r in rows] == [4, 3]
        views, total = repo.query(action="document.view", matter_id="m1")
        assert total == 1 and views[0].target_id == "d1"
        mine, _ = repo.query(user_id=owner.user_id)
        assert {r.seq for r in mine} == {1, 2, 3}
        later, total = repo.query(since=utcnow() + timedelta(minutes=1))
        assert (list(later), total) == ([], 0)
        _, total = repo.query(until=utcnow() + timedelta(minutes=1), offset=3)
        assert total == 4
        rows, _ = AuditRepository(session, other).query()
        assert [r.target_id for r in rows] == ["elsewhere"]


@pytest.mark.parametrize("role", [Role.attorney, Role.paralegal, Role.viewer])
def test_other_roles_may_not_read_the_log(
    sessions: sessionmaker[Session], org: Organization, owner: Principal, principal_for: Factory, role: Role
) -> None:
    _seed(sessions, owner, owner)
    with sessions() as session:
        repo = AuditRepository(session, principal_for(org, role=role))
        with pytest.raises(Forbidden):
            repo.query()
        with pytest.raises(Forbidden):
            next(repo.iter_matching(AuditFilter()))


def test_an_admin_key_without_admin_scope_may_not_read_the_log(
    sessions: sessionmaker[Session], org: Organization
) -> None:
    key = Principal(organization_id=org.id, kind="api_key", role=Role.admin, scopes=frozenset({"read"}))
    with sessions() as session, pytest.raises(Forbidden):
        AuditRepository(session, key).query()


def test_export_streams_in_chain_order_across_batches(
    sessions: sessionmaker[Session], org: Organization, owner: Principal
) -> None:
    with transaction(sessions) as session:
        for i in range(7):
            record(session, owner, "search", details={"i": i})
    chain_pending(sessions)
    with sessions() as session:
        rows = AuditRepository(session, owner).iter_matching(AuditFilter(action="search"), batch_size=3)
        lines = list(iter_jsonl(rows))
    parsed = [json.loads(line) for line in lines]
    assert [p["seq"] for p in parsed] == list(range(1, 8))
    assert all(line.endswith("\n") and line.count("\n") == 1 for line in lines)
    assert parsed[0]["details"] == {"i": 0} and parsed[0]["created_at"].endswith("+00:00")
    assert parsed[1]["prev_hash"] == parsed[0]["hash"]


def test_csv_export_defuses_spreadsheet_formulas(
    sessions: sessionmaker[Session], org: Organization, owner: Principal
) -> None:
    hostile = ['=HYPERLINK("http://evil")', "+1+1", "-2+3", "@SUM(A1)", "\tcmd", "\rcmd"]
    with transaction(sessions) as session:
        for label in hostile:
            record(session, None, "auth.login_failed", organization_id=org.id, actor_label=label)
        record(session, owner, "search", target_id='plain, "quoted"\nvalue', details={"q": "=1"})
    with sessions() as session:
        text = "".join(iter_csv(AuditRepository(session, owner).iter_matching(AuditFilter())))
    header, *rows = list(csv.reader(io.StringIO(text, newline="")))
    assert header == list(COLUMNS)
    assert [r[COLUMNS.index("actor_label")] for r in rows[:6]] == ["'" + v for v in hostile]
    last = rows[6]
    assert last[COLUMNS.index("target_id")] == 'plain, "quoted"\nvalue'
    assert json.loads(last[COLUMNS.index("details")]) == {"q": "=1"}
    assert last[COLUMNS.index("matter_id")] == ""


def test_pending_events_are_listed_first_and_exported_after_the_chain(
    sessions: sessionmaker[Session], org: Organization, owner: Principal
) -> None:
    """Readers see events the chainer has not linked yet, and never trip on their NULL seq/hash."""
    with transaction(sessions) as session:
        for i in range(3):
            record(session, owner, "search", details={"i": i})
    chain_pending(sessions)
    with transaction(sessions) as session:
        for i in range(3, 5):
            record(session, owner, "search", details={"i": i})
    with sessions() as session:
        repo = AuditRepository(session, owner)
        rows, total = repo.query()
        assert total == 5
        assert [(r.seq, r.details["i"]) for r in rows] == [(None, 4), (None, 3), (3, 2), (2, 1), (1, 0)]
        page = AuditEventPage(
            items=[AuditEventOut.model_validate(r) for r in rows], total=total, offset=0, limit=100
        )
        assert [(e.pending, e.hash is None) for e in page.items[:3]] == [(True, True)] * 2 + [(False, False)]
        exported = [json.loads(line) for line in iter_jsonl(repo.iter_matching(AuditFilter(), batch_size=2))]
        csv_text = "".join(iter_csv(repo.iter_matching(AuditFilter())))
    assert [(e["seq"], e["details"]["i"]) for e in exported] == [(1, 0), (2, 1), (3, 2), (None, 3), (None, 4)]
    assert exported[-1]["hash"] is None and exported[-1]["prev_hash"] is None
    last = list(csv.reader(io.StringIO(csv_text, newline="")))[-1]
    assert [last[COLUMNS.index(c)] for c in ("seq", "prev_hash", "hash")] == ["", "", ""]


def test_export_started_before_chaining_still_lists_every_event_once(
    sessions: sessionmaker[Session], org: Organization, owner: Principal
) -> None:
    """Events chained while an export streams are neither lost nor listed twice."""
    with transaction(sessions) as session:
        for i in range(4):
            record(session, owner, "search", details={"i": i})
    chain_pending(sessions)
    with transaction(sessions) as session:
        for i in range(4, 8):
            record(session, owner, "search", details={"i": i})
    with sessions() as session:
        rows = AuditRepository(session, owner).iter_matching(AuditFilter(), batch_size=2)
        seen = [next(rows).details["i"]]
        chain_pending(sessions)  # the chainer links the pending tail mid-export
        seen += [event.details["i"] for event in rows]
    assert seen == list(range(8))


def test_verify_command_reports_each_organization(
    sessions: sessionmaker[Session],
    database_url: str,
    owner: Principal,
    make_org: Factory,
    principal_for: Factory,
) -> None:
    other_org = make_org("Krook Rag and Bottle")
    _seed(sessions, owner, principal_for(other_org))
    lines: list[str] = []
    assert verify_command(database_url, echo=lines.append) == 0
    assert sorted(line.split(" (head")[0] for line in lines) == [
        "org jarndyce-and-jarndyce: 4 events, chain intact",
        "org krook-rag-and-bottle: 1 events, chain intact",
    ]
    with transaction(sessions) as session:
        session.execute(
            update(AuditEvent)
            .where(AuditEvent.organization_id == owner.organization_id, AuditEvent.seq == 2)
            .values(target_id="forged")
        )
        event_id = session.scalar(
            select(AuditEvent.id).where(
                AuditEvent.organization_id == owner.organization_id, AuditEvent.seq == 2
            )
        )
    lines.clear()
    assert verify_command(database_url, echo=lines.append) == 1
    assert f"org jarndyce-and-jarndyce: BROKEN at seq 2 (event {event_id}): hash mismatch" in lines
    lines.clear()
    assert verify_command(database_url, other_org.id, echo=lines.append) == 0
    assert len(lines) == 1


def test_verify_reports_pending_events_and_a_chainer_that_is_not_running(
    sessions: sessionmaker[Session], database_url: str, org: Organization, owner: Principal
) -> None:
    with transaction(sessions) as session:
        record(session, owner, "search", details={"i": 0})
    chain_pending(sessions)
    with transaction(sessions) as session:
        record(session, owner, "search", details={"i": 1})
        record(session, owner, "search", details={"i": 2})
    with sessions() as session:
        [fresh] = verify_chain(session).chains
    assert fresh.intact and (fresh.events_checked, fresh.pending_count) == (1, 2)
    assert fresh.oldest_pending_seconds is not None and fresh.oldest_pending_seconds < 30
    assert not fresh.pending_stale
    with transaction(sessions) as session:  # as if no chainer had run for two minutes
        session.execute(
            update(AuditEvent)
            .where(AuditEvent.seq.is_(None))
            .values(created_at=utcnow() - timedelta(minutes=2))
        )
    with sessions() as session:
        report = verify_chain(session, stale_after_seconds=60)
    assert report.intact and report.pending_stale and report.pending_count == 2
    assert (report.chains[0].oldest_pending_seconds or 0) >= 120

    lines: list[str] = []
    assert verify_command(database_url, chain=False, stale_after_seconds=60, echo=lines.append) == 3
    assert lines[0].startswith("org jarndyce-and-jarndyce: 1 events, chain intact (head seq 1 ")
    assert "; 2 pending, not yet chained (oldest 12" in lines[0]
    assert "2 events still pending after 12" in lines[1] and "not protected" in lines[1]

    lines.clear()  # chaining (the default) links them, and still says they had waited too long
    assert verify_command(database_url, stale_after_seconds=60, echo=lines.append) == 3
    assert lines[0].startswith("org jarndyce-and-jarndyce: 3 events, chain intact (head seq 3 ")
    assert "pending" not in lines[0]
    assert "2 events were pending for up to 12" in lines[1] and "chainer running" in lines[1]

    lines.clear()
    assert verify_command(database_url, stale_after_seconds=60, echo=lines.append) == 0
    assert len(lines) == 1
