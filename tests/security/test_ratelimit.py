"""Rate limits: per address, per account, per API key; Redis shared between processes; fail open."""

from __future__ import annotations

import socket
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis
import structlog
from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.testclient import TestClient
from limits import parse

from legalai.accounts.principal import Principal
from legalai.security.ratelimit import (
    RateLimitConfig,
    RateLimited,
    RateLimiter,
    enforce_rate_limit,
    group_for,
)
from tests.conftest import REDIS_URL

SMALL = RateLimitConfig.build(
    login_per_ip="3/minute",
    login_per_user="2/minute",
    upload="2/minute",
    search="4/minute",
    ai="1/minute",
    default="5/minute",
    shared_ip_factor=2,
)


def limited(limiter: RateLimiter, group: str, **who: str | None) -> RateLimited:
    with pytest.raises(RateLimited) as caught:
        limiter.check(
            group, ip=who.get("ip") or "10.0.0.1", user_id=who.get("user"), api_key_id=who.get("key")
        )
    return caught.value


def allow(limiter: RateLimiter, group: str, times: int = 1, **who: str | None) -> None:
    for _ in range(times):
        limiter.check(
            group, ip=who.get("ip") or "10.0.0.1", user_id=who.get("user"), api_key_id=who.get("key")
        )


# ---- memory backend ------------------------------------------------------------------------------


def test_per_ip_limit_allows_n_then_refuses_with_retry_after() -> None:
    limiter = RateLimiter(SMALL)
    allow(limiter, "login", 3, ip="192.0.2.1")
    exc = limited(limiter, "login", ip="192.0.2.1")
    assert exc.status_code == 429
    assert exc.title == "Too many requests"
    assert 1 <= exc.extra["retry_after"] <= 60
    assert exc.extra["limit"] == "3 per minute"
    assert exc.extra["limited_by"] == "ip"
    assert "3 per minute" in exc.detail and "this address" in exc.detail
    # Another address is unaffected.
    allow(limiter, "login", 3, ip="192.0.2.2")


def test_per_user_limit_applies_across_addresses() -> None:
    limiter = RateLimiter(SMALL)
    allow(limiter, "login", ip="192.0.2.1", user="alice@example.com")
    allow(limiter, "login", ip="192.0.2.2", user="alice@example.com")
    exc = limited(limiter, "login", ip="192.0.2.3", user="alice@example.com")
    assert exc.extra["limited_by"] == "user"
    assert "this account" in exc.detail
    allow(limiter, "login", ip="192.0.2.3", user="bob@example.com")


def test_per_api_key_limit_is_per_key() -> None:
    limiter = RateLimiter(SMALL)
    allow(limiter, "upload", 2, ip="192.0.2.1", key="key-a")
    exc = limited(limiter, "upload", ip="192.0.2.2", key="key-a")
    assert exc.extra["limited_by"] == "api_key"
    allow(limiter, "upload", 2, ip="192.0.2.3", key="key-b")


def test_groups_are_counted_separately() -> None:
    limiter = RateLimiter(SMALL)
    allow(limiter, "ai", user="u1")
    limited(limiter, "ai", user="u1")
    allow(limiter, "search", 4, user="u1")


def test_shared_ip_limit_is_the_principal_limit_times_the_factor() -> None:
    limiter = RateLimiter(SMALL)
    for n in range(4):  # upload: 2/minute per user, 4/minute per address
        allow(limiter, "upload", ip="192.0.2.9", user=f"user-{n}")
    exc = limited(limiter, "upload", ip="192.0.2.9", user="someone-new")
    assert exc.extra["limited_by"] == "ip"
    assert exc.extra["limit"] == "4 per minute"


def test_a_refused_request_consumes_no_budget() -> None:
    limiter = RateLimiter(SMALL)  # login: 3/minute per address, 2/minute per account
    allow(limiter, "login", 2, ip="192.0.2.1", user="alice@example.com")
    for _ in range(5):
        limited(limiter, "login", ip="192.0.2.1", user="alice@example.com")
    # The address spent 2 of 3, despite five refused attempts from it.
    allow(limiter, "login", ip="192.0.2.1", user="bob@example.com")
    assert limited(limiter, "login", ip="192.0.2.1", user="carol@example.com").extra["limited_by"] == "ip"


def test_waiting_retry_after_lets_the_client_in() -> None:
    limiter = RateLimiter(RateLimitConfig.build(default="2/second"))
    allow(limiter, "default", 2, user="u")
    exc = limited(limiter, "default", user="u")
    assert exc.extra["retry_after"] == 1
    time.sleep(1.05)
    allow(limiter, "default", user="u")


