"""Upgrading a populated database from the first schema keeps its data (both engines)."""

from __future__ import annotations

from sqlalchemy import text

from legalai.kit.db import make_engine
from legalai.kit.migrate import downgrade, upgrade

FIRST = "2c1c54eea613"


def test_upgrade_from_the_first_schema_with_data(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        downgrade(engine, FIRST)
        with engine.begin() as conn:
            org = "INSERT INTO organizations (id, name, slug, created_at) VALUES "
            conn.execute(text(org + "('o1', 'Firm', 'firm', CURRENT_TIMESTAMP)"))
            conn.execute(
                text(
                    "INSERT INTO matters (id, organization_id, name, description, created_at) "
                    "VALUES ('m1', 'o1', 'Old matter', '', CURRENT_TIMESTAMP)"
                )
            )
            conn.execute(
                text(
                    "INSERT INTO documents (id, organization_id, matter_id, filename, path, status, kind, "
                    "created_at, updated_at) VALUES ('d1', 'o1', 'm1', 'a.txt', '', 'ready', 'text', "
                    "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                )
            )
        upgrade(engine)
        with engine.connect() as conn:
            row = conn.execute(text("SELECT name, restricted FROM matters WHERE id = 'm1'")).one()
            assert row[0] == "Old matter" and not row[1]
            assert conn.execute(text("SELECT count(*) FROM documents WHERE matter_id = 'm1'")).scalar() == 1
    finally:
        engine.dispose()


BEFORE_DOCUMENT_NAMES = "b2c3d4e5f6a7"


def test_document_names_migration_backfills_original_names(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        downgrade(engine, BEFORE_DOCUMENT_NAMES)
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO organizations (id, name, slug, created_at) "
                    "VALUES ('o1', 'F', 'f', CURRENT_TIMESTAMP)"
                )
            )
            conn.execute(
                text(
                    "INSERT INTO matters (id, organization_id, name, description, created_at) "
                    "VALUES ('m1', 'o1', 'M', '', CURRENT_TIMESTAMP)"
                )
            )
            insert = (
                "INSERT INTO documents (id, organization_id, matter_id, parent_id, filename, path, status, "
                "kind, created_at, updated_at) VALUES (:id, 'o1', 'm1', :parent, :name, :path, 'ready', "
                "'text', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
            )
            for id_, parent, name, path in (
                ("top", None, "a.txt", ""),
                ("entry", None, "b.txt", "contracts/2024"),
                ("att", "entry", "c.pdf", "contracts/2024"),
            ):
                conn.execute(text(insert), {"id": id_, "parent": parent, "name": name, "path": path})
        upgrade(engine)
        with engine.connect() as conn:
            rows = dict(conn.execute(text("SELECT id, original_name FROM documents")).all())
        assert rows == {"top": "a.txt", "entry": "contracts/2024/b.txt", "att": "c.pdf"}
    finally:
        engine.dispose()
