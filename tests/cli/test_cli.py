"""The command line on a real database: ingest a folder, wait, search, as a script would."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from legalai.cli import app
from tests.fixtures.docs import CONTRACT, make_pdf, make_zip


@pytest.fixture
def env(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("LEGALAI_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("LEGALAI_DATABASE_URL", database_url)
    monkeypatch.setenv("LEGALAI_ENVIRONMENT", "test")
    folder = tmp_path / "inbox"
    (folder / "2024").mkdir(parents=True)
    (folder / "msa.pdf").write_bytes(make_pdf([CONTRACT]))
    (folder / "2024" / "letter.txt").write_text("Notice of termination for convenience, effective today.")
    (folder / "bundle.zip").write_bytes(make_zip({"inner/memo.txt": b"Memo on the governing law question."}))
    monkeypatch.setenv("LEGALAI_NEW_PASSWORD", "correct horse battery staple")
    result = CliRunner().invoke(
        app,
        ["admin", "create-user", "--email", "owner@example.com", "--organization", "Firm", "--role", "owner"],
    )
    assert result.exit_code == 0, result.output
    return folder


def test_ingest_folder_then_search(env: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["ingest", str(env), "--matter", "Acme", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert sorted(r["file"] for r in rows) == ["2024/letter.txt", "inner/memo.txt", "msa.pdf"]
    assert all(r["status"] == "ready" for r in rows), rows

    result = runner.invoke(app, ["search", "governing law", "--matter", "Acme", "--json"])
    assert result.exit_code == 0, result.output
    hits = json.loads(result.stdout)
    assert {h["file_name"] for h in hits} == {"msa.pdf", "memo.txt"}
    for hit in hits:
        assert set(hit) >= {"document_id", "file_name", "page", "start", "end", "text", "score"}
        assert hit["end"] - hit["start"] == len(hit["text"])

    result = runner.invoke(
        app, ["search", "governing law", "--matter", "Acme", "--document", "memo.txt", "--json"]
    )
    assert [h["file_name"] for h in json.loads(result.stdout)] == ["memo.txt"]

    result = runner.invoke(app, ["search", "termination", "--matter", "Acme"])
    assert result.exit_code == 0 and "letter.txt" in result.stdout

    # Ingesting the same folder again deduplicates instead of duplicating.
    result = runner.invoke(app, ["ingest", str(env), "--matter", "Acme", "--json"])
    assert all(r["deduplicated"] for r in json.loads(result.stdout))


def test_ingest_reports_bad_files_and_exits_nonzero(env: Path) -> None:
    (env / "broken.pdf").write_bytes(b"%PDF-1.7\n garbage")
    (env / "blank.txt").write_bytes(b"")
    result = CliRunner().invoke(app, ["ingest", str(env), "--matter", "Mixed", "--json"])
    assert result.exit_code == 1
    rows = {r["file"]: r for r in json.loads(result.stdout)}
    assert rows["broken.pdf"]["status"] == "failed" and rows["broken.pdf"]["error"]
    assert rows["blank.txt"]["status"] == "rejected" and "empty" in rows["blank.txt"]["error"]
    assert rows["msa.pdf"]["status"] == "ready"


def test_search_unknown_matter_is_a_clear_error(env: Path) -> None:
    result = CliRunner().invoke(app, ["search", "x", "--matter", "Nope"])
    assert result.exit_code == 2 and "No matter named" in result.output


def test_admin_commands_and_acting_user(env: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["ingest", str(env / "msa.pdf"), "--matter", "Owner matter", "--json"])
    assert result.exit_code == 0, result.output
    # A second person in the same firm: not a member of the owner's matter, so it does not exist for them.
    result = runner.invoke(
        app,
        [
            "admin",
            "create-user",
            "--email",
            "para@example.com",
            "--organization",
            "Firm",
            "--role",
            "paralegal",
        ],
    )
    assert result.exit_code == 0, result.output
    result = runner.invoke(
        app, ["search", "governing", "--matter", "Owner matter", "--user", "para@example.com"]
    )
    assert result.exit_code == 2 and "No matter named" in result.output
    # Two users now, one owner: the owner is still the default actor.
    result = runner.invoke(app, ["search", "governing", "--matter", "Owner matter", "--json"])
    assert result.exit_code == 0 and json.loads(result.stdout)

    result = runner.invoke(
        app, ["admin", "create-api-key", "--user", "owner@example.com", "--scopes", "read"]
    )
    assert result.exit_code == 0, result.output
    key = result.stdout.strip().splitlines()[-1]
    assert key.startswith("lgl_")
    result = runner.invoke(app, ["admin", "setup-link"])
    assert result.exit_code == 2 and "already has users" in result.output
    result = runner.invoke(
        app,
        ["admin", "create-user", "--email", "x@example.com", "--organization", "Firm", "--role", "emperor"],
    )
    assert result.exit_code == 2 and "Unknown role" in result.output


def test_without_users_the_cli_explains_how_to_start(
    tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEGALAI_DATA_DIR", str(tmp_path / "empty"))
    monkeypatch.setenv("LEGALAI_DATABASE_URL", database_url)
    result = CliRunner().invoke(app, ["search", "x", "--matter", "M"])
    assert result.exit_code == 2 and "No users yet" in result.output
    result = CliRunner().invoke(app, ["admin", "setup-link"])
    assert result.exit_code == 0 and "/setup?token=" in result.stdout
