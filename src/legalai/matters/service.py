from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from legalai.accounts.principal import Principal
from legalai.kit.errors import Conflict
from legalai.matters.models import Matter
from legalai.matters.repository import MatterRepository
from legalai.matters.schemas import MatterCreate


def create_matter(session: Session, principal: Principal, data: MatterCreate) -> Matter:
    repo = MatterRepository(session, principal)
    if repo.find_by_name(data.name) is not None:
        raise Conflict(f"A matter named {data.name!r} already exists")
    try:
        with session.begin_nested():
            return repo.add(Matter(name=data.name, description=data.description))
    except IntegrityError as exc:  # a concurrent request created it first
        raise Conflict(f"A matter named {data.name!r} already exists") from exc


def get_or_create_matter(session: Session, principal: Principal, name: str) -> Matter:
    repo = MatterRepository(session, principal)
    existing = repo.find_by_name(name)
    if existing is not None:
        return existing
    return create_matter(session, principal, MatterCreate(name=name))
