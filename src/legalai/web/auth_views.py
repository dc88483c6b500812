"""Sign-in, sign-out and first-run set-up pages."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from legalai.accounts import oidc, service
from legalai.accounts.endpoints import set_session_cookie, sign_in
from legalai.kit.deps import SESSION_COOKIE, DbSession, PrincipalDep, RuntimeDep, client_ip
from legalai.kit.errors import DomainError, NotFound
from legalai.runtime import Runtime
from legalai.web.views import HtmlRoute, render

router = APIRouter(include_in_schema=False, route_class=HtmlRoute, default_response_class=HTMLResponse)


def _safe_next(target: str | None) -> str:
    """Only same-site paths: never an open redirect to another host."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\\\" in target:
        return "/"
    return target


def _sso_name(runtime: Runtime) -> str:
    """The single sign-on button's label, or "" when OIDC is not configured."""
    return runtime.settings.oidc_display_name if runtime.settings.oidc_enabled else ""


@router.get("/login")
def login_page(request: Request, session: DbSession, runtime: RuntimeDep, next: str = "/") -> Response:
    if not service.has_any_user(session):
        return render(request, "login.html", first_run=True, next=_safe_next(next), error="", email="")
    return render(
        request,
        "login.html",
        first_run=False,
        next=_safe_next(next),
        error="",
        email="",
        sso=_sso_name(runtime),
    )


@router.post("/login")
def login_submit(
    request: Request,
    session: DbSession,
    runtime: RuntimeDep,
    email: Annotated[str, Form(max_length=320)],
    password: Annotated[str, Form(max_length=1024)],
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    try:
        token, _csrf, _user = sign_in(session, runtime, request, email, password, None)
    except DomainError as exc:
        return render(
            request,
            "login.html",
            exc.status_code,
            first_run=False,
            next=_safe_next(next),
            error=exc.detail,
            email=email,
            sso=_sso_name(runtime),
        )
    response = RedirectResponse(_safe_next(next), status_code=303)
    set_session_cookie(response, runtime, token)
    return response


def _oidc_client(runtime: Runtime) -> oidc.OidcClient:
    if not runtime.settings.oidc_enabled:
        raise NotFound("Single sign-on is not configured")
    return oidc.OidcClient(runtime.settings)


def _oidc_refused(request: Request, runtime: Runtime, exc: oidc.OidcError, next: str = "/") -> Response:
    page = render(
        request,
        "login.html",
        exc.status_code,
        first_run=False,
        next=_safe_next(next),
        error=exc.message,
        email=exc.email or "",
        sso=_sso_name(runtime),
    )
    oidc.clear_flow_cookie(page, runtime.settings)
    return page


@router.get("/login/oidc")
def oidc_start(request: Request, runtime: RuntimeDep, next: str = "/") -> Response:
    client = _oidc_client(runtime)
    try:
        url, flow_cookie = client.begin(_safe_next(next))
    except oidc.OidcError as exc:
        return _oidc_refused(request, runtime, exc, next)
    response = RedirectResponse(url, status_code=303)
    oidc.set_flow_cookie(response, runtime.settings, flow_cookie)
    return response


@router.get("/login/oidc/callback")
def oidc_callback(
    request: Request,
    session: DbSession,
    runtime: RuntimeDep,
    state: str = "",
    code: str = "",
    error: str = "",
) -> Response:
    client = _oidc_client(runtime)
    try:
        identity, next_path = client.complete(request.cookies.get(oidc.FLOW_COOKIE), state, code, error)
        token, _user = oidc.sign_in(session, runtime, request, identity)
    except oidc.OidcError as exc:
        if exc.email:
            oidc.record_failure(session, request, exc.email, exc.reason)
        return _oidc_refused(request, runtime, exc)
    response = RedirectResponse(_safe_next(next_path), status_code=303)
    set_session_cookie(response, runtime, token)
    oidc.clear_flow_cookie(response, runtime.settings)
    return response


@router.post("/logout")
def logout_submit(request: Request, session: DbSession, principal: PrincipalDep) -> Response:
    web_session = getattr(request.state, "web_session", None)
    if web_session is not None:
        service.end_session(session, web_session.id)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/setup")
def setup_page(request: Request, session: DbSession, token: str = "") -> Response:
    if service.has_any_user(session):
        return RedirectResponse("/login", status_code=303)
    return render(request, "setup.html", token=token, error="", form={})


@router.post("/setup")
def setup_submit(
    request: Request,
    session: DbSession,
    runtime: RuntimeDep,
    token: Annotated[str, Form(max_length=200)],
    organization: Annotated[str, Form(max_length=200)],
    email: Annotated[str, Form(max_length=320)],
    password: Annotated[str, Form(max_length=1024)],
    display_name: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    form = {"organization": organization, "email": email, "display_name": display_name}
    try:
        with session.begin_nested():
            org, user = service.complete_setup(session, token, organization, email, password, display_name)
            _ws, cookie = service.create_web_session(
                session,
                user,
                org.id,
                lifetime=timedelta(hours=runtime.settings.session_absolute_hours),
                ip=client_ip(request),
                user_agent=request.headers.get("user-agent", ""),
            )
    except DomainError as exc:
        return render(request, "setup.html", exc.status_code, token=token, error=exc.detail, form=form)
    response = RedirectResponse("/", status_code=303)
    set_session_cookie(response, runtime, cookie)
    return response
