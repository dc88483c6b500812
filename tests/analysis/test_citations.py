"""Citations with exact spans, short forms resolved to their full citation, and the eval command."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from legalai.analysis.citations import find_citations
from legalai.cli import app

TEXT = (
    "See Roe v. Wade, 410 U.S. 113, 120 (1973). Id. at 125. Under 42 U.S.C. § 1983 and "
    "29 C.F.R. § 1910.1200, as amended by Pub. L. No. 111-148, the claim fails. Roe, 410 U.S. at 130. "
    "Cal. Civ. Code § 1542 is waived."
)


def test_kinds_spans_and_normalized_forms() -> None:
    found = find_citations(TEXT)
    assert [c.kind for c in found] == [
        "case",
        "id",
        "statute",
        "regulation",
        "public_law",
        "short_case",
        "statute",
    ]
    for c in found:
        assert TEXT[c.start : c.end] == c.text
    case = found[0]
    assert (case.normalized, case.pin_cite, case.year) == ("410 U.S. 113", "120", "1973")
    assert case.groups == {"volume": "410", "reporter": "U.S.", "page": "113"}
    assert found[2].normalized == "42 U.S.C. § 1983"
    assert found[6].normalized == "Cal. Civ. Code § 1542"


def test_short_forms_resolve_to_their_full_citation() -> None:
    found = find_citations(TEXT)
    ident, short = found[1], found[5]
    assert ident.is_short_form and ident.refers_to == 0 and ident.normalized == "410 U.S. 113"
    assert short.refers_to == 0 and short.pin_cite == "130"
    assert all(c.refers_to is None for c in found if not c.is_short_form)


def test_text_without_citations() -> None:
    assert find_citations("The Supplier shall deliver 100 units by section 4 of the schedule.") == []


def test_eval_citations_scores_a_cases_file(tmp_path: Path) -> None:
    cases = [
        {"text": "1 U.S. 1", "expected": [{"type": "case", "reporter": "U.S.", "volume": "1", "page": "1"}]},
        {
            "text": "18 U. S. C. § 4241",
            "expected": [{"type": "law", "reporter": "U.S.C.", "groups": {"title": "18", "section": "4241"}}],
        },
        {
            "text": "nothing here",
            "expected": [{"type": "case", "reporter": "F.", "volume": "9", "page": "9"}],
        },
    ]
    path = tmp_path / "cases.json"
    path.write_text(json.dumps(cases))
    result = CliRunner().invoke(app, ["eval", "citations", "--cases", str(path), "--json"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert body["per_type"]["case"] == {"expected": 2, "matched": 1, "recall": 0.5}
    assert body["per_type"]["law"]["matched"] == 1
    assert body["precision"] == 1.0 and round(body["recall"], 3) == 0.667
    assert (
        CliRunner().invoke(app, ["eval", "citations", "--cases", str(tmp_path / "missing.json")]).exit_code
        == 2
    )
