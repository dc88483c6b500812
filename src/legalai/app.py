"""create_app(): settings check, runtime, middleware, routers, problem+json errors, health and metrics."""

from __future__ import annotations

import re
import sys
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import anyio.to_thread
from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from legalai.accounts.service import create_setup_token, has_any_user
from legalai.kit.admission import AdmissionControl
from legalai.kit.db import transaction
from legalai.kit.errors import DomainError
from legalai.kit.probes import run_probes
from legalai.kit.schemas import PROBLEM_RESPONSES
from legalai.kit.unavailable import DEPENDENCY_ERRORS, Unavailable, classify_unavailable
from legalai.observability import metrics
from legalai.observability.logging import bind_contextvars, clear_contextvars, configure_logging, get_logger
from legalai.runtime import Runtime, build_runtime
from legalai.security.headers import SecurityHeaders
from legalai.security.ratelimit import RateLimitConfig, RateLimiter
from legalai.settings import Environment, Settings
from legalai.storage.protocol import BlobCorrupted, StorageError

log = get_logger(__name__)
PROBLEM = "application/problem+json"
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def problem(
    status: int, title: str, detail: str, request: Request | None = None, **extra: Any
) -> JSONResponse:
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    if request is not None:
        body["instance"] = request.url.path
        rid = getattr(request.state, "request_id", None)
        if rid:
            body["request_id"] = rid
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM)


