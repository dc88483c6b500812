"""Pieces shared by the API schemas: UTC timestamps and the problem+json error responses."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator


def as_utc(value: datetime) -> datetime:
    """SQLite returns naive datetimes (stored as UTC); clients must always see an explicit offset."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


UtcDateTime = Annotated[datetime, AfterValidator(as_utc)]

# Paging offsets beyond this are refused (API) or clamped (web): a larger number overflows the
# databases' 64-bit OFFSET (a 500), and no listing is anywhere near this long.
MAX_OFFSET = 1_000_000_000

# RFC 9457 problem details, as rendered by legalai.app.problem(); errors may add members
# (`errors` for invalid input, `rejected` for uploads, `retry_after` for rate limits).
PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "request_id": {"type": "string"},
    },
    "additionalProperties": True,
}


def problem_response(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/problem+json": {"schema": PROBLEM_SCHEMA}}}


# Declared on every API route: authentication, authorization, lookups, conflicts, the request body
# cap, validation, rate limits and quotas, and storage outages can answer any of them.
PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: problem_response("Malformed request"),
    401: problem_response("Not authenticated"),
    403: problem_response("Not allowed"),
    404: problem_response("Not found, or not visible to the caller"),
    409: problem_response("Conflict"),
    413: problem_response("Request body or quota too large"),
    422: problem_response("Invalid input"),
    429: problem_response("Rate limit or daily quota exceeded"),
    503: problem_response("A dependency (storage) is unavailable"),
}
