"""Recording never waits for another request; the chainer links everything committed, and only that.

Every test runs on SQLite and on PostgreSQL (the ``database_url`` fixture).
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from legalai.accounts.models import AuditEvent
from legalai.accounts.principal import Principal
from legalai.audit import chain_pending, record, verify_chain
from legalai.audit import chainer as chainer_module
from legalai.audit.chainer import AuditChainer
from legalai.kit.db import transaction
from tests.conftest import make_settings

Factory = Callable[..., Any]


class _Rollback(Exception):
    pass


def _rows(sessions: sessionmaker[Session], org_id: str | None = None) -> list[AuditEvent]:
    with sessions() as session:
        stmt = select(AuditEvent).order_by(AuditEvent.seq, AuditEvent.id)
        if org_id is not None:
            stmt = stmt.where(AuditEvent.organization_id == org_id)
        return list(session.scalars(stmt))


def _pending(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).where(AuditEvent.seq.is_(None))) or 0


def test_concurrent_transactions_with_a_chainer_running_chain_exactly_what_committed(
    sessions: sessionmaker[Session], make_org: Factory, principal_for: Factory
) -> None:
    """8 threads x 50 events, one transaction each, every 7th rolled back on purpose, two
    organizations, while a background chainer links as it goes."""
    busy, quiet = make_org("Busy Firm"), make_org("Quiet Firm")
    principals = {busy.id: principal_for(busy), quiet.id: principal_for(quiet)}
    threads, each = 8, 50
    committed: set[tuple[int, int]] = set()
    errors: list[BaseException] = []
    lock = threading.Lock()
    start = threading.Barrier(threads)
    chainer = AuditChainer(sessions.kw["bind"], interval_seconds=0.01, batch_size=37)
    chainer.start()

    def worker(n: int) -> None:
        org = quiet.id if n == threads - 1 else busy.id
        try:
            start.wait()
            for i in range(each):
                try:
                    with transaction(sessions) as session:
                        record(session, principals[org], "search", details={"worker": n, "i": i})
                        if (n * each + i) % 7 == 0:
                            raise _Rollback
                except _Rollback:
                    continue
                with lock:
                    committed.add((n, i))
        except BaseException as exc:
            errors.append(exc)

    pool = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    chainer.stop()  # the last round links what the thread had not reached yet
    chain_pending(sessions)
    assert errors == []
    rows = _rows(sessions)
    stored = [(r.details["worker"], r.details["i"]) for r in rows]
    assert Counter(stored) == Counter(committed)  # each committed event once, no rolled-back one
    assert len(committed) == threads * each - sum(1 for k in range(threads * each) if k % 7 == 0)
    assert all(r.seq is not None and r.hash is not None for r in rows)
    for org_id in (busy.id, quiet.id):
        seqs = [r.seq for r in rows if r.organization_id == org_id]
        assert seqs == list(range(1, len(seqs) + 1))
    assert len([r for r in rows if r.organization_id == quiet.id]) == len({k for k in committed if k[0] == 7})
    with sessions() as session:
        report = verify_chain(session)
    assert report.intact and report.pending_count == 0 and len(report.chains) == 2


def test_a_second_transaction_never_waits_for_an_open_one(
    sessions: sessionmaker[Session], make_org: Factory, principal_for: Factory
) -> None:
    """A records for organization X and stays open; B records for X on another connection and
    commits at once. On SQLite that also shows ``record`` took no write lock: B's commit writes."""
    org = make_org("Open Transaction LLP")
    owner: Principal = principal_for(org)
    first = sessions()
    first.execute(select(AuditEvent.id).limit(1))  # A has begun, and read
    record(first, owner, "document.view", target_id="from-A")
    elapsed: list[float] = []
    errors: list[BaseException] = []

    def second() -> None:
        began = time.monotonic()
        try:
            with transaction(sessions) as session:
                record(session, owner, "document.view", target_id="from-B")
            elapsed.append(time.monotonic() - began)
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=second)
    thread.start()
    thread.join(5)
    try:
        assert errors == [] and len(elapsed) == 1, "B waited for A"
        assert elapsed[0] < 1.0
        assert chain_pending(sessions, wait_seconds=1.0) == 1  # the chainer does not wait for A either
        assert [r.target_id for r in _rows(sessions)] == ["from-B"]
        first.commit()
    finally:
        first.close()
    assert chain_pending(sessions) == 1
    assert [(r.seq, r.target_id) for r in _rows(sessions)] == [(1, "from-B"), (2, "from-A")]
    with sessions() as session:
        assert verify_chain(session).intact


