"""Every query on documents, versions, pages and chunks, scoped to the acting principal."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Select, delete, func, select
from sqlalchemy.orm import Session

from legalai.accounts.principal import Principal
from legalai.documents.models import (
    Chunk,
    Document,
    DocumentName,
    DocumentVersion,
    Page,
    ProcessingEvent,
)
from legalai.kit.errors import NotFound


@dataclass(frozen=True)
class DocumentFilter:
    """Which documents of a matter to list or search."""

    document_id: str | None = None
    status: str | None = None
    kind: str | None = None
    path_prefix: str | None = None
    filename: str | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None


SelectT = TypeVar("SelectT", bound="Select[*tuple[Any, ...]]")


def apply_filter(stmt: SelectT, flt: DocumentFilter) -> SelectT:
    """Narrow any statement that includes ``Document`` (listing, search) by a filter."""
    if flt.document_id:
        stmt = stmt.where(Document.id == flt.document_id)
    if flt.status:
        stmt = stmt.where(Document.status == flt.status)
    if flt.kind:
        stmt = stmt.where(Document.kind == flt.kind)
    if flt.path_prefix:
        stmt = stmt.where(Document.path.startswith(flt.path_prefix.strip("/"), autoescape=True))
    if flt.filename:
        stmt = stmt.where(Document.filename == flt.filename)
    if flt.created_from:
        stmt = stmt.where(Document.created_at >= flt.created_from)
    if flt.created_to:
        stmt = stmt.where(Document.created_at <= flt.created_to)
    return stmt


class DocumentRepository:
    def __init__(self, session: Session, principal: Principal) -> None:
        self.session = session
        self.principal = principal

    # ---- scoping ------------------------------------------------------------------------------

    def _documents(self) -> Select[Document]:
        stmt = select(Document).where(Document.organization_id == self.principal.organization_id)
        if self.principal.matter_ids is not None:
            stmt = stmt.where(Document.matter_id.in_(self.principal.matter_ids))
        return stmt

    def _versions(self) -> Select[DocumentVersion]:
        stmt = select(DocumentVersion).where(
            DocumentVersion.organization_id == self.principal.organization_id
        )
        if self.principal.matter_ids is not None:
            stmt = stmt.where(DocumentVersion.matter_id.in_(self.principal.matter_ids))
        return stmt

    # ---- documents ----------------------------------------------------------------------------

    def get(self, document_id: str) -> Document:
        doc = self.session.scalar(self._documents().where(Document.id == document_id))
        if doc is None:
            raise NotFound(f"No document with id {document_id!r}")
        return doc

    def list_in_matter(
        self, matter_id: str, flt: DocumentFilter | None = None, *, offset: int = 0, limit: int = 100
    ) -> tuple[Sequence[Document], int]:
        stmt = self._filtered(matter_id, flt or DocumentFilter())
        total = self.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
        rows = self.session.scalars(
            stmt.order_by(Document.path, Document.filename, Document.id).offset(offset).limit(limit)
        ).all()
        return rows, total

    def _filtered(self, matter_id: str, flt: DocumentFilter) -> Select[Document]:
        return apply_filter(self._documents().where(Document.matter_id == matter_id), flt)

    def find_by_name(self, matter_id: str, path: str, original_name: str) -> Document | None:
        """The uploaded (not attached) document the user named ``original_name`` in ``path``."""
        return self.session.scalar(
            self._documents()
            .where(
                Document.matter_id == matter_id,
                Document.path == path,
                Document.original_name == original_name,
                Document.parent_id.is_(None),
            )
            .order_by(Document.created_at, Document.id)
            .limit(1)
        )

    def unused_filename(self, matter_id: str, path: str, filename: str) -> str:
        """``filename``, or ``name (2).ext``, ``name (3).ext``... if an uploaded document in the same
        folder is already shown under it."""
        stem, dot, ext = filename.rpartition(".")
        if not dot or not stem:
            stem, ext = filename, ""
        suffix = f".{ext}" if ext else ""
        taken = set(
            self.session.scalars(
                select(Document.filename).where(
                    Document.organization_id == self.principal.organization_id,
                    Document.matter_id == matter_id,
                    Document.path == path,
                    Document.parent_id.is_(None),
                    (Document.filename == filename)
                    | Document.filename.startswith(f"{stem} (", autoescape=True),
                )
            ).all()
        )
        number = 1
        candidate = filename
        while candidate in taken:
            number += 1
            candidate = f"{stem} ({number}){suffix}"
        return candidate

    def names(self, document_id: str) -> Sequence[DocumentName]:
        """The other names the document's content was uploaded under, oldest first."""
        return self.session.scalars(
            select(DocumentName)
            .where(DocumentName.document_id == document_id)
            .order_by(DocumentName.created_at, DocumentName.id)
        ).all()

    def names_of(self, document_ids: Sequence[str]) -> dict[str, list[DocumentName]]:
        """:meth:`names` for several documents in one query (lists, not N+1)."""
        found: dict[str, list[DocumentName]] = {d: [] for d in document_ids}
        if not document_ids:
            return found
        rows = self.session.scalars(
            select(DocumentName)
            .where(DocumentName.document_id.in_(document_ids))
            .order_by(DocumentName.created_at, DocumentName.id)
        ).all()
        for row in rows:
            found[row.document_id].append(row)
        return found

    def find_by_content(self, matter_id: str, sha256: str) -> Document | None:
        """The document whose current version has exactly this content, if any."""
        stmt = (
            self._documents()
            .join(DocumentVersion, DocumentVersion.id == Document.current_version_id)
            .where(Document.matter_id == matter_id, DocumentVersion.sha256 == sha256)
            .limit(1)
        )
        return self.session.scalar(stmt)

    def children(self, document_id: str) -> Sequence[Document]:
        return self.session.scalars(
            self._documents().where(Document.parent_id == document_id).order_by(Document.filename)
        ).all()

    def add(self, doc: Document) -> Document:
        doc.organization_id = self.principal.organization_id
        self.session.add(doc)
        self.session.flush()
        return doc

    def delete(self, doc: Document) -> list[tuple[str, str]]:
        """Delete a document, its attachments and every version; return (blob_key, sha256) pairs no
        longer referenced by any version anywhere, for the caller to remove after commit."""
        ids = [doc.id, *self._descendant_ids(doc.id)]
        versions = self.session.execute(
            select(DocumentVersion.blob_key, DocumentVersion.sha256).where(
                DocumentVersion.document_id.in_(ids)
            )
        ).all()
        self.session.execute(delete(Document).where(Document.id.in_(ids)))
        self.session.flush()
        orphaned: list[tuple[str, str]] = []
        for key, sha in set(versions):
            still_used = self.session.scalar(
                select(func.count()).select_from(DocumentVersion).where(DocumentVersion.blob_key == key)
            )
            if not still_used:
                orphaned.append((key, sha))
        return orphaned

    def _descendant_ids(self, document_id: str) -> list[str]:
        found: list[str] = []
        frontier = [document_id]
        while frontier:
            rows = self.session.scalars(
                select(Document.id).where(
                    Document.parent_id.in_(frontier),
                    Document.organization_id == self.principal.organization_id,
                )
            ).all()
            found.extend(rows)
            frontier = list(rows)
        return found

    # ---- versions, pages, history -------------------------------------------------------------

    def version(self, version_id: str) -> DocumentVersion:
        version = self.session.scalar(self._versions().where(DocumentVersion.id == version_id))
        if version is None:
            raise NotFound(f"No document version with id {version_id!r}")
        return version

    def current_versions(self, docs: Sequence[Document]) -> dict[str, DocumentVersion]:
        """The current version of each document, by version id, in one query (lists, not N+1)."""
        ids = [d.current_version_id for d in docs if d.current_version_id]
        if not ids:
            return {}
        rows = self.session.scalars(self._versions().where(DocumentVersion.id.in_(ids))).all()
        return {v.id: v for v in rows}

    def versions(self, document_id: str) -> Sequence[DocumentVersion]:
        return self.session.scalars(
            self._versions()
            .where(DocumentVersion.document_id == document_id)
            .order_by(DocumentVersion.number.desc())
        ).all()

    def next_version_number(self, document_id: str) -> int:
        current = self.session.scalar(
            select(func.max(DocumentVersion.number)).where(DocumentVersion.document_id == document_id)
        )
        return (current or 0) + 1

    def current_version(self, doc: Document) -> DocumentVersion:
        if doc.current_version_id is None:
            raise NotFound(f"Document {doc.id!r} has no content yet")
        return self.version(doc.current_version_id)

    def pages(self, version_id: str) -> Sequence[Page]:
        self.version(version_id)  # scope check
        return self.session.scalars(
            select(Page).where(Page.version_id == version_id).order_by(Page.number)
        ).all()

    def page(self, version_id: str, number: int) -> Page:
        self.version(version_id)
        page = self.session.scalar(select(Page).where(Page.version_id == version_id, Page.number == number))
        if page is None:
            raise NotFound(f"No page {number} in this document")
        return page

    def chunks(self, version_id: str) -> Sequence[Chunk]:
        self.version(version_id)
        return self.session.scalars(
            select(Chunk).where(Chunk.version_id == version_id).order_by(Chunk.ordinal)
        ).all()

    def history(self, version_id: str) -> Sequence[ProcessingEvent]:
        self.version(version_id)
        return self.session.scalars(
            select(ProcessingEvent)
            .where(ProcessingEvent.version_id == version_id)
            .order_by(ProcessingEvent.id)
        ).all()

    def count_in_matter(self, matter_id: str) -> int:
        stmt = self._documents().where(Document.matter_id == matter_id)
        return self.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0

    def counts_in_matters(self, matter_ids: Sequence[str]) -> dict[str, int]:
        """Documents per matter for several matters in one grouped query (matter lists)."""
        if not matter_ids:
            return {}
        stmt = (
            select(Document.matter_id, func.count())
            .where(Document.organization_id == self.principal.organization_id)
            .where(Document.matter_id.in_(matter_ids))
            .group_by(Document.matter_id)
        )
        if self.principal.matter_ids is not None:
            stmt = stmt.where(Document.matter_id.in_(self.principal.matter_ids))
        return {matter_id: count for matter_id, count in self.session.execute(stmt).all()}

    def progress(self, document_ids: Sequence[str]) -> list[tuple[str, str, str | None, int | None]]:
        """(document id, status, failure reason, page count) of the current versions."""
        stmt = (
            select(Document.id, Document.status, DocumentVersion.failure_reason, DocumentVersion.page_count)
            .join(DocumentVersion, DocumentVersion.id == Document.current_version_id)
            .where(Document.organization_id == self.principal.organization_id, Document.id.in_(document_ids))
        )
        if self.principal.matter_ids is not None:
            stmt = stmt.where(Document.matter_id.in_(self.principal.matter_ids))
        return [(r[0], r[1], r[2], r[3]) for r in self.session.execute(stmt).all()]

    def counts_by_status(self, matter_id: str) -> dict[str, int]:
        rows = self.session.execute(
            select(Document.status, func.count())
            .where(
                Document.organization_id == self.principal.organization_id,
                Document.matter_id == matter_id,
            )
            .group_by(Document.status)
        ).all()
        return {status: count for status, count in rows}
