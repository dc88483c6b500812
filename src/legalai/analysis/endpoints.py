"""Analysis API: a document's analysis, deadlines as iCalendar, matter re-analysis, playbooks."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request, status
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlalchemy import select, update

from legalai.analysis.models import AnalysisStatus, StoredPlaybook
from legalai.analysis.repository import AnalysisRepository
from legalai.analysis.service import (
    AnalysisState,
    active_playbook,
    get_analysis,
    matter_progress,
    reanalyze_matter,
)
from legalai.audit.endpoints import audit_request
from legalai.documents.endpoints import audit_document_view
from legalai.documents.models import Document
from legalai.documents.repository import DocumentRepository
from legalai.kit.deps import DbSession, PrincipalDep, RuntimeDep
from legalai.kit.errors import Conflict, InvalidInput
from legalai.kit.schemas import problem_response
from legalai.matters.repository import MatterRepository

router = APIRouter(tags=["analysis"])
MAX_PLAYBOOK_BYTES = 256 * 1024


def analysis_body(doc: Document, state: AnalysisState, version_number: int) -> dict[str, Any]:
    row = state.row
    body: dict[str, Any] = {
        "document_id": doc.id,
        "filename": doc.filename,
        "version": version_number,
        "status": state.status,
        "stage_status": state.stage,
        "error": row.error if row is not None and row.error else state.stage_error,
        "analyzed_at": row.updated_at.isoformat() if row is not None and row.updated_at else None,
        "versions": row.versions if row is not None else {},
        "has_result": bool(row is not None and row.result),
    }
    if row is not None and row.result:
        body.update(row.result)
        body["versions"] = row.versions  # what produced the stored result
        body["status"] = state.status  # a result may carry no status, but never override it
    return body


@router.get(
    "/documents/{document_id}/analysis",
    response_model=dict[str, Any],
    responses={404: problem_response("Unknown document, or not analyzed yet")},
)
def document_analysis(
    document_id: str, request: Request, session: DbSession, principal: PrincipalDep
) -> dict[str, Any]:
    """The stored analysis of the current version: key terms, clauses, citations, personal data,
    deadlines, risks and summary; every span has ``page``, ``start``, ``end`` and ``text``.

    ``status`` is ``ready``, ``failed`` (``error`` says why), or ``pending``/``running`` while the
    analysis stage has not finished (the document is searchable before it is analyzed; during a
    re-analysis the previous result, if any, is still shown: ``has_result``)."""
    doc, state = get_analysis(session, principal, document_id)
    version = DocumentRepository(session, principal).current_version(doc)
    audit_document_view(request, session, principal, doc, version.number, via="analysis")
    return analysis_body(doc, state, version.number)


def _ics_response(body: str, filename: str) -> Response:
    return Response(
        body,
        media_type="text/calendar; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _deadline_items(filename: str, result: dict[str, Any] | None) -> list[tuple[str, Any]]:
    """(label, deadline) for every dated deadline of a stored analysis."""
    from legalai.analysis.types import Deadline

    items: list[tuple[str, Any]] = []
    for d in (result or {}).get("deadlines", []):
        if not d.get("due_date"):
            continue
        span = d.get("span") or {}
        deadline = Deadline(
            description=d.get("description", ""),
            start=int(span.get("start", 0)),
            end=int(span.get("end", 0)),
            due_date=d["due_date"],
            anchor=d.get("anchor"),
            relation=d.get("relation"),
        )
        items.append((f"{filename} p.{span.get('page', '?')}", deadline))
    return items


@router.get(
    "/documents/{document_id}/deadlines.ics",
    response_class=Response,
    responses={
        200: {"content": {"text/calendar": {}}},
        404: problem_response("Unknown document"),
        409: problem_response("The document is not analyzed yet (its analysis is pending or running)"),
    },
)
def document_deadlines_ics(
    document_id: str, request: Request, session: DbSession, principal: PrincipalDep
) -> Response:
    """The document's dated deadlines as an iCalendar file (one all-day event each)."""
    from legalai.analysis.ics import deadlines_to_ics

    doc, state = get_analysis(session, principal, document_id)
    if (state.row is None or not state.row.result) and state.stage in ("pending", "running"):
        raise Conflict(
            f"The analysis of this document is {state.stage}; its deadlines are known once it is done",
            analysis_status=state.stage,
        )
    version = DocumentRepository(session, principal).current_version(doc)
    audit_document_view(request, session, principal, doc, version.number, via="deadlines")
    items = _deadline_items(doc.filename, state.row.result if state.row is not None else None)
    return _ics_response(deadlines_to_ics(items, f"Deadlines: {doc.filename}"), "deadlines.ics")


