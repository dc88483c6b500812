"""AI document summaries as background jobs: verified, and waiting out a provider outage."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.ai.conftest import OFFLINE, openai_provider
from tests.ask.corpus import DELAWARE, SUPPLY
from tests.conftest import authorize, make_settings, upload
from tests.fixtures.fake_llm import FakeLLM, Reply, Status

WaitReady = Callable[..., list[dict[str, Any]]]


@pytest.fixture
def client(tmp_path: Path, database_url: str, cloud: FakeLLM) -> Iterator[TestClient]:
    from legalai.app import create_app

    settings = make_settings(
        tmp_path,
        database_url,
        rate_limit_enabled=False,
        ai_providers=[openai_provider(cloud), OFFLINE],
        ai_max_attempts=1,
        ai_breaker_failures=100,
        ai_job_min_backoff_ms=100,
        ai_job_max_backoff_ms=300,
    )
    with TestClient(create_app(settings)) as test_client:
        authorize(test_client)
        yield test_client


def _document(client: TestClient, wait_ready: WaitReady, allow: bool) -> str:
    matter = client.post("/api/v1/matters", json={"name": "Summaries"}).json()["id"]
    if allow:
        policy = {"mode": "allowed", "allowed_providers": ["cloud"]}
        assert client.put(f"/api/v1/matters/{matter}/ai-policy", json=policy).status_code == 200
    doc = upload(client, matter, ("supply.txt", SUPPLY.encode()))["accepted"][0]["document_id"]
    assert wait_ready(client, [doc])[0]["status"] == "ready"
    return str(doc)


def _until(client: TestClient, doc: str, statuses: set[str], timeout: float = 30.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    body: dict[str, Any] = {}
    while time.monotonic() < deadline:
        body = client.get(f"/api/v1/documents/{doc}/ai-summary").json()
        if body.get("status") in statuses:
            return body
        time.sleep(0.05)
    raise AssertionError(f"summary still {body.get('status')}")


def test_summary_waits_out_an_outage_and_is_verified(
    client: TestClient, cloud: FakeLLM, wait_ready: WaitReady
) -> None:
    doc = _document(client, wait_ready, allow=True)
    assert client.get(f"/api/v1/documents/{doc}/ai-summary").json()["status"] == "none"
    statement = {"text": "Delaware law governs.", "citations": [{"passage": "P1", "quote": DELAWARE}]}
    invented = {
        "text": "The price is fixed forever.",
        "citations": [{"passage": "P1", "quote": "prices are fixed forever"}],
    }
    cloud.script(Status(503), Status(503), Reply({"answerable": True, "statements": [statement, invented]}))
    response = client.post(f"/api/v1/documents/{doc}/ai-summary")
    assert response.status_code == 202 and response.json()["status"] == "queued"
    body = _until(client, doc, {"ready", "failed"})
    assert body["status"] == "ready", body
    assert body["attempts"] == 3  # two attempts during the outage, then the one that worked
    assert [s["text"] for s in body["statements"]] == ["Delaware law governs."]
    assert [s["text"] for s in body["unsupported"]] == ["The price is fixed forever."]
    cite = body["statements"][0]["citations"][0]
    page = client.get(f"/api/v1/documents/{doc}/pages/{cite['page']}").json()["text"]
    assert page[cite["start"] : cite["end"]] == cite["quote"]
    assert body["provider"] == "cloud" and cloud.count("/v1/chat/completions") == 3


def test_summary_of_a_local_only_matter_never_calls_out(
    client: TestClient, cloud: FakeLLM, wait_ready: WaitReady
) -> None:
    doc = _document(client, wait_ready, allow=False)
    assert client.post(f"/api/v1/documents/{doc}/ai-summary").status_code == 202
    body = _until(client, doc, {"offline", "ready", "failed"})
    assert body["status"] == "offline" and "offline summary" in body["reason"]
    assert cloud.count() == 0
