from __future__ import annotations

from fastapi import APIRouter, Query, Request, status
from sqlalchemy.orm import Session

from legalai.accounts.principal import Principal
from legalai.audit.endpoints import audit_request
from legalai.documents.repository import DocumentRepository
from legalai.kit.deps import DbSession, PrincipalDep
from legalai.kit.schemas import MAX_OFFSET
from legalai.matters.models import Matter
from legalai.matters.repository import MatterRepository
from legalai.matters.schemas import MatterCreate, MatterOut
from legalai.matters.service import create_matter

router = APIRouter(prefix="/matters", tags=["matters"])


def _out(session: DbSession, principal: PrincipalDep, matter: Matter, count: int | None = None) -> MatterOut:
    if count is None:
        count = DocumentRepository(session, principal).count_in_matter(matter.id)
    return MatterOut.model_validate(matter).model_copy(update={"document_count": count})


def create_audited_matter(
    request: Request, session: Session, principal: Principal, data: MatterCreate
) -> Matter:
    """Create a matter and record it in the audit log (API and web)."""
    matter = create_matter(session, principal, data)
    audit_request(
        request,
        session,
        principal,
        "matter.create",
        matter_id=matter.id,
        target_type="matter",
        target_id=matter.id,
        details={"name": matter.name, "restricted": matter.restricted},
    )
    return matter


@router.post("", status_code=status.HTTP_201_CREATED, response_model=MatterOut)
def create(data: MatterCreate, request: Request, session: DbSession, principal: PrincipalDep) -> MatterOut:
    matter = create_audited_matter(request, session, principal, data)
    return _out(session, principal.with_matter(matter.id), matter)


@router.get("", response_model=list[MatterOut])
def list_matters(
    session: DbSession,
    principal: PrincipalDep,
    offset: int = Query(0, ge=0, le=MAX_OFFSET),
    limit: int = Query(100, ge=1, le=500),
) -> list[MatterOut]:
    matters = MatterRepository(session, principal).list_visible(offset=offset, limit=limit)
    counts = DocumentRepository(session, principal).counts_in_matters([m.id for m in matters])
    return [_out(session, principal, m, counts.get(m.id, 0)) for m in matters]


@router.get("/{matter_id}", response_model=MatterOut)
def get_matter(matter_id: str, session: DbSession, principal: PrincipalDep) -> MatterOut:
    return _out(session, principal, MatterRepository(session, principal).get(matter_id))
