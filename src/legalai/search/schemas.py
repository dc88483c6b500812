from __future__ import annotations

from pydantic import BaseModel


class HighlightOut(BaseModel):
    start: int
    end: int


class SearchHitOut(BaseModel):
    document_id: str
    filename: str
    path: str
    page: int
    start: int
    end: int
    text: str
    score: float
    snippet: str
    snippet_start: int
    highlights: list[HighlightOut]


class SearchResults(BaseModel):
    query: str
    hits: list[SearchHitOut]
