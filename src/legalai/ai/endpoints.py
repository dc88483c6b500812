"""A matter's AI policy (where its text may go, redaction, budgets), egress log and AI usage.

Reading the policy: the matter's readers, and the owners and admins who manage it. Changing it:
owners and admins (not walled off from the matter), audited as ``matter.ai_policy_changed``.
The egress log and usage: the matter's readers.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from legalai.accounts.principal import Principal
from legalai.ai.accounting import Totals, usage_summary
from legalai.ai.gateway import AIGateway
from legalai.ai.models import EgressLogEntry, MatterAIPolicy
from legalai.ai.policy import EffectivePolicy, load_policy
from legalai.ai.schemas import (
    AIPolicyIn,
    AIPolicyOut,
    AIProviderOut,
    AIUsageOut,
    EgressEntryOut,
    EgressPage,
    UsageLineOut,
    UsageTotalsOut,
)
from legalai.audit.endpoints import audit_request
from legalai.kit.db import utcnow
from legalai.kit.deps import DbSession, PrincipalDep, RuntimeDep
from legalai.kit.errors import InvalidInput, NotFound
from legalai.kit.schemas import MAX_OFFSET, problem_response
from legalai.matters.models import Matter
from legalai.matters.repository import MatterRepository

router = APIRouter(prefix="/matters", tags=["ai"])


def _readable_or_managed(session: Session, principal: Principal, matter_id: str) -> Matter:
    repo = MatterRepository(session, principal)
    try:
        return repo.get(matter_id)
    except NotFound:
        if not principal.can_manage:
            raise
        return repo.get_for_management(matter_id)


def _policy_out(
    gateway: AIGateway, matter_id: str, policy: EffectivePolicy, row: MatterAIPolicy | None
) -> AIPolicyOut:
    providers = []
    for provider in gateway.providers:
        info = gateway.info(provider)
        providers.append(
            AIProviderOut(
                name=info.name,
                model=info.model,
                kind=info.kind,
                local=info.local,
                destination=info.destination,
                allowed=policy.permits(provider),
            )
        )
    return AIPolicyOut(
        matter_id=matter_id,
        mode="allowed" if policy.mode == "allowed" else "local_only",
        allowed_providers=list(policy.allowed_providers),
        redact_personal_data=policy.redact_personal_data,
        token_budget=policy.token_budget,
        cost_budget_usd=policy.cost_budget_usd,
        is_default=not policy.stored,
        updated_at=row.updated_at if row is not None else None,
        providers=providers,
    )


@router.get("/{matter_id}/ai-policy", response_model=AIPolicyOut)
def get_ai_policy(
    matter_id: str, session: DbSession, principal: PrincipalDep, runtime: RuntimeDep
) -> AIPolicyOut:
    """Where this matter's text may be sent. Without a policy the private default applies:
    ``local_only``, no text leaves the machine."""
    matter = _readable_or_managed(session, principal, matter_id)
    policy = load_policy(session, principal.organization_id, matter.id)
    return _policy_out(runtime.ai, matter.id, policy, session.get(MatterAIPolicy, matter.id))


@router.put(
    "/{matter_id}/ai-policy",
    response_model=AIPolicyOut,
    responses={422: problem_response("Unknown provider names, or invalid values")},
)
def put_ai_policy(
    matter_id: str,
    data: AIPolicyIn,
    request: Request,
    session: DbSession,
    principal: PrincipalDep,
    runtime: RuntimeDep,
) -> AIPolicyOut:
    """Set the matter's AI policy (owners and admins). Providers are named as configured."""
    principal.require_manage()
    matter = MatterRepository(session, principal).get_for_management(matter_id)
    configured = [p.name for p in runtime.ai.providers]
    names = list(dict.fromkeys(n.strip() for n in data.allowed_providers))
    unknown = [n for n in names if n not in configured]
    if unknown:
        raise InvalidInput(
            f"Unknown AI provider{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)}. "
            f"Configured providers: {', '.join(configured) or 'none'}",
            unknown=unknown,
            configured=configured,
        )
    row = session.get(MatterAIPolicy, matter.id)
    previous: dict[str, Any] | None = _audit_view(row) if row is not None else None
    if row is None:
        row = MatterAIPolicy(matter_id=matter.id, organization_id=principal.organization_id)
        session.add(row)
    row.mode = data.mode
    row.allowed_providers = names
    row.redact_personal_data = data.redact_personal_data
    row.token_budget = data.token_budget
    row.cost_budget_usd = data.cost_budget_usd
    row.updated_at = utcnow()
    row.updated_by = principal.user_id
    session.flush()
    audit_request(
        request,
        session,
        principal,
        "matter.ai_policy_changed",
        matter_id=matter.id,
        target_type="matter",
        target_id=matter.id,
        details={**_audit_view(row), "previous": previous},
    )
    policy = load_policy(session, principal.organization_id, matter.id)
    return _policy_out(runtime.ai, matter.id, policy, row)


def _audit_view(row: MatterAIPolicy) -> dict[str, Any]:
    # The audit log redacts keys that contain "token"; "_count" keeps this one readable.
    return {
        "mode": row.mode,
        "allowed_providers": list(row.allowed_providers or []),
        "redact_personal_data": row.redact_personal_data,
        "budget": {"max_tokens_count": row.token_budget, "max_usd": row.cost_budget_usd},
    }


@router.get("/{matter_id}/egress-log", response_model=EgressPage)
def egress_log(
    matter_id: str,
    session: DbSession,
    principal: PrincipalDep,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> EgressPage:
    """Every request with this matter's text that left the machine, newest first: provider,
    model, destination, byte count and sha256 of what was sent, who asked and why."""
    matter = MatterRepository(session, principal).get(matter_id)
    where = (
        EgressLogEntry.organization_id == principal.organization_id,
        EgressLogEntry.matter_id == matter.id,
    )
    total = session.scalar(select(func.count(EgressLogEntry.id)).where(*where)) or 0
    rows = session.scalars(
        select(EgressLogEntry)
        .where(*where)
        .order_by(EgressLogEntry.created_at.desc(), EgressLogEntry.id.desc())
        .offset(offset)
        .limit(limit)
    ).all()
    return EgressPage(
        items=[EgressEntryOut.model_validate(r) for r in rows], total=total, offset=offset, limit=limit
    )


def _totals(t: Totals) -> dict[str, Any]:
    return {
        "calls": t.calls,
        "cached_calls": t.cached_calls,
        "input_tokens": t.input_tokens,
        "output_tokens": t.output_tokens,
        "cost_usd": round(t.cost_usd, 6),
    }


@router.get("/{matter_id}/ai-usage", response_model=AIUsageOut)
def ai_usage(matter_id: str, session: DbSession, principal: PrincipalDep) -> AIUsageOut:
    """Tokens and cost of the matter's AI calls, in total and per provider and model (cache hits
    are counted as calls at no cost), with the matter's budgets."""
    matter = MatterRepository(session, principal).get(matter_id)
    summary = usage_summary(session, principal.organization_id, matter.id)
    policy = load_policy(session, principal.organization_id, matter.id)
    return AIUsageOut(
        matter_id=matter.id,
        totals=UsageTotalsOut(**_totals(summary.totals)),
        by_provider=[
            UsageLineOut(provider=u.provider, model=u.model, **_totals(u)) for u in summary.by_provider
        ],
        token_budget=policy.token_budget,
        cost_budget_usd=policy.cost_budget_usd,
    )