def test_retry_after_names_the_longest_wait_when_several_limits_are_over() -> None:
    config = RateLimitConfig.build(login_per_ip="1/hour", login_per_user="1/minute")
    limiter = RateLimiter(config)
    allow(limiter, "login", ip="192.0.2.1", user="alice@example.com")
    exc = limited(limiter, "login", ip="192.0.2.1", user="alice@example.com")
    assert exc.extra["limited_by"] == "ip"
    assert 3500 < exc.extra["retry_after"] <= 3600


def test_disabled_config_never_refuses() -> None:
    limiter = RateLimiter(RateLimitConfig.build(ai="1/minute", enabled=False))
    allow(limiter, "ai", 10, user="u")


def test_unknown_group_and_bad_limit_string_are_errors() -> None:
    with pytest.raises(ValueError, match="unknown rate limit group"):
        RateLimiter(SMALL).check("uploads", ip="1.2.3.4", user_id=None, api_key_id=None)
    with pytest.raises(ValueError):
        RateLimiter(RateLimitConfig.build(search="lots per minute"))
    with pytest.raises(ValueError, match="lacks groups"):
        RateLimiter(RateLimitConfig(groups={}))


@pytest.mark.parametrize(
    ("method", "path", "group"),
    [
        ("POST", "/api/v1/auth/login", "login"),
        ("POST", "/login", "login"),
        ("POST", "/login/", "login"),
        ("GET", "/login", "default"),
        ("POST", "/api/v1/matters/m1/documents", "upload"),
        ("post", "/api/v1/matters/m1/documents/", "upload"),
        ("GET", "/api/v1/matters/m1/documents", "default"),
        ("POST", "/matters/m1/upload", "upload"),
        ("GET", "/api/v1/matters/m1/search", "search"),
        ("GET", "/matters/m1/search", "search"),
        ("POST", "/api/v1/matters/m1/search", "default"),
        ("POST", "/api/v1/matters/m1/ask", "ai"),
        ("GET", "/api/v1/documents/d1/ask", "ai"),
        ("GET", "/api/v1/documents/d1", "default"),
        ("DELETE", "/api/v1/documents/d1", "default"),
        ("GET", "/", "default"),
        ("POST", "/matters", "default"),
    ],
)
def test_group_for(method: str, path: str, group: str) -> None:
    assert group_for(method, path) == group


def test_dependency_counts_the_principal_and_client_address() -> None:
    app = FastAPI()
    app.state.rate_limiter = RateLimiter(SMALL)

    def principal() -> Principal:
        return Principal(organization_id="org", kind="user", user_id="alice")

    def rate_limit(request: Request, who: Principal = Depends(principal)) -> None:
        enforce_rate_limit(request, who)

    @app.exception_handler(RateLimited)
    async def _limited(_request: Request, exc: RateLimited) -> JSONResponse:
        headers = {"Retry-After": str(exc.extra["retry_after"])}
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=headers)

    @app.get("/api/v1/matters/{matter_id}/search", dependencies=[Depends(rate_limit)])
    def search(matter_id: str) -> dict[str, str]:
        return {"matter": matter_id}

    with TestClient(app) as client:
        for _ in range(4):
            assert client.get("/api/v1/matters/m1/search").status_code == 200
        refused = client.get("/api/v1/matters/m2/search")
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) > 0
    assert "search" in refused.json()["detail"]


# ---- Redis backend -------------------------------------------------------------------------------


@pytest.fixture
def redis_url() -> str:
    if not REDIS_URL:
        pytest.skip("LEGALAI_TEST_REDIS_URL is not set")
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        pytest.fail(f"Redis at LEGALAI_TEST_REDIS_URL is unreachable: {exc}", pytrace=False)
    return REDIS_URL


@pytest.fixture
def namespace(redis_url: str) -> Iterator[str]:
    name = f"test-{uuid.uuid4().hex[:10]}"
    yield name
    RateLimiter(SMALL, redis_url=redis_url, namespace=name).reset()


def test_redis_counters_are_shared_between_processes(redis_url: str, namespace: str) -> None:
    first = RateLimiter(SMALL, redis_url=redis_url, namespace=namespace, redis_timeout=5)
    second = RateLimiter(SMALL, redis_url=redis_url, namespace=namespace, redis_timeout=5)
    assert first.backend == "redis"
    allow(first, "login", ip="192.0.2.1", user="alice@example.com")
    allow(second, "login", ip="192.0.2.2", user="alice@example.com")
    exc = limited(first, "login", ip="192.0.2.3", user="alice@example.com")
    assert exc.extra["limited_by"] == "user"
    assert 1 <= exc.extra["retry_after"] <= 60
    # A different namespace (another deployment or test) has its own counters.
    other = RateLimiter(SMALL, redis_url=redis_url, namespace=namespace + "-other", redis_timeout=5)
    try:
        allow(other, "login", ip="192.0.2.3", user="alice@example.com")
    finally:
        other.reset()


