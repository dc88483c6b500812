"""Asking a matter offline: extracted, verified answers; limits; conversations; streaming."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from tests.ask.corpus import LEASE, OTHER_MATTER_SECRET, SUPPLY
from tests.conftest import upload

WaitReady = Callable[..., list[dict[str, Any]]]


def _ingest(client: TestClient, matter_id: str, wait_ready: WaitReady, *files: tuple[str, str]) -> list[str]:
    body = upload(client, matter_id, *[(n, t.encode()) for n, t in files])
    ids = [a["document_id"] for a in body["accepted"]]
    assert all(d["status"] == "ready" for d in wait_ready(client, ids))
    return ids


def _page_text(client: TestClient, document_id: str, page: int) -> str:
    response = client.get(f"/api/v1/documents/{document_id}/pages/{page}")
    assert response.status_code == 200, response.text
    return str(response.json()["text"])


def _ask(client: TestClient, matter_id: str, **body: Any) -> dict[str, Any]:
    response = client.post(f"/api/v1/matters/{matter_id}/ask", json=body)
    assert response.status_code == 200, response.text
    out: dict[str, Any] = response.json()
    return out


def test_offline_answer_is_extracted_and_every_citation_is_on_the_page(
    client: TestClient, matter_id: str, wait_ready: WaitReady
) -> None:
    supply_id, _lease_id = _ingest(
        client, matter_id, wait_ready, ("supply.txt", SUPPLY), ("lease.txt", LEASE)
    )
    answer = _ask(client, matter_id, question="Which law governs the supply agreement?")
    assert answer["mode"] == "extracted" and "not generated" in answer["label"]
    assert answer["statements"], answer
    assert answer["verified_statements"] == len(answer["statements"]) == answer["total_statements"]
    first = answer["statements"][0]
    assert "State of Delaware" in first["text"]
    (cite,) = first["citations"]
    assert cite["document_id"] == supply_id and cite["filename"] == "supply.txt"
    page = _page_text(client, cite["document_id"], cite["page"])
    assert page[cite["start"] : cite["end"]] == cite["quote"] == first["text"]
    # Highlights are question words inside the statement's span.
    assert first["highlights"] and all(
        cite["start"] <= h["start"] < h["end"] <= cite["end"] for h in first["highlights"]
    )
    for statement in answer["statements"]:
        for c in statement["citations"]:
            assert _page_text(client, c["document_id"], c["page"])[c["start"] : c["end"]] == c["quote"]


def test_document_filter_by_file_name(client: TestClient, matter_id: str, wait_ready: WaitReady) -> None:
    _ingest(client, matter_id, wait_ready, ("supply.txt", SUPPLY), ("lease.txt", LEASE))
    answer = _ask(client, matter_id, question="Which law governs?", document="lease.txt")
    assert {c["filename"] for s in answer["statements"] for c in s["citations"]} == {"lease.txt"}
    assert "England and Wales" in answer["statements"][0]["text"]
    missing = client.post(
        f"/api/v1/matters/{matter_id}/ask", json={"question": "Law?", "document": "nope.pdf"}
    )
    assert missing.status_code == 404 and "nope.pdf" in missing.json()["detail"]


def test_other_matters_are_never_retrieved(client: TestClient, matter_id: str, wait_ready: WaitReady) -> None:
    other = client.post("/api/v1/matters", json={"name": "Other matter"}).json()["id"]
    _ingest(client, other, wait_ready, ("settlement.txt", OTHER_MATTER_SECRET))
    _ingest(client, matter_id, wait_ready, ("supply.txt", SUPPLY))
    answer = _ask(client, matter_id, question="What is the settlement amount payable to the claimant?")
    cited = {c["filename"] for s in answer["statements"] for c in s["citations"]}
    assert cited <= {"supply.txt"}
    assert all("4,750,000" not in p["text"] for p in answer["passages"])


def test_question_limits_are_422_with_the_limit(client: TestClient, matter_id: str) -> None:
    empty = client.post(f"/api/v1/matters/{matter_id}/ask", json={"question": ""})
    assert empty.status_code == 422
    long = client.post(f"/api/v1/matters/{matter_id}/ask", json={"question": "x" * 1001})
    assert long.status_code == 422 and "1000" in long.text
    blank = client.post(f"/api/v1/matters/{matter_id}/ask", json={"question": "   "})
    assert blank.status_code == 422 and "empty" in blank.json()["detail"]


def test_matter_without_ready_documents_gets_a_clear_answer(client: TestClient, matter_id: str) -> None:
    answer = _ask(client, matter_id, question="Which law governs?")
    assert answer["mode"] == "none" and answer["statements"] == []
    assert "no processed documents" in answer["notice"]


def test_unknown_matter_is_404(client: TestClient) -> None:
    response = client.post("/api/v1/matters/0123456789abcdef0123456789abcdef/ask", json={"question": "Law?"})
    assert response.status_code == 404


def test_conversation_continues_and_is_private(
    client: TestClient, matter_id: str, wait_ready: WaitReady
) -> None:
    _ingest(client, matter_id, wait_ready, ("supply.txt", SUPPLY))
    first = _ask(client, matter_id, question="How long is the initial term?")
    conversation = first["conversation_id"]
    assert conversation
    second = _ask(
        client, matter_id, question="When must notice of non-renewal be given?", conversation_id=conversation
    )
    assert second["conversation_id"] == conversation
    assert "ninety (90) days" in " ".join(s["text"] for s in second["statements"])
    unknown = client.post(
        f"/api/v1/matters/{matter_id}/ask", json={"question": "And the law?", "conversation_id": "f" * 32}
    )
    assert unknown.status_code == 404


def test_streamed_answer_arrives_as_server_sent_events(
    client: TestClient, matter_id: str, wait_ready: WaitReady
) -> None:
    _ingest(client, matter_id, wait_ready, ("supply.txt", SUPPLY))
    with client.stream(
        "POST",
        f"/api/v1/matters/{matter_id}/ask",
        json={"question": "Can the agreement be assigned?"},
        headers={"Accept": "text/event-stream"},
    ) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        raw = "".join(response.iter_text())
    events = [
        (
            block.split("\n")[0].removeprefix("event: "),
            json.loads(block.split("\n")[1].removeprefix("data: ")),
        )
        for block in raw.strip().split("\n\n")
    ]
    kinds = [k for k, _ in events]
    assert kinds == ["passages", "answer", "done"], kinds
    answer = events[1][1]
    assert answer["mode"] == "extracted" and "prior written consent" in answer["statements"][0]["text"]


def test_extractive_mode_is_refused_nothing_and_generative_needs_a_provider(
    client: TestClient, matter_id: str, wait_ready: WaitReady
) -> None:
    _ingest(client, matter_id, wait_ready, ("supply.txt", SUPPLY))
    assert _ask(client, matter_id, question="Which law governs?", mode="extractive")["mode"] == "extracted"
    refused = client.post(
        f"/api/v1/matters/{matter_id}/ask", json={"question": "Which law governs?", "mode": "generative"}
    )
    assert refused.status_code == 422 and "extractive" in refused.json()["detail"]
