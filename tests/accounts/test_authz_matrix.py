"""Authorization matrix: every route of the app x every kind of caller, on both databases.

The routes come from the app's own route table (walked through every included router), so a new
route is in the matrix the moment it exists: it gets the credential checks (401 / redirect to the
sign-in page) and the leak checks at once, and the test fails until its policy is written down in
``SPECS``. Only the public or sign-in plumbing routes listed in ``PUBLIC`` are left out, and those
are fetched anonymously and checked for leaks too.

Callers (``CASES``): the owner; an admin who is not a member of the matter; an attorney, a
paralegal and a viewer who are members; an attorney who is not; an attorney behind an ethical wall;
a member's read-only key; expired, revoked, wrong-secret and wrong-scheme keys; no credentials; a
member aiming at another matter of the firm; another organization's owner aiming at this one; and
this owner aiming at the other organization. The ids in the path are always those of the target
the caller is aimed at; for a caller who may not see it, that is the point.

Each organization's (and each matter's) documents carry a unique canary string. Every response
(body and headers) of a caller is checked for canaries, matter names, file names, e-mail addresses
and organization names it may not see; every log line written during the matrix is checked for
canaries; credentials handed out by a response are tried at once and their reach checked too.
Mutations are checked for their effect in the database, not only their status.

Size when written: 40 routes x 16 cases = 640 checks, about 840 assertions with the credential,
effect, search and log checks (printed when the test runs; it grows with the route table).
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import structlog
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import select, update
from starlette.routing import Mount, Route

from legalai.accounts import service
from legalai.accounts.models import ApiKey, AuditEvent, Role, User
from legalai.analysis.models import StoredPlaybook
from legalai.documents.models import Document
from legalai.kit.db import transaction, utcnow
from legalai.matters.models import Matter
from tests.conftest import create_identity, make_settings

PASSWORD = "correct horse battery staple"

# Public or sign-in plumbing: not in the matrix (they must answer without credentials), but every
# one of them must still exist, and anonymous GETs of them are checked for leaks.
PUBLIC: frozenset[tuple[str, str]] = frozenset(
    {
        ("GET", "/api/v1/openapi.json"),
        ("GET", "/api/docs"),
        ("GET", "/docs/oauth2-redirect"),
        ("GET", "/redoc"),
        ("GET", "/health"),
        ("GET", "/ready"),
        ("GET", "/metrics"),
        ("GET", "/login"),
        ("POST", "/login"),
        ("GET", "/login/oidc"),
        ("GET", "/login/oidc/callback"),
        ("GET", "/setup"),
        ("POST", "/setup"),
        ("POST", "/api/v1/auth/login"),
        ("MOUNT", "/static"),
    }
)
KNOWN = {
    ("GET", "/api/v1/documents/{document_id}/original"),
    ("GET", "/matters/{matter_id}/search"),
    ("GET", "/api/v1/audit/events.csv"),
    ("POST", "/api/v1/matters/{matter_id}/documents"),
    ("POST", "/matters/{matter_id}/upload"),
    ("DELETE", "/api/v1/api-keys/{key_id}"),
}
_METHOD_ORDER = {"GET": 0, "POST": 1, "PUT": 2, "PATCH": 2, "DELETE": 3}


# ---- the route table ---------------------------------------------------------------------------


@dataclass(frozen=True)
class RouteInfo:
    method: str
    path: str  # full template, with every router prefix
    web: bool  # an HTML page (include_in_schema=False), not the JSON API

    @property
    def key(self) -> tuple[str, str]:
        return (self.method, self.path)


def enumerate_routes(app: FastAPI) -> list[RouteInfo]:
    """Every (method, full path) the app serves. Included routers are walked recursively, adding
    the prefix of each inclusion; anything of an unknown shape fails instead of being skipped."""
    found: list[RouteInfo] = []

    def walk(routes: list[Any], prefix: str) -> None:
        for route in routes:
            original = getattr(route, "original_router", None)
            if original is not None:  # FastAPI keeps included routers as nodes with a context
                context = getattr(route, "include_context", None)
                assert isinstance(getattr(context, "prefix", None), str), (
                    f"cannot read the prefix of an included router ({type(route).__name__}); "
                    "FastAPI changed how included routers are kept"
                )
                walk(list(original.routes), prefix + context.prefix)  # type: ignore[union-attr]
            elif isinstance(route, Mount):
                found.append(RouteInfo("MOUNT", prefix + route.path, web=True))
            elif isinstance(route, APIRoute | Route):
                assert route.path_regex.match(route.path), route.path
                web = not (isinstance(route, APIRoute) and route.include_in_schema)
                for method in sorted((route.methods or set()) - {"HEAD", "OPTIONS"}):
                    found.append(RouteInfo(method, prefix + route.path, web=web))
            else:
                raise AssertionError(f"unknown route type {type(route).__name__}: {route!r}")

    walk(list(app.routes), "")
    return found


def openapi_operations(app: FastAPI) -> set[tuple[str, str]]:
    paths: dict[str, dict[str, Any]] = app.openapi()["paths"]
    return {(m.upper(), p) for p, ops in paths.items() for m in ops if m.upper() in _METHOD_ORDER}


# ---- the world ---------------------------------------------------------------------------------


@dataclass
class Target:
    """What a caller is aimed at: one organization's matter, document and people."""

    matter: str
    doc: str
    role_user: str  # whose role PUT /users/{id}/role sets (to what it already is)
    member_user: str  # added to / removed from the matter
    screen_user: str  # screened from / let back into the matter
    key_owner: str  # the key rotated or revoked is a fresh read+write key of this person
    make_key: Callable[[], str]
    sacrificial: list[str] = field(default_factory=list)  # spare documents DELETE takes, one each


