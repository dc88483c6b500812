"""FastAPI dependencies: the runtime, the request-owned transaction, the acting principal.

Authentication: ``Authorization: Bearer <API key>``, or the web session cookie. Requests that
change state with a cookie must also carry the session's CSRF token (header ``X-CSRF-Token`` or
form field ``csrf_token``); API keys are not sent by browsers on their own, so they need none.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterator
from datetime import timedelta
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from legalai.accounts.access import SessionRef, principal_for_api_key, principal_for_session_token
from legalai.accounts.principal import Forbidden, Principal, Unauthenticated
from legalai.accounts.service import authenticate_api_key, resolve_web_session
from legalai.kit.db import transaction, utcnow
from legalai.runtime import Runtime
from legalai.security.ratelimit import enforce_rate_limit

SESSION_COOKIE = "legalai_session"
_SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def _session(request: Request) -> Iterator[Session]:
    """One transaction per request: committed when the endpoint returns, before the response leaves
    (so a client never reads back an id that is not yet committed), rolled back on any error."""
    with transaction(get_runtime(request).sessions) as session:
        yield session


DbSession = Annotated[Session, Depends(_session, scope="function")]
RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def client_ip(request: Request) -> str:
    return request.client.host if request.client else ""


def authenticate(request: Request, session: Session) -> Principal:
    runtime = get_runtime(request)
    header = request.headers.get("authorization")
    if header:
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise Unauthenticated("Send an API key as `Authorization: Bearer <key>`")
        if runtime.settings.principal_cache_seconds > 0:
            principal = principal_for_api_key(
                session, value, runtime.principals, now=utcnow(), touch=runtime.usage.touch_key
            )
        else:
            principal = authenticate_api_key(session, value, touch=runtime.usage.touch_key)
    else:
        token = request.cookies.get(SESSION_COOKIE)
        if not token:
            raise Unauthenticated("Sign in, or send an API key as `Authorization: Bearer <key>`")
        idle = timedelta(minutes=runtime.settings.session_idle_minutes)
        if runtime.settings.principal_cache_seconds > 0:
            principal, ref = principal_for_session_token(
                session, token, runtime.principals, now=utcnow(), idle=idle, touch=runtime.usage.touch_session
            )
        else:
            principal, ws = resolve_web_session(session, token, idle=idle, touch=runtime.usage.touch_session)
            ref = SessionRef(ws.id, ws.csrf_token)
        request.state.web_session = ref
    request.state.principal = principal
    return principal


async def _csrf_token_sent(request: Request) -> str:
    sent = request.headers.get("x-csrf-token", "")
    if sent:
        return sent
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()
        value = form.get("csrf_token")
        return value if isinstance(value, str) else ""
    return ""


async def csrf_token_sent(request: Request) -> str:
    return "" if request.method in _SAFE_METHODS else await _csrf_token_sent(request)


def get_principal(
    request: Request, session: DbSession, sent_csrf: Annotated[str, Depends(csrf_token_sent)]
) -> Principal:
    principal = authenticate(request, session)
    # Every authenticated request counts against its route group's limits (per address, person,
    # key); sign-in, which has no principal yet, is limited by address and e-mail where it happens.
    enforce_rate_limit(request, principal)
    web_session = getattr(request.state, "web_session", None)
    if web_session is None or request.method in _SAFE_METHODS:
        return principal
    if not (sent_csrf and hmac.compare_digest(sent_csrf, web_session.csrf_token)):
        raise Forbidden("Missing or invalid CSRF token; reload the page and try again")
    return principal


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def request_id(request: Request) -> str | None:
    value: str | None = getattr(request.state, "request_id", None)
    return value
