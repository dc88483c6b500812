"""Playbooks: a firm's risk rules, written in YAML, evaluated over a document's findings.

A playbook is a small YAML file that says what a reviewing lawyer wants flagged in a contract.
Each rule names one *check* from a closed set of typed checks (there is no code in a playbook),
a severity, and the explanation the lawyer reads next to the flagged passage::

    id: acme-commercial            # slug: lowercase letters, digits, - _ .
    name: ACME commercial contracts
    version: "2.1"                 # quote it, so 2.10 stays 2.10
    description: What our commercial team wants to see flagged.
    min_confidence: 0.5            # optional: clause findings below this count as absent
    rules:
      - id: liability-uncapped
        title: Liability is not capped
        severity: high             # low | medium | high | critical
        explanation: >-
          {reason} Negotiate a cap, typically the fees paid in the 12 months before the claim.
        check:
          liability_uncapped: {}
      - id: long-non-compete
        title: Non-compete longer than 12 months
        severity: high
        applies_to: [services, consulting, employment]   # default: every contract type
        explanation: The non-compete lasts {duration}, longer than our {limit_months}-month limit.
        check:
          non_compete_longer_than: {months: 12}

The checks (``check:`` holds exactly one of them):

=========================================  ======================================================
``clause_missing: <CUAD category>``         the clause is absent (the flag has ``absent: true``)
``clause_present: <CUAD category>``         the clause is present (flags its passages)
``liability_uncapped: {}``                  "Uncapped Liability" present, no "Cap on Liability",
                                            or a cap clause with no amount or formula
``auto_renewal_notice_over: {days: N}``     automatic renewal with notice to stop it > N days
``governing_law_not_in: [jurisdictions]``   governing law found and not in the list
``governing_law_missing: {}``               no governing law found
``non_compete_longer_than: {months: N}``    a non-compete lasting more than N months
``termination_for_convenience_one_sided:``  only one party may terminate for convenience
``indemnity_unlimited: {}``                 indemnities stated to be unlimited or outside the cap
``text_matches: {pattern: <regex>}``        a regular expression matches the text
``amount_over: {kind, amount, currency}``   a fee / liability cap above an amount
=========================================  ======================================================

Clause categories are the 41 CUAD v1 names, spelled exactly as in CUAD (``"Cap on Liability"``,
``"Termination for Convenience"``, ...; see :data:`CUAD_CATEGORIES`). ``applies_to`` takes
document types from :data:`DOCUMENT_TYPES`; without it a rule applies to every document except
the non-contract types (court decisions, pleadings, correspondence).

Explanations may use ``{placeholders}`` filled by the check (``{notice_days}``, ``{holder}``...;
see :data:`PLACEHOLDERS`), plus ``{rule}``, ``{title}`` and ``{document_type}`` everywhere.
Literal braces are written ``{{`` and ``}}``.

:func:`load_playbook` validates everything before a playbook is used and raises
:class:`PlaybookError`, whose ``problems`` each carry a 1-based ``line`` and ``column``, a
``path`` such as ``rules[2].check.non_compete_longer_than.months`` and a ``message``: invalid
YAML, unknown or missing fields, wrong types, unknown CUAD categories or document types (with the
closest name suggested), duplicate rule ids, unknown placeholders and unsafe or invalid regular
expressions. Input is capped at :data:`MAX_PLAYBOOK_BYTES`; anchors and aliases are refused (a
playbook never needs them, and they are how "billion laughs" documents explode).

:func:`evaluate` runs a playbook over :class:`~legalai.analysis.types.Findings` and returns one
:class:`~legalai.analysis.types.RiskFlag` per rule that fires, with offsets into
``findings.text``. :func:`default_playbook` is the shipped commercial-contract playbook and
:func:`playbook_fingerprint` a stable hash recorded with every analysis. The full user
documentation is ``docs/playbooks.md``.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
import string
import types
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache, lru_cache
from importlib import resources
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_serializer,
    field_validator,
    model_validator,
)
from yaml.constructor import SafeConstructor
from yaml.events import AliasEvent, CollectionEndEvent, CollectionStartEvent, NodeEvent
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.reader import ReaderError

from legalai.analysis.numbers import NUMBER_WORDS
from legalai.analysis.types import (
    DOCUMENT_TYPES,
    NON_CONTRACT_TYPES,
    ClauseFinding,
    Duration,
    DurationUnit,
    Findings,
    Offsets,
    RiskFlag,
)

__all__ = [
    "CHECK_KINDS",
    "CUAD_CATEGORIES",
    "DOCUMENT_TYPES",
    "MAX_PLAYBOOK_BYTES",
    "NON_CONTRACT_TYPES",
    "PLACEHOLDERS",
    "PLAYBOOK_SCHEMA_VERSION",
    "Check",
    "Playbook",
    "PlaybookError",
    "PlaybookProblem",
    "Rule",
    "default_playbook",
    "default_playbook_source",
    "evaluate",
    "load_playbook",
    "parse_durations",
    "playbook_fingerprint",
]

PLAYBOOK_SCHEMA_VERSION = "1"
"""Version of the playbook format (bumped when a check's meaning or the schema changes)."""

MAX_PLAYBOOK_BYTES = 256 * 1024
MAX_YAML_DEPTH = 24
MAX_YAML_EVENTS = 40_000
MAX_RULES = 500
MAX_PATTERN_LENGTH = 500
DEFAULT_TEXT_MATCH_CHARS = 1_000_000
MAX_TEXT_MATCH_CHARS = 10_000_000
MAX_SPANS_PER_FLAG = 50

# The 41 CUAD v1 categories, spelled exactly as the span columns of CUAD's labels.csv.
CUAD_CATEGORIES: tuple[str, ...] = (
    "Document Name",
    "Parties",
    "Agreement Date",
    "Effective Date",
    "Expiration Date",
    "Renewal Term",
    "Notice Period to Terminate Renewal",
    "Governing Law",
    "Most Favored Nation",
    "Competitive Restriction Exception",
    "Non-Compete",
    "Exclusivity",
    "No-Solicit of Customers",
    "No-Solicit of Employees",
    "Non-Disparagement",
    "Termination for Convenience",
    "Rofr/Rofo/Rofn",
    "Change of Control",
    "Anti-Assignment",
    "Revenue/Profit Sharing",
    "Price Restrictions",
    "Minimum Commitment",
    "Volume Restriction",
    "IP Ownership Assignment",
    "Joint IP Ownership",
    "License Grant",
    "Non-Transferable License",
    "Affiliate License-Licensor",
    "Affiliate License-Licensee",
    "Unlimited/All-You-Can-Eat-License",
    "Irrevocable or Perpetual License",
    "Source Code Escrow",
    "Post-Termination Services",
    "Audit Rights",
    "Uncapped Liability",
    "Cap on Liability",
    "Liquidated Damages",
    "Warranty Duration",
    "Insurance",
    "Covenant Not to Sue",
    "Third Party Beneficiary",
)
_CATEGORY_BY_FOLDED = {name.casefold(): name for name in CUAD_CATEGORIES}

# Document types a rule's ``applies_to`` may name (``KeyTerms.document_type`` values).

Severity = Literal["low", "medium", "high", "critical"]
MoneyKind = Literal["liability_cap", "fee", "other"]
RegexFlag = Literal["ignorecase", "multiline", "dotall"]

CHECK_KINDS: tuple[str, ...] = (
    "clause_missing",
    "clause_present",
    "liability_uncapped",
    "auto_renewal_notice_over",
    "governing_law_not_in",
    "governing_law_missing",
    "non_compete_longer_than",
    "termination_for_convenience_one_sided",
    "indemnity_unlimited",
    "text_matches",
    "amount_over",
)
_PARAMETERLESS = (
    "liability_uncapped",
    "governing_law_missing",
    "termination_for_convenience_one_sided",
    "indemnity_unlimited",
)

COMMON_PLACEHOLDERS: frozenset[str] = frozenset({"rule", "title", "document_type"})
PLACEHOLDERS: dict[str, frozenset[str]] = {
    "clause_missing": frozenset({"category"}),
    "clause_present": frozenset({"category", "count"}),
    "liability_uncapped": frozenset({"reason"}),
    "auto_renewal_notice_over": frozenset({"notice_days", "notice", "limit_days", "renewal_term"}),
    "governing_law_not_in": frozenset({"jurisdiction", "allowed"}),
    "governing_law_missing": frozenset(),
    "non_compete_longer_than": frozenset({"duration", "months", "limit_months"}),
    "termination_for_convenience_one_sided": frozenset({"holder", "other_party"}),
    "indemnity_unlimited": frozenset({"count"}),
    "text_matches": frozenset({"match", "count"}),
    "amount_over": frozenset({"amount", "currency", "threshold", "kind"}),
}
"""Placeholders each check fills in explanations (plus :data:`COMMON_PLACEHOLDERS`)."""


# ---- errors ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlaybookProblem:
    """One thing wrong with a playbook, located in its YAML source (1-based line and column)."""

    line: int
    column: int
    path: str  # e.g. "rules[2].check.non_compete_longer_than.months"; "" for the whole document
    message: str

    def __str__(self) -> str:
        where = f" {self.path}:" if self.path else ""
        return f"line {self.line}, column {self.column}:{where} {self.message}"


class PlaybookError(ValueError):
    """A playbook that cannot be used; ``problems`` lists everything found, in source order."""

    def __init__(self, name: str, problems: Iterable[PlaybookProblem]) -> None:
        self.name = name
        self.problems: list[PlaybookProblem] = sorted(problems, key=lambda p: (p.line, p.column, p.path))
        count = len(self.problems)
        lines = [
            f"{name}:{p.line}:{p.column}: {p.path + ': ' if p.path else ''}{p.message}" for p in self.problems
        ]
        super().__init__(
            f"invalid playbook {name} ({count} problem{'s' if count != 1 else ''}):\n" + "\n".join(lines)
        )


# ---- schema ----------------------------------------------------------------------------------

_SLUG = re.compile(r"^[a-z0-9]+(?:[-_.][a-z0-9]+)*$")


def _suggest(value: str, choices: Iterable[str]) -> str:
    options = list(choices)
    folded = {c.casefold(): c for c in options}
    if value.casefold() in folded:
        return f"; did you mean {folded[value.casefold()]!r}?"
    close = difflib.get_close_matches(value, options, n=1, cutoff=0.6)
    if not close:
        close_folded = difflib.get_close_matches(value.casefold(), list(folded), n=1, cutoff=0.6)
        close = [folded[c] for c in close_folded]
    return f"; did you mean {close[0]!r}?" if close else ""


def _check_slug(value: str) -> str:
    if len(value) > 80 or not _SLUG.match(value):
        raise ValueError(
            f"{value!r} is not a valid id: use lowercase letters, digits and - _ . "
            "(e.g. 'liability-uncapped'), at most 80 characters"
        )
    return value


def _check_category(value: str) -> str:
    # CUAD itself is inconsistent about case ("Cap on Liability" in labels.csv, "Cap On
    # Liability" elsewhere), so a case-only difference is normalized to the labels.csv name.
    canonical = _CATEGORY_BY_FOLDED.get(value.casefold())
    if canonical is None:
        raise ValueError(f"unknown CUAD category {value!r}{_suggest(value, CUAD_CATEGORIES)}")
    return canonical


def _check_document_type(value: str) -> str:
    if value not in DOCUMENT_TYPES:
        raise ValueError(f"unknown document type {value!r}{_suggest(value, DOCUMENT_TYPES)}")
    return value


def _check_text(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return value


Slug = Annotated[str, AfterValidator(_check_slug)]
CuadCategory = Annotated[str, AfterValidator(_check_category)]
DocumentType = Annotated[str, AfterValidator(_check_document_type)]
Text = Annotated[str, AfterValidator(_check_text)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LiabilityUncapped(_Model):
    window: int = Field(default=400, ge=0, le=5000)  # chars around the cap passages for amounts


class AutoRenewalNoticeOver(_Model):
    days: int = Field(gt=0, le=3650)


class GoverningLawMissing(_Model):
    pass


class NonCompeteLongerThan(_Model):
    months: int = Field(gt=0, le=1200)


class TerminationOneSided(_Model):
    pass


class IndemnityUnlimited(_Model):
    pass


class TextMatches(_Model):
    pattern: str
    flags: list[RegexFlag] = Field(default_factory=list)
    max_chars: int = Field(default=DEFAULT_TEXT_MATCH_CHARS, gt=0, le=MAX_TEXT_MATCH_CHARS)
    max_matches: int = Field(default=20, gt=0, le=MAX_SPANS_PER_FLAG)

    @field_validator("pattern")
    @classmethod
    def _safe_pattern(cls, value: str) -> str:
        if not value:
            raise ValueError("the pattern must not be empty")
        if len(value) > MAX_PATTERN_LENGTH:
            raise ValueError(
                f"the pattern is {len(value)} characters long; the limit is {MAX_PATTERN_LENGTH}"
            )
        try:
            compiled = re.compile(value)
        except re.error as exc:
            raise ValueError(f"invalid regular expression: {exc}") from None
        if compiled.groups and re.search(r"\\[1-9]|\(\?P=", value):
            raise ValueError("backreferences are not allowed (they can make matching very slow)")
        if _nested_quantifier(value):
            raise ValueError(
                "nested repetition such as (x+)+ or (\\w+\\s?)* is not allowed: it can take "
                "exponential time; rewrite the pattern without a repeated group that itself repeats"
            )
        if compiled.match(""):
            raise ValueError("the pattern matches the empty string")
        return value


class AmountOver(_Model):
    kind: MoneyKind
    amount: Decimal = Field(gt=0)
    currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$")

    @field_serializer("amount")
    def _normalized_amount(self, value: Decimal) -> str:
        return format(value.normalize(), "f")


class Check(_Model):
    """Exactly one of these keys."""

    clause_missing: CuadCategory | None = None
    clause_present: CuadCategory | None = None
    liability_uncapped: LiabilityUncapped | None = None
    auto_renewal_notice_over: AutoRenewalNoticeOver | None = None
    governing_law_not_in: Annotated[list[Text], Field(min_length=1, max_length=200)] | None = None
    governing_law_missing: GoverningLawMissing | None = None
    non_compete_longer_than: NonCompeteLongerThan | None = None
    termination_for_convenience_one_sided: TerminationOneSided | None = None
    indemnity_unlimited: IndemnityUnlimited | None = None
    text_matches: TextMatches | None = None
    amount_over: AmountOver | None = None

    @field_validator(*_PARAMETERLESS, mode="before")
    @classmethod
    def _empty_options(cls, value: Any) -> Any:
        # ``liability_uncapped:``, ``liability_uncapped: true`` and ``liability_uncapped: {}``
        # all switch the check on.
        if value is None or value is True:
            return {}
        if value is False:
            raise ValueError("remove the check instead of setting it to false")
        return value

    @model_validator(mode="after")
    def _exactly_one(self) -> Check:
        chosen = [name for name in CHECK_KINDS if name in self.model_fields_set]
        if len(chosen) != 1:
            found = ", ".join(chosen) if chosen else "none"
            raise ValueError(
                f"a rule needs exactly one check, one of: {', '.join(CHECK_KINDS)} (found: {found})"
            )
        if getattr(self, chosen[0]) is None:
            raise ValueError(f"{chosen[0]} needs a value")
        return self

    @property
    def kind(self) -> str:
        return next(name for name in CHECK_KINDS if name in self.model_fields_set)


class Rule(_Model):
    id: Slug
    title: Annotated[Text, Field(max_length=200)]
    severity: Severity
    explanation: Annotated[Text, Field(max_length=4000)]
    applies_to: Annotated[list[DocumentType], Field(min_length=1)] | None = None
    min_confidence: float | None = Field(default=None, ge=0, le=1)
    check: Check

    def applies(self, document_type: str) -> bool:
        if self.applies_to is None:
            return document_type not in NON_CONTRACT_TYPES
        return document_type in self.applies_to


class Playbook(_Model):
    id: Slug
    name: Annotated[Text, Field(max_length=200)]
    version: Annotated[Text, Field(max_length=50)]
    description: Annotated[str, Field(max_length=4000)] = ""
    min_confidence: float = Field(default=0.5, ge=0, le=1)
    rules: Annotated[list[Rule], Field(max_length=MAX_RULES)]


# ---- loading ---------------------------------------------------------------------------------

_Path = tuple[str | int, ...]
_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"


def _format_path(path: Iterable[str | int]) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


@dataclass
class _Source:
    """The YAML as plain data, with where each value (and each mapping key) starts."""

    values: dict[_Path, tuple[int, int]] = field(default_factory=dict)
    keys: dict[_Path, tuple[int, int]] = field(default_factory=dict)
    problems: list[PlaybookProblem] = field(default_factory=list)

    def problem(
        self, path: _Path, message: str, *, key: bool = False, at: tuple[int, int] | None = None
    ) -> None:
        line, column = at or self.position(path, key=key)
        self.problems.append(PlaybookProblem(line, column, _format_path(path), message))

    def position(self, path: _Path, *, key: bool = False) -> tuple[int, int]:
        if key and path in self.keys:
            return self.keys[path]
        for end in range(len(path), -1, -1):
            prefix = path[:end]
            if prefix in self.values:
                return self.values[prefix]
            if prefix in self.keys:
                return self.keys[prefix]
        return (1, 1)


def _mark(mark: Any) -> tuple[int, int]:
    return (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)


def _yaml_problem(exc: yaml.YAMLError, text: str) -> PlaybookProblem:
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        line, column = _mark(mark)
        parts = [p for p in (exc.context, exc.problem) if p]
        message = "invalid YAML: " + (", ".join(parts) if parts else str(exc).splitlines()[0])
        return PlaybookProblem(line, column, "", message)
    if isinstance(exc, ReaderError):
        position = max(0, min(exc.position, len(text)))
        line = text.count("\n", 0, position) + 1
        column = position - (text.rfind("\n", 0, position) + 1) + 1
        character = exc.character
        shown = f"U+{character:04X}" if isinstance(character, int) else repr(character)
        return PlaybookProblem(line, column, "", f"invalid YAML: {exc.reason} ({shown})")
    return PlaybookProblem(1, 1, "", f"invalid YAML: {exc}")


def _scan_events(text: str) -> list[PlaybookProblem]:
    """Refuse anchors, aliases, deep nesting and huge event counts before composing a tree."""
    problems: list[PlaybookProblem] = []
    depth = 0
    for count, event in enumerate(yaml.parse(text, Loader=yaml.SafeLoader)):
        line, column = _mark(event.start_mark)
        if count > MAX_YAML_EVENTS:
            problems.append(PlaybookProblem(line, column, "", "the playbook has too many YAML nodes"))
            break
        if isinstance(event, AliasEvent):
            problems.append(
                PlaybookProblem(
                    line, column, "", f"YAML aliases (*{event.anchor}) are not allowed in playbooks"
                )
            )
        elif isinstance(event, NodeEvent) and event.anchor is not None:
            problems.append(
                PlaybookProblem(
                    line, column, "", f"YAML anchors (&{event.anchor}) are not allowed in playbooks"
                )
            )
        if isinstance(event, CollectionStartEvent):
            depth += 1
            if depth > MAX_YAML_DEPTH:
                problems.append(PlaybookProblem(line, column, "", "the YAML is nested too deeply"))
                break
        elif isinstance(event, CollectionEndEvent):
            depth -= 1
        if len(problems) >= 20:
            break
    return problems


def _to_data(node: Node, path: _Path, source: _Source, constructor: SafeConstructor) -> Any:
    source.values[path] = _mark(node.start_mark)
    if isinstance(node, MappingNode):
        if node.tag != _MAP_TAG:
            source.problem(path, f"unsupported YAML tag {node.tag!r}")
            return None
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                source.problem(path, "mapping keys must be plain names", at=_mark(key_node.start_mark))
                continue
            key = str(key_node.value)
            child = (*path, key)
            if key in out or child in source.keys:
                first_line = source.keys[child][0]
                message = f"duplicate key {key!r} (first given on line {first_line})"
                source.problem(child, message, at=_mark(key_node.start_mark))
                continue
            source.keys[child] = _mark(key_node.start_mark)
            out[key] = _to_data(value_node, child, source, constructor)
        return out
    if isinstance(node, SequenceNode):
        if node.tag != _SEQ_TAG:
            source.problem(path, f"unsupported YAML tag {node.tag!r}")
            return None
        return [_to_data(item, (*path, index), source, constructor) for index, item in enumerate(node.value)]
    try:
        return constructor.construct_object(node)
    except yaml.YAMLError:
        source.problem(path, f"unsupported YAML value or tag {node.tag!r}")
        return None


def _model_for(annotation: Any) -> tuple[type[BaseModel] | None, bool]:
    """The pydantic model a field holds (through Optional, list and Annotated), and if in a list."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return _model_for(get_args(annotation)[0])
    if origin is list:
        model, _ = _model_for(get_args(annotation)[0])
        return model, True
    if origin is Union or origin is types.UnionType:
        for arg in get_args(annotation):
            if arg is not type(None):
                model, in_list = _model_for(arg)
                if model is not None:
                    return model, in_list
        return None, False
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation, False
    return None, False


def _fields_at(loc: _Path) -> tuple[type[BaseModel], list[str]] | None:
    """The model (and its field names) that owns the last element of ``loc``."""
    model: type[BaseModel] = Playbook
    index = 0
    while index < len(loc) - 1:
        name = loc[index]
        if not isinstance(name, str) or name not in model.model_fields:
            return None
        inner, in_list = _model_for(model.model_fields[name].annotation)
        if inner is None:
            return None
        model = inner
        index += 2 if in_list else 1
    return model, list(model.model_fields)


def _error_message(error: Mapping[str, Any]) -> str:
    kind = error["type"]
    loc: _Path = tuple(error["loc"])
    if kind == "extra_forbidden":
        name = str(loc[-1])
        owner = _fields_at(loc)
        if owner is not None and owner[0] is Check:
            return f"unknown check {name!r}{_suggest(name, CHECK_KINDS)} (checks: {', '.join(CHECK_KINDS)})"
        hint = _suggest(name, owner[1]) if owner else ""
        allowed = f" (allowed: {', '.join(owner[1])})" if owner and owner[1] else ""
        return f"unknown field {name!r}{hint}{allowed}"
    if kind == "missing":
        return f"missing required field {loc[-1]!r}"
    message = str(error["msg"])
    message = message.removeprefix("Value error, ")
    if (
        kind == "string_type"
        and isinstance(error.get("input"), int | float)
        and not isinstance(error["input"], bool)
    ):
        message += f' (quote it: "{error["input"]}")'
    if kind == "model_type" and loc and loc[-1] in _PARAMETERLESS:
        message = "expected {} (this check takes no options)"
    return message


def _semantic_problems(data: Any, source: _Source) -> None:
    """Checks pydantic cannot locate precisely: duplicate rule ids and explanation placeholders."""
    if not isinstance(data, dict) or not isinstance(data.get("rules"), list):
        return
    seen: dict[str, int] = {}
    for index, rule in enumerate(data["rules"]):
        if not isinstance(rule, dict):
            continue
        rule_id = rule.get("id")
        if isinstance(rule_id, str):
            if rule_id in seen:
                first = source.position(("rules", seen[rule_id], "id"))[0]
                source.problem(
                    ("rules", index, "id"), f"duplicate rule id {rule_id!r} (first used on line {first})"
                )
            else:
                seen[rule_id] = index
        check = rule.get("check")
        explanation = rule.get("explanation")
        if isinstance(explanation, str) and isinstance(check, dict) and len(check) == 1:
            kind = next(iter(check))
            if kind in PLACEHOLDERS:
                for message in _placeholder_problems(explanation, kind):
                    source.problem(("rules", index, "explanation"), message)


def _placeholder_problems(template: str, kind: str) -> list[str]:
    allowed = PLACEHOLDERS[kind] | COMMON_PLACEHOLDERS
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        return [f"invalid placeholder syntax: {exc} (write literal braces as {{{{ and }}}})"]
    problems = []
    for _literal, name, spec, conversion in parsed:
        if name is None:
            continue
        if not name.isidentifier() or name not in allowed:
            names = ", ".join(sorted(allowed))
            problems.append(
                f"unknown placeholder {{{name}}}{_suggest(name, allowed)} ({kind} offers: {names})"
            )
        elif spec or conversion:
            problems.append(f"placeholder {{{name}}} takes no format specification or conversion")
    return problems


def load_playbook(source: str | bytes, *, name: str = "playbook") -> Playbook:
    """Parse and validate a YAML playbook; raise :class:`PlaybookError` listing every problem."""
    if isinstance(source, bytes):
        if len(source) > MAX_PLAYBOOK_BYTES:
            raise PlaybookError(name, [_too_large(len(source))])
        try:
            text = source.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            line = source.count(b"\n", 0, exc.start) + 1
            raise PlaybookError(
                name, [PlaybookProblem(line, 1, "", "the playbook is not valid UTF-8")]
            ) from None
    elif isinstance(source, str):
        size = len(source.encode("utf-8", errors="surrogatepass"))
        if size > MAX_PLAYBOOK_BYTES:
            raise PlaybookError(name, [_too_large(size)])
        text = source.removeprefix("\ufeff")
    else:
        raise TypeError(f"a playbook is YAML text (str or bytes), not {type(source).__name__}")

    try:
        problems = _scan_events(text)
        if problems:
            raise PlaybookError(name, problems)
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        raise PlaybookError(name, [_yaml_problem(exc, text)]) from None
    if root is None:
        raise PlaybookError(name, [PlaybookProblem(1, 1, "", "the playbook is empty")])
    if not isinstance(root, MappingNode):
        line, column = _mark(root.start_mark)
        message = "the playbook must be a mapping with id, name, version, description and rules"
        raise PlaybookError(name, [PlaybookProblem(line, column, "", message)])

    located = _Source()
    data = _to_data(root, (), located, SafeConstructor())
    _semantic_problems(data, located)
    playbook: Playbook | None = None
    try:
        playbook = Playbook.model_validate(data)
    except ValidationError as exc:
        for error in exc.errors():
            loc: _Path = tuple(error["loc"])
            located.problem(loc, _error_message(error), key=error["type"] == "extra_forbidden")
    if located.problems or playbook is None:
        raise PlaybookError(name, _unique(located.problems))
    return playbook


def _unique(problems: list[PlaybookProblem]) -> list[PlaybookProblem]:
    return list(dict.fromkeys(problems))


def _too_large(size: int) -> PlaybookProblem:
    return PlaybookProblem(1, 1, "", f"the playbook is {size} bytes; the limit is {MAX_PLAYBOOK_BYTES}")


@cache
def default_playbook_source() -> str:
    """The YAML of the shipped playbook (``legalai/analysis/default_playbook.yaml``)."""
    return resources.files("legalai.analysis").joinpath("default_playbook.yaml").read_text("utf-8")


@cache
def default_playbook() -> Playbook:
    """The shipped commercial-contract playbook; one shared instance (do not mutate it)."""
    return load_playbook(default_playbook_source(), name="default_playbook.yaml")


def playbook_fingerprint(playbook: Playbook) -> str:
    """A stable hash of the playbook's normalized content (defaults filled, YAML layout ignored)."""
    payload = {
        "schema": PLAYBOOK_SCHEMA_VERSION,
        "playbook": playbook.model_dump(mode="json", exclude_none=True),
    }
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()


# ---- regular expression safety ---------------------------------------------------------------

_BRACE_QUANTIFIER = re.compile(r"\{(\d*)(?:(,)(\d*))?\}")


def _quantifier_at(pattern: str, index: int) -> tuple[str | None, int]:
    """("repeat" | "unbounded" | "optional" | None, index after the quantifier)."""
    if index >= len(pattern):
        return None, index
    char = pattern[index]
    kind: str | None = None
    end = index
    if char in "*+":
        kind, end = "unbounded", index + 1
    elif char == "?":
        kind, end = "optional", index + 1
    elif char == "{":
        match = _BRACE_QUANTIFIER.match(pattern, index)
        if match and (match.group(1) or match.group(3)):
            low, comma, high = match.group(1), match.group(2), match.group(3)
            if comma and not high:
                kind = "unbounded"
            else:
                top = int(high or low)
                kind = "unbounded" if top >= 16 else ("repeat" if top > 1 else "optional")
            end = match.end()
    if kind is not None and end < len(pattern) and pattern[end] in "?+":
        end += 1  # lazy or possessive
    return kind, end


def _nested_quantifier(pattern: str) -> bool:
    """True for a repeated group whose body repeats too, e.g. ``(a+)+``, ``(?:\\w+\\s)*``."""
    stack: list[bool] = [False]  # does the group being read contain a repetition?
    index = 0
    length = len(pattern)
    while index < length:
        char = pattern[index]
        if char == "\\":
            index += 2
        elif char == "[":
            index += 1
            if index < length and pattern[index] == "^":
                index += 1
            if index < length and pattern[index] == "]":
                index += 1
            while index < length and pattern[index] != "]":
                index += 2 if pattern[index] == "\\" else 1
            index += 1
        elif char == "(":
            stack.append(False)
            index += 1
            if index < length and pattern[index] == "?":  # (?:  (?=  (?<=  (?P<name>  (?i)  ...
                index += 1
                if pattern.startswith(("<=", "<!"), index):
                    index += 2
                elif pattern.startswith(("P<", "<"), index):
                    index = pattern.find(">", index) + 1 or length
                else:
                    while index < length and pattern[index] not in ":=!)":
                        index += 1
                    if index < length and pattern[index] != ")":
                        index += 1
            continue
        elif char == ")":
            inner = stack.pop() if len(stack) > 1 else False
            kind, index = _quantifier_at(pattern, index + 1)
            if inner and kind == "unbounded":
                return True
            stack[-1] = stack[-1] or inner or kind in ("unbounded", "repeat")
            continue
        else:
            index += 1
        kind, after = _quantifier_at(pattern, index)
        if kind is not None:
            if kind in ("unbounded", "repeat"):
                stack[-1] = True
            index = after
    return False


# ---- durations -------------------------------------------------------------------------------

_NUMBER_WORDS = {**{k: v for k, v in NUMBER_WORDS.items() if v}, "hundred": 100}
_WORD_ALTERNATION = "|".join(sorted(_NUMBER_WORDS, key=len, reverse=True))
_DURATION = re.compile(
    rf"(?<![\w.])(?P<number>\d{{1,4}}(?:\.\d+)?|(?:{_WORD_ALTERNATION})(?:[\s-]+(?:{_WORD_ALTERNATION}))*|an?)"
    r"\s*(?:\(\s*(?P<digits>\d{1,4})\s*\)\s*)?"
    r"(?P<qualifier>business\s+|working\s+|calendar\s+)?"
    r"(?P<unit>days?|weeks?|months?|years?)\b",
    re.IGNORECASE,
)
_UNIT_DAYS = {"days": 1.0, "business_days": 7 / 5, "weeks": 7.0, "months": 30.0, "years": 365.0}
_MONTH_DAYS = 365 / 12


def _word_number(words: str) -> float | None:
    if words.lower() in ("a", "an"):
        return 1.0
    total = 0
    for word in re.split(r"[\s-]+", words.lower()):
        value = _NUMBER_WORDS.get(word)
        if value is None:
            return None
        total = max(total, 1) * 100 if value == 100 else total + value
    return float(total)


def parse_durations(text: str) -> list[tuple[Duration, int, int]]:
    """Every length of time written in ``text`` ("two (2) years", "18 months", "a year"...),
    with its start and end offsets in ``text``. A number in parentheses wins over words."""
    found: list[tuple[Duration, int, int]] = []
    for match in _DURATION.finditer(text):
        digits = match.group("digits")
        number = match.group("number")
        value = float(digits) if digits else (float(number) if number[0].isdigit() else _word_number(number))
        if value is None or value <= 0:
            continue
        unit_word = match.group("unit").lower().rstrip("s") + "s"
        qualifier = (match.group("qualifier") or "").strip().lower()
        unit: DurationUnit
        if unit_word == "days" and qualifier in ("business", "working"):
            unit = "business_days"
        elif unit_word in ("days", "weeks", "months", "years"):
            unit = unit_word  # type: ignore[assignment]
        else:  # pragma: no cover - the regex only matches these units
            continue
        days = round(value * _UNIT_DAYS[unit])
        found.append((Duration(value, unit, days, match.group(0)), match.start(), match.end()))
    return found


def _months(duration: Duration) -> float:
    if duration.unit == "years":
        return duration.value * 12
    if duration.unit == "months":
        return duration.value
    return duration.value * _UNIT_DAYS[duration.unit] / _MONTH_DAYS


def _describe(duration: Duration) -> str:
    number = int(duration.value) if float(duration.value).is_integer() else duration.value
    unit = duration.unit.replace("_", " ")
    return f"{number} {unit[:-1] if number == 1 else unit}"


# ---- text helpers ----------------------------------------------------------------------------

# A sentence ends at . ! ? followed by space and a capital, a digit or a list marker "(d)",
# or at a blank line or page break.
_SENTENCE_END = re.compile(
    "[.!?](?=[\"'\u201d\u2019)\\]]*\\s+(?:[\"'\u201c\u2018(\\[]*[A-Z0-9]|\\([a-z]{1,4}\\)))|\n[ \t]*\n|\f"
)
_ABBREVIATION = re.compile(
    r"(?:\b(?:inc|ltd|corp|co|no|nos|sec|secs|art|para|mr|mrs|ms|dr|st|jr|sr|vs|v|e\.g|i\.e|etc|cf|"
    r"u\.s|u\.k|l\.l\.c|n\.a|s\.a|b\.v|fig)|\b[A-Z])$",
    re.IGNORECASE,
)


def _sentences(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Sentence-ish spans of ``text[start:end]`` (stripped, in order)."""
    spans: list[tuple[int, int]] = []
    position = start
    for match in _SENTENCE_END.finditer(text, start, end):
        if match.group(0) == "." and _ABBREVIATION.search(
            text, max(position, match.start() - 8), match.start()
        ):
            continue
        stop = match.end() if match.group(0) in ".!?" else match.start()
        spans.append((position, stop))
        position = match.end()
    spans.append((position, end))
    out = []
    for left, right in spans:
        while left < right and text[left].isspace():
            left += 1
        while right > left and text[right - 1].isspace():
            right -= 1
        if left < right:
            out.append((left, right))
    return out


def _valid(spans: Iterable[Offsets], length: int) -> tuple[Offsets, ...]:
    seen: dict[Offsets, None] = {}
    for span in spans:
        if 0 <= span.start < span.end <= length:
            seen.setdefault(span)
    return tuple(seen)[:MAX_SPANS_PER_FLAG]


# ---- evaluation ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Hit:
    spans: tuple[Offsets, ...] = ()
    absent: bool = False
    values: dict[str, str] = field(default_factory=dict)


class _Defaults(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "unknown"


@dataclass
class _Context:
    findings: Findings
    threshold: float

    @property
    def text(self) -> str:
        return self.findings.text

    def clause(self, category: str) -> ClauseFinding | None:
        folded = category.casefold()
        best: ClauseFinding | None = None
        for clause in self.findings.clauses:
            if (
                clause.category.casefold() == folded
                and clause.confidence >= self.threshold
                and (best is None or clause.confidence > best.confidence)
            ):
                best = clause
        return best

    def passages(self, clause: ClauseFinding) -> list[Offsets]:
        return list(_valid(clause.spans, len(self.text)))


def evaluate(playbook: Playbook, findings: Findings, document_type: str | None = None) -> list[RiskFlag]:
    """The flags ``playbook`` raises on ``findings``, in rule order (one flag per firing rule).

    ``document_type`` overrides ``findings.key_terms.document_type`` for ``applies_to``.
    """
    doc_type = document_type if document_type is not None else findings.key_terms.document_type
    flags: list[RiskFlag] = []
    for rule in playbook.rules:
        if not rule.applies(doc_type):
            continue
        threshold = rule.min_confidence if rule.min_confidence is not None else playbook.min_confidence
        hit = _run(rule.check, _Context(findings, threshold))
        if hit is None:
            continue
        values = _Defaults(hit.values)
        values.update(rule=rule.id, title=rule.title, document_type=doc_type)
        try:
            explanation = rule.explanation.format_map(values).strip()
        except (ValueError, LookupError, AttributeError):  # a Playbook built without load_playbook
            explanation = rule.explanation.strip()
        flags.append(
            RiskFlag(
                rule=rule.id,
                severity=rule.severity,
                title=rule.title,
                explanation=explanation,
                spans=() if hit.absent else _valid(hit.spans, len(findings.text)),
                absent=hit.absent,
            )
        )
    return flags


def _run(check: Check, ctx: _Context) -> _Hit | None:
    kind = check.kind
    if kind == "clause_missing" and check.clause_missing is not None:
        return _clause_missing(check.clause_missing, ctx)
    if kind == "clause_present" and check.clause_present is not None:
        return _clause_present(check.clause_present, ctx)
    if kind == "liability_uncapped" and check.liability_uncapped is not None:
        return _liability_uncapped(check.liability_uncapped, ctx)
    if kind == "auto_renewal_notice_over" and check.auto_renewal_notice_over is not None:
        return _auto_renewal_notice_over(check.auto_renewal_notice_over, ctx)
    if kind == "governing_law_not_in" and check.governing_law_not_in is not None:
        return _governing_law_not_in(check.governing_law_not_in, ctx)
    if kind == "governing_law_missing":
        return _governing_law_missing(ctx)
    if kind == "non_compete_longer_than" and check.non_compete_longer_than is not None:
        return _non_compete_longer_than(check.non_compete_longer_than, ctx)
    if kind == "termination_for_convenience_one_sided":
        return _termination_one_sided(ctx)
    if kind == "indemnity_unlimited":
        return _indemnity_unlimited(ctx)
    if kind == "text_matches" and check.text_matches is not None:
        return _text_matches(check.text_matches, ctx)
    if kind == "amount_over" and check.amount_over is not None:
        return _amount_over(check.amount_over, ctx)
    raise AssertionError(f"unhandled check {kind}")  # pragma: no cover - validated at load time


def _clause_missing(category: str, ctx: _Context) -> _Hit | None:
    if ctx.clause(category) is not None:
        return None
    return _Hit(absent=True, values={"category": category})


def _clause_present(category: str, ctx: _Context) -> _Hit | None:
    clause = ctx.clause(category)
    if clause is None:
        return None
    passages = ctx.passages(clause)
    return _Hit(spans=tuple(passages), values={"category": category, "count": str(len(passages))})


_CAP_FORMULA = re.compile(
    r"\b(?:fees|amounts?|sums?|charges|compensation|consideration|payments?|price|royalties)\b"
    r"[^.;]{0,100}?\b(?:paid|payable|received|due|owed)\b"
    r"|\b(?:\d{1,3}|one|two|three|four|five|ten)\s*(?:\(\d{1,3}\)\s*)?times\b"
    r"|[$€£¥]\s?\d|\b(?:USD|EUR|GBP|US\$)\s?\d"
    r"|\b\d[\d,]*(?:\.\d+)?\s*(?:dollars|euros?|pounds)\b"
    # "shall not exceed [***]" (a redacted amount), "limited to the greater of ..."
    r"|\bexceed(?:s|ing)?\s+(?:the\s+)?(?:\[|\d|amount|sum|total|aggregate|greater|lesser|value)"
    r"|\b(?:limited|capped)\s+to\s+(?:the\s+)?(?:\[|\d|amount|sum|total|aggregate|greater|lesser|value)",
    re.IGNORECASE,
)


def _liability_uncapped(options: LiabilityUncapped, ctx: _Context) -> _Hit | None:
    uncapped = ctx.clause("Uncapped Liability")
    if uncapped is not None:
        reason = "The contract leaves some liability uncapped, or excludes some claims from the cap."
        return _Hit(spans=tuple(ctx.passages(uncapped)), values={"reason": reason})
    cap = ctx.clause("Cap on Liability")
    if cap is None:
        return _Hit(absent=True, values={"reason": "No limitation-of-liability clause was found."})
    passages = ctx.passages(cap)
    for passage in passages:
        low, high = passage.start - options.window, passage.end + options.window
        if any(m.kind == "liability_cap" and m.start < high and m.end > low for m in ctx.findings.money):
            return None
        if _CAP_FORMULA.search(ctx.text, passage.start, passage.end):
            return None
    reason = (
        "A limitation-of-liability clause was found, but no cap amount or formula "
        "(such as the fees paid in the preceding twelve months) could be identified in it."
    )
    return _Hit(spans=tuple(passages), values={"reason": reason})


_AUTO_RENEWAL = re.compile(
    r"\bautomatic(?:ally)?\s+(?:be\s+)?(?:renew|extend)|\b(?:shall|will)\s+(?:automatically\s+)?renew\b"
    r"|\bsuccessive\b|\bevergreen\b",
    re.IGNORECASE,
)


def _auto_renewal_notice_over(options: AutoRenewalNoticeOver, ctx: _Context) -> _Hit | None:
    term = ctx.findings.key_terms.term
    renewal_clause = ctx.clause("Renewal Term")
    notice_clause = ctx.clause("Notice Period to Terminate Renewal")
    clause_spans = [s for c in (renewal_clause, notice_clause) if c is not None for s in ctx.passages(c)]
    automatic = term.automatic_renewal
    if automatic is None and renewal_clause is not None:
        automatic = any(_AUTO_RENEWAL.search(ctx.text, s.start, s.end) for s in ctx.passages(renewal_clause))
    if not automatic:
        return None
    notice = term.notice_to_terminate_renewal
    evidence: list[Offsets] = list(term.evidence)
    if notice is None and notice_clause is not None:
        for passage in ctx.passages(notice_clause):
            durations = parse_durations(ctx.text[passage.start : passage.end])
            if durations:
                notice = max(durations, key=lambda d: d[0].days)[0]
                evidence.append(passage)
                break
    if notice is None or notice.days <= options.days:
        return None
    values = {
        "notice_days": str(notice.days),
        "notice": notice.text or _describe(notice),
        "limit_days": str(options.days),
        "renewal_term": (term.renewal_term.text or _describe(term.renewal_term))
        if term.renewal_term
        else "unknown",
    }
    return _Hit(spans=tuple(evidence or clause_spans), values=values)


_JURISDICTION_NOISE = re.compile(
    r"^(?:the\s+)?(?:laws?\s+of\s+)?(?:the\s+)?(?:state|commonwealth|province|republic|kingdom)\s+of\s+"
    r"|^(?:the\s+)?laws?\s+of\s+(?:the\s+)?",
    re.IGNORECASE,
)
_JURISDICTION_ALIASES = {
    "england": "england and wales",
    "england & wales": "england and wales",
    "uk": "england and wales",
    "ny": "new york",
    "de": "delaware",
    "ca": "california",
}


def _normalize_jurisdiction(value: str) -> str:
    cleaned = _JURISDICTION_NOISE.sub("", value.strip())
    cleaned = re.sub(r"[\s.,]+", " ", cleaned).strip().casefold()
    return _JURISDICTION_ALIASES.get(cleaned, cleaned)


def _governing_law_not_in(allowed: list[str], ctx: _Context) -> _Hit | None:
    law = ctx.findings.key_terms.governing_law
    if law is None:
        return None
    if _normalize_jurisdiction(law.jurisdiction) in {_normalize_jurisdiction(a) for a in allowed}:
        return None
    spans = [Offsets(law.start, law.end)]
    clause = ctx.clause("Governing Law")
    if clause is not None:
        spans.extend(ctx.passages(clause))
    return _Hit(spans=tuple(spans), values={"jurisdiction": law.jurisdiction, "allowed": ", ".join(allowed)})


def _governing_law_missing(ctx: _Context) -> _Hit | None:
    if ctx.findings.key_terms.governing_law is not None or ctx.clause("Governing Law") is not None:
        return None
    return _Hit(absent=True)


_PERPETUAL = re.compile(
    r"\b(?:in\s+perpetuity|perpetual(?:ly)?|indefinite(?:ly)?|forever|for\s+ever)\b", re.I
)


def _non_compete_longer_than(options: NonCompeteLongerThan, ctx: _Context) -> _Hit | None:
    clause = ctx.clause("Non-Compete")
    if clause is None:
        return None
    longest: tuple[float, str, Offsets] | None = None
    for passage in ctx.passages(clause):
        for start, end in _sentences(ctx.text, passage.start, passage.end):
            sentence = ctx.text[start:end]
            if _PERPETUAL.search(sentence):
                candidate = (float("inf"), "without time limit", Offsets(start, end))
                if longest is None or candidate[0] > longest[0]:
                    longest = candidate
            for duration, _s, _e in parse_durations(sentence):
                months = _months(duration)
                if longest is None or months > longest[0]:
                    longest = (months, duration.text or _describe(duration), Offsets(start, end))
    if longest is None or longest[0] <= options.months + 1e-9:
        return None
    months_text = "unlimited" if longest[0] == float("inf") else f"{longest[0]:g}"
    values = {"duration": longest[1], "months": months_text, "limit_months": str(options.months)}
    return _Hit(spans=(longest[2],), values=values)


_CONVENIENCE = re.compile(
    r"\bfor\s+(?:its\s+|their\s+|his\s+|her\s+)?convenience\b|\bfor\s+any\s+(?:or\s+no\s+)?reason\b"
    r"|\bfor\s+no\s+reason\b|\bwith(?:\s+or)?\s+without\s+cause\b|\bwithout\s+(?:cause|reason)\b"
    r"|\bat\s+any\s+time\b|\b(?:in|at)\s+its\s+(?:sole\s+|absolute\s+)*(?:option|discretion)\b"
    r"|\bwithout\s+(?:any\s+)?(?:liability|penalty)\b",
    re.IGNORECASE,
)
_TERMINATE_ACTIVE = re.compile(
    r"\b(?:may|can|(?:shall|will)\s+(?:have|be\s+entitled\s+to)|has|is\s+entitled\s+to|reserves)\b"
    r"[^.;]{0,80}?\bterminat",
    re.IGNORECASE,
)
_TERMINATE_PASSIVE = re.compile(r"\b(?:may|can)\s+be\s+terminated\b[^.;]{0,100}?\bby\s+", re.IGNORECASE)
_MUTUAL = re.compile(
    r"\b(?:either|each|any|both)\s+(?:of\s+the\s+)?part(?:y|ies)\b|\bthe\s+parties\b|\beither\s+of\s+them\b",
    re.IGNORECASE,
)
_ROLE_WORDS = (
    "Company",
    "Licensor",
    "Licensee",
    "Supplier",
    "Customer",
    "Distributor",
    "Client",
    "Contractor",
    "Consultant",
    "Vendor",
    "Buyer",
    "Seller",
    "Purchaser",
    "Provider",
    "Service Provider",
    "Franchisor",
    "Franchisee",
    "Employer",
    "Employee",
    "Agent",
    "Reseller",
    "Manufacturer",
    "Sponsor",
    "Developer",
)
_CORPORATE_SUFFIX = re.compile(
    r"[\s,]+(?:inc|incorporated|corp|corporation|co|company|ltd|limited|llc|l\.l\.c|plc|gmbh|s\.a|n\.v|b\.v|lp|llp)\.?$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class _Mention:
    holder: str  # "party:<index>", "role:<word>" or "mutual"
    start: int
    end: int


class _PartyFinder:
    """Finds party mentions (names, defined short names, roles) in a piece of text."""

    def __init__(self, ctx: _Context) -> None:
        self.names: dict[str, str] = {}  # holder key -> display name
        labels: list[tuple[str, str, bool]] = []  # (label, holder, case-sensitive)
        parties = ctx.findings.key_terms.parties
        for index, party in enumerate(parties):
            key = f"party:{index}"
            self.names[key] = party.short_name or party.name
            full = party.name.strip().strip(",.")
            for label in {full, _CORPORATE_SUFFIX.sub("", full)}:
                if len(label) >= 2:
                    labels.append((label, key, False))
            if party.short_name:
                labels.append((party.short_name, key, True))
            if party.role:
                labels.append((party.role.replace("_", " ").title(), key, True))
        taken = {label for label, _key, _case in labels}
        for word in _ROLE_WORDS:  # roles the text uses without key terms naming them
            if word not in taken:
                labels.append((word, f"role:{word}", True))
                self.names[f"role:{word}"] = word
        labels.sort(key=lambda item: len(item[0]), reverse=True)
        sensitive = [label for label, _key, case in labels if case]
        insensitive = [label for label, _key, case in labels if not case]
        self._holder = {label: key for label, key, case in labels if case}
        self._holder_folded = {label.casefold(): key for label, key, case in labels if not case}
        self._sensitive = self._compile(sensitive, 0)
        self._insensitive = self._compile(insensitive, re.IGNORECASE)

    @staticmethod
    def _compile(labels: list[str], flags: int) -> re.Pattern[str] | None:
        if not labels:
            return None
        alternation = "|".join(re.escape(label) for label in labels)
        return re.compile(rf"(?<!\w)(?:{alternation})(?!\w)", flags)

    def mentions(self, text: str) -> list[_Mention]:
        found = [_Mention("mutual", m.start(), m.end()) for m in _MUTUAL.finditer(text)]
        if self._sensitive is not None:
            found += [
                _Mention(self._holder[m.group(0)], m.start(), m.end()) for m in self._sensitive.finditer(text)
            ]
        if self._insensitive is not None:
            found += [
                _Mention(self._holder_folded[m.group(0).casefold()], m.start(), m.end())
                for m in self._insensitive.finditer(text)
            ]
        return sorted(found, key=lambda m: (m.start, -m.end))


# A capitalized name right before "may terminate" / right after "terminated by", for parties
# the key terms did not name ("NCC may terminate", "terminated by ArTara").
_NAME_BEFORE = re.compile(r"(?:^|\b(?:the\s+)?)(?P<name>[A-Z][\w&'-]*(?:\s+[A-Z][\w&'-]*){0,3})\s*,?\s*$")
_NAME_AFTER = re.compile(r"^\s*(?:the\s+)?(?P<name>[A-Z][\w&'-]*(?:\s+[A-Z][\w&'-]*){0,3})")
_NOT_A_NAME = frozenset(
    [
        "A",
        "An",
        "This",
        "The",
        "Such",
        "It",
        "Either",
        "Neither",
        "Each",
        "Any",
        "Both",
        "Agreement",
        "Party",
        "Parties",
    ]
)


def _named(match: re.Match[str] | None, finder: _PartyFinder) -> str | None:
    if match is None:
        return None
    words = match.group("name").split()
    while words and words[0] in _NOT_A_NAME:
        words.pop(0)
    if not words or any(word in _NOT_A_NAME for word in words):
        return None
    name = " ".join(words)
    finder.names.setdefault(f"name:{name}", name)
    return f"name:{name}"


def _termination_holders(sentence: str, finder: _PartyFinder) -> list[str]:
    holders: list[str] = []
    for match in _TERMINATE_ACTIVE.finditer(sentence):
        prefix = sentence[: match.start()]
        before = [m for m in finder.mentions(prefix) if m.end <= match.start()]
        holder = (
            max(before, key=lambda m: m.end).holder if before else _named(_NAME_BEFORE.search(prefix), finder)
        )
        if holder is not None:
            holders.append(holder)
    for match in _TERMINATE_PASSIVE.finditer(sentence):
        following = sentence[match.end() : match.end() + 80]
        after = finder.mentions(following)
        if after and after[0].start <= 12:
            holders.append(after[0].holder)
        elif (holder := _named(_NAME_AFTER.search(following), finder)) is not None:
            holders.append(holder)
    return holders


def _termination_one_sided(ctx: _Context) -> _Hit | None:
    clause = ctx.clause("Termination for Convenience")
    if clause is None:
        return None
    finder = _PartyFinder(ctx)
    sentences = [s for p in ctx.passages(clause) for s in _sentences(ctx.text, p.start, p.end)]
    convenience = [s for s in sentences if _CONVENIENCE.search(ctx.text, s[0], s[1])]
    holders: dict[str, list[Offsets]] = {}
    for start, end in convenience or sentences:
        for holder in _termination_holders(ctx.text[start:end], finder):
            holders.setdefault(holder, []).append(Offsets(start, end))
    if len(holders) != 1 or "mutual" in holders:
        return None
    holder, spans = next(iter(holders.items()))
    others = [name for key, name in finder.names.items() if key != holder and key.startswith("party:")]
    values = {
        "holder": finder.names.get(holder, holder),
        "other_party": others[0] if len(others) == 1 else "the other party",
    }
    return _Hit(spans=tuple(spans), values=values)


_INDEMNITY = re.compile(r"\bindemn\w*|\bhold\s+(?:\w+\s+){0,3}harmless\b", re.IGNORECASE)
_LIMIT_WORD = r"(?:limit|limits|limitation|limitations|cap|caps|ceiling|maximum|exclusions?)"
_UNLIMITED = (
    re.compile(r"\b(?:unlimited|uncapped)\b", re.IGNORECASE),
    re.compile(
        r"\bnot\s+(?:be\s+)?(?:subject\s+to|limited\s+by|restricted\s+by|counted\s+(?:toward|against))\b"
        rf"[^.]{{0,150}}?\b{_LIMIT_WORD}\b",
        re.IGNORECASE,
    ),
    re.compile(rf"\b{_LIMIT_WORD}\b[^.]{{0,250}}?\b(?:shall|will|does|do)\s+not\s+apply\b", re.IGNORECASE),
    re.compile(
        rf"\b(?:excluded|exempt(?:ed)?|carved\s+out)\s+from\b[^.]{{0,80}}?\b{_LIMIT_WORD}\b", re.IGNORECASE
    ),
    re.compile(rf"\bno\s+{_LIMIT_WORD}\s+(?:on|to|of)\b", re.IGNORECASE),
)
_WITHOUT_LIMIT = re.compile(
    # "without limitation of / to ..." means "without limiting ...", not "unlimited"
    r"\bwithout\s+(?:any\s+)?(?:limit|limitation|cap)\b(?!\s+(?:of|to|on|upon)\b)",
    re.IGNORECASE,
)
_INCLUDING_BEFORE = re.compile(r"(?:\b(?:including|include|includes|such\s+as|but)|[,(])\W*$", re.IGNORECASE)


def _unlimited_language(sentence: str) -> bool:
    if any(pattern.search(sentence) for pattern in _UNLIMITED):
        return True
    for match in _WITHOUT_LIMIT.finditer(sentence):
        before = sentence[max(0, match.start() - 25) : match.start()]
        after = sentence[match.end() : match.end() + 2]
        if _INCLUDING_BEFORE.search(before) and (after[:1] in (",", ")") or "includ" in before.lower()):
            continue  # "including, without limitation, ..."
        return True
    return False


def _indemnity_unlimited(ctx: _Context) -> _Hit | None:
    text = ctx.text
    limit = min(len(text), MAX_TEXT_MATCH_CHARS)
    spans: list[Offsets] = []
    for start, end in _sentences(text, 0, limit):
        if end - start > 5000:
            continue  # not a sentence (a table or run-on text): nothing reliable to read
        sentence = text[start:end]
        if _INDEMNITY.search(sentence) and _unlimited_language(sentence):
            spans.append(Offsets(start, end))
    if not spans:
        return None
    return _Hit(spans=tuple(spans), values={"count": str(len(spans))})


_REGEX_FLAGS = {"ignorecase": re.IGNORECASE, "multiline": re.MULTILINE, "dotall": re.DOTALL}


@lru_cache(maxsize=256)
def _compiled(pattern: str, flags: int) -> re.Pattern[str]:
    return re.compile(pattern, flags)


def _text_matches(options: TextMatches, ctx: _Context) -> _Hit | None:
    flags = 0
    for name in options.flags:
        flags |= _REGEX_FLAGS[name]
    matches = _limited(_compiled(options.pattern, flags).finditer(ctx.text, 0, options.max_chars), options)
    spans = tuple(Offsets(m.start(), m.end()) for m in matches if m.end() > m.start())
    if not spans:
        return None
    first = ctx.text[spans[0].start : spans[0].end]
    shown = first if len(first) <= 120 else first[:117] + "..."
    return _Hit(spans=spans, values={"match": shown, "count": str(len(spans))})


def _limited(matches: Iterator[re.Match[str]], options: TextMatches) -> list[re.Match[str]]:
    out: list[re.Match[str]] = []
    for match in matches:
        out.append(match)
        if len(out) >= options.max_matches:
            break
    return out


def _amount_over(options: AmountOver, ctx: _Context) -> _Hit | None:
    over = []
    for money in ctx.findings.money:
        if money.kind != options.kind or money.currency.upper() != options.currency:
            continue
        try:
            amount = Decimal(money.amount)
        except ArithmeticError:
            continue
        if amount.is_finite() and amount > options.amount:
            over.append((amount, money))
    if not over:
        return None
    largest = max(amount for amount, _money in over)
    values = {
        "amount": f"{largest:,f}",
        "currency": options.currency,
        "threshold": f"{options.amount:,f}",
        "kind": options.kind.replace("_", " "),
    }
    return _Hit(spans=tuple(Offsets(m.start, m.end) for _a, m in over), values=values)
