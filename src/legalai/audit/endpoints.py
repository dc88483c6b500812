"""Reading and exporting the organization's audit log (owners and admins only)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse
from sqlalchemy.orm import Session

from legalai.accounts.models import AuditEvent
from legalai.accounts.principal import Principal
from legalai.audit.chainer import chain_pending
from legalai.audit.export import iter_csv, iter_jsonl
from legalai.audit.repository import AuditFilter, AuditRepository
from legalai.audit.schemas import AuditEventOut, AuditEventPage
from legalai.audit.service import ACTIONS, AuditContext, record
from legalai.kit.db import transaction, utcnow
from legalai.kit.deps import DbSession, PrincipalDep, RuntimeDep, client_ip, request_id
from legalai.kit.errors import InvalidInput
from legalai.kit.schemas import MAX_OFFSET
from legalai.runtime import Runtime

router = APIRouter(prefix="/audit", tags=["audit"])


def audit_context(request: Request) -> AuditContext:
    """Where this request came from, for ``record``."""
    return AuditContext(
        ip=client_ip(request),
        user_agent=request.headers.get("user-agent", ""),
        request_id=request_id(request),
    )


def audit_filter(
    matter_id: Annotated[str | None, Query(max_length=32)] = None,
    user_id: Annotated[str | None, Query(max_length=32)] = None,
    action: Annotated[str | None, Query(max_length=64)] = None,
    since: Annotated[datetime | None, Query(description="Inclusive; ISO 8601")] = None,
    until: Annotated[datetime | None, Query(description="Exclusive; ISO 8601")] = None,
) -> AuditFilter:
    if action is not None and action not in ACTIONS:
        raise InvalidInput(f"Unknown action {action!r}", known=sorted(ACTIONS))
    if since is not None and until is not None and since >= until:
        raise InvalidInput("`since` must be before `until`")
    return AuditFilter(matter_id, user_id, action, since, until)


FilterDep = Annotated[AuditFilter, Depends(audit_filter)]
Render = Callable[[Iterable[AuditEvent]], Iterator[str]]
_FORMATS: dict[str, tuple[Render, str]] = {
    "csv": (iter_csv, "text/csv; charset=utf-8"),
    "jsonl": (iter_jsonl, "application/x-ndjson"),
}


@router.get("/events", response_model=AuditEventPage)
def list_events(
    session: DbSession,
    principal: PrincipalDep,
    filters: FilterDep,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> AuditEventPage:
    f = filters
    rows, total = AuditRepository(session, principal).query(
        f.matter_id, f.user_id, f.action, f.since, f.until, offset=offset, limit=limit
    )
    items = [AuditEventOut.model_validate(row) for row in rows]
    return AuditEventPage(items=items, total=total, offset=offset, limit=limit)


def _stream(runtime: Runtime, principal: Principal, filters: AuditFilter, render: Render) -> Iterator[str]:
    """Rows are read while the response streams, after the request's transaction has ended,
    so the stream has its own read session. What is pending is chained first (waiting briefly for
    a chainer round in progress), so the export is chained up to and including this export's own
    event; whatever is still pending is exported too, after the chain."""
    chain_pending(runtime.engine, batch_size=runtime.settings.audit_chain_batch_size, wait_seconds=2.0)
    with transaction(runtime.sessions) as session:
        yield from render(AuditRepository(session, principal).iter_matching(filters))


def _export(
    request: Request,
    session: DbSession,
    principal: Principal,
    runtime: Runtime,
    filters: AuditFilter,
    fmt: str,
) -> StreamingResponse:
    principal.require_manage()  # refuse before recording or streaming anything
    record(
        session,
        principal,
        "audit.exported",
        details={"format": fmt, "filters": {k: v for k, v in asdict(filters).items() if v is not None}},
        context=audit_context(request),
    )
    render, media_type = _FORMATS[fmt]
    stamp = utcnow().strftime("%Y%m%dT%H%M%SZ")
    filename = f"audit-{principal.organization_id}-{stamp}.{fmt}"
    return StreamingResponse(
        _stream(runtime, principal, filters, render),
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get("/events.csv", response_class=StreamingResponse)
def export_csv(
    request: Request, session: DbSession, principal: PrincipalDep, runtime: RuntimeDep, filters: FilterDep
) -> StreamingResponse:
    return _export(request, session, principal, runtime, filters, "csv")


@router.get("/events.jsonl", response_class=StreamingResponse)
def export_jsonl(
    request: Request, session: DbSession, principal: PrincipalDep, runtime: RuntimeDep, filters: FilterDep
) -> StreamingResponse:
    return _export(request, session, principal, runtime, filters, "jsonl")


def audit_request(
    request: Request,
    session: Session,
    principal: Principal | None,
    action: str,
    **fields: Any,
) -> None:
    """Record an event for this request, in its transaction (see ``record`` for the fields)."""
    record(session, principal, action, context=audit_context(request), **fields)


def record_login_failure(request: Request, session: Session, email: str, details: dict[str, str]) -> None:
    """An ``auth.login_failed`` event in the organization of the account that was tried; an address
    without an account has no organization whose log could hold it (it is only logged)."""
    from legalai.accounts import service

    user = service.find_user(session, email)
    orgs = service.organizations_of(session, user.id) if user else []
    if user is None or not orgs:
        return
    audit_request(
        request,
        session,
        None,
        "auth.login_failed",
        organization_id=orgs[0][0].id,
        outcome="failure",
        target_type="user",
        target_id=user.id,
        actor_label=email.strip().lower()[:320],
        details=details,
    )
