"""Scans go through OCR in the pipeline; the request id follows a document into its job's logs."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import structlog
from fastapi.testclient import TestClient
from fpdf import FPDF
from PIL import Image, ImageDraw, ImageFont

from tests.conftest import authorize, upload

Wait = Callable[..., list[dict[str, Any]]]


def _scan(text: str) -> bytes:
    image = Image.new("RGB", (1400, 300), "white")
    ImageDraw.Draw(image).text((40, 100), text, fill="black", font=ImageFont.load_default(size=56))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def test_image_and_image_only_pdf_are_ocrd(client: TestClient, matter_id: str, wait_ready: Wait) -> None:
    png = _scan("ARBITRATION CLAUSE SEVEN")
    pdf = FPDF()
    pdf.add_page()
    pdf.image(io.BytesIO(_scan("INDEMNITY SCHEDULE NINE")), x=10, y=10, w=190)
    body = upload(client, matter_id, ("scan.png", png), ("scan.pdf", bytes(pdf.output())))
    assert [i["kind"] for i in body["accepted"]] == ["image", "pdf"]
    docs = wait_ready(client, [i["document_id"] for i in body["accepted"]], timeout=120)
    assert [d["status"] for d in docs] == ["ready", "ready"], docs
    for doc, word in zip(docs, ("ARBITRATION", "INDEMNITY"), strict=True):
        [page] = client.get(f"/api/v1/documents/{doc['id']}/pages").json()
        assert page["ocr"] is True
        assert word in page["text"].upper()
    hits = client.get(f"/api/v1/matters/{matter_id}/search", params={"q": "indemnity"}).json()["hits"]
    assert [h["filename"] for h in hits] == ["scan.pdf"]


def test_request_id_follows_the_document_into_its_job(tmp_path, database_url: str, wait_ready: Wait) -> None:
    from legalai.app import create_app
    from tests.conftest import make_settings

    with (
        TestClient(create_app(make_settings(tmp_path, database_url, log_level="INFO"))) as client,
        structlog.testing.capture_logs(processors=[structlog.contextvars.merge_contextvars]) as logs,
    ):
        authorize(client)
        matter_id = client.post("/api/v1/matters", json={"name": "Logs"}).json()["id"]
        res = client.post(
            f"/api/v1/matters/{matter_id}/documents",
            files=[("files", ("r.txt", b"Request id tracing document.", "text/plain"))],
            headers={"X-Request-ID": "trace-me-42"},
        )
        assert res.status_code == 202
        wait_ready(client, [res.json()["accepted"][0]["document_id"]])
    job_events = [e for e in logs if e.get("event") == "job.ready"]
    assert job_events and job_events[0].get("request_id") == "trace-me-42", logs


def test_sentry_is_initialised_only_with_a_dsn() -> None:
    import sentry_sdk

    from legalai.app import init_sentry
    from legalai.settings import Settings

    init_sentry(Settings())
    assert not sentry_sdk.get_client().is_active()
    init_sentry(Settings(sentry_dsn="http://public@127.0.0.1:9/1"))
    try:
        assert sentry_sdk.get_client().is_active()
    finally:
        sentry_sdk.init(dsn=None)