def test_redis_keys_are_prefixed_and_hold_no_clear_identifiers(redis_url: str, namespace: str) -> None:
    limiter = RateLimiter(SMALL, redis_url=redis_url, namespace=namespace, redis_timeout=5)
    allow(limiter, "login", ip="203.0.113.7", user="alice@example.com")
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    keys = [str(k) for k in client.keys(f"legalai:rl:{namespace}:*")]
    assert len(keys) == 2
    assert not any("alice" in k or "203.0.113.7" in k for k in keys)
    limiter.reset()
    assert client.keys(f"legalai:rl:{namespace}:*") == []


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


def test_unreachable_redis_fails_open_and_warns_once() -> None:
    limiter = RateLimiter(
        RateLimitConfig.build(ai="1/minute"),
        redis_url=f"redis://127.0.0.1:{_closed_port()}/0",
        redis_timeout=0.2,
        unavailable_cooldown=30,
    )
    started = time.monotonic()
    with structlog.testing.capture_logs() as logs:
        allow(limiter, "ai", 20, user="u", key="k")
    assert time.monotonic() - started < 2
    warnings = [e for e in logs if e["event"] == "ratelimit.storage_unavailable"]
    assert len(warnings) == 1
    assert warnings[0]["log_level"] == "warning"


def test_limiting_resumes_when_redis_comes_back(redis_url: str, namespace: str) -> None:
    limiter = RateLimiter(
        RateLimitConfig.build(ai="1/minute"),
        redis_url=redis_url,
        namespace=namespace,
        unavailable_cooldown=0.1,
        redis_timeout=5,  # a loaded CI machine must not look like a Redis outage here
    )
    limiter._down_until = time.monotonic() + 60  # as if a Redis error had just happened
    allow(limiter, "ai", 3, user="u")  # skipped while down: not counted
    limiter._down_until = time.monotonic() - 1  # the cool-down is over (no sleeping: CI may be slow)
    # An app built earlier in this process may have configured logging at WARNING; this event is INFO.
    structlog.reset_defaults()
    with structlog.testing.capture_logs() as logs:
        allow(limiter, "ai", user="u")
    # Only this limiter's events: other threads of the test process may log meanwhile.
    assert [e["event"] for e in logs if str(e["event"]).startswith("ratelimit.")] == [
        "ratelimit.storage_recovered"
    ]
    limited(limiter, "ai", user="u")


# ---- offices behind one address --------------------------------------------------------------------


def test_peek_refuses_without_counting_and_count_spends_without_refusing() -> None:
    limiter = RateLimiter(SMALL)  # login: 3/minute per address
    for _ in range(10):
        limiter.peek("login", ip="192.0.2.50")  # checking costs nothing
    for _ in range(5):
        limiter.count("login", ip="192.0.2.50")  # spending never raises, even when over
    with pytest.raises(RateLimited) as caught:
        limiter.peek("login", ip="192.0.2.50")
    assert caught.value.extra["limited_by"] == "ip"
    limiter.peek("login", ip="192.0.2.51")


def test_an_office_signing_in_behind_one_address_is_not_throttled_but_failures_are(
    tmp_path: Any, database_url: str
) -> None:
    """Sign-in counts every attempt per account and only failed ones per address."""
    from legalai.app import create_app
    from tests.conftest import create_identity, make_settings

    settings = make_settings(
        tmp_path, database_url, rate_limit_login_per_ip="5/minute", rate_limit_login_per_user="5/minute"
    )
    with TestClient(create_app(settings)) as client:
        people = [
            create_identity(client, email=f"person{n}@firm.example", role="attorney") for n in range(12)
        ]
        for person in people:  # 12 colleagues from one address: more than 5 per minute
            signed_in = client.post(
                "/api/v1/auth/login", json={"email": person.email, "password": person.password}
            )
            assert signed_in.status_code == 200, signed_in.text
            client.cookies.clear()
        for n in range(5):  # wrong passwords on five different accounts: the address's budget
            wrong = client.post(
                "/api/v1/auth/login", json={"email": people[n].email, "password": "not the password"}
            )
            assert wrong.status_code == 401
        refused = client.post(
            "/api/v1/auth/login", json={"email": people[6].email, "password": people[6].password}
        )
        assert refused.status_code == 429
        assert refused.json()["limited_by"] == "ip"
        assert int(refused.headers["retry-after"]) >= 1


def test_the_default_per_address_limit_fits_an_office_of_a_hundred() -> None:
    config = RateLimitConfig.build()
    limiter = RateLimiter(config)
    for person in range(100):  # 100 people, each searching at half their personal limit (60/min)
        for _ in range(60):
            limiter.check("search", ip="198.51.100.7", user_id=f"person-{person}", api_key_id=None)
    assert parse(config.groups["search"].per_ip or "").amount == 120 * 50
