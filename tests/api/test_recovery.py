"""After a crash or restart, work the database says is unfinished is picked up again."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import create_engine, delete, func, select, update

from legalai.app import create_app
from legalai.documents.models import Chunk, Document, DocumentVersion, Page
from legalai.kit.db import utcnow
from tests.conftest import authorize, make_settings, upload


def test_restart_resumes_interrupted_and_lost_jobs(
    tmp_path: Path, database_url: str, wait_ready: Callable[..., list[dict[str, Any]]]
) -> None:
    settings = make_settings(tmp_path, database_url)
    with TestClient(create_app(settings)) as client:
        authorize(client)
        matter = client.post("/api/v1/matters", json={"name": "Restart"}).json()["id"]
        body = upload(client, matter, ("a.txt", b"Interrupted lease text."), ("b.txt", b"Lost message text."))
        ids = [i["document_id"] for i in body["accepted"]]
        wait_ready(client, ids)

    # Simulate a crash: one version was mid-processing under a lease that has not expired yet,
    # the other was queued but its in-memory message died with the process.
    engine = create_engine(settings.resolved_database_url)
    with engine.begin() as conn:
        versions = dict(
            conn.execute(select(Document.id, Document.current_version_id).where(Document.id.in_(ids))).all()
        )
        interrupted, lost = versions[ids[0]], versions[ids[1]]
        conn.execute(delete(Chunk).where(Chunk.version_id.in_([interrupted, lost])))
        conn.execute(delete(Page).where(Page.version_id.in_([interrupted, lost])))
        conn.execute(
            update(DocumentVersion)
            .where(DocumentVersion.id == interrupted)
            .values(
                status="processing", lease_owner="dead-worker", lease_expires_at=utcnow() + timedelta(hours=1)
            )
        )
        conn.execute(update(DocumentVersion).where(DocumentVersion.id == lost).values(status="queued"))
        conn.execute(update(Document).where(Document.id.in_(ids)).values(status="queued"))

    with TestClient(create_app(settings)) as client:
        authorize(client)
        docs = wait_ready(client, ids, timeout=30)
        assert [d["status"] for d in docs] == ["ready", "ready"]
        assert client.get(f"/api/v1/matters/{matter}/search", params={"q": "lease"}).json()["hits"]

    with engine.connect() as conn:
        pages = conn.scalar(
            select(func.count()).select_from(Page).where(Page.version_id.in_(versions.values()))
        )
    engine.dispose()
    assert pages == 2
