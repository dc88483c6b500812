from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from sqlalchemy.orm import Session, sessionmaker

from legalai.accounts.models import Organization, Role
from legalai.accounts.principal import Principal
from legalai.kit.db import make_engine, make_sessionmaker, new_id, transaction


@pytest.fixture
def sessions(database_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(database_url)
    yield make_sessionmaker(engine)
    engine.dispose()


@pytest.fixture
def make_org(sessions: sessionmaker[Session]) -> Callable[[str], Organization]:
    def make(name: str) -> Organization:
        with transaction(sessions) as session:
            org = Organization(name=name, slug=name.lower().replace(" ", "-"))
            session.add(org)
        return org

    return make


PrincipalFactory = Callable[..., Principal]


@pytest.fixture
def principal_for() -> PrincipalFactory:
    """A signed-in person of an organization, built by hand (no users table needed for audit)."""

    def make(org: Organization, *, role: Role = Role.owner, label: str = "owner@example.com") -> Principal:
        return Principal(
            organization_id=org.id,
            kind="user",
            user_id=new_id(),
            role=role,
            matter_ids=frozenset(),
            label=label,
        )

    return make
