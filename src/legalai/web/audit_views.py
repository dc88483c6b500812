"""The audit log page for owners and administrators: filter, read, export."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from legalai.audit.repository import AuditRepository
from legalai.audit.service import ACTIONS
from legalai.kit.deps import DbSession, PrincipalDep
from legalai.kit.errors import InvalidInput
from legalai.kit.schemas import MAX_OFFSET
from legalai.web.views import HtmlRoute, render

router = APIRouter(include_in_schema=False, route_class=HtmlRoute, default_response_class=HTMLResponse)
PAGE = 100


def _day(value: str, name: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise InvalidInput(f"{name} must be a date like 2026-01-31") from exc


@router.get("/audit")
def audit_page(
    request: Request,
    session: DbSession,
    principal: PrincipalDep,
    action: str = "",
    matter_id: str = "",
    user_id: str = "",
    since: str = "",
    until: str = "",
    offset: int = 0,
) -> HTMLResponse:
    if action and action not in ACTIONS:
        raise InvalidInput(f"Unknown action {action!r}")
    first, last = _day(since, "From"), _day(until, "To")
    offset = min(max(offset, 0), MAX_OFFSET)
    start = datetime.combine(first, time.min) if first else None
    end = datetime.combine(last + timedelta(days=1), time.min) if last else None  # "to" is inclusive
    events, total = AuditRepository(session, principal).query(
        matter_id=matter_id or None,
        user_id=user_id or None,
        action=action or None,
        since=start,
        until=end,
        offset=offset,
        limit=PAGE,
    )
    filters = {k: v for k, v in {"action": action, "matter_id": matter_id, "user_id": user_id}.items() if v}
    if start:
        filters["since"] = start.isoformat()
    if end:
        filters["until"] = end.isoformat()
    return render(
        request,
        "audit.html",
        events=events,
        total=total,
        offset=offset,
        page=PAGE,
        actions=sorted(ACTIONS),
        form={"action": action, "matter_id": matter_id, "user_id": user_id, "since": since, "until": until},
        export_query=urlencode(filters),
    )
