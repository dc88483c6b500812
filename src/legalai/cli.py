"""The `legalai` command line: serve, worker, db, check-config, ingest, search."""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from legalai.settings import ConfigurationError, Settings

app = typer.Typer(help="LegalAI: ingest, extract, index and search legal documents.", no_args_is_help=True)
db_app = typer.Typer(help="Database migrations.", no_args_is_help=True)
app.add_typer(db_app, name="db")
admin_app = typer.Typer(help="People, keys and first-run set-up, for scripts.", no_args_is_help=True)
app.add_typer(admin_app, name="admin")
audit_app = typer.Typer(help="The tamper-evident audit log.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")
eval_app = typer.Typer(help="Measure the analysis against labelled data.", no_args_is_help=True)
app.add_typer(eval_app, name="eval")
console = Console()
err = Console(stderr=True)


def _settings() -> Settings:
    try:
        return Settings()
    except Exception as exc:  # pydantic validation of environment values
        err.print(f"[red]Invalid settings:[/red] {exc}")
        raise typer.Exit(2) from exc


def _validated() -> Settings:
    settings = _settings()
    try:
        settings.validate_for_startup()
    except ConfigurationError as exc:
        err.print(f"[red]Refusing to start.[/red] {exc}")
        raise typer.Exit(2) from exc
    return settings


@app.command("check-config")
def check_config() -> None:
    """Print whether the settings are fit for their environment, listing every problem."""
    settings = _settings()
    problems = settings.problems()
    console.print(f"environment: {settings.environment.value}")
    console.print(f"database:    {_redact_url(settings.resolved_database_url)}")
    console.print(f"storage:     {settings.storage_backend}")
    console.print(
        f"queue:       {'redis' if settings.redis_url else 'in-process'} ({settings.effective_worker_mode})"
    )
    if problems:
        console.print(f"[red]NOT OK[/red]: {len(problems)} problem(s)")
        for p in problems:
            console.print(f"  - {p}")
        raise typer.Exit(1)
    console.print("[green]OK[/green]")


