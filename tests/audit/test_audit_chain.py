"""The hash chain: built gapless per organization, and every kind of tampering is found.

Events are recorded pending and linked by the chainer; these tests chain (``chain_pending``)
before they read or tamper with the chain, as ``legalai audit verify`` does."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.orm import Session, sessionmaker

from legalai.accounts.models import AuditEvent, Organization
from legalai.accounts.principal import Principal
from legalai.audit import chain_pending, record, verify_chain
from legalai.audit.service import GENESIS_HASH, event_hash
from legalai.kit.db import transaction

Factory = Callable[..., Any]


def _append(sessions: sessionmaker[Session], principal: Principal, n: int) -> None:
    with transaction(sessions) as session:
        for i in range(n):
            record(session, principal, "document.view", target_type="document", target_id=f"d{i}")
    assert chain_pending(sessions) == n


def _chain(sessions: sessionmaker[Session], org_id: str) -> list[AuditEvent]:
    with sessions() as session:
        stmt = select(AuditEvent).where(AuditEvent.organization_id == org_id).order_by(AuditEvent.seq)
        return list(session.scalars(stmt))


def _broken(sessions: sessionmaker[Session], org_id: str) -> tuple[int, str]:
    with sessions() as session:
        report = verify_chain(session, org_id)
    broken = report.chains[0].broken
    assert broken is not None, "tampering went unnoticed"
    return broken.seq, broken.reason


def _tamper(sessions: sessionmaker[Session], org_id: str, at: int, **values: Any) -> None:
    """A direct SQL UPDATE, as someone with database access would do it."""
    with transaction(sessions) as session:
        session.execute(
            update(AuditEvent)
            .where(AuditEvent.organization_id == org_id, AuditEvent.seq == at)
            .values(**values)
        )


@pytest.fixture
def org(make_org: Factory) -> Organization:
    result: Organization = make_org("Dewey Cheatem")
    return result


@pytest.fixture
def owner(org: Organization, principal_for: Factory) -> Principal:
    result: Principal = principal_for(org)
    return result


def test_chain_links_each_event_to_the_previous(
    sessions: sessionmaker[Session], org: Organization, owner: Principal
) -> None:
    _append(sessions, owner, 5)
    events = _chain(sessions, org.id)
    assert [e.seq for e in events] == [1, 2, 3, 4, 5]
    assert events[0].prev_hash == GENESIS_HASH
    assert [e.prev_hash for e in events[1:]] == [e.hash for e in events[:-1]]
    assert len({e.hash for e in events}) == 5
    with sessions() as session:
        report = verify_chain(session)
    assert report.intact
    [chain] = report.chains
    assert (chain.events_checked, chain.head_seq, chain.head_hash) == (5, 5, events[-1].hash)


def test_hash_covers_the_stored_fields_exactly(
    sessions: sessionmaker[Session], org: Organization, owner: Principal
) -> None:
    with transaction(sessions) as session:
        record(session, owner, "search", details={"query": "indemnité « force majeure »", "n": 1.5})
    chain_pending(sessions)
    [event] = _chain(sessions, org.id)  # read back from the database, not the object written
    fields = {c.name: getattr(event, c.name) for c in AuditEvent.__table__.columns}
    assert event.prev_hash == GENESIS_HASH and event.seq == 1
    assert event_hash(event.prev_hash, fields) == event.hash
    assert event_hash(event.prev_hash, {**fields, "outcome": "failure"}) != event.hash


def test_small_batches_walk_the_whole_chain(
    sessions: sessionmaker[Session], org: Organization, owner: Principal
) -> None:
    _append(sessions, owner, 7)
    with sessions() as session:
        report = verify_chain(session, org.id, batch_size=2)
    assert report.intact and report.chains[0].events_checked == 7
    _tamper(sessions, org.id, 6, target_id="other")
    with sessions() as session:
        broken = verify_chain(session, org.id, batch_size=2).chains[0].broken
    assert broken is not None and (broken.seq, broken.reason) == (6, "hash mismatch")


@pytest.mark.parametrize(
    "values",
    [
        {"details": {"note": "nothing to see"}},
        {"action": "search"},
        {"actor_label": "someone-else@example.com"},
    ],
    ids=["details", "action", "actor"],
)
def test_editing_an_event_is_a_hash_mismatch(
    sessions: sessionmaker[Session], org: Organization, owner: Principal, values: dict[str, Any]
) -> None:
    _append(sessions, owner, 4)
    _tamper(sessions, org.id, 3, **values)
    assert _broken(sessions, org.id) == (3, "hash mismatch")


def test_edit_with_recomputed_hash_breaks_the_next_link(
    sessions: sessionmaker[Session], org: Organization, owner: Principal
) -> None:
    _append(sessions, owner, 4)
    event = _chain(sessions, org.id)[1]
    fields = {c.name: getattr(event, c.name) for c in AuditEvent.__table__.columns}
    fields["action"] = "search"
    _tamper(sessions, org.id, 2, action="search", hash=event_hash(event.prev_hash, fields))
    assert _broken(sessions, org.id) == (3, "prev_hash does not match previous event")


def test_deleting_a_middle_event_is_a_sequence_gap(
    sessions: sessionmaker[Session], org: Organization, owner: Principal
) -> None:
    _append(sessions, owner, 5)
    with transaction(sessions) as session:
        session.execute(
            text("DELETE FROM audit_events WHERE organization_id = :o AND seq = 3"), {"o": org.id}
        )
    assert _broken(sessions, org.id) == (4, "sequence gap: expected 3 got 4")


def test_deleting_the_first_event_is_a_sequence_gap(
    sessions: sessionmaker[Session], org: Organization, owner: Principal
) -> None:
    _append(sessions, owner, 2)
    with transaction(sessions) as session:
        session.execute(
            text("DELETE FROM audit_events WHERE organization_id = :o AND seq = 1"), {"o": org.id}
        )
    assert _broken(sessions, org.id) == (2, "sequence gap: expected 1 got 2")


def test_altered_prev_hash_is_detected(
    sessions: sessionmaker[Session], org: Organization, owner: Principal
) -> None:
    _append(sessions, owner, 3)
    _tamper(sessions, org.id, 2, prev_hash="f" * 64)
    assert _broken(sessions, org.id) == (2, "prev_hash does not match previous event")


def test_swapped_events_are_detected(
    sessions: sessionmaker[Session], org: Organization, owner: Principal
) -> None:
    _append(sessions, owner, 4)
    _tamper(sessions, org.id, 2, seq=-2)
    _tamper(sessions, org.id, 3, seq=2)
    _tamper(sessions, org.id, -2, seq=3)
    assert _broken(sessions, org.id) == (2, "prev_hash does not match previous event")


def test_unchaining_a_middle_event_is_a_sequence_gap(
    sessions: sessionmaker[Session], org: Organization, owner: Principal
) -> None:
    """Setting a chained event back to pending does not let the chainer launder it: it is linked
    again at the head, and the hole it leaves in the middle is found."""
    _append(sessions, owner, 4)
    _tamper(sessions, org.id, 2, seq=None, prev_hash=None, hash=None)
    assert chain_pending(sessions) == 1
    assert [e.seq for e in _chain(sessions, org.id)] == [1, 3, 4, 5]
    assert _broken(sessions, org.id) == (3, "sequence gap: expected 2 got 3")


def test_truncating_the_newest_event_only_shows_in_the_head(
    sessions: sessionmaker[Session], org: Organization, owner: Principal
) -> None:
    """Documented limitation: a shorter chain is still valid; the head must be anchored elsewhere."""
    _append(sessions, owner, 3)
    with sessions() as session:
        before = verify_chain(session, org.id).chains[0]
    with transaction(sessions) as session:
        session.execute(
            text("DELETE FROM audit_events WHERE organization_id = :o AND seq = 3"), {"o": org.id}
        )
    with sessions() as session:
        after = verify_chain(session, org.id).chains[0]
    assert after.intact
    assert (after.head_seq, after.head_hash) != (before.head_seq, before.head_hash)


def test_organizations_have_independent_chains(
    sessions: sessionmaker[Session], make_org: Factory, principal_for: Factory
) -> None:
    first, second = make_org("First Firm"), make_org("Second Firm")
    _append(sessions, principal_for(first), 3)
    _append(sessions, principal_for(second), 2)
    _append(sessions, principal_for(first), 1)
    assert [e.seq for e in _chain(sessions, first.id)] == [1, 2, 3, 4]
    assert [e.seq for e in _chain(sessions, second.id)] == [1, 2]
    assert _chain(sessions, second.id)[0].prev_hash == GENESIS_HASH
    _tamper(sessions, first.id, 2, outcome="failure")
    with sessions() as session:
        report = verify_chain(session)
    by_org = {c.organization_id: c for c in report.chains}
    assert not report.intact
    assert by_org[second.id].intact and not by_org[first.id].intact


def _concurrent_appends(
    sessions: sessionmaker[Session], principal: Principal, threads: int, each: int
) -> None:
    errors: list[BaseException] = []
    start = threading.Barrier(threads)

    def worker(n: int) -> None:
        try:
            start.wait()
            for i in range(each):
                with transaction(sessions) as session:
                    record(session, principal, "search", details={"worker": n, "i": i})
        except BaseException as exc:
            errors.append(exc)

    pool = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    assert errors == []


def test_concurrent_appends_keep_one_gapless_chain(
    sessions: sessionmaker[Session], org: Organization, owner: Principal
) -> None:
    _concurrent_appends(sessions, owner, threads=4, each=10)
    assert chain_pending(sessions) == 40
    assert [e.seq for e in _chain(sessions, org.id)] == list(range(1, 41))
    with sessions() as session:
        assert verify_chain(session, org.id).intact
