"""Document intake and management: the logic behind the API, the CLI and the web UI.

Services flush, never commit: the transaction belongs to the request, command or job.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.orm import Session

from legalai.accounts.principal import Principal
from legalai.documents.extraction.detect import SUPPORTED_KINDS_DESCRIPTION, detect_path
from legalai.documents.intake import (
    ArchiveLimits,
    Rejected,
    StagedFile,
    check_office_package,
    expand_zip,
    unsupported,
)
from legalai.documents.models import Document, DocumentName, DocumentVersion, ProcessingStatus
from legalai.documents.repository import DocumentRepository
from legalai.kit.db import after_commit
from legalai.kit.errors import DomainError
from legalai.matters.repository import MatterRepository
from legalai.observability.logging import get_logger
from legalai.storage.protocol import BlobStore, blob_key

log = get_logger(__name__)

Enqueue = Callable[[DocumentVersion], None]


@dataclass
class FileOutcome:
    filename: str
    path: str
    document_id: str | None = None
    version_id: str | None = None
    version: int | None = None
    status: str | None = None
    kind: str | None = None
    deduplicated: bool = False
    error: DomainError | None = None
    # The uploaded archive an entry came from (None for files uploaded as such).
    archive: str | None = None
    # The name as uploaded (legalai.documents.intake.original_name_of).
    original_name: str | None = None
    # Deduplicated, and this upload's name was new: recorded as another name of the document.
    additional_name: bool = False


@dataclass
class UploadReport:
    outcomes: list[FileOutcome] = field(default_factory=list)

    @property
    def accepted(self) -> list[FileOutcome]:
        return [o for o in self.outcomes if o.error is None]

    @property
    def rejected(self) -> list[FileOutcome]:
        return [o for o in self.outcomes if o.error is not None]


@dataclass
class IntakeContext:
    session: Session
    principal: Principal
    store: BlobStore
    enqueue: Enqueue
    limits: ArchiveLimits
    scratch: Path
    request_id: str | None = None


def ingest_files(ctx: IntakeContext, matter_id: str, files: Iterable[StagedFile]) -> UploadReport:
    """Store and queue each file; a zip archive contributes one document per entry."""
    MatterRepository(ctx.session, ctx.principal).get(matter_id)
    report = UploadReport()
    for staged in files:
        try:
            fmt = detect_path(staged.temp_path)
            if fmt is not None and fmt.kind == "zip" and not staged.folder:
                _ingest_archive(ctx, matter_id, staged, report)
                continue
            report.outcomes.append(_ingest_one(ctx, matter_id, staged))
        finally:
            staged.temp_path.unlink(missing_ok=True)
    return report


def _ingest_archive(ctx: IntakeContext, matter_id: str, archive: StagedFile, report: UploadReport) -> None:
    try:
        entries = list(expand_zip(archive.temp_path, ctx.scratch, ctx.limits))
    except DomainError as exc:
        report.outcomes.append(FileOutcome(archive.filename, "", error=exc))
        return
    for entry in entries:
        if isinstance(entry, Rejected):
            report.outcomes.append(
                _from_archive(FileOutcome(entry.filename, entry.folder, error=entry.error), archive)
            )
            continue
        try:
            fmt = detect_path(entry.temp_path)
            if fmt is not None and fmt.kind == "zip":
                outcome = FileOutcome(
                    entry.filename,
                    entry.folder,
                    error=unsupported(entry.filename, "archives nested in archives are not expanded"),
                )
            else:
                outcome = _ingest_one(ctx, matter_id, entry)
            report.outcomes.append(_from_archive(outcome, archive))
        finally:
            entry.temp_path.unlink(missing_ok=True)


def _from_archive(outcome: FileOutcome, archive: StagedFile) -> FileOutcome:
    """Tie an entry's outcome to its archive: two archives of one upload may hold the same names."""
    outcome.archive = archive.filename
    if outcome.error is not None:
        error = outcome.error
        outcome.error = type(error)(f"In {archive.filename!r}: {error.detail}", **error.extra)
    return outcome


