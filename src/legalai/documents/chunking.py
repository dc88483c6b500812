"""Split page text into retrieval chunks that keep exact page offsets.

A chunk never crosses a page, so every hit cites (page, start, end) with
``page.text[start:end] == chunk.text``. Boundaries prefer paragraph breaks, then sentence ends,
then spaces, so a clause is rarely cut mid-sentence; neighbouring chunks overlap a little so a
sentence on a boundary is still found whole in one of them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_PARAGRAPH = re.compile(r"\n\s*\n")
_SENTENCE = re.compile(r"[.;:!?][\"')\]]?\s+")
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class ChunkSpan:
    page_number: int
    start: int
    end: int


def _last_break(pattern: re.Pattern[str], text: str, lo: int, hi: int) -> int | None:
    best = None
    for match in pattern.finditer(text, lo, hi):
        best = match.end()
    return best


def _cut(text: str, start: int, limit: int, min_size: int) -> int:
    """Best end offset for a chunk starting at ``start`` with at most ``limit`` characters."""
    hard_end = min(len(text), start + limit)
    if hard_end == len(text):
        return hard_end
    lo = start + min_size
    for pattern in (_PARAGRAPH, _SENTENCE, _SPACE):
        found = _last_break(pattern, text, lo, hard_end)
        if found is not None and found > start:
            return found
    return hard_end


def chunk_page(page_number: int, text: str, size: int, overlap: int) -> list[ChunkSpan]:
    spans: list[ChunkSpan] = []
    start = _skip_space(text, 0)
    min_size = size // 2
    while start < len(text):
        end = _cut(text, start, size, min_size)
        trimmed_end = end
        while trimmed_end > start and text[trimmed_end - 1].isspace():
            trimmed_end -= 1
        if trimmed_end > start:
            spans.append(ChunkSpan(page_number, start, trimmed_end))
        if end >= len(text):
            break
        start = _skip_space(text, _overlap_start(text, start, end, overlap))
    return spans


def _overlap_start(text: str, start: int, end: int, overlap: int) -> int:
    """Step back ``overlap`` characters from ``end`` to a word start, always moving forward."""
    if overlap <= 0:
        return end
    back = max(start + 1, end - overlap)
    space = text.find(" ", back, end)
    return space + 1 if space != -1 else end


def _skip_space(text: str, pos: int) -> int:
    while pos < len(text) and text[pos].isspace():
        pos += 1
    return pos


def chunk_pages(pages: list[tuple[int, str]], size: int, overlap: int) -> list[ChunkSpan]:
    spans: list[ChunkSpan] = []
    for number, text in pages:
        spans.extend(chunk_page(number, text, size, overlap))
    return spans
