"""CUAD clause classification: which of the 41 CUAD clause categories a contract contains, and where.

Method
------
1. **Segmentation** (:func:`segment`). The text is cut into passages: paragraphs (blank-line
   separated); paragraphs longer than ``MAX_PASSAGE`` characters are cut at sentence ends into
   pieces of at most about that size (a hard cut when there is no sentence end); a short
   paragraph (a heading such as ``12. GOVERNING LAW``) is glued to the paragraph that follows,
   so the heading's words count as evidence for the clause under it. Every passage is an exact
   ``(start, end)`` slice of the input, trimmed of surrounding whitespace.
2. **Features** (:class:`Featurizer`, configured by :class:`FeatureConfig`). Lower-cased word
   unigrams and bigrams (numbers folded to their digit count), plus the first 6 letters of every
   longer word (so "disparage", "disparaging" and "disparagement" share evidence) and the words
   within 4 after a negation ("no", "not", "nothing", ...) marked as negated (so "there are no
   third party beneficiaries" differs from "X is a third party beneficiary"), looked up in a
   fixed vocabulary; sub-linear TF (``1 + log tf``) times IDF, L2-normalized. Computed with numpy
   only. A pivoted length norm is supported (``FeatureConfig.pivot``) but not used by the shipped
   model: it helped contract-level detection a little and cost snippet accuracy. Artifacts
   without a feature configuration use plain unigrams+bigrams (the earlier model).
3. **Passage model**. One linear model (logistic regression, trained offline by
   ``scripts/train_clauses.py``) per category over those features: ``logit = x @ W[:, c] + b[c]``.
   It was trained on passages cut from the contracts themselves (positive when the passage
   overlaps a labelled span of that category), the labelled spans themselves (positive for their
   own categories, negative for the others) and the labelled clause snippets; positives of rare
   categories are up-weighted.
4. **Contract level**. A contract's score for a category is the largest passage logit. A
   per-category Platt scaling ``sigmoid(a * score + b)``, fitted on cross-validated
   (out-of-fold) contract scores, turns it into the probability that the contract has the
   clause; the category is reported when that probability reaches a per-category threshold
   chosen to maximize out-of-fold F1 (never flagging more than 2.5x the training prevalence).
   The spans are the best-scoring passages. (Richer second-stage models -- top-k logits, counts
   of high-scoring passages, position, related categories' scores, a whole-document TF-IDF model
   -- were measured and gave no gain over the best passage logit, so they are not used.)
5. **Snippets**. :meth:`ClauseModel.classify_snippet` applies the passage model to one snippet
   and combines two numbers with a per-category logistic calibration fitted on out-of-fold
   snippet scores: the snippet's logit for the asked category and its best logit among the
   other categories (snippets' hard negatives are clauses of other categories, so "this reads
   more like an Insurance clause" is evidence against "Cap on Liability").

The artifact is plain data: ``clauses.npz`` (arrays, loaded with ``allow_pickle=False``) and
``clauses.json`` (vocabulary, category names, metadata) under ``legalai/analysis/clause_model/``.
Inference needs numpy and the standard library only.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from legalai.analysis.types import ClauseFinding, Offsets

MODEL_DIR = Path(__file__).resolve().parent / "clause_model"
DEFAULT_ARTIFACT = MODEL_DIR / "clauses"  # clauses.npz + clauses.json

MAX_PASSAGE = 900  # characters; longer paragraphs are cut at sentence ends
HEADING_MAX = 100  # paragraphs up to this long are glued to the next one
BATCH_PASSAGES = 2048  # passages featurized and scored at a time (bounded memory)
MAX_SPANS = 3  # spans reported per finding
SPAN_MARGIN = 2.0  # report further passages whose logit is within this of the best one

FloatArray = npt.NDArray[np.float32]

_PARA_BREAK = re.compile(r"\n[ \t\r\f\v]*\n\s*")
_SENTENCE_END = re.compile(r"(?<=[.;:!?])[\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9])")
_TOKEN = re.compile(r"[a-z]+|[0-9]+")


def normalize_category(name: str) -> str:
    """Fold a category name so that labels.csv and snippet spellings agree.

    ``"Cap On Liability"`` / ``"Cap on Liability"`` and ``"Rofr-Rofo-Rofn"`` /
    ``"Rofr/Rofo/Rofn"`` map to the same key.
    """
    return re.sub(r"[^a-z0-9]+", " ", name.lower()).strip()


# ----------------------------------------------------------------------------------------------
# Segmentation
# ----------------------------------------------------------------------------------------------


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _paragraphs(text: str) -> Iterator[tuple[int, int]]:
    pos = 0
    for m in _PARA_BREAK.finditer(text):
        start, end = _trim(text, pos, m.start())
        if end > start:
            yield start, end
        pos = m.end()
    start, end = _trim(text, pos, len(text))
    if end > start:
        yield start, end


def _split_long(text: str, start: int, end: int, limit: int) -> Iterator[tuple[int, int]]:
    """Cut ``text[start:end]`` at sentence ends into pieces of at most about ``limit`` chars."""
    piece_start = start
    last_cut = -1
    for m in _SENTENCE_END.finditer(text, start, end):
        cut = m.start()
        if cut - piece_start > limit:
            if last_cut > piece_start:
                yield piece_start, last_cut
                piece_start = last_cut
            # the sentence alone may still be too long: hard cuts at whitespace
            while cut - piece_start > limit:
                hard = _hard_cut(text, piece_start, cut, limit)
                yield piece_start, hard
                piece_start = hard
        last_cut = cut
    if end - piece_start > limit and last_cut > piece_start:
        yield piece_start, last_cut
        piece_start = last_cut
    while end - piece_start > limit:
        hard = _hard_cut(text, piece_start, end, limit)
        yield piece_start, hard
        piece_start = hard
    yield piece_start, end


def _hard_cut(text: str, start: int, end: int, limit: int) -> int:
    cut = text.rfind(" ", start + limit // 2, start + limit)
    return cut if cut > start else start + limit


def segment(text: str, max_len: int = MAX_PASSAGE) -> list[tuple[int, int]]:
    """Passages of ``text`` as ``(start, end)`` offsets, in order, non-overlapping, trimmed.

    ``text[start:end]`` is the passage; no passage is empty or starts/ends with whitespace.
    """
    return list(iter_segments(text, max_len))


def iter_segments(text: str, max_len: int = MAX_PASSAGE) -> Iterator[tuple[int, int]]:
    """Lazy version of :func:`segment` (for very large texts)."""
    pending: int | None = None  # start of a heading waiting for its paragraph
    for p_start, p_end in _paragraphs(text):
        if pending is not None:
            p_start = pending
            pending = None
        if p_end - p_start <= HEADING_MAX:
            pending = p_start
            continue
        if p_end - p_start <= max_len:
            yield p_start, p_end
            continue
        for s, e in _split_long(text, p_start, p_end, max_len):
            s, e = _trim(text, s, e)
            if e > s:
                yield s, e
    if pending is not None:
        s, e = _trim(text, pending, len(text))
        if e > s:
            yield s, e


# ----------------------------------------------------------------------------------------------
# Features
# ----------------------------------------------------------------------------------------------


def tokens(text: str) -> list[str]:
    """Lower-cased word tokens; a number becomes ``#`` repeated by its digit count (max 4)."""
    out = _TOKEN.findall(text.lower())
    return [("#" * min(len(t), 4)) if t[0].isdigit() else t for t in out]


