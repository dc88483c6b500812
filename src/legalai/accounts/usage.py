"""When API keys and web sessions were last used, written in batches instead of by each request.

Recording "last used" inside the request made every read a write: on SQLite the request then held
the single write lock for the rest of its transaction, and every other request waited for it;
on PostgreSQL concurrent requests with one key queued on that key's row lock. Requests now only
note the time in memory; a background thread writes the latest time per key and per session
every ``interval`` seconds in one short transaction, and once more when the process stops.

The idle timeout of web sessions reads ``last_seen_at``, which may therefore lag by up to
``interval`` plus the 30 s write granularity of :func:`accounts.service.resolve_web_session`:
negligible against an idle timeout measured in minutes.
"""

from __future__ import annotations

import threading
from datetime import datetime

from sqlalchemy import bindparam, or_, update
from sqlalchemy.orm import Session, sessionmaker

from legalai.accounts.models import ApiKey, WebSession
from legalai.kit.db import transaction
from legalai.observability.logging import get_logger

log = get_logger(__name__)


class UsageRecorder:
    def __init__(self, sessions: sessionmaker[Session], *, interval: float = 10.0) -> None:
        self._sessions = sessions
        self._interval = interval
        self._keys: dict[str, datetime] = {}
        self._web_sessions: dict[str, datetime] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def touch_key(self, key_id: str, when: datetime) -> None:
        with self._lock:
            self._keys[key_id] = max(when, self._keys.get(key_id, when))

    def touch_session(self, session_id: str, when: datetime) -> None:
        with self._lock:
            self._web_sessions[session_id] = max(when, self._web_sessions.get(session_id, when))

    def pending_keys(self) -> dict[str, datetime]:
        """Key uses noted and not yet written."""
        with self._lock:
            return dict(self._keys)

    def flush(self) -> int:
        """Write what was noted since the last flush; returns how many rows were offered."""
        with self._lock:
            keys, self._keys = self._keys, {}
            web_sessions, self._web_sessions = self._web_sessions, {}
        if not keys and not web_sessions:
            return 0
        try:
            with transaction(self._sessions) as session:
                if keys:
                    _write(session, ApiKey, "last_used_at", keys)
                if web_sessions:
                    _write(session, WebSession, "last_seen_at", web_sessions)
        except Exception:
            with self._lock:  # keep them for the next round; newer times win
                for key_id, when in keys.items():
                    self._keys[key_id] = max(when, self._keys.get(key_id, when))
                for sid, when in web_sessions.items():
                    self._web_sessions[sid] = max(when, self._web_sessions.get(sid, when))
            raise
        return len(keys) + len(web_sessions)

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()

        def loop() -> None:
            while not self._stop.wait(self._interval):
                try:
                    self.flush()
                except Exception as exc:  # noqa: BLE001 - retried next round; usage times are not critical
                    log.warning("usage.flush_failed", error=f"{type(exc).__name__}: {exc}"[:300])

        self._thread = threading.Thread(target=loop, name="legalai-usage", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        try:
            self.flush()
        except Exception as exc:  # noqa: BLE001 - shutting down: losing a last-used time is acceptable
            log.warning("usage.flush_failed", error=f"{type(exc).__name__}: {exc}"[:300])


def _write(
    session: Session, model: type[ApiKey] | type[WebSession], column: str, times: dict[str, datetime]
) -> None:
    target = getattr(model, column)
    stmt = (
        update(model)
        .where(model.id == bindparam("row_id"), or_(target.is_(None), target < bindparam("when")))
        .values({column: bindparam("when")})
        .execution_options(synchronize_session=False)
    )
    session.connection().execute(stmt, [{"row_id": k, "when": v} for k, v in sorted(times.items())])
