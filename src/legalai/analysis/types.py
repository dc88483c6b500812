"""Findings produced by the analyzers, with offsets into the text they were given.

Every analyzer is a pure function over one string (a document's pages joined by
``PAGE_SEPARATOR``) and returns these dataclasses with ``start``/``end`` offsets into that
string, so ``text[start:end]`` is the evidence. ``legalai.analysis.pipeline`` maps the offsets
to (page, start, end) spans of the stored pages; analyzers never deal with pages.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from legalai.analysis.citations import Citation

# Pages are joined with this separator before analysis; a form feed never occurs in
# extracted page text (extractors normalize whitespace), so offsets map back unambiguously.
PAGE_SEPARATOR = "\n\f\n"

# Document types the key-term analyzer reports (``KeyTerms.document_type``) and playbooks may name.
NON_CONTRACT_TYPES = frozenset({"court_decision", "pleading", "correspondence"})
DOCUMENT_TYPES: tuple[str, ...] = (
    "nda",
    "license",
    "services",
    "consulting",
    "supply",
    "distribution",
    "reseller",
    "agency",
    "franchise",
    "joint_venture",
    "partnership",
    "strategic_alliance",
    "collaboration",
    "development",
    "manufacturing",
    "maintenance",
    "hosting",
    "outsourcing",
    "marketing",
    "promotion",
    "sponsorship",
    "endorsement",
    "co_branding",
    "affiliate",
    "ip_assignment",
    "transportation",
    "non_compete",
    "employment",
    "lease",
    "loan",
    "purchase",
    "settlement",
    "other",
    *sorted(NON_CONTRACT_TYPES),
)

DurationUnit = Literal["days", "business_days", "weeks", "months", "years"]


@dataclass(frozen=True)
class Offsets:
    start: int
    end: int


@dataclass(frozen=True)
class Duration:
    """A normalized length of time: ``value`` units, with an approximate length in days."""

    value: float
    unit: DurationUnit
    days: int  # months = 30, years = 365, business days = 7/5, for comparisons only
    text: str = ""

    @property
    def iso(self) -> str:
        """ISO 8601 duration, e.g. P30D, P12M, P2Y (business days as days)."""
        number = int(self.value) if float(self.value).is_integer() else self.value
        code = {"days": "D", "business_days": "D", "weeks": "W", "months": "M", "years": "Y"}
        return f"P{number}{code[self.unit]}"


@dataclass(frozen=True)
class Party:
    name: str  # as written, e.g. "Acme Corp."
    start: int
    end: int
    short_name: str | None = None  # defined name, e.g. "Supplier" from (the "Supplier")
    role: str | None = None  # normalized role when recognizable: licensor, supplier, ...


@dataclass(frozen=True)
class DateFinding:
    kind: Literal["agreement_date", "effective_date", "expiration_date"]
    value: str | None  # ISO date, or None when found but not a calendar date (e.g. "perpetual")
    start: int
    end: int
    confidence: float = 1.0


@dataclass(frozen=True)
class Jurisdiction:
    jurisdiction: str  # normalized: "Delaware", "New York", "England and Wales", ...
    start: int
    end: int


@dataclass(frozen=True)
class TermInfo:
    """Term, renewal and notice periods."""

    initial_term: Duration | None = None
    perpetual: bool = False
    automatic_renewal: bool | None = None  # None: the text says nothing recognizable
    renewal_term: Duration | None = None
    notice_to_terminate_renewal: Duration | None = None
    evidence: tuple[Offsets, ...] = ()


@dataclass(frozen=True)
class Money:
    amount: str  # decimal string, e.g. "1500000.00"
    currency: str  # ISO 4217 code, e.g. "USD"
    kind: Literal["liability_cap", "fee", "other"]
    start: int
    end: int


@dataclass(frozen=True)
class DefinedTerm:
    term: str
    definition: str
    start: int  # span of the whole definition (term and text)
    end: int


@dataclass(frozen=True)
class CrossReference:
    target: str  # normalized, e.g. "Section 12.3", "Exhibit A"
    start: int
    end: int


@dataclass(frozen=True)
class KeyTerms:
    document_type: str  # "nda", "license", ..., "other"
    document_type_confidence: float
    parties: tuple[Party, ...] = ()
    dates: tuple[DateFinding, ...] = ()
    governing_law: Jurisdiction | None = None
    venue: Jurisdiction | None = None
    term: TermInfo = field(default_factory=TermInfo)


@dataclass(frozen=True)
class ClauseFinding:
    category: str  # exact CUAD category name from labels.csv
    confidence: float  # calibrated probability that the contract contains this clause
    spans: tuple[Offsets, ...]  # the passages that carry it, best first


@dataclass(frozen=True)
class PersonalDataFinding:
    # person_name, email, phone, postal_address, date_of_birth, ssn, tax_id, account_number,
    # card_number, iban, medical_record_number, diagnosis, medication
    type: str
    start: int
    end: int
    confidence: float


@dataclass(frozen=True)
class Deadline:
    description: str  # the sentence or clause that sets it, trimmed
    start: int
    end: int
    due_date: str | None  # ISO date when resolvable
    anchor: str | None = None  # "Effective Date", "receipt of notice", a literal date...
    offset: Duration | None = None  # "within 30 days after" -> 30 days
    relation: Literal["before", "after", "on", "no_later_than"] | None = None


@dataclass(frozen=True)
class RiskFlag:
    rule: str  # rule id from the playbook
    severity: Literal["low", "medium", "high", "critical"]
    title: str
    explanation: str
    spans: tuple[Offsets, ...] = ()  # empty when the flag rests on an absence
    absent: bool = False


@dataclass(frozen=True)
class Findings:
    """Everything the analyzers found in one text, before playbooks and page mapping.

    Playbook rules are evaluated over this (``text`` included, so a rule can read the
    passages a clause finding points to).
    """

    text: str
    key_terms: KeyTerms
    clauses: tuple[ClauseFinding, ...] = ()
    citations: tuple[Citation, ...] = ()
    personal_data: tuple[PersonalDataFinding, ...] = ()
    money: tuple[Money, ...] = ()
    defined_terms: tuple[DefinedTerm, ...] = ()
    cross_references: tuple[CrossReference, ...] = ()
    deadlines: tuple[Deadline, ...] = ()

    def clause(self, category: str) -> ClauseFinding | None:
        return next((c for c in self.clauses if c.category == category), None)
