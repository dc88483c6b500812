"""Under load a request never waits without bound: reads do not write, a saturated or unreachable
database answers 503 with Retry-After (not 500, not a hang), and the process sheds what it cannot
admit."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text

from legalai.accounts.models import ApiKey
from legalai.app import create_app
from legalai.kit.admission import AdmissionControl
from tests.conftest import authorize, make_settings


def _key_last_used(client: TestClient) -> Any:
    runtime = client.app.state.runtime  # type: ignore[attr-defined]
    with runtime.sessions() as session:
        return session.scalar(select(ApiKey.last_used_at))


def test_key_use_is_recorded_in_batches_not_by_the_request(client: TestClient) -> None:
    assert _key_last_used(client) is None
    assert client.get("/api/v1/matters").status_code == 200
    assert _key_last_used(client) is None  # the request itself wrote nothing
    runtime = client.app.state.runtime  # type: ignore[attr-defined]
    assert runtime.usage.flush() == 1
    assert _key_last_used(client) is not None


def test_a_read_with_an_api_key_does_not_wait_for_the_sqlite_write_lock(tmp_path: Path) -> None:
    """Another connection holds SQLite's write lock; a read must still answer at once."""
    db = tmp_path / "legalai.db"
    settings = make_settings(tmp_path, f"sqlite:///{db}", database_busy_timeout_ms=3000)
    from legalai.kit.db import make_engine
    from legalai.kit.migrate import upgrade

    engine = make_engine(settings.resolved_database_url)
    upgrade(engine)
    engine.dispose()
    with TestClient(create_app(settings)) as client:
        authorize(client)
        matter = client.post("/api/v1/matters", json={"name": "M"}).json()["id"]
        writer = sqlite3.connect(db, timeout=0.1, isolation_level=None)
        writer.execute("BEGIN IMMEDIATE")  # the single write lock, held
        try:
            started = time.monotonic()
            paths = ("/api/v1/matters", f"/api/v1/matters/{matter}", f"/api/v1/matters/{matter}/documents")
            for path in paths:
                response = client.get(path)
                assert response.status_code == 200, (path, response.text)
            assert time.monotonic() - started < 2.0
        finally:
            writer.execute("ROLLBACK")
            writer.close()


def test_a_write_blocked_by_the_sqlite_write_lock_answers_503_with_retry_after(tmp_path: Path) -> None:
    db = tmp_path / "legalai.db"
    settings = make_settings(tmp_path, f"sqlite:///{db}", database_busy_timeout_ms=300)
    from legalai.kit.db import make_engine
    from legalai.kit.migrate import upgrade

    engine = make_engine(settings.resolved_database_url)
    upgrade(engine)
    engine.dispose()
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        authorize(client)
        writer = sqlite3.connect(db, timeout=0.1, isolation_level=None)
        writer.execute("BEGIN IMMEDIATE")
        try:
            started = time.monotonic()
            response = client.post("/api/v1/matters", json={"name": "Blocked"})
            elapsed = time.monotonic() - started
        finally:
            writer.execute("ROLLBACK")
            writer.close()
        assert response.status_code == 503, response.text
        assert response.headers["retry-after"] == "2"
        body = response.json()
        assert body["dependency"] == "database"
        assert "busy" in body["detail"]
        assert elapsed < 3.0
        # The lock is gone: the same request now succeeds, nothing was half-written.
        assert client.post("/api/v1/matters", json={"name": "Blocked"}).status_code == 201
        names = [m["name"] for m in client.get("/api/v1/matters").json()]
        assert names.count("Blocked") == 1


def test_pool_exhaustion_answers_503_quickly(tmp_path: Path, database_url: str) -> None:
    """Every connection is taken (by something outside any request): requests get 503 within the
    pool timeout, with Retry-After, instead of waiting 30 s and failing with 500."""
    settings = make_settings(
        tmp_path,
        database_url,
        database_pool_size=2,
        database_max_overflow=0,
        database_pool_timeout_seconds=0.3,
        max_concurrent_requests=8,
    )
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        authorize(client)
        runtime = client.app.state.runtime  # type: ignore[attr-defined]
        held = [runtime.engine.connect() for _ in range(2)]
        try:
            for conn in held:
                conn.execute(text("SELECT 1"))
            started = time.monotonic()
            response = client.get("/api/v1/matters")
            elapsed = time.monotonic() - started
        finally:
            for conn in held:
                conn.close()
        assert response.status_code == 503, response.text
        assert int(response.headers["retry-after"]) >= 1
        assert response.json()["dependency"] == "database"
        assert elapsed < 2.0
        assert client.get("/health").status_code == 200
        assert client.get("/api/v1/matters").status_code == 200  # recovered at once


