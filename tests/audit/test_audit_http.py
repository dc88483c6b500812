"""The audit log as owners see it: events recorded by real requests, queries, exports, and
`legalai audit verify` catching a row edited in the database."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from legalai.cli import app as cli
from tests.conftest import create_identity, upload

Wait = Callable[..., list[dict[str, Any]]]


def _actions(client: TestClient, **params: str) -> list[str]:
    body = client.get("/api/v1/audit/events", params={"limit": "200", **params}).json()
    return [e["action"] for e in body["items"]]


def test_requests_leave_an_audit_trail_that_owners_can_query_and_export(
    client: TestClient, matter_id: str, wait_ready: Wait
) -> None:
    [item] = upload(client, matter_id, ("memo.txt", b"Audit trail document."))["accepted"]
    wait_ready(client, [item["document_id"]])
    doc = item["document_id"]
    client.get(f"/api/v1/documents/{doc}/pages")
    client.get(f"/api/v1/documents/{doc}/original")
    client.get(f"/api/v1/matters/{matter_id}/search", params={"q": "trail"})
    client.delete(f"/api/v1/documents/{doc}")

    actions = _actions(client)
    for expected in (
        "matter.create",
        "document.upload",
        "document.view",
        "document.download",
        "search",
        "document.delete",
    ):
        assert expected in actions, (expected, actions)
    events = client.get("/api/v1/audit/events", params={"action": "search"}).json()["items"]
    assert events[0]["details"]["query"] == "trail" and events[0]["actor_label"] == "owner@example.com"
    assert events[0]["matter_id"] == matter_id and events[0]["outcome"] == "success"
    assert set(_actions(client, matter_id=matter_id)) <= {
        "matter.create",
        "document.upload",
        "document.view",
        "document.download",
        "search",
        "document.delete",
    }

    exported = client.get("/api/v1/audit/events.csv")
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert {"seq", "action", "hash", "prev_hash"} <= set(rows[0])
    lines = client.get("/api/v1/audit/events.jsonl").text.strip().splitlines()
    assert all(json.loads(line)["hash"] for line in lines)
    assert "audit.exported" in _actions(client)

    attorney = create_identity(client, email="associate@example.com", role="attorney")
    res = client.get("/api/v1/audit/events", headers={"Authorization": f"Bearer {attorney.api_key}"})
    assert res.status_code == 403


def test_audit_verify_detects_an_edited_row(
    client: TestClient, matter_id: str, database_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for n in range(3):
        client.get(f"/api/v1/matters/{matter_id}/search", params={"q": f"term{n}"})
    monkeypatch.setenv("LEGALAI_DATABASE_URL", database_url)
    monkeypatch.setenv("LEGALAI_DATA_DIR", str(tmp_path / "cli"))
    result = CliRunner().invoke(cli, ["audit", "verify"])
    assert result.exit_code == 0, result.output
    assert "chain intact" in result.output

    engine = create_engine(database_url)
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE audit_events SET details = :d WHERE seq = 3"),
            {"d": json.dumps({"query": "innocent"})},
        )
    engine.dispose()
    result = CliRunner().invoke(cli, ["audit", "verify"])
    assert result.exit_code == 1
    assert "BROKEN at seq 3" in result.output and "hash mismatch" in result.output


def test_audit_page_for_owners_only(client: TestClient, matter_id: str) -> None:
    client.get(f"/api/v1/matters/{matter_id}/search", params={"q": "<script>x</script>"})
    page = client.get("/audit", params={"action": "search"})
    assert page.status_code == 200
    assert "search" in page.text and "owner@example.com" in page.text
    assert "/api/v1/audit/events.csv?action=search" in page.text
    assert client.get("/audit", params={"since": "not-a-date"}).status_code == 422
    attorney = create_identity(client, email="associate2@example.com", role="attorney")
    res = client.get("/audit", headers={"Authorization": f"Bearer {attorney.api_key}"})
    assert res.status_code == 403 and "text/html" in res.headers["content-type"]
