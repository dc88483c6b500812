"""Upgrading a populated database from the first schema keeps its data (both engines)."""

from __future__ import annotations

from typing import Any

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


BEFORE_DOCUMENT_NAMES = "7c4e1a9d2b60"  # the audit migration


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


BEFORE_STAGES = "7a6ed0199504"  # the document names migration


def _insert(conn: Any, table: str, values: dict[str, Any], *now: str) -> None:
    """INSERT one row; the columns named in ``now`` get CURRENT_TIMESTAMP."""
    columns = ", ".join(f'"{c}"' for c in [*values, *now])
    params = ", ".join([f":{c}" for c in values] + ["CURRENT_TIMESTAMP"] * len(now))
    conn.execute(text(f"INSERT INTO {table} ({columns}) VALUES ({params})"), values)


def test_upgrade_gives_ready_versions_their_follow_up_stages(database_url: str) -> None:
    """Versions made ready before analysis and embedding were stages get stage rows saying what
    the old pipeline left: done/failed analyses, a queued re-analysis pending, vectors done or not."""
    engine = make_engine(database_url)
    cases = [  # version status, analysis row status, chunk has a vector
        ("ready", "ready", True),
        ("ready", "failed", False),
        ("ready", "queued", True),
        ("ready", None, True),
        ("failed", None, False),
    ]
    scope = {"organization_id": "o1", "matter_id": "m1"}
    try:
        downgrade(engine, BEFORE_STAGES)
        with engine.begin() as conn:
            _insert(conn, "organizations", {"id": "o1", "name": "F", "slug": "f"}, "created_at")
            matter = {
                "id": "m1",
                "organization_id": "o1",
                "name": "M",
                "description": "",
                "restricted": False,
            }
            _insert(conn, "matters", matter, "created_at")
            for n, (status, analysis, vector) in enumerate(cases):
                doc, version = f"d{n}", f"v{n}"
                document = {"id": doc, **scope, "filename": doc, "path": "", "status": status, "kind": "text"}
                _insert(
                    conn, "documents", {**document, "current_version_id": version}, "created_at", "updated_at"
                )
                row = {
                    "id": version,
                    "document_id": doc,
                    **scope,
                    "number": 1,
                    "sha256": version,
                    "size_bytes": 1,
                }
                row |= {"kind": "text", "media_type": "text/plain", "blob_key": version, "status": status}
                _insert(
                    conn,
                    "document_versions",
                    {**row, "timings": "{}", "extracted_metadata": "{}", "attempts": 1},
                    "created_at",
                )
                owned = {"version_id": version, "document_id": doc, **scope}
                if status == "ready":
                    chunk = {**owned, "ordinal": 0, "page_number": 1, "start": 0, "end": 4, "text": "text"}
                    _insert(conn, "chunks", {**chunk, "embedding": b"\x00\x00" if vector else None})
                if analysis:
                    error = "boom" if analysis == "failed" else None
                    found = {"id": version, **owned, "status": analysis, "error": error, "versions": "{}"}
                    _insert(
                        conn,
                        "document_analyses",
                        {**found, "fingerprint": "", "attempts": 1},
                        "created_at",
                        "updated_at",
                    )
        upgrade(engine)
        with engine.connect() as conn:
            rows = conn.execute(
                text("SELECT version_id, stage, status, error FROM version_stages ORDER BY version_id, stage")
            ).all()
            unstamped = conn.scalar(text("SELECT count(*) FROM document_versions WHERE updated_at IS NULL"))
    finally:
        engine.dispose()
    got = {(v, stage): (status, error is not None) for v, stage, status, error in rows}
    assert got == {
        ("v0", "analysis"): ("done", False),
        ("v0", "embedding"): ("done", False),
        ("v1", "analysis"): ("failed", True),
        ("v1", "embedding"): ("skipped", True),
        ("v2", "analysis"): ("pending", False),
        ("v2", "embedding"): ("done", False),
        ("v3", "analysis"): ("skipped", True),
        ("v3", "embedding"): ("done", False),
    }
    assert unstamped == 0
