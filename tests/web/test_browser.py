"""The web UI in real headless Chromium against a real `legalai serve` process.

A newcomer's path: create a matter, upload files with the progress bar, watch the table turn
`ready` without reloading, open a document, search with highlights. Fails on any console error.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fixtures.docs import CONTRACT, make_pdf

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("browser")]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed (make test installs it)", pytrace=False)
        pytest.skip("chromium is not installed")
    port = _free_port()
    env = {**os.environ, "LEGALAI_DATA_DIR": str(tmp_path / "data"), "LEGALAI_ENVIRONMENT": "local"}
    env.pop("LEGALAI_DATABASE_URL", None)
    log = (tmp_path / "server.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "legalai.cli", "serve", "--port", str(port)], env=env, stdout=log, stderr=log
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=1):
                    break
            except OSError:
                assert proc.poll() is None, (tmp_path / "server.log").read_text()
                assert time.monotonic() < deadline, "server did not start"
                time.sleep(0.2)
        yield url, tmp_path / "server.log"
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def _setup_link(log: Path) -> str:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        match = re.search(r"http://\S+/setup\?token=\S+", log.read_text(errors="replace"))
        if match:
            return match.group(0)
        time.sleep(0.2)
    raise AssertionError("the server printed no set-up link:\n" + log.read_text(errors="replace"))


def test_first_run_then_create_upload_watch_read_and_search(server: tuple[str, Path], tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    url, log = server

    (tmp_path / "msa.pdf").write_bytes(make_pdf([CONTRACT, "Schedule A. Fees are due within 30 days."]))
    (tmp_path / "memo.txt").write_text("Internal memo: the indemnification cap is < USD 2m & > USD 1m.")
    errors: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
            ],
        )
        page = browser.new_page()
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))

        # A newcomer: unauthenticated pages lead to sign-in; the printed one-time link creates the owner.
        page.goto(url)
        expect(page.locator("h1")).to_contain_text("Sign in")
        page.goto(_setup_link(log))
        page.fill("#organization", "Smith & Partners")
        page.fill("#email", "owner@example.com")
        page.fill("#password", "correct horse battery staple")
        page.click("form[action='/setup'] button[type=submit]")
        expect(page.locator(".nav-user")).to_contain_text("owner@example.com")

        page.fill("#name", "Acme v. Widgets")
        page.click("form[action='/matters'] button[type=submit]")
        expect(page.locator("h1")).to_contain_text("Acme v. Widgets")

        page.set_input_files("#files", [str(tmp_path / "msa.pdf"), str(tmp_path / "memo.txt")])
        page.click("#upload-form button[type=submit]")
        expect(page.locator("#upload-results")).to_contain_text("msa.pdf", timeout=30_000)
        # The table refreshes itself (HTMX polling) until both documents are ready.
        expect(page.locator("table tbody tr", has_text="ready")).to_have_count(2, timeout=60_000)

        page.click("text=msa.pdf")
        expect(page.locator("#page-2")).to_contain_text("Schedule A")
        # The analysis panel: key terms with links to the page each rests on.
        analysis = page.locator("#analysis")
        expect(analysis).to_contain_text("Governing law")
        expect(analysis).to_contain_text("Delaware")
        expect(analysis).to_contain_text("Acme Corp.")
        link = analysis.locator("a.span-link").first
        expect(link).to_have_attribute("href", re.compile(r"^#page-\d+$"))
        page.screenshot(path=str(tmp_path / "document.png"), full_page=True)

        page.goto(page.url.split("/documents/")[0] + "/")
        page.click("text=Acme v. Widgets")
        page.fill("#matter-search", "indemnif*")
        page.press("#matter-search", "Enter")
        marks = page.locator("mark")
        expect(marks.first).to_be_visible()
        assert "indemnif" in marks.first.inner_text().lower()
        # Document text is shown as text, never as markup.
        expect(page.locator("body")).to_contain_text("cap is < USD 2m & > USD 1m")
        page.screenshot(path=str(tmp_path / "search.png"))

        # Asking the matter (a POST with the session's CSRF token): an extracted, verified answer.
        matter_url = page.url.split("/search")[0]
        page.goto(matter_url)
        page.click("text=Ask a question")
        page.fill("#question", "Which law governs the agreement?")
        page.click("form[action$='/ask'] button[type=submit]")
        expect(page.locator("[data-answer-mode]")).to_contain_text("not generated")
        expect(page.locator(".answer-statements")).to_contain_text("Delaware")
        expect(page.locator(".answer-statements a").first).to_have_attribute(
            "href", re.compile(r"^/documents/\w+#page-\d+$")
        )
        expect(page.locator("body")).to_contain_text("statements verified")
        page.screenshot(path=str(tmp_path / "ask.png"), full_page=True)

        # Signing out ends the session: the matter is no longer reachable without signing in.
        page.click("text=Sign out")
        expect(page.locator("h1")).to_contain_text("Sign in")
        page.goto(matter_url)
        expect(page.locator("h1")).to_contain_text("Sign in")
        page.fill("#email", "owner@example.com")
        page.fill("#password", "correct horse battery staple")
        page.click("form[action='/login'] button[type=submit]")
        expect(page.locator("h1")).to_contain_text("Acme v. Widgets")
        browser.close()
    assert errors == []