class BodySizeLimit:
    """Refuse request bodies over the limit while they stream in, not after they are on disk.

    Multipart bodies (uploads) may be up to ``max_bytes``; every other body (JSON, forms) only up
    to ``max_other_bytes``, so a huge JSON document is refused before it is parsed in memory.
    """

    def __init__(self, app: ASGIApp, max_bytes: int, max_other_bytes: int | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.max_other_bytes = max_bytes if max_other_bytes is None else max_other_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        multipart = headers.get(b"content-type", b"").lower().startswith(b"multipart/form-data")
        limit = self.max_bytes if multipart else self.max_other_bytes
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await self._reject(scope, receive, send, limit)
            return
        seen = 0
        started = refused = False

        async def counted() -> Message:
            nonlocal seen, refused
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    # Answer now and tell the application the client is gone: raising here would
                    # surface inside its body parsing as a 400 or 500 instead of a 413.
                    if not started and not refused:
                        refused = True
                        await self._reject(scope, receive, send, limit)
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if refused:
                return  # the 413 has been sent; drop whatever the application answers
            started = True
            await send(message)

        await self.app(scope, counted, guarded_send)

    async def _reject(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        response = problem(413, "Payload too large", f"The request body exceeds {limit} bytes")
        await response(scope, receive, send)


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> JSONResponse:
        response = problem(exc.status_code, exc.title, exc.detail, request, **exc.extra)
        if exc.status_code == 401:
            response.headers["WWW-Authenticate"] = 'Bearer realm="legalai"'
        if "retry_after" in exc.extra:
            response.headers["Retry-After"] = str(int(exc.extra["retry_after"]))
        return response

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {
                "loc": [str(p) for p in e.get("loc", ())],
                "msg": str(e.get("msg", "")),
                "type": str(e.get("type", "")),
            }
            for e in exc.errors()
        ]
        detail = "; ".join(f"{'.'.join(e['loc'])}: {e['msg']}" for e in errors) or "Invalid request"
        return problem(422, "Invalid input", detail, request, errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        titles = {404: "Not found", 405: "Method not allowed"}
        return problem(exc.status_code, titles.get(exc.status_code, "Error"), str(exc.detail), request)

    @app.exception_handler(DataError)
    async def _data(request: Request, exc: DataError) -> JSONResponse:
        # The database refused a value taken from the request (PostgreSQL: a NUL character, a number
        # out of range): the input is at fault, not the server.
        log.warning("request.invalid_data", error=type(exc.orig).__name__)
        detail = "The request contains a value that cannot be stored or looked up (such as a NUL character)"
        return problem(422, "Invalid input", detail, request)

    @app.exception_handler(StorageError)
    async def _storage(request: Request, exc: StorageError) -> JSONResponse:
        if isinstance(exc, BlobCorrupted):
            log.error("storage.integrity_failure", error=str(exc))
            return problem(
                500,
                "Integrity check failed",
                "The stored original does not match its checksum and was not served.",
                request,
            )
        return unavailable_response(request, Unavailable("storage", "unreachable", 5), exc)

    async def _dependency(request: Request, exc: Exception) -> JSONResponse:
        found = classify_unavailable(exc)
        if found is None:
            log.exception("request.unhandled_error", error=type(exc).__name__)
            return problem(
                500, "Internal error", "An unexpected error occurred; it has been logged.", request
            )
        return unavailable_response(request, found, exc)

    for error_class in DEPENDENCY_ERRORS:
        app.add_exception_handler(error_class, _dependency)  # type: ignore[arg-type]

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        found = classify_unavailable(exc)
        if found is not None:
            return unavailable_response(request, found, exc)
        log.exception("request.unhandled_error", error=type(exc).__name__)
        return problem(500, "Internal error", "An unexpected error occurred; it has been logged.", request)


_UNAVAILABLE_TEXT = {
    ("database", "busy"): "The database is busy; try again shortly.",
    ("database", "unreachable"): "The database cannot be reached; try again shortly.",
    ("storage", "unreachable"): "Document storage cannot be reached; try again shortly.",
    ("redis", "unreachable"): "The queue and cache server (Redis) cannot be reached; try again shortly.",
}


def unavailable_response(request: Request, found: Unavailable, exc: BaseException) -> JSONResponse:
    """503 with Retry-After for a dependency that is down or saturated: the client may retry, the
    operator sees which dependency (log, metric, and /ready)."""
    metrics.DEPENDENCY_UNAVAILABLE.labels(found.dependency, found.reason).inc()
    log.warning(
        "request.dependency_unavailable",
        dependency=found.dependency,
        reason=found.reason,
        error=f"{type(exc).__name__}: {exc}"[:300],
    )
    title = "Service busy" if found.reason == "busy" else "Service unavailable"
    detail = _UNAVAILABLE_TEXT.get((found.dependency, found.reason), "A dependency is unavailable.")
    response = problem(
        503, title, detail, request, dependency=found.dependency, retry_after=found.retry_after
    )
    response.headers["Retry-After"] = str(found.retry_after)
    return response


class RequestObserver:
    """Request id, structured access log and latency metric for every request (pure ASGI: the
    per-request cost of ``BaseHTTPMiddleware``, a task and a memory stream per request, showed
    in profiles under load)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = ""
        for name, value in scope.get("headers") or ():
            if name == b"x-request-id":
                incoming = value.decode("latin-1")
                break
        rid = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = rid
        clear_contextvars()
        bind_contextvars(request_id=rid)
        started = time.perf_counter()
        status = 500
        header = (b"x-request-id", rid.encode("latin-1"))

        async def observed_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                message = {**message, "headers": [*message.get("headers", ()), header]}
            await send(message)

        try:
            await self.app(scope, receive, observed_send)
        finally:
            shed = scope.get("state", {}).get("shed", False)
            template = "shed" if shed else route_template(Request(scope))
            elapsed = time.perf_counter() - started
            method = str(scope.get("method", ""))
            metrics.REQUEST_LATENCY.labels(method, template, str(status)).observe(elapsed)
            if template not in ("/health", "/metrics"):
                log.info(
                    "http.request", method=method, route=template, status=status, ms=round(elapsed * 1000, 1)
                )


def route_template(request: Request) -> str:
    """The route's path template with its router prefixes ("/api/v1/documents/{document_id}"), so
    metrics are labelled by route, not by id. Routers keep their routes' own paths relative to their
    prefix, so the prefix is recovered from the part of the URL the route did not match."""
    route = request.scope.get("route")
    regex = getattr(route, "path_regex", None)
    relative = getattr(route, "path", None)
    if route is None or regex is None or relative is None:
        return "unmatched"
    path: str = request.scope.get("path", "")
    for i, char in enumerate(path):
        if char == "/" and regex.match(path[i:]):
            return path[:i] + str(relative)
    return str(relative)


def _health_router() -> APIRouter:
    router = APIRouter(tags=["operations"])

    @router.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/ready")
    def ready(request: Request) -> JSONResponse:
        runtime: Runtime = request.app.state.runtime
        # Concurrent, each bounded: a hanging dependency is reported, never makes /ready hang.
        checks = run_probes(
            {
                "database": lambda: _ping_db(runtime),
                "storage": runtime.store.check,
                "broker": lambda: _ping_broker(runtime),
            }
        )
        ok = all(c["status"] == "ok" for c in checks.values())
        return JSONResponse(
            {"status": "ok" if ok else "unavailable", "checks": checks}, status_code=200 if ok else 503
        )

    @router.get("/metrics", include_in_schema=False)
    def metrics_endpoint() -> Response:
        return Response(metrics.render(), media_type="text/plain; version=0.0.4")

    return router


def _ping_db(runtime: Runtime) -> None:
    with runtime.engine.connect() as conn:
        conn.execute(text("SELECT 1"))


def _ping_broker(runtime: Runtime) -> str:
    if not runtime.settings.redis_url:
        return "in-process"
    import redis

    client = redis.Redis.from_url(runtime.settings.redis_url, socket_timeout=2, socket_connect_timeout=2)
    try:
        client.ping()
    finally:
        client.close()
    return "redis"


def init_sentry(settings: Settings) -> None:
    if settings.sentry_dsn is None:
        return
    import sentry_sdk

    sentry_sdk.init(
        dsn=settings.sentry_dsn.get_secret_value(),
        environment=settings.environment.value,
        traces_sample_rate=0.0,
    )


def announce_first_run(runtime: Runtime) -> str | None:
    """On an installation without users, print a one-time link that creates the first owner."""
    settings = runtime.settings
    with transaction(runtime.sessions) as session:
        if has_any_user(session):
            return None
        token = create_setup_token(session, timedelta(hours=settings.setup_link_hours))
    link = f"{settings.base_url}/setup?token={token}"
    if settings.environment is not Environment.test:
        sys.stderr.write(
            "\n  No users yet. Create the first owner (link valid for "
            f"{settings.setup_link_hours} h, once):\n\n    {link}\n\n"
        )
    log.info("app.first_run", setup_link_issued=True)
    return link


def create_app(settings: Settings | None = None, *, runtime: Runtime | None = None) -> FastAPI:
    settings = settings or Settings()
    settings.validate_for_startup()
    configure_logging(settings.log_level, json=settings.log_json)
    init_sentry(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        rt = runtime or build_runtime(settings)
        app.state.runtime = rt
        # Sync endpoints and dependencies run in AnyIO's thread pool: never fewer threads than
        # admitted requests (plus a margin for the dependencies of one request), or admitted
        # requests would queue again, unbounded, for a thread.
        limiter = anyio.to_thread.current_default_thread_limiter()
        limiter.total_tokens = max(limiter.total_tokens, settings.effective_max_concurrent_requests + 8)
        announce_first_run(rt)
        rt.usage.start()
        own_chainer = rt.start_audit_chainer()
        if settings.effective_worker_mode == "inprocess":
            rt.queue.start_worker()
            # Single process: nothing else can be holding a lease, so every unfinished job is ours.
            rt.queue.recover(release_own_leases=True)
            rt.queue.start_sweeper()
        log.info("app.started", environment=settings.environment.value, worker=settings.effective_worker_mode)
        try:
            yield
        finally:
            app.state.rate_limiter.close()
            if runtime is None:
                rt.close()
            else:  # a runtime owned by the caller: stop only what this app started
                rt.usage.stop()
                if own_chainer:
                    rt.stop_audit_chainer()

    app = FastAPI(
        title="LegalAI",
        version="0.1.0",
        description="Ingest, extract, index and search a matter's legal documents.",
        lifespan=lifespan,
        docs_url="/api/docs",
        openapi_url="/api/v1/openapi.json",
    )
    _install_error_handlers(app)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware, allow_origins=settings.cors_origins, allow_methods=["*"], allow_headers=["*"]
        )
    app.add_middleware(
        BodySizeLimit, max_bytes=settings.max_request_bytes, max_other_bytes=settings.max_json_bytes
    )
    # Load shedding before anything reads the body or takes a thread or a connection.
    app.add_middleware(
        AdmissionControl,
        limit=settings.effective_max_concurrent_requests,
        queue_seconds=settings.request_queue_seconds,
    )
    # Outside the load shedding, so refused requests are logged and counted too.
    app.add_middleware(RequestObserver)
    # Outermost: 413 and 503 refusals and CORS preflights get the headers too.
    app.add_middleware(SecurityHeaders, hsts=settings.environment is Environment.production)
    app.state.rate_limiter = RateLimiter(
        RateLimitConfig.build(
            login_per_ip=settings.rate_limit_login_per_ip,
            login_per_user=settings.rate_limit_login_per_user,
            upload=settings.rate_limit_upload,
            search=settings.rate_limit_search,
            ai=settings.rate_limit_ai,
            default=settings.rate_limit_default,
            shared_ip_factor=settings.rate_limit_shared_ip_factor,
            enabled=settings.rate_limit_enabled,
        ),
        redis_url=settings.redis_url,
        namespace=settings.redis_namespace,
    )

    from legalai.accounts.endpoints import router as accounts_router
    from legalai.ai.endpoints import router as ai_router
    from legalai.analysis.endpoints import router as analysis_router
    from legalai.ask.endpoints import router as ask_router
    from legalai.audit.endpoints import router as audit_router
    from legalai.documents.endpoints import router as documents_router
    from legalai.matters.endpoints import router as matters_router
    from legalai.search.endpoints import router as search_router
    from legalai.web.views import mount_web

    api = APIRouter(prefix="/api/v1", responses=PROBLEM_RESPONSES)
    api.include_router(accounts_router)
    api.include_router(audit_router)
    api.include_router(matters_router)
    api.include_router(documents_router)
    api.include_router(search_router)
    api.include_router(analysis_router)
    api.include_router(ai_router)
    api.include_router(ask_router)
    app.include_router(api)
    app.include_router(_health_router())
    mount_web(app)
    return app
