"""Single sign-on with OpenID Connect, against a real (tiny, local) OpenID provider over HTTP."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey
from sqlalchemy import select

from legalai.accounts import oidc
from legalai.accounts.models import AuditEvent
from legalai.app import create_app
from legalai.kit.db import transaction
from legalai.settings import Environment, Settings
from tests.conftest import create_identity, make_settings

CLIENT_ID = "legalai-test"
CLIENT_SECRET = "s3cret/with+odd=chars"


@dataclass
class FakeProvider:
    """Discovery, JWKS, an authorization endpoint that approves at once, and a token endpoint."""

    issuer: str = ""
    key: RSAKey = field(default_factory=lambda: RSAKey.generate_key(2048, parameters={"kid": "k1"}))
    email: str = "ann@example.com"
    claims: dict[str, Any] = field(default_factory=dict)  # merged into (or, None: removed from) the ID token
    signing_key: RSAKey | None = None  # sign with another key than the published one
    codes: dict[str, dict[str, str]] = field(default_factory=dict)
    token_requests: list[dict[str, Any]] = field(default_factory=list)

    def id_token(self, grant: dict[str, str]) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": CLIENT_ID,
            "sub": "user-123",
            "email": self.email,
            "email_verified": True,
            "nonce": grant["nonce"],
            "iat": now,
            "exp": now + 300,
        }
        claims.update(self.claims)
        claims = {k: v for k, v in claims.items() if v is not None}
        key = self.signing_key or self.key
        return jwt.encode({"alg": "RS256", "kid": key.kid}, claims, key)

    def handler(self) -> type[BaseHTTPRequestHandler]:
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _json(self, status: int, body: Any) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                url = urlsplit(self.path)
                if url.path == "/.well-known/openid-configuration":
                    self._json(
                        200,
                        {
                            "issuer": provider.issuer,
                            "authorization_endpoint": f"{provider.issuer}/authorize",
                            "token_endpoint": f"{provider.issuer}/token",
                            "jwks_uri": f"{provider.issuer}/jwks",
                            "response_types_supported": ["code"],
                            "id_token_signing_alg_values_supported": ["RS256"],
                            "token_endpoint_auth_methods_supported": ["client_secret_basic"],
                        },
                    )
                elif url.path == "/jwks":
                    self._json(200, KeySet([provider.key]).as_dict(private=False))
                elif url.path == "/authorize":
                    q = {k: v[0] for k, v in parse_qs(url.query).items()}
                    ok = (
                        q.get("response_type") == "code"
                        and q.get("client_id") == CLIENT_ID
                        and q.get("code_challenge_method") == "S256"
                        and "openid" in q.get("scope", "").split()
                        and all(q.get(k) for k in ("state", "nonce", "code_challenge", "redirect_uri"))
                    )
                    if not ok:
                        self._json(400, {"error": "invalid_request"})
                        return
                    code = secrets.token_urlsafe(16)
                    provider.codes[code] = q
                    target = f"{q['redirect_uri']}?{urlencode({'code': code, 'state': q['state']})}"
                    self.send_response(302)
                    self.send_header("Location", target)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                else:
                    self._json(404, {"error": "not_found"})

            def do_POST(self) -> None:
                if urlsplit(self.path).path != "/token":
                    self._json(404, {"error": "not_found"})
                    return
                length = int(self.headers.get("Content-Length", "0"))
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                provider.token_requests.append(form)
                scheme, _, encoded = self.headers.get("Authorization", "").partition(" ")
                user, _, password = base64.b64decode(encoded or "").decode().partition(":")
                if scheme != "Basic" or (unquote(user), unquote(password)) != (CLIENT_ID, CLIENT_SECRET):
                    self._json(401, {"error": "invalid_client"})
                    return
                grant = provider.codes.pop(form.get("code", ""), None)  # one use only
                verifier = form.get("code_verifier", "")
                challenge = (
                    base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
                )
                if (
                    grant is None
                    or form.get("grant_type") != "authorization_code"
                    or form.get("redirect_uri") != grant["redirect_uri"]
                    or challenge != grant["code_challenge"]
                ):
                    self._json(400, {"error": "invalid_grant"})
                    return
                self._json(
                    200,
                    {
                        "access_token": secrets.token_urlsafe(16),
                        "token_type": "Bearer",
                        "expires_in": 300,
                        "id_token": provider.id_token(grant),
                    },
                )

        return Handler


@pytest.fixture
def provider() -> Iterator[FakeProvider]:
    fake = FakeProvider()
    server = ThreadingHTTPServer(("127.0.0.1", 0), fake.handler())
    fake.issuer = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    oidc.clear_cache()
    yield fake
    server.shutdown()
    server.server_close()
    oidc.clear_cache()


def _settings(tmp_path: Path, database_url: str, provider: FakeProvider) -> Settings:
    return make_settings(
        tmp_path,
        database_url,
        oidc_issuer=provider.issuer,
        oidc_client_id=CLIENT_ID,
        oidc_client_secret=CLIENT_SECRET,
        oidc_display_name="Example ID",
        rate_limit_enabled=False,
    )


@pytest.fixture
def app_client(tmp_path: Path, database_url: str, provider: FakeProvider) -> Iterator[TestClient]:
    with TestClient(create_app(_settings(tmp_path, database_url, provider))) as client:
        create_identity(client, email="ann@example.com")
        yield client


def _start(client: TestClient, next_path: str = "/matters") -> str:
    """Follow /login/oidc to the provider, which approves at once; the callback URL (path + query)."""
    started = client.get("/login/oidc", params={"next": next_path}, follow_redirects=False)
    assert started.status_code == 303, started.text
    cookie = started.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Max-Age=600" in cookie
    approved = httpx.get(started.headers["location"], follow_redirects=False)
    assert approved.status_code == 302, approved.text
    back = urlsplit(approved.headers["location"])
    assert back.path == "/login/oidc/callback"
    return f"{back.path}?{back.query}"


def _sso(client: TestClient, next_path: str = "/matters") -> httpx.Response:
    return client.get(_start(client, next_path), follow_redirects=False)


def _events(client: TestClient, action: str) -> list[AuditEvent]:
    runtime = client.app.state.runtime  # type: ignore[attr-defined]
    with transaction(runtime.sessions) as session:
        rows = session.scalars(select(AuditEvent).where(AuditEvent.action == action)).all()
        session.expunge_all()
        return list(rows)


def _refused(response: httpx.Response, status: int, message: str) -> None:
    assert response.status_code == status, response.text
    assert message in response.text
    assert "legalai_session" not in response.headers.get("set-cookie", "")


def test_known_user_signs_in(app_client: TestClient, provider: FakeProvider) -> None:
    assert "Sign in with Example ID" in app_client.get("/login").text
    response = _sso(app_client, "/matters?x=1")
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/matters?x=1"
    me = app_client.get("/api/v1/auth/me")
    assert me.status_code == 200, me.text
    assert me.json()["email"] == "ann@example.com"
    assert me.json()["via"] == "user"
    [event] = _events(app_client, "auth.login")
    assert event.details["method"] == "oidc"
    assert event.outcome == "success"
    # The token request carried the PKCE verifier and our redirect URI.
    [form] = provider.token_requests
    assert form["code_verifier"] and form["redirect_uri"].endswith("/login/oidc/callback")


def test_callback_cannot_be_replayed(app_client: TestClient) -> None:
    callback = _start(app_client)
    assert app_client.get(callback, follow_redirects=False).status_code == 303
    # The flow cookie is gone; the same callback again is refused.
    _refused(app_client.get(callback, follow_redirects=False), 400, "try again")


def test_unknown_email_is_refused(app_client: TestClient, provider: FakeProvider) -> None:
    provider.email = "stranger@example.com"
    _refused(_sso(app_client), 403, "No account for stranger@example.com; ask an administrator to invite you")
    assert app_client.get("/api/v1/auth/me").status_code == 401


def test_unverified_email_is_refused(app_client: TestClient, provider: FakeProvider) -> None:
    provider.claims = {"email_verified": False}
    _refused(_sso(app_client), 401, "has not verified")
    [event] = _events(app_client, "auth.login_failed")
    assert event.details["reason"] == "email_unverified"


def test_tampered_state_is_refused(app_client: TestClient) -> None:
    callback = _start(app_client)
    path, _, query = callback.partition("?")
    params = {k: v[0] for k, v in parse_qs(query).items()}
    params["state"] = params["state"][:-2] + "xx"
    _refused(app_client.get(f"{path}?{urlencode(params)}", follow_redirects=False), 400, "try again")


def test_missing_or_forged_flow_cookie_is_refused(app_client: TestClient) -> None:
    callback = _start(app_client)
    # Replace the real flow cookie (setting another one beside it would leave the jar's order to
    # decide which of the two the server reads).
    app_client.cookies.clear()
    app_client.cookies.set("legalai_oidc", "forged", path="/login/oidc")
    _refused(app_client.get(callback, follow_redirects=False), 400, "try again")
    app_client.cookies.clear()
    _refused(app_client.get(callback, follow_redirects=False), 400, "try again")


def test_token_signed_by_another_key_is_refused(app_client: TestClient, provider: FakeProvider) -> None:
    provider.signing_key = RSAKey.generate_key(2048, parameters={"kid": "k1"})  # same kid, other key
    _refused(_sso(app_client), 401, "could not be verified")
    [event] = _events(app_client, "auth.login_failed")
    assert (event.details["method"], event.details["reason"]) == ("oidc", "invalid_id_token")
    provider.signing_key = RSAKey.generate_key(2048, parameters={"kid": "k2"})  # unknown kid
    _refused(_sso(app_client), 401, "could not be verified")


def test_wrong_nonce_is_refused(app_client: TestClient, provider: FakeProvider) -> None:
    provider.claims = {"nonce": "not-the-nonce"}
    _refused(_sso(app_client), 401, "could not be verified")
    provider.claims = {"nonce": None}
    _refused(_sso(app_client), 401, "could not be verified")


def test_expired_token_is_refused(app_client: TestClient, provider: FakeProvider) -> None:
    now = int(time.time())
    provider.claims = {"iat": now - 3600, "exp": now - 1800}
    _refused(_sso(app_client), 401, "could not be verified")


def test_wrong_audience_or_issuer_is_refused(app_client: TestClient, provider: FakeProvider) -> None:
    provider.claims = {"aud": "someone-else"}
    _refused(_sso(app_client), 401, "could not be verified")
    provider.claims = {"iss": "https://evil.example"}
    _refused(_sso(app_client), 401, "could not be verified")


def test_provider_error_is_refused(app_client: TestClient) -> None:
    callback = _start(app_client)
    path, _, query = callback.partition("?")
    state = parse_qs(query)["state"][0]
    response = app_client.get(path, params={"state": state, "error": "access_denied"}, follow_redirects=False)
    _refused(response, 401, "refused the sign-in")


def test_unreachable_provider_is_not_a_500(tmp_path: Path, database_url: str) -> None:
    settings = make_settings(
        tmp_path,
        database_url,
        oidc_issuer="http://127.0.0.1:9",  # discard port: connection refused
        oidc_client_id=CLIENT_ID,
        oidc_client_secret=CLIENT_SECRET,
        rate_limit_enabled=False,
    )
    with TestClient(create_app(settings)) as client:
        response = client.get("/login/oidc", follow_redirects=False)
        assert response.status_code == 502
        assert "cannot be reached" in response.text


def test_not_configured(tmp_path: Path, database_url: str) -> None:
    settings = make_settings(tmp_path, database_url, rate_limit_enabled=False)
    with TestClient(create_app(settings)) as client:
        create_identity(client, email="ann@example.com")
        assert client.get("/login/oidc", follow_redirects=False).status_code == 404
        assert client.get("/login/oidc/callback?state=x&code=y", follow_redirects=False).status_code == 404
        page = client.get("/login")
        assert page.status_code == 200
        assert "/login/oidc" not in page.text and "Sign in with" not in page.text


def test_settings_problems(tmp_path: Path) -> None:
    half = Settings(oidc_issuer="https://id.example.com", oidc_client_id="x", data_dir=tmp_path)
    assert any("LEGALAI_OIDC_CLIENT_SECRET" in p for p in half.problems())
    full = Settings(
        oidc_issuer="https://id.example.com",
        oidc_client_id="x",
        oidc_client_secret="y",
        data_dir=tmp_path,
    )
    assert not any("OIDC" in p for p in full.problems())
    production = Settings(
        environment=Environment.production,
        oidc_issuer="http://id.example.com",
        oidc_client_id="x",
        oidc_client_secret="y",
        data_dir=tmp_path,
    )
    assert any("LEGALAI_OIDC_ISSUER must be an https://" in p for p in production.problems())
