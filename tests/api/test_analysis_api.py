"""Analysis as a stage of processing: stored per version, served, exported, re-analyzed; playbooks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from legalai.analysis.models import AnalysisStatus, DocumentAnalysis
from legalai.kit.db import transaction
from tests.analysis.test_pipeline import CONTRACT_PAGE_1, CONTRACT_PAGE_2
from tests.conftest import upload

CONTRACT = (CONTRACT_PAGE_1 + "\n" + CONTRACT_PAGE_2).encode()

STRICT_PLAYBOOK = """\
id: strict-firm
name: Strict firm playbook
version: "3"
description: Only Delaware law; flag every assignment clause.
rules:
  - id: law-delaware-only
    title: Governing law is not Delaware
    severity: high
    explanation: "We only accept Delaware law."
    check:
      governing_law_not_in: [Delaware]
  - id: assignment-present
    title: Assignment restricted
    severity: low
    explanation: "Assignment needs consent."
    check:
      clause_present: Anti-Assignment
"""


def _analysis(client: TestClient, doc_id: str) -> dict[str, Any]:
    response = client.get(f"/api/v1/documents/{doc_id}/analysis")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_uploaded_contract_is_analyzed_and_served(
    client: TestClient, matter_id: str, wait_analyzed: Callable[..., list[dict[str, Any]]]
) -> None:
    doc_id = upload(client, matter_id, ("msa.txt", CONTRACT))["accepted"][0]["document_id"]
    (doc,) = wait_analyzed(client, [doc_id])
    assert doc["status"] == "ready" and doc["analysis_status"] == "done" and doc["analysis_error"] is None
    assert doc["embedding_status"] == "done" and {"analyze", "embed", "index"} <= set(doc["timings"])
    body = _analysis(client, doc_id)
    assert body["status"] == "ready" and body["version"] == 1
    for key in (
        "document_type",
        "parties",
        "dates",
        "governing_law",
        "clauses",
        "citations",
        "personal_data",
        "deadlines",
        "risks",
        "summary",
    ):
        assert key in body, key
    assert body["governing_law"]["jurisdiction"] == "New York"
    pages = {p["number"]: p["text"] for p in client.get(f"/api/v1/documents/{doc_id}/pages").json()}
    span = body["governing_law"]["span"]
    assert pages[span["page"]][span["start"] : span["end"]] == span["text"]
    default = client.get("/api/v1/playbooks/active").json()
    assert default["id"] is None  # the built-in one
    assert body["versions"]["playbook"]["id"] == default["playbook_id"]
    assert body["versions"]["playbook"]["fingerprint"] == default["fingerprint"]

    ics = client.get(f"/api/v1/documents/{doc_id}/deadlines.ics")
    assert ics.status_code == 200 and ics.headers["content-type"].startswith("text/calendar")
    assert "BEGIN:VEVENT" in ics.text and "DTSTART;VALUE=DATE:20210402" in ics.text
    matter_ics = client.get(f"/api/v1/matters/{matter_id}/deadlines.ics")
    assert matter_ics.status_code == 200 and "msa.txt" in matter_ics.text

    page = client.get(f"/documents/{doc_id}")
    assert page.status_code == 200
    assert "Governing law" in page.text and "New York" in page.text and "deadlines.ics" in page.text


def test_analysis_of_unknown_or_unready_documents(client: TestClient) -> None:
    response = client.get("/api/v1/documents/doesnotexist/analysis")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")


def test_playbook_upload_validation_and_reanalysis(
    client: TestClient, matter_id: str, wait_analyzed: Callable[..., list[dict[str, Any]]]
) -> None:
    doc_id = upload(client, matter_id, ("msa.txt", CONTRACT))["accepted"][0]["document_id"]
    wait_analyzed(client, [doc_id])
    before = _analysis(client, doc_id)
    assert not any(r["rule"] == "law-delaware-only" for r in before["risks"])

    bad = client.put("/api/v1/playbooks/active", json={"source": "id: x\nname: y\nrules: [\n"})
    assert bad.status_code == 422
    problem = bad.json()
    assert problem["problems"][0]["line"] is not None and "line" in problem["detail"]
    unknown = STRICT_PLAYBOOK.replace("    severity: low\n", "    severity: low\n    colour: red\n")
    checked = client.post("/api/v1/playbooks/validate", json={"source": unknown}).json()
    assert checked["valid"] is False
    assert any("colour" in p["message"] or "colour" in p["path"] for p in checked["problems"])
    assert checked["problems"][0]["line"] == unknown.splitlines().index("    colour: red") + 1

    stored = client.put("/api/v1/playbooks/active", json={"source": STRICT_PLAYBOOK})
    assert stored.status_code == 201, stored.text
    assert stored.json()["active"] is True and stored.json()["rules"] == 2
    assert client.get("/api/v1/playbooks/active").json()["playbook_id"] == "strict-firm"
    listed = client.get("/api/v1/playbooks").json()
    assert [p["active"] for p in listed].count(True) == 1

    status = client.get(f"/api/v1/matters/{matter_id}/analysis-status").json()
    assert status == {"total": 1, "up_to_date": 0, "queued": 0, "failed": 0, "outdated": 1}
    queued = client.post(f"/api/v1/matters/{matter_id}/reanalyze")
    assert queued.status_code == 202 and queued.json()["queued"] == 1
    runtime = client.app.state.runtime  # type: ignore[attr-defined]
    runtime.queue.join()
    status = client.get(f"/api/v1/matters/{matter_id}/analysis-status").json()
    assert status["up_to_date"] == 1 and status["outdated"] == 0
    after = _analysis(client, doc_id)
    assert after["versions"]["playbook"]["id"] == "strict-firm"
    flagged = {r["rule"]: r for r in after["risks"]}
    assert flagged["law-delaware-only"]["severity"] == "high"
    assert flagged["assignment-present"]["spans"]
    # Up to date now: nothing to do unless forced.
    assert client.post(f"/api/v1/matters/{matter_id}/reanalyze").json()["queued"] == 0
    assert client.post(f"/api/v1/matters/{matter_id}/reanalyze?force=true").json()["queued"] == 1
    runtime.queue.join()

    assert client.delete("/api/v1/playbooks/active").status_code == 204
    assert client.get("/api/v1/playbooks/active").json()["id"] is None
    assert client.delete("/api/v1/playbooks/active").status_code == 204  # idempotent


def test_a_failing_analysis_does_not_fail_the_document(
    client: TestClient, matter_id: str, wait_analyzed: Callable[..., list[dict[str, Any]]], monkeypatch: Any
) -> None:
    from legalai.analysis import service

    def explode(*_a: Any, **_k: Any) -> Any:
        raise RuntimeError("analysis bug")

    monkeypatch.setattr(service, "analyze_pages", explode)
    # In this process (the patch does not reach the analysis child of the embedded default).
    monkeypatch.setattr(client.app.state.runtime.analysis, "pool", None)  # type: ignore[attr-defined]
    doc_id = upload(client, matter_id, ("msa.txt", CONTRACT))["accepted"][0]["document_id"]
    (doc,) = wait_analyzed(client, [doc_id])
    assert doc["status"] == "ready" and doc["embedding_status"] == "done"
    assert doc["analysis_status"] == "failed" and "analysis bug" in doc["analysis_error"]
    body = _analysis(client, doc_id)
    assert body["status"] == "failed" and "analysis bug" in body["error"]
    assert client.get(f"/documents/{doc_id}").status_code == 200
    runtime = client.app.state.runtime  # type: ignore[attr-defined]
    with transaction(runtime.sessions) as session:
        row = session.scalar(select(DocumentAnalysis))
        assert row is not None and row.status == AnalysisStatus.failed


def test_huge_empty_and_foreign_documents_complete(
    tmp_path: Any, database_url: str, wait_analyzed: Callable[..., list[dict[str, Any]]]
) -> None:
    """10,000 pages (analysis capped, and saying so), an empty page, German: all ready, all analyzed."""
    from legalai.app import create_app
    from tests.conftest import authorize, make_settings

    settings = make_settings(tmp_path, database_url, analysis_max_chars=400_000)
    with TestClient(create_app(settings)) as client:
        authorize(client)
        matter = client.post("/api/v1/matters", json={"name": "Bad input"}).json()["id"]
        page = CONTRACT_PAGE_2.replace("\n", " ")
        huge = "\f".join(f"{page} Page {i}." for i in range(10_000)).encode()
        german = ("Dieser Vertrag unterliegt deutschem Recht. Gerichtsstand ist München. " * 40).encode()
        accepted = upload(client, matter, ("huge.txt", huge), ("blank.txt", b"\f\f\n"), ("de.txt", german))
        ids = {a["filename"]: a["document_id"] for a in accepted["accepted"]}
        docs = wait_analyzed(client, list(ids.values()), timeout=240)
        assert [d["status"] for d in docs] == ["ready"] * 3
        big = _analysis(client, ids["huge.txt"])
        assert big["stats"]["pages"] == 10_000 and big["stats"]["truncated"] is True
        assert "very long" in big["warnings"][0]
        assert big["governing_law"]["jurisdiction"] == "New York"
        blank = _analysis(client, ids["blank.txt"])
        assert blank["status"] == "ready" and blank["parties"] == [] and blank["clauses"] == []
        foreign = _analysis(client, ids["de.txt"])
        assert foreign["stats"]["language"] == "unknown" and foreign["warnings"]
