"""Request rate limits per route group, counted per client address, per user and per API key.

Each route group ("login", "upload", "search", "ai", "default") has up to three limits, one per
dimension. A request is refused (429 with ``retry_after``) when *any* dimension it carries is over.
Limits are moving windows (``limits.MovingWindowRateLimiter``): exact, with no burst at a window
edge, and the retry time is when the oldest counted request leaves the window.

All dimensions are tested before any is counted, so a refused request costs nothing: a client that
waits ``retry_after`` seconds gets in, and a user locked out by the per-account login limit does not
also drain the budget of the office address it shares. (Under a race, a request admitted by the test
may still be refused by the count; it is then refused like any other.)

Counters live in Redis when a URL is given (shared by every API process), in memory otherwise.
Identifiers are hashed before they become keys, so e-mail addresses and client addresses are not
stored in Redis in clear.

**Redis unreachable = fail open.** A rate limiter protects capacity; it must not take the service
down with it. When Redis errors, the request is allowed, a warning is logged (at most once per
``unavailable_cooldown``), and Redis is not tried again for ``unavailable_cooldown`` seconds, so no
request pays the connect timeout while Redis is down. Brute force on passwords is still bounded by
the account lockout in ``accounts.service.LoginPolicy``, which lives in the database.
"""

from __future__ import annotations

import hashlib
import math
import re
import threading
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from fastapi import Request
from limits import RateLimitItem, parse
from limits.errors import StorageError
from limits.storage import MovingWindowSupport, Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter

from legalai.accounts.principal import Principal
from legalai.kit.errors import DomainError
from legalai.observability.logging import get_logger

log = get_logger(__name__)

GROUPS = ("login", "upload", "search", "ai", "default")
Dimension = Literal["ip", "user", "api_key"]
KEY_PREFIX = "legalai:rl:"

_Counted = tuple[Dimension, RateLimitItem, tuple[str, ...]]
_WHO: dict[Dimension, str] = {"ip": "this address", "user": "this account", "api_key": "this API key"}


class RateLimited(DomainError):
    status_code = 429
    title = "Too many requests"


@dataclass(frozen=True)
class GroupLimits:
    """Limit strings in ``limits`` notation ("10/minute", "1000 per day"); None = not limited."""

    per_ip: str | None = None
    per_user: str | None = None
    per_api_key: str | None = None


# 100 people behind one address, each using half of their own budget at the same moment, pass.
DEFAULT_SHARED_IP_FACTOR = 50


def _default_groups() -> dict[str, GroupLimits]:
    return dict(RateLimitConfig.build().groups)


@dataclass(frozen=True)
class RateLimitConfig:
    groups: Mapping[str, GroupLimits] = field(default_factory=_default_groups)
    enabled: bool = True

    @classmethod
    def build(
        cls,
        *,
        login_per_ip: str = "10/minute",
        login_per_user: str = "5/minute",
        upload: str = "60/minute",
        search: str = "120/minute",
        ai: str = "30/minute",
        default: str = "600/minute",
        shared_ip_factor: int = DEFAULT_SHARED_IP_FACTOR,
        enabled: bool = True,
    ) -> RateLimitConfig:
        """The usual shape: sign-in limited per account (every attempt on the submitted e-mail) and
        per address (failed attempts only, see :meth:`RateLimiter.peek`); other groups per person
        and per API key, and per address at ``shared_ip_factor`` times that, so an office behind one
        NAT address is not throttled by the per-address limit while each person stays within theirs."""
        if shared_ip_factor < 1:
            raise ValueError("shared_ip_factor must be at least 1")

        def principal_group(limit: str) -> GroupLimits:
            return GroupLimits(per_ip=_scaled(limit, shared_ip_factor), per_user=limit, per_api_key=limit)

        return cls(
            groups={
                "login": GroupLimits(per_ip=login_per_ip, per_user=login_per_user),
                "upload": principal_group(upload),
                "search": principal_group(search),
                "ai": principal_group(ai),
                "default": principal_group(default),
            },
            enabled=enabled,
        )


def _scaled(limit: str, factor: int) -> str:
    item = parse(limit)
    return f"{item.amount * factor}/{item.multiples} {item.GRANULARITY.name}"


def describe(item: RateLimitItem) -> str:
    unit = item.GRANULARITY.name
    per = unit if item.multiples == 1 else f"{item.multiples} {unit}s"
    return f"{item.amount} per {per}"


