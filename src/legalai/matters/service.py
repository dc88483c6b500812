from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from legalai.accounts.principal import Principal
from legalai.accounts.service import add_matter_member
from legalai.kit.errors import Conflict
from legalai.matters.models import Matter
from legalai.matters.repository import MatterRepository
from legalai.matters.schemas import MatterCreate


def create_matter(session: Session, principal: Principal, data: MatterCreate) -> Matter:
    """Create a matter; its creator becomes its first member (and so can see it)."""
    principal.require_write()
    repo = MatterRepository(session, principal)
    if repo.name_taken(data.name):
        raise Conflict(f"A matter named {data.name!r} already exists")
    try:
        with session.begin_nested():
            matter = repo.add(
                Matter(name=data.name, description=data.description, restricted=data.restricted)
            )
    except IntegrityError as exc:  # a concurrent request created it first
        raise Conflict(f"A matter named {data.name!r} already exists") from exc
    if principal.user_id is not None:
        add_matter_member(session, matter.id, principal.user_id)
    return matter


def get_or_create_matter(session: Session, principal: Principal, name: str) -> tuple[Matter, Principal]:
    """The visible matter of that name, or a new one; with the principal that can see it."""
    existing = MatterRepository(session, principal).find_by_name(name)
    if existing is not None:
        return existing, principal
    matter = create_matter(session, principal, MatterCreate(name=name))
    return matter, principal.with_matter(matter.id)
