"""A job that fails because a dependency is down is retried, then left for the sweeper: never
marked ``failed`` with the outage as its reason (the drills saw "Processing failed after 6
attempts: S3 download failed ... Read timeout" after a 20 s S3 freeze)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from dramatiq.middleware import CurrentMessage
from sqlalchemy import exc as sa_exc

from legalai.documents.tasks import PermanentJobError, TransientJobError
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
    settings = Settings(environment="test", data_dir=tmp_path, job_max_retries=3)
    queue = JobQueue(settings, SimpleNamespace())
    # The last retry: what the worker does once retries are spent.
    message = SimpleNamespace(options={"retries": 3})
    monkeypatch.setattr(CurrentMessage, "get_current_message", staticmethod(lambda: message))
    return queue


def _run_failing(queue: JobQueue, monkeypatch: pytest.MonkeyPatch, error: Exception) -> list[str]:
    failed: list[str] = []

    def process(*_args: Any) -> None:
        raise error

    monkeypatch.setattr(queue.processor, "process", process)
    monkeypatch.setattr(
        queue.processor, "fail_after_retries", lambda version_id, reason: failed.append(reason)
    )
    with pytest.raises(Exception) as info:
        queue._run("v1", "org", "matter", None)
    if failed:
        assert isinstance(info.value, PermanentJobError)
    else:
        assert info.value is error  # re-raised as is: Dramatiq gives the message up, the sweeper resends
    return failed


@pytest.mark.parametrize("error", [StorageError("S3 download failed: Read timeout"), _refused()])
def test_an_outage_outlasting_the_retries_does_not_fail_the_document(
    queue: JobQueue, monkeypatch: pytest.MonkeyPatch, error: Exception
) -> None:
    assert _run_failing(queue, monkeypatch, error) == []


def test_a_real_error_still_fails_the_document_after_the_retries(
    queue: JobQueue, monkeypatch: pytest.MonkeyPatch
) -> None:
    [reason] = _run_failing(queue, monkeypatch, ValueError("a bug"))
    assert reason == "Processing failed after 4 attempts: a bug"