def _redact_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001
        return url.split("@")[-1]


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Apply migrations to the configured database."""
    from legalai.kit.db import make_engine
    from legalai.kit.migrate import upgrade

    settings = _settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.resolved_database_url)
    upgrade(engine, revision)
    engine.dispose()
    console.print(f"database at {revision}: {_redact_url(settings.resolved_database_url)}")


def _admin_session() -> Any:
    """A migrated database and a transaction factory, for admin commands."""
    import legalai.accounts.access  # noqa: F401 - access changes bump the version API caches watch
    from legalai.kit.db import make_engine, make_sessionmaker
    from legalai.kit.migrate import upgrade

    settings = _settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.resolved_database_url)
    if settings.is_sqlite:
        upgrade(engine)
    return settings, engine, make_sessionmaker(engine)


@admin_app.command("create-user")
def admin_create_user(
    email: Annotated[str, typer.Option(help="E-mail address (the sign-in name)")],
    organization: Annotated[str, typer.Option(help="Organization name (created if it does not exist)")],
    role: Annotated[str, typer.Option(help="owner, admin, attorney, paralegal or viewer")] = "attorney",
    name: Annotated[str, typer.Option(help="Display name")] = "",
    password: Annotated[
        str | None,
        typer.Option(envvar="LEGALAI_NEW_PASSWORD", help="Password (prompted when omitted; 12+ characters)"),
    ] = None,
) -> None:
    """Create a person (or add an existing one) in an organization with a role."""
    from sqlalchemy import select

    from legalai.accounts import service
    from legalai.accounts.models import Organization, Role
    from legalai.kit.db import transaction
    from legalai.kit.errors import DomainError

    try:
        chosen_role = Role(role)
    except ValueError as exc:
        err.print(f"[red]Unknown role {role!r}[/red]; use owner, admin, attorney, paralegal or viewer")
        raise typer.Exit(2) from exc
    if password is None:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    _settings_obj, engine, sessions = _admin_session()
    try:
        with transaction(sessions) as session:
            org = session.scalar(select(Organization).where(Organization.name == organization))
            org = org or service.create_organization(session, organization)
            user = service.find_user(session, email) or service.create_user(session, email, password, name)
            service.add_to_organization(session, org.id, user.id, chosen_role)
            console.print(f"{user.email} is {chosen_role.value} of {org.name} (user id {user.id})")
    except DomainError as exc:
        err.print(f"[red]{exc.detail}[/red]")
        raise typer.Exit(2) from exc
    finally:
        engine.dispose()


@admin_app.command("create-api-key")
def admin_create_api_key(
    user: Annotated[str, typer.Option("--user", help="E-mail of the key's owner")],
    name: Annotated[str, typer.Option(help="What the key is for")] = "script",
    scopes: Annotated[str, typer.Option(help="Comma-separated: read, write, admin")] = "read,write",
    expires_days: Annotated[int | None, typer.Option(help="Days until the key expires")] = None,
) -> None:
    """Create an API key and print it once (only its hash is stored)."""
    from datetime import timedelta

    from legalai.accounts import service
    from legalai.kit.db import transaction, utcnow
    from legalai.kit.errors import DomainError

    _settings_obj, engine, sessions = _admin_session()
    try:
        with transaction(sessions) as session:
            principal = service.acting_principal(session, user)
            expires = utcnow() + timedelta(days=expires_days) if expires_days else None
            wanted = frozenset(s.strip() for s in scopes.split(",") if s.strip())
            key, secret = service.create_api_key(session, principal, name, wanted, expires)
        sys.stdout.write(secret + "\n")
        err.print(f"key {key.prefix} for {user}, scopes {','.join(key.scopes)}: shown once, store it now")
    except DomainError as exc:
        err.print(f"[red]{exc.detail}[/red]")
        raise typer.Exit(2) from exc
    finally:
        engine.dispose()


@admin_app.command("setup-link")
def admin_setup_link() -> None:
    """Print a new one-time link that creates the first owner (only while there are no users)."""
    from datetime import timedelta

    from legalai.accounts import service
    from legalai.kit.db import transaction

    settings, engine, sessions = _admin_session()
    try:
        with transaction(sessions) as session:
            if service.has_any_user(session):
                err.print("[red]This installation already has users;[/red] use `legalai admin create-user`.")
                raise typer.Exit(2)
            token = service.create_setup_token(session, timedelta(hours=settings.setup_link_hours))
        sys.stdout.write(f"{settings.base_url}/setup?token={token}\n")
    finally:
        engine.dispose()


@audit_app.command("verify")
def audit_verify(
    organization: Annotated[str | None, typer.Option(help="Organization id")] = None,
    chain: Annotated[
        bool, typer.Option(help="Link pending events into the chain first (--no-chain: only read)")
    ] = True,
) -> None:
    """Recompute every organization's audit hash chain; exit 1 at the first broken link, 3 when
    events waited too long to be chained (is the chainer running?)."""
    from legalai.audit.cli import verify_command

    settings = _settings()
    raise typer.Exit(
        verify_command(
            settings.resolved_database_url,
            organization,
            chain=chain,
            stale_after_seconds=settings.audit_pending_alert_seconds,
        )
    )


@eval_app.command("citations")
def eval_citations(
    cases: Annotated[Path, typer.Option("--cases", help="eyecite-format cases (JSON list)")],
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output")] = False,
) -> None:
    """Score citation extraction: recall per citation type, overall precision and F1."""
    from legalai.evaluation.citations import score_cases

    try:
        data = json.loads(cases.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        err.print(f"[red]Cannot read {cases}:[/red] {exc}")
        raise typer.Exit(2) from exc
    score = score_cases(data)
    if as_json:
        out = {
            "precision": round(score.precision, 4),
            "recall": round(score.recall, 4),
            "f1": round(score.f1, 4),
            "per_type": {
                k: {"expected": v.expected, "matched": v.matched, "recall": round(v.recall, 4)}
                for k, v in sorted(score.per_type.items())
            },
        }
        sys.stdout.write(json.dumps(out, indent=2) + "\n")
        return
    table = Table("type", "expected", "matched", "recall")
    for name, t in sorted(score.per_type.items()):
        table.add_row(name, str(t.expected), str(t.matched), f"{t.recall:.3f}")
    console.print(table)
    console.print(f"precision {score.precision:.3f}  recall {score.recall:.3f}  F1 {score.f1:.3f}")


def _register_analysis() -> None:
    from legalai.analysis import cli as analysis_cli
    from legalai.ask import cli as ask_cli
    from legalai.retrieval import cli as retrieval_cli

    app.command("analyze")(analysis_cli.analyze)
    app.command("reanalyze")(analysis_cli.reanalyze)
    eval_app.command("contracts")(analysis_cli.eval_contracts)
    eval_app.command("clauses")(analysis_cli.eval_clauses)
    eval_app.command("retrieval")(retrieval_cli.eval_retrieval)
    app.command("ask")(ask_cli.ask)


_register_analysis()


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address")] = None,
    port: Annotated[int | None, typer.Option(help="Port")] = None,
    migrate: Annotated[bool, typer.Option(help="Apply migrations first (default on SQLite)")] = False,
) -> None:
    """Run the API and web UI (with the in-process worker unless Redis is configured)."""
    import uvicorn

    from legalai.app import create_app

    settings = _validated()
    # The address actually served, so printed links (the set-up link) point at it.
    settings = settings.model_copy(update={"host": host or settings.host, "port": port or settings.port})
    if migrate or settings.is_sqlite:
        db_upgrade()
    console.print(f"LegalAI on http://{host or settings.host}:{port or settings.port}")
    options: dict[str, Any] = {
        "host": host or settings.host,
        "port": port or settings.port,
        "log_config": None,
        "access_log": False,  # each request is logged once, as structured JSON, by the app
        "proxy_headers": True,
        "timeout_graceful_shutdown": 30,
    }
    if settings.api_processes > 1:  # each process builds its own app from the same environment
        uvicorn.run("legalai.app:create_app", factory=True, workers=settings.api_processes, **options)
    else:
        uvicorn.run(create_app(settings), **options)


@app.command()
def worker(
    threads: Annotated[int | None, typer.Option(help="Worker threads in this process")] = None,
) -> None:
    """Consume the Redis job queue. Run as many of these processes as you like."""
    from legalai.observability.logging import configure_logging
    from legalai.runtime import build_runtime

    settings = _validated()
    if not settings.redis_url:
        err.print(
            "[red]`legalai worker` needs LEGALAI_REDIS_URL;[/red] "
            "without it `legalai serve` runs jobs itself."
        )
        raise typer.Exit(2)
    configure_logging(settings.log_level, json=settings.log_json)
    from legalai.app import init_sentry

    init_sentry(settings)
    runtime = build_runtime(settings)
    runtime.start_audit_chainer()  # stopped (after a last round) by runtime.close()
    runtime.queue.start_worker(threads)
    runtime.queue.recover()
    runtime.queue.start_sweeper()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    console.print(f"worker {os.getpid()} consuming {settings.redis_url.split('@')[-1]}")
    while not stop.wait(1.0):
        pass
    runtime.close()


def _collect(paths: list[Path]) -> list[tuple[Path, str]]:
    """Files to ingest with the folder they sit in (relative to a directory argument)."""
    found: list[tuple[Path, str]] = []
    for path in paths:
        if path.is_dir():
            for file in sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith(".")):
                rel = file.parent.relative_to(path).as_posix()
                found.append((file, "" if rel == "." else rel))
        elif path.is_file():
            found.append((path, ""))
        else:
            err.print(f"[red]No such file or directory:[/red] {path}")
            raise typer.Exit(2)
    return found


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Files, folders or .zip archives")],
    matter: Annotated[str, typer.Option("--matter", "-m", help="Matter name (created if needed)")],
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output")] = False,
    wait: Annotated[bool, typer.Option(help="Wait until every document is processed")] = True,
    timeout: Annotated[float, typer.Option(help="Seconds to wait at most")] = 3600.0,
    user: Annotated[
        str | None,
        typer.Option("--user", envvar="LEGALAI_USER", help="Act as this user (default: the only owner)"),
    ] = None,
) -> None:
    """Ingest files into a matter, wait for processing and print a per-file result table."""
    from legalai.documents.intake import StagedFile, original_name_of, sanitize_filename, stage_stream
    from legalai.documents.service import ingest_files
    from legalai.kit.db import transaction
    from legalai.kit.errors import DomainError

    files = _collect(paths)
    runtime, principal = _local_runtime(start_worker=wait, user=user)
    try:
        rows: list[dict[str, Any]] = []
        with transaction(runtime.sessions) as session:
            from legalai.matters.service import get_or_create_matter

            matter_row, principal = get_or_create_matter(session, principal, matter)
            staged: list[StagedFile] = []
            for file, folder in files:
                try:
                    with file.open("rb") as fh:
                        path, sha, size = stage_stream(
                            fh, runtime.scratch, runtime.settings.max_upload_bytes, name=file.name
                        )
                    original = original_name_of("/".join(x for x in (folder, file.name) if x))
                    staged.append(StagedFile(sanitize_filename(file.name), folder, path, sha, size, original))
                except DomainError as exc:
                    rows.append(
                        {
                            "file": "/".join(x for x in (folder, file.name) if x),
                            "status": "rejected",
                            "error": exc.detail,
                        }
                    )
            ctx = runtime.intake(session, principal)
            report = ingest_files(ctx, matter_row.id, staged)
        for o in report.outcomes:
            rows.append(
                {
                    "file": "/".join(x for x in (o.path, o.filename) if x),
                    "archive": o.archive,
                    "document_id": o.document_id,
                    "status": o.status or "rejected",
                    "deduplicated": o.deduplicated,
                    "error": o.error.detail if o.error else None,
                }
            )
        if wait:
            started = time.monotonic()
            _wait_for(runtime, principal, rows, timeout, show=not as_json)
            if runtime.settings.effective_worker_mode == "inprocess":
                # Searchable now; the follow-up stages (analysis, vectors) run in this process too,
                # so finish them before it exits (else the next `legalai serve` picks them up).
                if not as_json:
                    err.print("analyzing and embedding (the documents are searchable already)...")
                try:
                    runtime.queue.join(timeout=max(1.0, timeout - (time.monotonic() - started)))
                except TimeoutError:
                    err.print("[yellow]analysis is not finished; `legalai serve` continues it[/yellow]")
        _print_ingest(rows, as_json)
        if any(r["status"] in ("failed", "rejected") for r in rows):
            raise typer.Exit(1)
    finally:
        runtime.close()


def _local_runtime(*, start_worker: bool, user: str | None) -> tuple[Any, Any]:
    from legalai.accounts.service import acting_principal
    from legalai.kit.db import transaction
    from legalai.kit.errors import DomainError
    from legalai.kit.migrate import upgrade
    from legalai.observability.logging import configure_logging
    from legalai.runtime import build_runtime

    settings = _validated()
    configure_logging("WARNING", json=settings.log_json)
    runtime = build_runtime(settings)
    if settings.is_sqlite:
        upgrade(runtime.engine)
    try:
        with transaction(runtime.sessions) as session:
            principal = acting_principal(session, user)
    except DomainError as exc:
        runtime.close()
        err.print(f"[red]{exc.detail}[/red]")
        raise typer.Exit(2) from exc
    if start_worker and settings.effective_worker_mode == "inprocess":
        runtime.queue.start_worker()
    return runtime, principal


def _wait_for(
    runtime: Any, principal: Any, rows: list[dict[str, Any]], timeout: float, *, show: bool
) -> None:
    from legalai.documents.repository import DocumentRepository

    pending = {r["document_id"] for r in rows if r.get("document_id")}
    by_id = {r["document_id"]: r for r in rows if r.get("document_id")}
    deadline = time.monotonic() + timeout
    progress = Progress(
        TextColumn("processing"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        disable=not show,
    )
    with progress:
        task = progress.add_task("docs", total=len(pending))
        while pending and time.monotonic() < deadline:
            with runtime.sessions() as session:
                found = DocumentRepository(session, principal).progress(list(pending))
            for doc_id, status, reason, pages in found:
                if status in ("ready", "failed"):
                    pending.discard(doc_id)
                    by_id[doc_id].update(status=status, error=reason, pages=pages)
            progress.update(task, completed=len(by_id) - len(pending))
            if pending:
                time.sleep(0.2)


def _print_ingest(rows: list[dict[str, Any]], as_json: bool) -> None:
    if as_json:
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
        return
    table = Table("file", "status", "pages", "note")
    colors = {"ready": "green", "failed": "red", "rejected": "red"}
    for r in rows:
        note = r.get("error") or ("duplicate of existing document" if r.get("deduplicated") else "")
        status = r["status"]
        table.add_row(
            Text(r["file"]),
            Text(status, style=colors.get(status, "yellow")),
            str(r.get("pages") or ""),
            Text(note),
        )
    console.print(table)


@app.command()
def search(
    query: Annotated[str, typer.Argument(help='Words, "phrases", prefix*, -exclude, OR')],
    matter: Annotated[str, typer.Option("--matter", "-m", help="Matter name")],
    document: Annotated[str | None, typer.Option(help="Only this file name")] = None,
    limit: Annotated[int, typer.Option(min=1, max=100)] = 10,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output")] = False,
    user: Annotated[
        str | None,
        typer.Option("--user", envvar="LEGALAI_USER", help="Act as this user (default: the only owner)"),
    ] = None,
) -> None:
    """Full-text search in a matter."""
    from legalai.kit.errors import DomainError
    from legalai.matters.repository import MatterRepository
    from legalai.search.lexical import SearchFilters
    from legalai.search.lexical import search as run_search

    runtime, principal = _local_runtime(start_worker=False, user=user)
    try:
        with runtime.sessions() as session:
            found = MatterRepository(session, principal).find_by_name(matter)
            if found is None:
                err.print(f"[red]No matter named {matter!r}[/red]")
                raise typer.Exit(2)
            try:
                hits = run_search(
                    session, principal, found.id, query, SearchFilters(filename=document), limit=limit
                )
            except DomainError as exc:
                err.print(f"[red]{exc.detail}[/red]")
                raise typer.Exit(2) from exc
    finally:
        runtime.close()
    if as_json:
        out = [
            {
                "document_id": h.document_id,
                "file_name": h.filename,
                "path": h.path,
                "page": h.page,
                "start": h.start,
                "end": h.end,
                "text": h.text,
                "score": round(h.score, 6),
            }
            for h in hits
        ]
        sys.stdout.write(json.dumps(out, indent=2) + "\n")
        return
    table = Table("score", "file", "page", "span", "snippet")
    for h in hits:
        # Document text is data, never console markup: build a Text and style the spans.
        snippet = Text(h.snippet.replace("\n", " "))
        for hl in h.highlights:
            snippet.stylize("bold yellow", hl.start - h.snippet_start, hl.end - h.snippet_start)
        table.add_row(f"{h.score:.3f}", Text(h.filename), str(h.page), f"{h.start}-{h.end}", snippet)
    console.print(table)


if __name__ == "__main__":
    app()
