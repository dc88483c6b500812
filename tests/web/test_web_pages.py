"""The server-rendered web UI, through the fully started app (in-process worker)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from fastapi.testclient import TestClient

from legalai.documents.schemas import DocumentOut
from legalai.search.lexical import Highlight, SearchHit
from legalai.web.presenters import DocumentTable, snippet_segments
from legalai.web.views import TEMPLATES
from tests.conftest import upload

Wait = Callable[..., list[dict[str, Any]]]

# More than 1 KiB of plain prose first, so the content sniffer classifies the file as text,
# not HTML: the markup below must reach the pages as literal text.
PROSE = "This agreement is made between the parties named below. " * 20
SCRIPT = "<script>alert(1)</script>"
BODY = f"{PROSE}\nSection 7. Indemnification {SCRIPT} survives termination.\nSecond line & more."


def _ready_text_doc(client: TestClient, matter_id: str, wait_ready: Wait, name: str = "terms.txt") -> str:
    [item] = upload(client, matter_id, (name, BODY.encode()))["accepted"]
    [doc] = wait_ready(client, [item["document_id"]])
    assert doc["status"] == "ready", doc
    return str(doc["id"])


def _assert_csp_ready(html: str) -> None:
    """No inline scripts or event handlers: the pages work under script-src 'self'."""
    scripts = re.findall(r"<script\b[^>]*>", html)
    assert scripts and all(" src=" in tag for tag in scripts)
    assert not re.search(r"<[^>]+\son[a-z]+\s*=", html)


def test_home_lists_matters_with_counts(client: TestClient) -> None:
    res = client.post("/api/v1/matters", json={"name": "Smith & Jones <LLP>"})
    assert res.status_code == 201
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "Smith &amp; Jones &lt;LLP&gt;" in page.text
    assert f'href="/matters/{res.json()["id"]}"' in page.text
    _assert_csp_ready(page.text)


def test_create_matter_form_redirects_and_reports_errors(client: TestClient) -> None:
    res = client.post(
        "/matters", data={"name": "Acme v. Widgets", "description": "Supply dispute"}, follow_redirects=False
    )
    assert res.status_code == 303
    location = res.headers["location"]
    assert re.fullmatch(r"/matters/[0-9a-f]{32}", location)
    page = client.get(location)
    assert page.status_code == 200 and "Acme v. Widgets" in page.text and "Supply dispute" in page.text

    duplicate = client.post("/matters", data={"name": "acme v. widgets"})
    assert duplicate.status_code == 409
    assert "already exists" in duplicate.text and 'aria-invalid="true"' in duplicate.text
    assert 'value="acme v. widgets"' in duplicate.text  # the form keeps what was typed

    blank = client.post("/matters", data={"name": "   "})
    assert blank.status_code == 422 and 'class="field-error"' in blank.text


def test_uploaded_document_appears_and_becomes_ready(
    client: TestClient, matter_id: str, wait_ready: Wait
) -> None:
    doc_id = _ready_text_doc(client, matter_id, wait_ready)

    page = client.get(f"/matters/{matter_id}")
    assert page.status_code == 200
    assert f'href="/documents/{doc_id}"' in page.text and "terms.txt" in page.text
    assert f'data-upload-url="/api/v1/matters/{matter_id}/documents"' in page.text
    assert 'type="file" multiple' in page.text
    _assert_csp_ready(page.text)

    fragment = client.get(f"/matters/{matter_id}/documents-table")
    assert fragment.status_code == 200
    assert fragment.text.lstrip().startswith('<section id="documents"')
    assert "terms.txt" in fragment.text and "badge-ready" in fragment.text
    assert "hx-trigger" not in fragment.text  # nothing pending: polling stops


def test_table_polls_only_while_work_is_pending() -> None:
    now = datetime.now(UTC)
    doc = DocumentOut(
        id="d1",
        matter_id="m1",
        parent_id=None,
        filename="a.pdf",
        path="x/y",
        kind="pdf",
        status="processing",
        created_at=now,
        updated_at=now,
    )
    template = TEMPLATES.get_template("_documents_table.html")
    busy = template.render(table=DocumentTable("m1", [doc], 1, 0, 200, {"processing": 1, "ready": 3}))
    assert 'hx-trigger="every 2s"' in busy and 'hx-get="/matters/m1/documents-table?offset=0"' in busy
    idle = template.render(table=DocumentTable("m1", [doc], 1, 0, 200, {"ready": 4, "failed": 1}))
    assert "hx-trigger" not in idle and "hx-get" not in idle


def test_document_page_shows_escaped_text_by_page(
    client: TestClient, matter_id: str, wait_ready: Wait, wait_analyzed: Wait
) -> None:
    doc_id = _ready_text_doc(client, matter_id, wait_ready)
    wait_analyzed(client, [doc_id])  # the page polls until the follow-up stages are done
    page = client.get(f"/documents/{doc_id}")
    assert page.status_code == 200
    html = page.text
    assert 'id="page-1"' in html and "Page 1" in html
    assert "Section 7. Indemnification &lt;script&gt;alert(1)&lt;/script&gt; survives" in html
    assert SCRIPT not in html
    assert "Second line &amp; more." in html
    assert f'href="/api/v1/documents/{doc_id}/original"' in html
    assert "badge-ready" in html and "hx-trigger" not in html
    _assert_csp_ready(html)


def test_search_highlights_terms_and_escapes_text(
    client: TestClient, matter_id: str, wait_ready: Wait
) -> None:
    doc_id = _ready_text_doc(client, matter_id, wait_ready)
    res = client.get(f"/matters/{matter_id}/search", params={"q": "indemnification"})
    assert res.status_code == 200
    html = res.text
    assert "<mark>Indemnification</mark>" in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and SCRIPT not in html
    assert f'href="/documents/{doc_id}#page-1"' in html and "terms.txt" in html

    filtered = client.get(
        f"/matters/{matter_id}/search", params={"q": "indemnification", "document": "terms.txt"}
    )
    assert "<mark>Indemnification</mark>" in filtered.text
    other = client.get(
        f"/matters/{matter_id}/search", params={"q": "indemnification", "document": "other.pdf"}
    )
    assert other.status_code == 200 and "No documents match" in other.text and "<mark>" not in other.text


def test_search_without_or_with_bad_query_is_friendly(client: TestClient, matter_id: str) -> None:
    prompt = client.get(f"/matters/{matter_id}/search")
    assert prompt.status_code == 200 and "Enter one or more words" in prompt.text
    empty = client.get(f"/matters/{matter_id}/search", params={"q": "   "})
    assert empty.status_code == 200 and "The search query is empty" in empty.text
    too_long = client.get(f"/matters/{matter_id}/search", params={"q": "x" * 600})
    assert too_long.status_code == 200 and "longer than" in too_long.text


def test_form_upload_fallback_reports_each_file(client: TestClient, matter_id: str) -> None:
    res = client.post(
        f"/matters/{matter_id}/upload",
        files=[
            ("files", ("note.txt", b"A short note.", "text/plain")),
            ("files", ("empty.txt", b"", "text/plain")),
        ],
    )
    assert res.status_code == 200
    assert "Accepted (1)" in res.text and "note.txt" in res.text
    assert "Rejected (1)" in res.text and "empty.txt" in res.text

    # What a browser sends for an empty <input type=file>: one part with an empty file name.
    boundary = "x-boundary"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename=""\r\n'
        f"Content-Type: application/octet-stream\r\n\r\n\r\n--{boundary}--\r\n"
    )
    nothing = client.post(
        f"/matters/{matter_id}/upload",
        content=body.encode(),
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    assert nothing.status_code == 200 and "No files were uploaded" in nothing.text
    bare = client.post(f"/matters/{matter_id}/upload", files=[("files", ("", b"", "text/plain"))])
    assert bare.status_code == 200 and "No files were uploaded" in bare.text


def test_unknown_ids_render_html_404(client: TestClient, matter_id: str) -> None:
    for path in (
        "/documents/0123456789abcdef0123456789abcdef",
        "/matters/nope",
        "/matters/nope/documents-table",
        "/matters/nope/search?q=x",
    ):
        res = client.get(path)
        assert res.status_code == 404, path
        assert res.headers["content-type"].startswith("text/html")
        assert "Not found" in res.text and "Back to matters" in res.text


def test_static_assets_are_served(client: TestClient) -> None:
    for path in ("/static/app.css", "/static/app.js", "/static/vendor/htmx.min.js"):
        assert client.get(path).status_code == 200, path


def test_snippet_segments_mark_only_highlights() -> None:
    hit = SearchHit(
        document_id="d",
        filename="f",
        path="",
        page=1,
        start=100,
        end=140,
        text="",
        score=1.0,
        snippet="pay <b> the fee now",
        snippet_start=110,
        highlights=[Highlight(118, 121), Highlight(114, 117), Highlight(90, 95)],
    )
    assert snippet_segments(hit) == [
        ("pay ", False),
        ("<b>", True),
        (" ", False),
        ("the", True),
        (" fee now", False),
    ]


def test_ask_page_shows_verified_quotes_escaped_and_linked(
    client: TestClient, matter_id: str, wait_ready: Wait
) -> None:
    doc_id = _ready_text_doc(client, matter_id, wait_ready)
    page = client.get(f"/matters/{matter_id}/ask")
    assert page.status_code == 200 and 'name="question"' in page.text
    _assert_csp_ready(page.text)
    assert f'href="/matters/{matter_id}/ask"' in client.get(f"/matters/{matter_id}").text
    res = client.post(f"/matters/{matter_id}/ask", data={"question": "What survives termination?"})
    assert res.status_code == 200, res.text
    html = res.text
    assert 'data-answer-mode="extracted"' in html and "not generated" in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; survives termination" in html and SCRIPT not in html
    assert f'href="/documents/{doc_id}#page-1"' in html and "statements verified" in html
    empty = client.post(f"/matters/{matter_id}/ask", data={"question": "  "})
    assert empty.status_code == 200 and "The question is empty" in empty.text