def test_postgres_statement_timeout_answers_503(tmp_path: Path, database_url: str) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("statement_timeout is a PostgreSQL setting")
    settings = make_settings(tmp_path, database_url, database_statement_timeout_ms=200)
    with TestClient(create_app(settings)) as client:
        runtime = client.app.state.runtime  # type: ignore[attr-defined]
        with runtime.engine.connect() as conn:
            shown = conn.execute(text("SHOW statement_timeout")).scalar()
            assert shown == "200ms"
            from sqlalchemy.exc import OperationalError

            from legalai.kit.unavailable import classify_unavailable

            with pytest.raises(OperationalError) as caught:
                conn.execute(text("SELECT pg_sleep(2)"))
            found = classify_unavailable(caught.value)
            assert found is not None and (found.dependency, found.reason) == ("database", "busy")


def _slow_app(seconds: float) -> Any:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        await asyncio.sleep(seconds)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    return app


def test_admission_control_sheds_what_it_cannot_admit_and_never_queues_health() -> None:
    shed = AdmissionControl(_slow_app(0.5), limit=2, queue_seconds=0.1)

    async def run() -> list[tuple[str, int, float]]:
        transport = httpx.ASGITransport(app=shed)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:

            async def one(path: str) -> tuple[str, int, float]:
                started = time.monotonic()
                response = await client.get(path)
                return path, response.status_code, time.monotonic() - started

            api = [one("/api/v1/matters") for _ in range(6)]
            return await asyncio.gather(*api, one("/health"))

    results = asyncio.run(run())
    api = [r for r in results if r[0] != "/health"]
    assert sorted(status for _, status, _ in api) == [200, 200, 503, 503, 503, 503]
    assert all(elapsed < 0.4 for _, status, elapsed in api if status == 503)  # refused fast
    health = next(r for r in results if r[0] == "/health")
    assert health[1] == 200
    assert shed.in_flight == 0 and shed.waiting == 0


def test_admission_control_admits_a_waiting_request_when_a_slot_frees() -> None:
    shed = AdmissionControl(_slow_app(0.2), limit=1, queue_seconds=2.0)

    async def run() -> list[int]:
        transport = httpx.ASGITransport(app=shed)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            responses = await asyncio.gather(*(client.get("/x") for _ in range(3)))
            return [r.status_code for r in responses]

    assert asyncio.run(run()) == [200, 200, 200]


def test_503_from_shedding_carries_retry_after_through_the_app(tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path, f"sqlite:///{tmp_path / 'x.db'}", max_concurrent_requests=1, request_queue_seconds=0
    )
    from legalai.kit.db import make_engine
    from legalai.kit.migrate import upgrade

    engine = make_engine(settings.resolved_database_url)
    upgrade(engine)
    engine.dispose()
    app = create_app(settings)
    gate = threading.Event()
    entered = threading.Event()

    @app.get("/api/v1/_test_block")
    def block() -> dict[str, str]:
        entered.set()
        gate.wait(5)
        return {"ok": "yes"}

    with TestClient(app) as client:
        result: dict[str, int] = {}

        def first() -> None:
            result["first"] = client.get("/api/v1/_test_block").status_code

        worker = threading.Thread(target=first)
        worker.start()
        assert entered.wait(5)
        from legalai.observability.metrics import REGISTRY

        shed_before = REGISTRY.get_sample_value("legalai_http_requests_shed_total") or 0.0
        refused = client.get("/api/v1/matters")
        assert refused.status_code == 503
        assert refused.headers["retry-after"] == "1"
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.headers.get("x-content-type-options") == "nosniff"  # security headers too
        assert refused.headers.get("x-request-id")  # and the access log and metrics see it
        metrics_text = client.get("/metrics").text
        assert 'route="shed",status="503"' in metrics_text
        assert REGISTRY.get_sample_value("legalai_http_requests_shed_total") == shed_before + 1
        assert client.get("/health").status_code == 200
        gate.set()
        worker.join(5)
        assert result["first"] == 200