@router.get(
    "/matters/{matter_id}/deadlines.ics",
    response_class=Response,
    responses={200: {"content": {"text/calendar": {}}}, 404: problem_response("Unknown matter")},
)
def matter_deadlines_ics(
    matter_id: str, request: Request, session: DbSession, principal: PrincipalDep
) -> Response:
    """Every dated deadline found in the matter's documents, as one iCalendar file."""
    from legalai.analysis.ics import deadlines_to_ics

    matter = MatterRepository(session, principal).get(matter_id)
    items: list[tuple[str, Any]] = []
    for doc, row in AnalysisRepository(session, principal).in_matter(matter.id):
        items.extend(_deadline_items(doc.filename, row.result))
    audit_request(
        request,
        session,
        principal,
        "export",
        matter_id=matter.id,
        target_type="matter",
        target_id=matter.id,
        details={"what": "deadlines.ics", "deadlines": len(items)},
    )
    return _ics_response(deadlines_to_ics(items, f"Deadlines: {matter.name}"), "deadlines.ics")


class AnalysisProgress(BaseModel):
    total: int = Field(description="Ready documents in the matter")
    up_to_date: int
    queued: int
    failed: int
    outdated: int = Field(description="Analyzed with an older analyzer, model or playbook (or never)")


class ReanalyzeResult(BaseModel):
    queued: int
    progress: AnalysisProgress


@router.get("/matters/{matter_id}/analysis-status", response_model=AnalysisProgress)
def analysis_status(
    matter_id: str, session: DbSession, principal: PrincipalDep, runtime: RuntimeDep
) -> AnalysisProgress:
    """How many of the matter's documents carry an up-to-date analysis (progress of a re-analysis)."""
    matter = MatterRepository(session, principal).get(matter_id)
    progress = matter_progress(session, runtime.analysis, principal.organization_id, matter.id)
    return AnalysisProgress(**progress.as_dict())


@router.post(
    "/matters/{matter_id}/reanalyze", status_code=status.HTTP_202_ACCEPTED, response_model=ReanalyzeResult
)
def reanalyze(
    matter_id: str,
    request: Request,
    session: DbSession,
    principal: PrincipalDep,
    runtime: RuntimeDep,
    force: Annotated[bool, Query(description="Re-analyze even documents that are up to date")] = False,
) -> ReanalyzeResult:
    """Queue background re-analysis of the matter's out-of-date documents (all with ``force``)."""
    matter = MatterRepository(session, principal).get(matter_id)
    principal.require_write()
    queued = reanalyze_matter(
        session,
        runtime.analysis,
        principal.organization_id,
        matter.id,
        runtime.queue.send_analysis,
        force=force,
    )
    audit_request(
        request,
        session,
        principal,
        "matter.reanalyzed",
        matter_id=matter.id,
        target_type="matter",
        target_id=matter.id,
        details={"queued": len(queued), "force": force},
    )
    progress = matter_progress(session, runtime.analysis, principal.organization_id, matter.id)
    return ReanalyzeResult(queued=len(queued), progress=AnalysisProgress(**progress.as_dict()))


# ---- playbooks ------------------------------------------------------------------------------------


class PlaybookIn(BaseModel):
    source: str = Field(description="The playbook as YAML", max_length=MAX_PLAYBOOK_BYTES)


class PlaybookProblem(BaseModel):
    line: int | None
    column: int | None
    path: str
    message: str


class PlaybookValidation(BaseModel):
    valid: bool
    problems: list[PlaybookProblem]
    rules: int = 0


class PlaybookOut(BaseModel):
    id: str | None = Field(description="None for the built-in default playbook")
    playbook_id: str
    name: str
    version: str
    fingerprint: str
    rules: int
    active: bool
    created_at: datetime | None = None
    created_by: str | None = None
    source: str | None = None


def _problems(exc: Exception) -> list[PlaybookProblem]:
    out: list[PlaybookProblem] = []
    for p in getattr(exc, "problems", []) or []:
        out.append(
            PlaybookProblem(
                line=getattr(p, "line", None),
                column=getattr(p, "column", None),
                path=str(getattr(p, "path", "") or ""),
                message=str(getattr(p, "message", p)),
            )
        )
    if not out:
        out.append(PlaybookProblem(line=None, column=None, path="", message=str(exc)))
    return out


def _validate(source: str) -> tuple[Any, list[PlaybookProblem]]:
    from legalai.analysis.playbooks import PlaybookError, load_playbook

    if len(source.encode()) > MAX_PLAYBOOK_BYTES:
        return None, [PlaybookProblem(line=None, column=None, path="", message="The playbook is over 256 KB")]
    try:
        return load_playbook(source), []
    except PlaybookError as exc:
        return None, _problems(exc)


