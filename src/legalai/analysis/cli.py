"""`legalai analyze`, `legalai reanalyze` and `legalai eval contracts|clauses`."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

console = Console()
err = Console(stderr=True)


def _extract_local(path: Path, sandbox: Any) -> tuple[list[Any], str | None]:
    """Pages of a local file (through the extraction sandbox), or a readable error."""
    from legalai.analysis.pipeline import PageText
    from legalai.documents.extraction.detect import detect_path
    from legalai.documents.extraction.protocol import ExtractionError

    try:
        fmt = detect_path(path)
    except OSError as exc:
        return [], f"Cannot read the file: {exc.strerror or exc}"
    if fmt is None or fmt.kind == "zip":
        return [], "Not a supported document (PDF, DOCX, text, HTML, e-mail or image)"
    try:
        result = sandbox.run(path, fmt.kind)
    except ExtractionError as exc:
        return [], exc.reason
    return [PageText(p.number, p.text) for p in result.pages], None


def analyze(
    files: Annotated[list[Path], typer.Argument(help="Documents to analyze (no server or database needed)")],
    as_json: Annotated[
        bool, typer.Option("--json", help="Machine-readable output: a list, one per file")
    ] = False,
    playbook: Annotated[
        Path | None, typer.Option("--playbook", help="A playbook YAML file (default: the built-in one)")
    ] = None,
) -> None:
    """Analyze local files offline: key terms, clauses, citations, personal data, deadlines, risks."""
    from legalai.analysis.pipeline import analyze_pages, default_analyzers
    from legalai.analysis.playbooks import PlaybookError, load_playbook
    from legalai.documents.extraction.ooxml import ExpansionLimits
    from legalai.documents.extraction.registry import ExtractionOptions
    from legalai.documents.extraction.sandbox import Sandbox
    from legalai.settings import Settings

    settings = Settings()
    custom = None
    if playbook is not None:
        try:
            custom = load_playbook(playbook.read_text(encoding="utf-8"), name=str(playbook))
        except (OSError, UnicodeDecodeError) as exc:
            err.print(f"[red]Cannot read {playbook}:[/red] {exc}")
            raise typer.Exit(2) from exc
        except PlaybookError as exc:
            err.print(f"[red]Invalid playbook {playbook}:[/red]")
            for p in getattr(exc, "problems", []):
                err.print(
                    f"  line {getattr(p, 'line', '?')}: {getattr(p, 'path', '')}: {getattr(p, 'message', p)}"
                )
            raise typer.Exit(2) from exc
    analyzers = default_analyzers(custom)
    sandbox = Sandbox(
        timeout_seconds=settings.extraction_timeout_seconds,
        cpu_seconds=settings.extraction_cpu_seconds,
        memory_mb=settings.extraction_memory_mb,
        options=ExtractionOptions(
            ocr_languages=settings.ocr_languages,
            ocr_dpi=settings.ocr_dpi,
            ocr_min_chars=settings.ocr_min_chars_per_page,
            package_limits=ExpansionLimits(
                max_entries=settings.max_archive_entries,
                max_total_bytes=settings.max_archive_total_bytes,
                max_ratio=settings.max_archive_ratio,
            ),
        ),
    )
    results: list[dict[str, Any]] = []
    failed = False
    for file in files:
        pages, problem = _extract_local(file, sandbox)
        if problem is not None:
            failed = True
            results.append({"file": str(file), "error": problem})
            continue
        result = analyze_pages(pages, analyzers, max_chars=settings.analysis_max_chars)
        results.append({"file": str(file), **result})
    if as_json:
        sys.stdout.write(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    else:
        for r in results:
            _print_analysis(r)
    if failed:
        raise typer.Exit(1)


def _print_analysis(r: dict[str, Any]) -> None:
    console.rule(Text(r["file"]))
    if "error" in r:
        console.print(Text(f"error: {r['error']}", style="red"))
        return
    table = Table("field", "value", show_header=False)
    table.add_row("type", f"{r['document_type']} ({r['document_type_confidence']:.2f})")
    parties = "; ".join(
        p["name"] + (f' ("{p["short_name"]}")' if p.get("short_name") else "") for p in r["parties"]
    )
    table.add_row("parties", Text(parties or "-"))
    for key in ("agreement_date", "effective_date", "expiration_date"):
        table.add_row(key.replace("_", " "), r["dates"].get(key) or "-")
    law = r.get("governing_law")
    table.add_row("governing law", law["jurisdiction"] if law else "-")
    term = r.get("term") or {}
    if term.get("automatic_renewal") is not None:
        table.add_row("automatic renewal", "yes" if term["automatic_renewal"] else "no")
    table.add_row("clauses", Text(", ".join(c["category"] for c in r["clauses"]) or "-"))
    table.add_row("citations", str(len(r["citations"])))
    table.add_row("personal data", str(len(r["personal_data"])))
    table.add_row("deadlines", str(len(r["deadlines"])))
    console.print(table)
    for risk in r["risks"]:
        where = "absent" if risk["absent"] else f"p.{risk['spans'][0]['page']}" if risk["spans"] else ""
        console.print(Text(f"[{risk['severity']}] {risk['title']} ({where})"))
    if r["summary"].get("text"):
        console.print(Text(r["summary"]["text"]))
    for warning in r.get("warnings", []):
        console.print(Text(f"warning: {warning}", style="yellow"))


def reanalyze(
    matter: Annotated[str, typer.Option("--matter", "-m", help="Matter name")],
    force: Annotated[bool, typer.Option(help="Re-analyze documents that are already up to date too")] = False,
    wait: Annotated[bool, typer.Option(help="Wait and show progress until done")] = True,
    timeout: Annotated[float, typer.Option(help="Seconds to wait at most")] = 3600.0,
    user: Annotated[
        str | None,
        typer.Option("--user", envvar="LEGALAI_USER", help="Act as this user (default: the only owner)"),
    ] = None,
) -> None:
    """Refresh a matter's analyses after an upgrade or a new playbook, as background jobs."""
    from legalai.analysis.service import matter_progress, reanalyze_matter
    from legalai.cli import _local_runtime
    from legalai.kit.db import transaction
    from legalai.matters.repository import MatterRepository

    runtime, principal = _local_runtime(start_worker=wait, user=user)
    try:
        with transaction(runtime.sessions) as session:
            found = MatterRepository(session, principal).find_by_name(matter)
            if found is None:
                err.print(f"[red]No matter named {matter!r}[/red]")
                raise typer.Exit(2)
            principal.require_write()
            matter_id = found.id
            queued = reanalyze_matter(
                session,
                runtime.analysis,
                principal.organization_id,
                matter_id,
                runtime.queue.send_analysis,
                force=force,
            )
        err.print(f"{len(queued)} document(s) queued for analysis")
        if not wait or not queued:
            return
        deadline = time.monotonic() + timeout
        columns = (TextColumn("analyzing"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        with Progress(*columns, console=err) as bar:
            task = bar.add_task("analysis", total=len(queued))
            while time.monotonic() < deadline:
                with runtime.sessions() as session:
                    progress = matter_progress(
                        session, runtime.analysis, principal.organization_id, matter_id
                    )
                bar.update(task, completed=len(queued) - progress.queued)
                if progress.queued == 0:
                    break
                time.sleep(0.2)
        sys.stdout.write(json.dumps(progress.as_dict()) + "\n")
        if progress.queued:
            raise typer.Exit(1)
    finally:
        runtime.close()


def _trained_on(model: Any, texts: dict[str, str]) -> set[str]:
    """The contracts (of ``texts``) whose text the clause model was trained on."""
    from legalai.analysis.clauses import text_fingerprint

    seen = model.training_hashes
    return {name for name, text in texts.items() if text_fingerprint(text) in seen}


def _overlap_warning(trained: set[str], total: int) -> str | None:
    if not trained:
        return None
    return (
        f"{len(trained)} of {total} contracts were in the clause model's training data: clause numbers on "
        "them are not a test. Cross-validated numbers: scripts/train_clauses.py --cv."
    )


def eval_contracts(
    contracts: Annotated[Path, typer.Option("--contracts", help="Folder of contract .txt files")],
    labels: Annotated[Path, typer.Option("--labels", help="CUAD-format labels.csv")],
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output")] = False,
) -> None:
    """Score key terms (governing law, dates, parties) and clause presence against CUAD labels."""
    from legalai.analysis.pipeline import default_clause_model
    from legalai.evaluation.clauses import score_clause_presence
    from legalai.evaluation.contracts import load_labels, score_key_terms

    if not contracts.is_dir() or not labels.is_file():
        err.print(f"[red]Need a folder of contracts and a labels file:[/red] {contracts}, {labels}")
        raise typer.Exit(2)
    names = [name for name in load_labels(labels) if (contracts / name).is_file()]
    if not names:
        err.print("[red]None of the labelled contracts is in that folder[/red]")
        raise typer.Exit(2)
    key_terms = score_key_terms(contracts, labels)
    model = default_clause_model()
    texts = {name: (contracts / name).read_text(encoding="utf-8", errors="replace") for name in names}
    predicted = {name: {c.category for c in model.find_clauses(text)} for name, text in texts.items()}
    presence = score_clause_presence(predicted, labels)
    warning = _overlap_warning(_trained_on(model, texts), len(texts))
    per_category = {c: round(s.f1, 4) for c, s in presence.per_category.items()}
    if as_json:
        out: dict[str, Any] = {
            "governing_law": round(key_terms.governing_law, 4),
            "agreement_date": round(key_terms.agreement_date, 4),
            "effective_date": round(key_terms.effective_date, 4),
            "expiration_date": round(key_terms.expiration_date, 4),
            "parties_f1": round(key_terms.parties_f1, 4),
            "clause_macro_f1": round(presence.macro_f1, 4),
            "per_category_f1": per_category,
            "n": {**key_terms.n, "contracts": len(texts)},
        }
        if warning:
            out["warning"] = warning
        sys.stdout.write(json.dumps(out, indent=2) + "\n")
        return
    table = Table("field", "score", "n")
    for name in ("governing_law", "agreement_date", "effective_date", "expiration_date", "parties_f1"):
        table.add_row(name, f"{getattr(key_terms, name):.3f}", str(key_terms.n.get(name, 0)))
    console.print(table)
    cats = Table("category", "present", "predicted", "F1", "in macro")
    for name, s in presence.per_category.items():
        cats.add_row(
            name,
            str(s.present),
            str(s.predicted),
            f"{s.f1:.3f}",
            "yes" if name in presence.scored_categories else "",
        )
    console.print(cats)
    console.print(
        f"clause presence macro-F1 {presence.macro_f1:.3f} over {len(presence.scored_categories)} categories"
    )
    if warning:
        err.print(f"[yellow]{warning}[/yellow]")


def eval_clauses(
    snippets: Annotated[
        Path, typer.Option("--snippets", help="clause_snippets.tsv (category, label, contract, text)")
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output")] = False,
) -> None:
    """Score the clause classifier on labelled snippets: accuracy per category, their mean, macro-F1."""
    from legalai.analysis.pipeline import default_clause_model
    from legalai.evaluation.clauses import read_snippets, score_snippets

    try:
        rows = read_snippets(snippets)
    except (OSError, ValueError, KeyError) as exc:
        err.print(f"[red]Cannot read {snippets}:[/red] {exc}")
        raise typer.Exit(2) from exc
    model = default_clause_model()
    scores = score_snippets(rows, model)
    from legalai.analysis.clauses import text_fingerprint

    seen_snippets = model.training_snippet_hashes
    overlap = sum(1 for r in rows if text_fingerprint(r.text) in seen_snippets)
    warning = (
        f"{overlap} of {len(rows)} snippets were in the model's training data: not a test. "
        "Cross-validated numbers: scripts/train_clauses.py --cv."
        if overlap
        else None
    )
    if as_json:
        out: dict[str, Any] = {
            "mean_accuracy": round(scores.mean_accuracy, 4),
            "macro_f1": round(scores.macro_f1, 4),
            "pooled_accuracy": round(scores.pooled_accuracy, 4),
            "per_category_accuracy": {k: round(v, 4) for k, v in scores.per_category.items()},
            "n": scores.n,
        }
        if warning:
            out["warning"] = warning
        sys.stdout.write(json.dumps(out, indent=2) + "\n")
        return
    table = Table("category", "snippets", "accuracy")
    for name, acc in scores.per_category.items():
        table.add_row(name, str(scores.counts.get(name, 0)), f"{acc:.3f}")
    console.print(table)
    console.print(
        f"mean per-category accuracy {scores.mean_accuracy:.3f}  macro-F1 {scores.macro_f1:.3f}  "
        f"(pooled accuracy {scores.pooled_accuracy:.3f}, n={scores.n})"
    )
    if warning:
        err.print(f"[yellow]{warning}[/yellow]")
