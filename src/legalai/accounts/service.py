"""Organizations. Until user accounts arrive, a single local organization serves the embedded mode."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from legalai.accounts.models import Organization
from legalai.accounts.principal import Principal

DEFAULT_ORG_SLUG = "default"


def ensure_default_organization(session: Session) -> Organization:
    org = session.scalar(select(Organization).where(Organization.slug == DEFAULT_ORG_SLUG))
    if org is None:
        org = Organization(name="Default organization", slug=DEFAULT_ORG_SLUG)
        session.add(org)
        session.flush()
    return org


def local_principal(session: Session) -> Principal:
    return Principal(organization_id=ensure_default_organization(session).id, kind="local")


def system_principal(organization_id: str, matter_id: str) -> Principal:
    """What a background job acts as: one organization, one matter, re-checked by the repository."""
    return Principal(organization_id=organization_id, kind="system", matter_ids=frozenset({matter_id}))
