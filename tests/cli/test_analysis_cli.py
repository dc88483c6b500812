"""`legalai analyze` (no server, no database) and `legalai reanalyze` (background jobs with progress)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from legalai.cli import app
from tests.analysis.test_pipeline import CONTRACT_PAGE_1, CONTRACT_PAGE_2
from tests.cli.test_cli import env  # noqa: F401 - fixture
from tests.fixtures.docs import make_pdf


def test_analyze_local_files_as_json(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEGALAI_DATA_DIR", str(tmp_path / "data"))
    pdf = tmp_path / "msa.pdf"
    pdf.write_bytes(make_pdf([CONTRACT_PAGE_1, CONTRACT_PAGE_2]))
    text = tmp_path / "msa.txt"
    text.write_text(CONTRACT_PAGE_1 + CONTRACT_PAGE_2, encoding="utf-8")
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.7\n" + b"\x00garbage" * 50)
    result = CliRunner().invoke(app, ["analyze", str(pdf), str(text), str(broken), "--json"])
    assert result.exit_code == 1, result.output  # one file could not be read
    rows = json.loads(result.stdout)
    assert [r["file"] for r in rows] == [str(pdf), str(text), str(broken)]
    for row in rows[:2]:
        assert row["governing_law"]["jurisdiction"] == "New York"
        assert row["dates"]["effective_date"] == "2021-03-03"
        assert row["stats"]["pages"] == (2 if row["file"].endswith(".pdf") else 1)
    assert rows[0]["governing_law"]["span"]["page"] == 2
    assert "error" in rows[2] and rows[2]["error"]
    assert not (tmp_path / "data" / "legalai.db").exists()  # no database was made

    table = CliRunner().invoke(app, ["analyze", str(text)])
    assert table.exit_code == 0 and "New York" in table.stdout


def test_analyze_with_a_bad_playbook_names_the_line(tmp_path: Path) -> None:
    doc = tmp_path / "a.txt"
    doc.write_text(CONTRACT_PAGE_1, encoding="utf-8")
    playbook = tmp_path / "pb.yaml"
    playbook.write_text(
        "id: p\nname: P\nversion: '1'\nrules:\n  - id: r\n    tittle: typo\n", encoding="utf-8"
    )
    result = CliRunner().invoke(app, ["analyze", str(doc), "--playbook", str(playbook)])
    assert result.exit_code == 2
    assert "line 6" in result.output and "tittle" in result.output


def test_reanalyze_a_matter(env: Path) -> None:  # noqa: F811 - the fixture
    runner = CliRunner()
    (env / "msa.txt").write_text(CONTRACT_PAGE_1 + CONTRACT_PAGE_2, encoding="utf-8")
    result = runner.invoke(app, ["ingest", str(env), "--matter", "Acme", "--json"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["reanalyze", "--matter", "Acme"])
    assert result.exit_code == 0, result.output
    assert "0 document(s) queued" in result.output  # everything is up to date after ingest
    result = runner.invoke(app, ["reanalyze", "--matter", "Acme", "--force"])
    assert result.exit_code == 0, result.output
    progress = json.loads(result.stdout.strip().splitlines()[-1])
    assert progress["queued"] == 0 and progress["up_to_date"] == progress["total"] == 4
    result = runner.invoke(app, ["reanalyze", "--matter", "Nope"])
    assert result.exit_code == 2 and "No matter named" in result.output


CUAD = next(
    (
        p
        for p in (
            Path(__file__).resolve().parents[2].parent / "shared" / "data" / "cuad",
            Path("/work/shared/data/cuad"),
        )
        if p.is_dir()
    ),
    Path("/nonexistent"),
)


@pytest.mark.skipif(not CUAD.is_dir(), reason="the shared CUAD data is not here")
def test_eval_contracts_and_clauses_json(tmp_path: Path) -> None:
    import csv
    import sys

    csv.field_size_limit(sys.maxsize)
    with (CUAD / "labels.csv").open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        rows = [next(reader) for _ in range(6)]
        fields = reader.fieldnames or []
    labels = tmp_path / "labels.csv"
    with labels.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    folder = tmp_path / "contracts"
    folder.mkdir()
    for row in rows:
        (folder / row["contract_file"]).write_bytes((CUAD / "contracts" / row["contract_file"]).read_bytes())
    result = CliRunner().invoke(
        app, ["eval", "contracts", "--contracts", str(folder), "--labels", str(labels), "--json"]
    )
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    for key in (
        "governing_law",
        "agreement_date",
        "effective_date",
        "expiration_date",
        "parties_f1",
        "clause_macro_f1",
    ):
        assert 0.0 <= out[key] <= 1.0, key
    assert "Governing Law" in out["per_category_f1"] and "Parties" not in out["per_category_f1"]
    assert out["n"]["contracts"] == 6
    assert "training data" in out["warning"]  # these are the model's own training contracts

    snippets = tmp_path / "snippets.tsv"
    with (CUAD / "clause_snippets.tsv").open(encoding="utf-8") as fh:
        snippets.write_text("".join(line for _, line in zip(range(41), fh, strict=False)), encoding="utf-8")
    result = CliRunner().invoke(app, ["eval", "clauses", "--snippets", str(snippets), "--json"])
    assert result.exit_code == 0, result.output
    scores = json.loads(result.stdout)
    assert scores["n"] == 40 and 0.0 <= scores["mean_accuracy"] <= 1.0 and "warning" in scores

    own = tmp_path / "own.tsv"
    own.write_text(
        "category\tlabel\tcontract_file\ttext\n"
        "Governing Law\tYes\tx.txt\tThis Agreement is governed by the laws of the State of Ohio.\n"
        "Governing Law\tNo\tx.txt\tThe Supplier shall deliver the goods within ten days.\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(app, ["eval", "clauses", "--snippets", str(own), "--json"])
    scores = json.loads(result.stdout)
    assert scores["mean_accuracy"] == 1.0 and "warning" not in scores  # unseen text, no warning
