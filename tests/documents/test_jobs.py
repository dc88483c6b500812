"""Job semantics with the in-process broker: retries on transient errors, duplicates are harmless."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from legalai.app import create_app
from legalai.documents.models import Page, ProcessingEvent
from legalai.runtime import Runtime, build_runtime
from legalai.storage.protocol import StorageError
from tests.conftest import authorize, make_settings, upload

Wait = Callable[..., list[dict[str, Any]]]


@pytest.fixture
def runtime(tmp_path: Path, database_url: str) -> Iterator[Runtime]:
    # No outage grace: a storage failure that outlasts the retries fails the document at once.
    rt = build_runtime(
        make_settings(
            tmp_path, database_url, job_max_retries=2, job_min_backoff_ms=10, job_outage_grace_seconds=0
        )
    )
    yield rt
    rt.close()


def _flaky_downloads(rt: Runtime, failures: int) -> list[int]:
    calls = [0]
    real = rt.store.download_to

    def download_to(key: str, target: Path, *, sha256: str) -> None:
        calls[0] += 1
        if calls[0] <= failures:
            raise StorageError("storage briefly unreachable")
        real(key, target, sha256=sha256)

    rt.store.download_to = download_to  # type: ignore[method-assign]
    return calls


def _events(rt: Runtime, stage: str) -> int:
    with rt.sessions() as session:
        return (
            session.scalar(
                select(func.count()).select_from(ProcessingEvent).where(ProcessingEvent.stage == stage)
            )
            or 0
        )


def test_transient_errors_are_retried_until_ready(runtime: Runtime, wait_ready: Wait) -> None:
    calls = _flaky_downloads(runtime, failures=2)
    with TestClient(create_app(runtime.settings, runtime=runtime)) as client:
        authorize(client)
        matter = client.post("/api/v1/matters", json={"name": "Flaky"}).json()["id"]
        [item] = upload(client, matter, ("a.txt", b"Retried until the storage answers."))["accepted"]
        [doc] = wait_ready(client, [item["document_id"]])
        assert doc["status"] == "ready"
        history = client.get(f"/api/v1/documents/{doc['id']}/history").json()
    assert calls[0] == 3
    assert [e["outcome"] for e in history if e["stage"] == "job"] == ["retry", "retry"]
    assert [e["stage"] for e in history].count("claim") == 3


def test_persistent_transient_errors_end_failed_with_a_reason(runtime: Runtime, wait_ready: Wait) -> None:
    _flaky_downloads(runtime, failures=100)
    with TestClient(create_app(runtime.settings, runtime=runtime)) as client:
        authorize(client)
        matter = client.post("/api/v1/matters", json={"name": "Down"}).json()["id"]
        [item] = upload(client, matter, ("a.txt", b"Storage never comes back."))["accepted"]
        [doc] = wait_ready(client, [item["document_id"]])
    assert doc["status"] == "failed"
    assert "after 3 attempts" in doc["failure_reason"] and "unreachable" in doc["failure_reason"]


def test_storage_down_longer_than_the_retries_then_back_ends_ready(
    tmp_path: Path, database_url: str, wait_ready: Wait
) -> None:
    """Within the outage grace a document outlasting its retries is resent by the sweeper, and is
    processed once storage answers again: not failed because storage was down for a while."""
    settings = make_settings(
        tmp_path,
        database_url,
        job_max_retries=1,
        job_min_backoff_ms=10,
        job_max_backoff_ms=20,
        sweep_interval_seconds=0.3,
        job_outage_grace_seconds=600,
    )
    rt = build_runtime(settings)
    try:
        calls = _flaky_downloads(rt, failures=5)  # more failures than one message's 2 attempts
        with TestClient(create_app(rt.settings, runtime=rt)) as client:
            authorize(client)
            matter = client.post("/api/v1/matters", json={"name": "Outage"}).json()["id"]
            [item] = upload(client, matter, ("a.txt", b"Storage comes back after a while."))["accepted"]
            [doc] = wait_ready(client, [item["document_id"]])
        assert doc["status"] == "ready", doc
        assert calls[0] == 6
        assert _events(rt, "index") == 1
    finally:
        rt.close()


def test_duplicate_deliveries_process_a_document_once(runtime: Runtime, wait_ready: Wait) -> None:
    with TestClient(create_app(runtime.settings, runtime=runtime)) as client:
        identity = authorize(client)
        matter = client.post("/api/v1/matters", json={"name": "Dupes"}).json()["id"]
        [item] = upload(client, matter, ("a.txt", b"Delivered several times."))["accepted"]
        for _ in range(4):
            runtime.queue.send(item["version_id"], identity.organization_id, matter)
        wait_ready(client, [item["document_id"]])
        runtime.queue.join()
        for _ in range(2):  # and again after it is ready
            runtime.queue.send(item["version_id"], identity.organization_id, matter)
        runtime.queue.join()
    with runtime.sessions() as session:
        pages = session.scalar(
            select(func.count()).select_from(Page).where(Page.version_id == item["version_id"])
        )
    assert pages == 1
    assert _events(runtime, "index") == 1
