"""View models and formatting for the web UI: plain data, no queries, no markup.

Highlights are returned as (text, marked) segments so templates wrap marked text in <mark>
while Jinja's autoescaping escapes every character of the document text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from pydantic import ValidationError

from legalai.documents.models import ProcessingStatus, StageStatus
from legalai.documents.schemas import DocumentOut
from legalai.matters.models import Matter
from legalai.search.lexical import SearchHit

PENDING = (ProcessingStatus.queued.value, ProcessingStatus.processing.value)
STATUS_ORDER = ("queued", "processing", "ready", "failed")
STAGE_PENDING = (StageStatus.pending.value, StageStatus.running.value)


@dataclass
class MatterRow:
    matter: Matter
    counts: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def pending(self) -> int:
        return sum(self.counts.get(s, 0) for s in PENDING)


@dataclass
class DocumentTable:
    matter_id: str
    items: list[DocumentOut]
    total: int
    offset: int
    limit: int
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def pending(self) -> bool:
        """Polling continues only while something in the matter still has work to do."""
        return any(self.counts.get(s, 0) for s in PENDING)

    @property
    def summary(self) -> list[tuple[str, int]]:
        return [(s, self.counts[s]) for s in STATUS_ORDER if self.counts.get(s)]


@dataclass
class ResultView:
    hit: SearchHit
    segments: list[tuple[str, bool]]
    leading_ellipsis: bool
    trailing_ellipsis: bool

    @classmethod
    def of(cls, hit: SearchHit) -> ResultView:
        snippet_end = hit.snippet_start + len(hit.snippet)
        return cls(hit, snippet_segments(hit), hit.snippet_start > hit.start, snippet_end < hit.end)


def snippet_segments(hit: SearchHit) -> list[tuple[str, bool]]:
    """Split the snippet at its (page-relative) highlight offsets into (text, marked) pieces."""
    text, base = hit.snippet, hit.snippet_start
    segments: list[tuple[str, bool]] = []
    pos = 0
    for h in sorted(hit.highlights, key=lambda x: x.start):
        lo, hi = max(h.start - base, pos), min(h.end - base, len(text))
        if hi <= lo:
            continue
        if lo > pos:
            segments.append((text[pos:lo], False))
        segments.append((text[lo:hi], True))
        pos = hi
    if pos < len(text):
        segments.append((text[pos:], False))
    return segments


def form_errors(exc: ValidationError) -> dict[str, str]:
    """Pydantic errors as {field: readable message}, first message per field."""
    errors: dict[str, str] = {}
    for err in exc.errors():
        name = str(err["loc"][0]) if err.get("loc") else "form"
        message = str(err.get("msg", "Invalid value")).removeprefix("Value error, ")
        errors.setdefault(name, message[:1].upper() + message[1:])
    return errors


def fmt_datetime(value: datetime | None) -> str:
    if value is None:
        return "—"
    return value.strftime("%Y-%m-%d %H:%M") + (" UTC" if value.utcoffset() is not None else "")


def fmt_bytes(value: int | None) -> str:
    if value is None:
        return "—"
    size = float(value)
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{int(size)} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{value} bytes"  # pragma: no cover


def fmt_ms(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value / 1000:.2f} s" if value >= 1000 else f"{value:.0f} ms"


def folder(path: str) -> str:
    return f"{path}/" if path else ""


def first_names(names: Sequence[str]) -> list[str]:
    return sorted(set(names), key=str.lower)
