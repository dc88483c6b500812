"""Per-organization quotas against real rows, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from legalai.accounts.models import Organization
from legalai.documents.models import Document, DocumentVersion
from legalai.kit.db import make_engine
from legalai.matters.models import Matter
from legalai.security.quotas import (
    DailyQuotaExceeded,
    QuotaExceeded,
    StorageQuotaExceeded,
    check_daily_documents,
    check_storage_quota,
)

MB = 1024 * 1024
NOW = datetime(2026, 3, 10, 22, 30, tzinfo=UTC)
MIDNIGHT = datetime(2026, 3, 10, tzinfo=UTC)


@pytest.fixture
def session(database_url: str) -> Iterator[Session]:
    engine = make_engine(database_url)
    with Session(engine) as s:
        yield s
    engine.dispose()


def add_org(session: Session) -> tuple[str, str]:
    org = Organization(name="Firm", slug=f"firm-{uuid.uuid4().hex[:8]}")
    session.add(org)
    session.flush()
    matter = Matter(organization_id=org.id, name="Matter")
    session.add(matter)
    session.flush()
    return org.id, matter.id


def add_document(
    session: Session,
    org: str,
    matter: str,
    *,
    sizes: tuple[int, ...] = (1,),
    created_at: datetime = NOW,
    parent_id: str | None = None,
) -> str:
    doc = Document(
        organization_id=org, matter_id=matter, filename="a.pdf", created_at=created_at, parent_id=parent_id
    )
    session.add(doc)
    session.flush()
    for number, size in enumerate(sizes, start=1):
        session.add(
            DocumentVersion(
                document_id=doc.id,
                organization_id=org,
                matter_id=matter,
                number=number,
                sha256=uuid.uuid4().hex * 2,
                size_bytes=size,
                kind="pdf",
                media_type="application/pdf",
                blob_key=uuid.uuid4().hex,
            )
        )
    session.commit()
    return str(doc.id)


def test_storage_quota_counts_every_version_of_the_organization_only(session: Session) -> None:
    org, matter = add_org(session)
    other_org, other_matter = add_org(session)
    add_document(session, org, matter, sizes=(40 * MB, 30 * MB))
    add_document(session, org, matter, sizes=(20 * MB,))
    add_document(session, other_org, other_matter, sizes=(500 * MB,))

    check_storage_quota(session, org, 10 * MB, 100 * MB)  # exactly at the limit is allowed
    with pytest.raises(StorageQuotaExceeded) as caught:
        check_storage_quota(session, org, 10 * MB + 1, 100 * MB)
    exc = caught.value
    assert isinstance(exc, QuotaExceeded)
    assert (exc.status_code, exc.title) == (413, "Quota exceeded")
    assert exc.extra == {"used_bytes": 90 * MB, "incoming_bytes": 10 * MB + 1, "limit_bytes": 100 * MB}
    assert "90.0 MB of 100.0 MB used" in exc.detail


def test_storage_quota_unlimited_and_empty_organization(session: Session) -> None:
    org, matter = add_org(session)
    add_document(session, org, matter, sizes=(5 * MB,))
    check_storage_quota(session, org, 10**12, None)
    check_storage_quota(session, org, 10**12, 0)
    empty, _ = add_org(session)
    check_storage_quota(session, empty, 1 * MB, 1 * MB)
    with pytest.raises(StorageQuotaExceeded):
        check_storage_quota(session, empty, 1 * MB + 1, 1 * MB)


def test_daily_quota_counts_uploads_since_midnight_utc(session: Session) -> None:
    org, matter = add_org(session)
    other_org, other_matter = add_org(session)
    email = add_document(session, org, matter, created_at=MIDNIGHT)  # counts: midnight is today
    add_document(session, org, matter, created_at=NOW - timedelta(minutes=5))
    add_document(session, org, matter, created_at=MIDNIGHT - timedelta(seconds=1))  # yesterday
    add_document(session, org, matter, created_at=NOW, parent_id=email)  # extracted attachment
    for _ in range(3):
        add_document(session, other_org, other_matter, created_at=NOW)

    check_daily_documents(session, org, 3, 5, now=NOW)
    with pytest.raises(DailyQuotaExceeded) as caught:
        check_daily_documents(session, org, 4, 5, now=NOW)
    exc = caught.value
    assert (exc.status_code, exc.title) == (429, "Quota exceeded")
    assert exc.extra == {"retry_after": 90 * 60, "used": 2, "incoming": 4, "limit": 5}
    assert "2 of 5 documents uploaded today" in exc.detail and "in 1 h 30 min" in exc.detail


def test_daily_quota_resets_the_next_day_and_zero_means_unlimited(session: Session) -> None:
    org, matter = add_org(session)
    for _ in range(3):
        add_document(session, org, matter, created_at=NOW)
    with pytest.raises(DailyQuotaExceeded):
        check_daily_documents(session, org, 1, 3, now=NOW)
    check_daily_documents(session, org, 3, 3, now=MIDNIGHT + timedelta(days=1))
    check_daily_documents(session, org, 1000, 0, now=NOW)
    check_daily_documents(session, org, 1000, None, now=NOW)


def test_daily_quota_retry_after_is_at_least_one_second(session: Session) -> None:
    org, matter = add_org(session)
    add_document(session, org, matter, created_at=NOW)
    just_before_midnight = MIDNIGHT + timedelta(days=1) - timedelta(milliseconds=200)
    with pytest.raises(DailyQuotaExceeded) as caught:
        check_daily_documents(session, org, 1, 1, now=just_before_midnight)
    assert caught.value.extra["retry_after"] == 1