def _default_out(active: bool, with_source: bool) -> PlaybookOut:
    from legalai.analysis.playbooks import default_playbook, default_playbook_source, playbook_fingerprint

    pb = default_playbook()
    return PlaybookOut(
        id=None,
        playbook_id=pb.id,
        name=pb.name,
        version=pb.version,
        fingerprint=playbook_fingerprint(pb),
        rules=len(pb.rules),
        active=active,
        source=default_playbook_source() if with_source else None,
    )


def _stored_out(row: StoredPlaybook, with_source: bool) -> PlaybookOut:
    return PlaybookOut(
        id=row.id,
        playbook_id=row.playbook_key,
        name=row.name,
        version=row.version,
        fingerprint=row.fingerprint,
        rules=row.rule_count,
        active=row.active,
        created_at=row.created_at,
        created_by=row.created_by,
        source=row.source if with_source else None,
    )


@router.get("/playbooks", response_model=list[PlaybookOut])
def list_playbooks(session: DbSession, principal: PrincipalDep) -> list[PlaybookOut]:
    """The organization's uploaded playbooks (newest first) and the built-in default."""
    rows = session.scalars(
        select(StoredPlaybook)
        .where(StoredPlaybook.organization_id == principal.organization_id)
        .order_by(StoredPlaybook.created_at.desc())
        .limit(100)
    ).all()
    out = [_stored_out(r, False) for r in rows]
    out.append(_default_out(not any(r.active for r in rows), False))
    return out


@router.get("/playbooks/active", response_model=PlaybookOut)
def get_active_playbook(session: DbSession, principal: PrincipalDep) -> PlaybookOut:
    """The playbook new analyses use, with its YAML."""
    row = active_playbook(session, principal.organization_id)
    return _stored_out(row, True) if row is not None else _default_out(True, True)


@router.post("/playbooks/validate", response_model=PlaybookValidation)
def validate_playbook(data: PlaybookIn, principal: PrincipalDep) -> PlaybookValidation:
    """Check a playbook without storing it: every problem with its line, column and path."""
    playbook, problems = _validate(data.source)
    return PlaybookValidation(
        valid=playbook is not None, problems=problems, rules=len(playbook.rules) if playbook else 0
    )


@router.put(
    "/playbooks/active",
    response_model=PlaybookOut,
    status_code=status.HTTP_201_CREATED,
    responses={422: problem_response("Not a valid playbook (problems listed with line and reason)")},
)
def upload_playbook(
    data: Annotated[PlaybookIn, Body()], request: Request, session: DbSession, principal: PrincipalDep
) -> PlaybookOut:
    """Store a playbook and make it the organization's active one. Existing analyses keep theirs
    until re-analyzed (``POST /matters/{id}/reanalyze``)."""
    from legalai.analysis.playbooks import playbook_fingerprint

    principal.require_manage()
    playbook, problems = _validate(data.source)
    if playbook is None:
        raise InvalidInput(
            f"The playbook is not valid: {problems[0].message}"
            + (f" (line {problems[0].line})" if problems[0].line else ""),
            problems=[p.model_dump() for p in problems],
        )
    session.execute(
        update(StoredPlaybook)
        .where(StoredPlaybook.organization_id == principal.organization_id)
        .values(active=False)
    )
    row = StoredPlaybook(
        organization_id=principal.organization_id,
        name=playbook.name[:200],
        playbook_key=playbook.id[:100],
        version=str(playbook.version)[:50],
        fingerprint=playbook_fingerprint(playbook),
        source=data.source,
        rule_count=len(playbook.rules),
        active=True,
        created_by=principal.label[:320] or None,
    )
    session.add(row)
    session.flush()
    audit_request(
        request,
        session,
        principal,
        "playbook.activated",
        target_type="playbook",
        target_id=row.id,
        details={"name": row.name, "version": row.version, "rules": row.rule_count},
    )
    return _stored_out(row, True)


@router.delete("/playbooks/active", status_code=status.HTTP_204_NO_CONTENT)
def reset_playbook(request: Request, session: DbSession, principal: PrincipalDep) -> None:
    """Go back to the built-in default playbook (uploaded ones stay listed). Idempotent."""
    principal.require_manage()
    row = active_playbook(session, principal.organization_id)
    if row is None:
        return
    row.active = False
    audit_request(
        request,
        session,
        principal,
        "playbook.reset",
        target_type="playbook",
        target_id=row.id,
        details={"name": row.name},
    )


__all__ = ["AnalysisStatus", "router"]
