"""Security headers on every response; HSTS only in production; an endpoint's own header wins."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import FastAPI
from fastapi.responses import PlainTextResponse, StreamingResponse
from fastapi.testclient import TestClient

from legalai.security.headers import CSP, DOCS_CSP, SecurityHeaders

EXPECTED = {
    "content-security-policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
    ),
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=()",
    "cross-origin-opener-policy": "same-origin",
}


def make_app(*, hsts: bool) -> FastAPI:
    app = FastAPI(docs_url="/api/docs", openapi_url="/api/v1/openapi.json")

    @app.get("/ping")
    def ping() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/embed")
    def embed() -> PlainTextResponse:
        return PlainTextResponse(
            "framed",
            headers={"X-Frame-Options": "SAMEORIGIN", "Content-Security-Policy": "sandbox"},
        )

    @app.get("/stream")
    def stream() -> StreamingResponse:
        def chunks() -> Iterator[bytes]:
            yield b"a"
            yield b"b"

        return StreamingResponse(chunks(), media_type="text/plain")

    app.add_middleware(SecurityHeaders, hsts=hsts)
    return app


def test_every_header_on_json_error_and_streaming_responses() -> None:
    with TestClient(make_app(hsts=False)) as client:
        responses = [client.get("/ping"), client.get("/missing"), client.get("/stream")]
    assert [r.status_code for r in responses] == [200, 404, 200]
    assert responses[2].text == "ab"
    for response in responses:
        for name, value in EXPECTED.items():
            assert response.headers.get_list(name) == [value], (response.url, name)
        assert "strict-transport-security" not in response.headers


def test_hsts_only_when_enabled() -> None:
    with TestClient(make_app(hsts=True)) as client:
        response = client.get("/ping")
    assert response.headers["strict-transport-security"] == "max-age=63072000; includeSubDomains"
    assert response.headers["content-security-policy"] == CSP


def test_header_set_by_the_endpoint_is_kept() -> None:
    with TestClient(make_app(hsts=False)) as client:
        response = client.get("/embed")
    assert response.headers.get_list("x-frame-options") == ["SAMEORIGIN"]
    assert response.headers.get_list("content-security-policy") == ["sandbox"]
    assert response.headers["x-content-type-options"] == "nosniff"


def test_api_docs_get_a_policy_that_lets_swagger_ui_load() -> None:
    with TestClient(make_app(hsts=False)) as client:
        docs = client.get("/api/docs")
        schema = client.get("/api/v1/openapi.json")
    assert docs.status_code == 200
    policy = docs.headers["content-security-policy"]
    assert policy == DOCS_CSP
    # What the page actually needs: its CDN bundle and its inline start-up script.
    assert 'src="https://cdn.jsdelivr.net/' in docs.text and "<script>" in docs.text
    script_src = next(d for d in policy.split("; ") if d.startswith("script-src"))
    assert "https://cdn.jsdelivr.net" in script_src and "'unsafe-inline'" in script_src
    assert "frame-ancestors 'none'" in policy and docs.headers["x-frame-options"] == "DENY"
    # Only the docs page is relaxed, not the schema or the rest of the API.
    assert schema.headers["content-security-policy"] == CSP
