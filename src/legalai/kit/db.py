"""Engine, sessions and the declarative base shared by every domain package."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import structlog
from sqlalchemy import BigInteger, DateTime, Engine, Integer, MetaData, String, create_engine, event
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker
from sqlalchemy.pool import NullPool

_log = structlog.get_logger("legalai.kit.db")

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# Integer primary keys that are 64-bit on PostgreSQL and rowid-compatible on SQLite (FTS5 needs that).
BigIntPK = BigInteger().with_variant(Integer(), "sqlite")


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id() -> str:
    return uuid.uuid4().hex


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class UUIDPk:
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)


class Timestamps:
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, nullable=False)


@dataclass(frozen=True)
class DatabaseLimits:
    """Every wait the database can impose on a caller, bounded.

    ``pool_timeout``: seconds to wait for a free connection before the pool raises (the API turns
    that into 503 with Retry-After). PostgreSQL: ``statement_timeout`` and ``lock_timeout`` cancel
    a statement that runs or waits too long, ``idle_in_transaction_timeout`` ends a session that
    holds a transaction open and does nothing (a stuck client, a forgotten session), and
    ``connect_timeout`` bounds connecting to a server that is down. SQLite: ``busy_timeout``
    bounds the wait for the single write lock. Milliseconds unless named seconds; 0 = no limit.
    """

    pool_size: int = 10
    max_overflow: int = 10
    pool_timeout: float = 5.0
    statement_timeout_ms: int = 30_000
    lock_timeout_ms: int = 5_000
    idle_in_transaction_timeout_ms: int = 60_000
    connect_timeout_seconds: int = 5
    busy_timeout_ms: int = 5_000


def make_engine(
    url: str,
    *,
    pool_size: int | None = None,
    for_worker_child: bool = False,
    limits: DatabaseLimits | None = None,
) -> Engine:
    limits = limits or DatabaseLimits()
    if pool_size is not None:
        limits = replace(limits, pool_size=pool_size, max_overflow=pool_size)
    if url.startswith("sqlite"):
        busy_ms = limits.busy_timeout_ms
        in_memory = url in ("sqlite://", "sqlite:///:memory:") or "mode=memory" in url
        pool_args: dict[str, Any] = (
            {}
            if in_memory
            else {
                "pool_size": limits.pool_size,
                "max_overflow": limits.max_overflow,
                "pool_timeout": limits.pool_timeout,
            }
        )
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": busy_ms / 1000}, **pool_args
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute(f"PRAGMA busy_timeout={int(busy_ms)}")
            cur.close()

        return engine
    connect_args: dict[str, Any] = {}
    if url.startswith(("postgresql", "postgres")):
        options = " ".join(
            f"-c {name}={value}"
            for name, value in (
                ("statement_timeout", limits.statement_timeout_ms),
                ("lock_timeout", limits.lock_timeout_ms),
                ("idle_in_transaction_session_timeout", limits.idle_in_transaction_timeout_ms),
            )
        )
        connect_args = {"options": options, "connect_timeout": limits.connect_timeout_seconds}
    if for_worker_child:
        return create_engine(url, poolclass=NullPool, connect_args=connect_args)
    return create_engine(
        url,
        pool_size=limits.pool_size,
        max_overflow=limits.max_overflow,
        pool_timeout=limits.pool_timeout,
        pool_pre_ping=True,
        connect_args=connect_args,
    )


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


_AFTER_COMMIT_KEY = "legalai_after_commit"


def after_commit(session: Session, callback: Callable[[], None]) -> None:
    """Run ``callback`` once the session's transaction has committed (dropped on rollback).

    Jobs are enqueued this way so a worker never sees an id whose row is not yet visible.
    """
    session.info.setdefault(_AFTER_COMMIT_KEY, []).append(callback)


@event.listens_for(Session, "after_commit")
def _run_after_commit(session: Session) -> None:
    # SQLAlchemy emits after_commit for a released SAVEPOINT too; only the outermost commit counts,
    # or a job would be sent before its rows are visible to the worker.
    if session.in_nested_transaction():
        return
    callbacks = session.info.pop(_AFTER_COMMIT_KEY, [])
    for callback in callbacks:
        try:
            callback()
        except Exception as exc:  # noqa: BLE001 - the commit stands; the sweeper resends what is lost
            # What an after-commit callback does (sending a job) is recovered from the database
            # by the sweeper; failing the request now would report an error for committed work.
            _log.warning("after_commit.failed", error=f"{type(exc).__name__}: {exc}"[:300])


@event.listens_for(Session, "after_soft_rollback")
def _drop_after_commit(session: Session, previous_transaction: Any) -> None:
    # A SAVEPOINT rolled back (a handled conflict) leaves the outer transaction, and its jobs, alive.
    if session.in_transaction():
        return
    session.info.pop(_AFTER_COMMIT_KEY, None)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A unit of work owned by a job or a CLI command: commit on success, roll back on error."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


# Tables whose planner statistics matter for search and listing plans.
_HOT_TABLES = ("chunks", "pages", "documents", "document_versions")


def refresh_planner_statistics(engine: Engine) -> list[str]:
    """ANALYZE the hot tables whose statistics are stale, as autovacuum would (PostgreSQL only).

    A bulk ingest into a fresh matter leaves the planner blind until autovacuum analyzes, and
    some servers run with autovacuum off; full-text plans made blind are several times slower.
    Returns the tables analyzed.
    """
    if engine.dialect.name != "postgresql":
        return []
    from sqlalchemy import text

    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT relname, n_mod_since_analyze, n_live_tup FROM pg_stat_user_tables "
                "WHERE schemaname = current_schema() AND relname = ANY(:tables)"
            ),
            {"tables": list(_HOT_TABLES)},
        ).all()
    stale = [name for name, modified, live in rows if modified > 500 + 0.1 * live]
    for name in stale:
        with engine.begin() as conn:
            conn.execute(text(f'ANALYZE "{name}"'))
    return stale
