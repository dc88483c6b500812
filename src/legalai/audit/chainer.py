"""Link pending audit events into their organization's hash chain, in batches, one chainer at a time.

``record`` inserts events pending (``seq``, ``prev_hash``, ``hash`` NULL) without any lock. Here a
single chainer at a time (per database) takes a lock that requests never take:

- PostgreSQL: ``pg_try_advisory_xact_lock`` on a fixed key, tried (never waited on by requests);
- SQLite: ``BEGIN IMMEDIATE``, the database's write lock, held for one short batch.

then reads pending events in id order, gives each organization's events ``seq = head + 1...`` with
``prev_hash``/``hash`` exactly as ``event_hash`` has always computed them, and commits. One batch
is one transaction: a crash mid-batch leaves every event of it pending, none half-linked.

On PostgreSQL ids are drawn at INSERT but transactions commit in any order, so a smaller id can
become visible after a larger one was chained. Each round therefore takes "pending, by id", never
"id above the last chained": such a late event is simply chained in the next round, at the head.

``AuditChainer`` runs rounds in a daemon thread of each API and worker process (the runtime starts
and stops it); ``chain_pending`` runs them now, for ``legalai audit verify``, exports and tests.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, cast

from sqlalchemy import Connection, Engine, Table, bindparam, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from legalai.accounts.models import AuditEvent
from legalai.audit.repository import chain_head
from legalai.audit.service import GENESIS_HASH, event_hash
from legalai.observability.logging import get_logger

log = get_logger(__name__)

# The single-chainer lock on PostgreSQL (advisory locks are per database): "legalai" in ASCII.
CHAINER_LOCK_KEY = 0x6C6567616C6169
_TABLE = cast(Table, AuditEvent.__table__)
_COLUMNS = tuple(_TABLE.columns)


def _engine_of(target: Engine | sessionmaker[Session]) -> Engine:
    if isinstance(target, Engine):
        return target
    bind = target.kw.get("bind")
    if not isinstance(bind, Engine):
        raise TypeError("chain_pending needs an Engine or a sessionmaker bound to one")
    return bind


def _lock_postgres(conn: Connection, wait_seconds: float) -> bool:
    deadline = time.monotonic() + wait_seconds
    while True:
        taken = conn.execute(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": CHAINER_LOCK_KEY})
        if taken.scalar():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.02)


def _lock_sqlite(conn: Connection, wait_seconds: float) -> bool:
    """BEGIN IMMEDIATE: the write lock now (so reading the heads and linking are one atomic step),
    waiting at most ``wait_seconds`` for a committing request to finish."""
    from sqlalchemy.exc import OperationalError

    usual = int(conn.exec_driver_sql("PRAGMA busy_timeout").scalar() or 0)  # the engine's setting
    conn.exec_driver_sql(f"PRAGMA busy_timeout = {int(wait_seconds * 1000)}")
    try:
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    except OperationalError as exc:
        if "locked" in str(exc) or "busy" in str(exc):
            return False
        raise
    finally:
        conn.exec_driver_sql(f"PRAGMA busy_timeout = {usual}")
    return True


def _take_lock(conn: Connection, wait_seconds: float) -> bool:
    if conn.dialect.name == "postgresql":
        return _lock_postgres(conn, wait_seconds)
    return _lock_sqlite(conn, wait_seconds)


def link(head: tuple[int, str] | None, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """seq, prev_hash and hash for one organization's pending rows (in id order) after ``head``.

    The hash covers the fields as read back from the database, exactly what ``verify_chain`` reads.
    """
    seq, prev_hash = (0, GENESIS_HASH) if head is None else head
    linked = []
    for row in rows:
        seq += 1
        digest = event_hash(prev_hash, {**row, "seq": seq})
        linked.append({"b_id": row["id"], "b_seq": seq, "b_prev_hash": prev_hash, "b_hash": digest})
        prev_hash = digest
    return linked


_LINK = (
    update(_TABLE)
    .where(_TABLE.c.id == bindparam("b_id"), _TABLE.c.seq.is_(None))
    .values(seq=bindparam("b_seq"), prev_hash=bindparam("b_prev_hash"), hash=bindparam("b_hash"))
)


def chain_batch(engine: Engine, *, batch_size: int = 500, wait_seconds: float = 0.0) -> int | None:
    """Link up to ``batch_size`` pending events in one transaction. Returns how many, or None if
    another chainer held the lock for longer than ``wait_seconds``."""
    with engine.connect() as conn:
        if not _take_lock(conn, wait_seconds):
            conn.rollback()
            return None
        pending = conn.execute(
            select(*_COLUMNS).where(_TABLE.c.seq.is_(None)).order_by(_TABLE.c.id).limit(batch_size)
        ).all()
        by_org: dict[str, list[dict[str, Any]]] = {}
        for row in pending:
            by_org.setdefault(row.organization_id, []).append(dict(row._mapping))
        for org, rows in by_org.items():  # any error here rolls the whole batch back
            updates = link(chain_head(conn, org), rows)
            result = conn.execute(_LINK, updates)
            if conn.dialect.supports_sane_multi_rowcount and result.rowcount != len(updates):
                raise RuntimeError(f"linked {result.rowcount} of {len(updates)} pending audit events")
        conn.commit()
        return len(pending)


def chain_pending(
    target: Engine | sessionmaker[Session],
    *,
    batch_size: int = 500,
    wait_seconds: float = 10.0,
    should_stop: Callable[[], bool] = lambda: False,
) -> int:
    """Link every pending event now, batch after batch; returns how many were linked.

    Waits up to ``wait_seconds`` for another chainer's batch (0: try once, as the background
    thread does); events still pending after that stay pending for the next round.
    """
    engine = _engine_of(target)
    total = 0
    while True:
        linked = chain_batch(engine, batch_size=batch_size, wait_seconds=wait_seconds)
        if linked is None:
            return total
        total += linked
        if linked < batch_size or should_stop():
            return total


class AuditChainer:
    """A daemon thread that chains pending events every ``interval_seconds``.

    ``stop()`` is prompt: it wakes the thread, waits at most ``timeout`` for the round in progress,
    then chains what is pending one last time from the calling thread.
    """

    def __init__(self, engine: Engine, *, interval_seconds: float = 0.5, batch_size: int = 500) -> None:
        self.engine = engine
        self.interval_seconds = interval_seconds
        self.batch_size = batch_size
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="legalai-audit-chainer", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_seconds):
            self.tick()

    def tick(self) -> int:
        """One round: chain what is pending unless another chainer is at it. Never raises."""
        try:
            return chain_pending(
                self.engine, batch_size=self.batch_size, wait_seconds=0.0, should_stop=self._stop.is_set
            )
        except Exception as exc:  # noqa: BLE001 - keep chaining; the next round may succeed
            log.warning("audit.chain_failed", error=str(exc))
            return 0

    def stop(self, timeout: float = 5.0) -> int:
        """Stop the thread and chain what is pending one last time; returns how many that linked."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout)
            if thread.is_alive():
                log.warning("audit.chainer_stop_timeout", seconds=timeout)
        try:
            return chain_pending(self.engine, batch_size=self.batch_size, wait_seconds=min(timeout, 5.0))
        except Exception as exc:  # noqa: BLE001 - shutting down: report, do not hang or crash
            log.warning("audit.final_chain_failed", error=str(exc))
            return 0
