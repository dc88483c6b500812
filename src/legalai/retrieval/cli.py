"""`legalai eval retrieval`: recall@5 and MRR of lexical, dense and hybrid retrieval."""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

console = Console()
err = Console(stderr=True)


def eval_retrieval(
    contracts: Annotated[Path, typer.Option("--contracts", help="Folder of contract .txt files")],
    labels: Annotated[Path, typer.Option("--labels", help="CUAD-format labels.csv")],
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output")] = False,
    limit: Annotated[int, typer.Option(help="Only the first N labelled contracts (0 = all)")] = 0,
    database_url: Annotated[
        str | None,
        typer.Option(help="Database to build the index in (default: a temporary SQLite file)"),
    ] = None,
    per_category: Annotated[bool, typer.Option(help="Also print recall@5 per category")] = False,
    questions: Annotated[
        Path | None,
        typer.Option(help="JSON object: CUAD category -> question (default: the built-in wording)"),
    ] = None,
    clause_models: Annotated[
        Path | None,
        typer.Option(
            help="Folder of cross-validation clause models (scripts/train_clauses.py --fold-models): "
            "each contract is ranked by a model that was not trained on it"
        ),
    ] = None,
) -> None:
    """Ask one question per labelled clause of each contract; score the passages returned."""
    from legalai.analysis.clauses import ClauseModel, default_model, text_fingerprint
    from legalai.evaluation.corpus import load_corpus, read_texts
    from legalai.evaluation.retrieval import load_spans, score_retrieval
    from legalai.kit.db import make_engine, make_sessionmaker
    from legalai.kit.migrate import upgrade
    from legalai.retrieval.hybrid import MODES, ClauseRanker
    from legalai.retrieval.service import RetrievalService
    from legalai.search.lexical import SearchFilters

    if not contracts.is_dir() or not labels.is_file():
        err.print(f"[red]Need a folder of contracts and a labels file:[/red] {contracts}, {labels}")
        raise typer.Exit(2)
    spans = {k: v for k, v in load_spans(labels).items() if (contracts / k).is_file()}
    if limit:
        spans = dict(list(spans.items())[:limit])
    if not spans:
        err.print("[red]None of the labelled contracts is in that folder[/red]")
        raise typer.Exit(2)
    asked_questions = _read_questions(questions) if questions else None
    models = (
        [ClauseModel.load(p) for p in sorted(clause_models.glob("*.json"))]
        if clause_models
        else [default_model()]
    )
    if not models:
        err.print(f"[red]No clause models (*.json/*.npz) in {clause_models}[/red]")
        raise typer.Exit(2)
    with tempfile.TemporaryDirectory(prefix="legalai-eval-") as tmp:
        engine = make_engine(database_url or f"sqlite:///{Path(tmp) / 'eval.db'}")
        upgrade(engine)
        sessions = make_sessionmaker(engine)
        service = RetrievalService()
        started = time.perf_counter()
        texts = read_texts(contracts, list(spans))
        corpus = load_corpus(sessions, texts, embedder=service.embedder())
        built = time.perf_counter() - started
        retriever = service.retriever
        rankers = [(m.training_hashes, ClauseRanker(m, service.embedder())) for m in models]
        in_sample: set[str] = set()

        def ranker_for(contract: str) -> ClauseRanker:
            fingerprint = text_fingerprint(texts[contract])
            for trained_on, ranker in rankers:
                if fingerprint not in trained_on:
                    return ranker
            in_sample.add(contract)
            return rankers[0][1]

        def ask(mode: str, contract: str, question: str) -> list[str]:
            flt = SearchFilters(document_id=corpus.document_ids[contract])
            with sessions() as session:
                found = retriever.retrieve(
                    session,
                    corpus.principal,
                    corpus.matter_id,
                    question,
                    flt,
                    limit=10,
                    mode=mode,  # type: ignore[arg-type]
                    clauses=ranker_for(contract),
                )
            return [p.text for p in found]

        started = time.perf_counter()
        scores = score_retrieval(spans, ask, MODES, asked_questions)
        asked = time.perf_counter() - started
        engine.dispose()
    warning = (
        f"{len(in_sample)} of {len(spans)} contracts were ranked by a clause model trained on them; "
        "pass --clause-models with cross-validation models for an unbiased figure"
        if in_sample
        else ""
    )
    if as_json:
        out: dict[str, Any] = {mode: s.as_json() for mode, s in scores.items()}
        if warning:
            out["warning"] = warning
        if per_category:
            for mode, s in scores.items():
                out[mode]["per_category"] = {
                    c: round(h / n, 4) for c, (h, n) in sorted(s.per_category.items())
                }
        sys.stdout.write(json.dumps(out, indent=2) + "\n")
        return
    table = Table("retrieval", "recall@5", "MRR@10", "questions")
    for mode, s in scores.items():
        table.add_row(mode, f"{s.recall_at_5:.3f}", f"{s.mrr:.3f}", str(s.n))
    console.print(table)
    if per_category:
        cats = Table("category", *MODES)
        for category in sorted(next(iter(scores.values())).per_category):
            cells = []
            for mode in MODES:
                h, n = scores[mode].per_category[category]
                cells.append(f"{h / n:.2f} ({n})")
            cats.add_row(category, *cells)
        console.print(cats)
    console.print(
        f"{len(spans)} contracts, {corpus.chunks} passages; index built in {built:.1f} s, "
        f"questions answered in {asked:.1f} s"
    )
    if warning:
        err.print(f"[yellow]{warning}[/yellow]")


def _read_questions(path: Path) -> dict[str, str]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        err.print(f"[red]Cannot read {path}:[/red] {exc}")
        raise typer.Exit(2) from exc
    if not isinstance(data, dict) or not all(isinstance(v, str) and v.strip() for v in data.values()):
        err.print(f"[red]{path} must be a JSON object of category -> question[/red]")
        raise typer.Exit(2)
    return {str(k): v for k, v in data.items()}
