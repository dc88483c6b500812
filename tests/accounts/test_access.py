"""Who may see what: keys, sessions, roles, matter membership and ethical walls, on both databases."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import update

from legalai.accounts.models import User, WebSession
from legalai.kit.db import transaction, utcnow
from tests.conftest import Identity, create_identity, upload

Wait = Callable[..., list[dict[str, Any]]]


def _as(client: TestClient, identity: Identity) -> dict[str, str]:
    return {"Authorization": f"Bearer {identity.api_key}"}


def _seed_matter(client: TestClient, wait_ready: Wait, name: str = "Wall matter") -> tuple[str, str]:
    matter = client.post("/api/v1/matters", json={"name": name}).json()["id"]
    [item] = upload(client, matter, ("privileged.txt", b"Privileged canary-7f3a strategy memo."))["accepted"]
    wait_ready(client, [item["document_id"]])
    return matter, item["document_id"]


def test_requests_without_valid_credentials_are_401(client: TestClient) -> None:
    anonymous = {"Authorization": ""}
    for headers in (
        {},
        {"Authorization": "Bearer lgl_nope_nope"},
        {"Authorization": "Bearer not-a-key"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
    ):
        res = client.get("/api/v1/matters", headers={**anonymous, **headers})
        assert res.status_code == 401, headers
        assert res.headers["content-type"].startswith("application/problem+json")
        assert res.headers["www-authenticate"].startswith("Bearer")
    assert client.get("/health", headers=anonymous).status_code == 200


def test_revoked_expired_and_rotated_keys(client: TestClient) -> None:
    created = client.post("/api/v1/api-keys", json={"name": "ci", "scopes": ["read"]})
    assert created.status_code == 201
    key = created.json()
    assert key["key"].startswith(f"lgl_{key['prefix']}_")
    headers = {"Authorization": f"Bearer {key['key']}"}
    assert client.get("/api/v1/matters", headers=headers).status_code == 200
    listed = {k["id"]: k for k in client.get("/api/v1/api-keys").json()}
    assert listed[key["id"]]["last_used_at"] is not None and "key" not in listed[key["id"]]

    rotated = client.post(f"/api/v1/api-keys/{key['id']}/rotate").json()
    assert client.get("/api/v1/matters", headers=headers).status_code == 401
    assert (
        client.get("/api/v1/matters", headers={"Authorization": f"Bearer {rotated['key']}"}).status_code
        == 200
    )

    assert client.delete(f"/api/v1/api-keys/{rotated['id']}").status_code == 204
    res = client.get("/api/v1/matters", headers={"Authorization": f"Bearer {rotated['key']}"})
    assert res.status_code == 401 and "revoked" in res.json()["detail"]

    soon = (utcnow() + timedelta(seconds=1)).isoformat()
    expiring = client.post(
        "/api/v1/api-keys", json={"name": "short", "scopes": ["read"], "expires_at": soon}
    ).json()
    runtime = client.app.state.runtime  # type: ignore[attr-defined]
    from legalai.accounts.models import ApiKey

    with transaction(runtime.sessions) as session:
        session.execute(
            update(ApiKey).where(ApiKey.id == expiring["id"]).values(expires_at=utcnow() - timedelta(1))
        )
    res = client.get("/api/v1/matters", headers={"Authorization": f"Bearer {expiring['key']}"})
    assert res.status_code == 401 and "expired" in res.json()["detail"]


def test_scopes_and_roles_limit_what_can_be_changed(client: TestClient, wait_ready: Wait) -> None:
    matter, _doc = _seed_matter(client, wait_ready)
    read_only = client.post("/api/v1/api-keys", json={"name": "ro", "scopes": ["read"]}).json()["key"]
    headers = {"Authorization": f"Bearer {read_only}"}
    assert client.get(f"/api/v1/matters/{matter}/search", params={"q": "strategy"}, headers=headers).json()[
        "hits"
    ]
    res = client.post(
        f"/api/v1/matters/{matter}/documents",
        files=[("files", ("x.txt", b"x", "text/plain"))],
        headers=headers,
    )
    assert res.status_code == 403
    assert (
        client.post("/api/v1/api-keys", json={"name": "x", "scopes": ["admin"]}, headers=headers).status_code
        == 403
    )

    viewer = create_identity(client, email="viewer@example.com", role="viewer")
    client.post(f"/api/v1/matters/{matter}/members", json={"user_id": viewer.user_id})
    as_viewer = _as(client, viewer)
    assert client.get(f"/api/v1/matters/{matter}/search", params={"q": "strategy"}, headers=as_viewer).json()[
        "hits"
    ]
    res = client.post(
        f"/api/v1/matters/{matter}/documents",
        files=[("files", ("y.txt", b"y", "text/plain"))],
        headers=as_viewer,
    )
    assert res.status_code == 403
    assert client.post("/api/v1/matters", json={"name": "Nope"}, headers=as_viewer).status_code == 403


def test_membership_decides_visibility_and_walls_hold_against_admins(
    client: TestClient, wait_ready: Wait
) -> None:
    matter, doc = _seed_matter(client, wait_ready)
    colleague = create_identity(client, email="colleague@example.com", role="attorney")
    admin = create_identity(client, email="admin@example.com", role="admin")
    urls = [
        f"/api/v1/matters/{matter}",
        f"/api/v1/matters/{matter}/documents",
        f"/api/v1/matters/{matter}/search?q=strategy",
        f"/api/v1/documents/{doc}",
        f"/api/v1/documents/{doc}/pages",
        f"/api/v1/documents/{doc}/original",
    ]
    for who in (colleague, admin):
        for url in urls:
            res = client.get(url, headers=_as(client, who))
            assert res.status_code == 404, (who.email, url)
            assert "canary-7f3a" not in res.text
        assert client.get("/api/v1/matters", headers=_as(client, who)).json() == []

    # Admins manage membership without reading content.
    access = client.get(f"/api/v1/matters/{matter}/access", headers=_as(client, admin))
    assert access.status_code == 200
    assert client.get(f"/api/v1/matters/{matter}/access", headers=_as(client, colleague)).status_code == 403
    client.post(
        f"/api/v1/matters/{matter}/members", json={"user_id": colleague.user_id}, headers=_as(client, admin)
    )
    assert client.get(f"/api/v1/documents/{doc}/pages", headers=_as(client, colleague)).status_code == 200

    # An ethical wall removes the colleague and then holds even against the admin.
    client.post(
        f"/api/v1/matters/{matter}/screens", json={"user_id": colleague.user_id, "reason": "conflict"}
    )
    client.post(f"/api/v1/matters/{matter}/screens", json={"user_id": admin.user_id, "reason": "conflict"})
    assert client.get(f"/api/v1/documents/{doc}/pages", headers=_as(client, colleague)).status_code == 404
    res = client.post(
        f"/api/v1/matters/{matter}/members", json={"user_id": admin.user_id}, headers=_as(client, admin)
    )
    assert res.status_code == 404
    res = client.post(f"/api/v1/matters/{matter}/members", json={"user_id": colleague.user_id})
    assert res.status_code == 422 and "screened" in res.json()["detail"]
    assert client.get(f"/api/v1/matters/{matter}").json()["restricted"] is True


def test_other_organizations_see_nothing(client: TestClient, wait_ready: Wait) -> None:
    matter, doc = _seed_matter(client, wait_ready)
    outsider = create_identity(client, email="rival@other.example", organization="Rival LLP", role="owner")
    headers = _as(client, outsider)
    for url in (f"/api/v1/matters/{matter}", f"/api/v1/documents/{doc}", f"/api/v1/matters/{matter}/access"):
        res = client.get(url, headers=headers)
        assert res.status_code == 404 and "canary-7f3a" not in res.text
    # Their own matter with the same name is fine: names are per organization.
    assert client.post("/api/v1/matters", json={"name": "Wall matter"}, headers=headers).status_code == 201
    res = client.post(f"/api/v1/matters/{matter}/members", json={"user_id": outsider.user_id})
    assert res.status_code == 404  # not a member of this organization


def test_cookie_sessions_csrf_logout_and_idle_timeout(client: TestClient, wait_ready: Wait) -> None:
    _seed_matter(client, wait_ready)
    del client.headers["Authorization"]
    res = client.post(
        "/api/v1/auth/login", json={"email": "owner@example.com", "password": "correct horse battery staple"}
    )
    assert res.status_code == 200, res.text
    csrf = res.json()["csrf_token"]
    cookie = res.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    assert client.get("/api/v1/matters").status_code == 200
    assert client.post("/api/v1/matters", json={"name": "No token"}).status_code == 403
    assert (
        client.post("/api/v1/matters", json={"name": "Token"}, headers={"X-CSRF-Token": csrf}).status_code
        == 201
    )

    runtime = client.app.state.runtime  # type: ignore[attr-defined]
    with transaction(runtime.sessions) as session:
        session.execute(update(WebSession).values(last_seen_at=utcnow() - timedelta(hours=2)))
    res = client.get("/api/v1/matters")
    assert res.status_code == 401 and "expired" in res.json()["detail"]

    client.post(
        "/api/v1/auth/login", json={"email": "owner@example.com", "password": "correct horse battery staple"}
    )
    other = TestClient(client.app)
    other.post(
        "/api/v1/auth/login", json={"email": "owner@example.com", "password": "correct horse battery staple"}
    )
    me = client.get("/api/v1/auth/me").json()
    assert (
        client.post("/api/v1/auth/logout-all", headers={"X-CSRF-Token": me["csrf_token"]}).status_code == 204
    )
    assert other.get("/api/v1/matters").status_code == 401


def test_login_failures_lock_out_and_look_the_same_for_unknown_users(tmp_path, database_url: str) -> None:
    from legalai.app import create_app
    from tests.conftest import make_settings

    with TestClient(create_app(make_settings(tmp_path, database_url, rate_limit_enabled=False))) as client:
        create_identity(client)
        _lockout(client)


def _lockout(client: TestClient) -> None:
    unknown = client.post(
        "/api/v1/auth/login", json={"email": "ghost@example.com", "password": "whatever-password"}
    )
    wrong = client.post(
        "/api/v1/auth/login", json={"email": "owner@example.com", "password": "wrong-password!"}
    )
    assert unknown.status_code == wrong.status_code == 401
    assert unknown.json()["detail"] == wrong.json()["detail"]
    for _ in range(5):
        client.post("/api/v1/auth/login", json={"email": "owner@example.com", "password": "wrong-password!"})
    locked = client.post(
        "/api/v1/auth/login", json={"email": "owner@example.com", "password": "correct horse battery staple"}
    )
    assert locked.status_code == 401
    runtime = client.app.state.runtime  # type: ignore[attr-defined]
    with transaction(runtime.sessions) as session:
        session.execute(update(User).values(locked_until=utcnow() - timedelta(seconds=1)))
    ok = client.post(
        "/api/v1/auth/login", json={"email": "owner@example.com", "password": "correct horse battery staple"}
    )
    assert ok.status_code == 200


def test_people_management_respects_roles(client: TestClient) -> None:
    res = client.post(
        "/api/v1/users",
        json={"email": "new@example.com", "password": "long enough password", "role": "paralegal"},
    )
    assert res.status_code == 201 and res.json()["role"] == "paralegal"
    admin = create_identity(client, email="admin2@example.com", role="admin")
    res = client.post(
        "/api/v1/users", json={"email": "boss@example.com", "role": "owner"}, headers=_as(client, admin)
    )
    assert res.status_code == 403
    user_id = res_id = client.get("/api/v1/users").json()
    assert {u["email"] for u in user_id} >= {"owner@example.com", "new@example.com", "admin2@example.com"}
    para = next(u for u in res_id if u["email"] == "new@example.com")
    res = client.put(
        f"/api/v1/users/{para['id']}/role", json={"role": "attorney"}, headers=_as(client, admin)
    )
    assert res.status_code == 200 and res.json()["role"] == "attorney"
    res = client.put(f"/api/v1/users/{para['id']}/role", json={"role": "admin"}, headers=_as(client, admin))
    assert res.status_code == 403
    assert (
        client.post("/api/v1/users", json={"email": "short@example.com", "password": "short"}).status_code
        == 422
    )


def test_sign_in_is_rate_limited_per_address_and_account(client: TestClient) -> None:
    del client.headers["Authorization"]
    statuses = [
        client.post("/api/v1/auth/login", json={"email": "owner@example.com", "password": "wrong-password!"})
        for _ in range(6)
    ]
    assert [r.status_code for r in statuses[:5]] == [401] * 5
    assert statuses[5].status_code == 429
    assert int(statuses[5].headers["retry-after"]) > 0