NEGATIONS = frozenset({"no", "not", "nothing", "none", "neither", "nor", "never", "without"})


@dataclass(frozen=True)
class FeatureConfig:
    """How passages become features; stored with the model (``features`` in its JSON).

    ``stem_len``: also emit ``"~" + word[:stem_len]`` for longer words (0: off).
    ``negation_window``: also emit ``"!" + word`` for the words that many tokens after a negation
    word (0: off). ``pivot``: length normalization ``(1 - pivot) * pivot_norm + pivot * norm``
    (1.0: plain L2 normalization).
    """

    stem_len: int = 0
    negation_window: int = 0
    pivot: float = 1.0
    pivot_norm: float = 1.0

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> FeatureConfig:
        """Missing keys (and a missing configuration: artifacts older than it) take the plain defaults."""
        plain = cls()
        known = {f.name for f in fields(cls)}
        return cls(**{k: type(getattr(plain, k))(v) for k, v in (data or {}).items() if k in known})

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def features(text: str, config: FeatureConfig) -> list[str]:
    """Feature strings of ``text``: unigrams and bigrams (``"a b"``) of :func:`tokens`, plus stems
    and negated words per ``config``."""
    toks = tokens(text)
    out = toks + [f"{a} {b}" for a, b in itertools.pairwise(toks)]
    if config.stem_len:
        n = config.stem_len
        out.extend("~" + t[:n] for t in toks if len(t) > n)
    if config.negation_window:
        left = 0
        for t in toks:
            if t in NEGATIONS:
                left = config.negation_window
            elif left:
                out.append("!" + t)
                left -= 1
    return out