def _ingest_one(ctx: IntakeContext, matter_id: str, staged: StagedFile) -> FileOutcome:
    """Store and queue one file as a new document or a new version, or record its name (duplicate).

    Versions are decided by the name the *user* gave (``original_name``), not by the sanitized
    name: "../../etc/passwd" and "/etc/passwd", or an empty name and "..", are different names that
    only become the same ("passwd", "upload") once made safe, and silently turning one into a
    version of the other would hide a document behind another. Such a document is stored under a
    visibly different name ("passwd (2)") so the two can be told apart in lists, search filters
    and downloads, and its original name is kept and shown. The same original name in the same
    folder is a new version, as before. (Two concurrent uploads may both pick "passwd (2)": names
    are not unique in the database; the documents stay apart all the same.)

    Identical content (matter-wide, by SHA-256, as before) is not stored or processed again; if it
    comes under a name the document does not have yet, that name is recorded
    (:class:`DocumentName`, listed as ``additional_names`` of the document) and the upload is
    audited with it, so no upload goes unrecorded.
    """
    original = staged.original_name if staged.original_name is not None else staged.filename
    outcome = FileOutcome(staged.filename, staged.folder, original_name=original)
    fmt = detect_path(staged.temp_path)
    if fmt is None or fmt.kind == "zip":
        outcome.error = unsupported(staged.filename, SUPPORTED_KINDS_DESCRIPTION)
        return outcome
    if fmt.kind == "docx":
        try:
            check_office_package(staged.temp_path, ctx.limits, name=staged.filename)
        except DomainError as exc:
            outcome.error = exc
            return outcome
    repo = DocumentRepository(ctx.session, ctx.principal)
    existing = repo.find_by_content(matter_id, staged.sha256)
    if existing is not None:
        version = repo.current_version(existing)
        outcome.additional_name = _record_name(ctx, repo, existing, staged, original)
        return _fill(outcome, existing, version, deduplicated=True)
    key = blob_key(staged.sha256)
    with staged.temp_path.open("rb") as source:
        ctx.store.put(key, source, sha256=staged.sha256, size=staged.size)
    doc = repo.find_by_name(matter_id, staged.folder, original)
    if doc is None:
        doc = repo.add(
            Document(
                matter_id=matter_id,
                filename=repo.unused_filename(matter_id, staged.folder, staged.filename),
                path=staged.folder,
                original_name=original,
            )
        )
    outcome.filename = doc.filename
    version = DocumentVersion(
        document_id=doc.id,
        organization_id=doc.organization_id,
        matter_id=matter_id,
        number=repo.next_version_number(doc.id),
        sha256=staged.sha256,
        size_bytes=staged.size,
        kind=fmt.kind,
        media_type=fmt.media_type,
        blob_key=key,
        status=ProcessingStatus.queued.value,
        request_id=ctx.request_id,
    )
    ctx.session.add(version)
    ctx.session.flush()
    doc.current_version_id = version.id
    doc.status = version.status
    doc.kind = fmt.kind
    ctx.session.flush()
    queue_version(ctx.session, ctx.enqueue, version)
    log.info("document.queued", document_id=doc.id, version=version.number, kind=fmt.kind)
    return _fill(outcome, doc, version, deduplicated=False)


def _record_name(
    ctx: IntakeContext, repo: DocumentRepository, doc: Document, staged: StagedFile, original: str
) -> bool:
    """Record ``original`` (in ``staged.folder``) as another name of ``doc``; False if it has it."""
    if (doc.path, doc.original_name or doc.filename) == (staged.folder, original):
        return False
    if any((n.path, n.original_name) == (staged.folder, original) for n in repo.names(doc.id)):
        return False
    ctx.session.add(
        DocumentName(
            document_id=doc.id,
            filename=staged.filename,
            path=staged.folder,
            original_name=original,
            request_id=ctx.request_id,
        )
    )
    ctx.session.flush()
    log.info("document.name_recorded", document_id=doc.id)
    return True


def queue_version(session: Session, enqueue: Enqueue, version: DocumentVersion) -> None:
    after_commit(session, lambda: enqueue(version))


def _fill(
    outcome: FileOutcome, doc: Document, version: DocumentVersion, *, deduplicated: bool
) -> FileOutcome:
    outcome.document_id = doc.id
    outcome.version_id = version.id
    outcome.version = version.number
    outcome.status = version.status
    outcome.kind = version.kind
    outcome.deduplicated = deduplicated
    return outcome


def delete_document(session: Session, principal: Principal, store: BlobStore, document_id: str) -> None:
    repo = DocumentRepository(session, principal)
    doc = repo.get(document_id)  # 404 before 403: never confirm what the principal cannot see
    principal.require_write()
    orphaned = repo.delete(doc)

    def _remove_blobs() -> None:
        for key, _sha in orphaned:
            try:
                store.delete(key)
            except Exception:  # noqa: BLE001 - an orphaned blob is harmless; the delete stands
                log.warning("blob.delete_failed", blob_key=key)

    after_commit(session, _remove_blobs)
