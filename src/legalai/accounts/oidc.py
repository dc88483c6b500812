"""Optional single sign-on with OpenID Connect: Authorization Code flow with PKCE, state and nonce.

``GET /login/oidc`` (see ``legalai.web.auth_views``) stores a random state, nonce and PKCE code
verifier in a short-lived signed cookie and redirects the browser to the provider. The callback checks
the state against that cookie, exchanges the code at the token endpoint, verifies the ID token
(signature against the provider's JWKS, issuer, audience, expiry, nonce) and signs in the EXISTING
account whose address is the verified ``email`` claim: SSO never creates accounts.

Protocol pieces come from authlib (PKCE challenge, token generation, OIDC ID token claim rules) and
joserfc (JWS/JWKS; authlib's own engine since 1.7, ``authlib.jose`` is deprecated). HTTP is plain
httpx with short timeouts; discovery documents and key sets are cached in memory for a few minutes.
"""

from __future__ import annotations

import base64
import hmac
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar
from urllib.parse import quote, urlencode

import httpx
from authlib.common.security import generate_token
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from authlib.oidc.core import CodeIDToken
from fastapi import Request, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet
from joserfc.jws import JWSRegistry
from sqlalchemy.orm import Session

from legalai.accounts import service
from legalai.accounts.models import User
from legalai.audit.endpoints import audit_request, record_login_failure
from legalai.kit.db import utcnow
from legalai.kit.deps import client_ip
from legalai.runtime import Runtime
from legalai.security.ratelimit import limiter_of
from legalai.settings import Settings

FLOW_COOKIE = "legalai_oidc"
FLOW_COOKIE_PATH = "/login/oidc"
CALLBACK_PATH = "/login/oidc/callback"
FLOW_MAX_AGE_SECONDS = 600
CACHE_SECONDS = 300.0
# A token naming an unknown key id refreshes the key set, but not more often than this (no amplification).
MIN_KEY_REFRESH_SECONDS = 30.0
CLOCK_LEEWAY_SECONDS = 60
HTTP_TIMEOUT = httpx.Timeout(5.0, connect=3.0)
MAX_PROVIDER_RESPONSE_BYTES = 512 * 1024
_ASYMMETRIC_ALGORITHMS = (
    "RS256",
    "RS384",
    "RS512",
    "PS256",
    "PS384",
    "PS512",
    "ES256",
    "ES384",
    "ES512",
    "EdDSA",
)
_SALT = "legalai.oidc.flow"

T = TypeVar("T")


class OidcError(Exception):
    """A sign-in that cannot go on; ``message`` is shown to the person, ``reason`` is for the log."""

    def __init__(self, message: str, status_code: int, reason: str, *, email: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.reason = reason
        self.email = email


@dataclass(frozen=True)
class ProviderMetadata:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    algorithms: tuple[str, ...]
    token_auth_methods: tuple[str, ...]


@dataclass(frozen=True)
class FlowState:
    state: str
    nonce: str
    code_verifier: str
    next: str


@dataclass(frozen=True)
class VerifiedIdentity:
    subject: str
    email: str


# ---- in-memory cache (per process) --------------------------------------------------------------


class _Cache:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: dict[str, tuple[float, float, Any]] = {}  # key -> (fetched_at, expires_at, value)

    def get(self, key: str, load: Callable[[], T], *, ttl: float, force: bool = False) -> T:
        now = time.monotonic()
        with self._lock:
            item = self._items.get(key)
        if item is not None:
            fetched_at, expires_at, value = item
            stale = now >= expires_at or (force and now - fetched_at >= MIN_KEY_REFRESH_SECONDS)
            if not stale:
                return value  # type: ignore[no-any-return]
        value = load()
        with self._lock:
            self._items[key] = (now, now + ttl, value)
        return value

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


_cache = _Cache()


def clear_cache() -> None:
    """Forget cached discovery documents and key sets (tests; a provider's key rotation is automatic)."""
    _cache.clear()


# ---- the flow cookie ----------------------------------------------------------------------------


def _serializer(settings: Settings) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.secret_key.get_secret_value(), salt=_SALT)


