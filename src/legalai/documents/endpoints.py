from __future__ import annotations

import urllib.parse
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, File, Path, Query, Request, UploadFile, status
from fastapi.responses import FileResponse, JSONResponse
from sqlalchemy.orm import Session
from starlette.background import BackgroundTask

from legalai.accounts.principal import Principal
from legalai.audit.endpoints import audit_request
from legalai.documents.intake import StagedFile, original_name_of, sanitize_filename, stage_stream
from legalai.documents.models import (
    Document,
    DocumentName,
    DocumentVersion,
    ProcessingStatus,
    Stage,
    StageStatus,
    VersionStage,
)
from legalai.documents.repository import DocumentFilter, DocumentRepository
from legalai.documents.schemas import (
    DocumentList,
    DocumentNameOut,
    DocumentOut,
    PageOut,
    ProcessingEventOut,
    UploadError,
    UploadItem,
    UploadResult,
    VersionOut,
)
from legalai.documents.service import FileOutcome, delete_document, ingest_files
from legalai.documents.stages import stages_of
from legalai.kit.deps import DbSession, PrincipalDep, RuntimeDep, request_id
from legalai.kit.errors import DomainError, InvalidInput
from legalai.kit.schemas import MAX_OFFSET, problem_response
from legalai.matters.repository import MatterRepository
from legalai.runtime import Runtime
from legalai.security.quotas import check_daily_documents, check_storage_quota

router = APIRouter(tags=["documents"])
MAX_PAGE_NUMBER = 10_000_000  # beyond any document; larger numbers would overflow the database integer


# Stage durations shown among the document's timings, under the names they had as pipeline steps.
STAGE_TIMINGS = {Stage.analysis.value: "analyze", Stage.embedding.value: "embed"}


def stage_fields(
    version: DocumentVersion, stages: dict[str, VersionStage] | None
) -> tuple[dict[str, str | None], dict[str, float]]:
    """The ``analysis_*``/``embedding_*`` fields of a version, and the finished stages' times."""
    fields: dict[str, str | None] = {}
    timings: dict[str, float] = {}
    for stage in Stage:
        row = (stages or {}).get(stage.value)
        if row is not None:
            status, error = row.status, row.error
            if row.status == StageStatus.done.value and row.duration_ms is not None:
                timings[STAGE_TIMINGS[stage.value]] = row.duration_ms
        elif version.status in (ProcessingStatus.queued.value, ProcessingStatus.processing.value):
            status, error = StageStatus.pending.value, None
        else:  # failed to process, or made ready before stages existed
            status, error = None, None
        fields[f"{stage.value}_status"] = status
        fields[f"{stage.value}_error"] = error
    return fields, timings


def document_out(
    repo: DocumentRepository,
    doc: Document,
    current: DocumentVersion | None = None,
    names: Sequence[DocumentName] | None = None,
    stages: dict[str, dict[str, VersionStage]] | None = None,
) -> DocumentOut:
    """The API form of a document; ``current``, ``names`` and ``stages`` (the versions' stage
    rows) when the caller loaded them for many documents at once."""
    out = DocumentOut(
        id=doc.id,
        matter_id=doc.matter_id,
        parent_id=doc.parent_id,
        filename=doc.filename,
        path=doc.path,
        original_name=doc.original_name or doc.filename,
        additional_names=[
            DocumentNameOut.model_validate(n) for n in (repo.names(doc.id) if names is None else names)
        ],
        kind=doc.kind,
        status=doc.status,
        created_at=doc.created_at,
        updated_at=doc.updated_at,
    )
    if doc.current_version_id:
        v = current if current is not None else repo.version(doc.current_version_id)
        out.failure_reason = v.failure_reason
        out.page_count = v.page_count
        out.version = v.number
        out.size_bytes = v.size_bytes
        out.metadata = v.extracted_metadata or {}
        found = stages.get(v.id, {}) if stages is not None else stages_of(repo.session, [v.id]).get(v.id, {})
        fields, stage_timings = stage_fields(v, found)
        for name, value in fields.items():
            setattr(out, name, value)
        out.timings = {**(v.timings or {}), **stage_timings}
    return out


def documents_out(repo: DocumentRepository, docs: Sequence[Document]) -> list[DocumentOut]:
    """API forms of a page of documents: versions and names in one query each, not per row."""
    current = repo.current_versions(docs)
    names = repo.names_of([d.id for d in docs])
    stages = stages_of(repo.session, [d.current_version_id for d in docs if d.current_version_id])
    return [document_out(repo, d, current.get(d.current_version_id or ""), names[d.id], stages) for d in docs]