@dataclass
class Case:
    name: str
    authorization: str | None  # the Authorization header, or None for no credentials
    target: str  # "A", "A2" or "B"
    valid: bool = True
    user_id: str | None = None
    organization_id: str | None = None
    role: Role | None = None
    scopes: frozenset[str] = frozenset()
    sees_target: bool = False  # may read the target matter's content
    forbidden: tuple[str, ...] = ()  # marker labels that must never reach this caller

    @property
    def foreign(self) -> bool:
        return self.target == "B" if self.organization_id != "B" else self.target != "B"

    @property
    def can_write(self) -> bool:
        return self.role is not None and self.role.can_write and "write" in self.scopes

    @property
    def can_manage(self) -> bool:
        return self.role is not None and self.role.manages_people and "admin" in self.scopes


@dataclass
class World:
    markers: dict[str, str]
    targets: dict[str, Target]
    cases: list[Case]
    owner_auth: str
    b_owner_auth: str


def _key(client: TestClient, email: str, scopes: set[str], **values: Any) -> tuple[str, str]:
    """A new API key for a person (id, secret), optionally with columns set directly."""
    runtime = client.app.state.runtime  # type: ignore[attr-defined]
    with transaction(runtime.sessions) as session:
        user = service.find_user(session, email)
        assert user is not None
        [(org, _role)] = service.organizations_of(session, user.id)
        principal = service.principal_for(session, user, org.id)
        key, secret = service.create_api_key(session, principal, "matrix", frozenset(scopes))
        key_id = key.id
    if values:
        with transaction(runtime.sessions) as session:
            session.execute(update(ApiKey).where(ApiKey.id == key_id).values(**values))
    return key_id, secret


def _bearer(secret: str) -> str:
    return f"Bearer {secret}"


def _call(client: TestClient, auth: str, method: str, url: str, **kwargs: Any) -> Response:
    res: Response = client.request(
        method, url, headers={"Authorization": auth}, follow_redirects=False, **kwargs
    )
    return res


def _upload(client: TestClient, auth: str, matter: str, *files: tuple[str, bytes]) -> list[str]:
    res = _call(
        client,
        auth,
        "POST",
        f"/api/v1/matters/{matter}/documents",
        files=[("files", (name, data, "text/plain")) for name, data in files],
    )
    assert res.status_code == 202, res.text
    return [item["document_id"] for item in res.json()["accepted"]]


