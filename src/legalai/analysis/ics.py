"""Deadlines as an RFC 5545 iCalendar feed, written by hand.

One all-day ``VEVENT`` per deadline that has a due date (``DTSTART;VALUE=DATE`` and
``DTEND;VALUE=DATE`` the day after). The ``UID`` is stable across exports: a hash of the
document label, the deadline's offsets and its date, ``@legalai``. Text values are escaped
(``\\``, ``;``, ``,``, newlines; other control characters dropped), lines end with CRLF and are
folded at 75 octets without splitting a UTF-8 sequence (continuation lines start with a space).

Limits: no time zones (all-day events need none), no alarms, no recurrence.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, timedelta

from legalai.analysis.types import Deadline

PRODID = "-//legalai//deadlines//EN"
_MAX_OCTETS = 75
_SUMMARY_CHARS = 90


def escape_text(value: str) -> str:
    """Escape a TEXT value (RFC 5545 3.3.11)."""
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    value = "".join(c for c in value if c == "\n" or c == "\t" or (ord(c) >= 32 and ord(c) != 127))
    return value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def fold_line(line: str) -> str:
    """Fold one content line at 75 octets (UTF-8 safe), joined with CRLF + space."""
    parts: list[str] = []
    current: list[str] = []
    size = 0
    limit = _MAX_OCTETS
    for ch in line:
        n = len(ch.encode("utf-8", "replace"))
        if size + n > limit:
            parts.append("".join(current))
            current, size = [], 0
            limit = _MAX_OCTETS - 1  # the leading space of a continuation line counts
        current.append(ch)
        size += n
    parts.append("".join(current))
    return "\r\n ".join(parts)


def _ymd(day: date) -> str:
    return f"{day.year:04d}{day.month:02d}{day.day:02d}"


def _uid(label: str, deadline: Deadline, due: str) -> str:
    key = f"{label}\x1f{deadline.start}\x1f{deadline.end}\x1f{due}".encode("utf-8", "replace")
    return hashlib.sha256(key).hexdigest()[:32] + "@legalai"


def _summary(label: str, deadline: Deadline) -> str:
    text = " ".join(deadline.description.split())
    if len(text) > _SUMMARY_CHARS:
        text = text[: _SUMMARY_CHARS - 1].rstrip() + "…"
    return f"{label}: {text}" if text else f"{label}: deadline"


def _description(label: str, deadline: Deadline, due: str) -> str:
    lines = [deadline.description.strip(), "", f"Document: {label}", f"Due: {due}"]
    if deadline.relation:
        lines.append(f"Relation: {deadline.relation.replace('_', ' ')}")
    if deadline.anchor:
        lines.append(f"Anchor: {deadline.anchor}")
    if deadline.offset is not None:
        lines.append(f"Offset: {deadline.offset.text or deadline.offset.iso} ({deadline.offset.iso})")
    return "\n".join(lines)


def deadlines_to_ics(
    deadlines: list[tuple[str, Deadline]], calendar_name: str, now: datetime | None = None
) -> str:
    """An iCalendar text with one all-day event per dated deadline (label, deadline pairs)."""
    stamp_time = now or datetime.now(UTC)
    if stamp_time.tzinfo is not None:
        stamp_time = stamp_time.astimezone(UTC)
    stamp = f"{_ymd(stamp_time.date())}T{stamp_time.hour:02d}{stamp_time.minute:02d}{stamp_time.second:02d}Z"
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{PRODID}",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        f"X-WR-CALNAME:{escape_text(str(calendar_name))}",
    ]
    for label, deadline in deadlines:
        if not deadline.due_date:
            continue
        try:
            day = date.fromisoformat(deadline.due_date[:10])
        except (ValueError, TypeError):
            continue
        due = day.isoformat()
        label = str(label)
        end_day = day + timedelta(days=1) if day < date.max else day
        lines += [
            "BEGIN:VEVENT",
            f"UID:{_uid(label, deadline, due)}",
            f"DTSTAMP:{stamp}",
            f"DTSTART;VALUE=DATE:{_ymd(day)}",
            f"DTEND;VALUE=DATE:{_ymd(end_day)}",
            f"SUMMARY:{escape_text(_summary(label, deadline))}",
            f"DESCRIPTION:{escape_text(_description(label, deadline, due))}",
            "TRANSP:TRANSPARENT",
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    return "".join(fold_line(line) + "\r\n" for line in lines)
