from __future__ import annotations

from fastapi import APIRouter, Query, status
from sqlalchemy import func, select

from legalai.documents.models import Document
from legalai.kit.deps import DbSession, PrincipalDep
from legalai.matters.models import Matter
from legalai.matters.repository import MatterRepository
from legalai.matters.schemas import MatterCreate, MatterOut
from legalai.matters.service import create_matter

router = APIRouter(prefix="/matters", tags=["matters"])


def _out(session: DbSession, matter: Matter) -> MatterOut:
    count = session.scalar(
        select(func.count())
        .select_from(Document)
        .where(Document.matter_id == matter.id, Document.organization_id == matter.organization_id)
    )
    return MatterOut.model_validate(matter).model_copy(update={"document_count": count or 0})


@router.post("", status_code=status.HTTP_201_CREATED, response_model=MatterOut)
def create(data: MatterCreate, session: DbSession, principal: PrincipalDep) -> MatterOut:
    return _out(session, create_matter(session, principal, data))


@router.get("", response_model=list[MatterOut])
def list_matters(
    session: DbSession,
    principal: PrincipalDep,
    offset: int = Query(0, ge=0),
    limit: int = Query(100, ge=1, le=500),
) -> list[MatterOut]:
    return [
        _out(session, m)
        for m in MatterRepository(session, principal).list_visible(offset=offset, limit=limit)
    ]


@router.get("/{matter_id}", response_model=MatterOut)
def get_matter(matter_id: str, session: DbSession, principal: PrincipalDep) -> MatterOut:
    return _out(session, MatterRepository(session, principal).get(matter_id))
