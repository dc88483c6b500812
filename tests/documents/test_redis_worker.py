"""The Redis-broker path for real: separate `legalai worker` processes, one killed with SIGKILL
in the middle of a document. The document still ends ``ready`` exactly once, without duplicates."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, func, select

from legalai.documents.models import Chunk, Page, ProcessingEvent
from legalai.settings import Settings
from tests.conftest import REDIS_URL, authorize, make_settings, upload
from tests.fixtures.docs import make_pdf

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("redis-worker")]

PAGES = 1500


@pytest.fixture(scope="module")
def long_pdf() -> bytes:
    return make_pdf([f"Page {n}. The lessee shall maintain insurance number {n}." for n in range(PAGES)])


@pytest.fixture
def redis_settings(tmp_path: Path, database_url: str) -> Iterator[Settings]:
    if not REDIS_URL:
        pytest.skip("LEGALAI_TEST_REDIS_URL is not set")
    namespace = f"legalai-test-{uuid.uuid4().hex[:8]}"
    try:
        redis.Redis.from_url(REDIS_URL).ping()
    except redis.RedisError as exc:
        pytest.fail(f"Redis at LEGALAI_TEST_REDIS_URL is unreachable: {exc}", pytrace=False)
    yield make_settings(
        tmp_path,
        database_url,
        redis_url=REDIS_URL,
        redis_namespace=namespace,
        worker_mode="external",
        redis_heartbeat_timeout_ms=2000,
        redis_maintenance_chance=1_000_000,
        job_lease_seconds=12,
        extraction_timeout_seconds=10,
        job_max_retries=30,
        job_min_backoff_ms=200,
        job_max_backoff_ms=1000,
        sweep_interval_seconds=1.0,
    )
    client = redis.Redis.from_url(REDIS_URL)
    for key in client.scan_iter(f"{namespace}*"):
        client.delete(key)


def _env(settings: Settings) -> dict[str, str]:
    env = dict(os.environ)
    for name, value in settings.model_dump(mode="json").items():
        if value is None:
            continue
        if isinstance(value, list):  # comma-separated strings, or JSON (e.g. LEGALAI_AI_PROVIDERS)
            text = ",".join(value) if all(isinstance(v, str) for v in value) else json.dumps(value)
        else:
            text = str(value)
        env[f"LEGALAI_{name.upper()}"] = text
    env["LEGALAI_SECRET_KEY"] = "test-secret-key-for-worker-processes-000"
    return env


def _start_worker(settings: Settings, log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "legalai.cli", "worker", "--threads", "1"],
        env=_env(settings),
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )


def _status(client: TestClient, doc_id: str) -> dict[str, Any]:
    body: dict[str, Any] = client.get(f"/api/v1/documents/{doc_id}").json()
    return body


def test_worker_killed_mid_document_recovers_exactly_once(
    redis_settings: Settings, long_pdf: bytes, tmp_path: Path
) -> None:
    from legalai.app import create_app

    log = tmp_path / "workers.log"
    with TestClient(create_app(redis_settings)) as client:
        authorize(client)
        matter = client.post("/api/v1/matters", json={"name": "Redis"}).json()["id"]
        first = _start_worker(redis_settings, log)
        second: subprocess.Popen[bytes] | None = None
        try:
            [item] = upload(client, matter, ("long.pdf", long_pdf))["accepted"]
            doc_id = item["document_id"]
            deadline = time.monotonic() + 60
            while _status(client, doc_id)["status"] != "processing":
                assert time.monotonic() < deadline, log.read_text()
                assert first.poll() is None, log.read_text()
                time.sleep(0.02)
            first.send_signal(signal.SIGKILL)
            first.wait(10)
            assert _status(client, doc_id)["status"] == "processing"

            second = _start_worker(redis_settings, log)
            deadline = time.monotonic() + 120
            while (doc := _status(client, doc_id))["status"] not in ("ready", "failed"):
                assert time.monotonic() < deadline, log.read_text()[-4000:]
                time.sleep(0.2)
            assert doc["status"] == "ready", doc
            assert doc["page_count"] == PAGES

            # Small documents flow through the surviving worker too.
            [small] = upload(client, matter, ("note.txt", b"A short note on insurance."))["accepted"]
            deadline = time.monotonic() + 60
            while _status(client, small["document_id"])["status"] != "ready":
                assert time.monotonic() < deadline, log.read_text()[-4000:]
                time.sleep(0.1)
            # `legalai worker` consumes the follow-up queue too: analysis and vectors get done.
            while (
                stages := {
                    k: v for k, v in _status(client, small["document_id"]).items() if k.endswith("_status")
                }
            ) != {"analysis_status": "done", "embedding_status": "done"}:
                assert time.monotonic() < deadline, (stages, log.read_text()[-4000:])
                time.sleep(0.1)
        finally:
            for proc in (first, second):
                if proc is not None and proc.poll() is None:
                    proc.terminate()
                    try:
                        proc.wait(15)
                    except subprocess.TimeoutExpired:
                        proc.kill()

    engine = create_engine(redis_settings.resolved_database_url)
    with engine.connect() as conn:
        version_id = conn.scalar(select(Page.version_id).limit(1).where(Page.number == PAGES))
        pages = conn.scalar(select(func.count()).select_from(Page).where(Page.version_id == version_id))
        distinct = conn.scalar(
            select(func.count(func.distinct(Page.number))).where(Page.version_id == version_id)
        )
        chunks = conn.scalar(select(func.count()).select_from(Chunk).where(Chunk.version_id == version_id))
        distinct_chunks = conn.scalar(
            select(func.count(func.distinct(Chunk.ordinal))).where(Chunk.version_id == version_id)
        )
        finished = conn.scalar(
            select(func.count())
            .select_from(ProcessingEvent)
            .where(ProcessingEvent.version_id == version_id, ProcessingEvent.stage == "index")
        )
        claims = conn.scalar(
            select(func.count())
            .select_from(ProcessingEvent)
            .where(ProcessingEvent.version_id == version_id, ProcessingEvent.stage == "claim")
        )
    engine.dispose()
    assert pages == distinct == PAGES
    assert chunks == distinct_chunks and chunks >= PAGES
    assert finished == 1, "the document must be finished exactly once"
    assert claims >= 2, "the second worker must have taken the job over"
