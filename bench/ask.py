"""Offline ask latency on a matter of the CUAD contracts (issue 5 target: p95 < 300 ms).

    uv run python bench/ask.py                      # all 305 contracts, 3 rounds of 41 questions
    uv run python bench/ask.py --limit 50 --rounds 1

The contracts go into one matter of a fresh SQLite database (bench/out/ask-<timestamp>/) through
``legalai.evaluation.corpus.load_corpus``: the same chunker, vectors and full-text index as the
pipeline, without rendering and extraction (bench/ingest.py measures those). Then every question
of ``legalai.evaluation.retrieval.QUESTIONS`` (and a few that are about no clause) is asked of the
whole matter through ``AskService.ask`` in extractive mode: retrieval (lexical, dense, clause
re-ranking), sentence extraction and the verification gate, i.e. the API's work minus HTTP.

Side by side, as the baseline, the same questions go to plain full-text search
(``legalai.search.lexical.search`` with the question's content words), so the report can give
ratios that survive a noisy machine. The first question (loading the matter's vectors) is
reported apart as the cold start.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from legalai.ask.service import AskRequest, AskService
from legalai.evaluation.corpus import load_corpus, read_texts
from legalai.evaluation.retrieval import QUESTIONS
from legalai.kit.db import make_engine, make_sessionmaker
from legalai.kit.migrate import upgrade
from legalai.retrieval.service import RetrievalService
from legalai.retrieval.terms import question_terms
from legalai.search.lexical import search

ROOT = Path(__file__).resolve().parent
EXTRA_QUESTIONS = [
    "What is the monthly rent?",
    "Who signs on behalf of the distributor?",
    "Where are notices to be sent?",
    "What happens in case of force majeure?",
]


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--corpus", type=Path, default=ROOT.parent.parent / "shared" / "data" / "cuad" / "contracts"
    )
    ap.add_argument("--limit", type=int, default=0, help="only the first N contracts (0 = all)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    names = sorted(p.name for p in args.corpus.glob("*.txt"))
    if args.limit:
        names = names[: args.limit]
    out = ROOT / "out" / f"ask-{datetime.now(UTC):%Y%m%d-%H%M%S}"
    out.mkdir(parents=True, exist_ok=True)
    engine = make_engine(f"sqlite:///{out / 'bench.db'}")
    upgrade(engine)
    sessions = make_sessionmaker(engine)
    retrieval = RetrievalService()
    started = time.perf_counter()
    retrieval.embedder()
    load_model_s = time.perf_counter() - started
    started = time.perf_counter()
    corpus = load_corpus(sessions, read_texts(args.corpus, names), embedder=retrieval.embedder())
    build_s = time.perf_counter() - started
    service = AskService(retrieval)
    questions = list(QUESTIONS.values()) + EXTRA_QUESTIONS

    def ask(question: str) -> float:
        t0 = time.perf_counter()
        with sessions() as session:
            answer = service.ask(
                session, corpus.principal, corpus.matter_id, AskRequest(question, mode="extractive")
            )
        elapsed = time.perf_counter() - t0
        assert answer.verified_statements == answer.total_statements  # extracted sentences always verify
        return elapsed

    def lexical(question: str) -> float:
        t0 = time.perf_counter()
        with sessions() as session:
            search(
                session,
                corpus.principal,
                corpus.matter_id,
                " OR ".join(question_terms(question)) or "agreement",
            )
        return time.perf_counter() - t0

    cold = ask(questions[0])
    ask_times: list[float] = []
    base_times: list[float] = []
    for _ in range(args.rounds):
        for q in questions:  # interleaved, so both see the same machine load
            base_times.append(lexical(q))
            ask_times.append(ask(q))
    engine.dispose()
    result = {
        "machine": {
            "python": platform.python_version(),
            "cpu": platform.processor() or platform.machine(),
            "cores": __import__("os").cpu_count(),
        },
        "contracts": len(names),
        "chunks": corpus.chunks,
        "questions": len(ask_times),
        "embedding_model_load_s": round(load_model_s, 3),
        "index_build_s": round(build_s, 1),
        "cold_first_ask_ms": round(cold * 1000, 1),
        "ask_ms": {
            "p50": round(statistics.median(ask_times) * 1000, 1),
            "p95": round(_percentile(ask_times, 0.95) * 1000, 1),
            "max": round(max(ask_times) * 1000, 1),
        },
        "baseline_lexical_search_ms": {
            "p50": round(statistics.median(base_times) * 1000, 1),
            "p95": round(_percentile(base_times, 0.95) * 1000, 1),
        },
    }
    result["p95_ratio_to_lexical_search"] = round(
        result["ask_ms"]["p95"] / max(result["baseline_lexical_search_ms"]["p95"], 1e-9), 2
    )
    result["target_p95_under_300ms"] = "PASS" if result["ask_ms"]["p95"] < 300 else "FAIL"
    (out / "results.json").write_text(json.dumps(result, indent=2), encoding="utf-8")
    if args.json:
        sys.stdout.write(json.dumps(result, indent=2) + "\n")
    else:
        for key, value in result.items():
            print(f"{key:32s} {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
