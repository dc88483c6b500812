"""CUAD clause classifier: segmentation offsets, the shipped artifact, findings on hand-written
contract text, odd input, and the clause scorers on tiny hand-made inputs."""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from legalai.analysis.clauses import (
    DEFAULT_FEATURES,
    ClauseModel,
    FeatureConfig,
    Featurizer,
    default_model,
    features,
    linear_scores,
    normalize_category,
    segment,
    snippet_features,
)
from legalai.evaluation.clauses import (
    Snippet,
    score_clause_presence,
    score_snippet_predictions,
    score_snippets,
)

CONTRACT = """MASTER SERVICES AGREEMENT

This Master Services Agreement is made as of the date last signed below between Northwind Widgets LLC
and Bluebird Analytics Inc. Each of them is a party to this agreement.

1. SERVICES

Bluebird will deliver the monthly analytics reports described in the statement of work, and Northwind
will pay the fees listed there within thirty days of each invoice.

2. TERMINATION

Either party may terminate this Agreement for convenience at any time, without cause, by giving the
other party sixty (60) days' prior written notice of termination.

3. ASSIGNMENT

Neither party may assign or transfer this Agreement, or any of its rights or obligations under it,
to any third party without the prior written consent of the other party, and any attempted
assignment without such consent shall be null and void.

4. GOVERNING LAW

This Agreement shall be governed by and construed in accordance with the laws of the State of
New York, without regard to its conflict of laws principles.
"""


@pytest.fixture(scope="module")
def model() -> ClauseModel:
    return default_model()


def _assert_exact(text: str, spans: list[tuple[int, int]]) -> None:
    last = 0
    for start, end in spans:
        assert 0 <= last <= start < end <= len(text)
        piece = text[start:end]
        assert piece == piece.strip() and piece
        last = end


def test_segment_offsets_are_exact_ordered_and_cover_the_words() -> None:
    spans = segment(CONTRACT)
    _assert_exact(CONTRACT, spans)
    # every word of the text lies in some passage
    covered = " ".join(CONTRACT[s:e] for s, e in spans)
    assert covered.split() == " ".join(CONTRACT.split()).split()
    # headings are glued to the paragraph under them
    assert any(CONTRACT[s:e].startswith("4. GOVERNING LAW") for s, e in spans)


def test_segment_cuts_long_paragraphs_and_unbroken_text() -> None:
    sentence = "The Supplier shall deliver the goods on time and in good condition. "
    text = "  " + sentence * 200 + "\n\n" + "x" * 5000 + "\n\nshort tail"
    spans = segment(text, max_len=500)
    _assert_exact(text, spans)
    assert all(e - s <= 500 for s, e in spans[:-1])
    assert len(spans) > 20
    assert segment("") == [] and segment(" \n\n \t ") == []


def test_shipped_artifact_loads_quickly(model: ClauseModel) -> None:
    started = time.perf_counter()
    fresh = ClauseModel.load()
    assert time.perf_counter() - started < 2.0
    assert fresh.version == model.version and len(fresh.version) == 16
    assert len(fresh.categories) == 41
    for name in ("Governing Law", "Anti-Assignment", "Cap on Liability", "Rofr/Rofo/Rofn", "Parties"):
        assert name in fresh.categories
    # snippet spellings resolve to the labels.csv names
    assert fresh.categories[fresh.category_index("Cap On Liability")] == "Cap on Liability"
    assert fresh.categories[fresh.category_index("Rofr-Rofo-Rofn")] == "Rofr/Rofo/Rofn"
    assert normalize_category("Revenue-Profit Sharing") == normalize_category("Revenue/Profit Sharing")