# The configuration new models are trained with (``scripts/train_clauses.py``).
DEFAULT_FEATURES = FeatureConfig(stem_len=6, negation_window=4)


@dataclass
class SparseRows:
    """A batch of feature rows in coordinate form: row ``rows[i]`` has ``vals[i]`` at ``cols[i]``."""

    n_rows: int
    rows: npt.NDArray[np.int64]
    cols: npt.NDArray[np.int64]
    vals: FloatArray


class Featurizer:
    """TF-IDF over a fixed vocabulary of :func:`features` (sub-linear TF; L2 norm, optionally
    pivoted per ``config``)."""

    def __init__(
        self, vocabulary: Sequence[str], idf: npt.ArrayLike, config: FeatureConfig | None = None
    ) -> None:
        self.vocabulary = list(vocabulary)
        self.index = {term: i for i, term in enumerate(self.vocabulary)}
        self.idf = np.asarray(idf, dtype=np.float32)
        self.config = config or FeatureConfig()

    def raw_norms(self, texts: Iterable[str]) -> FloatArray:
        """L2 norm of each text's TF-IDF row before normalization (to set ``pivot_norm``)."""
        x = self._raw(texts)
        return np.sqrt(np.bincount(x.rows, weights=x.vals * x.vals, minlength=x.n_rows)).astype(np.float32)

    @property
    def n_features(self) -> int:
        return len(self.vocabulary)

    def _raw(self, texts: Iterable[str]) -> SparseRows:
        """Sub-linear TF times IDF, not yet normalized."""
        index = self.index
        n_feat = len(self.vocabulary)
        config = self.config
        keys: list[int] = []
        n = 0
        for row, text in enumerate(texts):
            base = row * n_feat
            for g in features(text, config):
                i = index.get(g)
                if i is not None:
                    keys.append(base + i)
            n = row + 1
        if not keys:
            empty_i = np.zeros(0, dtype=np.int64)
            return SparseRows(n, empty_i, empty_i.copy(), np.zeros(0, dtype=np.float32))
        uniq, counts = np.unique(np.asarray(keys, dtype=np.int64), return_counts=True)
        rows = uniq // n_feat
        cols = uniq % n_feat
        raw: FloatArray = ((1.0 + np.log(counts.astype(np.float32))) * self.idf[cols]).astype(np.float32)
        return SparseRows(n, rows, cols, raw)

    def transform(self, texts: Iterable[str]) -> SparseRows:
        x = self._raw(texts)
        if not x.rows.size:
            return x
        norms = np.sqrt(np.bincount(x.rows, weights=x.vals * x.vals, minlength=x.n_rows)).astype(np.float32)
        pivot = self.config.pivot
        if pivot != 1.0:
            norms = ((1.0 - pivot) * self.config.pivot_norm + pivot * norms).astype(np.float32)
        vals: FloatArray = (x.vals / norms[x.rows]).astype(np.float32)
        return SparseRows(x.n_rows, x.rows, x.cols, vals)


