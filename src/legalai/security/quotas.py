"""Per-organization quotas: stored bytes, and documents uploaded per UTC day.

A limit of ``None`` or ``0`` means unlimited. Checks read committed totals and do not lock, so two
uploads racing for the last of a quota can both pass: the overshoot is bounded by the requests in
flight (each at most ``max_upload_bytes``). That is the intended trade: serializing every upload of
an organization behind a row lock would cost far more than a soft edge on a quota.

    QuotaExceeded (413)
     +-- StorageQuotaExceeded (413)     stored bytes + this upload > limit
     +-- DailyQuotaExceeded (429)       documents today + this upload > limit; retry_after = to 00:00 UTC
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, time, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from legalai.documents.models import Document, DocumentVersion
from legalai.kit.errors import DomainError

_MB = 1024 * 1024


class QuotaExceeded(DomainError):
    status_code = 413
    title = "Quota exceeded"


class StorageQuotaExceeded(QuotaExceeded):
    status_code = 413


class DailyQuotaExceeded(QuotaExceeded):
    # Waiting helps (the count resets at midnight UTC), which is what 429 + Retry-After says.
    status_code = 429


def _mb(n: int) -> str:
    return f"{n / _MB:,.1f} MB"


def stored_bytes(session: Session, organization_id: str) -> int:
    """Bytes of every version the organization keeps (each version counts, as it is billed and
    retained separately, even when identical content is stored once)."""
    total = session.scalar(
        select(func.coalesce(func.sum(DocumentVersion.size_bytes), 0)).where(
            DocumentVersion.organization_id == organization_id
        )
    )
    return int(total or 0)


def check_storage_quota(
    session: Session, organization_id: str, incoming_bytes: int, limit_bytes: int | None
) -> None:
    if not limit_bytes:
        return
    used = stored_bytes(session, organization_id)
    if used + incoming_bytes <= limit_bytes:
        return
    raise StorageQuotaExceeded(
        f"This upload ({_mb(incoming_bytes)}) would exceed your organization's storage quota: "
        f"{_mb(used)} of {_mb(limit_bytes)} used. Delete documents you no longer need or ask an "
        "administrator to raise the quota.",
        used_bytes=used,
        incoming_bytes=incoming_bytes,
        limit_bytes=limit_bytes,
    )


def start_of_utc_day(now: datetime) -> datetime:
    return datetime.combine(now.astimezone(UTC).date(), time.min, tzinfo=UTC)


def documents_uploaded_since(session: Session, organization_id: str, since: datetime) -> int:
    """Documents users uploaded (top level; e-mail attachments the system extracts do not count)."""
    count = session.scalar(
        select(func.count(Document.id)).where(
            Document.organization_id == organization_id,
            Document.parent_id.is_(None),
            Document.created_at >= since,
        )
    )
    return int(count or 0)


def check_daily_documents(
    session: Session,
    organization_id: str,
    incoming_count: int,
    limit_per_day: int | None,
    *,
    now: datetime | None = None,
) -> None:
    if not limit_per_day:
        return
    now = now or datetime.now(UTC)
    midnight = start_of_utc_day(now)
    used = documents_uploaded_since(session, organization_id, midnight)
    if used + incoming_count <= limit_per_day:
        return
    retry_after = max(1, math.ceil((midnight + timedelta(days=1) - now).total_seconds()))
    hours, minutes = divmod(math.ceil(retry_after / 60), 60)
    noun = "document" if incoming_count == 1 else "documents"
    raise DailyQuotaExceeded(
        f"This upload ({incoming_count} {noun}) would exceed your organization's daily quota: "
        f"{used} of {limit_per_day} documents uploaded today. The quota resets at 00:00 UTC, "
        f"in {hours} h {minutes} min.",
        retry_after=retry_after,
        used=used,
        incoming=incoming_count,
        limit=limit_per_day,
    )
