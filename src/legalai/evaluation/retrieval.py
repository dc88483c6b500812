"""Scoring retrieval on CUAD-format labels (convention in ``shared/data/README.md``, "Retrieval").

For each contract and each category whose labelled span is non-empty, one natural question about
that category is asked, restricted to that contract (a document filter, as a user would). A passage
is a hit when it contains the start of a labelled span (its first 80 characters, lower-cased with
punctuation and whitespace folded) or lies inside one. recall@5 counts questions with a hit in the
top 5; MRR is the mean reciprocal rank of the first hit within the top 10 (0 when none).

The questions below are our own wording, one per category; the evaluation set asks with other
words, so nothing downstream may depend on these phrasings.
"""

from __future__ import annotations

import ast
import csv
import re
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

QUESTIONS: dict[str, str] = {
    "Document Name": "What is the title of this agreement?",
    "Parties": "Who are the parties to this contract?",
    "Agreement Date": "When was this agreement signed or dated?",
    "Effective Date": "On what date does the agreement become effective?",
    "Expiration Date": "When does the initial term of the contract end?",
    "Renewal Term": "Does the agreement renew automatically, and for how long?",
    "Notice Period to Terminate Renewal": "How much notice is needed to prevent the contract from renewing?",
    "Governing Law": "Which jurisdiction's law governs this contract?",
    "Most Favored Nation": "Is a party entitled to terms at least as favorable as those offered to others?",
    "Competitive Restriction Exception": (
        "What exceptions are there to the non-compete or exclusivity restrictions?"
    ),
    "Non-Compete": "Is a party restricted from competing with the other party?",
    "Exclusivity": "Does the agreement grant exclusive rights or require exclusive dealing?",
    "No-Solicit of Customers": "Is a party prohibited from soliciting the other party's customers?",
    "No-Solicit of Employees": "Can a party hire or solicit the other party's employees?",
    "Non-Disparagement": "Are the parties prohibited from making disparaging statements?",
    "Termination for Convenience": "Can a party terminate the agreement without cause?",
    "Rofr/Rofo/Rofn": "Is there a right of first refusal, first offer or first negotiation?",
    "Change of Control": "What happens if a party undergoes a change of control or merger?",
    "Anti-Assignment": "Can the agreement be assigned to a third party without consent?",
    "Revenue/Profit Sharing": "Does a party have to share revenue, profits or royalties?",
    "Price Restrictions": "Are there restrictions on changing prices?",
    "Minimum Commitment": "Is there a minimum purchase or order commitment?",
    "Volume Restriction": "Are there limits on volume or usage beyond which fees change?",
    "IP Ownership Assignment": "Who owns intellectual property developed under the agreement?",
    "Joint IP Ownership": "Is any intellectual property jointly owned?",
    "License Grant": "What license is granted under the agreement?",
    "Non-Transferable License": "Is the license non-transferable or non-sublicensable?",
    "Affiliate License-Licensor": (
        "Does the license include intellectual property owned by the licensor's affiliates?"
    ),
    "Affiliate License-Licensee": "May the licensee's affiliates use the licensed rights?",
    "Unlimited/All-You-Can-Eat-License": "Is the license unlimited in the number of users or copies?",
    "Irrevocable or Perpetual License": "Is the license perpetual or irrevocable?",
    "Source Code Escrow": "Is source code deposited in escrow?",
    "Post-Termination Services": "What obligations continue after termination, such as transition services?",
    "Audit Rights": "Does a party have the right to audit books and records?",
    "Uncapped Liability": "Which liabilities are excluded from the limitation of liability?",
    "Cap on Liability": "Is there a cap on the amount of liability?",
    "Liquidated Damages": "Are liquidated damages or termination fees payable?",
    "Warranty Duration": "How long does the warranty last?",
    "Insurance": "What insurance must a party maintain?",
    "Covenant Not to Sue": "Is a party prohibited from suing or challenging the other's rights?",
    "Third Party Beneficiary": "Can third parties enforce the agreement as beneficiaries?",
}

_FOLD = re.compile(r"[\W_]+", re.UNICODE)
SPAN_PREFIX = 80
TOP_K = 5
MRR_DEPTH = 10


def fold(text: str) -> str:
    return _FOLD.sub(" ", text.lower()).strip()


def load_spans(labels_csv: Path | str) -> dict[str, dict[str, list[str]]]:
    """contract file -> category -> labelled spans (non-empty categories only)."""
    csv.field_size_limit(sys.maxsize)
    out: dict[str, dict[str, list[str]]] = {}
    with open(labels_csv, newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            name = row.get("contract_file") or ""
            cats: dict[str, list[str]] = {}
            for category in QUESTIONS:
                spans = _parse_cell(row.get(category) or "")
                if spans:
                    cats[category] = spans
            if name:
                out[name] = cats
    return out


def _parse_cell(cell: str) -> list[str]:
    cell = cell.strip()
    if not cell or cell == "[]":
        return []
    try:
        value = ast.literal_eval(cell)
    except (ValueError, SyntaxError):
        return [cell]
    if isinstance(value, str):
        value = [value]
    return [str(v) for v in value if str(v).strip()] if isinstance(value, list | tuple) else []


def is_hit(passage: str, spans: Iterable[str]) -> bool:
    folded = fold(passage)
    for span in spans:
        gold = fold(span)
        if not gold:
            continue
        if gold[:SPAN_PREFIX] in folded or folded in gold:
            return True
    return False


@dataclass
class ModeScore:
    hits_at_5: int = 0
    reciprocal: float = 0.0
    n: int = 0
    per_category: dict[str, list[int]] = field(default_factory=dict)  # category -> [hits, n]

    @property
    def recall_at_5(self) -> float:
        return self.hits_at_5 / self.n if self.n else 0.0

    @property
    def mrr(self) -> float:
        return self.reciprocal / self.n if self.n else 0.0

    def add(self, category: str, rank: int | None) -> None:
        self.n += 1
        found = rank is not None and rank <= TOP_K
        self.hits_at_5 += int(found)
        self.reciprocal += 1.0 / rank if rank is not None else 0.0
        cell = self.per_category.setdefault(category, [0, 0])
        cell[0] += int(found)
        cell[1] += 1

    def as_json(self) -> dict[str, float | int]:
        return {"recall_at_5": round(self.recall_at_5, 4), "mrr": round(self.mrr, 4), "n": self.n}


def first_hit_rank(passages: list[str], spans: list[str]) -> int | None:
    for rank, text in enumerate(passages[:MRR_DEPTH], start=1):
        if is_hit(text, spans):
            return rank
    return None


def score_retrieval(
    spans: dict[str, dict[str, list[str]]],
    ask: Callable[[str, str, str], list[str]],
    modes: Iterable[str],
    questions: dict[str, str] | None = None,
) -> dict[str, ModeScore]:
    """``ask(mode, contract, question)`` returns the passage texts, best first."""
    asked = questions or QUESTIONS
    scores = {mode: ModeScore() for mode in modes}
    for contract, categories in spans.items():
        for category, gold in categories.items():
            question = asked.get(category)
            if question is None:
                continue
            for mode, score in scores.items():
                score.add(category, first_hit_rank(ask(mode, contract, question), gold))
    return scores
