from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator


class AuditEventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    organization_id: str
    # None while pending: recorded, not yet linked into the chain (normally for about a second).
    seq: int | None
    pending: bool
    created_at: datetime
    actor_user_id: str | None
    actor_api_key_id: str | None
    actor_label: str
    matter_id: str | None
    action: str
    target_type: str
    target_id: str
    outcome: str
    ip: str
    user_agent: str
    details: dict[str, Any]
    prev_hash: str | None
    hash: str | None

    @field_validator("created_at")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        """SQLite returns naive datetimes; clients must always see an explicit UTC offset."""
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class AuditEventPage(BaseModel):
    items: list[AuditEventOut]
    total: int
    offset: int
    limit: int
