"""Organizations, people, roles, memberships, API keys, web sessions and first-run set-up.

Services flush, never commit. Every function that reads on behalf of someone takes a Principal.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from legalai.accounts.models import (
    ApiKey,
    MatterMember,
    MatterScreen,
    Organization,
    OrganizationMember,
    Role,
    SetupToken,
    User,
    WebSession,
)
from legalai.accounts.principal import ALL_SCOPES, Forbidden, Principal, Unauthenticated
from legalai.accounts.security import (
    generate_api_key,
    hash_password,
    needs_rehash,
    new_token,
    password_problem,
    same_secret,
    split_api_key,
    token_hash,
    verify_password,
)
from legalai.kit.db import utcnow
from legalai.kit.errors import Conflict, InvalidInput, NotFound
from legalai.matters.models import Matter

_EMAIL = re.compile(r"^[^@\s\x00-\x1f]{1,64}@[^@\s\x00-\x1f]{1,255}\.[^@\s\x00-\x1f]{1,63}$")


def _aware(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; everything here is UTC."""
    if value is not None and value.tzinfo is None:
        from datetime import UTC

        return value.replace(tzinfo=UTC)
    return value


# ---- organizations and people ---------------------------------------------------------------


def slugify(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return slug[:60] or "org"


def create_organization(session: Session, name: str) -> Organization:
    name = " ".join(name.split())
    if not name or any(ord(c) < 32 for c in name) or len(name) > 200:
        raise InvalidInput("The organization name must be 1 to 200 visible characters")
    base = slugify(name)
    slug, n = base, 1
    while session.scalar(select(Organization.id).where(Organization.slug == slug)) is not None:
        n += 1
        slug = f"{base}-{n}"
    org = Organization(name=name, slug=slug)
    session.add(org)
    session.flush()
    return org


def normalize_email(email: str) -> str:
    cleaned = email.strip().lower()
    if not _EMAIL.match(cleaned):
        raise InvalidInput("That is not a valid e-mail address")
    return cleaned


def create_user(session: Session, email: str, password: str | None, display_name: str = "") -> User:
    address = normalize_email(email)
    if password is not None and (problem := password_problem(password)):
        raise InvalidInput(problem)
    if session.scalar(select(User.id).where(User.email == address)) is not None:
        raise Conflict("A user with this e-mail address already exists")
    user = User(
        email=address,
        display_name=" ".join(display_name.split())[:200],
        password_hash=hash_password(password) if password else None,
    )
    session.add(user)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as exc:
        raise Conflict("A user with this e-mail address already exists") from exc
    return user


def find_user(session: Session, email: str) -> User | None:
    return session.scalar(select(User).where(User.email == email.strip().lower()))


def add_to_organization(
    session: Session, organization_id: str, user_id: str, role: Role
) -> OrganizationMember:
    existing = session.scalar(
        select(OrganizationMember).where(
            OrganizationMember.organization_id == organization_id, OrganizationMember.user_id == user_id
        )
    )
    if existing is not None:
        existing.role = role.value
        session.flush()
        return existing
    member = OrganizationMember(organization_id=organization_id, user_id=user_id, role=role.value)
    session.add(member)
    session.flush()
    return member


def role_in(session: Session, organization_id: str, user_id: str) -> Role | None:
    value = session.scalar(
        select(OrganizationMember.role).where(
            OrganizationMember.organization_id == organization_id, OrganizationMember.user_id == user_id
        )
    )
    return Role(value) if value else None


def organizations_of(session: Session, user_id: str) -> list[tuple[Organization, Role]]:
    rows = session.execute(
        select(Organization, OrganizationMember.role)
        .join(OrganizationMember, OrganizationMember.organization_id == Organization.id)
        .where(OrganizationMember.user_id == user_id)
        .order_by(Organization.created_at)
    ).all()
    return [(org, Role(role)) for org, role in rows]


def visible_matter_ids(session: Session, organization_id: str, user_id: str) -> frozenset[str]:
    """Matters whose content this user may read: membership, minus any ethical-wall screen."""
    screened = select(MatterScreen.matter_id).where(MatterScreen.user_id == user_id)
    rows = session.scalars(
        select(MatterMember.matter_id)
        .join(Matter, Matter.id == MatterMember.matter_id)
        .where(
            MatterMember.user_id == user_id,
            Matter.organization_id == organization_id,
            MatterMember.matter_id.not_in(screened),
        )
    ).all()
    return frozenset(rows)


def principal_for(
    session: Session,
    user: User,
    organization_id: str,
    *,
    kind: str = "user",
    scopes: frozenset[str] = ALL_SCOPES,
    api_key_id: str | None = None,
    session_id: str | None = None,
) -> Principal:
    if not user.is_active:
        raise Unauthenticated("This account is disabled")
    role = role_in(session, organization_id, user.id)
    if role is None:
        raise Unauthenticated("This account is not a member of the organization")
    return Principal(
        organization_id=organization_id,
        kind="api_key" if kind == "api_key" else "user",
        user_id=user.id,
        role=role,
        matter_ids=visible_matter_ids(session, organization_id, user.id),
        scopes=scopes,
        api_key_id=api_key_id,
        session_id=session_id,
        label=user.email,
    )


# ---- matter membership and ethical walls -----------------------------------------------------


def add_matter_member(session: Session, matter_id: str, user_id: str) -> None:
    exists = session.scalar(
        select(MatterMember.id).where(MatterMember.matter_id == matter_id, MatterMember.user_id == user_id)
    )
    if exists is None:
        session.add(MatterMember(matter_id=matter_id, user_id=user_id))
        session.flush()


def remove_matter_member(session: Session, matter_id: str, user_id: str) -> None:
    member = session.scalar(
        select(MatterMember).where(MatterMember.matter_id == matter_id, MatterMember.user_id == user_id)
    )
    if member is not None:
        session.delete(member)
        session.flush()


def screen_from_matter(session: Session, matter_id: str, user_id: str, reason: str = "") -> None:
    exists = session.scalar(
        select(MatterScreen.id).where(MatterScreen.matter_id == matter_id, MatterScreen.user_id == user_id)
    )
    if exists is None:
        session.add(MatterScreen(matter_id=matter_id, user_id=user_id, reason=reason[:500]))
    remove_matter_member(session, matter_id, user_id)
    session.flush()


def lift_screen(session: Session, matter_id: str, user_id: str) -> None:
    screen = session.scalar(
        select(MatterScreen).where(MatterScreen.matter_id == matter_id, MatterScreen.user_id == user_id)
    )
    if screen is not None:
        session.delete(screen)
        session.flush()


def is_screened(session: Session, matter_id: str, user_id: str) -> bool:
    return (
        session.scalar(
            select(MatterScreen.id).where(
                MatterScreen.matter_id == matter_id, MatterScreen.user_id == user_id
            )
        )
        is not None
    )


# ---- API keys ---------------------------------------------------------------------------------


def create_api_key(
    session: Session,
    principal: Principal,
    name: str,
    scopes: frozenset[str],
    expires_at: datetime | None = None,
) -> tuple[ApiKey, str]:
    """A key for the principal's own user; its scopes may not exceed what that user may do."""
    if principal.user_id is None:
        raise Forbidden("Only a person can own an API key")
    if not scopes or not scopes <= ALL_SCOPES:
        raise InvalidInput("Scopes must be a non-empty subset of read, write, admin")
    if "admin" in scopes and not principal.can_manage:
        raise Forbidden("Only owners and administrators may create admin-scoped keys")
    if not scopes <= principal.scopes:
        raise Forbidden("A key cannot have more scopes than the credential that creates it")
    if expires_at is not None and _aware(expires_at) <= utcnow():  # type: ignore[operator]
        raise InvalidInput("The expiry must be in the future")
    generated = generate_api_key()
    key = ApiKey(
        organization_id=principal.organization_id,
        user_id=principal.user_id,
        name=" ".join(name.split())[:200] or "API key",
        prefix=generated.prefix,
        secret_hash=token_hash(generated.secret),
        scopes=sorted(scopes),
        expires_at=expires_at,
    )
    session.add(key)
    session.flush()
    return key, generated.full


Touch = Callable[[str, datetime], None]


def authenticate_api_key(session: Session, presented: str, *, touch: Touch | None = None) -> Principal:
    """The principal of a valid key. ``touch(key_id, now)`` notes the use (batched by
    :class:`accounts.usage.UsageRecorder`, so a request never writes); without it the key row
    is updated in this transaction, at most once a minute."""
    parts = split_api_key(presented.strip())
    key = session.scalar(select(ApiKey).where(ApiKey.prefix == parts[0])) if parts else None
    if key is None or parts is None or not same_secret(key.secret_hash, parts[1]):
        raise Unauthenticated("Invalid API key")
    now = utcnow()
    if key.revoked_at is not None:
        raise Unauthenticated("This API key has been revoked")
    if key.expires_at is not None and _aware(key.expires_at) <= now:  # type: ignore[operator]
        raise Unauthenticated("This API key has expired")
    user = session.get(User, key.user_id)
    if user is None:
        raise Unauthenticated("Invalid API key")
    last = _aware(key.last_used_at)
    if last is None or now - last > timedelta(minutes=1):
        if touch is not None:
            touch(key.id, now)
        else:
            key.last_used_at = now  # at most one write a minute per key
    return principal_for(
        session, user, key.organization_id, kind="api_key", scopes=frozenset(key.scopes), api_key_id=key.id
    )


def list_api_keys(session: Session, principal: Principal, *, all_users: bool = False) -> list[ApiKey]:
    stmt = select(ApiKey).where(ApiKey.organization_id == principal.organization_id)
    if not (all_users and principal.can_manage):
        stmt = stmt.where(ApiKey.user_id == principal.user_id)
    return list(session.scalars(stmt.order_by(ApiKey.created_at.desc())).all())


def _own_key(session: Session, principal: Principal, key_id: str) -> ApiKey:
    key = session.scalar(
        select(ApiKey).where(ApiKey.id == key_id, ApiKey.organization_id == principal.organization_id)
    )
    if key is None or (key.user_id != principal.user_id and not principal.can_manage):
        raise NotFound(f"No API key with id {key_id!r}")
    return key


def revoke_api_key(session: Session, principal: Principal, key_id: str) -> ApiKey:
    """Owners and admins may revoke anyone's key; others their own, with a credential at least as
    strong as the key (a read-only key cannot switch off its owner's write key)."""
    key = _own_key(session, principal, key_id)
    if not principal.can_manage and not frozenset(key.scopes) <= principal.scopes:
        raise Forbidden("This credential cannot revoke a key with more scopes than its own")
    if key.revoked_at is None:
        key.revoked_at = utcnow()
    session.flush()
    return key


def rotate_api_key(session: Session, principal: Principal, key_id: str) -> tuple[ApiKey, str]:
    """A new secret with the same name, scopes and expiry; the old key stops working at once.

    Only the key's owner may rotate it (rotating hands over the new secret, which would let an
    admin act as a member and read past membership and walls), and only with a credential at
    least as strong as the key.
    """
    old = _own_key(session, principal, key_id)
    if old.user_id != principal.user_id:
        raise Forbidden("Only the owner of a key can rotate it; administrators can revoke it")
    if old.revoked_at is not None:
        raise Conflict("A revoked key cannot be rotated")
    new, secret = create_api_key(session, principal, old.name, frozenset(old.scopes), _aware(old.expires_at))
    old.revoked_at = utcnow()
    old.replaced_by_id = new.id
    session.flush()
    return new, secret


# ---- passwords and web sessions ------------------------------------------------------------


class LoginPolicy:
    def __init__(self, max_failures: int = 5, lockout: timedelta = timedelta(minutes=15)) -> None:
        self.max_failures = max_failures
        self.lockout = lockout


def check_password(session: Session, email: str, password: str, policy: LoginPolicy) -> User:
    """The user, or Unauthenticated with the same message and cost whether or not they exist."""
    try:
        address = normalize_email(email)
    except InvalidInput:
        address = ""
    user = find_user(session, address) if address else None
    now = utcnow()
    locked = user is not None and user.locked_until is not None and _aware(user.locked_until) > now  # type: ignore[operator]
    valid = verify_password(user.password_hash if user else None, password)
    if user is None or locked or not valid or not user.is_active:
        if user is not None and not locked:
            user.failed_logins += 1
            if user.failed_logins >= policy.max_failures:
                user.locked_until = now + policy.lockout
                user.failed_logins = 0
            session.flush()
        raise Unauthenticated("Wrong e-mail address or password, or the account is locked for a while")
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    if user.password_hash and needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    session.flush()
    return user


def create_web_session(
    session: Session, user: User, organization_id: str, *, lifetime: timedelta, ip: str, user_agent: str
) -> tuple[WebSession, str]:
    if role_in(session, organization_id, user.id) is None:
        raise Unauthenticated("This account is not a member of the organization")
    token = new_token()
    now = utcnow()
    ws = WebSession(
        token_hash=token_hash(token),
        user_id=user.id,
        organization_id=organization_id,
        csrf_token=new_token(24),
        last_seen_at=now,
        expires_at=now + lifetime,
        ip=ip[:64],
        user_agent=user_agent[:400],
    )
    session.add(ws)
    session.flush()
    return ws, token


def resolve_web_session(
    session: Session, token: str, *, idle: timedelta, touch: Touch | None = None
) -> tuple[Principal, WebSession]:
    ws = session.scalar(select(WebSession).where(WebSession.token_hash == token_hash(token)))
    now = utcnow()
    if ws is None or ws.revoked_at is not None:
        raise Unauthenticated("Please sign in")
    if _aware(ws.expires_at) <= now or now - _aware(ws.last_seen_at) > idle:  # type: ignore[operator]
        ws.revoked_at = now
        session.flush()
        raise Unauthenticated("Your session has expired; please sign in again")
    user = session.get(User, ws.user_id)
    if user is None:
        raise Unauthenticated("Please sign in")
    if now - _aware(ws.last_seen_at) > timedelta(seconds=30):  # type: ignore[operator]
        if touch is not None:
            touch(ws.id, now)
        else:
            ws.last_seen_at = now
    return principal_for(session, user, ws.organization_id, session_id=ws.id), ws


def end_session(session: Session, session_id: str) -> None:
    ws = session.get(WebSession, session_id)
    if ws is not None and ws.revoked_at is None:
        ws.revoked_at = utcnow()
        session.flush()


def end_all_sessions(session: Session, user_id: str) -> int:
    result = session.execute(
        update(WebSession)
        .where(WebSession.user_id == user_id, WebSession.revoked_at.is_(None))
        .values(revoked_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


# ---- first run ---------------------------------------------------------------------------------


def has_any_user(session: Session) -> bool:
    return (session.scalar(select(func.count()).select_from(User)) or 0) > 0


def create_setup_token(session: Session, ttl: timedelta = timedelta(hours=24)) -> str:
    token = new_token()
    session.add(SetupToken(token_hash=token_hash(token), expires_at=utcnow() + ttl))
    session.flush()
    return token


def complete_setup(
    session: Session, token: str, organization_name: str, email: str, password: str, display_name: str = ""
) -> tuple[Organization, User]:
    """Create the first organization and its owner, once, with a valid one-time token."""
    row = session.scalar(select(SetupToken).where(SetupToken.token_hash == token_hash(token)))
    if row is None or row.used_at is not None or _aware(row.expires_at) <= utcnow():  # type: ignore[operator]
        raise Unauthenticated("This set-up link is invalid, used or expired; run `legalai admin setup-link`")
    if has_any_user(session):
        raise Conflict("This installation already has users; sign in instead")
    org = create_organization(session, organization_name)
    user = create_user(session, email, password, display_name)
    add_to_organization(session, org.id, user.id, Role.owner)
    row.used_at = utcnow()
    session.flush()
    return org, user


def sole_owner(session: Session) -> tuple[User, str] | None:
    """The only owner of the installation, when there is exactly one (CLI default user)."""
    rows = session.execute(
        select(User, OrganizationMember.organization_id)
        .join(OrganizationMember, OrganizationMember.user_id == User.id)
        .where(OrganizationMember.role == Role.owner.value)
    ).all()
    if len(rows) != 1:
        return None
    user, org_id = rows[0]
    return user, org_id


def system_principal(organization_id: str, matter_id: str) -> Principal:
    """What a background job acts as: one organization, one matter, re-checked by the repository."""
    return Principal(organization_id=organization_id, kind="system", matter_ids=frozenset({matter_id}))


def acting_principal(session: Session, email: str | None) -> Principal:
    """Whom a command-line invocation acts as: the named user, else the only owner there is."""
    if email:
        user = find_user(session, email)
        if user is None:
            raise NotFound(f"No user with e-mail {email!r}")
        orgs = organizations_of(session, user.id)
        if len(orgs) != 1:
            raise InvalidInput(f"{email} belongs to {len(orgs)} organizations; the CLI needs exactly one")
        return principal_for(session, user, orgs[0][0].id)
    found = sole_owner(session)
    if found is None:
        if not has_any_user(session):
            raise NotFound(
                "No users yet: open the set-up link printed by `legalai serve`, or run "
                "`legalai admin create-user --email you@example.com --organization 'Your firm' --role owner`"
            )
        raise InvalidInput("Several owners exist: name one with --user EMAIL or LEGALAI_USER")
    user, org_id = found
    return principal_for(session, user, org_id)
