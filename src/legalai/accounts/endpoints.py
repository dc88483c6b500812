"""Sign-in, people, API keys and matter access (membership and ethical walls)."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request, Response, status
from sqlalchemy import select

from legalai.accounts import service
from legalai.accounts.models import ApiKey, MatterMember, MatterScreen, OrganizationMember, Role, User
from legalai.accounts.principal import Forbidden, Principal, Unauthenticated
from legalai.accounts.schemas import (
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyOut,
    LoginIn,
    MatterAccessOut,
    MemberIn,
    MeOut,
    RoleChange,
    ScreenIn,
    UserCreate,
    UserOut,
)
from legalai.audit.endpoints import audit_request, record_login_failure
from legalai.kit.deps import SESSION_COOKIE, DbSession, PrincipalDep, RuntimeDep, client_ip
from legalai.kit.errors import Conflict, InvalidInput, NotFound
from legalai.matters.repository import MatterRepository
from legalai.runtime import Runtime
from legalai.security.ratelimit import limiter_of

router = APIRouter(tags=["accounts"])


def set_session_cookie(response: Response, runtime: Runtime, token: str) -> None:
    settings = runtime.settings
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=settings.session_absolute_hours * 3600,
        httponly=True,
        secure=settings.cookie_secure,
        samesite="strict",
        path="/",
    )


def sign_in(
    session: DbSession, runtime: Runtime, request: Request, email: str, password: str, org_id: str | None
) -> tuple[str, str, User]:
    """Check the password and open a web session; returns (cookie token, csrf token, user)."""
    settings = runtime.settings
    limiter = limiter_of(request)
    # Every attempt counts against the account; only failed ones against the address, so an
    # office signing in behind one address is never throttled by its colleagues' sign-ins.
    limiter.check("login", ip="", user_id=email.strip().lower(), api_key_id=None)
    limiter.peek("login", ip=client_ip(request))
    policy = service.LoginPolicy(
        settings.login_max_failures, timedelta(minutes=settings.login_lockout_minutes)
    )
    try:
        user = service.check_password(session, email, password, policy)
    except Unauthenticated:
        limiter.count("login", ip=client_ip(request))
        record_login_failure(request, session, email, {"method": "password"})
        # The failure count, lockout and audit event must outlive the error response's rollback.
        session.commit()
        raise
    orgs = service.organizations_of(session, user.id)
    chosen = next((o for o, _r in orgs if o.id == org_id), None) if org_id else (orgs[0][0] if orgs else None)
    if chosen is None:
        raise InvalidInput("This account belongs to no such organization")
    web_session, token = service.create_web_session(
        session,
        user,
        chosen.id,
        lifetime=timedelta(hours=settings.session_absolute_hours),
        ip=client_ip(request),
        user_agent=request.headers.get("user-agent", ""),
    )
    principal = service.principal_for(session, user, chosen.id, session_id=web_session.id)
    audit_request(request, session, principal, "auth.login", target_type="user", target_id=user.id)
    return token, web_session.csrf_token, user


@router.post("/auth/login", response_model=MeOut)
def login(
    data: LoginIn, request: Request, response: Response, session: DbSession, runtime: RuntimeDep
) -> MeOut:
    token, csrf, _user = sign_in(session, runtime, request, data.email, data.password, data.organization_id)
    set_session_cookie(response, runtime, token)
    principal, _ws = service.resolve_web_session(
        session, token, idle=timedelta(minutes=runtime.settings.session_idle_minutes)
    )
    return _me(principal, csrf)


@router.post("/auth/logout", status_code=status.HTTP_204_NO_CONTENT)
def logout(request: Request, response: Response, session: DbSession, principal: PrincipalDep) -> None:
    web_session = getattr(request.state, "web_session", None)
    if web_session is not None:
        service.end_session(session, web_session.id)
    audit_request(request, session, principal, "auth.logout")
    response.delete_cookie(SESSION_COOKIE, path="/")


@router.post("/auth/logout-all", status_code=status.HTTP_204_NO_CONTENT)
def logout_everywhere(
    request: Request, response: Response, session: DbSession, principal: PrincipalDep
) -> None:
    if principal.user_id is None:
        raise Forbidden("Only a person has sessions")
    ended = service.end_all_sessions(session, principal.user_id)
    audit_request(request, session, principal, "auth.logout_all", details={"sessions_count": ended})
    response.delete_cookie(SESSION_COOKIE, path="/")


@router.get("/auth/me", response_model=MeOut)
def me(request: Request, principal: PrincipalDep) -> MeOut:
    web_session = getattr(request.state, "web_session", None)
    return _me(principal, web_session.csrf_token if web_session is not None else None)


def _me(principal: Principal, csrf: str | None) -> MeOut:
    return MeOut(
        user_id=principal.user_id,
        email=principal.label,
        organization_id=principal.organization_id,
        role=principal.role,
        scopes=sorted(principal.scopes),
        via=principal.kind,
        csrf_token=csrf,
    )


# ---- people -------------------------------------------------------------------------------------


def _user_out(user: User, role: str) -> UserOut:
    return UserOut(
        id=user.id,
        email=user.email,
        display_name=user.display_name,
        role=Role(role),
        is_active=user.is_active,
        created_at=user.created_at,
    )


@router.get("/users", response_model=list[UserOut])
def list_users(session: DbSession, principal: PrincipalDep) -> list[UserOut]:
    rows = session.execute(
        select(User, OrganizationMember.role)
        .join(OrganizationMember, OrganizationMember.user_id == User.id)
        .where(OrganizationMember.organization_id == principal.organization_id)
        .order_by(User.email)
    ).all()
    return [_user_out(u, r) for u, r in rows]


@router.post("/users", status_code=status.HTTP_201_CREATED, response_model=UserOut)
def create_user(data: UserCreate, request: Request, session: DbSession, principal: PrincipalDep) -> UserOut:
    principal.require_manage()
    if data.role in (Role.owner, Role.admin):
        principal.require_owner()
    existing = service.find_user(session, data.email)
    if existing is not None:
        # Attaching someone else's account to this organization without their consent would both
        # disclose it and widen their reach; cross-organization invitations are not supported yet.
        raise Conflict("An account with this e-mail address already exists")
    user = service.create_user(session, data.email, data.password, data.display_name)
    member = service.add_to_organization(session, principal.organization_id, user.id, data.role)
    audit_request(
        request,
        session,
        principal,
        "user.created",
        target_type="user",
        target_id=user.id,
        details={"role": member.role},
    )
    return _user_out(user, member.role)


@router.put("/users/{user_id}/role", response_model=UserOut)
def change_role(
    user_id: str, data: RoleChange, request: Request, session: DbSession, principal: PrincipalDep
) -> UserOut:
    principal.require_manage()
    current = service.role_in(session, principal.organization_id, user_id)
    if current is None:
        raise NotFound(f"No user with id {user_id!r} in this organization")
    if Role.owner in (current, data.role) or Role.admin in (current, data.role):
        principal.require_owner()
    if user_id == principal.user_id and data.role is not Role.owner and current is Role.owner:
        raise InvalidInput("Owners cannot demote themselves; ask another owner")
    member = service.add_to_organization(session, principal.organization_id, user_id, data.role)
    audit_request(
        request,
        session,
        principal,
        "user.role_changed",
        target_type="user",
        target_id=user_id,
        details={"from": current.value, "to": data.role.value},
    )
    user = session.get(User, user_id)
    assert user is not None
    return _user_out(user, member.role)


# ---- API keys -----------------------------------------------------------------------------------


@router.get("/api-keys", response_model=list[ApiKeyOut])
def list_keys(
    session: DbSession, principal: PrincipalDep, runtime: RuntimeDep, all_users: bool = False
) -> list[ApiKeyOut]:
    keys = service.list_api_keys(session, principal, all_users=all_users)
    # Uses are written in batches; show this process's latest ones now (other replicas' within
    # the recorder's interval).
    pending = runtime.usage.pending_keys()
    out = [ApiKeyOut.model_validate(k) for k in keys]
    for item in out:
        seen = pending.get(item.id)
        if seen is not None and (item.last_used_at is None or seen > item.last_used_at):
            item.last_used_at = seen
    return out


@router.post("/api-keys", status_code=status.HTTP_201_CREATED, response_model=ApiKeyCreated)
def create_key(data: ApiKeyCreate, session: DbSession, principal: PrincipalDep) -> ApiKeyCreated:
    key, secret = service.create_api_key(
        session, principal, data.name, frozenset(data.scopes), data.expires_at
    )
    return _created(key, secret)


@router.post("/api-keys/{key_id}/rotate", status_code=status.HTTP_201_CREATED, response_model=ApiKeyCreated)
def rotate_key(key_id: str, request: Request, session: DbSession, principal: PrincipalDep) -> ApiKeyCreated:
    key, secret = service.rotate_api_key(session, principal, key_id)
    audit_request(
        request,
        session,
        principal,
        "api_key.rotated",
        target_type="api_key",
        target_id=key_id,
        details={"replaced_by_id": key.id},
    )
    return _created(key, secret)


@router.delete("/api-keys/{key_id}", status_code=status.HTTP_204_NO_CONTENT)
def revoke_key(key_id: str, request: Request, session: DbSession, principal: PrincipalDep) -> None:
    service.revoke_api_key(session, principal, key_id)
    audit_request(request, session, principal, "api_key.revoked", target_type="api_key", target_id=key_id)


def _created(key: ApiKey, secret: str) -> ApiKeyCreated:
    return ApiKeyCreated(**ApiKeyOut.model_validate(key).model_dump(), key=secret)


# ---- matter access ------------------------------------------------------------------------------


def _access(session: DbSession, matter_id: str) -> MatterAccessOut:
    from legalai.matters.models import Matter

    matter = session.get(Matter, matter_id)
    assert matter is not None
    members = session.scalars(select(MatterMember.user_id).where(MatterMember.matter_id == matter_id)).all()
    screened = session.scalars(select(MatterScreen.user_id).where(MatterScreen.matter_id == matter_id)).all()
    return MatterAccessOut(
        matter_id=matter_id, restricted=matter.restricted, members=sorted(members), screened=sorted(screened)
    )


def _org_user(session: DbSession, principal: Principal, user_id: str) -> None:
    if service.role_in(session, principal.organization_id, user_id) is None:
        raise NotFound(f"No user with id {user_id!r} in this organization")


@router.get("/matters/{matter_id}/access", response_model=MatterAccessOut)
def get_access(matter_id: str, session: DbSession, principal: PrincipalDep) -> MatterAccessOut:
    MatterRepository(session, principal).get_for_management(matter_id)
    return _access(session, matter_id)


@router.post("/matters/{matter_id}/members", response_model=MatterAccessOut)
def add_member(
    matter_id: str, data: MemberIn, request: Request, session: DbSession, principal: PrincipalDep
) -> MatterAccessOut:
    MatterRepository(session, principal).get_for_management(matter_id)
    _org_user(session, principal, data.user_id)
    if service.is_screened(session, matter_id, data.user_id):
        raise InvalidInput("This person is screened from the matter; lift the screen first")
    service.add_matter_member(session, matter_id, data.user_id)
    audit_request(
        request,
        session,
        principal,
        "matter.member_added",
        matter_id=matter_id,
        target_type="user",
        target_id=data.user_id,
    )
    return _access(session, matter_id)


@router.delete("/matters/{matter_id}/members/{user_id}", response_model=MatterAccessOut)
def remove_member(
    matter_id: str, user_id: str, session: DbSession, principal: PrincipalDep
) -> MatterAccessOut:
    MatterRepository(session, principal).get_for_management(matter_id)
    service.remove_matter_member(session, matter_id, user_id)
    return _access(session, matter_id)


@router.post("/matters/{matter_id}/screens", response_model=MatterAccessOut)
def add_screen(
    matter_id: str, data: ScreenIn, request: Request, session: DbSession, principal: PrincipalDep
) -> MatterAccessOut:
    matter = MatterRepository(session, principal).get_for_management(matter_id)
    _org_user(session, principal, data.user_id)
    service.screen_from_matter(session, matter_id, data.user_id, data.reason)
    matter.restricted = True
    audit_request(
        request,
        session,
        principal,
        "matter.screen_added",
        matter_id=matter_id,
        target_type="user",
        target_id=data.user_id,
        details={"reason": data.reason},
    )
    return _access(session, matter_id)


@router.delete("/matters/{matter_id}/screens/{user_id}", response_model=MatterAccessOut)
def remove_screen(
    matter_id: str, user_id: str, session: DbSession, principal: PrincipalDep
) -> MatterAccessOut:
    MatterRepository(session, principal).get_for_management(matter_id)
    service.lift_screen(session, matter_id, user_id)
    return _access(session, matter_id)