def test_an_uncommitted_pending_insert_blocks_nobody_on_postgresql(
    sessions: sessionmaker[Session], database_url: str, make_org: Factory, principal_for: Factory
) -> None:
    """Even once A's pending row is INSERTed (here by a SAVEPOINT), B and the chainer go on; A's
    smaller id commits after B's larger one and is chained after it, at the head."""
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite has one writer: an INSERTed row holds its write lock until the commit")
    org = make_org("Savepoint LLP")
    owner: Principal = principal_for(org)
    first = sessions()
    with first.begin_nested():
        a_event = record(first, owner, "search", target_id="from-A")
    assert a_event.id is not None  # INSERTed, not committed
    began = time.monotonic()
    with transaction(sessions) as session:
        b_event = record(session, owner, "search", target_id="from-B")
    assert chain_pending(sessions, wait_seconds=1.0) == 1
    assert time.monotonic() - began < 1.0
    first.commit()
    first.close()
    assert b_event.id is not None and a_event.id < b_event.id
    assert chain_pending(sessions) == 1
    assert [(r.seq, r.target_id) for r in _rows(sessions)] == [(1, "from-B"), (2, "from-A")]
    with sessions() as session:
        assert verify_chain(session).intact


def test_a_crash_mid_batch_leaves_nothing_half_linked(
    sessions: sessionmaker[Session],
    make_org: Factory,
    principal_for: Factory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """One batch is one transaction: the first organization's UPDATE has run when the second
    organization's head cannot be read, and it is rolled back with the rest."""
    first, second = make_org("First Crash"), make_org("Second Crash")
    with transaction(sessions) as session:
        for org in (first, second, first, second):
            record(session, principal_for(org), "search")
    real_head = chainer_module.chain_head
    heads_read: list[str] = []

    def crashing_head(conn: Any, org_id: str) -> tuple[int, str] | None:
        heads_read.append(org_id)
        if org_id == second.id:
            raise RuntimeError("the chainer's process dies here")
        return real_head(conn, org_id)

    monkeypatch.setattr(chainer_module, "chain_head", crashing_head)
    with pytest.raises(RuntimeError, match="dies here"):
        chain_pending(sessions)
    assert heads_read == [first.id, second.id]  # the first organization's UPDATE had run
    assert _pending(sessions) == 4
    assert all(r.prev_hash is None and r.hash is None for r in _rows(sessions))

    chainer = AuditChainer(sessions.kw["bind"])
    assert chainer.tick() == 0  # the background round logs the failure and carries on
    monkeypatch.setattr(chainer_module, "chain_head", real_head)
    assert chainer.tick() == 4
    for org in (first, second):
        assert [r.seq for r in _rows(sessions, org.id)] == [1, 2]
    with sessions() as session:
        assert verify_chain(session).intact


def test_a_second_chainer_skips_the_round_instead_of_waiting(
    sessions: sessionmaker[Session], database_url: str, make_org: Factory, principal_for: Factory
) -> None:
    """While one chainer holds the single-chainer lock, another tries, finds it taken, and returns."""
    org = make_org("Two Chainers")
    with transaction(sessions) as session:
        record(session, principal_for(org), "search")
    engine = sessions.kw["bind"]
    with engine.connect() as holder:
        assert chainer_module._take_lock(holder, 0.0)
        began = time.monotonic()
        assert chainer_module.chain_batch(engine, wait_seconds=0.0) is None
        assert chain_pending(engine, wait_seconds=0.2) == 0
        assert time.monotonic() - began < 2.0
        holder.rollback()
    assert chain_pending(engine) == 1


def test_stopping_the_chainer_is_prompt_and_chains_what_is_pending(
    sessions: sessionmaker[Session], make_org: Factory, principal_for: Factory
) -> None:
    org = make_org("Shutdown LLP")
    chainer = AuditChainer(sessions.kw["bind"], interval_seconds=60.0)
    chainer.start()
    assert chainer.running
    with transaction(sessions) as session:
        for _ in range(3):
            record(session, principal_for(org), "search")
    began = time.monotonic()
    assert chainer.stop() == 3
    assert time.monotonic() - began < 2.0
    assert not chainer.running
    assert _pending(sessions) == 0


def test_the_api_chains_in_the_background_and_on_shutdown(tmp_path: Path, database_url: str) -> None:
    """The app's lifespan starts the runtime's chainer; closing the runtime links the rest."""
    from legalai.app import create_app
    from tests.conftest import authorize

    settings = make_settings(tmp_path, database_url, audit_chain_interval_seconds=0.05)
    with TestClient(create_app(settings)) as client:
        authorize(client)
        runtime = client.app.state.runtime  # type: ignore[attr-defined]
        assert runtime.audit_chainer is not None and runtime.audit_chainer.running
        assert client.post("/api/v1/matters", json={"name": "Chained"}).status_code == 201
        deadline = time.monotonic() + 10
        while _pending(runtime.sessions) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _pending(runtime.sessions) == 0
        events = client.get("/api/v1/audit/events").json()["items"]
        assert events[0]["action"] == "matter.create" and events[0]["seq"] >= 1
        runtime.audit_chainer.interval_seconds = 3600.0  # few or no rounds before shutdown
        assert client.post("/api/v1/matters", json={"name": "Last one"}).status_code == 201
    assert runtime.audit_chainer is None  # stopped by the lifespan, after a last round
    with runtime.sessions() as session:
        report = verify_chain(session)
    assert report.intact and report.pending_count == 0
    assert report.chains[0].events_checked >= 2


@pytest.mark.slow
@pytest.mark.xdist_group("redis-worker")
def test_the_worker_process_chains_and_stops_promptly(
    sessions: sessionmaker[Session],
    database_url: str,
    tmp_path: Path,
    make_org: Factory,
    principal_for: Factory,
) -> None:
    """`legalai worker` runs a chainer too, and SIGTERM stops it at once after a last round."""
    import os
    import signal
    import subprocess
    import sys
    import uuid

    from tests.conftest import REDIS_URL
    from tests.documents.test_redis_worker import _env

    if not REDIS_URL:
        pytest.skip("LEGALAI_TEST_REDIS_URL is not set")
    if not database_url.startswith("postgresql"):  # ~25 s of process start-up; the hook is the same
        pytest.skip("separate worker processes run against PostgreSQL; the SQLite path is the same hook")
    org = make_org("Worker Chained")
    settings = make_settings(
        tmp_path,
        database_url,
        redis_url=REDIS_URL,
        redis_namespace=f"legalai-test-{uuid.uuid4().hex[:8]}",
        worker_mode="external",
        audit_chain_interval_seconds=0.1,
    )
    log = tmp_path / "worker.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "legalai.cli", "worker", "--threads", "1"],
        env={**_env(settings), "PYTHONUNBUFFERED": "1"},
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )
    try:
        with transaction(sessions) as session:
            record(session, principal_for(org), "search", target_id="first")
        deadline = time.monotonic() + 60
        while _pending(sessions):
            assert time.monotonic() < deadline, log.read_text()[-4000:]
            assert proc.poll() is None, log.read_text()[-4000:]
            time.sleep(0.1)
        with transaction(sessions) as session:
            record(session, principal_for(org), "search", target_id="second")
        began = time.monotonic()
        os.kill(proc.pid, signal.SIGTERM)
        assert proc.wait(20) == 0, log.read_text()[-4000:]
        assert time.monotonic() - began < 15
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    assert _pending(sessions) == 0
    assert [(r.seq, r.target_id) for r in _rows(sessions)] == [(1, "first"), (2, "second")]
