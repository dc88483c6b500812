"""Sign-in, sign-out and first-run set-up pages."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from legalai.accounts import service
from legalai.accounts.endpoints import set_session_cookie, sign_in
from legalai.kit.deps import SESSION_COOKIE, DbSession, PrincipalDep, RuntimeDep, client_ip
from legalai.kit.errors import DomainError
from legalai.web.views import HtmlRoute, render

router = APIRouter(include_in_schema=False, route_class=HtmlRoute, default_response_class=HTMLResponse)


def _safe_next(target: str | None) -> str:
    """Only same-site paths: never an open redirect to another host."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\\\" in target:
        return "/"
    return target


@router.get("/login")
def login_page(request: Request, session: DbSession, next: str = "/") -> Response:
    if not service.has_any_user(session):
        return render(request, "login.html", first_run=True, next=_safe_next(next), error="", email="")
    return render(request, "login.html", first_run=False, next=_safe_next(next), error="", email="")


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
        )
    response = RedirectResponse(_safe_next(next), status_code=303)
    set_session_cookie(response, runtime, token)
    return response


@router.post("/logout")
def logout_submit(request: Request, session: DbSession, principal: PrincipalDep) -> Response:
    web_session = getattr(request.state, "web_session", None)
    if web_session is not None:
        service.end_session(session, web_session)
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
