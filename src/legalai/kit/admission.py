"""Load shedding: a bounded number of requests in flight per process, a bounded wait for the rest.

An overloaded service must answer fast, not hang: every request beyond ``limit`` waits at most
``queue_seconds`` for a slot and is then refused with 503 and ``Retry-After``. The limit sits in
front of everything a request can block on (the thread pool, the database pool, the GIL), so
those never build a queue of their own: the pool checkout, which would otherwise wait, always
finds a connection for an admitted request.

Cheap operational routes (``/health``, ``/metrics``, static files) are never queued, so a
liveness probe stays fast however busy the service is.
"""

from __future__ import annotations

import asyncio
import json
import math

from starlette.types import ASGIApp, Receive, Scope, Send

from legalai.observability import metrics

EXEMPT_PREFIXES = ("/health", "/metrics", "/static/")


class AdmissionControl:
    def __init__(
        self,
        app: ASGIApp,
        *,
        limit: int,
        queue_seconds: float,
        exempt_prefixes: tuple[str, ...] = EXEMPT_PREFIXES,
    ) -> None:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        self.app = app
        self.limit = limit
        self.queue_seconds = queue_seconds
        self.exempt_prefixes = exempt_prefixes
        self._slots: asyncio.Semaphore | None = None
        self._in_flight = 0
        self._waiting = 0

    @property
    def in_flight(self) -> int:
        return self._in_flight

    @property
    def waiting(self) -> int:
        return self._waiting

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or str(scope.get("path", "")).startswith(self.exempt_prefixes):
            await self.app(scope, receive, send)
            return
        if self._slots is None:  # created on the server's event loop, at the first request
            self._slots = asyncio.Semaphore(self.limit)
        if not await self._acquire(self._slots):
            metrics.REQUESTS_SHED.inc()
            scope.setdefault("state", {})["shed"] = True  # the access log labels it "shed"
            await self._refuse(send)
            return
        self._in_flight += 1
        metrics.REQUESTS_IN_FLIGHT.inc()
        try:
            await self.app(scope, receive, send)
        finally:
            self._in_flight -= 1
            metrics.REQUESTS_IN_FLIGHT.dec()
            self._slots.release()

    async def _acquire(self, slots: asyncio.Semaphore) -> bool:
        if not slots.locked():
            await slots.acquire()  # a free slot: returns at once
            return True
        if self.queue_seconds <= 0:
            return False
        self._waiting += 1
        try:
            await asyncio.wait_for(slots.acquire(), timeout=self.queue_seconds)
        except TimeoutError:
            return False
        finally:
            self._waiting -= 1
        return True

    async def _refuse(self, send: Send) -> None:
        retry_after = max(1, math.ceil(self.queue_seconds))
        body = json.dumps(
            {
                "type": "about:blank",
                "title": "Service busy",
                "status": 503,
                "detail": "The service is handling as many requests as it can; try again shortly.",
                "retry_after": retry_after,
            }
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 503,
                "headers": [
                    (b"content-type", b"application/problem+json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"retry-after", str(retry_after).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