class RateLimiter:
    """Checks requests against a :class:`RateLimitConfig`; see the module docstring for semantics."""

    def __init__(
        self,
        config: RateLimitConfig,
        *,
        redis_url: str | None = None,
        namespace: str = "legalai",
        redis_timeout: float = 0.5,
        unavailable_cooldown: float = 5.0,
    ) -> None:
        missing = [g for g in GROUPS if g not in config.groups]
        if missing:
            raise ValueError(f"rate limit config lacks groups: {', '.join(missing)}")
        self.enabled = config.enabled
        # Parsed once, so a bad limit string fails at start-up, not on the first request.
        self._limits: dict[str, dict[Dimension, RateLimitItem]] = {
            name: _compile(limits) for name, limits in config.groups.items()
        }
        self.backend = "redis" if redis_url else "memory"
        if redis_url:
            self._storage = storage_from_string(
                redis_url,
                key_prefix=f"{KEY_PREFIX}{namespace}",
                wrap_exceptions=True,
                socket_timeout=redis_timeout,
                socket_connect_timeout=redis_timeout,
            )
        else:
            self._storage = LocalMovingWindowStorage()
        self._strategy = MovingWindowRateLimiter(self._storage)
        self._cooldown = unavailable_cooldown
        self._down_until = 0.0
        self._down_lock = threading.Lock()

    def limits_for(self, group: str) -> dict[Dimension, RateLimitItem]:
        try:
            return self._limits[group]
        except KeyError:
            raise ValueError(f"unknown rate limit group {group!r}; expected one of {GROUPS}") from None

    def check(self, group: str, *, ip: str, user_id: str | None, api_key_id: str | None) -> None:
        """Count one request of ``group``, or raise :class:`RateLimited` if any dimension is over.

        For "login", pass the normalized e-mail that was submitted as ``user_id``."""
        self._apply(group, {"ip": ip, "user": user_id, "api_key": api_key_id}, test=True, hit=True)

    def peek(self, group: str, *, ip: str = "", user_id: str | None = None) -> None:
        """Raise :class:`RateLimited` if a dimension is already over, without counting anything.

        With :meth:`count`, this limits only what fails: sign-in checks the address's budget of
        *failed* attempts before trying the password and spends it only when the password was wrong,
        so a hundred colleagues signing in behind one address cost that address nothing."""
        self._apply(group, {"ip": ip, "user": user_id, "api_key": None}, test=True, hit=False)

    def count(self, group: str, *, ip: str = "", user_id: str | None = None) -> None:
        """Spend one unit of each given dimension's budget (never raises for being over)."""
        self._apply(group, {"ip": ip, "user": user_id, "api_key": None}, test=False, hit=True)

    def _apply(self, group: str, values: dict[Dimension, str | None], *, test: bool, hit: bool) -> None:
        limits = self.limits_for(group)
        if not self.enabled:
            return
        applicable: list[_Counted] = [
            (dim, item, _identifiers(group, dim, value))
            for dim, item in limits.items()
            if (value := values[dim])
        ]
        if not applicable or self._unavailable():
            return
        try:
            over = (
                [(dim, item, ids) for dim, item, ids in applicable if not self._strategy.test(item, *ids)]
                if test
                else []
            )
            if not over and hit:
                counted = [(d, i, ids) for d, i, ids in applicable if not self._strategy.hit(i, *ids)]
                over = counted if test else []
            refusal = self._refusal(group, over) if over else None
        except StorageError as exc:
            self._mark_unavailable(exc)
            return
        self._mark_available()
        if refusal is not None:
            raise refusal

    def _refusal(self, group: str, over: list[_Counted]) -> RateLimited:
        now = time.time()
        waits = [
            (max(1, math.ceil(self._strategy.get_window_stats(item, *ids).reset_time - now)), dim, item)
            for dim, item, ids in over
        ]
        retry_after, dim, item = max(waits, key=lambda w: w[0])
        return RateLimited(
            f"Too many {group} requests from {_WHO[dim]}: the limit is {describe(item)}. "
            f"Try again in {retry_after} seconds.",
            retry_after=retry_after,
            limit=describe(item),
            limited_by=dim,
        )

    def reset(self) -> None:
        """Forget every counter in this limiter's namespace (tests; unlocking after an incident).
        On Redis this runs KEYS over the namespace: an operator's tool, not for a request path."""
        self._storage.reset()

    def close(self) -> None:
        client: Any = getattr(self._storage, "storage", None)
        if client is not None and hasattr(client, "close"):
            client.close()

    # ---- fail open --------------------------------------------------------------------------------

    def _unavailable(self) -> bool:
        return self._down_until > time.monotonic()

    def _mark_unavailable(self, exc: StorageError) -> None:
        with self._down_lock:
            if self._down_until > time.monotonic():
                return
            self._down_until = time.monotonic() + self._cooldown
        cause = exc.storage_error
        log.warning(
            "ratelimit.storage_unavailable",
            backend=self.backend,
            error=f"{type(cause).__name__}: {cause}"[:300],
            action=f"allowing requests unlimited; retrying storage in {self._cooldown:g}s",
        )

    def _mark_available(self) -> None:
        if not self._down_until:
            return
        with self._down_lock:
            if not self._down_until:
                return
            self._down_until = 0.0
        log.info("ratelimit.storage_recovered", backend=self.backend)