def test_finds_hand_written_clauses_with_spans_into_them(model: ClauseModel) -> None:
    findings = {f.category: f for f in model.find_clauses(CONTRACT)}
    expected = {
        "Governing Law": "laws of the State of\nNew York",
        "Anti-Assignment": "Neither party may assign",
        "Termination for Convenience": "terminate this Agreement for convenience",
    }
    for category, phrase in expected.items():
        assert category in findings, sorted(findings)
        finding = findings[category]
        assert 0.0 <= finding.confidence <= 1.0
        assert finding.spans
        best = finding.spans[0]
        assert phrase in CONTRACT[best.start : best.end]
    for f in findings.values():
        for span in f.spans:
            assert 0 <= span.start < span.end <= len(CONTRACT)
    # a contract without these clauses does not get them
    plain = "1. SERVICES\n\nBluebird will deliver monthly analytics reports to Northwind.\n"
    assert "Governing Law" not in {f.category for f in model.find_clauses(plain)}


def test_snippet_probabilities(model: ClauseModel) -> None:
    law = "This Agreement shall be governed by the laws of the State of Delaware."
    assert model.classify_snippet("Governing Law", law) > 0.5
    assert model.classify_snippet("Insurance", law) < 0.5
    assert 0.0 <= model.classify_snippet("Cap On Liability", "") <= 1.0
    with pytest.raises(KeyError):
        model.classify_snippet("No Such Category", law)


@pytest.mark.parametrize(
    "text",
    ["", "   \n\n\t", "\x00\x01\ufffd" * 50, "§§§ ¶¶ ---- ==== 1234", "这是一份合同。" * 200, "a" * 20_000],
)
def test_odd_input_never_raises(model: ClauseModel, text: str) -> None:
    for f in model.find_clauses(text):
        assert 0 <= f.spans[0].start < f.spans[0].end <= len(text)
    assert 0.0 <= model.classify_snippet("Governing Law", text) <= 1.0


def test_large_text_speed(model: ClauseModel) -> None:
    text = (CONTRACT + "\n\n") * 200  # about 340 pages of 3,000 characters
    started = time.perf_counter()
    findings = model.find_clauses(text)
    elapsed = time.perf_counter() - started
    assert len(text) / 3000 / elapsed > 30
    assert "Governing Law" in {f.category for f in findings}


def test_linear_scores_match_dense_product() -> None:
    feat = Featurizer(["alpha", "beta", "alpha beta", "gamma"], [1.0, 2.0, 3.0, 1.5])
    x = feat.transform(["alpha beta beta", "", "gamma gamma delta"])
    dense = np.zeros((3, 4), dtype=np.float32)
    dense[x.rows, x.cols] = x.vals
    assert np.allclose(np.linalg.norm(dense[[0, 2]], axis=1), 1.0)
    assert not dense[1].any()
    weights = np.arange(8, dtype=np.float32).reshape(4, 2)
    bias = np.array([0.5, -0.5], dtype=np.float32)
    assert np.allclose(linear_scores(x, weights, bias), dense @ weights + bias)


def test_features_add_stems_and_negated_words() -> None:
    config = FeatureConfig(stem_len=6, negation_window=2)
    grams = features("Not disparaging; no third party beneficiaries.", config)
    # plain unigrams and bigrams come first, unchanged
    assert grams[:3] == ["not", "disparaging", "no"]
    assert "third party" in grams
    # words longer than 6 letters also give their 6-letter stem
    assert {"~dispar", "~benefi"} <= set(grams)
    assert "~party" not in grams and "~third" not in grams
    # the 2 words after a negation are marked; a new negation restarts the window
    assert [g for g in grams if g.startswith("!")] == ["!disparaging", "!third", "!party"]
    assert features("alpha beta", FeatureConfig()) == ["alpha", "beta", "alpha beta"]
    # inflections share the stem, so evidence learned on one form carries to the others
    stems = [
        {g for g in features(w, DEFAULT_FEATURES) if g.startswith("~")}
        for w in ("disparage", "disparagement")
    ]
    assert stems[0] == stems[1] == {"~dispar"}


