"""/ready never hangs: each probe runs with a deadline and a hanging dependency is reported."""

from __future__ import annotations

import threading
import time

from fastapi.testclient import TestClient

from legalai.kit.probes import run_probes


def test_probes_run_concurrently_and_a_hanging_one_is_reported_in_time() -> None:
    release = threading.Event()

    def hangs() -> None:
        release.wait(30)

    def fails() -> None:
        raise ConnectionError("refused")

    started = time.monotonic()
    try:
        checks = run_probes({"slow": hangs, "bad": fails, "good": lambda: "redis", "also": lambda: None}, 1.0)
    finally:
        release.set()
    assert time.monotonic() - started < 2.5
    assert checks["slow"] == {"status": "error", "detail": "no answer within 1 s"}
    assert checks["bad"] == {"status": "error", "detail": "ConnectionError: refused"}
    assert checks["good"] == {"status": "ok", "detail": "redis"}
    assert checks["also"] == {"status": "ok"}


def test_probes_stay_bounded_when_every_probe_thread_is_stuck() -> None:
    release = threading.Event()
    try:
        for _ in range(3):  # more stuck probes than the pool has threads
            started = time.monotonic()
            checks = run_probes({f"p{n}": lambda: release.wait(30) for n in range(6)}, 0.5)
            assert time.monotonic() - started < 2
            assert all(c["status"] == "error" for c in checks.values())
    finally:
        release.set()


def test_ready_answers_503_naming_a_hanging_storage_and_health_stays_up(client: TestClient) -> None:
    runtime = client.app.state.runtime  # type: ignore[attr-defined]
    release = threading.Event()
    original = runtime.store.check
    runtime.store.check = lambda: release.wait(30)
    try:
        started = time.monotonic()
        response = client.get("/ready")
        assert time.monotonic() - started < 5
        assert response.status_code == 503
        body = response.json()
        assert body["checks"]["storage"]["status"] == "error"
        assert body["checks"]["database"]["status"] == "ok"
        assert client.get("/health").status_code == 200
    finally:
        release.set()
        runtime.store.check = original
    assert client.get("/ready").status_code == 200
