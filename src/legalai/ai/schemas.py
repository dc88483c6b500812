"""API shapes of a matter's AI policy, egress log and usage."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from legalai.kit.schemas import UtcDateTime

ProviderName = Annotated[str, StringConstraints(min_length=1, max_length=100)]


class AIPolicyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    mode: Literal["local_only", "allowed"] = Field(
        description="local_only: no text leaves the machine; allowed: local providers and those listed"
    )
    allowed_providers: list[ProviderName] = Field(
        default_factory=list, max_length=50, description="Names of configured providers"
    )
    redact_personal_data: bool = Field(
        default=False, description="Redact e-mails, phone numbers, SSNs, card numbers... before sending"
    )
    token_budget: int | None = Field(default=None, ge=0, le=10**15, description="Total tokens; null: none")
    cost_budget_usd: float | None = Field(
        default=None, ge=0, le=1e9, allow_inf_nan=False, description="Total USD; null: none"
    )


class AIProviderOut(BaseModel):
    name: str
    model: str
    kind: str
    local: bool = Field(description="Text sent to it stays on this machine")
    destination: str
    allowed: bool = Field(description="This matter's policy allows it")


class AIPolicyOut(BaseModel):
    matter_id: str
    mode: Literal["local_only", "allowed"]
    allowed_providers: list[str]
    redact_personal_data: bool
    token_budget: int | None
    cost_budget_usd: float | None
    is_default: bool = Field(description="No policy was set: the private default applies")
    updated_at: UtcDateTime | None = None
    providers: list[AIProviderOut] = Field(description="Configured providers, in fallback order")


class EgressEntryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    created_at: UtcDateTime
    user_id: str | None
    provider: str
    model: str
    destination: str
    operation: str
    purpose: str
    byte_count: int
    sha256: str
    attempts: int
    redacted: bool
    outcome: str
    status: int | None


class EgressPage(BaseModel):
    items: list[EgressEntryOut]
    total: int
    offset: int
    limit: int


class UsageTotalsOut(BaseModel):
    calls: int
    cached_calls: int
    input_tokens: int
    output_tokens: int
    cost_usd: float


class UsageLineOut(UsageTotalsOut):
    provider: str
    model: str


class AIUsageOut(BaseModel):
    matter_id: str
    totals: UsageTotalsOut
    by_provider: list[UsageLineOut]
    token_budget: int | None
    cost_budget_usd: float | None
