from __future__ import annotations

import unicodedata

from pydantic import BaseModel, ConfigDict, Field, field_validator

from legalai.kit.schemas import UtcDateTime

# Embedding, override and isolate marks: they reorder how a name is displayed (spoofing).
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


class MatterCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200, examples=["Acme v. Widgets"])
    description: str = Field(default="", max_length=10_000)
    restricted: bool = Field(
        default=False, description="Behind an ethical wall: screened people never see it"
    )

    @field_validator("name")
    @classmethod
    def _clean_name(cls, value: str) -> str:
        cleaned = " ".join(value.split())
        if not cleaned or any(unicodedata.category(c) == "Cc" or c in _BIDI_CONTROLS for c in cleaned):
            raise ValueError("name must contain visible characters and no control characters")
        return cleaned


class MatterOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    description: str
    restricted: bool = False
    created_at: UtcDateTime
    document_count: int = 0
