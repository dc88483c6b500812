"""Every query on matters, scoped to the acting principal's organization and visible matters."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from legalai.accounts.principal import Principal
from legalai.kit.errors import NotFound
from legalai.matters.models import Matter


class MatterRepository:
    def __init__(self, session: Session, principal: Principal) -> None:
        self.session = session
        self.principal = principal

    def _scoped(self) -> Select[Matter]:
        stmt = select(Matter).where(Matter.organization_id == self.principal.organization_id)
        if self.principal.matter_ids is not None:
            stmt = stmt.where(Matter.id.in_(self.principal.matter_ids))
        return stmt

    def get(self, matter_id: str) -> Matter:
        matter = self.session.scalar(self._scoped().where(Matter.id == matter_id))
        if matter is None:
            raise NotFound(f"No matter with id {matter_id!r}")
        return matter

    def find_by_name(self, name: str) -> Matter | None:
        return self.session.scalar(self._scoped().where(func.lower(Matter.name) == name.strip().lower()))

    def name_taken(self, name: str) -> bool:
        """Whether the organization has a matter of this name, visible to the principal or not."""
        stmt = select(Matter.id).where(
            Matter.organization_id == self.principal.organization_id,
            func.lower(Matter.name) == name.strip().lower(),
        )
        return self.session.scalar(stmt) is not None

    def get_for_management(self, matter_id: str) -> Matter:
        """A matter an owner or admin may manage (membership, walls) without reading its content.
        Someone screened from the matter cannot manage it either: walls hold against admins."""
        from legalai.accounts.models import MatterScreen

        self.principal.require_manage()
        stmt = select(Matter).where(
            Matter.organization_id == self.principal.organization_id, Matter.id == matter_id
        )
        if self.principal.user_id is not None:
            screened = select(MatterScreen.matter_id).where(MatterScreen.user_id == self.principal.user_id)
            stmt = stmt.where(Matter.id.not_in(screened))
        matter = self.session.scalar(stmt)
        if matter is None:
            raise NotFound(f"No matter with id {matter_id!r}")
        return matter

    def list_visible(self, *, offset: int = 0, limit: int = 100) -> Sequence[Matter]:
        stmt = self._scoped().order_by(Matter.created_at.desc(), Matter.id).offset(offset).limit(limit)
        return self.session.scalars(stmt).all()

    def add(self, matter: Matter) -> Matter:
        matter.organization_id = self.principal.organization_id
        self.session.add(matter)
        self.session.flush()
        return matter
