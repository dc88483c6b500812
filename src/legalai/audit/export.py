"""Streaming CSV and JSON Lines renderings of audit events.

Both carry every stored field, including ``prev_hash`` and ``hash``, so an unfiltered export can be
re-verified away from the database. Events still pending (not yet chained) come last with empty
``seq``, ``prev_hash`` and ``hash``: they are part of the log but not yet covered by the chain.
CSV cells that a spreadsheet would run as a formula are defused with a leading apostrophe (OWASP
"CSV injection"): actor labels, user agents and target ids come from untrusted input.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

from legalai.accounts.models import AuditEvent
from legalai.audit.service import HASHED_FIELDS

COLUMNS = ("id", *HASHED_FIELDS, "prev_hash", "hash")
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _iso(value: datetime) -> str:
    aware = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return aware.isoformat(timespec="microseconds")


def event_record(event: AuditEvent) -> dict[str, Any]:
    """One event as plain JSON-ready values, created_at in UTC ISO 8601."""
    record = {name: getattr(event, name) for name in COLUMNS}
    record["created_at"] = _iso(event.created_at)
    return record


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        value = json.dumps(value, ensure_ascii=False, sort_keys=True)
    cell = str(value)
    return "'" + cell if cell.startswith(_FORMULA_STARTS) else cell


def iter_csv(rows: Iterable[AuditEvent]) -> Iterator[str]:
    """A header line, then one CSV line per event (RFC 4180, CRLF), produced as the rows arrive."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def line(cells: Iterable[Any]) -> str:
        writer.writerow(cells)
        value = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return value

    yield line(COLUMNS)
    for event in rows:
        record = event_record(event)
        yield line(_csv_cell(record[name]) for name in COLUMNS)


def iter_jsonl(rows: Iterable[AuditEvent]) -> Iterator[str]:
    """One JSON object per line; raw values (no formula defusing: JSON is not run by spreadsheets)."""
    for event in rows:
        yield json.dumps(event_record(event), ensure_ascii=False, separators=(",", ":")) + "\n"
