"""Retries and circuit breakers for provider calls.

*Retries*: exactly one loop (SDK-internal retries are off). Exponential backoff with full jitter,
``uniform(0, min(max, base * 2**(n-1)))``; a ``Retry-After`` from the provider (seconds or an HTTP
date) replaces the jittered delay, capped by ``retry_after_max``. Only retryable failures are
retried (timeouts, connection errors, 408, 429, 5xx: :attr:`ProviderError.retryable`); other
4xx and context-length errors are raised at once.

*Circuit breaker*, one per (provider, model): it opens after ``failures`` retryable failures
within ``window`` seconds and refuses calls for ``cooldown`` seconds; then it is half-open and lets
exactly one probe through (an atomic lock: Redis ``SET NX PX``, or a mutex in memory). The probe's
success closes it; its failure opens it again. Answers that show the provider is up (success, a
400) count as success. With Redis the state is shared by every replica (keys under the
configured namespace); without it, it lives in this process. The clock is injected for tests.
"""

from __future__ import annotations

import email.utils
import random
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, Protocol, TypeVar

from legalai.ai.errors import AIError, CircuitOpen, ProviderError
from legalai.observability.logging import get_logger

log = get_logger(__name__)
T = TypeVar("T")
Clock = Callable[[], float]
Sleep = Callable[[float], None]
State = Literal["closed", "open", "half_open"]


# ---- Retry-After ----------------------------------------------------------------------------------


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds or an HTTP date (never negative)."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    current = datetime.now(UTC).timestamp() if now is None else now
    return max(0.0, when.timestamp() - current)


# ---- retries ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 3
    backoff_base: float = 0.5
    backoff_max: float = 20.0
    retry_after_max: float = 60.0

    def delay(self, attempt: int, retry_after: float | None, rng: random.Random) -> float:
        """How long to wait after failed attempt number ``attempt`` (1-based)."""
        if retry_after is not None:
            return min(max(0.0, retry_after), self.retry_after_max)
        ceiling = min(self.backoff_max, self.backoff_base * (2 ** (attempt - 1)))
        return rng.uniform(0.0, ceiling)


def retry_call(
    call: Callable[[int], T],
    policy: RetryPolicy,
    *,
    sleep: Sleep,
    rng: random.Random,
    on_retry: Callable[[int, AIError, float], None] | None = None,
) -> T:
    """Run ``call(attempt)`` until it succeeds, fails for good, or attempts run out.

    ``call`` raises :class:`AIError`; only a :class:`ProviderError` with ``retryable`` is retried.
    """
    attempt = 1
    while True:
        try:
            return call(attempt)
        except ProviderError as exc:
            if not exc.retryable or attempt >= policy.max_attempts:
                raise
            wait = policy.delay(attempt, exc.retry_after, rng)
            if on_retry is not None:
                on_retry(attempt, exc, wait)
            sleep(wait)
            attempt += 1


# ---- circuit breaker ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Permit:
    """Leave to make one call; ``probe`` when it is the half-open breaker's single trial."""

    key: str
    probe: bool = False
    token: str = ""


class BreakerBackend(Protocol):
    def acquire(self, key: str, now: float, token: str) -> tuple[str, float | None]:
        """("closed" | "probe" | "open", reopen time): "probe" means this caller holds the lock."""
        ...

    def failure(self, key: str, now: float, permit: Permit) -> bool:
        """Count a failure; True if the breaker is (now) open."""
        ...

    def success(self, key: str, permit: Permit) -> None: ...

    def state(self, key: str, now: float) -> State: ...

    def reset(self, key: str) -> None: ...


@dataclass(frozen=True)
class BreakerConfig:
    failures: int = 5
    window: float = 60.0
    cooldown: float = 30.0
    # How long a probe may hold the half-open lock before another may try (a crashed probe).
    probe_ttl: float = 120.0


@dataclass
class _MemoryState:
    failures: deque[float] = field(default_factory=deque)
    open_until: float | None = None
    probe_token: str | None = None
    probe_until: float = 0.0


class MemoryBreakerBackend:
    """Breaker state in this process, guarded by one lock."""

    def __init__(self, config: BreakerConfig) -> None:
        self.config = config
        self._states: dict[str, _MemoryState] = {}
        self._lock = threading.Lock()

    def _state(self, key: str) -> _MemoryState:
        return self._states.setdefault(key, _MemoryState())

    def acquire(self, key: str, now: float, token: str) -> tuple[str, float | None]:
        with self._lock:
            s = self._state(key)
            if s.open_until is None:
                return "closed", None
            if now < s.open_until:
                return "open", s.open_until
            if s.probe_token is None or now >= s.probe_until:
                s.probe_token = token
                s.probe_until = now + self.config.probe_ttl
                return "probe", None
            return "open", s.probe_until

    def failure(self, key: str, now: float, permit: Permit) -> bool:
        c = self.config
        with self._lock:
            s = self._state(key)
            if permit.probe:
                if s.probe_token == permit.token:
                    s.probe_token = None
                s.open_until = now + c.cooldown
                s.failures.clear()
                return True
            if s.open_until is not None:
                return True  # already open (or half-open): this call started before it opened
            s.failures.append(now)
            while s.failures and s.failures[0] <= now - c.window:
                s.failures.popleft()
            if len(s.failures) >= c.failures:
                s.open_until = now + c.cooldown
                s.failures.clear()
                return True
            return False

    def success(self, key: str, permit: Permit) -> None:
        with self._lock:
            s = self._state(key)
            if permit.probe and s.probe_token == permit.token:
                s.probe_token = None
                s.open_until = None
                s.failures.clear()

    def state(self, key: str, now: float) -> State:
        with self._lock:
            s = self._state(key)
            if s.open_until is None:
                return "closed"
            return "open" if now < s.open_until else "half_open"

    def reset(self, key: str) -> None:
        with self._lock:
            self._states.pop(key, None)


