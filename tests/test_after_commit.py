"""Jobs are enqueued only after commit, and a handled SAVEPOINT conflict does not lose them."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import IntegrityError

from legalai.accounts.models import Organization
from legalai.kit.db import after_commit, make_engine, make_sessionmaker


def test_callbacks_run_after_commit_survive_savepoints_and_die_with_rollback(database_url: str) -> None:
    engine = make_engine(database_url)
    sessions = make_sessionmaker(engine)
    ran: list[str] = []
    try:
        with sessions() as session:
            session.add(Organization(name="A", slug="a-slug"))
            session.flush()
            after_commit(session, lambda: ran.append("kept"))
            with pytest.raises(IntegrityError), session.begin_nested():
                session.add(Organization(name="B", slug="a-slug"))  # duplicate slug
                session.flush()
            assert ran == []
            with session.begin_nested():  # a released SAVEPOINT is not the commit
                session.add(Organization(name="D", slug="d-slug"))
            assert ran == []
            session.commit()
        assert ran == ["kept"]

        with sessions() as session:
            after_commit(session, lambda: ran.append("dropped"))
            session.add(Organization(name="C", slug="c-slug"))
            session.flush()
            session.rollback()
            session.commit()
        assert ran == ["kept"]
    finally:
        engine.dispose()