def stage_uploads(runtime: Runtime, files: list[UploadFile]) -> list[StagedFile]:
    staged: list[StagedFile] = []
    try:
        for upload in files:
            name = sanitize_filename(upload.filename or "", default="upload")
            path, sha, size = stage_stream(
                upload.file, runtime.scratch, runtime.settings.max_upload_bytes, name=name
            )
            staged.append(StagedFile(name, "", path, sha, size, original_name_of(upload.filename or "")))
    except BaseException:
        for s in staged:
            s.temp_path.unlink(missing_ok=True)
        raise
    return staged


def upload_into_matter(
    session: Session,
    principal: Principal,
    runtime: Runtime,
    matter_id: str,
    files: list[UploadFile],
    request: Request,
) -> list[FileOutcome]:
    """Stage every file (size and emptiness checks), then store and queue them. A bad file fails alone."""
    MatterRepository(session, principal).get(matter_id)  # 404 before 403
    principal.require_write()
    if not files:
        raise InvalidInput("No files were uploaded; send one or more parts named 'files'")
    if len(files) > runtime.settings.max_files_per_upload:
        raise InvalidInput(f"At most {runtime.settings.max_files_per_upload} files per upload")
    outcomes: list[FileOutcome] = []
    staged: list[StagedFile] = []
    for upload in files:
        try:
            staged.extend(stage_uploads(runtime, [upload]))
        except DomainError as exc:
            outcomes.append(FileOutcome(sanitize_filename(upload.filename or "", "upload"), "", error=exc))
    try:
        incoming = sum(s.size for s in staged)
        check_storage_quota(
            session, principal.organization_id, incoming, runtime.settings.quota_storage_bytes
        )
        check_daily_documents(
            session, principal.organization_id, len(staged), runtime.settings.quota_documents_per_day
        )
    except DomainError:
        for s in staged:
            s.temp_path.unlink(missing_ok=True)
        raise
    ctx = runtime.intake(session, principal, request_id(request))
    outcomes.extend(ingest_files(ctx, matter_id, staged).outcomes)
    for o in outcomes:
        if o.error is None and o.document_id and (not o.deduplicated or o.additional_name):
            details: dict[str, str | int | bool | None] = {
                "filename": o.filename,
                "path": o.path,
                "version": o.version,
                "original_name": o.original_name,
            }
            if o.deduplicated:  # the content was there already: only the name was recorded
                details["deduplicated"] = True
            audit_request(
                request,
                session,
                principal,
                "document.upload",
                matter_id=matter_id,
                target_type="document",
                target_id=o.document_id,
                details=details,
            )
    return outcomes


def _item(o: FileOutcome) -> UploadItem:
    err = None
    if o.error is not None:
        err = UploadError(status=o.error.status_code, title=o.error.title, detail=o.error.detail)
    return UploadItem(
        filename=o.filename,
        path=o.path,
        document_id=o.document_id,
        version_id=o.version_id,
        version=o.version,
        status=o.status,
        kind=o.kind,
        deduplicated=o.deduplicated,
        error=err,
        archive=o.archive,
        original_name=o.original_name,
        additional_name=o.additional_name,
    )


@router.post(
    "/matters/{matter_id}/documents",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=UploadResult,
    responses={
        413: problem_response("Too large"),
        415: problem_response("Unsupported type"),
        422: problem_response("Empty or invalid"),
    },
)
def upload(
    matter_id: str,
    request: Request,
    files: Annotated[list[UploadFile], File(description="One or more files, or .zip archives")],
    session: DbSession,
    principal: PrincipalDep,
    runtime: RuntimeDep,
) -> UploadResult | JSONResponse:
    outcomes = upload_into_matter(session, principal, runtime, matter_id, files, request)
    accepted = [_item(o) for o in outcomes if o.error is None]
    rejected = [_item(o) for o in outcomes if o.error is not None]
    if not accepted:
        first = next(o.error for o in outcomes if o.error is not None)
        assert first is not None
        raise type(first)(first.detail, rejected=[r.model_dump() for r in rejected])
    return UploadResult(accepted=accepted, rejected=rejected)


@router.get("/matters/{matter_id}/documents", response_model=DocumentList)
def list_documents(
    matter_id: str,
    session: DbSession,
    principal: PrincipalDep,
    status_: Annotated[
        str | None, Query(alias="status", pattern="^(queued|processing|ready|failed)$")
    ] = None,
    kind: str | None = None,
    path: str | None = None,
    created_from: datetime | None = None,
    created_to: datetime | None = None,
    offset: int = Query(0, ge=0, le=MAX_OFFSET),
    limit: int = Query(100, ge=1, le=1000),
) -> DocumentList:
    MatterRepository(session, principal).get(matter_id)
    repo = DocumentRepository(session, principal)
    flt = DocumentFilter(
        status=status_, kind=kind, path_prefix=path, created_from=created_from, created_to=created_to
    )
    rows, total = repo.list_in_matter(matter_id, flt, offset=offset, limit=limit)
    return DocumentList(items=documents_out(repo, rows), total=total, offset=offset, limit=limit)