def set_flow_cookie(response: Response, settings: Settings, value: str) -> None:
    # SameSite=Lax: the callback is a top-level cross-site navigation from the provider.
    response.set_cookie(
        FLOW_COOKIE,
        value,
        max_age=FLOW_MAX_AGE_SECONDS,
        httponly=True,
        secure=settings.cookie_secure,
        samesite="lax",
        path=FLOW_COOKIE_PATH,
    )


def clear_flow_cookie(response: Response, settings: Settings) -> None:
    response.delete_cookie(
        FLOW_COOKIE,
        path=FLOW_COOKIE_PATH,
        httponly=True,
        secure=settings.cookie_secure,
        samesite="lax",
    )


# ---- the client ---------------------------------------------------------------------------------


def _unverified_email(id_token: str) -> str | None:
    """The ``email`` claim of a token that failed verification: only to file the failure in the
    right organization's audit log, never to sign anyone in."""
    try:
        payload = id_token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        return None
    email = claims.get("email") if isinstance(claims, dict) else None
    return email.strip().lower()[:320] if isinstance(email, str) and "@" in email else None


class OidcClient:
    """The relying party for ``settings.oidc_issuer``; cheap to build, one per request."""

    def __init__(self, settings: Settings, *, transport: httpx.BaseTransport | None = None) -> None:
        if not (settings.oidc_issuer and settings.oidc_client_id and settings.oidc_client_secret):
            raise OidcError("Single sign-on is not configured", 404, "not_configured")
        self.settings = settings
        self.issuer = settings.oidc_issuer.rstrip("/")
        self.client_id = settings.oidc_client_id
        self.client_secret = settings.oidc_client_secret.get_secret_value()
        self.redirect_uri = settings.base_url + CALLBACK_PATH
        self._transport = transport

    # -- provider documents --

    def _get_json(self, url: str) -> dict[str, Any]:
        try:
            with httpx.Client(timeout=HTTP_TIMEOUT, transport=self._transport) as http:
                response = http.get(url, headers={"Accept": "application/json"})
            response.raise_for_status()
            if len(response.content) > MAX_PROVIDER_RESPONSE_BYTES:
                raise ValueError("response too large")
            body = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise OidcError(
                "The identity provider cannot be reached; try again later or sign in with your password",
                502,
                "provider_unreachable",
            ) from exc
        if not isinstance(body, dict):
            raise OidcError("The identity provider answered nonsense", 502, "provider_invalid")
        return body

    def metadata(self) -> ProviderMetadata:
        url = f"{self.issuer}/.well-known/openid-configuration"
        return _cache.get("discovery:" + url, lambda: self._load_metadata(url), ttl=CACHE_SECONDS)

    def _load_metadata(self, url: str) -> ProviderMetadata:
        doc = self._get_json(url)
        fields = ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri")
        if not all(isinstance(doc.get(f), str) and doc[f] for f in fields):
            raise OidcError("The identity provider's configuration is incomplete", 502, "provider_invalid")
        if str(doc["issuer"]).rstrip("/") != self.issuer:
            raise OidcError("The identity provider names another issuer", 502, "provider_invalid")
        offered = doc.get("id_token_signing_alg_values_supported") or ["RS256"]
        algorithms = tuple(a for a in _ASYMMETRIC_ALGORITHMS if a in offered) or ("RS256",)
        methods = doc.get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
        return ProviderMetadata(
            issuer=str(doc["issuer"]),
            authorization_endpoint=str(doc["authorization_endpoint"]),
            token_endpoint=str(doc["token_endpoint"]),
            jwks_uri=str(doc["jwks_uri"]),
            algorithms=algorithms,
            token_auth_methods=tuple(str(m) for m in methods),
        )

    def key_set(self, metadata: ProviderMetadata, *, force: bool = False) -> KeySet:
        def load() -> KeySet:
            doc = self._get_json(metadata.jwks_uri)
            try:
                return KeySet.import_key_set(doc)  # type: ignore[arg-type]
            except (JoseError, ValueError, KeyError, TypeError) as exc:
                raise OidcError("The identity provider's keys are unusable", 502, "provider_invalid") from exc

        return _cache.get("jwks:" + metadata.jwks_uri, load, ttl=CACHE_SECONDS, force=force)

    # -- step 1: send the browser to the provider --

    def begin(self, next_path: str) -> tuple[str, str]:
        """The authorization URL and the signed flow cookie value."""
        metadata = self.metadata()
        flow = FlowState(
            state=generate_token(32),
            nonce=generate_token(32),
            code_verifier=generate_token(64),
            next=next_path,
        )
        query = urlencode(
            {
                "response_type": "code",
                "client_id": self.client_id,
                "redirect_uri": self.redirect_uri,
                "scope": self.settings.oidc_scopes,
                "state": flow.state,
                "nonce": flow.nonce,
                "code_challenge": create_s256_code_challenge(flow.code_verifier),
                "code_challenge_method": "S256",
            }
        )
        separator = "&" if "?" in metadata.authorization_endpoint else "?"
        cookie = _serializer(self.settings).dumps(
            {"s": flow.state, "n": flow.nonce, "v": flow.code_verifier, "x": flow.next}
        )
        return f"{metadata.authorization_endpoint}{separator}{query}", cookie

    # -- step 2: the provider sends the browser back --

    def read_flow(self, cookie: str | None, state: str) -> FlowState:
        retry = (
            "Single sign-on could not be completed (the attempt expired or was started elsewhere); try again"
        )
        if not cookie:
            raise OidcError(retry, 400, "missing_flow_cookie")
        try:
            data = _serializer(self.settings).loads(cookie, max_age=FLOW_MAX_AGE_SECONDS)
            flow = FlowState(state=data["s"], nonce=data["n"], code_verifier=data["v"], next=data["x"])
        except (BadSignature, KeyError, TypeError) as exc:
            raise OidcError(retry, 400, "bad_flow_cookie") from exc
        if not (state and hmac.compare_digest(state.encode(), flow.state.encode())):
            raise OidcError(retry, 400, "state_mismatch")
        return flow

    def complete(self, cookie: str | None, state: str, code: str, error: str) -> tuple[VerifiedIdentity, str]:
        """Check the callback, redeem the code and verify the ID token; (identity, next path)."""
        flow = self.read_flow(cookie, state)
        if error:
            raise OidcError(
                f"The identity provider refused the sign-in ({error[:100]})", 401, "provider_error"
            )
        if not code or len(code) > 4096:
            raise OidcError("The identity provider sent no authorization code", 400, "missing_code")
        metadata = self.metadata()
        tokens = self._redeem(metadata, code, flow)
        return self.verify_id_token(metadata, tokens, flow), flow.next

    def _redeem(self, metadata: ProviderMetadata, code: str, flow: FlowState) -> dict[str, Any]:
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": self.redirect_uri,
            "code_verifier": flow.code_verifier,
        }
        # client_secret_basic (form-encoded id and secret, RFC 6749 2.3.1), or client_secret_post.
        auth: httpx.Auth = httpx.BasicAuth(quote(self.client_id, safe=""), quote(self.client_secret, safe=""))
        basic = "client_secret_basic" in metadata.token_auth_methods
        if not basic and "client_secret_post" in metadata.token_auth_methods:
            form |= {"client_id": self.client_id, "client_secret": self.client_secret}
            auth = httpx.Auth()  # no header
        failed = OidcError(
            "The identity provider did not complete the sign-in; try again", 401, "token_error"
        )
        try:
            with httpx.Client(timeout=HTTP_TIMEOUT, transport=self._transport) as http:
                response = http.post(
                    metadata.token_endpoint, data=form, auth=auth, headers={"Accept": "application/json"}
                )
            body = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise failed from exc
        if response.status_code != 200 or not isinstance(body, dict) or "error" in body:
            raise failed
        if not isinstance(body.get("id_token"), str):
            raise OidcError("The identity provider sent no ID token", 401, "token_error")
        return body

    def verify_id_token(
        self, metadata: ProviderMetadata, tokens: dict[str, Any], flow: FlowState
    ) -> VerifiedIdentity:
        id_token: str = tokens["id_token"]
        invalid = OidcError(
            "The identity provider's answer could not be verified; sign-in refused",
            401,
            "invalid_id_token",
            email=_unverified_email(id_token),
        )
        registry = JWSRegistry(algorithms=list(metadata.algorithms), strict_check_header=False)
        try:
            try:
                token = jwt.decode(id_token, self.key_set(metadata), registry=registry)
            except InvalidKeyIdError:  # the provider may have rotated its keys
                token = jwt.decode(id_token, self.key_set(metadata, force=True), registry=registry)
            options: dict[str, Any] = {
                "iss": {"essential": True, "value": metadata.issuer},
                "aud": {"essential": True, "value": self.client_id},
                "sub": {"essential": True},
                "exp": {"essential": True},
            }
            params = {"nonce": flow.nonce, "client_id": self.client_id}
            if isinstance(tokens.get("access_token"), str):
                params["access_token"] = tokens["access_token"]
            claims = CodeIDToken(token.claims, token.header, options, params)
            claims.validate(leeway=CLOCK_LEEWAY_SECONDS)
        except (JoseError, ValueError, TypeError, KeyError) as exc:
            raise invalid from exc
        nonce = claims.get("nonce")
        if not (isinstance(nonce, str) and hmac.compare_digest(nonce.encode(), flow.nonce.encode())):
            raise invalid
        email = claims.get("email")
        if not isinstance(email, str) or "@" not in email:
            raise OidcError("The identity provider did not share an e-mail address", 401, "no_email")
        email = email.strip().lower()[:320]
        if "email_verified" in claims and claims["email_verified"] not in (True, "true"):
            raise OidcError(
                f"The identity provider has not verified the address {email}",
                401,
                "email_unverified",
                email=email,
            )
        return VerifiedIdentity(subject=str(claims["sub"]), email=email)