def linear_scores(x: SparseRows, weights: FloatArray, bias: FloatArray) -> FloatArray:
    """``x @ weights + bias`` for a :class:`SparseRows` batch -> ``(n_rows, n_outputs)``."""
    out = np.zeros((x.n_rows, weights.shape[1]), dtype=np.float32)
    if x.rows.size:
        contrib = weights[x.cols] * x.vals[:, None]
        _segment_sum(out, x.rows, contrib)
    out += bias[None, :]
    return out


def _segment_sum(out: FloatArray, rows: npt.NDArray[np.int64], contrib: FloatArray) -> None:
    # rows are sorted (np.unique output): sum each run of equal rows with reduceat
    starts = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]])
    out[rows[starts]] = np.add.reduceat(contrib, starts, axis=0)


def sigmoid(x: npt.ArrayLike) -> npt.NDArray[np.float64]:
    z = np.clip(np.asarray(x, dtype=np.float64), -40.0, 40.0)
    result: npt.NDArray[np.float64] = 1.0 / (1.0 + np.exp(-z))
    return result


# ----------------------------------------------------------------------------------------------
# The model
# ----------------------------------------------------------------------------------------------


def text_fingerprint(text: str) -> str:
    """A short content hash, recorded for the training texts (whitespace-insensitive)."""
    return hashlib.sha256(" ".join(text.split()).encode("utf-8", "replace")).hexdigest()[:16]