def test_pivoted_norm_dampens_length_normalization() -> None:
    vocab, idf = ["alpha", "beta"], [1.0, 1.0]
    plain = Featurizer(vocab, idf)
    pivoted = Featurizer(vocab, idf, FeatureConfig(pivot=0.5, pivot_norm=4.0))
    short, long_ = "alpha", "alpha " + "beta " * 50  # beta is frequent in the long text
    p = plain.transform([short, long_])
    q = pivoted.transform([short, long_])
    raw_long = np.sqrt(1.0 + (1.0 + np.log(50.0)) ** 2)
    # plain: each row has unit norm; pivoted: divided by 0.5 * 4 + 0.5 * own norm
    assert np.allclose(p.vals[p.rows == 0], [1.0])
    assert np.allclose(q.vals[q.rows == 0], [1.0 / (2.0 + 0.5)])
    assert np.allclose(q.vals[(q.rows == 1) & (q.cols == 0)], [1.0 / (2.0 + 0.5 * raw_long)])
    assert np.allclose(pivoted.raw_norms([short, long_, ""]), [1.0, raw_long, 0.0], atol=1e-5)


def test_feature_config_roundtrip_and_old_artifacts(tmp_path: Path) -> None:
    config = FeatureConfig(stem_len=5, negation_window=3, pivot=0.25, pivot_norm=42.0)
    assert FeatureConfig.from_json(config.to_json()) == config
    assert FeatureConfig.from_json(None) == FeatureConfig() == FeatureConfig.from_json({})
    ones = np.ones(1, dtype=np.float32)
    arrays = {
        "weights": np.ones((2, 1), dtype=np.float32),
        "bias": np.zeros(1, dtype=np.float32),
        "doc_a": ones,
        "doc_b": np.zeros(1, dtype=np.float32),
        "doc_threshold": np.full(1, 0.5, dtype=np.float32),
        "snip_a": ones,
        "snip_b": np.zeros(1, dtype=np.float32),
    }
    model = ClauseModel(["Insurance"], Featurizer(["insur", "~insura"], [1.0, 1.0], config), arrays)
    model.save(tmp_path / "m")
    assert ClauseModel.load(tmp_path / "m").featurizer.config == config
    # an artifact written before feature configurations existed loads with plain features
    meta = json.loads((tmp_path / "m.json").read_text(encoding="utf-8"))
    del meta["features"]
    (tmp_path / "m.json").write_text(json.dumps(meta), encoding="utf-8")
    assert ClauseModel.load(tmp_path / "m").featurizer.config == FeatureConfig()


def test_training_sets_the_pivot_from_the_training_passages(monkeypatch: pytest.MonkeyPatch) -> None:
    path = Path(__file__).resolve().parents[2] / "scripts" / "train_clauses.py"
    spec = importlib.util.spec_from_file_location("train_clauses_under_test", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)  # dataclasses look their module up there
    spec.loader.exec_module(module)
    passages = ["alpha beta gamma", "alpha alpha beta", "gamma delta alpha beta gamma", "beta"]
    config = FeatureConfig(stem_len=6, negation_window=4, pivot=0.5)
    feat = module.build_featurizer(passages, 100, min_df=1, config=config, norm_texts=passages)
    assert feat.config.pivot == 0.5 and feat.config.stem_len == 6
    assert feat.config.pivot_norm == pytest.approx(float(np.median(feat.raw_norms(passages))))
    plain = module.build_featurizer(passages, 100, min_df=1, config=FeatureConfig())
    assert plain.config == FeatureConfig()
    assert "alpha beta" in plain.vocabulary and not any(t[0] in "~!" for t in plain.vocabulary)
    # --pivot reaches the passage model's featurizer (the default keeps plain L2 normalization)
    text = "the insurer shall maintain insurance. alpha beta gamma. alpha beta delta. beta gamma alpha."
    cuts = [(0, 37), (38, 55), (56, 73), (74, len(text))]
    labels = np.array([[True], [False], [False], [False]])
    contract = module.Contract("c.txt", text, cuts, labels, np.array([True]), [])
    args = argparse.Namespace(
        plain_features=False, pivot=0.5, span_weight=0.0, max_features=100, C=1.0, pos_power=0.5, jobs=1
    )
    fitted = module.fit_linear(["Insurance"], [contract, contract, contract], [], args)
    assert fitted.featurizer.config.pivot == 0.5 and fitted.featurizer.config.pivot_norm > 0
    args.pivot = module.DEFAULT_FEATURES.pivot
    assert module.fit_linear(["Insurance"], [contract] * 3, [], args).featurizer.config == DEFAULT_FEATURES


