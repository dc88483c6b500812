"""Browser security headers on every HTTP response (pure ASGI, so streaming responses pass through).

The web UI needs nothing but its own origin: scripts and styles are files under /static, htmx runs
with ``allowEval: false`` and ``includeIndicatorStyles: false`` (see ``web/templates/base.html``),
so the policy allows no inline script or style at all.

The one exception is FastAPI's Swagger UI at ``/api/docs``: it loads its bundle and stylesheet from
cdn.jsdelivr.net, starts with an inline ``<script>``, and React sets inline styles. That page (and
anything under it, e.g. the OAuth2 redirect helper) gets :data:`DOCS_CSP`. It renders no document
content, only the OpenAPI schema, so the relaxation does not reach tenant data. To drop it, serve
the Swagger assets from /static and pass ``docs_path=None``.

A header the endpoint already set is never replaced (a download may set its own CSP, say).
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
DOCS_CDN = "https://cdn.jsdelivr.net"
DOCS_CSP = (
    f"default-src 'self'; script-src 'self' 'unsafe-inline' {DOCS_CDN}; "
    f"style-src 'self' 'unsafe-inline' {DOCS_CDN}; img-src 'self' data: https://fastapi.tiangolo.com; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
HSTS = "max-age=63072000; includeSubDomains"

_COMMON: tuple[tuple[str, str], ...] = (
    ("X-Frame-Options", "DENY"),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "same-origin"),
    ("Permissions-Policy", "camera=(), microphone=(), geolocation=()"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
)


def _encode(headers: list[tuple[str, str]]) -> list[tuple[bytes, bytes]]:
    return [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers]


class SecurityHeaders:
    """``SecurityHeaders(app, hsts=True)`` in production (HTTPS only); ``hsts=False`` elsewhere,
    since HSTS sent over a plain-HTTP development host would pin the browser to HTTPS for 2 years."""

    def __init__(self, app: ASGIApp, *, hsts: bool, docs_path: str | None = "/api/docs") -> None:
        self.app = app
        self.docs_path = docs_path.rstrip("/") if docs_path else None
        common = list(_COMMON) + ([("Strict-Transport-Security", HSTS)] if hsts else [])
        self._default = _encode([("Content-Security-Policy", CSP), *common])
        self._docs = _encode([("Content-Security-Policy", DOCS_CSP), *common])

    def _is_docs(self, path: str) -> bool:
        docs = self.docs_path
        return docs is not None and (path == docs or path.startswith(docs + "/"))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = self._docs if self._is_docs(scope.get("path", "")) else self._default

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers.extend((name, value) for name, value in extra if name not in present)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
