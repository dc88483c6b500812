"""The acting principal: who is asking. Every repository method takes one.

Until accounts exist (next issue), requests act as the organization's local principal. Access
control plugs in here and in the repositories that receive a principal.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal


@dataclass(frozen=True)
class Principal:
    organization_id: str
    kind: Literal["local", "user", "system"] = "local"
    user_id: str | None = None
    # Matter ids this principal may read; None means every matter of the organization.
    matter_ids: frozenset[str] | None = field(default=None)

    def may_see_matter(self, matter_id: str) -> bool:
        return self.matter_ids is None or matter_id in self.matter_ids