def test_shipped_model_records_its_features(model: ClauseModel) -> None:
    config = model.featurizer.config
    assert (config.stem_len, config.negation_window, config.pivot) == (
        DEFAULT_FEATURES.stem_len,
        DEFAULT_FEATURES.negation_window,
        DEFAULT_FEATURES.pivot,
    )
    assert any(t.startswith("~") for t in model.featurizer.vocabulary)
    assert any(t.startswith("!") for t in model.featurizer.vocabulary)


def test_score_snippet_predictions_known_answer() -> None:
    rows = [
        Snippet("A", True, "c1", "x"),
        Snippet("A", False, "c1", "y"),
        Snippet("A", True, "c2", "z"),
        Snippet("A", False, "c2", "w"),
        Snippet("B", True, "c1", "v"),
        Snippet("B", False, "c1", "u"),
    ]
    probs = [0.9, 0.2, 0.1, 0.3, 0.8, 0.7]  # A: 3/4 right, B: 1/2 right
    s = score_snippet_predictions(rows, probs)
    assert s.per_category == {"A": 0.75, "B": 0.5}
    assert s.mean_accuracy == pytest.approx(0.625)
    assert s.pooled_accuracy == pytest.approx(4 / 6)
    # Yes: tp=2 fp=1 fn=1 -> F1 2/3; No: tp=2 fp=1 fn=1 -> F1 2/3
    assert s.macro_f1 == pytest.approx(2 / 3)

    class Echo:
        def classify_snippet(self, category: str, text: str) -> float:
            return 1.0 if text in {"x", "z", "v"} else 0.0

    assert score_snippets(rows, Echo()).mean_accuracy == 1.0
    assert score_snippets(rows, Echo(), contracts=["c2"]).n == 2


def test_score_clause_presence_known_answer(tmp_path: Path) -> None:
    header = (
        "contract_file,Filename,Document Name,Document Name-Answer,Parties,Parties-Answer,"
        "X,X-Answer,Y,Y-Answer"
    )
    lines = [header]
    # X present in c1..c5 and absent in c6; Y present only in c1 (too rare for the macro)
    for i in range(1, 7):
        x = "\"['x clause']\"" if i <= 5 else "[]"
        y = "\"['y clause']\"" if i == 1 else "[]"
        lines.append(f"c{i},c{i},\"['Doc']\",Doc,\"['P']\",P,{x},Yes,{y},")
    labels = tmp_path / "labels.csv"
    labels.write_text("\n".join(lines) + "\n", encoding="utf-8")
    predicted = {
        "c1": {"X", "Document Name"},
        "c2": {"X"},
        "c3": {"X", "Y"},
        "c4": set(),
        "c5": set(),
        "c6": {"X"},
    }
    s = score_clause_presence(predicted, labels)
    assert set(s.per_category) == {"X", "Y"}  # Document Name and Parties excluded
    score_x = s.per_category["X"]
    assert (score_x.present, score_x.predicted, score_x.true_positive) == (5, 4, 3)
    assert score_x.f1 == pytest.approx(2 * 3 / 9)
    assert s.per_category["Y"].f1 == 0.0
    assert s.scored_categories == ["X"]
    assert s.macro_f1 == pytest.approx(2 / 3)
    assert s.n_contracts == 6


