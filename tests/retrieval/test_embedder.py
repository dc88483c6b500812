"""The packaged static embedding model: loading, vectors, truncation, storage and integrity."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from legalai.retrieval.embedder import (
    DEFAULT_MODEL_DIR,
    EmbeddingModelError,
    StaticEmbedder,
    from_bytes,
    to_bytes,
)

GOVERNING_LAW = "This Agreement shall be governed by the laws of the State of New York."
GOVERNING_LAW_Q = "Which jurisdiction's law governs this contract?"
PAYMENT = "Licensee shall pay each invoice within thirty (30) days after receipt, without set-off."


@pytest.fixture(scope="module")
def embedder() -> StaticEmbedder:
    return StaticEmbedder.load()


def test_packaged_model_loads_with_expected_metadata(embedder: StaticEmbedder) -> None:
    assert embedder.dim == 256
    assert re.fullmatch(r"m2v-minilm-256-[0-9a-f]{8}", embedder.version)
    config = embedder.config
    assert config["source_model"] == "sentence-transformers/all-MiniLM-L6-v2"
    assert config["source_license"] == "Apache-2.0"
    assert config["normalize"] is True
    assert embedder.version.endswith(config["embeddings_sha256"][:8])


def test_embed_shape_dtype_and_unit_norm(embedder: StaticEmbedder) -> None:
    texts = [GOVERNING_LAW, GOVERNING_LAW_Q, PAYMENT, "x"]
    vecs = embedder.embed(texts)
    assert vecs.shape == (4, embedder.dim)
    assert vecs.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)


def test_related_legal_text_scores_higher_than_unrelated(embedder: StaticEmbedder) -> None:
    law, question, payment = embedder.embed([GOVERNING_LAW, GOVERNING_LAW_Q, PAYMENT])
    assert float(law @ question) > float(payment @ question) + 0.05
    termination = embedder.embed(
        [
            "Either party may terminate this Agreement for convenience upon sixty days' written notice.",
            "Can either party terminate for convenience?",
        ]
    )
    assert float(termination[0] @ termination[1]) > float(embedder.embed([PAYMENT])[0] @ termination[1])


def test_empty_and_blank_texts_give_zero_vectors(embedder: StaticEmbedder) -> None:
    vecs = embedder.embed(["", GOVERNING_LAW, "   \n\t "])
    assert not vecs[0].any()
    assert not vecs[2].any()
    assert np.linalg.norm(vecs[1]) == pytest.approx(1.0, abs=1e-5)
    assert embedder.embed([]).shape == (0, embedder.dim)


def test_batching_does_not_change_vectors(embedder: StaticEmbedder) -> None:
    texts = [f"Section {i}. The Supplier shall deliver {i} units per month." for i in range(600)]
    together = embedder.embed(texts)
    assert together.shape == (600, embedder.dim)
    np.testing.assert_allclose(together[417], embedder.embed([texts[417]])[0], atol=1e-6)


def test_single_string_is_rejected(embedder: StaticEmbedder) -> None:
    with pytest.raises(TypeError):
        embedder.embed(GOVERNING_LAW)  # type: ignore[arg-type]


def test_huge_text_is_truncated(embedder: StaticEmbedder) -> None:
    max_chars = int(embedder.config["max_chars"])
    max_tokens = int(embedder.config["max_tokens"])
    head = (GOVERNING_LAW + " ") * (max_chars // len(GOVERNING_LAW) + 2)
    assert len(head) > max_chars
    huge_a = head + PAYMENT * 20_000  # ~1.7 million characters
    huge_b = head + "completely different tail " * 100
    ids = embedder.token_ids([huge_a])[0]
    assert 0 < len(ids) <= max_tokens
    a, b = embedder.embed([huge_a, huge_b])
    np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(np.linalg.norm(a), 1.0, atol=1e-5)


def test_matches_model2vec_reference_vectors(embedder: StaticEmbedder) -> None:
    """reference.json holds model2vec's own StaticModel.encode outputs, written at build time."""
    reference = json.loads((DEFAULT_MODEL_DIR / "reference.json").read_text(encoding="utf-8"))
    ours = embedder.embed(reference["texts"])
    theirs = np.asarray(reference["vectors"], dtype=np.float32)
    for mine, ref, text in zip(ours, theirs, reference["texts"], strict=True):
        if not ref.any():
            assert not mine.any(), text
            continue
        cosine = float(mine @ ref) / float(np.linalg.norm(ref))
        assert cosine > 0.999, text


def test_bytes_round_trip(embedder: StaticEmbedder) -> None:
    vec = embedder.embed([GOVERNING_LAW])[0]
    blob = to_bytes(vec)
    assert isinstance(blob, bytes)
    assert len(blob) == embedder.dim * 2
    assert blob == vec.astype("<f2").tobytes()
    back = from_bytes(blob)
    assert back.dtype == np.float32
    assert back.shape == (embedder.dim,)
    np.testing.assert_allclose(back, vec, atol=1e-3)
    assert float(back @ vec) > 0.9999
    with pytest.raises(ValueError):
        from_bytes(blob[:-1])
    with pytest.raises(ValueError):
        to_bytes(np.zeros((2, 3)))


def _copy_artifact(tmp_path: Path) -> Path:
    dest = tmp_path / "model"
    shutil.copytree(DEFAULT_MODEL_DIR, dest)
    return dest


def _flip(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0xFF
    path.write_bytes(bytes(data))


def test_copied_artifact_loads(tmp_path: Path) -> None:
    copy = StaticEmbedder.load(_copy_artifact(tmp_path))
    assert copy.dim == 256


def test_corrupt_embeddings_raise_clear_error(tmp_path: Path) -> None:
    folder = _copy_artifact(tmp_path)
    emb = folder / "embeddings.npy"
    _flip(emb, emb.stat().st_size // 2)
    with pytest.raises(EmbeddingModelError, match=r"corrupt.*embeddings\.npy"):
        StaticEmbedder.load(folder)


def test_corrupt_tokenizer_raises_clear_error(tmp_path: Path) -> None:
    folder = _copy_artifact(tmp_path)
    _flip(folder / "tokenizer.json", 100)
    with pytest.raises(EmbeddingModelError, match=r"corrupt.*tokenizer\.json"):
        StaticEmbedder.load(folder)


def test_missing_or_broken_files_raise_clear_error(tmp_path: Path) -> None:
    folder = _copy_artifact(tmp_path)
    (folder / "embeddings.npy").unlink()
    with pytest.raises(EmbeddingModelError, match=r"missing"):
        StaticEmbedder.load(folder)
    (folder / "config.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(EmbeddingModelError, match=r"config"):
        StaticEmbedder.load(folder)
    with pytest.raises(EmbeddingModelError, match=r"not found"):
        StaticEmbedder.load(tmp_path / "nowhere")
