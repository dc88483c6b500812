from __future__ import annotations

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from legalai.kit.db import Base, Timestamps, UUIDPk


class Organization(UUIDPk, Timestamps, Base):
    """A tenant: a firm or a legal team. Every matter and document belongs to exactly one."""

    __tablename__ = "organizations"

    name: Mapped[str] = mapped_column(String(200), nullable=False)
    slug: Mapped[str] = mapped_column(String(100), nullable=False, unique=True)
