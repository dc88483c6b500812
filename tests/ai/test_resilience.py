"""Retry timing and the circuit breaker's states, in memory and in Redis, with a fake clock."""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from legalai.ai.errors import CircuitOpen, ContextLengthExceeded, ProviderError
from legalai.ai.resilience import (
    BreakerConfig,
    CircuitBreaker,
    MemoryBreakerBackend,
    RedisBreakerBackend,
    RetryPolicy,
    parse_retry_after,
    retry_call,
)
from tests.ai.conftest import FakeClock

CONFIG = BreakerConfig(failures=3, window=10.0, cooldown=30.0, probe_ttl=60.0)


def test_parse_retry_after() -> None:
    now = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after(" 1.5 ") == 1.5
    assert parse_retry_after("-4") == 0.0
    assert (
        parse_retry_after(format_datetime(now + timedelta(seconds=90), usegmt=True), now.timestamp()) == 90.0
    )
    assert (
        parse_retry_after(format_datetime(now - timedelta(seconds=90), usegmt=True), now.timestamp()) == 0.0
    )
    assert (
        parse_retry_after("soon") is None
        and parse_retry_after(None) is None
        and parse_retry_after("") is None
    )


def test_backoff_is_exponential_with_full_jitter_and_caps() -> None:
    policy = RetryPolicy(max_attempts=5, backoff_base=1.0, backoff_max=5.0, retry_after_max=10.0)
    rng = random.Random(1)
    for attempt, ceiling in ((1, 1.0), (2, 2.0), (3, 4.0), (4, 5.0), (8, 5.0)):
        delays = [policy.delay(attempt, None, rng) for _ in range(200)]
        assert all(0.0 <= d <= ceiling for d in delays)
        assert max(delays) > ceiling * 0.8 and min(delays) < ceiling * 0.2  # spread over the range
    assert policy.delay(1, 3.0, rng) == 3.0  # Retry-After replaces the jitter
    assert policy.delay(1, 600.0, rng) == 10.0  # capped


def test_retry_loop_retries_only_retryable_errors() -> None:
    policy = RetryPolicy(max_attempts=3, backoff_base=0.0, backoff_max=0.0)
    slept: list[float] = []
    calls: list[int] = []

    def failing(exc: Exception) -> object:
        def call(attempt: int) -> object:
            calls.append(attempt)
            raise exc

        return call

    with pytest.raises(ProviderError):
        retry_call(
            failing(ProviderError("x", retryable=True, status=500)),
            policy,
            sleep=slept.append,
            rng=random.Random(),
        )
    assert calls == [1, 2, 3] and len(slept) == 2
    calls.clear()
    with pytest.raises(ProviderError):
        retry_call(
            failing(ProviderError("x", retryable=False, status=400)),
            policy,
            sleep=slept.append,
            rng=random.Random(),
        )
    assert calls == [1]
    calls.clear()
    with pytest.raises(ContextLengthExceeded):
        retry_call(
            failing(ContextLengthExceeded("too long")), policy, sleep=slept.append, rng=random.Random()
        )
    assert calls == [1]
    outcomes = iter([ProviderError("x", retryable=True, retry_after=2.5), None])

    def flaky(attempt: int) -> str:
        exc = next(outcomes)
        if exc is not None:
            raise exc
        return f"ok after {attempt}"

    slept.clear()
    assert retry_call(flaky, policy, sleep=slept.append, rng=random.Random()) == "ok after 2"
    assert slept == [2.5]


@pytest.fixture(params=["memory", "redis"])
def breakers(
    request: pytest.FixtureRequest, clock: FakeClock
) -> Iterator[tuple[CircuitBreaker, CircuitBreaker]]:
    """Two breakers that must agree: one shared backend in memory, or two clients of one Redis."""
    if request.param == "memory":
        backend = MemoryBreakerBackend(CONFIG)
        yield CircuitBreaker(backend, clock=clock), CircuitBreaker(backend, clock=clock)
        return
    url: str = request.getfixturevalue("redis_url")
    namespace: str = request.getfixturevalue("redis_namespace")
    clients = [redis.Redis.from_url(url), redis.Redis.from_url(url)]
    yield tuple(CircuitBreaker(RedisBreakerBackend(c, namespace, CONFIG), clock=clock) for c in clients)  # type: ignore[misc]
    for c in clients:
        c.close()


def test_breaker_opens_half_opens_and_closes(
    breakers: tuple[CircuitBreaker, CircuitBreaker], clock: FakeClock
) -> None:
    a, b = breakers
    for _ in range(2):
        a.record_failure(a.acquire("p", "m"))
    assert a.state("p", "m") == b.state("p", "m") == "closed"
    assert b.record_failure(b.acquire("p", "m")) is True  # third failure within the window opens it
    assert a.state("p", "m") == b.state("p", "m") == "open"
    with pytest.raises(CircuitOpen) as info:
        a.acquire("p", "m")
    assert "resting" in str(info.value) and info.value.retry_at == clock.now + 30.0
    with pytest.raises(CircuitOpen):
        b.acquire("p", "m")
    assert a.state("p", "other-model") == "closed"  # per (provider, model)
    a.acquire("p", "other-model")

    clock.advance(30.0)
    assert a.state("p", "m") == "half_open"
    probe = b.acquire("p", "m")  # exactly one probe, whichever replica asks first
    assert probe.probe
    with pytest.raises(CircuitOpen):
        a.acquire("p", "m")
    with pytest.raises(CircuitOpen):
        b.acquire("p", "m")
    b.record_failure(probe)  # the probe failed: open again for a full cool-down
    assert a.state("p", "m") == "open"
    clock.advance(29.0)
    with pytest.raises(CircuitOpen):
        a.acquire("p", "m")
    clock.advance(1.0)
    probe = a.acquire("p", "m")
    assert probe.probe
    a.record_success(probe)
    assert a.state("p", "m") == b.state("p", "m") == "closed"
    assert not b.acquire("p", "m").probe


def test_failures_outside_the_window_do_not_add_up(
    breakers: tuple[CircuitBreaker, CircuitBreaker], clock: FakeClock
) -> None:
    a, b = breakers
    for _ in range(5):
        a.record_failure(a.acquire("p", "m"))
        clock.advance(6.0)  # never three within 10 s
    assert b.state("p", "m") == "closed"
    a.record_failure(a.acquire("p", "m"))
    b.record_failure(b.acquire("p", "m"))
    assert a.state("p", "m") == "open"


def test_half_open_admits_exactly_one_probe_under_concurrency(
    breakers: tuple[CircuitBreaker, CircuitBreaker], clock: FakeClock
) -> None:
    a, b = breakers
    for _ in range(3):
        a.record_failure(a.acquire("p", "m"))
    clock.advance(31.0)
    results: list[bool] = []
    lock = threading.Lock()
    start = threading.Barrier(16)

    def contend(breaker: CircuitBreaker) -> None:
        start.wait()
        try:
            permit = breaker.acquire("p", "m")
        except CircuitOpen:
            return
        with lock:
            results.append(permit.probe)

    threads = [threading.Thread(target=contend, args=(a if i % 2 else b,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [True]


def test_an_unreachable_breaker_store_lets_calls_through(clock: FakeClock) -> None:
    dead = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2, retry=Retry(NoBackoff(), 0))
    breaker = CircuitBreaker(RedisBreakerBackend(dead, "x", CONFIG), clock=clock)
    permit = breaker.acquire("p", "m")
    assert not permit.probe
    assert breaker.record_failure(permit) is False
