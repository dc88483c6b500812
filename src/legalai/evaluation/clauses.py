"""Scoring CUAD clause classification, following the conventions of ``shared/data/README.md``.

* Snippets (``clause_snippets.tsv``: category, label Yes/No, contract_file, text): accuracy within
  each category, then the unweighted mean over categories; also the macro-F1 over the two labels
  (F1 of "Yes" and of "No" over all rows, averaged) and per-category accuracy.
* Clause presence (``labels.csv``): a category is present in a contract when its span column is
  not ``[]``. Every category except Document Name and Parties is scored per contract; per-category
  F1, and the macro-F1 over the categories with at least ``MIN_PRESENT`` present contracts.

Both scorers take predictions made elsewhere, so cross-validation can feed out-of-fold
predictions (``scripts/train_clauses.py --cv``); :func:`score_snippets` can also run a model.
"""

from __future__ import annotations

import ast
import csv
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

EXCLUDED_CATEGORIES = frozenset({"Document Name", "Parties"})
MIN_PRESENT = 5


class SnippetClassifier(Protocol):
    def classify_snippet(self, category: str, text: str) -> float: ...


@dataclass(frozen=True)
class Snippet:
    category: str
    label: bool
    contract_file: str
    text: str


@dataclass
class SnippetScores:
    mean_accuracy: float  # mean over categories of the per-category accuracy
    macro_f1: float  # mean of the F1 of "Yes" and of "No" over all rows
    pooled_accuracy: float
    per_category: dict[str, float] = field(default_factory=dict)  # accuracy
    counts: dict[str, int] = field(default_factory=dict)
    n: int = 0


@dataclass(frozen=True)
class CategoryScore:
    present: int  # contracts that have the clause
    predicted: int
    true_positive: int

    @property
    def precision(self) -> float:
        return self.true_positive / self.predicted if self.predicted else (1.0 if not self.present else 0.0)

    @property
    def recall(self) -> float:
        return self.true_positive / self.present if self.present else 1.0

    @property
    def f1(self) -> float:
        denom = self.present + self.predicted
        return 2 * self.true_positive / denom if denom else 1.0


@dataclass
class PresenceScores:
    macro_f1: float  # over categories with at least MIN_PRESENT present contracts
    per_category: dict[str, CategoryScore] = field(default_factory=dict)
    scored_categories: list[str] = field(default_factory=list)  # those in the macro average
    n_contracts: int = 0


def _f1(tp: int, fp: int, fn: int) -> float:
    denom = 2 * tp + fp + fn
    return 2 * tp / denom if denom else 1.0


def read_snippets(path: str | Path) -> list[Snippet]:
    """Rows of ``clause_snippets.tsv``."""
    csv.field_size_limit(sys.maxsize)
    with open(path, newline="", encoding="utf-8") as fh:
        return [
            Snippet(r["category"], r["label"].strip().lower() == "yes", r["contract_file"], r["text"])
            for r in csv.DictReader(fh, delimiter="\t")
        ]


def score_snippet_predictions(
    snippets: Sequence[Snippet], probabilities: Sequence[float], threshold: float = 0.5
) -> SnippetScores:
    """Score probabilities (one per snippet, in order) thresholded at ``threshold``."""
    if len(snippets) != len(probabilities):
        raise ValueError("one probability per snippet expected")
    right: dict[str, int] = {}
    total: dict[str, int] = {}
    tp = fp = fn = tn = 0
    for snip, prob in zip(snippets, probabilities, strict=True):
        pred = prob >= threshold
        total[snip.category] = total.get(snip.category, 0) + 1
        right[snip.category] = right.get(snip.category, 0) + (pred == snip.label)
        if pred and snip.label:
            tp += 1
        elif pred:
            fp += 1
        elif snip.label:
            fn += 1
        else:
            tn += 1
    per_category = {c: right[c] / total[c] for c in sorted(total)}
    n = len(snippets)
    return SnippetScores(
        mean_accuracy=sum(per_category.values()) / len(per_category) if per_category else 0.0,
        macro_f1=(_f1(tp, fp, fn) + _f1(tn, fn, fp)) / 2 if n else 0.0,
        pooled_accuracy=(tp + tn) / n if n else 0.0,
        per_category=per_category,
        counts=dict(sorted(total.items())),
        n=n,
    )


def score_snippets(
    snippets_tsv: str | Path | Sequence[Snippet],
    model: SnippetClassifier,
    contracts: Iterable[str] | None = None,
) -> SnippetScores:
    """Run ``model.classify_snippet`` on every snippet (optionally only those of ``contracts``)."""
    rows = read_snippets(snippets_tsv) if isinstance(snippets_tsv, str | Path) else list(snippets_tsv)
    if contracts is not None:
        keep = set(contracts)
        rows = [r for r in rows if r.contract_file in keep]
    probs = [model.classify_snippet(r.category, r.text) for r in rows]
    return score_snippet_predictions(rows, probs)


def read_presence(labels_csv: str | Path) -> tuple[list[str], dict[str, set[str]]]:
    """Categories (span columns, in file order) and, per contract file, the categories present."""
    csv.field_size_limit(sys.maxsize)
    with open(labels_csv, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        fields = list(reader.fieldnames or [])
        categories = [
            f for f in fields if f not in ("contract_file", "Filename") and not f.endswith("-Answer")
        ]
        present: dict[str, set[str]] = {}
        for row in reader:
            present[row["contract_file"]] = {c for c in categories if _has_span(row.get(c, ""))}
    return categories, present


def _has_span(cell: str | None) -> bool:
    cell = (cell or "").strip()
    if not cell:
        return False
    try:
        value = ast.literal_eval(cell)
    except (ValueError, SyntaxError):
        return cell != "[]"
    if isinstance(value, list | tuple):
        return any(str(v).strip() for v in value)
    return bool(str(value).strip())


def score_clause_presence(
    predicted: Mapping[str, set[str] | frozenset[str]],
    labels_csv: str | Path,
    min_present: int = MIN_PRESENT,
) -> PresenceScores:
    """Per-category F1 of clause presence over the contracts in ``predicted``.

    Contracts missing from ``labels_csv`` are ignored; a contract of ``labels_csv`` missing from
    ``predicted`` is not scored (so out-of-fold subsets can be scored on their own).
    """
    categories, truth = read_presence(labels_csv)
    scored = [c for c in categories if c not in EXCLUDED_CATEGORIES]
    contracts = [f for f in predicted if f in truth]
    per_category: dict[str, CategoryScore] = {}
    for cat in scored:
        present = sum(cat in truth[f] for f in contracts)
        pred = sum(cat in predicted[f] for f in contracts)
        tp = sum(cat in truth[f] and cat in predicted[f] for f in contracts)
        per_category[cat] = CategoryScore(present, pred, tp)
    macro_cats = [c for c in scored if per_category[c].present >= min_present]
    macro = sum(per_category[c].f1 for c in macro_cats) / len(macro_cats) if macro_cats else 0.0
    return PresenceScores(macro, per_category, macro_cats, len(contracts))
