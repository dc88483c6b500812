"""The acting principal: who is asking, for which organization, with what reach.

Every repository method takes one. ``matter_ids`` is the set of matters whose content the
principal may read (membership minus ethical-wall screens); ``None`` only for internal system
principals. Roles decide what a principal may *do*; membership decides what it may *see*.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from legalai.accounts.models import Role
from legalai.kit.errors import Forbidden, Unauthenticated

__all__ = ["ALL_SCOPES", "Forbidden", "Principal", "Unauthenticated"]

ALL_SCOPES = frozenset({"read", "write", "admin"})


@dataclass(frozen=True)
class Principal:
    organization_id: str
    kind: Literal["user", "api_key", "system"] = "system"
    user_id: str | None = None
    role: Role | None = None
    matter_ids: frozenset[str] | None = field(default=None)
    scopes: frozenset[str] = ALL_SCOPES
    api_key_id: str | None = None
    session_id: str | None = None
    label: str = ""

    def may_see_matter(self, matter_id: str) -> bool:
        return self.matter_ids is None or matter_id in self.matter_ids

    @property
    def can_write(self) -> bool:
        if self.kind == "system":
            return True
        return self.role is not None and self.role.can_write and "write" in self.scopes

    @property
    def can_manage(self) -> bool:
        if self.kind == "system":
            return True
        return self.role is not None and self.role.manages_people and "admin" in self.scopes

    def require_write(self) -> None:
        if not self.can_write:
            raise Forbidden("Your role or key does not allow changes here")

    def require_manage(self) -> None:
        if not self.can_manage:
            raise Forbidden("Only owners and administrators (with an admin-scoped key) may do this")

    def require_owner(self) -> None:
        if self.kind != "system" and (self.role is not Role.owner or "admin" not in self.scopes):
            raise Forbidden("Only an owner may do this")

    def with_matter(self, matter_id: str) -> Principal:
        """The same principal, now also seeing a matter it just created."""
        if self.matter_ids is None:
            return self
        return Principal(
            organization_id=self.organization_id,
            kind=self.kind,
            user_id=self.user_id,
            role=self.role,
            matter_ids=self.matter_ids | {matter_id},
            scopes=self.scopes,
            api_key_id=self.api_key_id,
            session_id=self.session_id,
            label=self.label,
        )
