from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from legalai.ask.service import MAX_QUESTION_CHARS


class AskIn(BaseModel):
    question: str = Field(
        min_length=1, max_length=MAX_QUESTION_CHARS, description="The question, in plain words"
    )
    conversation_id: str | None = Field(default=None, max_length=32, description="Continue this conversation")
    document_id: str | None = Field(default=None, max_length=32, description="Only this document")
    document: str | None = Field(
        default=None, max_length=255, description="Only the document with this file name"
    )
    mode: Literal["auto", "extractive", "generative"] = Field(
        default="auto",
        description="auto: an AI provider when the matter's policy allows one, else extracted passages",
    )
    top_k: int = Field(default=6, ge=1, le=20, description="Passages given to the model")
    stream: bool = Field(
        default=False, description="Server-sent events (also with Accept: text/event-stream)"
    )


class CitationOut(BaseModel):
    document_id: str
    filename: str
    page: int
    start: int
    end: int
    quote: str


class Highlight(BaseModel):
    start: int
    end: int


class StatementOut(BaseModel):
    text: str
    citations: list[CitationOut]
    supported: bool
    highlights: list[Highlight] = []
    flagged_citations: list[str] = []


class PassageOut(BaseModel):
    document_id: str
    filename: str
    page: int
    start: int
    end: int
    text: str
    score: float


class AnswerOut(BaseModel):
    question: str
    mode: Literal["extracted", "generated", "none"]
    label: str
    statements: list[StatementOut] = Field(description="Only statements whose citations were verified")
    unsupported: list[StatementOut] = Field(description="Withheld: no quote was found in the cited page")
    verified_statements: int
    total_statements: int
    passages: list[PassageOut]
    conversation_id: str | None = None
    provider: str | None = None
    model: str | None = None
    notice: str | None = None
    flagged_citations: list[str] = Field(
        default=[], description="Legal citations in the answer not found among the matter's documents"
    )


class SummaryOut(BaseModel):
    document_id: str
    version_id: str | None = None
    status: Literal["none", "queued", "waiting", "ready", "failed", "offline"] = Field(
        description="none: never requested for this version; waiting: providers down, retried later; "
        "offline: the matter allows no provider (the analysis summary applies)"
    )
    reason: str | None = None
    attempts: int = 0
    provider: str | None = None
    model: str | None = None
    statements: list[dict[str, Any]] = Field(default=[], description="Verified statements, as in an answer")
    unsupported: list[dict[str, Any]] = []
    verified_statements: int = 0
    total_statements: int = 0
    flagged_citations: list[str] = []
    updated_at: datetime | None = None
