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
from legalai.audit import record
from legalai.audit.cli import verify_command
from legalai.audit.export import COLUMNS, iter_csv, iter_jsonl
from legalai.audit.repository import AuditFilter, AuditRepository
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
