"""`legalai serve` as `make run` starts it, overloaded by many clients at once: it sheds load with
503 + Retry-After (never 500), /health stays fast throughout, it is back to normal within seconds
after the load stops, and SIGTERM stops it cleanly and promptly."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("serve-process")]

PASSWORD = "correct horse battery staple"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _legalai(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "legalai.cli", *args], env=env, capture_output=True, text=True, timeout=120
    )


def test_overloaded_server_sheds_recovers_and_stops_on_sigterm(tmp_path: Path) -> None:
    port = _free_port()
    env = {
        **os.environ,
        "LEGALAI_DATA_DIR": str(tmp_path / "data"),
        "LEGALAI_LOG_LEVEL": "INFO",  # uvicorn says when the lifespan shutdown completed
        "LEGALAI_ENVIRONMENT": "test",
        # A small process, so a few dozen clients overload it.
        "LEGALAI_MAX_CONCURRENT_REQUESTS": "4",
        "LEGALAI_REQUEST_QUEUE_SECONDS": "0.2",
        "LEGALAI_RATE_LIMIT_ENABLED": "false",
        "LEGALAI_NEW_PASSWORD": PASSWORD,
    }
    created = _legalai(
        env,
        "admin",
        "create-user",
        "--email",
        "owner@firm.example",
        "--organization",
        "Firm",
        "--role",
        "owner",
    )
    assert created.returncode == 0, created.stderr
    log = (tmp_path / "serve.log").open("wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "legalai.cli", "serve", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.3)
        else:
            pytest.fail("the server did not start")
        with httpx.Client(base_url=base, timeout=30) as client:
            signed_in = client.post(
                "/api/v1/auth/login", json={"email": "owner@firm.example", "password": PASSWORD}
            )
            assert signed_in.status_code == 200, signed_in.text
            csrf = signed_in.json()["csrf_token"]
            key = client.post(
                "/api/v1/api-keys",
                json={"name": "load", "scopes": ["read", "write"]},
                headers={"X-CSRF-Token": csrf},
            ).json()["key"]
            headers = {"Authorization": f"Bearer {key}"}
            matter = client.post("/api/v1/matters", json={"name": "M"}, headers=headers).json()["id"]

        statuses: Counter[int | str] = Counter()
        slowest = 0.0
        health_slowest = 0.0
        stop = threading.Event()
        lock = threading.Lock()

        def hammer() -> None:
            nonlocal slowest
            with httpx.Client(base_url=base, headers=headers, timeout=30) as c:
                while not stop.is_set():
                    started = time.monotonic()
                    try:
                        response = c.get(f"/api/v1/matters/{matter}/search", params={"q": "term*"})
                        status: int | str = response.status_code
                        if status == 503 and not response.headers.get("retry-after", "").isdigit():
                            status = "503 without Retry-After"
                    except httpx.HTTPError as exc:
                        status = type(exc).__name__
                    with lock:
                        statuses[status] += 1
                        slowest = max(slowest, time.monotonic() - started)

        def probe_health() -> None:
            nonlocal health_slowest
            with httpx.Client(base_url=base, timeout=30) as c:
                while not stop.is_set():
                    started = time.monotonic()
                    if c.get("/health").status_code != 200:
                        with lock:
                            statuses["health not 200"] += 1
                    health_slowest = max(health_slowest, time.monotonic() - started)
                    time.sleep(0.2)

        threads = [threading.Thread(target=hammer) for _ in range(40)] + [
            threading.Thread(target=probe_health)
        ]
        for t in threads:
            t.start()
        time.sleep(12)
        stop.set()
        for t in threads:
            t.join(60)

        assert statuses[200] > 0, statuses
        assert statuses[503] > 0, statuses  # overloaded on purpose: it shed load
        assert set(statuses) <= {200, 503}, statuses  # never a 500, never a dropped connection
        assert slowest < 10, slowest  # bounded: no request waited long
        assert health_slowest < 2.5, health_slowest

        # Back to normal within seconds of the load stopping.
        recovered_after = None
        started = time.monotonic()
        with httpx.Client(base_url=base, headers=headers, timeout=10) as c:
            while time.monotonic() - started < 10:
                t0 = time.monotonic()
                response = c.get(f"/api/v1/matters/{matter}/search", params={"q": "term*"})
                if response.status_code == 200 and time.monotonic() - t0 < 1.0:
                    recovered_after = time.monotonic() - started
                    break
                time.sleep(0.2)
        assert recovered_after is not None and recovered_after < 5

        server.send_signal(signal.SIGTERM)
        stopping = time.monotonic()
        code = server.wait(timeout=30)
        assert time.monotonic() - stopping < 20
        # uvicorn shuts down gracefully, then re-raises the signal so the exit status says SIGTERM.
        assert code in (0, -signal.SIGTERM)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
        log.close()
    text = (tmp_path / "serve.log").read_text(errors="replace")
    assert "request.unhandled_error" not in text
    assert "Traceback" not in text
    assert "Application shutdown complete" in text  # graceful: lifespan shutdown ran
