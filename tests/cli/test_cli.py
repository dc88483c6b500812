"""The command line on a real database: ingest a folder, wait, search, as a script would."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.fixtures.docs import CONTRACT, make_pdf, make_zip
from typer.testing import CliRunner

from legalai.cli import app


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