@router.get("/documents/{document_id}", response_model=DocumentOut)
def get_document(document_id: str, session: DbSession, principal: PrincipalDep) -> DocumentOut:
    repo = DocumentRepository(session, principal)
    return document_out(repo, repo.get(document_id))


@router.get("/documents/{document_id}/versions", response_model=list[VersionOut])
def list_versions(document_id: str, session: DbSession, principal: PrincipalDep) -> list[VersionOut]:
    repo = DocumentRepository(session, principal)
    versions = repo.versions(repo.get(document_id).id)
    stages = stages_of(session, [v.id for v in versions])
    out: list[VersionOut] = []
    for v in versions:
        item = VersionOut.model_validate(v)
        fields, _timings = stage_fields(v, stages.get(v.id, {}))
        out.append(item.model_copy(update=fields))
    return out


@router.get("/documents/{document_id}/history", response_model=list[ProcessingEventOut])
def history(document_id: str, session: DbSession, principal: PrincipalDep) -> list[ProcessingEventOut]:
    repo = DocumentRepository(session, principal)
    version = repo.current_version(repo.get(document_id))
    return [ProcessingEventOut.model_validate(e) for e in repo.history(version.id)]


@router.get("/documents/{document_id}/pages", response_model=list[PageOut])
def pages(document_id: str, request: Request, session: DbSession, principal: PrincipalDep) -> list[PageOut]:
    repo = DocumentRepository(session, principal)
    doc = repo.get(document_id)
    version = repo.current_version(doc)
    audit_document_view(request, session, principal, doc, version.number)
    return [
        PageOut(number=p.number, text=p.text, ocr=p.ocr, char_count=len(p.text))
        for p in repo.pages(version.id)
    ]


@router.get("/documents/{document_id}/pages/{number}", response_model=PageOut)
def page(
    document_id: str,
    number: Annotated[int, Path(ge=1, le=MAX_PAGE_NUMBER)],
    request: Request,
    session: DbSession,
    principal: PrincipalDep,
) -> PageOut:
    repo = DocumentRepository(session, principal)
    doc = repo.get(document_id)
    version = repo.current_version(doc)
    p = repo.page(version.id, number)
    audit_document_view(request, session, principal, doc, version.number, page=number)
    return PageOut(number=p.number, text=p.text, ocr=p.ocr, char_count=len(p.text))


@router.get("/documents/{document_id}/original", response_class=FileResponse)
def download_original(
    document_id: str, request: Request, session: DbSession, principal: PrincipalDep, runtime: RuntimeDep
) -> FileResponse:
    repo = DocumentRepository(session, principal)
    doc = repo.get(document_id)
    version = repo.current_version(doc)
    audit_request(
        request,
        session,
        principal,
        "document.download",
        matter_id=doc.matter_id,
        target_type="document",
        target_id=doc.id,
        details={"version": version.number},
    )
    target = runtime.scratch / f"download-{uuid.uuid4().hex}"
    runtime.store.download_to(version.blob_key, target, sha256=version.sha256)
    return FileResponse(
        target,
        media_type=version.media_type,
        headers={
            "Content-Disposition": content_disposition(doc.filename),
            "X-Content-Type-Options": "nosniff",
        },
        background=BackgroundTask(target.unlink, missing_ok=True),
    )


def content_disposition(filename: str) -> str:
    safe = sanitize_filename(filename)
    ascii_name = safe.encode("ascii", "replace").decode().replace("?", "_").replace('"', "_")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{urllib.parse.quote(safe, safe='')}"


@router.delete("/documents/{document_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete(
    document_id: str, request: Request, session: DbSession, principal: PrincipalDep, runtime: RuntimeDep
) -> None:
    doc = DocumentRepository(session, principal).get(document_id)
    details = {"filename": doc.filename, "path": doc.path}
    matter_id = doc.matter_id
    delete_document(session, principal, runtime.store, document_id)
    audit_request(
        request,
        session,
        principal,
        "document.delete",
        matter_id=matter_id,
        target_type="document",
        target_id=document_id,
        details=details,
    )


def audit_document_view(
    request: Request,
    session: Session,
    principal: Principal,
    doc: Document,
    version: int,
    page: int | None = None,
    via: str = "api",
) -> None:
    """Record that the principal read a document (its pages, through the API or the web)."""
    details: dict[str, int | str] = {"version": version, "via": via}
    if page is not None:
        details["page"] = page
    audit_request(
        request,
        session,
        principal,
        "document.view",
        matter_id=doc.matter_id,
        target_type="document",
        target_id=doc.id,
        details=details,
    )