# Lua keeps each transition atomic across replicas. KEYS: failures (zset), open_until, probe.
_FAILURE_LUA = """
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local threshold = tonumber(ARGV[3])
local cooldown = tonumber(ARGV[4])
local member = ARGV[5]
local ttl_ms = tonumber(ARGV[6])
local probe = ARGV[7]
local token = ARGV[8]
if probe == '1' then
  if redis.call('GET', KEYS[3]) == token then redis.call('DEL', KEYS[3]) end
  redis.call('SET', KEYS[2], tostring(now + cooldown), 'PX', ttl_ms)
  redis.call('DEL', KEYS[1])
  return 1
end
if redis.call('EXISTS', KEYS[2]) == 1 then return 1 end
redis.call('ZADD', KEYS[1], now, member)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
redis.call('PEXPIRE', KEYS[1], ttl_ms)
if redis.call('ZCARD', KEYS[1]) >= threshold then
  redis.call('SET', KEYS[2], tostring(now + cooldown), 'PX', ttl_ms)
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
"""
_SUCCESS_LUA = """
if redis.call('GET', KEYS[3]) == ARGV[1] then
  redis.call('DEL', KEYS[3])
  redis.call('DEL', KEYS[2])
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
"""


class RedisBreakerBackend:
    """Breaker state in Redis, shared by every replica: ``{ns}:ai:breaker:{key}:{failures|open|probe}``.

    The opening time is stored as a value of the injected clock (so replicas agree on it as long as
    their clocks do); key expiry only cleans up breakers nobody uses any more.
    """

    def __init__(self, client: Any, namespace: str, config: BreakerConfig) -> None:
        self.client = client
        self.prefix = f"{namespace}:ai:breaker:"
        self.config = config
        self._failure = client.register_script(_FAILURE_LUA)
        self._success = client.register_script(_SUCCESS_LUA)
        self._ttl_ms = int((config.window + config.cooldown + 86_400) * 1000)

    def _keys(self, key: str) -> list[str]:
        base = self.prefix + key
        return [f"{base}:failures", f"{base}:open", f"{base}:probe"]

    def acquire(self, key: str, now: float, token: str) -> tuple[str, float | None]:
        _failures, open_key, probe_key = self._keys(key)
        raw = self.client.get(open_key)
        if raw is None:
            return "closed", None
        open_until = float(raw)
        if now < open_until:
            return "open", open_until
        # Half-open: exactly one caller across all replicas wins the probe lock.
        if self.client.set(probe_key, token, nx=True, px=int(self.config.probe_ttl * 1000)):
            return "probe", None
        return "open", None

    def failure(self, key: str, now: float, permit: Permit) -> bool:
        member = f"{now:.6f}:{uuid.uuid4().hex[:8]}"
        args = [now, self.config.window, self.config.failures, self.config.cooldown, member, self._ttl_ms]
        args += ["1" if permit.probe else "0", permit.token]
        return bool(self._failure(keys=self._keys(key), args=args))

    def success(self, key: str, permit: Permit) -> None:
        if permit.probe:
            self._success(keys=self._keys(key), args=[permit.token])

    def state(self, key: str, now: float) -> State:
        raw = self.client.get(self._keys(key)[1])
        if raw is None:
            return "closed"
        return "open" if now < float(raw) else "half_open"

    def reset(self, key: str) -> None:
        self.client.delete(*self._keys(key))


class CircuitBreaker:
    """Per-(provider, model) breakers over a backend. A backend that fails (Redis down) lets calls
    through: an unreachable breaker store must not take the AI features down with it."""

    def __init__(self, backend: BreakerBackend, *, clock: Clock = time.time) -> None:
        self.backend = backend
        self.clock = clock

    @staticmethod
    def key(provider: str, model: str) -> str:
        return f"{provider}:{model}"

    def acquire(self, provider: str, model: str) -> Permit:
        key = self.key(provider, model)
        token = uuid.uuid4().hex
        try:
            verdict, until = self.backend.acquire(key, self.clock(), token)
        except Exception as exc:  # noqa: BLE001 - fail open, loudly
            log.warning("ai.breaker_unavailable", provider=provider, model=model, error=type(exc).__name__)
            return Permit(key)
        if verdict == "open":
            when = f" for about {max(1, round(until - self.clock()))} s" if until else ""
            raise CircuitOpen(
                f"{provider} ({model}) failed repeatedly and is resting{when} before it is tried again",
                retry_at=until,
                retry_after=max(1.0, until - self.clock()) if until else None,
                provider=provider,
                model=model,
            )
        return Permit(key, probe=verdict == "probe", token=token)

    def record_success(self, permit: Permit) -> None:
        try:
            self.backend.success(permit.key, permit)
        except Exception as exc:  # noqa: BLE001
            log.warning("ai.breaker_unavailable", key=permit.key, error=type(exc).__name__)

    def record_failure(self, permit: Permit) -> bool:
        try:
            opened = self.backend.failure(permit.key, self.clock(), permit)
        except Exception as exc:  # noqa: BLE001
            log.warning("ai.breaker_unavailable", key=permit.key, error=type(exc).__name__)
            return False
        if opened:
            log.warning("ai.breaker_open", key=permit.key, probe=permit.probe)
        return opened

    def state(self, provider: str, model: str) -> State:
        return self.backend.state(self.key(provider, model), self.clock())

    def reset(self, provider: str, model: str) -> None:
        self.backend.reset(self.key(provider, model))