# ---- signing in ---------------------------------------------------------------------------------


def record_failure(session: Session, request: Request, email: str, reason: str) -> None:
    """An ``auth.login_failed`` event, when the address belongs to someone in an organization."""
    record_login_failure(request, session, email, {"method": "oidc", "reason": reason})


def sign_in(
    session: Session, runtime: Runtime, request: Request, identity: VerifiedIdentity
) -> tuple[str, User]:
    """Open a web session for the existing account with this verified address; (cookie token, user)."""
    limiter_of(request).check("login", ip=client_ip(request), user_id=identity.email, api_key_id=None)
    user = service.find_user(session, identity.email)
    orgs = service.organizations_of(session, user.id) if user else []
    if user is None or not user.is_active or not orgs:
        raise OidcError(
            f"No account for {identity.email}; ask an administrator to invite you",
            403,
            "no_account" if user is None or not orgs else "account_disabled",
            email=identity.email,
        )
    organization = orgs[0][0]
    user.last_login_at = utcnow()
    web_session, token = service.create_web_session(
        session,
        user,
        organization.id,
        lifetime=timedelta(hours=runtime.settings.session_absolute_hours),
        ip=client_ip(request),
        user_agent=request.headers.get("user-agent", ""),
    )
    principal = service.principal_for(session, user, organization.id, session_id=web_session.id)
    audit_request(
        request,
        session,
        principal,
        "auth.login",
        target_type="user",
        target_id=user.id,
        details={"method": "oidc"},
    )
    return token, user