class ClauseModel:
    """Per-category linear passage classifiers with contract-level calibration.

    Arrays (see ``scripts/train_clauses.py``): ``idf (V,)``, ``weights (V, C)``, ``bias (C,)``,
    ``doc_a``, ``doc_b`` (contract Platt scaling), ``doc_threshold`` (on the calibrated
    probability), ``snip_a``, ``snip_o``, ``snip_b`` (snippet calibration: own logit, best
    other-category logit, intercept), ``snip_other`` (1 where a category counts as "other"
    evidence), all ``(C,)``.
    """

    def __init__(
        self,
        categories: Sequence[str],
        featurizer: Featurizer,
        arrays: dict[str, FloatArray],
        metadata: dict[str, Any] | None = None,
        version: str = "",
    ) -> None:
        self.categories = list(categories)
        self.featurizer = featurizer
        self.weights = np.ascontiguousarray(arrays["weights"], dtype=np.float32)
        self.bias = np.asarray(arrays["bias"], dtype=np.float32)
        self.doc_a = np.asarray(arrays["doc_a"], dtype=np.float64)
        self.doc_b = np.asarray(arrays["doc_b"], dtype=np.float64)
        self.doc_threshold = np.asarray(arrays["doc_threshold"], dtype=np.float64)
        self.snip_a = np.asarray(arrays["snip_a"], dtype=np.float64)
        self.snip_b = np.asarray(arrays["snip_b"], dtype=np.float64)
        n_cat = len(self.categories)
        self.snip_o = np.asarray(arrays.get("snip_o", np.zeros(n_cat)), dtype=np.float64)
        self.snip_other = np.asarray(arrays.get("snip_other", np.ones(n_cat)), dtype=bool)
        self.metadata = dict(metadata or {})
        self.version = version
        self._by_key = {normalize_category(c): i for i, c in enumerate(self.categories)}

    @property
    def training_hashes(self) -> frozenset[str]:
        """``text_fingerprint`` of every contract the model was trained on (from its metadata)."""
        return frozenset(self.metadata.get("training_contract_sha256", ()))

    @property
    def training_snippet_hashes(self) -> frozenset[str]:
        return frozenset(self.metadata.get("training_snippet_sha256", ()))

    # -- persistence ---------------------------------------------------------------------------

    @classmethod
    def load(cls, path: str | Path | None = None) -> ClauseModel:
        """Load an artifact: ``path`` is the common stem of ``<stem>.npz`` and ``<stem>.json``
        (either file name works too). Default: the artifact shipped in the package."""
        stem = Path(path) if path is not None else DEFAULT_ARTIFACT
        if stem.suffix in (".npz", ".json"):
            stem = stem.with_suffix("")
        npz_path, json_path = stem.with_suffix(".npz"), stem.with_suffix(".json")
        meta_bytes = json_path.read_bytes()
        npz_bytes = npz_path.read_bytes()
        meta = json.loads(meta_bytes)
        digest = hashlib.sha256(meta_bytes + npz_bytes).hexdigest()[:16]
        with np.load(npz_path, allow_pickle=False) as data:
            arrays = {k: np.asarray(data[k], dtype=np.float32) for k in data.files}
        config = FeatureConfig.from_json(meta.get("features"))
        featurizer = Featurizer(meta["vocabulary"], arrays.pop("idf"), config)
        return cls(meta["categories"], featurizer, arrays, meta.get("metadata", {}), digest)

    def save(self, path: str | Path) -> None:
        """Write ``<stem>.npz`` (float16 weights, compressed) and ``<stem>.json``."""
        stem = Path(path)
        if stem.suffix in (".npz", ".json"):
            stem = stem.with_suffix("")
        stem.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(
            stem.with_suffix(".npz"),
            idf=self.featurizer.idf.astype(np.float32),
            weights=self.weights.astype(np.float16),
            bias=self.bias.astype(np.float32),
            doc_a=self.doc_a.astype(np.float32),
            doc_b=self.doc_b.astype(np.float32),
            doc_threshold=self.doc_threshold.astype(np.float32),
            snip_a=self.snip_a.astype(np.float32),
            snip_b=self.snip_b.astype(np.float32),
            snip_o=self.snip_o.astype(np.float32),
            snip_other=self.snip_other.astype(np.float32),
        )
        meta = {
            "categories": self.categories,
            "vocabulary": self.featurizer.vocabulary,
            "features": self.featurizer.config.to_json(),
            "metadata": self.metadata,
        }
        stem.with_suffix(".json").write_text(json.dumps(meta, separators=(",", ":")), encoding="utf-8")

    # -- scoring ---------------------------------------------------------------------------------

    def category_index(self, category: str) -> int:
        """Column of ``category`` (any spelling that :func:`normalize_category` folds equal)."""
        try:
            return self._by_key[normalize_category(category)]
        except KeyError:
            raise KeyError(f"unknown clause category: {category!r}") from None

    def passage_logits(self, texts: Sequence[str]) -> FloatArray:
        """Raw passage logits ``(len(texts), n_categories)``."""
        out = np.zeros((len(texts), len(self.categories)), dtype=np.float32)
        for i in range(0, len(texts), BATCH_PASSAGES):
            batch = texts[i : i + BATCH_PASSAGES]
            out[i : i + len(batch)] = linear_scores(self.featurizer.transform(batch), self.weights, self.bias)
        return out

    def _scan(self, text: str) -> tuple[list[tuple[int, int]], FloatArray, npt.NDArray[np.int64]]:
        """Segment and score ``text`` in batches, keeping only the ``MAX_SPANS`` best passages
        per category (memory stays bounded on very large texts).

        Returns the passages, the best logits ``(MAX_SPANS, C)`` (best first, ``-inf`` when
        fewer passages) and their passage indices (``-1`` when none).
        """
        n_cat = len(self.categories)
        top_scores = np.full((MAX_SPANS, n_cat), -np.inf, dtype=np.float32)
        top_index = np.full((MAX_SPANS, n_cat), -1, dtype=np.int64)
        passages: list[tuple[int, int]] = []
        batch: list[tuple[int, int]] = []

        def flush() -> None:
            nonlocal top_scores, top_index
            x = self.featurizer.transform(text[s:e] for s, e in batch)
            logits = linear_scores(x, self.weights, self.bias)
            first = len(passages) - len(batch)
            ids = np.arange(first, first + len(batch), dtype=np.int64)[:, None].repeat(n_cat, axis=1)
            scores = np.concatenate([top_scores, logits], axis=0)
            index = np.concatenate([top_index, ids], axis=0)
            order = np.argsort(-scores, axis=0, kind="stable")[:MAX_SPANS]
            top_scores = np.take_along_axis(scores, order, axis=0)
            top_index = np.take_along_axis(index, order, axis=0)
            batch.clear()

        for span in iter_segments(text):
            passages.append(span)
            batch.append(span)
            if len(batch) >= BATCH_PASSAGES:
                flush()
        if batch:
            flush()
        return passages, top_scores, top_index

    def find_clauses(self, text: str) -> list[ClauseFinding]:
        """The categories this contract contains, most confident first, with their best passages.

        Never raises on odd input: empty or featureless text yields ``[]``.
        """
        if not isinstance(text, str) or not text.strip():
            return []
        passages, top_scores, top_index = self._scan(text)
        if not passages:
            return []
        best = top_scores[0].astype(np.float64)
        prob = sigmoid(self.doc_a * best + self.doc_b)
        findings: list[ClauseFinding] = []
        for c in np.argsort(-prob, kind="stable"):
            if not math.isfinite(best[c]) or prob[c] < self.doc_threshold[c]:
                continue
            spans = tuple(
                Offsets(*passages[int(top_index[k, c])])
                for k in range(MAX_SPANS)
                if top_index[k, c] >= 0 and top_scores[k, c] >= best[c] - SPAN_MARGIN
            )
            findings.append(ClauseFinding(self.categories[c], float(prob[c]), spans))
        return findings

    def document_probabilities(self, text: str) -> dict[str, float]:
        """Calibrated probability of every category for this contract (no threshold applied)."""
        if not isinstance(text, str) or not text.strip():
            return dict.fromkeys(self.categories, 0.0)
        passages, top_scores, _ = self._scan(text)
        if not passages:
            return dict.fromkeys(self.categories, 0.0)
        prob = sigmoid(self.doc_a * top_scores[0].astype(np.float64) + self.doc_b)
        return {c: float(p) for c, p in zip(self.categories, prob, strict=True)}

    def classify_snippet(self, category: str, text: str) -> float:
        """Probability that ``text`` (one clause-length snippet) is an instance of ``category``."""
        c = self.category_index(category)
        if not isinstance(text, str):
            return 0.0
        return float(self.classify_snippets([(self.categories[c], text)])[0])

    def snippet_features(self, items: Sequence[tuple[str, str]]) -> npt.NDArray[np.float64]:
        """``(len(items), 2)``: each snippet's passage logit for its category, and its best logit
        among the other categories (``snip_other``) -- evidence that the text is another clause."""
        logits = self.passage_logits([t for _, t in items]).astype(np.float64)
        return snippet_features(logits, [self.category_index(c) for c, _ in items], self.snip_other)

    def classify_snippets(self, items: Sequence[tuple[str, str]]) -> npt.NDArray[np.float64]:
        """Batch form of :meth:`classify_snippet`: ``sigmoid(a * own + o * other + b)``."""
        if not items:
            return np.zeros(0, dtype=np.float64)
        feats = self.snippet_features(items)
        cols = np.asarray([self.category_index(c) for c, _ in items], dtype=np.int64)
        return sigmoid(self.snip_a[cols] * feats[:, 0] + self.snip_o[cols] * feats[:, 1] + self.snip_b[cols])


def snippet_features(
    logits: npt.NDArray[np.float64], columns: Sequence[int], other_mask: npt.ArrayLike
) -> npt.NDArray[np.float64]:
    """Snippet features from passage logits ``(n, C)``: own column, and max over the other
    columns allowed by ``other_mask`` (``-10`` when there is none)."""
    cols = np.asarray(columns, dtype=np.int64)
    n = logits.shape[0]
    rows = np.arange(n)
    own = logits[rows, cols]
    masked = np.where(np.asarray(other_mask, dtype=bool)[None, :], logits, -np.inf)
    masked[rows, cols] = -np.inf
    other = masked.max(axis=1) if logits.shape[1] else np.full(n, -np.inf)
    other = np.where(np.isfinite(other), other, -10.0)
    return np.stack([own, other], axis=1)


_DEFAULT: ClauseModel | None = None


def default_model() -> ClauseModel:
    """The shipped model, loaded once per process."""
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = ClauseModel.load()
    return _DEFAULT


def find_clauses(text: str) -> list[ClauseFinding]:
    """:meth:`ClauseModel.find_clauses` with the shipped model."""
    return default_model().find_clauses(text)
