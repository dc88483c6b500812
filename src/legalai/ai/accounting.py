"""Token and cost accounting: prices, usage totals per matter and organization, budget checks."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from legalai.ai.errors import BudgetExceeded
from legalai.ai.models import AIUsage, OrganizationAIBudget
from legalai.ai.policy import EffectivePolicy


@dataclass(frozen=True)
class Price:
    """USD per million tokens."""

    input_per_mtok: float = 0.0
    output_per_mtok: float = 0.0
    embedding_per_mtok: float = 0.0

    def chat_cost(self, input_tokens: int, output_tokens: int) -> float:
        return (input_tokens * self.input_per_mtok + output_tokens * self.output_per_mtok) / 1_000_000

    def embed_cost(self, tokens: int) -> float:
        return tokens * self.embedding_per_mtok / 1_000_000


@dataclass(frozen=True)
class Totals:
    calls: int = 0
    cached_calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0

    @property
    def tokens(self) -> int:
        return self.input_tokens + self.output_tokens


@dataclass(frozen=True)
class UsageLine(Totals):
    provider: str = ""
    model: str = ""


@dataclass(frozen=True)
class UsageSummary:
    totals: Totals
    by_provider: list[UsageLine] = field(default_factory=list)


def _scope(organization_id: str, matter_id: str | None) -> list[Any]:
    where: list[Any] = [AIUsage.organization_id == organization_id]
    if matter_id is not None:
        where.append(AIUsage.matter_id == matter_id)
    return where


def usage_summary(session: Session, organization_id: str, matter_id: str | None = None) -> UsageSummary:
    """Totals (and per provider/model) of an organization's usage, or of one of its matters."""
    # Cache hits are counted as calls, but their tokens were not spent again.
    live = AIUsage.cached.is_(False)
    columns = (
        func.count(AIUsage.id),
        func.coalesce(func.sum(case((AIUsage.cached.is_(True), 1), else_=0)), 0),
        func.coalesce(func.sum(case((live, AIUsage.input_tokens), else_=0)), 0),
        func.coalesce(func.sum(case((live, AIUsage.output_tokens), else_=0)), 0),
        func.coalesce(func.sum(case((live, AIUsage.cost_usd), else_=0.0)), 0.0),
    )
    where = _scope(organization_id, matter_id)
    total = session.execute(select(*columns).where(*where)).one()
    rows = session.execute(
        select(AIUsage.provider, AIUsage.model, *columns)
        .where(*where)
        .group_by(AIUsage.provider, AIUsage.model)
        .order_by(AIUsage.provider, AIUsage.model)
    ).all()
    lines = [
        UsageLine(
            provider=r[0],
            model=r[1],
            calls=int(r[2]),
            cached_calls=int(r[3]),
            input_tokens=int(r[4]),
            output_tokens=int(r[5]),
            cost_usd=float(r[6]),
        )
        for r in rows
    ]
    return UsageSummary(
        totals=Totals(int(total[0]), int(total[1]), int(total[2]), int(total[3]), float(total[4])),
        by_provider=lines,
    )


def spent(session: Session, organization_id: str, matter_id: str | None = None) -> tuple[int, float]:
    """(tokens, USD) consumed so far (cache hits cost nothing and are not counted)."""
    row = session.execute(
        select(
            func.coalesce(func.sum(AIUsage.input_tokens + AIUsage.output_tokens), 0),
            func.coalesce(func.sum(AIUsage.cost_usd), 0.0),
        ).where(*_scope(organization_id, matter_id), AIUsage.cached.is_(False))
    ).one()
    return int(row[0]), float(row[1])


@dataclass(frozen=True)
class OrganizationBudget:
    token_budget: int | None
    cost_budget_usd: float | None


def organization_budget(
    session: Session, organization_id: str, default_tokens: int | None
) -> OrganizationBudget:
    row = session.get(OrganizationAIBudget, organization_id)
    if row is None:
        return OrganizationBudget(default_tokens, None)
    return OrganizationBudget(row.token_budget, row.cost_budget_usd)


def check_budgets(
    session: Session,
    *,
    organization_id: str,
    policy: EffectivePolicy,
    org_budget: OrganizationBudget,
    tokens_needed: int,
    cost_needed: float,
    provider: str,
    model: str,
) -> None:
    """Raise :class:`BudgetExceeded` if this call (estimated) would go over a matter or organization
    budget. Budgets are totals over all recorded usage; concurrent calls may overshoot by a call."""
    scopes: list[tuple[str, str | None, int | None, float | None]] = []
    if policy.matter_id is not None and (
        policy.token_budget is not None or policy.cost_budget_usd is not None
    ):
        scopes.append(("matter", policy.matter_id, policy.token_budget, policy.cost_budget_usd))
    if org_budget.token_budget is not None or org_budget.cost_budget_usd is not None:
        scopes.append(("organization", None, org_budget.token_budget, org_budget.cost_budget_usd))
    for scope, matter_id, token_limit, cost_limit in scopes:
        used_tokens, used_cost = spent(session, organization_id, matter_id)
        if token_limit is not None and used_tokens + tokens_needed > token_limit:
            raise BudgetExceeded(
                f"The {scope}'s AI token budget would be exceeded: {used_tokens:,} of {token_limit:,} tokens "
                f"used, and this request needs up to {tokens_needed:,}. No request was sent; someone who "
                f"manages the {scope} can raise the budget.",
                scope=scope,
                limit=token_limit,
                used=used_tokens,
                needed=tokens_needed,
                provider=provider,
                model=model,
            )
        if cost_limit is not None and used_cost + cost_needed > cost_limit:
            raise BudgetExceeded(
                f"The {scope}'s AI cost budget would be exceeded: ${used_cost:.4f} of ${cost_limit:.2f} "
                f"spent, and this request may cost up to ${cost_needed:.4f} with {provider} ({model}). No "
                f"request was sent; someone who manages the {scope} can raise the budget.",
                scope=scope,
                limit=cost_limit,
                used=used_cost,
                needed=cost_needed,
                provider=provider,
                model=model,
            )
