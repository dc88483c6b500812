"""Reads of stored analyses on behalf of a principal: only matters the principal may read."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from legalai.accounts.principal import Principal
from legalai.analysis.models import DocumentAnalysis
from legalai.documents.models import Document


class AnalysisRepository:
    def __init__(self, session: Session, principal: Principal) -> None:
        self.session = session
        self.principal = principal

    def _scoped(self) -> Select[Document, DocumentAnalysis]:
        stmt = (
            select(Document, DocumentAnalysis)
            .join(DocumentAnalysis, DocumentAnalysis.version_id == Document.current_version_id)
            .where(Document.organization_id == self.principal.organization_id)
        )
        if self.principal.matter_ids is not None:
            stmt = stmt.where(Document.matter_id.in_(self.principal.matter_ids))
        return stmt

    def for_document(self, document_id: str) -> DocumentAnalysis | None:
        """The analysis of the document's current version, if the principal may read it."""
        row = self.session.execute(self._scoped().where(Document.id == document_id)).first()
        return row[1] if row else None

    def in_matter(self, matter_id: str) -> Sequence[tuple[Document, DocumentAnalysis]]:
        """Every current document of the matter that has an analysis, by file name."""
        rows = self.session.execute(
            self._scoped().where(Document.matter_id == matter_id).order_by(Document.path, Document.filename)
        ).all()
        return [(doc, analysis) for doc, analysis in rows]
