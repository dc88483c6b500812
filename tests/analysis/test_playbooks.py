"""Playbooks: validation errors located in the YAML, the default playbook, and every check."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence

import pytest

from legalai.analysis.playbooks import (
    CUAD_CATEGORIES,
    PLAYBOOK_SCHEMA_VERSION,
    Playbook,
    PlaybookError,
    PlaybookProblem,
    default_playbook,
    default_playbook_source,
    evaluate,
    load_playbook,
    parse_durations,
    playbook_fingerprint,
)
from legalai.analysis.types import (
    ClauseFinding,
    Duration,
    Findings,
    Jurisdiction,
    KeyTerms,
    Money,
    Offsets,
    Party,
    RiskFlag,
    TermInfo,
)

HEADER = 'id: test\nname: Test playbook\nversion: "1"\nrules:\n'


def rule_yaml(check: str, *, rule_id: str = "r1", explanation: str = "Flagged.", extra: str = "") -> str:
    return (
        f"  - id: {rule_id}\n"
        f"    title: A rule\n"
        f"    severity: high\n"
        f"    explanation: {explanation!r}\n"
        f"{extra}"
        f"    check:\n"
        f"      {check}\n"
    )


def playbook(check: str, **kwargs: str) -> Playbook:
    return load_playbook(HEADER + rule_yaml(check, **kwargs))


def problems(source: str | bytes) -> list[PlaybookProblem]:
    with pytest.raises(PlaybookError) as info:
        load_playbook(source, name="test.yaml")
    assert info.value.problems
    return info.value.problems


def find(text: str, needle: str) -> Offsets:
    start = text.index(needle)
    return Offsets(start, start + len(needle))


def findings(
    text: str,
    *,
    clauses: Mapping[str, Sequence[str]] | None = None,
    confidence: float = 0.9,
    document_type: str = "services",
    parties: Sequence[Party] = (),
    governing_law: Jurisdiction | None = None,
    term: TermInfo | None = None,
    money: Sequence[Money] = (),
) -> Findings:
    found = tuple(
        ClauseFinding(category, confidence, tuple(find(text, passage) for passage in passages))
        for category, passages in (clauses or {}).items()
    )
    key_terms = KeyTerms(
        document_type=document_type,
        document_type_confidence=0.9,
        parties=tuple(parties),
        governing_law=governing_law,
        term=term or TermInfo(),
    )
    return Findings(text=text, key_terms=key_terms, clauses=found, money=tuple(money))


def flagged(pb: Playbook, f: Findings) -> list[RiskFlag]:
    flags = evaluate(pb, f)
    for flag in flags:
        for span in flag.spans:
            assert 0 <= span.start < span.end <= len(f.text)
        if flag.absent:
            assert flag.spans == ()
    return flags


def spans_text(flag: RiskFlag, text: str) -> list[str]:
    return [text[s.start : s.end] for s in flag.spans]


# ---- validation ----------------------------------------------------------------------------


def test_invalid_yaml_reports_the_line() -> None:
    source = HEADER + "  - id: a\n    title: [unclosed\n    severity: high\n"
    (problem,) = problems(source)
    assert problem.line == 7
    assert problem.message.startswith("invalid YAML")
    assert "test.yaml:7:" in str(PlaybookError("test.yaml", [problem]))


def test_unknown_field_names_the_field_its_line_and_path() -> None:
    source = (
        HEADER
        + rule_yaml("clause_present: Exclusivity")
        + rule_yaml("clause_present: Exclusivity", rule_id="r2", extra="    severty: low\n")
    )
    (problem,) = problems(source)
    assert problem.path == "rules[1].severty"
    assert problem.line == source.splitlines().index("    severty: low") + 1
    assert problem.column == 5
    assert "unknown field 'severty'" in problem.message
    assert "did you mean 'severity'" in problem.message


def test_unknown_check_is_named_with_a_suggestion() -> None:
    (problem,) = problems(HEADER + rule_yaml("clause_mising: Exclusivity"))
    assert problem.path == "rules[0].check.clause_mising"
    assert (problem.line, problem.column) == (10, 7)
    assert "unknown check 'clause_mising'" in problem.message
    assert "clause_missing" in problem.message


def test_wrong_type_is_located_at_the_value() -> None:
    source = (
        HEADER
        + rule_yaml("clause_present: Exclusivity")
        + rule_yaml("clause_present: Exclusivity", rule_id="r2")
        + rule_yaml("non_compete_longer_than:\n        months: a year", rule_id="r3")
    )
    (problem,) = problems(source)
    assert problem.path == "rules[2].check.non_compete_longer_than.months"
    assert problem.line == len(source.splitlines())
    assert "integer" in problem.message


def test_unknown_cuad_category_suggests_the_closest() -> None:
    (problem,) = problems(HEADER + rule_yaml("clause_missing: Cap of Liability"))
    assert problem.path == "rules[0].check.clause_missing"
    assert (problem.line, problem.column) == (10, 23)
    assert "did you mean 'Cap on Liability'" in problem.message
    # CUAD spells some names with varying case; a case-only difference is normalized.
    pb = playbook("clause_missing: Termination For Convenience")
    assert pb.rules[0].check.clause_missing == "Termination for Convenience"
    (problem,) = problems(HEADER + rule_yaml("clause_present: Non Compete Clause"))
    assert "did you mean 'Non-Compete'" in problem.message


def test_unknown_document_type_and_missing_fields() -> None:
    source = HEADER + rule_yaml("clause_present: Exclusivity", extra="    applies_to: [licence]\n")
    (problem,) = problems(source)
    assert problem.path == "rules[0].applies_to[0]"
    assert "did you mean 'license'" in problem.message
    found = problems("id: test\nrules:\n  - id: a\n    title: T\n")
    messages = {(p.path, p.message) for p in found}
    assert ("name", "missing required field 'name'") in messages
    assert ("rules[0].severity", "missing required field 'severity'") in messages
    assert all(p.line >= 1 for p in found)
    rule_problem = next(p for p in found if p.path == "rules[0].check")
    assert rule_problem.line == 3  # the rule's own mapping


def test_duplicate_rule_ids() -> None:
    source = HEADER + rule_yaml("clause_present: Exclusivity") + rule_yaml("clause_present: Insurance")
    (problem,) = problems(source)
    assert problem.path == "rules[1].id"
    assert problem.line == 11
    assert "duplicate rule id 'r1' (first used on line 5)" in problem.message


def test_duplicate_yaml_keys_are_refused() -> None:
    source = HEADER + rule_yaml("clause_present: Exclusivity", extra="    title: Again\n")
    (problem,) = problems(source)
    assert "duplicate key 'title'" in problem.message
    assert problem.line == 9


def test_bad_and_unsafe_regexes() -> None:
    (problem,) = problems(HEADER + rule_yaml("text_matches: {pattern: '(unclosed'}"))
    assert problem.path == "rules[0].check.text_matches.pattern"
    assert "invalid regular expression" in problem.message
    for pattern in ("(a+)+$", "(?:\\w+\\s?)*x", "(x*){2,}", "([a-z]+)*"):
        (problem,) = problems(HEADER + rule_yaml(f"text_matches: {{pattern: '{pattern}'}}"))
        assert "nested repetition" in problem.message, pattern
    (problem,) = problems(HEADER + rule_yaml("text_matches: {pattern: '" + "a" * 600 + "'}"))
    assert "limit is 500" in problem.message
    (problem,) = problems(HEADER + rule_yaml("text_matches: {pattern: 'x*'}"))
    assert "empty string" in problem.message
    (problem,) = problems(HEADER + rule_yaml("text_matches: {pattern: '(a)\\1'}"))
    assert "backreferences" in problem.message
    # Safe patterns with groups and bounded repetition are accepted.
    for pattern in ("(?i)sole\\s+discretion", "(?:net|gross)\\s+\\d+", "(ab)+c", "[a-z]+(?:-[a-z]+)?"):
        playbook(f"text_matches: {{pattern: '{pattern}'}}")


def test_exactly_one_check() -> None:
    (problem,) = problems(HEADER + rule_yaml("clause_present: Exclusivity\n      clause_missing: Insurance"))
    assert problem.path == "rules[0].check"
    assert "exactly one check" in problem.message
    (problem,) = problems(HEADER + rule_yaml("{}").replace("check:\n      {}", "check: {}"))
    assert "exactly one check" in problem.message


def test_unknown_placeholder_in_explanation() -> None:
    source = HEADER + rule_yaml("auto_renewal_notice_over: {days: 60}", explanation="Notice {notice_dayz}.")
    (problem,) = problems(source)
    assert problem.path == "rules[0].explanation"
    assert "did you mean 'notice_days'" in problem.message
    (problem,) = problems(HEADER + rule_yaml("governing_law_missing: {}", explanation="{rule.__class__}"))
    assert "unknown placeholder" in problem.message
    (problem,) = problems(HEADER + rule_yaml("governing_law_missing: {}", explanation="a } b"))
    assert "placeholder syntax" in problem.message


def test_numbers_where_text_is_expected_get_a_hint() -> None:
    found = problems("id: test\nname: T\nversion: 1.10\nrules: []\n")
    assert found[0].path == "version"
    assert found[0].line == 3
    assert "quote it" in found[0].message


def test_oversized_input_is_refused() -> None:
    (problem,) = problems("# " + "x" * (300 * 1024) + "\n" + HEADER)
    assert "limit is 262144" in problem.message
    (problem,) = problems(b"# " + b"x" * (300 * 1024))
    assert "limit" in problem.message


def test_alias_bomb_is_refused_quickly() -> None:
    lines = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    previous = "a"
    for name in "bcdefghi":
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{previous}"] * 9) + "]")
        previous = name
    started = time.perf_counter()
    found = problems("\n".join(lines) + "\n")
    assert time.perf_counter() - started < 1.0
    assert any("anchors" in p.message for p in found)
    assert any("aliases" in p.message for p in found)
    assert found[0].line == 1


def test_deep_nesting_and_other_hostile_input() -> None:
    (problem,) = problems("[" * 5000 + "]" * 5000)
    assert "nested too deeply" in problem.message
    assert "mapping" in problems("- a\n- b\n")[0].message
    assert "empty" in problems("")[0].message
    assert "single document" in problems("id: a\n---\nid: b\n")[0].message
    found = problems(HEADER.replace("id: test", "id: !!python/object/apply:os.system ['true']"))
    assert any(p.line == 1 and "tag" in p.message for p in found)
    assert "UTF-8" in problems(b"id: \xff\n")[0].message


def test_error_string_lists_every_problem() -> None:
    source = HEADER + rule_yaml("clause_missing: Nope", extra="    severity2: x\n")
    with pytest.raises(PlaybookError) as info:
        load_playbook(source, name="firm.yaml")
    text = str(info.value)
    assert "2 problems" in text
    assert "firm.yaml:9:5: rules[0].severity2" in text
    assert "firm.yaml:11:23: rules[0].check.clause_missing" in text


# ---- the default playbook and fingerprints -------------------------------------------------


def test_default_playbook_loads_with_the_core_rules() -> None:
    pb = default_playbook()
    assert PLAYBOOK_SCHEMA_VERSION == "1"
    assert pb.version
    severities = {rule.id: rule.severity for rule in pb.rules}
    assert severities["liability-uncapped"] == "high"
    assert severities["auto-renewal-long-notice"] == "medium"
    assert severities["governing-law-outside-allowed"] == "medium"
    assert severities["non-compete-over-12-months"] == "high"
    assert severities["termination-for-convenience-one-sided"] == "medium"
    assert severities["indemnity-unlimited"] == "high"
    assert len(pb.rules) >= 10
    for rule in pb.rules:
        if rule.check.clause_present or rule.check.clause_missing:
            assert (rule.check.clause_present or rule.check.clause_missing) in CUAD_CATEGORIES
    assert evaluate(pb, findings("An agreement.", document_type="court_decision")) == []
    assert load_playbook(default_playbook_source()) == pb


def test_default_playbook_on_a_risky_contract() -> None:
    text = (
        'This Services Agreement is between Acme Corp. (the "Company") and Beta LLC ("Supplier"). '
        "This Agreement is governed by the laws of the State of Texas. "
        "Company may terminate this Agreement for convenience upon thirty (30) days' notice. "
        "Supplier shall not compete with Company for a period of two (2) years after termination. "
        "Supplier's indemnification obligations shall not be subject to the limitations of Section 9."
    )
    parties = (Party("Acme Corp.", 35, 45, "Company"), Party("Beta LLC", 63, 71, "Supplier"))
    f = findings(
        text,
        parties=parties,
        governing_law=Jurisdiction("Texas", *_range(text, "Texas")),
        clauses={
            "Termination for Convenience": ["Company may terminate this Agreement for convenience"],
            "Non-Compete": ["Supplier shall not compete with Company for a period of two (2) years"],
            "Governing Law": ["This Agreement is governed by the laws of the State of Texas."],
        },
    )
    flags = {flag.rule: flag for flag in flagged(default_playbook(), f)}
    assert {
        "liability-uncapped",
        "governing-law-outside-allowed",
        "non-compete-over-12-months",
        "termination-for-convenience-one-sided",
        "indemnity-unlimited",
        "anti-assignment-missing",
    } <= set(flags)
    assert "governing-law-missing" not in flags
    assert flags["liability-uncapped"].absent
    assert "Texas" in flags["governing-law-outside-allowed"].explanation
    assert "Company may terminate" in flags["termination-for-convenience-one-sided"].explanation
    assert "{" not in "".join(flag.explanation for flag in flags.values())


def _range(text: str, needle: str) -> tuple[int, int]:
    span = find(text, needle)
    return span.start, span.end


def test_fingerprint_is_stable_and_content_sensitive() -> None:
    block = HEADER + rule_yaml("non_compete_longer_than:\n        months: 12")
    flow = (
        "# same content, other layout\n"
        "{id: test, name: Test playbook, version: '1', rules: [{id: r1, title: A rule, severity: high,"
        " explanation: Flagged., check: {non_compete_longer_than: {months: 12}}}]}\n"
    )
    explicit_defaults = HEADER.replace("rules:", "description: ''\nmin_confidence: 0.5\nrules:") + rule_yaml(
        "non_compete_longer_than: {months: 12}"
    )
    fingerprints = {playbook_fingerprint(load_playbook(s)) for s in (block, flow, explicit_defaults)}
    assert len(fingerprints) == 1
    fingerprint = fingerprints.pop()
    assert fingerprint.startswith("sha256:")
    assert fingerprint != playbook_fingerprint(load_playbook(block.replace("months: 12", "months: 18")))
    assert playbook_fingerprint(default_playbook()) == playbook_fingerprint(default_playbook())


# ---- checks --------------------------------------------------------------------------------


def test_clause_missing() -> None:
    pb = playbook("clause_missing: Anti-Assignment", explanation="No {category} clause.")
    (flag,) = flagged(pb, findings("Nothing about assignment."))
    assert flag == RiskFlag("r1", "high", "A rule", "No Anti-Assignment clause.", (), True)
    text = "Neither party may assign this Agreement."
    assert flagged(pb, findings(text, clauses={"Anti-Assignment": [text]})) == []
    # Below the playbook's confidence threshold a finding counts as absent.
    assert len(flagged(pb, findings(text, clauses={"Anti-Assignment": [text]}, confidence=0.2))) == 1


def test_clause_present() -> None:
    pb = playbook("clause_present: Exclusivity", explanation="{category} in {count} passage(s).")
    text = "Preamble. Distributor shall purchase the Products exclusively from Supplier. End."
    passage = "Distributor shall purchase the Products exclusively from Supplier."
    (flag,) = flagged(pb, findings(text, clauses={"Exclusivity": [passage]}))
    assert spans_text(flag, text) == [passage]
    assert flag.explanation == "Exclusivity in 1 passage(s)."
    assert not flag.absent
    assert flagged(pb, findings(text)) == []


def test_liability_uncapped() -> None:
    pb = playbook("liability_uncapped: {}", explanation="{reason}")
    # Missing cap clause: an absence.
    (flag,) = flagged(pb, findings("No limitation here."))
    assert flag.absent and "No limitation-of-liability clause" in flag.explanation
    # A cap with a fees-paid formula: fine.
    capped = "In no event shall either party's liability exceed the fees paid in the twelve months prior."
    assert flagged(pb, findings(capped, clauses={"Cap on Liability": [capped]})) == []
    redacted = "In no event shall Supplier's aggregate liability exceed [***]."
    assert flagged(pb, findings(redacted, clauses={"Cap on Liability": [redacted]})) == []
    # A cap with an amount found by the money extractor (text without a recognizable formula).
    amount = "Liability is limited to the Cap Amount set out in Schedule 2, being one million."
    money = Money("1000000.00", "USD", "liability_cap", *_range(amount, "one million"))
    assert flagged(pb, findings(amount, clauses={"Cap on Liability": [amount]}, money=[money])) == []
    # ... and without it, the cap clause is flagged: no amount or formula.
    (flag,) = flagged(pb, findings(amount, clauses={"Cap on Liability": [amount]}))
    assert spans_text(flag, amount) == [amount] and "no cap amount" in flag.explanation
    # Uncapped Liability present: flagged with its passages even when a cap exists.
    text = capped + " The foregoing limitation shall not apply to breaches of confidentiality."
    carve_out = "The foregoing limitation shall not apply to breaches of confidentiality."
    f = findings(text, clauses={"Cap on Liability": [capped], "Uncapped Liability": [carve_out]})
    (flag,) = flagged(pb, f)
    assert spans_text(flag, text) == [carve_out]


def test_auto_renewal_notice_over() -> None:
    pb = playbook(
        "auto_renewal_notice_over: {days: 60}",
        explanation="Renews; notice {notice} ({notice_days} > {limit_days} days); renews for {renewal_term}.",
    )
    text = (
        "This Agreement shall automatically renew for successive one (1) year terms unless either party "
        "gives notice of non-renewal at least ninety (90) days before the end of the then-current term."
    )
    notice = Duration(90, "days", 90, "ninety (90) days")
    term = TermInfo(
        automatic_renewal=True,
        renewal_term=Duration(1, "years", 365, "one (1) year"),
        notice_to_terminate_renewal=notice,
        evidence=(Offsets(0, len(text)),),
    )
    (flag,) = flagged(pb, findings(text, term=term))
    assert flag.spans == (Offsets(0, len(text)),)
    assert flag.explanation == "Renews; notice ninety (90) days (90 > 60 days); renews for one (1) year."
    # 30 days' notice, or no automatic renewal: nothing to flag.
    short = TermInfo(automatic_renewal=True, notice_to_terminate_renewal=Duration(30, "days", 30))
    assert flagged(pb, findings(text, term=short)) == []
    manual = TermInfo(automatic_renewal=False, notice_to_terminate_renewal=notice)
    assert flagged(pb, findings(text, term=manual)) == []
    # Key terms silent: the renewal and notice clauses are read instead.
    renewal = "This Agreement shall automatically renew for successive one (1) year terms"
    notice_passage = (
        "gives notice of non-renewal at least ninety (90) days before the end of the then-current term."
    )
    f = findings(
        text,
        clauses={"Renewal Term": [renewal], "Notice Period to Terminate Renewal": [notice_passage]},
    )
    (flag,) = flagged(pb, f)
    assert spans_text(flag, text) == [notice_passage]
    assert "90 > 60" in flag.explanation


def test_governing_law_not_in_and_missing() -> None:
    allowed = playbook(
        "governing_law_not_in: [Delaware, New York, England and Wales]",
        explanation="Governed by {jurisdiction}; allowed: {allowed}.",
    )
    missing = playbook("governing_law_missing: {}", explanation="No governing law.")
    text = "This Agreement is governed by the laws of the State of Texas."
    texas = Jurisdiction("Texas", *_range(text, "Texas"))
    (flag,) = flagged(allowed, findings(text, governing_law=texas))
    assert spans_text(flag, text) == ["Texas"]
    assert flag.explanation == "Governed by Texas; allowed: Delaware, New York, England and Wales."
    assert flagged(missing, findings(text, governing_law=texas)) == []
    for name in ("New York", "new york", "State of Delaware", "England"):
        law = Jurisdiction(name, 0, 4)
        assert flagged(allowed, findings(text, governing_law=law)) == [], name
    # Absent governing law is the other check's business.
    assert flagged(allowed, findings("Nothing.")) == []
    (flag,) = flagged(missing, findings("Nothing."))
    assert flag.absent and flag.spans == ()


def test_non_compete_longer_than() -> None:
    pb = playbook(
        "non_compete_longer_than: {months: 12}",
        explanation="Lasts {duration} ({months} months > {limit_months}).",
    )
    two_years = "Employee shall not compete with the Company for a period of two (2) years after termination."
    (flag,) = flagged(pb, findings(two_years, clauses={"Non-Compete": [two_years]}))
    assert spans_text(flag, two_years) == [two_years]
    assert flag.explanation == "Lasts two (2) years (24 months > 12)."
    thereafter = "Consultant shall not compete during the Term and for 18 months thereafter."
    (flag,) = flagged(pb, findings(thereafter, clauses={"Non-Compete": [thereafter]}))
    assert "18 months" in flag.explanation
    perpetual = "Seller shall not compete in the Territory in perpetuity."
    (flag,) = flagged(pb, findings(perpetual, clauses={"Non-Compete": [perpetual]}))
    assert "without time limit" in flag.explanation
    for fine in (
        "Employee shall not compete for one (1) year following termination.",
        "Employee shall not compete for twelve months, on thirty (30) days' notice.",
        "Employee shall not compete for 6 months.",
    ):
        assert flagged(pb, findings(fine, clauses={"Non-Compete": [fine]})) == [], fine
    assert flagged(pb, findings(two_years)) == []  # no Non-Compete clause found


def test_termination_for_convenience_one_sided() -> None:
    pb = playbook(
        "termination_for_convenience_one_sided: {}",
        explanation="{holder} may terminate for convenience; {other_party} may not.",
    )
    parties = (Party("Acme Corp.", 0, 10, "Company"), Party("Beta Distribution LLC", 0, 10, "Distributor"))
    one_sided = (
        "Either party may terminate this Agreement upon a material breach by the other party. "
        "Company may terminate this Agreement at any time for convenience upon sixty (60) days' notice."
    )
    convenience = (
        "Company may terminate this Agreement at any time for convenience upon sixty (60) days' notice."
    )
    f = findings(one_sided, parties=parties, clauses={"Termination for Convenience": [one_sided]})
    (flag,) = flagged(pb, f)
    assert spans_text(flag, one_sided) == [convenience]
    assert flag.explanation == "Company may terminate for convenience; Distributor may not."
    # Passive voice, and a party named by its full name.
    passive = "This Agreement may be terminated by Beta Distribution LLC without cause on notice."
    f = findings(passive, parties=parties, clauses={"Termination for Convenience": [passive]})
    (flag,) = flagged(pb, f)
    assert flag.explanation.startswith("Distributor may terminate")
    # Mutual rights: nothing to flag.
    for mutual in (
        "Either party may terminate this Agreement for convenience on ninety (90) days' notice.",
        "Company may terminate this Agreement for convenience. Distributor may terminate this "
        "Agreement at any time for any reason on notice.",
        "This Agreement may be terminated by either party without cause.",
    ):
        f = findings(mutual, parties=parties, clauses={"Termination for Convenience": [mutual]})
        assert flagged(pb, f) == [], mutual
    # Roles recognized without key-term parties; the other party is then unnamed.
    text = "Licensor may terminate this Agreement in its sole discretion upon notice."
    (flag,) = flagged(pb, findings(text, clauses={"Termination for Convenience": [text]}))
    assert flag.explanation == "Licensor may terminate for convenience; the other party may not."
    # A name the key terms missed, right before the verb or after "terminated by".
    for text, holder in (
        ("Microsoft may terminate this Agreement at any time without cause upon notice.", "Microsoft"),
        ("This Agreement may be terminated by ArTara for any reason upon notice.", "ArTara"),
    ):
        (flag,) = flagged(pb, findings(text, clauses={"Termination for Convenience": [text]}))
        assert flag.explanation.startswith(f"{holder} may terminate"), text
    text = "This Agreement may terminate at any time for any reason."
    assert flagged(pb, findings(text, clauses={"Termination for Convenience": [text]})) == []


def test_indemnity_unlimited() -> None:
    pb = playbook("indemnity_unlimited: {}", explanation="{count} unlimited indemnity passage(s).")
    sentences = [
        "Supplier's indemnification obligations shall not be subject to the limitations of Section 9.",
        "Notwithstanding anything to the contrary, Licensee's liability under its indemnity is unlimited.",
        "The limitations of liability in Section 10 shall not apply to a party's obligations to indemnify.",
        "Customer shall indemnify Vendor without limitation as to amount.",
    ]
    for sentence in sentences:
        text = "The parties agree as follows (see Sec. 4). " + sentence + " (e) Payment is due in 30 days."
        (flag,) = flagged(pb, findings(text))
        assert spans_text(flag, text) == [sentence], sentence
    benign = (
        "Each party shall indemnify the other against third-party claims, including, without limitation, "
        "reasonable attorneys' fees, subject to the limitations of Section 9. "
        "Liability is unlimited for fraud. "
        "Each party shall indemnify the other, including without limitation for costs. "
        "Without limitation of its other obligations, Supplier shall indemnify Customer for claims."
    )
    assert flagged(pb, findings(benign)) == []


def test_text_matches() -> None:
    pb = playbook(
        "text_matches: {pattern: 'sole\\s+discretion', flags: [ignorecase]}",
        explanation="{count} match(es), first: {match}.",
    )
    text = "Supplier may, in its Sole  Discretion, change prices. Also at its sole discretion."
    (flag,) = flagged(pb, findings(text))
    assert spans_text(flag, text) == ["Sole  Discretion", "sole discretion"]
    assert flag.explanation == "2 match(es), first: Sole  Discretion."
    assert flagged(pb, findings("Prices are fixed.")) == []
    # Only the first max_chars characters are searched.
    limited = playbook("text_matches: {pattern: 'needle', max_chars: 10}")
    assert flagged(limited, findings("0123456789 needle")) == []
    assert len(flagged(limited, findings("needle 0123456789"))) == 1


def test_amount_over() -> None:
    pb = playbook(
        "amount_over: {kind: fee, amount: 1000000, currency: USD}",
        explanation="{kind} of {currency} {amount} exceeds {threshold}.",
    )
    text = "Customer shall pay a fee of $2,500,000 and a cap of $5,000,000; the other fee is EUR 3,000,000."
    money = [
        Money("2500000.00", "USD", "fee", *_range(text, "$2,500,000")),
        Money("5000000.00", "USD", "liability_cap", *_range(text, "$5,000,000")),
        Money("3000000.00", "EUR", "fee", *_range(text, "EUR 3,000,000")),
    ]
    (flag,) = flagged(pb, findings(text, money=money))
    assert spans_text(flag, text) == ["$2,500,000"]
    assert flag.explanation == "fee of USD 2,500,000.00 exceeds 1,000,000."
    assert flagged(pb, findings(text, money=money[1:])) == []
    small = [Money("999999.99", "USD", "fee", *_range(text, "$2,500,000"))]
    assert flagged(pb, findings(text, money=small)) == []


def test_applies_to_and_document_type_override() -> None:
    pb = playbook("clause_missing: Insurance", extra="    applies_to: [services, supply]\n")
    assert len(flagged(pb, findings("Text.", document_type="services"))) == 1
    assert flagged(pb, findings("Text.", document_type="nda")) == []
    assert len(evaluate(pb, findings("Text.", document_type="nda"), document_type="supply")) == 1
    default = playbook("clause_missing: Insurance")
    assert len(flagged(default, findings("Text.", document_type="other"))) == 1
    assert flagged(default, findings("Text.", document_type="pleading")) == []


def test_rule_min_confidence_overrides_the_playbook() -> None:
    pb = playbook("clause_present: Exclusivity", extra="    min_confidence: 0.95\n")
    text = "Exclusive dealing."
    assert flagged(pb, findings(text, clauses={"Exclusivity": [text]}, confidence=0.9)) == []
    assert len(flagged(pb, findings(text, clauses={"Exclusivity": [text]}, confidence=0.97))) == 1


def test_spans_outside_the_text_are_dropped() -> None:
    pb = playbook("clause_present: Exclusivity")
    f = Findings(
        text="Short.",
        key_terms=KeyTerms("services", 1.0),
        clauses=(ClauseFinding("Exclusivity", 0.9, (Offsets(0, 5), Offsets(3, 400), Offsets(4, 2))),),
    )
    (flag,) = evaluate(pb, f)
    assert flag.spans == (Offsets(0, 5),)


def test_parse_durations() -> None:
    found = {
        d.text: (d.value, d.unit, d.days)
        for d, _s, _e in parse_durations(
            "for a period of two (2) years, 18 months thereafter, thirty (30) business days, "
            "twenty-four months, a year, 2.5 weeks"
        )
    }
    assert found == {
        "two (2) years": (2, "years", 730),
        "18 months": (18, "months", 540),
        "thirty (30) business days": (30, "business_days", 42),
        "twenty-four months": (24, "months", 720),
        "a year": (1, "years", 365),
        "2.5 weeks": (2.5, "weeks", 18),
    }
    text = "within ninety (90) days"
    ((duration, start, end),) = parse_durations(text)
    assert text[start:end] == duration.text == "ninety (90) days"
