"""A matter's AI policy: where its text may go, whether personal data is redacted first, budgets.

Privacy by default: a matter without a policy row is ``local_only`` (no text leaves the machine)
until someone who manages the matter allows providers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from legalai.ai.models import ALLOWED, LOCAL_ONLY, MatterAIPolicy
from legalai.ai.protocol import Provider


@dataclass(frozen=True)
class EffectivePolicy:
    matter_id: str | None
    mode: str = LOCAL_ONLY
    allowed_providers: tuple[str, ...] = field(default_factory=tuple)
    redact_personal_data: bool = False
    token_budget: int | None = None
    cost_budget_usd: float | None = None
    stored: bool = False  # False: the default for a matter without a policy row

    def permits(self, provider: Provider) -> bool:
        """Local providers are always allowed (nothing leaves the machine); others only when the
        matter's mode is ``allowed`` and the provider is named."""
        if provider.is_local:
            return True
        return self.mode == ALLOWED and provider.name in self.allowed_providers

    def filter(self, providers: Sequence[Provider]) -> list[Provider]:
        return [p for p in providers if self.permits(p)]


def load_policy(session: Session, organization_id: str, matter_id: str | None) -> EffectivePolicy:
    if matter_id is None:
        return EffectivePolicy(matter_id=None)
    row = session.scalar(
        select(MatterAIPolicy).where(
            MatterAIPolicy.matter_id == matter_id, MatterAIPolicy.organization_id == organization_id
        )
    )
    if row is None:
        return EffectivePolicy(matter_id=matter_id)
    return EffectivePolicy(
        matter_id=matter_id,
        mode=row.mode if row.mode in (LOCAL_ONLY, ALLOWED) else LOCAL_ONLY,
        allowed_providers=tuple(str(p) for p in row.allowed_providers or ()),
        redact_personal_data=row.redact_personal_data,
        token_budget=row.token_budget,
        cost_budget_usd=row.cost_budget_usd,
        stored=True,
    )
