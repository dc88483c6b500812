from __future__ import annotations

from sqlalchemy import Boolean, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from legalai.kit.db import Base, Timestamps, UUIDPk


class Matter(UUIDPk, Timestamps, Base):
    """A legal matter: the container documents, search and (later) access walls are scoped to."""

    __tablename__ = "matters"
    __table_args__ = (UniqueConstraint("organization_id", "name", name="uq_matters_org_name"),)

    organization_id: Mapped[str] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False, index=True
    )
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False, default="")
    # Restricted matters are behind an ethical wall: people listed in matter_screens never see them.
    restricted: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
