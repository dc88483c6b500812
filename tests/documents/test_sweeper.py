"""The sweeper re-sends only work whose message is probably lost, and a duplicate message that
meets work under another worker's live lease ends quietly (no exception, no retry)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import structlog
from fastapi.testclient import TestClient
from sqlalchemy import update

from legalai.app import create_app
from legalai.documents.models import Document, DocumentVersion, VersionStage
from legalai.kit.db import transaction, utcnow
from legalai.runtime import Runtime, build_runtime
from tests.conftest import authorize, make_settings, upload

Wait = Callable[..., list[dict[str, Any]]]
LIVE = "other-host:4242:1"


@pytest.fixture
def runtime(tmp_path: Path, database_url: str) -> Iterator[Runtime]:
    rt = build_runtime(make_settings(tmp_path, database_url, log_level="INFO", job_min_backoff_ms=10))
    yield rt
    rt.close()


@pytest.fixture
def api(runtime: Runtime) -> Iterator[tuple[TestClient, str, str]]:
    with TestClient(create_app(runtime.settings, runtime=runtime)) as client:
        identity = authorize(client)
        matter = client.post("/api/v1/matters", json={"name": "Sweeper"}).json()["id"]
        yield client, identity.organization_id, matter


def _set_version(runtime: Runtime, version_id: str, **values: Any) -> None:
    with transaction(runtime.sessions) as session:
        session.execute(update(DocumentVersion).where(DocumentVersion.id == version_id).values(**values))
        status = values.get("status")
        if status:
            session.execute(
                update(Document).where(Document.current_version_id == version_id).values(status=status)
            )


def _set_stage(runtime: Runtime, version_id: str, stage: str, **values: Any) -> None:
    with transaction(runtime.sessions) as session:
        session.execute(
            update(VersionStage)
            .where(VersionStage.version_id == version_id, VersionStage.stage == stage)
            .values(**values)
        )


def _record_sends(runtime: Runtime, monkeypatch: Any) -> tuple[list[str], list[tuple[str, str]]]:
    versions: list[str] = []
    stages: list[tuple[str, str]] = []
    monkeypatch.setattr(runtime.queue, "send", lambda version_id, *_a: versions.append(version_id))
    monkeypatch.setattr(
        runtime.queue, "send_stage", lambda stage, version_id, *_a: stages.append((stage, version_id))
    )
    return versions, stages


def test_sweeper_resends_only_work_older_than_its_grace_or_lease(
    runtime: Runtime, api: tuple[TestClient, str, str], wait_analyzed: Wait, monkeypatch: Any
) -> None:
    client, _org, matter = api
    files = [(f"{name}.txt", f"The {name} document about insurance.".encode()) for name in "abcd"]
    accepted = upload(client, matter, *files)["accepted"]
    wait_analyzed(client, [a["document_id"] for a in accepted])
    fresh, old, live, expired = (a["version_id"] for a in accepted)
    now = utcnow()
    long_ago = now - timedelta(hours=2)
    # Versions: queued a moment ago (its message is in the queue), queued two hours ago (lost),
    # processing under a live lease (someone is on it), processing under an expired lease (crashed).
    _set_version(runtime, fresh, status="queued", updated_at=now)
    _set_version(runtime, old, status="queued", updated_at=long_ago)
    _set_version(
        runtime, live, status="processing", lease_owner=LIVE, lease_expires_at=now + timedelta(hours=1)
    )
    _set_version(
        runtime, expired, status="processing", lease_owner=LIVE, lease_expires_at=now - timedelta(minutes=1)
    )
    # The same four situations for follow-up stages.
    _set_stage(runtime, fresh, "analysis", status="pending", updated_at=now)
    _set_stage(runtime, old, "analysis", status="pending", updated_at=long_ago)
    _set_stage(
        runtime,
        live,
        "embedding",
        status="running",
        lease_owner=LIVE,
        lease_expires_at=now + timedelta(hours=1),
    )
    _set_stage(
        runtime,
        expired,
        "embedding",
        status="running",
        lease_owner=LIVE,
        lease_expires_at=now - timedelta(minutes=1),
        updated_at=now,
    )
    versions, stages = _record_sends(runtime, monkeypatch)

    assert runtime.queue.recover() == 4
    assert sorted(versions) == sorted([old, expired])
    assert sorted(stages) == sorted([("analysis", old), ("embedding", expired)])

    # A longer configured grace keeps the two-hour-old ones too; expired leases are re-sent anyway.
    versions.clear()
    stages.clear()
    monkeypatch.setattr(runtime.settings, "sweep_grace_seconds", 3 * 3600.0)
    runtime.queue.recover()
    assert versions == [expired] and stages == [("embedding", expired)]

    # Start-up of the single in-process worker: everything unfinished is sent again.
    versions.clear()
    stages.clear()
    runtime.queue.recover(release_own_leases=True)
    assert sorted(versions) == sorted([fresh, old, live, expired])
    assert sorted(stages) == sorted(
        [("analysis", fresh), ("analysis", old), ("embedding", live), ("embedding", expired)]
    )


def test_a_duplicate_meeting_a_live_lease_ends_quietly(
    runtime: Runtime,
    api: tuple[TestClient, str, str],
    wait_analyzed: Wait,
    monkeypatch: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    client, org, matter = api
    item, other = upload(
        client,
        matter,
        ("a.txt", b"A document someone else is processing."),
        ("b.txt", b"A document someone else is analyzing."),
    )["accepted"]
    wait_analyzed(client, [item["document_id"], other["document_id"]])
    version_id, analyzed_id = item["version_id"], other["version_id"]
    lease = utcnow() + timedelta(hours=1)
    _set_version(runtime, version_id, status="processing", lease_owner=LIVE, lease_expires_at=lease)
    _set_stage(runtime, analyzed_id, "analysis", status="running", lease_owner=LIVE, lease_expires_at=lease)
    calls = {"process": 0, "stage": 0}
    real_process, real_stage = runtime.queue.processor.process, runtime.queue.stages.run

    def process(*args: Any) -> Any:
        calls["process"] += 1
        return real_process(*args)

    def stage(*args: Any) -> Any:
        calls["stage"] += 1
        return real_stage(*args)

    monkeypatch.setattr(runtime.queue.processor, "process", process)
    monkeypatch.setattr(runtime.queue.stages, "run", stage)
    caplog.set_level(logging.INFO)
    with structlog.testing.capture_logs() as logs:
        runtime.queue.send(version_id, org, matter)
        runtime.queue.send_stage("analysis", analyzed_id, org, matter)
        runtime.queue.join()
    assert calls == {"process": 1, "stage": 1}, "a duplicate is not retried"
    quiet = {e["event"]: e for e in logs if e["event"] in ("job.duplicate", "stage.duplicate")}
    assert set(quiet) == {"job.duplicate", "stage.duplicate"}
    assert {e["log_level"] for e in quiet.values()} == {"info"}
    assert quiet["job.duplicate"]["holder"] == LIVE
    assert not [e for e in logs if e["log_level"] in ("warning", "error", "critical")], logs
    assert not [r for r in caplog.records if r.name.startswith("dramatiq") and r.levelno >= logging.WARNING]
    with runtime.sessions() as session:
        version = session.get(DocumentVersion, version_id)
        row = session.get(VersionStage, (analyzed_id, "analysis"))
        assert version is not None and (version.status, version.lease_owner) == ("processing", LIVE)
        assert row is not None and (row.status, row.lease_owner) == ("running", LIVE)

    # The holder died: once its lease has expired the sweeper sends the work again, and it finishes.
    past = utcnow() - timedelta(seconds=1)
    _set_version(runtime, version_id, lease_expires_at=past)
    _set_stage(runtime, analyzed_id, "analysis", lease_expires_at=past)
    assert runtime.queue.recover() == 2
    runtime.queue.join()
    docs = wait_analyzed(client, [item["document_id"], other["document_id"]])
    assert [(d["status"], d["analysis_status"]) for d in docs] == [("ready", "done")] * 2
