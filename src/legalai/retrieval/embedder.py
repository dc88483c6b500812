"""Static sentence embeddings for retrieval: numpy + ``tokenizers`` only, no torch at run time.

The packaged model in ``embedding_model/`` is a model2vec static embedding model distilled from
sentence-transformers/all-MiniLM-L6-v2 (Apache-2.0) by ``scripts/build_embedding_model.py``: every
token of the vocabulary has one precomputed vector, and a text's embedding is the mean of its
tokens' vectors, L2-normalised. This module reproduces model2vec's ``StaticModel.encode``:

1. cut the text to ``max_chars`` characters (model2vec: ``max_length * median_token_length``);
2. tokenize with the packaged tokenizer, without special tokens, truncated to ``max_tokens``;
3. drop unknown-token ids (model2vec does, for word-level vocabularies);
4. mean-pool the rows of the embedding matrix, then L2-normalise. A text with no tokens (empty
   or whitespace only) gives the zero vector.

The build script checks numerically that this matches model2vec (cosine > 0.999).

Artifact layout (all safe formats, no pickle):

- ``embeddings.npy``: the (vocab_size, dim) matrix, loaded with ``allow_pickle=False``;
- ``tokenizer.json``: the model2vec tokenizer as saved by model2vec;
- ``config.json``: provenance, licence, dims, truncation caps, and the sha256 of both files above,
  verified on every load.

Vectors are stored in a database with :func:`to_bytes` / :func:`from_bytes`: float16,
little-endian, ``dim * 2`` bytes per vector (512 bytes for 256 dims). float16 keeps about three
significant digits, far more than cosine ranking needs.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from tokenizers import Tokenizer

__all__ = [
    "DEFAULT_MODEL_DIR",
    "EmbeddingModelError",
    "StaticEmbedder",
    "from_bytes",
    "to_bytes",
]

DEFAULT_MODEL_DIR = Path(__file__).resolve().parent / "embedding_model"
EMBEDDINGS_FILE = "embeddings.npy"
TOKENIZER_FILE = "tokenizer.json"
CONFIG_FILE = "config.json"
ARTIFACT_FORMAT = "legalai-static-embedding"

# Texts are tokenized in groups of this many, so the token lists held at once stay small however
# many texts one call passes.
_BATCH = 256

_STORAGE_DTYPE = np.dtype("<f2")


class EmbeddingModelError(RuntimeError):
    """The embedding model artifact is missing, incomplete or corrupt."""


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError as exc:
        raise EmbeddingModelError(
            f"embedding model artifact is incomplete: {path} is missing "
            "(rebuild it with scripts/build_embedding_model.py)"
        ) from exc
    except OSError as exc:
        raise EmbeddingModelError(f"cannot read embedding model file {path}: {exc}") from exc


def _unk_token_id(tokenizer: Tokenizer, tokenizer_json: Mapping[str, Any]) -> int | None:
    """The id model2vec drops from token sequences.

    WordPiece/BPE/WordLevel models name an ``unk_token``; Unigram models give an ``unk_id``.
    """
    model = tokenizer_json.get("model", {})
    token = model.get("unk_token")
    if isinstance(token, str):
        return tokenizer.token_to_id(token)
    unk_id = model.get("unk_id")
    return int(unk_id) if isinstance(unk_id, int) else None


class StaticEmbedder:
    """Mean-pooled static token embeddings; see the module docstring for the exact algorithm."""

    def __init__(
        self,
        matrix: npt.NDArray[np.float32],
        tokenizer: Tokenizer,
        config: Mapping[str, Any],
        unk_token_id: int | None,
    ) -> None:
        self._matrix = matrix
        self._tokenizer = tokenizer
        self._config = dict(config)
        self._unk = unk_token_id
        self._max_chars = int(config["max_chars"])
        self._max_tokens = int(config["max_tokens"])
        self._tokenizer.no_padding()
        self._tokenizer.enable_truncation(self._max_tokens)

    @classmethod
    def load(cls, path: Path | None = None) -> StaticEmbedder:
        """Load the artifact in ``path`` (default: the model packaged with legalai).

        Raises :class:`EmbeddingModelError` when a file is missing, a checksum differs from
        ``config.json``, or the files disagree with each other.
        """
        folder = Path(path) if path is not None else DEFAULT_MODEL_DIR
        if not folder.is_dir():
            raise EmbeddingModelError(
                f"embedding model not found: {folder} is not a directory "
                "(build it with scripts/build_embedding_model.py)"
            )
        try:
            config = json.loads(_read(folder / CONFIG_FILE))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise EmbeddingModelError(
                f"embedding model config {folder / CONFIG_FILE} is corrupt: {exc}"
            ) from exc
        if not isinstance(config, dict) or config.get("format") != ARTIFACT_FORMAT:
            raise EmbeddingModelError(f"{folder / CONFIG_FILE} is not a {ARTIFACT_FORMAT} config")
        try:
            expected_emb = str(config["embeddings_sha256"])
            expected_tok = str(config["tokenizer_sha256"])
            dim = int(config["dim"])
            vocab_size = int(config["vocab_size"])
            int(config["max_chars"])
            int(config["max_tokens"])
        except (KeyError, TypeError, ValueError) as exc:
            raise EmbeddingModelError(
                f"embedding model config {folder / CONFIG_FILE} is incomplete: {exc}"
            ) from exc

        emb_bytes = _read(folder / EMBEDDINGS_FILE)
        if _sha256(emb_bytes) != expected_emb:
            raise EmbeddingModelError(
                f"embedding model is corrupt: sha256 of {folder / EMBEDDINGS_FILE} does not match config.json"
            )
        tok_bytes = _read(folder / TOKENIZER_FILE)
        if _sha256(tok_bytes) != expected_tok:
            raise EmbeddingModelError(
                f"embedding model is corrupt: sha256 of {folder / TOKENIZER_FILE} does not match config.json"
            )

        try:
            stored = np.load(io.BytesIO(emb_bytes), allow_pickle=False)
            tok_text = tok_bytes.decode("utf-8")
            tokenizer = Tokenizer.from_str(tok_text)
            tok_json = json.loads(tok_text)
        except Exception as exc:  # any parse failure means a bad artifact
            raise EmbeddingModelError(f"embedding model in {folder} cannot be parsed: {exc}") from exc
        if stored.ndim != 2 or stored.shape != (vocab_size, dim) or stored.dtype.kind != "f":
            raise EmbeddingModelError(
                f"embedding matrix has shape {stored.shape} and dtype {stored.dtype}, "
                f"config.json says ({vocab_size}, {dim}) floats"
            )
        if tokenizer.get_vocab_size(with_added_tokens=True) != vocab_size:
            raise EmbeddingModelError(
                f"tokenizer has {tokenizer.get_vocab_size(with_added_tokens=True)} tokens, "
                f"embedding matrix has {vocab_size} rows"
            )
        matrix = np.ascontiguousarray(stored, dtype=np.float32)
        return cls(matrix, tokenizer, config, _unk_token_id(tokenizer, tok_json))

    @property
    def dim(self) -> int:
        return int(self._matrix.shape[1])

    @property
    def version(self) -> str:
        """Identifies the vectors this model produces, e.g. ``m2v-minilm-256-1a2b3c4d``.

        Store it next to the vectors: vectors of different versions must not be compared.
        """
        name = str(self._config.get("name", "m2v-minilm"))
        return f"{name}-{self.dim}-{str(self._config['embeddings_sha256'])[:8]}"

    @property
    def config(self) -> dict[str, Any]:
        return dict(self._config)

    def _encode(self, texts: Sequence[str]) -> list[npt.NDArray[np.int64]]:
        cut = [text[: self._max_chars] for text in texts]
        encodings = self._tokenizer.encode_batch_fast(cut, add_special_tokens=False)
        ids = [np.asarray(enc.ids, dtype=np.int64) for enc in encodings]
        if self._unk is None:
            return ids
        return [seq[seq != self._unk] for seq in ids]

    def token_ids(self, texts: Sequence[str]) -> list[list[int]]:
        """Token ids as model2vec's ``StaticModel.tokenize`` gives them (character cap applied first)."""
        if isinstance(texts, str):
            raise TypeError("token_ids() takes a sequence of texts, not one str")
        return [seq.tolist() for seq in self._encode(texts)]

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """Embed ``texts``: an (n, dim) float32 array of L2-normalised rows (zero rows for empty texts)."""
        if isinstance(texts, str):
            raise TypeError("embed() takes a sequence of texts; wrap a single text in a list")
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        matrix = self._matrix
        for lo in range(0, len(texts), _BATCH):
            for row, seq in enumerate(self._encode(texts[lo : lo + _BATCH]), start=lo):
                if seq.size:
                    out[row] = matrix[seq].mean(axis=0)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        np.divide(out, norms, out=out, where=norms > 0)
        return out


def to_bytes(vec: npt.ArrayLike) -> bytes:
    """Pack one embedding as float16 little-endian (``dim * 2`` bytes) for storage."""
    arr = np.asarray(vec)
    if arr.ndim != 1:
        raise ValueError(f"to_bytes() packs one vector, got an array of shape {arr.shape}")
    return arr.astype(_STORAGE_DTYPE).tobytes()


def from_bytes(data: bytes) -> npt.NDArray[np.float32]:
    """Unpack a vector written by :func:`to_bytes` into a float32 array."""
    if len(data) % _STORAGE_DTYPE.itemsize:
        raise ValueError(f"embedding blob has {len(data)} bytes, not a whole number of float16 values")
    return np.frombuffer(data, dtype=_STORAGE_DTYPE).astype(np.float32)
