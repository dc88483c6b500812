"""Which CUAD clause categories a question is about, so the clause model can rank passages.

Three signals, each robust to wording in its own way, are combined into one weight per category:

* cue words: a small legal vocabulary per category (stemmed; "licence" and "license" alike),
  matched against the question's content words;
* the clause model itself read over the question (its passage features, without the bias term);
* similarity of the question's embedding to each category's description (name, gloss, cues).

The weights are a softmax over the combined score; ``confidence`` is the top weight. A question
that is about no clause (a party's address, a price) gets a flat distribution and low confidence,
and retrieval then relies on lexical and dense ranks alone.
"""

# ruff: noqa: E501  (the cue table reads best one category per line)
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from legalai.analysis.clauses import ClauseModel
from legalai.analysis.cuad import CATEGORIES
from legalai.retrieval.dense import Embedder
from legalai.retrieval.terms import question_terms
from legalai.search.query import stem

# Cue words per category: words a lawyer would use when asking about that clause.
CUES: dict[str, str] = {
    "Document Name": "title name called entitled document type kind",
    "Parties": "parties party signatory signatories signed who companies entities counterparty between",
    "Agreement Date": "date dated signed executed made entered when",
    "Effective Date": "effective commencement commence start begin begins force when",
    "Expiration Date": "expire expires expiration expiry term end ends until duration initial last",
    "Renewal Term": "renew renewal renewed automatically automatic extend extension successive evergreen",
    "Notice Period to Terminate Renewal": "notice non-renewal nonrenewal renewal prior days prevent terminate",
    "Governing Law": "law laws governing govern governed applicable jurisdiction construed state",
    "Most Favored Nation": "favored favoured favorable favourable most nation better worse pricing parity customers",
    "Competitive Restriction Exception": "exception exceptions carve-out carve excluded except notwithstanding restrictive covenant",
    "Non-Compete": "compete competing competitive competition competitor non-compete rival",
    "Exclusivity": "exclusive exclusively exclusivity sole only",
    "No-Solicit of Customers": "solicit solicitation customers clients customer client approach entice",
    "No-Solicit of Employees": "solicit solicitation hire hiring employ employees staff personnel recruit poach",
    "Non-Disparagement": "disparage disparaging disparagement negative derogatory reputation defame statements",
    "Termination for Convenience": "terminate termination convenience cause reason notice walk",
    "Rofr/Rofo/Rofn": "first refusal offer negotiation right match",
    "Change of Control": "change control merger merge acquired acquisition acquire takeover sale",
    "Anti-Assignment": "assign assignment assigned transfer delegate consent successor",
    "Revenue/Profit Sharing": "revenue profit profits royalty royalties share sharing percentage commission",
    "Price Restrictions": "price prices pricing increase decrease raise change",
    "Minimum Commitment": "minimum purchase order quantity commitment least quota buy",
    "Volume Restriction": "volume cap quantity units usage limit maximum number exceed",
    "IP Ownership Assignment": "own owns owner ownership intellectual property inventions work product developed assign",
    "Joint IP Ownership": "joint jointly co-owned co-own both ownership shared",
    "License Grant": "license licence licensed grant granted rights use",
    "Non-Transferable License": "non-transferable transferable sublicense sublicence sublicensable transfer license licence",
    "Affiliate License-Licensor": "licensor affiliates affiliate owned license licence",
    "Affiliate License-Licensee": "licensee affiliates affiliate subsidiaries subsidiary license licence",
    "Unlimited/All-You-Can-Eat-License": "unlimited enterprise seats copies users number license licence",
    "Irrevocable or Perpetual License": "perpetual irrevocable forever fully paid license licence",
    "Source Code Escrow": "escrow source code deposit release",
    "Post-Termination Services": "after termination post-termination transition wind survive expiry continue",
    "Audit Rights": "audit inspect inspection records books examine accounts",
    "Uncapped Liability": "uncapped unlimited liability excluded exclusions limitation cap apply",
    "Cap on Liability": "cap capped maximum liability limitation limit aggregate exceed liable",
    "Liquidated Damages": "liquidated damages penalty fee termination fixed",
    "Warranty Duration": "warranty warranties warrant period months long",
    "Insurance": "insurance insured coverage policy carry maintain insurer",
    "Covenant Not to Sue": "sue suit challenge contest validity covenant claims",
    "Third Party Beneficiary": "third party beneficiary beneficiaries enforce",
}

CUE_WEIGHT = 1.0
MODEL_WEIGHT = 0.35
EMBED_WEIGHT = 6.0
TEMPERATURE = 0.5


@dataclass
class Intent:
    weights: npt.NDArray[np.float64]  # per category of the clause model, sums to 1
    confidence: float
    top: list[tuple[str, float]]


class IntentRouter:
    def __init__(self, model: ClauseModel, embedder: Embedder | None = None) -> None:
        self.model = model
        self.embedder = embedder
        self.categories = model.categories
        self._cues = [{stem(w) for w in CUES.get(c, "").replace("-", " ").split()} for c in self.categories]
        self._idf = self._cue_idf()
        self._descriptions: npt.NDArray[np.float32] | None = None
        if embedder is not None:
            texts = [f"{c}. {CATEGORIES.get(c, '')} {CUES.get(c, '')}" for c in self.categories]
            self._descriptions = embedder.embed(texts)

    def _cue_idf(self) -> dict[str, float]:
        counts: dict[str, int] = {}
        for cues in self._cues:
            for w in cues:
                counts[w] = counts.get(w, 0) + 1
        n = len(self._cues)
        return {w: float(np.log(1 + n / c)) for w, c in counts.items()}

    def route(self, question: str) -> Intent:
        words = {stem(w) for w in question_terms(question)}
        score = np.zeros(len(self.categories), dtype=np.float64)
        for i, cues in enumerate(self._cues):
            score[i] += CUE_WEIGHT * sum(self._idf[w] for w in words & cues)
        logits = self.model.passage_logits([question])[0] - self.model.bias
        score += MODEL_WEIGHT * (logits - logits.mean())
        if self.embedder is not None and self._descriptions is not None:
            q = self.embedder.embed([question])[0]
            sims = self._descriptions @ q
            score += EMBED_WEIGHT * (sims - sims.mean())
        z = (score - score.max()) / TEMPERATURE
        weights = np.exp(z)
        weights /= weights.sum()
        order = np.argsort(-weights)[:3]
        return Intent(
            weights, float(weights[order[0]]), [(self.categories[i], float(weights[i])) for i in order]
        )