class LocalMovingWindowStorage(Storage, MovingWindowSupport):
    """In-process moving-window counters for one API process without Redis.

    ``limits``' own memory storage starts a timer thread to expire entries, a new one about every
    request under load (a fifth of a request's CPU in a profile); here expired entries are dropped
    when their key is next used, and idle keys in a sweep every few thousand calls.
    """

    STORAGE_SCHEME = None
    _SWEEP_EVERY = 4096

    def __init__(self) -> None:
        super().__init__(wrap_exceptions=False)
        self._events: dict[str, deque[float]] = {}
        self._expiry: dict[str, int] = {}
        self._lock = threading.Lock()
        self._calls = 0

    @property
    def base_exceptions(self) -> type[Exception] | tuple[type[Exception], ...]:
        return ValueError

    def _live(self, key: str, expiry: int, now: float) -> deque[float]:
        events = self._events.setdefault(key, deque())
        self._expiry[key] = expiry
        while events and events[-1] < now - expiry:  # newest on the left, oldest on the right
            events.pop()
        self._calls += 1
        if self._calls % self._SWEEP_EVERY == 0:
            self._sweep(now)
        return events

    def _sweep(self, now: float) -> None:
        for key in list(self._events):
            events = self._events[key]
            if not events or events[0] < now - self._expiry.get(key, 0):
                del self._events[key]
                self._expiry.pop(key, None)

    def acquire_entry(self, key: str, limit: int, expiry: int, amount: int = 1) -> bool:
        if amount > limit:
            return False
        with self._lock:
            now = time.time()
            events = self._live(key, expiry, now)
            if len(events) + amount > limit:
                return False
            events.extendleft([now] * amount)
            return True

    def get_moving_window(self, key: str, limit: int, expiry: int) -> tuple[float, int]:
        with self._lock:
            now = time.time()
            events = self._live(key, expiry, now)
            return (events[-1], len(events)) if events else (now, 0)

    # Fixed-window operations: unused by the moving-window strategy, kept correct anyway.
    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        with self._lock:
            events = self._live(key, expiry, time.time())
            events.extendleft([time.time()] * amount)
            return len(events)

    def get(self, key: str) -> int:
        with self._lock:
            return len(self._events.get(key, ()))

    def get_expiry(self, key: str) -> float:
        with self._lock:
            events = self._events.get(key)
            return (events[-1] + self._expiry.get(key, 0)) if events else time.time()

    def check(self) -> bool:
        return True

    def reset(self) -> int | None:
        with self._lock:
            count = len(self._events)
            self._events.clear()
            self._expiry.clear()
            return count

    def clear(self, key: str) -> None:
        with self._lock:
            self._events.pop(key, None)
            self._expiry.pop(key, None)


def _compile(limits: GroupLimits) -> dict[Dimension, RateLimitItem]:
    raw: dict[Dimension, str | None] = {
        "ip": limits.per_ip,
        "user": limits.per_user,
        "api_key": limits.per_api_key,
    }
    return {dim: parse(value) for dim, value in raw.items() if value}


def _identifiers(group: str, dim: Dimension, value: str) -> tuple[str, ...]:
    digest = hashlib.sha256(f"{dim}\x00{value}".encode()).hexdigest()[:32]
    return (group, dim, digest)


# ---- which group a route belongs to ------------------------------------------------------------

_LOGIN_PATHS = frozenset({"/api/v1/auth/login", "/login"})
_WEB_UPLOAD = re.compile(r"^/matters/[^/]+/upload$")


def group_for(method: str, path: str) -> str:
    """The rate limit group of a request, from its method and URL path."""
    method = method.upper()
    path = path.rstrip("/") or "/"
    last = path.rsplit("/", 1)[-1]
    if method == "POST" and path in _LOGIN_PATHS:
        return "login"
    if last == "ask":
        return "ai"
    if method == "POST" and (last == "documents" or _WEB_UPLOAD.match(path)):
        return "upload"
    if method in ("GET", "HEAD") and last == "search":
        return "search"
    return "default"


# ---- FastAPI glue --------------------------------------------------------------------------------


def client_ip(request: Request) -> str:
    """The peer address as the ASGI server reports it. Behind a reverse proxy, run uvicorn with
    ``--proxy-headers --forwarded-allow-ips=<proxy>`` so this is the real client; X-Forwarded-For is
    deliberately not read here, because any client can send it."""
    return request.client.host if request.client else "unknown"


def limiter_of(request: Request) -> RateLimiter:
    limiter: RateLimiter | None = getattr(request.app.state, "rate_limiter", None)
    if limiter is None:
        raise RuntimeError("app.state.rate_limiter is not set; create_app() must install a RateLimiter")
    return limiter


def enforce_rate_limit(request: Request, principal: Principal) -> None:
    """Check the current request for an authenticated principal. Wrapped by a dependency in
    ``kit.deps`` (this package does not import it, so ``deps`` may import this one)."""
    limiter_of(request).check(
        group_for(request.method, request.url.path),
        ip=client_ip(request),
        user_id=principal.user_id,
        api_key_id=principal.api_key_id,
    )
