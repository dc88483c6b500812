"""`legalai ask QUESTION --matter NAME [--document FILE] [--json]`."""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any, Literal

import typer
from rich.console import Console
from rich.text import Text

console = Console()
err = Console(stderr=True)


def ask(
    question: Annotated[str, typer.Argument(help="The question, in plain words")],
    matter: Annotated[str, typer.Option("--matter", "-m", help="Matter name")],
    document: Annotated[
        str | None, typer.Option("--document", help="Only the document with this file name")
    ] = None,
    mode: Annotated[
        str, typer.Option(help="auto (AI provider if the matter allows), extractive or generative")
    ] = "auto",
    conversation: Annotated[str | None, typer.Option(help="Continue this conversation id")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output")] = False,
    user: Annotated[
        str | None,
        typer.Option("--user", envvar="LEGALAI_USER", help="Act as this user (default: the only owner)"),
    ] = None,
) -> None:
    """Answer a question from a matter's documents, every statement citing a verified span."""
    from legalai.ask.service import AskRequest
    from legalai.cli import _local_runtime
    from legalai.kit.db import transaction
    from legalai.kit.errors import DomainError
    from legalai.matters.repository import MatterRepository

    if mode not in ("auto", "extractive", "generative"):
        err.print("[red]--mode is auto, extractive or generative[/red]")
        raise typer.Exit(2)
    chosen: Literal["auto", "extractive", "generative"] = mode  # type: ignore[assignment]
    runtime, principal = _local_runtime(start_worker=False, user=user)
    try:
        with transaction(runtime.sessions) as session:
            found = MatterRepository(session, principal).find_by_name(matter)
            if found is None:
                err.print(f"[red]No matter named {matter!r}[/red]")
                raise typer.Exit(2)
            try:
                answer = runtime.ask.ask(
                    session,
                    principal,
                    found.id,
                    AskRequest(question, conversation_id=conversation, filename=document, mode=chosen),
                )
            except DomainError as exc:
                err.print(f"[red]{exc.detail}[/red]")
                raise typer.Exit(2) from exc
            except Exception as exc:  # an AI provider error in generative mode
                err.print(f"[red]{getattr(exc, 'message', None) or exc}[/red]")
                raise typer.Exit(1) from exc
    finally:
        runtime.close()
    if as_json:
        sys.stdout.write(json.dumps(answer.as_dict(), indent=2) + "\n")
        return
    _print(answer.as_dict())


def _print(a: dict[str, Any]) -> None:
    console.print(Text(a["label"], style="bold"))
    if a.get("notice"):
        console.print(Text(a["notice"], style="yellow"))
    for i, s in enumerate(a["statements"], start=1):
        body = Text(f"{i}. ")
        body.append(s["text"])
        console.print(body)
        for c in s["citations"]:
            console.print(
                Text(f"   [{c['filename']}, page {c['page']}, {c['start']}-{c['end']}]", style="dim")
            )
        for f in s.get("flagged_citations", []):
            console.print(Text(f"   ! citation not found in this matter: {f}", style="red"))
    if a["unsupported"]:
        console.print(Text(f"{len(a['unsupported'])} statement(s) withheld: quotes not found", style="red"))
    console.print(
        Text(f"{a['verified_statements']} of {a['total_statements']} statements verified", style="dim")
    )
    if a.get("conversation_id"):
        console.print(Text(f"conversation {a['conversation_id']}", style="dim"))
