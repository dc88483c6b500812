"""`legalai ask`: the same verified answers from the command line."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from legalai.cli import app
from tests.ask.corpus import LEASE, SUPPLY
from tests.cli.test_cli import env  # noqa: F401 - fixture


def test_ask_a_matter_from_the_command_line(env: Path) -> None:  # noqa: F811
    (env / "supply.txt").write_text(SUPPLY, encoding="utf-8")
    (env / "lease.txt").write_text(LEASE, encoding="utf-8")
    runner = CliRunner()
    assert runner.invoke(app, ["ingest", str(env), "--matter", "Acme", "--json"]).exit_code == 0
    result = runner.invoke(
        app, ["ask", "Which law governs?", "--matter", "Acme", "--document", "lease.txt", "--json"]
    )
    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)
    assert answer["mode"] == "extracted" and answer["verified_statements"] == answer["total_statements"] >= 1
    assert "England and Wales" in answer["statements"][0]["text"]
    assert {c["filename"] for s in answer["statements"] for c in s["citations"]} == {"lease.txt"}
    table = runner.invoke(app, ["ask", "Can the supply agreement be assigned?", "--matter", "Acme"])
    assert table.exit_code == 0, table.output
    assert (
        "prior written consent" in table.stdout
        and "supply.txt" in table.stdout
        and "verified" in table.stdout
    )
    for bad, message in (
        (["ask", "Law?", "--matter", "Nope"], "No matter named"),
        (["ask", "   ", "--matter", "Acme"], "empty"),
        (["ask", "Law?", "--matter", "Acme", "--document", "missing.pdf"], "missing.pdf"),
        (["ask", "Law?", "--matter", "Acme", "--mode", "generative"], "extractive"),
    ):
        out = runner.invoke(app, bad)
        assert out.exit_code == 2 and message in out.output, (bad, out.output)
