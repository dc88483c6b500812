"""POST /matters/{id}/ask: a verified answer as JSON, or as server-sent events."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import asdict, is_dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from legalai.accounts.principal import Principal
from legalai.ask.models import DocumentSummary
from legalai.ask.schemas import AnswerOut, AskIn, SummaryOut
from legalai.ask.service import Answer, AskRequest
from legalai.ask.summary import current_summary, request_summary
from legalai.audit.endpoints import audit_request
from legalai.kit.db import after_commit, transaction
from legalai.kit.deps import DbSession, PrincipalDep, get_runtime
from legalai.kit.errors import DomainError
from legalai.observability.logging import get_logger

router = APIRouter(tags=["ask"])
log = get_logger(__name__)


def _request(body: AskIn, stream: bool) -> AskRequest:
    return AskRequest(
        question=body.question,
        conversation_id=body.conversation_id,
        document_id=body.document_id,
        filename=body.document,
        mode=body.mode,
        top_k=body.top_k,
        stream=stream,
    )


def audit_answer(
    request: Request, session: Any, principal: Principal, matter_id: str, answer: Answer
) -> None:
    audit_request(
        request,
        session,
        principal,
        "question.ask",
        matter_id=matter_id,
        target_type="matter",
        target_id=matter_id,
        details={
            "question": answer.question[:500],
            "mode": answer.mode,
            "provider": answer.provider,
            "verified_statements": answer.verified_statements,
            "total_statements": answer.total_statements,
            "conversation_id": answer.conversation_id,
        },
    )


@router.post(
    "/matters/{matter_id}/ask",
    response_model=AnswerOut,
    responses={200: {"content": {"text/event-stream": {}}, "description": "JSON, or SSE when streaming"}},
)
def ask(matter_id: str, body: AskIn, request: Request, session: DbSession, principal: PrincipalDep) -> Any:
    """Answer a question from the matter's documents; every statement shown cites a verified span."""
    runtime = get_runtime(request)
    stream = body.stream or "text/event-stream" in request.headers.get("accept", "")
    if not stream:
        answer = runtime.ask.ask(session, principal, matter_id, _request(body, False))
        audit_answer(request, session, principal, matter_id, answer)
        return AnswerOut.model_validate(answer.as_dict())
    # Fail fast (404, 422) before the stream starts, in the request's own transaction.
    from legalai.ask.service import check_question
    from legalai.matters.repository import MatterRepository

    check_question(body.question)
    MatterRepository(session, principal).get(matter_id)
    return StreamingResponse(
        _events(request, principal, matter_id, _request(body, True)),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


def _sse(event: str, data: Any) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data, default=_plain)}\n\n".encode()


def _plain(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return asdict(value)
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def _events(request: Request, principal: Principal, matter_id: str, req: AskRequest) -> Iterator[bytes]:
    runtime = get_runtime(request)
    try:
        with transaction(runtime.sessions) as session:
            for kind, payload in runtime.ask.ask_events(session, principal, matter_id, req):
                if kind == "answer":
                    audit_answer(request, session, principal, matter_id, payload)
                    yield _sse("answer", AnswerOut.model_validate(payload.as_dict()).model_dump())
                elif kind == "delta":
                    yield _sse("delta", {"text": payload})
                else:
                    yield _sse(kind, payload)
    except DomainError as exc:
        yield _sse("error", {"status": exc.status_code, "detail": exc.detail})
    except Exception:  # the stream has started: report, don't drop the connection silently
        log.exception("ask.stream_failed", matter_id=matter_id)
        yield _sse("error", {"status": 500, "detail": "The answer failed; try again"})
    yield _sse("done", {})


def _summary_out(row: DocumentSummary) -> SummaryOut:
    return SummaryOut(
        document_id=row.document_id,
        version_id=row.version_id,
        status=row.status,
        reason=row.reason,
        attempts=row.attempts,
        provider=row.provider,
        model=row.model,
        statements=row.result.get("statements", []),
        unsupported=row.result.get("unsupported", []),
        verified_statements=int(row.result.get("verified_statements", 0)),
        total_statements=int(row.result.get("total_statements", 0)),
        flagged_citations=row.result.get("flagged_citations", []),
        updated_at=row.updated_at,
    )


@router.post("/documents/{document_id}/ai-summary", response_model=SummaryOut, status_code=202)
def request_ai_summary(
    document_id: str, request: Request, session: DbSession, principal: PrincipalDep
) -> SummaryOut:
    """Queue a summary by an AI provider (when the matter's policy allows one); poll with GET."""
    principal.require_write()
    row = request_summary(session, principal, document_id)
    version_id = row.version_id
    queue = get_runtime(request).queue
    after_commit(session, lambda: queue.send_summary(version_id))
    audit_request(
        request,
        session,
        principal,
        "document.summary_requested",
        matter_id=row.matter_id,
        target_type="document",
        target_id=document_id,
    )
    return _summary_out(row)


@router.get("/documents/{document_id}/ai-summary", response_model=SummaryOut)
def get_ai_summary(document_id: str, session: DbSession, principal: PrincipalDep) -> SummaryOut:
    """The AI summary of the document's current version (status ``none`` if never requested)."""
    row = current_summary(session, principal, document_id)
    if row is None:
        return SummaryOut(document_id=document_id, status="none")
    return _summary_out(row)
