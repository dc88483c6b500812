"""The ingestion pipeline through the REST API, on SQLite and PostgreSQL, with the in-process worker."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from tests.conftest import authorize, upload
from tests.fixtures.docs import CONTRACT, make_docx, make_docx_bomb, make_email, make_pdf, make_zip

Wait = Callable[..., list[dict[str, Any]]]


def test_pdf_upload_is_processed_into_pages_and_searchable(
    client: TestClient, matter_id: str, wait_ready: Wait
) -> None:
    pdf = make_pdf([CONTRACT, "Schedule A. Pricing: USD 10,000 per month, payable within 30 days."])
    body = upload(client, matter_id, ("msa.pdf", pdf))
    [item] = body["accepted"]
    assert item["kind"] == "pdf" and item["status"] == "queued" and item["version"] == 1
    [doc] = wait_ready(client, [item["document_id"]])
    assert doc["status"] == "ready", doc
    assert doc["page_count"] == 2
    assert set(doc["timings"]) >= {"extract", "chunk", "index"}

    pages = client.get(f"/api/v1/documents/{doc['id']}/pages").json()
    assert [p["number"] for p in pages] == [1, 2]
    assert "Governing Law" in pages[0]["text"] and "Schedule A" in pages[1]["text"]

    res = client.get(f"/api/v1/matters/{matter_id}/search", params={"q": '"limitation of liability"'})
    assert res.status_code == 200
    hits = res.json()["hits"]
    assert hits and hits[0]["document_id"] == doc["id"] and hits[0]["page"] == 1
    page_text = pages[0]["text"]
    for hit in hits:
        assert page_text[hit["start"] : hit["end"]] == hit["text"]
        for h in hit["highlights"]:
            assert page_text[h["start"] : h["end"]].lower() == "limitation of liability"
        assert page_text[hit["snippet_start"] : hit["snippet_start"] + len(hit["snippet"])] == hit["snippet"]

    wait_ready(client, [doc["id"]], stages=True)
    history = [e["stage"] for e in client.get(f"/api/v1/documents/{doc['id']}/history").json()]
    assert history[:2] == ["claim", "index"]  # searchable; then the follow-up stages, in any order
    assert sorted(history[2:]) == ["analysis", "embedding"]


def test_docx_text_html_and_prefix_search(client: TestClient, matter_id: str, wait_ready: Wait) -> None:
    body = upload(
        client,
        matter_id,
        (
            "nda.docx",
            make_docx(["MUTUAL NON-DISCLOSURE AGREEMENT", "Confidential Information means all data."]),
        ),
        ("notes.txt", b"Call with opposing counsel about the indemnification cap."),
        (
            "memo.html",
            b"<html><body><h1>Memo</h1><p>Arbitration in London.</p><script>x()</script></body></html>",
        ),
    )
    ids = [i["document_id"] for i in body["accepted"]]
    assert [i["kind"] for i in body["accepted"]] == ["docx", "text", "html"]
    docs = wait_ready(client, ids)
    assert [d["status"] for d in docs] == ["ready"] * 3
    hits = client.get(f"/api/v1/matters/{matter_id}/search", params={"q": "indemnif*"}).json()["hits"]
    assert [h["filename"] for h in hits] == ["notes.txt"]
    hits = client.get(
        f"/api/v1/matters/{matter_id}/search", params={"q": "arbitration", "kind": "html"}
    ).json()
    assert [h["filename"] for h in hits["hits"]] == ["memo.html"]
    html_page = client.get(f"/api/v1/documents/{ids[2]}/pages/1").json()
    assert "x()" not in html_page["text"]


def test_identical_content_is_deduplicated_and_changed_content_is_a_new_version(
    client: TestClient, matter_id: str, wait_ready: Wait
) -> None:
    first = upload(client, matter_id, ("a.txt", b"Version one of the lease."))["accepted"][0]
    again = upload(client, matter_id, ("copy.txt", b"Version one of the lease."))["accepted"][0]
    assert again["deduplicated"] is True and again["document_id"] == first["document_id"]
    assert again["additional_name"] is True
    wait_ready(client, [first["document_id"]])
    second = upload(client, matter_id, ("a.txt", b"Version two of the lease, amended."))["accepted"][0]
    assert second["document_id"] == first["document_id"] and second["version"] == 2
    [doc] = wait_ready(client, [first["document_id"]])
    assert doc["version"] == 2
    versions = client.get(f"/api/v1/documents/{doc['id']}/versions").json()
    assert [v["number"] for v in versions] == [2, 1]
    # Search serves only the current version.
    q = client.get(f"/api/v1/matters/{matter_id}/search", params={"q": "lease"}).json()["hits"]
    assert len(q) == 1 and "amended" in q[0]["text"]
    listing = client.get(f"/api/v1/matters/{matter_id}/documents").json()
    assert listing["total"] == 1


def test_names_that_only_collide_once_sanitized_are_different_documents(
    client: TestClient, matter_id: str
) -> None:
    body = upload(
        client,
        matter_id,
        ("../../etc/passwd", b"root:x:0:0 from the first upload"),
        ("/etc/passwd", b"root:x:0:0 from the second upload"),
        ("..", b"a file named dot dot"),
    )
    items = body["accepted"]
    assert [(i["filename"], i["original_name"], i["version"]) for i in items] == [
        ("passwd", "../../etc/passwd", 1),
        ("passwd (2)", "/etc/passwd", 1),
        ("upload", "..", 1),
    ]
    assert len({i["document_id"] for i in items}) == 3
    # An empty file name (a bare multipart part) sanitizes to "upload" too: another document.
    boundary = "b0undary"
    raw = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename=""\r\n'
        f"Content-Type: text/plain\r\n\r\nno name at all\r\n--{boundary}--\r\n"
    )
    res = client.post(
        f"/api/v1/matters/{matter_id}/documents",
        content=raw.encode(),
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    assert res.status_code == 202, res.text
    [unnamed] = res.json()["accepted"]
    assert (unnamed["filename"], unnamed["original_name"], unnamed["version"]) == ("upload (2)", "", 1)

    # The same name as the user gave it is a new version of that document, and only of that one.
    again = upload(client, matter_id, ("/etc/passwd", b"root:x:0:0 changed"))["accepted"][0]
    assert (again["document_id"], again["version"]) == (items[1]["document_id"], 2)
    assert again["filename"] == "passwd (2)"
    doc = client.get(f"/api/v1/documents/{items[0]['document_id']}").json()
    assert (doc["filename"], doc["original_name"], doc["version"]) == ("passwd", "../../etc/passwd", 1)
    res = client.get(f"/api/v1/documents/{items[1]['document_id']}/original")
    assert 'filename="passwd (2)"' in res.headers["content-disposition"]
    assert client.get(f"/api/v1/matters/{matter_id}/documents").json()["total"] == 4
    page = client.get(f"/documents/{items[0]['document_id']}").text
    assert "Uploaded as" in page and "../../etc/passwd" in page

    # A disguise stays visible in the original name, never raw.
    [bidi] = upload(client, matter_id, ("invoice\u202efdp.exe", b"disguised"))["accepted"]
    assert bidi["filename"] == "invoicefdp.exe" and bidi["original_name"] == "invoice<U+202E>fdp.exe"


def test_identical_content_under_a_new_name_records_that_name_without_storing_it_again(
    client: TestClient, matter_id: str, wait_ready: Wait
) -> None:
    content = b"The signed settlement agreement."
    [first] = upload(client, matter_id, ("settlement.txt", content))["accepted"]
    wait_ready(client, [first["document_id"]])
    runtime = client.app.state.runtime  # type: ignore[attr-defined]
    stored: list[str] = []
    put = runtime.store.put
    runtime.store.put = lambda key, *a, **kw: stored.append(key) or put(key, *a, **kw)
    try:
        body = upload(
            client,
            matter_id,
            ("signed.txt", content),
            ("settlement.txt", content),  # its own name: nothing new to record
            ("bundle.zip", make_zip({"final/signed copy.txt": content})),
        )
    finally:
        runtime.store.put = put
    assert stored == [], "identical content is not stored again"
    items = body["accepted"]
    assert {i["document_id"] for i in items} == {first["document_id"]}
    assert all(i["deduplicated"] for i in items)
    assert [i["additional_name"] for i in items] == [True, False, True]
    upload(client, matter_id, ("signed.txt", content))  # recorded once only

    doc = client.get(f"/api/v1/documents/{first['document_id']}").json()
    assert doc["filename"] == "settlement.txt" and doc["version"] == 1
    assert [(n["path"], n["filename"], n["original_name"]) for n in doc["additional_names"]] == [
        ("", "signed.txt", "signed.txt"),
        ("final", "signed copy.txt", "final/signed copy.txt"),
    ]
    versions = client.get(f"/api/v1/documents/{first['document_id']}/versions").json()
    assert len(versions) == 1, "not processed again"
    events = client.get("/api/v1/audit/events", params={"action": "document.upload", "limit": 50}).json()[
        "items"
    ]
    names = sorted(
        (e["details"]["filename"], e["details"].get("deduplicated", False))
        for e in events
        if e["target_id"] == first["document_id"]
    )
    assert names == [("settlement.txt", False), ("signed copy.txt", True), ("signed.txt", True)]
    page = client.get(f"/documents/{first['document_id']}").text
    assert "Also uploaded as" in page and "final/signed copy.txt" in page


def test_zip_upload_keeps_folders_and_rejects_hostile_entries(
    client: TestClient, matter_id: str, wait_ready: Wait
) -> None:
    archive = make_zip(
        {
            "contracts/2024/supply.txt": b"Supply agreement with a termination for convenience clause.",
            "letters/demand.txt": b"Demand letter regarding late payment.",
            "../../etc/evil.txt": b"escape attempt",
            "tools/run.exe": b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + bytes(64),
        }
    )
    body = upload(client, matter_id, ("bundle.zip", archive))
    accepted = {(i["path"], i["filename"]) for i in body["accepted"]}
    assert accepted == {("contracts/2024", "supply.txt"), ("letters", "demand.txt")}
    reasons = {i["filename"]: i["error"] for i in body["rejected"]}
    assert reasons["evil.txt"]["status"] == 422 and "Unsafe path" in reasons["evil.txt"]["detail"]
    assert reasons["run.exe"]["status"] == 415
    wait_ready(client, [i["document_id"] for i in body["accepted"]])
    hits = client.get(
        f"/api/v1/matters/{matter_id}/search", params={"q": "termination", "path": "contracts"}
    ).json()["hits"]
    assert [h["path"] for h in hits] == ["contracts/2024"]
    assert (
        client.get(
            f"/api/v1/matters/{matter_id}/search", params={"q": "termination", "path": "letters"}
        ).json()["hits"]
        == []
    )


def test_rejected_archive_entries_name_the_archive_they_came_from(client: TestClient, matter_id: str) -> None:
    empty = {"notes/readme.txt": b""}
    res = client.post(
        f"/api/v1/matters/{matter_id}/documents",
        files=[
            ("files", ("bundle.zip", make_zip({**empty, "ok.txt": b"Fine."}), "application/zip")),
            ("files", ("other.zip", make_zip(empty), "application/zip")),
            ("files", ("readme.txt", b"", "text/plain")),
        ],
    )
    assert res.status_code == 202, res.text
    body = res.json()
    [ok] = body["accepted"]
    assert (ok["filename"], ok["archive"]) == ("ok.txt", "bundle.zip")
    rejected = {r["archive"]: (r["path"], r["filename"], r["error"]["detail"]) for r in body["rejected"]}
    assert set(rejected) == {"bundle.zip", "other.zip", None}
    assert rejected["bundle.zip"][:2] == rejected["other.zip"][:2] == ("notes", "readme.txt")
    assert rejected["bundle.zip"][2].startswith("In 'bundle.zip': ") and "empty" in rejected["bundle.zip"][2]
    assert rejected["other.zip"][2].startswith("In 'other.zip': ")
    assert rejected[None][:2] == ("", "readme.txt") and "In '" not in rejected[None][2]

    # All rejected: the problem document lists them with their archives too.
    res = client.post(
        f"/api/v1/matters/{matter_id}/documents",
        files=[("files", ("other.zip", make_zip(empty), "application/zip"))],
    )
    assert res.status_code == 422
    [item] = res.json()["rejected"]
    assert item["archive"] == "other.zip" and "In 'other.zip'" in res.json()["detail"]

    # The web upload result says it as well.
    page = client.post(
        f"/matters/{matter_id}/upload",
        files=[("files", ("bundle.zip", make_zip({**empty, "ok.txt": b"Fine."}), "application/zip"))],
    )
    assert page.status_code == 200
    assert 'readme.txt</strong> <span class="muted">in bundle.zip</span>' in page.text
    assert "In &#39;bundle.zip&#39;" in page.text


def test_zip_bomb_and_symlink_entries_are_refused(client: TestClient, matter_id: str) -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("bomb.txt", b"0" * (40 * 1024 * 1024))
        link = zipfile.ZipInfo("link.txt")
        link.external_attr = 0o120777 << 16
        zf.writestr(link, "/etc/passwd")
    body = client.post(
        f"/api/v1/matters/{matter_id}/documents",
        files=[("files", ("b.zip", out.getvalue(), "application/zip"))],
    )
    assert body.status_code == 413, body.text
    rejected = {r["filename"]: r["error"]["detail"] for r in body.json()["rejected"]}
    assert "zip bomb" in rejected["bomb.txt"]
    assert "Symbolic link" in rejected["link.txt"]


def test_docx_bombs_are_refused_at_upload_and_fail_with_a_reason_when_they_come_by_e_mail(
    client: TestClient, matter_id: str, wait_ready: Wait
) -> None:
    bomb = make_docx_bomb(256)  # 256 MB of XML in ~300 KB
    res = client.post(
        f"/api/v1/matters/{matter_id}/documents",
        files=[("files", ("bomb.docx", bomb, "application/octet-stream"))],
    )
    assert res.status_code == 413, res.text
    [item] = res.json()["rejected"]
    assert item["filename"] == "bomb.docx"
    assert "The DOCX expands to more than" in item["error"]["detail"]
    assert "refused as a possible zip bomb" in item["error"]["detail"]

    # Attachments skip the upload checks; the extractor refuses the bomb before parsing it.
    eml = make_email("Report", "See attached.", {"report.docx": bomb})
    [mail] = upload(client, matter_id, ("mail.eml", eml))["accepted"]
    wait_ready(client, [mail["document_id"]])
    listing = client.get(f"/api/v1/matters/{matter_id}/documents").json()["items"]
    child = next(d for d in listing if d["parent_id"] == mail["document_id"])
    [child] = wait_ready(client, [child["id"]])
    assert child["filename"] == "report.docx" and child["status"] == "failed"
    assert child["failure_reason"].startswith("The DOCX expands to more than")
    assert "compression ratio" in child["failure_reason"] and "zip bomb" in child["failure_reason"]


def test_email_attachments_become_child_documents(
    client: TestClient, matter_id: str, wait_ready: Wait
) -> None:
    eml = make_email(
        "Draft settlement",
        "Please find the draft settlement attached.",
        {"settlement.pdf": make_pdf(["SETTLEMENT AGREEMENT. The parties settle all claims."])},
    )
    [item] = upload(client, matter_id, ("thread.eml", eml))["accepted"]
    assert item["kind"] == "email"
    [doc] = wait_ready(client, [item["document_id"]])
    page = client.get(f"/api/v1/documents/{doc['id']}/pages/1").json()["text"]
    assert "Subject: Draft settlement" in page and "alice@example.com" in page
    listing = client.get(f"/api/v1/matters/{matter_id}/documents").json()["items"]
    child = next(d for d in listing if d["parent_id"] == doc["id"])
    assert child["filename"] == "settlement.pdf"
    assert child["original_name"] == "settlement.pdf"  # named by us: the stored name is its name
    [child] = wait_ready(client, [child["id"]])
    assert child["status"] == "ready"
    hits = client.get(f"/api/v1/matters/{matter_id}/search", params={"q": "settlement"}).json()["hits"]
    assert {h["filename"] for h in hits} == {"thread.eml", "settlement.pdf"}


def test_bad_files_fail_alone_with_clear_reasons(
    client: TestClient, matter_id: str, wait_ready: Wait
) -> None:
    broken_pdf = make_pdf(["A real page"])[:200]  # signature intact, body cut off
    res = client.post(
        f"/api/v1/matters/{matter_id}/documents",
        files=[
            ("files", ("broken.pdf", broken_pdf, "application/pdf")),
            ("files", ("good.txt", b"A good document about escrow.", "text/plain")),
            ("files", ("empty.txt", b"", "text/plain")),
            ("files", ("program.bin", b"\x7fELF\x02\x01\x01" + bytes(200), "application/pdf")),
        ],
    )
    assert res.status_code == 202
    body = res.json()
    rejected = {r["filename"]: r["error"]["status"] for r in body["rejected"]}
    assert rejected == {"empty.txt": 422, "program.bin": 415}
    ids = {i["filename"]: i["document_id"] for i in body["accepted"]}
    docs = {d["filename"]: d for d in wait_ready(client, list(ids.values()))}
    assert docs["good.txt"]["status"] == "ready"
    assert docs["broken.pdf"]["status"] == "failed"
    assert docs["broken.pdf"]["failure_reason"]
    assert "Traceback" not in docs["broken.pdf"]["failure_reason"]


def test_single_bad_upload_gets_its_status_code(client: TestClient, matter_id: str) -> None:
    res = client.post(
        f"/api/v1/matters/{matter_id}/documents",
        files=[("files", ("x.exe", b"MZ" + bytes(100), "text/plain"))],
    )
    assert res.status_code == 415
    assert res.headers["content-type"].startswith("application/problem+json")
    assert "PDF" in res.json()["detail"] and "DOCX" in res.json()["detail"]
    res = client.post(
        f"/api/v1/matters/{matter_id}/documents", files=[("files", ("e.txt", b"", "text/plain"))]
    )
    assert res.status_code == 422 and "empty" in res.json()["detail"]


def test_oversized_upload_is_413(tmp_path, database_url: str) -> None:
    from legalai.app import create_app
    from tests.conftest import make_settings

    settings = make_settings(tmp_path, database_url, max_upload_bytes=1000)
    with TestClient(create_app(settings)) as client:
        authorize(client)
        matter = client.post("/api/v1/matters", json={"name": "Big"}).json()["id"]
        res = client.post(
            f"/api/v1/matters/{matter}/documents", files=[("files", ("big.txt", b"a " * 1000, "text/plain"))]
        )
        assert res.status_code == 413 and "limit" in res.json()["detail"]


def test_encrypted_pdf_fails_with_a_reason(client: TestClient, matter_id: str, wait_ready: Wait) -> None:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_encryption(owner_password="owner", user_password="secret")
    pdf.add_page()
    pdf.set_font("Helvetica", size=12)
    pdf.cell(text="Privileged")
    [item] = upload(client, matter_id, ("locked.pdf", bytes(pdf.output())))["accepted"]
    [doc] = wait_ready(client, [item["document_id"]])
    assert doc["status"] == "failed" and "password" in doc["failure_reason"].lower()


def test_download_original_and_content_disposition(
    client: TestClient, matter_id: str, wait_ready: Wait
) -> None:
    data = b"Original bytes of a letter."
    [item] = upload(client, matter_id, ('le"tter\u00e9;\r\nX: y.txt', data))["accepted"]
    res = client.get(f"/api/v1/documents/{item['document_id']}/original")
    assert res.status_code == 200 and res.content == data
    disposition = res.headers["content-disposition"]
    assert "\r" not in disposition and "\n" not in disposition
    assert disposition.startswith("attachment; filename=")
    assert "filename*=UTF-8''" in disposition


def test_bidi_and_invisible_characters_never_reach_stored_names_pages_or_headers(
    client: TestClient, matter_id: str
) -> None:
    disguised = "invoice\u202efdp.exe"  # shown as "invoiceexe.pdf" where bidi is honoured
    hidden = "\u200bcontract\u2066\u200d.txt"
    body = upload(client, matter_id, (disguised, b"Not a PDF at all."), (hidden, b"A contract note."))
    assert [i["filename"] for i in body["accepted"]] == ["invoicefdp.exe", "contract.txt"]
    ids = [i["document_id"] for i in body["accepted"]]
    invisible = ("\u202e", "\u2066", "\u200b", "\u200d")
    listing = client.get(f"/api/v1/matters/{matter_id}/documents").text
    res = client.get(f"/api/v1/documents/{ids[0]}/original")
    disposition = res.headers["content-disposition"]
    assert disposition == "attachment; filename=\"invoicefdp.exe\"; filename*=UTF-8''invoicefdp.exe"
    pages = [client.get(f"/matters/{matter_id}").text, *(client.get(f"/documents/{i}").text for i in ids)]
    for text in (listing, *pages):
        assert not any(ch in text for ch in invisible)
        assert "invoicefdp.exe" in text or "contract.txt" in text


def test_delete_removes_document_pages_and_search_hits(
    client: TestClient, matter_id: str, wait_ready: Wait
) -> None:
    [item] = upload(client, matter_id, ("gone.txt", b"Ephemeral covenant text."))["accepted"]
    wait_ready(client, [item["document_id"]])
    assert client.get(f"/api/v1/matters/{matter_id}/search", params={"q": "covenant"}).json()["hits"]
    assert client.delete(f"/api/v1/documents/{item['document_id']}").status_code == 204
    assert client.get(f"/api/v1/documents/{item['document_id']}").status_code == 404
    assert client.get(f"/api/v1/matters/{matter_id}/search", params={"q": "covenant"}).json()["hits"] == []


def test_unknown_ids_and_invalid_queries_are_problem_json(client: TestClient, matter_id: str) -> None:
    for url in ("/api/v1/documents/nope", "/api/v1/matters/nope", "/api/v1/matters/nope/search?q=x"):
        res = client.get(url)
        assert res.status_code == 404
        assert res.headers["content-type"].startswith("application/problem+json")
        assert res.json()["title"] == "Not found"
    res = client.get(f"/api/v1/matters/{matter_id}/search", params={"q": "!!!"})
    assert res.status_code == 422 and "searchable" in res.json()["detail"]
    res = client.post("/api/v1/matters", json={"name": "Test matter"})
    assert res.status_code == 409
    res = client.post("/api/v1/matters", json={"name": "bad\x00name"})
    assert res.status_code == 422


def test_health_ready_and_metrics(client: TestClient, matter_id: str, wait_ready: Wait) -> None:
    assert client.get("/health").json() == {"status": "ok"}
    ready = client.get("/ready")
    assert ready.status_code == 200
    assert {k: v["status"] for k, v in ready.json()["checks"].items()} == {
        "database": "ok",
        "storage": "ok",
        "broker": "ok",
    }
    [item] = upload(client, matter_id, ("m.txt", b"Metrics document."))["accepted"]
    wait_ready(client, [item["document_id"]])
    text = client.get("/metrics").text
    assert 'method="POST",route="/api/v1/matters/{matter_id}/documents",status="202"' in text
    assert 'legalai_jobs{state="ready"}' in text
    assert "legalai_pages_processed_total" in text
    assert client.get("/health").headers["x-request-id"]


def test_request_id_is_echoed(client: TestClient) -> None:
    res = client.get("/health", headers={"X-Request-ID": "abc-123"})
    assert res.headers["x-request-id"] == "abc-123"
    res = client.get("/health", headers={"X-Request-ID": "bad id\n"})
    assert res.headers["x-request-id"] != "bad id\n"


def test_search_and_listing_filter_by_upload_date(
    client: TestClient, matter_id: str, wait_ready: Wait
) -> None:
    [item] = upload(client, matter_id, ("dated.txt", b"Escrow release conditions."))["accepted"]
    wait_ready(client, [item["document_id"]])
    base = f"/api/v1/matters/{matter_id}"
    hits = client.get(f"{base}/search", params={"q": "escrow", "created_from": "2000-01-01T00:00:00Z"}).json()
    assert len(hits["hits"]) == 1
    hits = client.get(f"{base}/search", params={"q": "escrow", "created_to": "2000-01-01T00:00:00Z"}).json()
    assert hits["hits"] == []
    listing = client.get(f"{base}/documents", params={"created_from": "2999-01-01T00:00:00Z"}).json()
    assert listing["total"] == 0


def test_openapi_documents_every_api_route(client: TestClient) -> None:
    schema = client.get("/api/v1/openapi.json").json()
    paths = set(schema["paths"])
    assert {
        "/api/v1/matters",
        "/api/v1/matters/{matter_id}",
        "/api/v1/matters/{matter_id}/documents",
        "/api/v1/matters/{matter_id}/search",
        "/api/v1/documents/{document_id}",
        "/api/v1/documents/{document_id}/pages",
        "/api/v1/documents/{document_id}/pages/{number}",
        "/api/v1/documents/{document_id}/original",
        "/api/v1/documents/{document_id}/versions",
        "/api/v1/documents/{document_id}/history",
    } <= paths
    assert client.get("/api/docs").status_code == 200
