"""Alembic environment: the URL comes from the caller (legalai.kit.migrate) or LEGALAI_* settings."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from legalai.kit.migrate import include_object
from legalai.models import Base

config = context.config
target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        include_object=include_object,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    from legalai.kit.db import make_engine
    from legalai.settings import Settings

    engine = make_engine(Settings().resolved_database_url)
    with engine.connect() as conn:
        _run(conn)
        conn.commit()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; run `legalai db upgrade`")
run_migrations_online()
