"""Scoring citation extraction against eyecite-format test cases (`legalai eval citations`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from eyecite import clean_text

from legalai.analysis.citations import Citation, find_citations

# Expected types in the cases file -> the kinds this project reports.
_KINDS = {
    "case": {"case", "short_case"},  # the cases file types short case citations as "case" too
    "law": {"statute", "regulation", "public_law"},
    "id": {"id"},
    "supra": {"supra"},
    "reference": {"reference"},
    "journal": {"journal"},
}


@dataclass
class TypeScore:
    expected: int = 0
    found: int = 0
    matched: int = 0

    @property
    def recall(self) -> float:
        return self.matched / self.expected if self.expected else 1.0


@dataclass
class CitationScore:
    per_type: dict[str, TypeScore] = field(default_factory=dict)
    extra: int = 0  # found citations that match nothing expected

    @property
    def expected(self) -> int:
        return sum(t.expected for t in self.per_type.values())

    @property
    def matched(self) -> int:
        return sum(t.matched for t in self.per_type.values())

    @property
    def recall(self) -> float:
        return self.matched / self.expected if self.expected else 1.0

    @property
    def precision(self) -> float:
        found = self.matched + self.extra
        return self.matched / found if found else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def _fields(expected: dict[str, Any]) -> dict[str, str]:
    wanted = {k: str(expected[k]) for k in ("volume", "reporter", "page") if expected.get(k) is not None}
    wanted.update({k: str(v) for k, v in (expected.get("groups") or {}).items() if v is not None})
    return wanted


def _matches(expected: dict[str, Any], found: Citation) -> bool:
    if found.kind not in _KINDS.get(expected["type"], set()):
        return False
    for key, value in _fields(expected).items():
        if key == "reporter":
            # Expected reporters are in their corrected form ("P.2d" for "P2d").
            squeeze = value.replace(" ", "")
            reporter = str(found.groups.get("reporter", "")).replace(" ", "")
            if squeeze != reporter and squeeze not in found.normalized.replace(" ", ""):
                return False
        elif key in found.groups and found.groups[key] != value:
            return False
    return True


def score_cases(cases: list[dict[str, Any]]) -> CitationScore:
    score = CitationScore()
    for case in cases:
        text = case["text"]
        steps = (case.get("kwargs") or {}).get("clean_steps")
        if steps:
            text = clean_text(text, steps)
        found = find_citations(text)
        used: set[int] = set()
        for expected in case["expected"]:
            if expected["type"] not in _KINDS:
                continue  # "unknown" citations are not reported by design
            bucket = score.per_type.setdefault(expected["type"], TypeScore())
            bucket.expected += 1
            hit = next((i for i, f in enumerate(found) if i not in used and _matches(expected, f)), None)
            if hit is not None:
                used.add(hit)
                bucket.matched += 1
        score.extra += len(found) - len(used)
        for f in found:
            for name, kinds in _KINDS.items():
                if f.kind in kinds:
                    score.per_type.setdefault(name, TypeScore()).found += 1
    return score
