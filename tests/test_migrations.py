"""Migrations and models agree, and migrations go down and up again, on both engines."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

import legalai.models  # noqa: F401 - every model registered on Base.metadata
from legalai.kit.db import Base, make_engine
from legalai.kit.migrate import downgrade, include_object, upgrade


def test_models_match_the_migrated_schema(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"include_object": include_object})
            assert compare_metadata(ctx, Base.metadata) == []
    finally:
        engine.dispose()


def test_downgrade_to_base_and_upgrade_again(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        downgrade(engine, "base")
        upgrade(engine)
        with engine.connect() as conn:
            assert MigrationContext.configure(conn).get_current_revision() is not None
    finally:
        engine.dispose()