def _wait_ready(client: TestClient, auth: str, ids: list[str], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    pending = list(ids)
    while pending and time.monotonic() < deadline:
        pending = [
            d
            for d in pending
            if _call(client, auth, "GET", f"/api/v1/documents/{d}").json()["status"] != "ready"
        ]
        if pending:
            time.sleep(0.1)
    assert not pending, f"documents not ready after {timeout}s: {pending}"


def seed(client: TestClient, deletes_per_case: int) -> World:
    """Two organizations, three matters with a canary document each, everyone in ``CASES``, and
    ``deletes_per_case`` spare documents per case in the matter it is aimed at."""
    tag = secrets.token_hex(4)
    words = {t: secrets.token_hex(6) for t in ("A", "A2", "B")}
    markers = {
        "canary A": f"CANARY-A-{words['A']}",
        "canary A2": f"CANARY-A2-{words['A2']}",
        "canary B": f"CANARY-B-{words['B']}",
        "matter A": f"Matter Alpha {tag}",
        "matter A2": f"Matter Alpha Two {tag}",
        "matter B": f"Matter Bravo {tag}",
        "file A": f"memo-alpha-{tag}.txt",
        "file A2": f"memo-alpha-two-{tag}.txt",
        "file B": f"memo-bravo-{tag}.txt",
        "people A": f"@alpha-{tag}.example",
        "people B": f"@bravo-{tag}.example",
        "org A": f"Alpha Firm {tag}",
        "org B": f"Bravo Firm {tag}",
    }
    org_a, org_b = markers["org A"], markers["org B"]

    def person(name: str, org: str, role: str, domain: str) -> Any:
        return create_identity(client, email=f"{name}{markers[domain]}", organization=org, role=role)

    owner = person("owner", org_a, "owner", "people A")
    admin = person("admin", org_a, "admin", "people A")
    attorney = person("attorney", org_a, "attorney", "people A")
    paralegal = person("paralegal", org_a, "paralegal", "people A")
    viewer = person("viewer", org_a, "viewer", "people A")
    outsider = person("outsider", org_a, "attorney", "people A")
    walled = person("walled", org_a, "attorney", "people A")
    a_role_user = person("target", org_a, "paralegal", "people A")
    a_member_user = person("candidate", org_a, "paralegal", "people A")
    a_screen_user = person("screenee", org_a, "paralegal", "people A")
    b_owner = person("owner", org_b, "owner", "people B")
    b_role_user = person("target", org_b, "paralegal", "people B")
    b_member_user = person("candidate", org_b, "paralegal", "people B")
    b_screen_user = person("screenee", org_b, "paralegal", "people B")

    owner_auth, b_auth = _bearer(owner.api_key), _bearer(b_owner.api_key)

    def matter(auth: str, name: str) -> str:
        res = _call(client, auth, "POST", "/api/v1/matters", json={"name": name})
        assert res.status_code == 201, res.text
        return str(res.json()["id"])

    m, m2 = matter(owner_auth, markers["matter A"]), matter(owner_auth, markers["matter A2"])
    mb = matter(b_auth, markers["matter B"])
    for user in (attorney, paralegal, viewer, walled):
        res = _call(
            client, owner_auth, "POST", f"/api/v1/matters/{m}/members", json={"user_id": user.user_id}
        )
        assert res.status_code == 200, res.text
    res = _call(client, owner_auth, "POST", f"/api/v1/matters/{m}/screens", json={"user_id": walled.user_id})
    assert res.status_code == 200, res.text

    def body(target: str) -> bytes:
        return (
            f"Privileged strategy memo. Canary: {markers['canary ' + target]} . Codeword {words[target]}.\n"
        ).encode()

    docs: dict[str, str] = {}
    pending: list[tuple[str, list[str]]] = []
    for name, matter_id, auth in (("A", m, owner_auth), ("A2", m2, owner_auth), ("B", mb, b_auth)):
        [docs[name]] = ids = _upload(client, auth, matter_id, (markers["file " + name], body(name)))
        pending.append((auth, ids))
    for auth, ids in pending:
        _wait_ready(client, auth, ids)
    for name, auth in (("A", owner_auth), ("A2", owner_auth), ("B", b_auth)):  # so GET ai-summary has one
        res = _call(client, auth, "POST", f"/api/v1/documents/{docs[name]}/ai-summary")
        assert res.status_code == 202, res.text

    def target(matter_id: str, doc: str, role_user: Any, member: Any, screen: Any, key_owner: Any) -> Target:
        return Target(
            matter=matter_id,
            doc=doc,
            role_user=role_user.user_id,
            member_user=member.user_id,
            screen_user=screen.user_id,
            key_owner=key_owner.user_id,
            make_key=lambda: _key(client, key_owner.email, {"read", "write"})[0],
        )

    targets = {
        "A": target(m, docs["A"], a_role_user, a_member_user, a_screen_user, attorney),
        "A2": target(m2, docs["A2"], a_role_user, a_member_user, a_screen_user, attorney),
        "B": target(mb, docs["B"], b_role_user, b_member_user, b_screen_user, b_owner),
    }

    _read_id, read_secret = _key(client, attorney.email, {"read"})
    _exp_id, expired_secret = _key(
        client, attorney.email, {"read", "write"}, expires_at=utcnow() - timedelta(minutes=5)
    )
    _rev_id, revoked_secret = _key(client, attorney.email, {"read", "write"}, revoked_at=utcnow())
    prefix = attorney.api_key.split("_")[1]
    wrong_secret = f"lgl_{prefix}_{'x' * 32}"

    a_private = ("canary A", "canary A2", "matter A", "matter A2", "file A", "file A2")
    b_all = ("canary B", "matter B", "file B", "people B", "org B")
    a_all = (*a_private, "people A", "org A")
    a2_only = ("canary A2", "matter A2", "file A2")
    rw = frozenset({"read", "write"})
    full = frozenset({"read", "write", "admin"})

    def user_case(name: str, ident: Any, role: Role, scopes: frozenset[str], **kw: Any) -> Case:
        return Case(
            name,
            _bearer(kw.pop("secret", ident.api_key)),
            kw.pop("target", "A"),
            user_id=ident.user_id,
            organization_id="A",
            role=role,
            scopes=scopes,
            **kw,
        )

    everything = tuple(markers)
    cases = [
        user_case("owner", owner, Role.owner, full, sees_target=True, forbidden=b_all),
        user_case("admin-nonmember", admin, Role.admin, full, forbidden=("canary A", "canary A2", *b_all)),
        user_case(
            "attorney-member", attorney, Role.attorney, rw, sees_target=True, forbidden=(*a2_only, *b_all)
        ),
        user_case(
            "paralegal-member", paralegal, Role.paralegal, rw, sees_target=True, forbidden=(*a2_only, *b_all)
        ),
        user_case("viewer-member", viewer, Role.viewer, rw, sees_target=True, forbidden=(*a2_only, *b_all)),
        user_case("attorney-nonmember", outsider, Role.attorney, rw, forbidden=(*a_private, *b_all)),
        user_case("attorney-screened", walled, Role.attorney, rw, forbidden=(*a_private, *b_all)),
        user_case(
            "read-key-member",
            attorney,
            Role.attorney,
            frozenset({"read"}),
            secret=read_secret,
            sees_target=True,
            forbidden=(*a2_only, *b_all),
        ),
        Case("expired-key", _bearer(expired_secret), "A", valid=False, forbidden=everything),
        Case("revoked-key", _bearer(revoked_secret), "A", valid=False, forbidden=everything),
        Case("wrong-secret", _bearer(wrong_secret), "A", valid=False, forbidden=everything),
        Case("wrong-scheme", "Basic b3duZXI6cGFzc3dvcmQ=", "A", valid=False, forbidden=everything),
        Case("no-credentials", None, "A", valid=False, forbidden=everything),
        user_case(
            "member-other-matter", attorney, Role.attorney, rw, target="A2", forbidden=(*a2_only, *b_all)
        ),
        Case(
            "other-org-owner",
            b_auth,
            "A",
            user_id=b_owner.user_id,
            organization_id="B",
            role=Role.owner,
            scopes=full,
            forbidden=a_all,
        ),
        user_case("owner-to-other-org", owner, Role.owner, full, target="B", forbidden=b_all),
    ]
    for name, target_ in targets.items():
        auth = b_auth if name == "B" else owner_auth
        count = deletes_per_case * sum(1 for c in cases if c.target == name)
        spares = [(f"spare-{name}-{i}-{tag}.txt", f"Spare {name} {i} {tag}.".encode()) for i in range(count)]
        if spares:
            target_.sacrificial.extend(_upload(client, auth, target_.matter, *spares))
            _wait_ready(client, auth, target_.sacrificial)
    return World(markers, targets, cases, owner_auth, b_auth)


# ---- policy ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Spec:
    """What a route is for. ``kind`` picks the rule in ``expected``; ``ok`` is its success status;
    ``request`` builds the request's extras; ``effect`` says whether it did something, afterwards."""

    kind: str
    ok: int
    request: Callable[[Target, str], dict[str, Any]] = lambda _t, _u: {}
    path: Callable[[Target], dict[str, str]] | None = None
    effect: Callable[[Any, Target, str, dict[str, str]], bool] | None = None


def _exists(model: Any, **where: Any) -> Callable[[Any, Target, str, dict[str, str]], bool]:
    def check(session: Any, _t: Target, uid: str, params: dict[str, str]) -> bool:
        values = {k: v.format(uid=uid, **params) for k, v in where.items()}
        stmt = select(model).where(*(getattr(model, k) == v for k, v in values.items()))
        return session.scalar(stmt) is not None

    return check


def _gone(model: Any, param: str) -> Callable[[Any, Target, str, dict[str, str]], bool]:
    return lambda session, _t, _u, params: session.get(model, params[param]) is None


def _key_revoked(session: Any, _t: Target, _u: str, params: dict[str, str]) -> bool:
    key = session.get(ApiKey, params["key_id"])
    return key is not None and key.revoked_at is not None


def _file(uid: str) -> tuple[str, tuple[str, bytes, str]]:
    return ("files", (f"matrix-{uid}.txt", f"Matrix upload {uid}.".encode(), "text/plain"))


def _ai_budget(uid: str) -> int:
    """A token budget unique to one request of the matrix (``uid`` is "<n>-<hex>")."""
    return int(uid.replace("-", ""), 16) % 10**12 + 1


def _ai_policy_audited(session: Any, _t: Target, uid: str, params: dict[str, str]) -> bool:
    """The policy change of this request was made (its audit event commits with it)."""
    events = session.scalars(
        select(AuditEvent).where(
            AuditEvent.action == "matter.ai_policy_changed", AuditEvent.target_id == params["matter_id"]
        )
    ).all()
    return any(e.details.get("budget", {}).get("max_tokens_count") == _ai_budget(uid) for e in events)


def _playbook(uid: str) -> str:
    return (
        f"id: matrix-{uid}\nname: matrix {uid}\nversion: '1'\nrules:\n"
        "  - id: no-law\n    title: No governing law\n    severity: low\n"
        "    explanation: None found.\n    check:\n      clause_missing: Governing Law\n"
    )


SEARCH = {"params": {"q": "strategy"}}
SPECS: dict[tuple[str, str], Spec] = {
    # Anyone signed in, about themselves or their organization's directory.
    ("GET", "/api/v1/auth/me"): Spec("any", 200),
    ("POST", "/api/v1/auth/logout"): Spec("any", 204),
    ("POST", "/api/v1/auth/logout-all"): Spec("any", 204),
    ("GET", "/api/v1/users"): Spec("any", 200),
    ("GET", "/api/v1/api-keys"): Spec("any", 200),
    ("POST", "/api/v1/api-keys"): Spec(
        "any", 201, lambda _t, _u: {"json": {"name": "matrix", "scopes": ["read"]}}
    ),
    ("GET", "/api/v1/matters"): Spec("any", 200),
    ("GET", "/"): Spec("any", 200),
    ("POST", "/logout"): Spec("any", 303),
    # Writers create matters.
    ("POST", "/api/v1/matters"): Spec(
        "write",
        201,
        lambda _t, u: {"json": {"name": f"matrix {u}"}},
        effect=_exists(Matter, name="matrix {uid}"),
    ),
    ("POST", "/matters"): Spec(
        "write",
        303,
        lambda _t, u: {"data": {"name": f"matrix web {u}"}},
        effect=_exists(Matter, name="matrix web {uid}"),
    ),
    # Owners and admins: people and the audit log.
    ("POST", "/api/v1/users"): Spec(
        "manage",
        201,
        lambda _t, u: {
            "json": {"email": f"new-{u}@matrix.example", "password": PASSWORD, "role": "paralegal"}
        },
        effect=_exists(User, email="new-{uid}@matrix.example"),
    ),
    ("PUT", "/api/v1/users/{user_id}/role"): Spec(
        "manage_target",
        200,
        lambda _t, _u: {"json": {"role": "paralegal"}},
        lambda t: {"user_id": t.role_user},
    ),
    ("GET", "/api/v1/audit/events"): Spec("manage", 200, lambda t, _u: {"params": {"matter_id": t.matter}}),
    ("GET", "/api/v1/audit/events.csv"): Spec(
        "manage", 200, lambda t, _u: {"params": {"matter_id": t.matter}}
    ),
    ("GET", "/api/v1/audit/events.jsonl"): Spec(
        "manage", 200, lambda t, _u: {"params": {"matter_id": t.matter}}
    ),
    ("GET", "/audit"): Spec("manage", 200, lambda t, _u: {"params": {"matter_id": t.matter}}),
    # Owners and admins manage a matter's access without reading it.
    ("GET", "/api/v1/matters/{matter_id}/access"): Spec("manage_target", 200),
    ("POST", "/api/v1/matters/{matter_id}/members"): Spec(
        "manage_target", 200, lambda t, _u: {"json": {"user_id": t.member_user}}
    ),
    ("DELETE", "/api/v1/matters/{matter_id}/members/{user_id}"): Spec(
        "manage_target", 200, path=lambda t: {"user_id": t.member_user}
    ),
    ("POST", "/api/v1/matters/{matter_id}/screens"): Spec(
        "manage_target", 200, lambda t, _u: {"json": {"user_id": t.screen_user, "reason": "matrix"}}
    ),
    ("DELETE", "/api/v1/matters/{matter_id}/screens/{user_id}"): Spec(
        "manage_target", 200, path=lambda t: {"user_id": t.screen_user}
    ),
    # Members read a matter's content.
    ("GET", "/api/v1/matters/{matter_id}"): Spec("read", 200),
    ("GET", "/api/v1/matters/{matter_id}/documents"): Spec("read", 200),
    ("GET", "/api/v1/matters/{matter_id}/search"): Spec("read", 200, lambda _t, _u: SEARCH),
    ("GET", "/api/v1/documents/{document_id}"): Spec("read", 200),
    ("GET", "/api/v1/documents/{document_id}/versions"): Spec("read", 200),
    ("GET", "/api/v1/documents/{document_id}/history"): Spec("read", 200),
    ("GET", "/api/v1/documents/{document_id}/pages"): Spec("read", 200),
    ("GET", "/api/v1/documents/{document_id}/pages/{number}"): Spec("read", 200),
    ("GET", "/api/v1/documents/{document_id}/original"): Spec("read", 200),
    ("GET", "/matters/{matter_id}"): Spec("read", 200),
    ("GET", "/matters/{matter_id}/documents-table"): Spec("read", 200),
    ("GET", "/matters/{matter_id}/search"): Spec("read", 200, lambda _t, _u: SEARCH),
    ("GET", "/documents/{document_id}"): Spec("read", 200),
    ("GET", "/api/v1/documents/{document_id}/analysis"): Spec("read", 200),
    ("GET", "/api/v1/documents/{document_id}/deadlines.ics"): Spec("read", 200),
    ("GET", "/api/v1/matters/{matter_id}/deadlines.ics"): Spec("read", 200),
    ("GET", "/api/v1/matters/{matter_id}/analysis-status"): Spec("read", 200),
    ("POST", "/api/v1/matters/{matter_id}/reanalyze"): Spec("member_write", 202),
    # A matter's AI policy: its readers and its managers see it, managers change it; the egress
    # log and AI usage are the matter's content.
    ("GET", "/api/v1/matters/{matter_id}/ai-policy"): Spec("read_or_manage", 200),
    ("PUT", "/api/v1/matters/{matter_id}/ai-policy"): Spec(
        "manage_target",
        200,
        lambda _t, u: {
            "json": {"mode": "allowed", "allowed_providers": ["offline"], "token_budget": _ai_budget(u)}
        },
        effect=_ai_policy_audited,
    ),
    ("GET", "/api/v1/matters/{matter_id}/egress-log"): Spec("read", 200),
    ("POST", "/api/v1/documents/{document_id}/ai-summary"): Spec("member_write", 202),
    ("GET", "/api/v1/documents/{document_id}/ai-summary"): Spec("read", 200),
    # Asking reads the matter's content (and keeps the asker's own conversation).
    ("GET", "/matters/{matter_id}/ask"): Spec("read", 200),
    ("POST", "/matters/{matter_id}/ask"): Spec(
        "read", 200, lambda _t, _u: {"data": {"question": "Which law governs the agreement?"}}
    ),
    ("POST", "/api/v1/matters/{matter_id}/ask"): Spec(
        "read", 200, lambda _t, _u: {"json": {"question": "Which law governs the agreement?"}}
    ),
    ("GET", "/api/v1/matters/{matter_id}/ai-usage"): Spec("read", 200),
    # Playbooks belong to the organization: everyone reads and validates, owners and admins set them.
    ("GET", "/api/v1/playbooks"): Spec("any", 200),
    ("GET", "/api/v1/playbooks/active"): Spec("any", 200),
    ("POST", "/api/v1/playbooks/validate"): Spec(
        "any", 200, lambda _t, u: {"json": {"source": _playbook(u)}}
    ),
    ("PUT", "/api/v1/playbooks/active"): Spec(
        "manage",
        201,
        lambda _t, u: {"json": {"source": _playbook(u)}},
        effect=_exists(StoredPlaybook, name="matrix {uid}"),
    ),
    ("DELETE", "/api/v1/playbooks/active"): Spec("manage", 204),
    # Members who may write change it.
    ("POST", "/api/v1/matters/{matter_id}/documents"): Spec(
        "member_write",
        202,
        lambda _t, u: {"files": [_file(u)]},
        effect=_exists(Document, filename="matrix-{uid}.txt"),
    ),
    ("DELETE", "/api/v1/documents/{document_id}"): Spec(
        "member_write",
        204,
        path=lambda t: {"document_id": t.sacrificial.pop()},
        effect=_gone(Document, "document_id"),
    ),
    # The form fallback shows a refused upload on the page (200) and stores nothing.
    ("POST", "/matters/{matter_id}/upload"): Spec(
        "member_write_page",
        200,
        lambda _t, u: {"files": [_file(u)]},
        effect=_exists(Document, filename="matrix-{uid}.txt"),
    ),
    # API keys: a person's own keys; owners and admins may revoke (not take over) anyone's.
    ("POST", "/api/v1/api-keys/{key_id}/rotate"): Spec(
        "key_rotate", 201, path=lambda t: {"key_id": t.make_key()}, effect=_key_revoked
    ),
    ("DELETE", "/api/v1/api-keys/{key_id}"): Spec(
        "key_revoke", 204, path=lambda t: {"key_id": t.make_key()}, effect=_key_revoked
    ),
}
KEY_SCOPES = frozenset({"read", "write"})  # what Target.make_key hands out


def expected(route: RouteInfo, spec: Spec, case: Case, target: Target) -> int:
    """The one right status for this caller on this route."""
    if not case.valid:
        return 303 if route.web and route.method == "GET" else 401
    kind, ok = spec.kind, spec.ok
    if kind == "any":
        return ok
    if kind == "write":
        return ok if case.can_write else 403
    if kind == "manage":
        return ok if case.can_manage else 403
    if kind == "manage_target":  # refused by role first, then unknown outside the organization
        return 403 if not case.can_manage else 404 if case.foreign else ok
    if kind == "read":
        return ok if case.sees_target else 404
    if kind == "read_or_manage":  # members read it; owners and admins of the organization manage it
        return ok if case.sees_target or (case.can_manage and not case.foreign) else 404
    if kind == "member_write":  # 404 before 403: never confirm what the caller cannot see
        return 404 if not case.sees_target else ok if case.can_write else 403
    if kind == "member_write_page":
        return ok if case.sees_target else 404
    if kind in ("key_rotate", "key_revoke"):
        if case.foreign:
            return 404
        if case.user_id == target.key_owner:
            # A key may only be rotated or revoked with a credential at least as strong: a leaked
            # read-only key must not mint (or cancel) its owner's read+write key.
            return ok if case.scopes >= KEY_SCOPES else 403
        if case.can_manage:
            # Revoking anyone's key is incident response; rotating hands over the new secret, which
            # would let an admin act as a member of matters the admin may not read (or is walled from).
            return ok if kind == "key_revoke" else 403
        return 404
    raise AssertionError(f"no rule for kind {kind!r}")


def effect_expected(spec: Spec, case: Case, status: int) -> bool:
    if spec.kind == "member_write_page":
        return case.valid and case.sees_target and case.can_write
    return status == spec.ok


def inferred_spec(route: RouteInfo) -> Spec:
    """A new route nobody has classified yet: the strictest plausible rule, so it is still tested."""
    touches_matter = "{matter_id}" in route.path or "{document_id}" in route.path
    if route.method == "GET":
        return Spec("read" if touches_matter else "any", 200)
    return Spec("member_write" if touches_matter else "write", 200)


# ---- running it --------------------------------------------------------------------------------


@dataclass
class Outcome:
    rows: list[tuple[str, str, str, str, str]] = field(default_factory=list)
    bodies: dict[tuple[str, str, str], str] = field(default_factory=dict)
    checks: int = 0

    def mismatch(self, route: RouteInfo | str, case: str, want: object, got: object) -> None:
        label = f"{route.method} {route.path}" if isinstance(route, RouteInfo) else route
        method, _, path = label.partition(" ")
        self.rows.append((method, path, case, str(want), str(got)))

    def table(self) -> str:
        header = ("method", "path", "case", "expected", "got")
        widths = [max(len(r[i]) for r in [header, *self.rows]) for i in range(5)]
        lines = [
            "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in [header, *self.rows]
        ]
        return "\n".join(lines)


def _text(res: Response) -> str:
    return res.text + "\n" + "\n".join(f"{k}: {v}" for k, v in res.headers.items())


def _routing_miss(res: Response) -> bool:
    """Whether the router itself found nothing (as opposed to the route answering 404)."""
    if res.status_code not in (404, 405):
        return False
    try:
        detail = res.json().get("detail")
    except ValueError:
        return False
    return detail in ("Not Found", "Method Not Allowed")


def leak_check(out: Outcome, world: World, route: RouteInfo | str, case: Case, text: str) -> None:
    for label in case.forbidden:
        if world.markers[label] in text:
            out.mismatch(route, case.name, f"no {label}", f"{label} in response")


def follow_credentials(
    client: TestClient, out: Outcome, world: World, route: RouteInfo, case: Case, res: Response, rid: str
) -> None:
    """A response that hands out a key: the key must be the caller's own, no stronger, and reach
    nothing the caller could not reach."""
    try:
        data = res.json()
    except ValueError:
        return
    secret = data.get("key") if isinstance(data, dict) else None
    if not (isinstance(secret, str) and secret.startswith("lgl_")):
        return
    auth = _bearer(secret)
    me = client.get("/api/v1/auth/me", headers={"Authorization": auth, "X-Request-ID": rid})
    out.checks += 1
    if me.status_code == 200:
        body = me.json()
        if body["user_id"] != case.user_id:
            out.mismatch(route, case.name, "key of the caller", f"key of user {body['user_id']}")
        if not set(body["scopes"]) <= case.scopes:
            out.mismatch(route, case.name, f"scopes <= {sorted(case.scopes)}", f"scopes {body['scopes']}")
    for target in (world.targets["A"], world.targets["A2"]):
        url = f"/api/v1/documents/{target.doc}/pages"
        probe = client.get(url, headers={"Authorization": auth, "X-Request-ID": rid})
        out.checks += 1
        leak_check(
            out, world, f"{route.method} {route.path} -> key -> GET {url.split('/')[-1]}", case, _text(probe)
        )


@contextmanager
def captured_logs() -> Iterator[list[str]]:
    """Every structlog event and stdlib record written meanwhile, as text."""
    lines: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(f"{record.name}: {record.getMessage()} {record.exc_text or ''}")

    handler = Collect(level=logging.DEBUG)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        with structlog.testing.capture_logs(processors=[structlog.contextvars.merge_contextvars]) as events:
            yield lines
            lines.extend(json.dumps(e, default=str) for e in events)
    finally:
        root.removeHandler(handler)


def run_matrix(client: TestClient, world: World, routes: list[RouteInfo]) -> Outcome:
    out = Outcome()
    runtime = client.app.state.runtime  # type: ignore[attr-defined]
    pending_effects: list[tuple[RouteInfo, Spec, Case, Target, str, dict[str, str], bool]] = []
    ordered = sorted(routes, key=lambda r: (_METHOD_ORDER.get(r.method, 9), r.path))
    n = 0
    for route in ordered:
        spec = SPECS.get(route.key) or inferred_spec(route)
        for case in world.cases:
            n += 1
            target = world.targets[case.target]
            uid = f"{n}-{secrets.token_hex(3)}"
            params = {
                "matter_id": target.matter,
                "document_id": target.doc,
                "user_id": target.role_user,
                "number": "1",
            }
            if spec.path is not None:
                params.update(spec.path(target))
            if "{key_id}" in route.path and "key_id" not in params:
                params["key_id"] = target.make_key()
            url = route.path.format(**params)
            headers = {"X-Request-ID": f"mx{n}-{case.name}"}
            if case.authorization is not None:
                headers["Authorization"] = case.authorization
            res = client.request(
                route.method, url, headers=headers, follow_redirects=False, **spec.request(target, uid)
            )
            out.checks += 1
            want = expected(route, spec, case, target)
            if _routing_miss(res):
                out.mismatch(route, case.name, "a routed request", f"router {res.status_code} for {url}")
            elif res.status_code != want:
                out.mismatch(route, case.name, want, f"{res.status_code} {res.text[:120]!r}")
            if (
                not route.web
                and res.status_code == 401
                and "bearer" not in res.headers.get("www-authenticate", "").lower()
            ):
                out.mismatch(route, case.name, "WWW-Authenticate: Bearer", "missing")
            if (
                not route.web
                and res.status_code >= 400
                and not res.headers.get("content-type", "").startswith("application/problem+json")
            ):
                out.mismatch(route, case.name, "problem+json", res.headers.get("content-type"))
            if (
                route.web
                and want == 303
                and not case.valid
                and not res.headers.get("location", "").startswith("/login?next=")
            ):
                out.mismatch(route, case.name, "redirect to /login", res.headers.get("location"))
            text = _text(res)
            out.bodies[(route.method, route.path, case.name)] = text
            leak_check(out, world, route, case, text)
            if 200 <= res.status_code < 300:
                follow_credentials(client, out, world, route, case, res, headers["X-Request-ID"])
            if spec.effect is not None:
                pending_effects.append(
                    (route, spec, case, target, uid, params, effect_expected(spec, case, want))
                )
    with transaction(runtime.sessions) as session:
        for route, spec, case, target, uid, params, should in pending_effects:
            assert spec.effect is not None
            did = spec.effect(session, target, uid, params)
            out.checks += 1
            if did != should:
                out.mismatch(
                    route, case.name, "changed" if should else "unchanged", "changed" if did else "unchanged"
                )
    return out


def search_checks(client: TestClient, world: World, out: Outcome) -> None:
    """Each canary's codeword is found by its owner and by nobody else, wherever it is searched for."""
    words = {t: world.markers[f"canary {t}"].rsplit("-", 1)[1] for t in ("A", "A2", "B")}
    a, a2, b = world.targets["A"], world.targets["A2"], world.targets["B"]
    route = "GET /api/v1/matters/{matter_id}/search"
    own = {(world.owner_auth, a.matter): "canary A", (world.b_owner_auth, b.matter): "canary B"}
    own[(world.owner_auth, a2.matter)] = "canary A2"

    def hits(who: str, auth: str, matter: str, word: str, expect: int = 200) -> list[dict[str, Any]]:
        res = _call(client, auth, "GET", f"/api/v1/matters/{matter}/search", params={"q": word})
        out.checks += 1
        if res.status_code != expect:
            out.mismatch(f"{route}?q={word}", who, expect, res.status_code)
            return []
        for label in ("canary A", "canary A2", "canary B"):
            if world.markers[label] in res.text and own.get((auth, matter)) != label:
                out.mismatch(f"{route}?q={word}", who, f"no {label}", "found")
        return list(res.json().get("hits", [])) if expect == 200 else []

    # Positive controls: the owners find their own canaries, so the empty answers mean something.
    for who, auth, matter, target in (
        ("owner", world.owner_auth, a.matter, "A"),
        ("owner", world.owner_auth, a2.matter, "A2"),
        ("other-org-owner", world.b_owner_auth, b.matter, "B"),
    ):
        found = hits(who, auth, matter, words[target])
        if not any(world.markers[f"canary {target}"] in json.dumps(h) for h in found):
            out.mismatch(f"{route}?q={words[target]}", who, f"canary {target} found by its owner", "none")
    for word in (words["A"], words["A2"]):
        if hits("other-org-owner", world.b_owner_auth, b.matter, word):
            out.mismatch(f"{route}?q={word}", "other-org-owner", "no hits", "hits")
        hits("other-org-owner", world.b_owner_auth, a.matter, word, expect=404)
    for word in (words["B"], words["A2"]):
        if hits("owner", world.owner_auth, a.matter, word):
            out.mismatch(f"{route}?q={word}", "owner", "no hits from elsewhere", "hits")
    page = _call(client, world.b_owner_auth, "GET", f"/matters/{b.matter}/search", params={"q": words["A"]})
    out.checks += 1
    if page.status_code != 200 or world.markers["canary A"] in page.text:
        out.mismatch(
            "GET /matters/{matter_id}/search", "other-org-owner", "200 without canary A", page.status_code
        )


def positive_controls(world: World, out: Outcome) -> None:
    """The leak check can see a canary where one belongs (else its silence proves nothing)."""
    for method, path, case, label in (
        ("GET", "/api/v1/documents/{document_id}/pages", "owner", "canary A"),
        ("GET", "/api/v1/documents/{document_id}/original", "viewer-member", "canary A"),
        ("GET", "/api/v1/matters/{matter_id}/search", "read-key-member", "canary A"),
        ("GET", "/documents/{document_id}", "paralegal-member", "canary A"),
        ("GET", "/matters/{matter_id}/search", "attorney-member", "canary A"),
    ):
        if world.markers[label] not in out.bodies.get((method, path, case), ""):
            out.mismatch(f"{method} {path}", case, f"{label} visible (positive control)", "absent")


def public_checks(client: TestClient, world: World, routes: list[RouteInfo], out: Outcome) -> None:
    for route in routes:
        if route.method != "GET" or route.key not in PUBLIC:
            continue
        res = client.get(route.path, follow_redirects=False)
        out.checks += 1
        if res.status_code >= 500:
            out.mismatch(route, "no-credentials", "< 500", res.status_code)
        leak_check(
            out, world, route, Case("no-credentials", None, "A", forbidden=tuple(world.markers)), _text(res)
        )


def test_authorization_matrix(tmp_path: Path, database_url: str) -> None:
    """Every route x every caller: exact status, no foreign content in bodies, headers or logs."""
    from legalai.app import create_app

    settings = make_settings(tmp_path, database_url, rate_limit_enabled=False, log_level="INFO")
    with TestClient(create_app(settings)) as client:
        app: FastAPI = client.app  # type: ignore[assignment]
        all_routes = enumerate_routes(app)
        keys = {r.key for r in all_routes}
        assert len(keys) == len(all_routes), "a (method, path) is served twice"
        assert keys >= KNOWN, f"route walk missed {KNOWN - keys}"
        assert keys >= PUBLIC, f"public routes no longer exist: {PUBLIC - keys}"
        api = {r.key for r in all_routes if not r.web}
        assert openapi_operations(app) <= keys, f"route walk missed {openapi_operations(app) - keys}"
        assert api - openapi_operations(app) <= PUBLIC, "API routes missing from the OpenAPI document"

        routes = [r for r in all_routes if r.key not in PUBLIC]
        unclassified = sorted(r.key for r in routes if r.key not in SPECS)
        stale = sorted(set(SPECS) - keys)
        deletes = sum(1 for r in routes if r.method == "DELETE" and "{document_id}" in r.path)
        world = seed(client, deletes)

        size = len(routes) * len(world.cases)
        print(f"authorization matrix: {len(routes)} routes x {len(world.cases)} cases = {size} checks")

        with captured_logs() as log_lines:
            out = run_matrix(client, world, routes)
            search_checks(client, world, out)
            public_checks(client, world, all_routes, out)
        positive_controls(world, out)
        if not any('"request_id": "mx' in line for line in log_lines):
            out.mismatch("LOG -", "-", "request logs captured with their request ids", "none")
        for line in log_lines:
            for label in ("canary A", "canary A2", "canary B"):
                if world.markers[label] in line:
                    out.mismatch("LOG -", "-", f"no {label} in logs", line[:160])
        print(f"authorization matrix: {out.checks} assertions, {len(log_lines)} log lines checked")

    problems = []
    if unclassified:
        problems.append(f"routes without a policy in SPECS (add them): {unclassified}")
    if stale:
        problems.append(f"SPECS entries for routes that no longer exist: {stale}")
    if out.rows:
        problems.append(f"{len(out.rows)} mismatches:\n{out.table()}")
    assert not problems, "\n\n".join(problems)
