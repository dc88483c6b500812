"""The principal cache is used, and never outlives a change to who may see what.

Every change is made the way an administrator would make it (the API, or the services in another
process) and must hold on the *very next* request of a principal that is in the cache; on SQLite
and PostgreSQL, and across two apps (two processes' runtimes) sharing one database.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from legalai.accounts.access import ACCESS_NEUTRAL, access_version
from legalai.accounts.models import ApiKey, MatterMember, OrganizationMember, User, WebSession
from legalai.app import create_app
from legalai.kit.db import transaction, utcnow
from tests.conftest import Identity, create_identity, make_settings, upload

Wait = Callable[..., list[dict[str, Any]]]
PASSWORD = "correct horse battery staple"


def _as(identity: Identity) -> dict[str, str]:
    return {"Authorization": f"Bearer {identity.api_key}"}


def _runtime(client: TestClient) -> Any:
    return client.app.state.runtime  # type: ignore[attr-defined]


def _cached_get(client: TestClient, url: str, headers: dict[str, str] | None = None) -> int:
    """GET ``url`` twice; the second answer must come from a cached principal."""
    cache = _runtime(client).principals
    client.get(url, headers=headers)
    hits = cache.hits
    status = client.get(url, headers=headers).status_code
    assert cache.hits == hits + 1, "the principal was not served from the cache"
    return status


@pytest.fixture
def two_apps(tmp_path: Path, database_url: str) -> Iterator[tuple[TestClient, TestClient]]:
    """Two runtimes (as two API processes would have) on one database."""
    first = TestClient(create_app(make_settings(tmp_path, database_url)))
    second = TestClient(create_app(make_settings(tmp_path, database_url)))
    with first, second:
        yield first, second


def _seed(client: TestClient, wait_ready: Wait) -> tuple[Identity, str, str]:
    owner = create_identity(client)
    client.headers["Authorization"] = f"Bearer {owner.api_key}"
    matter = client.post("/api/v1/matters", json={"name": "Cached matter"}).json()["id"]
    [item] = upload(client, matter, ("memo.txt", b"Privileged canary-91b2 strategy memo."))["accepted"]
    wait_ready(client, [item["document_id"]])
    return owner, matter, item["document_id"]


def test_cache_serves_repeat_requests_and_can_be_turned_off(tmp_path: Path, database_url: str) -> None:
    with TestClient(create_app(make_settings(tmp_path, database_url))) as client:
        owner = create_identity(client)
        cache = _runtime(client).principals
        assert client.get("/api/v1/matters", headers=_as(owner)).status_code == 200
        hits = cache.hits
        for _ in range(5):
            assert client.get("/api/v1/matters", headers=_as(owner)).status_code == 200
        assert cache.hits == hits + 5 and len(cache) == 1
        # A wrong secret with a real prefix never matches the cached entry of the real key.
        prefix = owner.api_key.split("_")[1]
        res = client.get("/api/v1/matters", headers={"Authorization": f"Bearer lgl_{prefix}_wrong"})
        assert res.status_code == 401
    with TestClient(
        create_app(make_settings(tmp_path / "off", database_url, principal_cache_seconds=0))
    ) as off:
        owner = create_identity(off, email="other@example.com", organization="Other Firm")
        for _ in range(3):
            assert off.get("/api/v1/matters", headers=_as(owner)).status_code == 200
        assert _runtime(off).principals.hits == 0 and len(_runtime(off).principals) == 0


def test_key_revocation_rotation_and_expiry_hold_on_the_next_request(
    two_apps: tuple[TestClient, TestClient],
) -> None:
    a, b = two_apps
    owner = create_identity(a)
    b.headers["Authorization"] = f"Bearer {owner.api_key}"
    keys = [b.post("/api/v1/api-keys", json={"name": f"k{i}", "scopes": ["read"]}).json() for i in range(3)]
    revoked, rotated, expiring = ({"Authorization": f"Bearer {k['key']}"} for k in keys)
    for headers in (revoked, rotated, expiring):
        assert _cached_get(a, "/api/v1/matters", headers) == 200

    assert b.delete(f"/api/v1/api-keys/{keys[0]['id']}").status_code == 204
    res = a.get("/api/v1/matters", headers=revoked)
    assert res.status_code == 401 and "revoked" in res.json()["detail"]

    new = b.post(f"/api/v1/api-keys/{keys[1]['id']}/rotate").json()
    assert a.get("/api/v1/matters", headers=rotated).status_code == 401
    assert a.get("/api/v1/matters", headers={"Authorization": f"Bearer {new['key']}"}).status_code == 200

    # Expiry is a point in time: checked against the cached entry on every request.
    with transaction(_runtime(b).sessions) as session:
        key = session.get(ApiKey, keys[2]["id"])
        assert key is not None
        key.expires_at = utcnow() + timedelta(seconds=1)
    assert _cached_get(a, "/api/v1/matters", expiring) == 200
    time.sleep(1.1)
    res = a.get("/api/v1/matters", headers=expiring)
    assert res.status_code == 401 and "expired" in res.json()["detail"]


def test_membership_role_screen_and_account_changes_hold_on_the_next_request(
    two_apps: tuple[TestClient, TestClient], wait_ready: Wait
) -> None:
    a, b = two_apps
    owner, matter, doc = _seed(b, wait_ready)
    colleague = create_identity(b, email="colleague@example.com", role="attorney")
    manager = create_identity(b, email="manager@example.com", role="admin")
    pages = f"/api/v1/documents/{doc}/pages"

    assert _cached_get(a, pages, _as(colleague)) == 404
    b.post(f"/api/v1/matters/{matter}/members", json={"user_id": colleague.user_id})
    assert a.get(pages, headers=_as(colleague)).status_code == 200  # a grant shows at once too
    assert _cached_get(a, pages, _as(colleague)) == 200

    b.delete(f"/api/v1/matters/{matter}/members/{colleague.user_id}")
    assert a.get(pages, headers=_as(colleague)).status_code == 404

    b.post(f"/api/v1/matters/{matter}/members", json={"user_id": colleague.user_id})
    assert _cached_get(a, pages, _as(colleague)) == 200
    b.post(f"/api/v1/matters/{matter}/screens", json={"user_id": colleague.user_id, "reason": "conflict"})
    assert a.get(pages, headers=_as(colleague)).status_code == 404

    # A demoted manager loses the right to manage people on the next request.
    assert _cached_get(a, "/api/v1/auth/me", _as(manager)) == 200
    res = b.put(f"/api/v1/users/{manager.user_id}/role", json={"role": "viewer"})
    assert res.status_code == 200, res.text
    assert a.get("/api/v1/auth/me", headers=_as(manager)).json()["role"] == "viewer"
    new_user = {"email": "new@example.com", "password": PASSWORD, "role": "attorney"}
    assert a.post("/api/v1/users", json=new_user, headers=_as(manager)).status_code == 403

    # Removed from the organization, or the account disabled: no access at all.
    assert _cached_get(a, "/api/v1/matters", _as(manager)) == 200
    with transaction(_runtime(b).sessions) as session:
        user = session.get(User, manager.user_id)
        assert user is not None
        user.is_active = False
    res = a.get("/api/v1/matters", headers=_as(manager))
    assert res.status_code == 401 and "disabled" in res.json()["detail"]

    assert _cached_get(a, "/api/v1/matters", _as(owner)) == 200
    with transaction(_runtime(b).sessions) as session:
        member = session.scalar(
            select(OrganizationMember).where(OrganizationMember.user_id == colleague.user_id)
        )
        assert member is not None
        session.delete(member)
    assert a.get("/api/v1/matters", headers=_as(colleague)).status_code == 401


def test_sign_out_and_session_limits_hold_on_the_next_request(
    two_apps: tuple[TestClient, TestClient], wait_ready: Wait
) -> None:
    a, b = two_apps
    owner, _matter, _doc = _seed(a, wait_ready)
    del a.headers["Authorization"]
    login = {"email": owner.email, "password": PASSWORD}

    def signed_in(client: TestClient) -> tuple[str, str]:
        res = client.post("/api/v1/auth/login", json=login)
        assert res.status_code == 200, res.text
        return client.cookies["legalai_session"], res.json()["csrf_token"]

    # Signed out in one process, the cookie is dead in the other at once.
    cookie, csrf = signed_in(a)
    assert _cached_get(a, "/api/v1/matters") == 200
    b.cookies.set("legalai_session", cookie)
    assert b.post("/api/v1/auth/logout", headers={"X-CSRF-Token": csrf}).status_code == 204
    assert a.get("/api/v1/matters").status_code == 401

    # Signing out everywhere ends every cached session.
    signed_in(a)
    other = TestClient(a.app)
    _cookie, other_csrf = signed_in(other)
    assert _cached_get(a, "/api/v1/matters") == 200
    assert _cached_get(other, "/api/v1/matters") == 200
    assert other.post("/api/v1/auth/logout-all", headers={"X-CSRF-Token": other_csrf}).status_code == 204
    assert a.get("/api/v1/matters").status_code == 401

    # The CSRF token of a cached session is still checked.
    cookie, csrf = signed_in(a)
    assert _cached_get(a, "/api/v1/matters") == 200
    assert a.post("/api/v1/matters", json={"name": "No token"}).status_code == 403
    assert (
        a.post("/api/v1/matters", json={"name": "Token"}, headers={"X-CSRF-Token": csrf}).status_code == 201
    )

    # Hard expiry is checked against the cached entry.
    with transaction(_runtime(b).sessions) as session:
        ws = session.scalar(select(WebSession).where(WebSession.revoked_at.is_(None)))
        assert ws is not None
        ws.expires_at = utcnow() + timedelta(seconds=1)
    assert _cached_get(a, "/api/v1/matters") == 200
    time.sleep(1.1)
    res = a.get("/api/v1/matters")
    assert res.status_code == 401 and "expired" in res.json()["detail"]


def test_idle_timeout_holds_for_a_cached_session(tmp_path: Path, database_url: str, wait_ready: Wait) -> None:
    settings = make_settings(tmp_path, database_url, session_idle_minutes=1)
    with TestClient(create_app(settings)) as client:
        owner = create_identity(client)
        res = client.post("/api/v1/auth/login", json={"email": owner.email, "password": PASSWORD})
        assert res.status_code == 200
        assert _cached_get(client, "/api/v1/matters") == 200
        cache = _runtime(client).principals
        [entry] = list(cache._entries.values())
        entry.last_seen = utcnow() - timedelta(minutes=2)  # this process last saw it two minutes ago
        with transaction(_runtime(client).sessions) as session:  # and so did every other one
            session.execute(
                update(WebSession).values(last_seen_at=utcnow() - timedelta(minutes=2)),
                execution_options={ACCESS_NEUTRAL: True},
            )
        res = client.get("/api/v1/matters")
        assert res.status_code == 401 and "expired" in res.json()["detail"]


def test_only_changes_to_access_bump_the_version(client: TestClient) -> None:
    runtime = _runtime(client)
    owner = create_identity(client, email="second@example.com")

    def version() -> int:
        with transaction(runtime.sessions) as session:
            value = access_version(session, owner.organization_id)
            assert value is not None
            return value

    start = version()
    with transaction(runtime.sessions) as session:  # sign-in bookkeeping and key use: neutral
        user = session.get(User, owner.user_id)
        assert user is not None
        user.failed_logins = 3
        user.last_login_at = utcnow()
        for key in session.scalars(select(ApiKey).where(ApiKey.user_id == owner.user_id)):
            key.last_used_at = utcnow()
    assert version() == start
    with transaction(runtime.sessions) as session:
        user = session.get(User, owner.user_id)
        assert user is not None
        user.password_hash = "changed"
    assert version() == start + 1
    with transaction(runtime.sessions) as session:  # a bulk statement on a watched table
        session.execute(update(ApiKey).where(ApiKey.user_id == owner.user_id).values(name="renamed"))
    assert version() == start + 2
    with transaction(runtime.sessions) as session:
        session.execute(
            update(ApiKey).values(last_used_at=utcnow()), execution_options={ACCESS_NEUTRAL: True}
        )
    assert version() == start + 2
    try:  # a change that rolls back takes its bump with it
        with transaction(runtime.sessions) as session:
            user = session.get(User, owner.user_id)
            assert user is not None
            user.is_active = False
            session.flush()
            raise RuntimeError("abandon")
    except RuntimeError:
        pass
    assert version() == start + 2


def test_changes_made_behind_the_orm_are_honoured_within_the_max_age(
    tmp_path: Path, database_url: str, wait_ready: Wait
) -> None:
    settings = make_settings(tmp_path, database_url, principal_cache_seconds=0.5)
    with TestClient(create_app(settings)) as client:
        _owner, matter, doc = _seed(client, wait_ready)
        colleague = create_identity(client, email="colleague@example.com", role="attorney")
        client.post(f"/api/v1/matters/{matter}/members", json={"user_id": colleague.user_id})
        pages = f"/api/v1/documents/{doc}/pages"
        assert _cached_get(client, pages, _as(colleague)) == 200
        with _runtime(client).engine.begin() as conn:  # raw SQL, as from a database console
            conn.execute(
                MatterMember.__table__.delete().where(MatterMember.__table__.c.user_id == colleague.user_id)
            )
        time.sleep(0.6)
        assert client.get(pages, headers=_as(colleague)).status_code == 404
