"""Analysis and embedding as follow-up stages: searchable first, each stage its own idempotent job
with a visible status, never failing the document, never starving extraction."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from legalai.analysis.models import DocumentAnalysis
from legalai.app import create_app
from legalai.documents.models import Chunk, ProcessingEvent, Stage, VersionStage
from legalai.documents.stages import SUPERSEDED, mark_pending
from legalai.documents.tasks import worker_identity
from legalai.kit.db import transaction
from legalai.runtime import Runtime, build_runtime
from tests.conftest import authorize, make_settings, upload

Wait = Callable[..., list[dict[str, Any]]]
CONTRACT = (
    b"MASTER SERVICES AGREEMENT between Acme Corp. and Widget LLC. This Agreement shall be governed by "
    b"the laws of the State of New York. Either party may terminate on thirty days' written notice."
)


@pytest.fixture
def runtime(tmp_path: Path, database_url: str) -> Iterator[Runtime]:
    rt = build_runtime(make_settings(tmp_path, database_url))
    yield rt
    rt.close()


@pytest.fixture
def api(runtime: Runtime) -> Iterator[tuple[TestClient, str, str]]:
    """A client of an app on ``runtime``, its organization and a matter."""
    with TestClient(create_app(runtime.settings, runtime=runtime)) as client:
        identity = authorize(client)
        matter = client.post("/api/v1/matters", json={"name": "Stages"}).json()["id"]
        yield client, identity.organization_id, matter


def _hold_stages(runtime: Runtime) -> list[tuple[str, str, str, str]]:
    """Keep the follow-up stage messages instead of sending them; returns the list they go to."""
    held: list[tuple[str, str, str, str]] = []
    runtime.queue.processor.send_stage = lambda *args: held.append(args)
    return held


def _count(runtime: Runtime, stmt: Any) -> int:
    with runtime.sessions() as session:
        return int(session.scalar(stmt) or 0)


def test_searchable_before_analysis_and_embedding_which_report_pending(
    runtime: Runtime, api: tuple[TestClient, str, str], wait_ready: Wait, wait_analyzed: Wait
) -> None:
    client, _org, matter = api
    held = _hold_stages(runtime)
    [item] = upload(client, matter, ("msa.txt", CONTRACT))["accepted"]
    [doc] = wait_ready(client, [item["document_id"]])
    assert doc["status"] == "ready"
    assert (doc["analysis_status"], doc["embedding_status"]) == ("pending", "pending")
    hits = client.get(f"/api/v1/matters/{matter}/search", params={"q": "terminate"}).json()["hits"]
    assert [h["document_id"] for h in hits] == [doc["id"]]  # searchable without analysis or vectors
    analysis = client.get(f"/api/v1/documents/{doc['id']}/analysis")
    assert analysis.status_code == 200
    assert analysis.json()["status"] == "pending" and analysis.json()["has_result"] is False
    ics = client.get(f"/api/v1/documents/{doc['id']}/deadlines.ics")
    assert ics.status_code == 409 and "pending" in ics.json()["detail"]
    progress = client.get(f"/api/v1/matters/{matter}/analysis-status").json()
    assert progress["queued"] == 1 and progress["up_to_date"] == 0
    page = client.get(f"/documents/{doc['id']}")
    assert "analysis continues" in page.text and 'hx-trigger="every 2s"' in page.text
    [version] = client.get(f"/api/v1/documents/{doc['id']}/versions").json()
    assert version["analysis_status"] == "pending"

    assert sorted(stage for stage, *_ in held) == ["analysis", "embedding"]
    for args in held:
        runtime.queue.send_stage(*args)
    [doc] = wait_analyzed(client, [doc["id"]])
    assert (doc["analysis_status"], doc["embedding_status"]) == ("done", "done")
    body = client.get(f"/api/v1/documents/{doc['id']}/analysis").json()
    assert body["status"] == "ready" and body["governing_law"]["jurisdiction"] == "New York"
    assert "hx-trigger" not in client.get(f"/documents/{doc['id']}").text


def test_a_running_analysis_is_reported_running(
    runtime: Runtime,
    api: tuple[TestClient, str, str],
    wait_ready: Wait,
    wait_analyzed: Wait,
    monkeypatch: Any,
) -> None:
    client, _org, matter = api
    started, release = threading.Event(), threading.Event()
    real = runtime.analysis.compute

    def slow(*args: Any, **kwargs: Any) -> Any:
        started.set()
        release.wait(30)
        return real(*args, **kwargs)

    monkeypatch.setattr(runtime.analysis, "compute", slow)
    [item] = upload(client, matter, ("msa.txt", CONTRACT))["accepted"]
    wait_ready(client, [item["document_id"]])
    assert started.wait(30)
    try:
        doc = client.get(f"/api/v1/documents/{item['document_id']}").json()
        assert doc["status"] == "ready" and doc["analysis_status"] == "running"
        assert client.get(f"/api/v1/documents/{doc['id']}/analysis").json()["status"] == "running"
        assert "The analysis is running" in client.get(f"/documents/{doc['id']}").text
    finally:
        release.set()
    [doc] = wait_analyzed(client, [item["document_id"]])
    assert doc["analysis_status"] == "done"


def test_stages_run_twice_or_delivered_again_never_duplicate(
    runtime: Runtime, api: tuple[TestClient, str, str], wait_analyzed: Wait
) -> None:
    client, org, matter = api
    [item] = upload(client, matter, ("msa.txt", CONTRACT))["accepted"]
    wait_analyzed(client, [item["document_id"]])
    version_id = item["version_id"]
    chunks = _count(runtime, select(func.count()).select_from(Chunk).where(Chunk.version_id == version_id))
    # Duplicate deliveries of finished stages do nothing at all.
    for _ in range(3):
        runtime.queue.send_stage("analysis", version_id, org, matter)
        runtime.queue.send_stage("embedding", version_id, org, matter)
    runtime.queue.join()
    done_events = select(func.count()).select_from(ProcessingEvent).where(ProcessingEvent.outcome == "ok")
    assert _count(runtime, done_events.where(ProcessingEvent.stage == "analysis")) == 1
    assert _count(runtime, done_events.where(ProcessingEvent.stage == "embedding")) == 1
    # Run again from scratch (a re-analysis, a lost lease): replaced in place, nothing added.
    for _ in range(2):
        with transaction(runtime.sessions) as session:
            version = session.get(VersionStage, (version_id, "analysis"))
            assert version is not None
            from legalai.documents.models import DocumentVersion

            v = session.get(DocumentVersion, version_id)
            assert v is not None
            mark_pending(session, v, Stage.analysis.value)
            mark_pending(session, v, Stage.embedding.value)
        assert runtime.queue.stages.run("analysis", version_id, worker_identity()) == "done"
        assert runtime.queue.stages.run("embedding", version_id, worker_identity()) == "done"
    rows = select(func.count()).select_from(DocumentAnalysis).where(DocumentAnalysis.version_id == version_id)
    assert _count(runtime, rows) == 1
    stored = select(func.count()).select_from(Chunk).where(Chunk.version_id == version_id)
    assert _count(runtime, stored) == chunks
    assert _count(runtime, stored.where(Chunk.embedding.is_not(None))) == chunks


def test_stages_of_superseded_or_deleted_versions_do_nothing(
    runtime: Runtime, api: tuple[TestClient, str, str], wait_ready: Wait, wait_analyzed: Wait
) -> None:
    client, _org, matter = api
    held = _hold_stages(runtime)
    [first] = upload(client, matter, ("msa.txt", CONTRACT))["accepted"]
    wait_ready(client, [first["document_id"]])
    old = list(held)
    held.clear()
    [second] = upload(client, matter, ("msa.txt", CONTRACT + b" Amended."))["accepted"]
    assert second["document_id"] == first["document_id"] and second["version"] == 2
    wait_ready(client, [second["document_id"]])
    for args in old:  # the first version's stages arrive after it was replaced
        runtime.queue.send_stage(*args)
    runtime.queue.join()
    with runtime.sessions() as session:
        stages = session.scalars(
            select(VersionStage).where(VersionStage.version_id == first["version_id"])
        ).all()
        assert {(s.status, s.error) for s in stages} == {("skipped", SUPERSEDED)}
        assert (
            session.scalar(select(DocumentAnalysis).where(DocumentAnalysis.version_id == first["version_id"]))
            is None
        )
    versions = client.get(f"/api/v1/documents/{first['document_id']}/versions").json()
    assert [v["analysis_status"] for v in versions] == ["pending", "skipped"]

    assert client.delete(f"/api/v1/documents/{first['document_id']}").status_code == 204
    for args in held:  # and the second's after the document was deleted
        runtime.queue.send_stage(*args)
    runtime.queue.join()
    assert _count(runtime, select(func.count()).select_from(DocumentAnalysis)) == 0
    assert runtime.queue.stages.run("analysis", second["version_id"], worker_identity()) == "gone"


def test_a_failing_embedding_stage_does_not_fail_the_document(
    runtime: Runtime, api: tuple[TestClient, str, str], wait_analyzed: Wait, monkeypatch: Any
) -> None:
    client, _org, matter = api

    def broken() -> Any:
        raise RuntimeError("no embedding model here")

    monkeypatch.setattr(runtime.retrieval, "embedder", broken)
    [item] = upload(client, matter, ("msa.txt", CONTRACT))["accepted"]
    [doc] = wait_analyzed(client, [item["document_id"]])
    assert doc["status"] == "ready" and doc["analysis_status"] == "done"
    assert doc["embedding_status"] == "failed" and "no embedding model here" in doc["embedding_error"]
    hits = client.get(f"/api/v1/matters/{matter}/search", params={"q": "terminate"}).json()["hits"]
    assert hits


def test_asking_before_the_embedding_stage_ran_embeds_on_demand(
    runtime: Runtime, api: tuple[TestClient, str, str], wait_ready: Wait
) -> None:
    from legalai.accounts.principal import Principal

    client, org, matter = api
    _hold_stages(runtime)
    [item] = upload(client, matter, ("msa.txt", CONTRACT))["accepted"]
    [doc] = wait_ready(client, [item["document_id"]])
    assert doc["embedding_status"] == "pending"
    missing = (
        select(func.count()).select_from(Chunk).where(Chunk.matter_id == matter, Chunk.embedding.is_(None))
    )
    assert _count(runtime, missing) > 0
    with runtime.sessions() as session:
        found = runtime.retrieval.retriever.retrieve(
            session, Principal(organization_id=org), matter, "Which law governs the agreement?", mode="dense"
        )
    assert found and found[0].document_id == doc["id"]
    assert _count(runtime, missing) == 0  # written back on demand


def test_extraction_is_not_starved_by_a_backlog_of_analyses(
    tmp_path: Path, database_url: str, wait_analyzed: Wait, monkeypatch: Any
) -> None:
    """One worker thread, slow analyses: every document is searchable before the analyses pile
    in, because follow-up stages have a lower priority than extraction."""
    rt = build_runtime(make_settings(tmp_path, database_url, worker_threads=1))
    real = rt.analysis.compute
    order: list[str] = []

    def slow(*args: Any, **kwargs: Any) -> Any:
        order.append("analysis")
        threading.Event().wait(0.3)
        return real(*args, **kwargs)

    monkeypatch.setattr(rt.analysis, "compute", slow)
    real_finish = rt.queue.processor._finish

    def finish(*args: Any, **kwargs: Any) -> Any:
        outcome = real_finish(*args, **kwargs)
        order.append("ready")
        return outcome

    monkeypatch.setattr(rt.queue.processor, "_finish", finish)
    try:
        with TestClient(create_app(rt.settings, runtime=rt)) as client:
            authorize(client)
            matter = client.post("/api/v1/matters", json={"name": "Backlog"}).json()["id"]
            files = [(f"c{i}.txt", CONTRACT + f" Schedule {i}.".encode()) for i in range(6)]
            accepted = upload(client, matter, *files)["accepted"]
            docs = wait_analyzed(client, [a["document_id"] for a in accepted], timeout=120)
    finally:
        rt.close()
    assert [d["analysis_status"] for d in docs] == ["done"] * 6
    last_ready = max(i for i, what in enumerate(order) if what == "ready")
    # At most the analysis already running when the rest of the uploads were queued.
    assert order[:last_ready].count("analysis") <= 1, order


def test_join_drains_the_follow_up_stages_too(
    runtime: Runtime, api: tuple[TestClient, str, str], wait_ready: Wait, monkeypatch: Any
) -> None:
    client, _org, matter = api
    real = runtime.analysis.compute

    def slow(*args: Any, **kwargs: Any) -> Any:
        threading.Event().wait(0.5)
        return real(*args, **kwargs)

    monkeypatch.setattr(runtime.analysis, "compute", slow)
    [item] = upload(client, matter, ("msa.txt", CONTRACT))["accepted"]
    runtime.queue.join()  # processing, then the stages it sent after commit
    doc = client.get(f"/api/v1/documents/{item['document_id']}").json()
    assert (doc["status"], doc["analysis_status"], doc["embedding_status"]) == ("ready", "done", "done")
