"""Which failures mean "a dependency is down or saturated" (answer 503, retry later), not a bug.

    sqlalchemy.exc.TimeoutError                 pool checkout timed out            database / busy
    OperationalError (SQLite "database is locked", PostgreSQL statement or lock timeout,
                      too many connections)                                      database / busy
    OperationalError, InterfaceError, or a DBAPIError that invalidated its connection
                      (server down, connection refused or dropped)                database / unreachable
    redis ConnectionError / TimeoutError, dramatiq BrokerConnectionError               redis / unreachable

Everything else is left alone: a programming error must stay a logged 500.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

import dramatiq.errors
import redis.exceptions
from sqlalchemy import exc as sa_exc


@dataclass(frozen=True)
class Unavailable:
    dependency: str  # "database", "redis", "storage"
    reason: str  # "busy" or "unreachable"
    retry_after: int  # seconds


BUSY = 2
DOWN = 5

# The exception classes the API maps (each handler then asks ``classify_unavailable``).
DEPENDENCY_ERRORS: tuple[type[BaseException], ...] = (
    sa_exc.TimeoutError,
    sa_exc.DBAPIError,
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    dramatiq.errors.BrokerConnectionError,
)

# PostgreSQL SQLSTATEs that mean "overloaded, try again": query_canceled (statement_timeout),
# lock_not_available (lock_timeout), too_many_connections, cannot_connect_now (starting up),
# admin_shutdown / crash_shutdown (the server is stopping).
_PG_BUSY = {"57014", "55P03", "53300"}
_PG_DOWN = {"57P01", "57P02", "57P03", "08000", "08001", "08003", "08004", "08006"}


def _sqlstate(orig: BaseException | None) -> str:
    return str(getattr(orig, "sqlstate", "") or getattr(orig, "pgcode", "") or "")


def classify_unavailable(exc: BaseException) -> Unavailable | None:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:  # look through wrapping exceptions
        seen.add(id(current))
        found = _classify_one(current)
        if found is not None:
            return found
        current = current.__cause__ or current.__context__
    return None


def _classify_one(exc: BaseException) -> Unavailable | None:
    if isinstance(exc, sa_exc.TimeoutError):
        return Unavailable("database", "busy", BUSY)
    if isinstance(exc, sa_exc.DBAPIError):
        orig = exc.orig
        if isinstance(orig, sqlite3.OperationalError):
            message = str(orig).lower()
            if "locked" in message or "busy" in message:
                return Unavailable("database", "busy", BUSY)
            return None  # e.g. "no such table": a real error
        state = _sqlstate(orig)
        if state in _PG_BUSY:
            return Unavailable("database", "busy", BUSY)
        if state in _PG_DOWN or exc.connection_invalidated:
            return Unavailable("database", "unreachable", DOWN)
        if isinstance(exc, sa_exc.OperationalError | sa_exc.InterfaceError) and not state:
            # psycopg raises OperationalError without SQLSTATE when it cannot connect at all.
            return Unavailable("database", "unreachable", DOWN)
        return None
    if isinstance(exc, redis.exceptions.ConnectionError | redis.exceptions.TimeoutError):
        return Unavailable("redis", "unreachable", DOWN)
    if isinstance(exc, dramatiq.errors.BrokerConnectionError):
        return Unavailable("redis", "unreachable", DOWN)
    return None