def test_document_probabilities_and_save_load_roundtrip(model: ClauseModel, tmp_path: Path) -> None:
    probs = model.document_probabilities(CONTRACT)
    assert set(probs) == set(model.categories)
    assert probs["Governing Law"] > 0.5 and all(0.0 <= p <= 1.0 for p in probs.values())
    assert set(model.document_probabilities("").values()) == {0.0}

    feat = Featurizer(["governed", "laws", "assign"], [1.0, 1.0, 1.0])
    ones = np.ones(2, dtype=np.float32)
    arrays = {
        "weights": np.array([[2.0, -1.0], [2.0, -1.0], [-1.0, 3.0]], dtype=np.float32),
        "bias": np.array([-1.0, -1.0], dtype=np.float32),
        "doc_a": ones,
        "doc_b": np.zeros(2, dtype=np.float32),
        "doc_threshold": np.full(2, 0.5, dtype=np.float32),
        "snip_a": ones,
        "snip_b": np.zeros(2, dtype=np.float32),
    }
    tiny = ClauseModel(["Governing Law", "Anti-Assignment"], feat, arrays)
    tiny.save(tmp_path / "tiny")
    loaded = ClauseModel.load(tmp_path / "tiny.npz")
    text = "Intro words here.\n\nThis is governed by the laws of Utah, and nothing else applies here."
    found = loaded.find_clauses(text)
    assert [f.category for f in found] == ["Governing Law"]
    assert text[found[0].spans[0].start : found[0].spans[0].end].startswith("Intro words")


def test_snippet_features_and_batch_agree(model: ClauseModel) -> None:
    logits = np.array([[1.0, 5.0, -2.0], [0.5, -1.0, 3.0]])
    feats = snippet_features(logits, [0, 2], np.array([1.0, 1.0, 0.0]))
    # own logit; best other allowed column (column 2 is masked out, own column never counts)
    assert feats.tolist() == [[1.0, 5.0], [3.0, 0.5]]
    assert snippet_features(logits[:, :1], [0, 0], np.ones(1))[:, 1].tolist() == [-10.0, -10.0]
    items = [
        ("Governing Law", "This Agreement is governed by the laws of the State of Texas."),
        ("Insurance", "Supplier shall maintain general liability insurance of $1,000,000."),
        ("Insurance", "This Agreement is governed by the laws of the State of Texas."),
    ]
    batch = model.classify_snippets(items)
    single = [model.classify_snippet(c, t) for c, t in items]
    assert np.allclose(batch, single)
    assert batch[0] > 0.5 and batch[1] > 0.5 and batch[2] < 0.5
    assert model.classify_snippets([]).shape == (0,)


def test_remembered_passage_logits_equal_fresh_ones_and_stay_bounded(model: ClauseModel) -> None:
    from legalai.retrieval.hybrid import PassageLogits

    texts = [
        "This Agreement shall be governed by the laws of the State of New York.",
        "Neither party may assign this Agreement without the prior written consent of the other.",
        "The Supplier shall maintain insurance of not less than $1,000,000 per occurrence.",
        "During the term, the Distributor shall not sell competing products in the Territory.",
    ]
    logits = PassageLogits(model, max_entries=3)
    first = logits(texts[:2])
    np.testing.assert_array_equal(first, model.passage_logits(texts[:2]))
    assert (logits.hits, logits.misses) == (0, 2)
    # A mix of remembered and new passages, in any order, equals scoring them all afresh.
    mixed = [texts[1], texts[2], texts[0], texts[1]]
    np.testing.assert_array_equal(logits(mixed), model.passage_logits(mixed))
    assert logits.hits == 3 and logits.misses == 3
    assert len(logits) == 3
    edited = texts[0].replace("New York", "Delaware")
    np.testing.assert_array_equal(logits([edited]), model.passage_logits([edited]))
    assert logits.misses == 4
    assert len(logits) == 3  # the least recently used passage was forgotten
    np.testing.assert_array_equal(logits(texts), model.passage_logits(texts))
