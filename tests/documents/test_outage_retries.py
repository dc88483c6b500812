"""A job that fails because a dependency is down is retried, then sent again after a pause: not marked
``failed`` with the outage as its reason until the outage has lasted ``job_outage_grace_seconds``
(the drills saw "Processing failed after 6 attempts: S3 download failed ... Read timeout" after a
20 s S3 freeze)."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from dramatiq.middleware import CurrentMessage
from sqlalchemy import exc as sa_exc

from legalai.documents.tasks import PermanentJobError, TransientJobError
from legalai.kit.db import utcnow
from legalai.settings import Settings
from legalai.storage.protocol import BlobCorrupted, StorageError
from legalai.worker import JobQueue, is_outage


def _refused() -> sa_exc.OperationalError:
    return sa_exc.OperationalError("SELECT 1", {}, Exception("connection refused"))


@pytest.mark.parametrize(
    ("error", "outage"),
    [
        (StorageError("S3 download failed for s3://b/k: Read timeout on endpoint URL"), True),
        (_refused(), True),
        (TransientJobError("lease held"), True),
        (BlobCorrupted("blob k does not match its sha256"), False),
        (ValueError("a bug"), False),
    ],
)
def test_outages_are_told_apart_from_real_failures(error: Exception, outage: bool) -> None:
    assert is_outage(error) is outage


@pytest.fixture
def queue(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> JobQueue:
    settings = Settings(
        environment="test", data_dir=tmp_path, job_max_retries=3, job_outage_grace_seconds=600
    )
    queue = JobQueue(settings, SimpleNamespace())
    # The last retry: what the worker does once retries are spent.
    message = SimpleNamespace(options={"retries": 3})
    monkeypatch.setattr(CurrentMessage, "get_current_message", staticmethod(lambda: message))
    return queue


def _run_failing(
    queue: JobQueue, monkeypatch: pytest.MonkeyPatch, error: Exception, outage_for: float | None = 10.0
) -> list[str]:
    """Run the job's last retry failing with ``error``, the first outage failure ``outage_for``
    seconds ago (None: the database cannot tell). Returns the reasons it was marked failed with."""
    failed: list[str] = []

    def process(*_args: Any) -> None:
        raise error

    def outage_began(_version_id: str) -> datetime:
        if outage_for is None:
            raise _refused()
        return utcnow() - timedelta(seconds=outage_for)

    monkeypatch.setattr(queue.processor, "process", process)
    monkeypatch.setattr(
        queue.processor, "fail_after_retries", lambda version_id, reason: failed.append(reason)
    )
    monkeypatch.setattr(queue, "outage_began", outage_began)
    resent: list[str] = []
    monkeypatch.setattr(queue, "_resend_later", lambda version_id, *_rest: resent.append(version_id))
    try:
        queue._run("v1", "org", "matter", None)
    except PermanentJobError:
        assert failed and not resent
    else:  # waiting out the outage: this message ends, a fresh one is sent after a pause
        assert not failed and resent == ["v1"]
    return failed


@pytest.mark.parametrize("error", [StorageError("S3 download failed: Read timeout"), _refused()])
@pytest.mark.parametrize("outage_for", [10.0, None])
def test_an_outage_outlasting_the_retries_does_not_fail_the_document(
    queue: JobQueue, monkeypatch: pytest.MonkeyPatch, error: Exception, outage_for: float | None
) -> None:
    assert _run_failing(queue, monkeypatch, error, outage_for) == []


def test_an_outage_longer_than_the_grace_fails_the_document_with_its_reason(
    queue: JobQueue, monkeypatch: pytest.MonkeyPatch
) -> None:
    [reason] = _run_failing(queue, monkeypatch, StorageError("S3 unreachable"), outage_for=601)
    assert reason == "Processing failed after 4 attempts: S3 unreachable"
    queue.settings.job_outage_grace_seconds = 0  # no grace: fail once the retries are spent
    assert _run_failing(queue, monkeypatch, StorageError("S3 unreachable"), outage_for=1) != []


def test_a_real_error_still_fails_the_document_after_the_retries(
    queue: JobQueue, monkeypatch: pytest.MonkeyPatch
) -> None:
    [reason] = _run_failing(queue, monkeypatch, ValueError("a bug"))
    assert reason == "Processing failed after 4 attempts: a bug"
