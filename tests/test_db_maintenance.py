from __future__ import annotations

import time

from sqlalchemy import insert, text

from legalai.kit.db import make_engine, refresh_planner_statistics


def test_stale_statistics_are_refreshed_on_postgres_only(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        if engine.dialect.name != "postgresql":
            assert refresh_planner_statistics(engine) == []
            return
        from legalai.accounts.models import Organization

        with engine.begin() as conn:
            conn.execute(
                insert(Organization), [{"id": f"o{i}", "name": "x", "slug": f"s{i}"} for i in range(3)]
            )
            conn.execute(text("ANALYZE"))
        assert refresh_planner_statistics(engine) == []  # nothing stale
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO matters (id, organization_id, name, description, created_at) "
                    "SELECT 'm' || g, 'o0', 'n' || g, '', now() FROM generate_series(1, 700) g"
                )
            )
            conn.execute(
                text(
                    "INSERT INTO documents (id, organization_id, matter_id, filename, path, status, kind, "
                    "created_at, updated_at) SELECT 'd' || g, 'o0', 'm1', 'f' || g, '', 'ready', 'text', "
                    "now(), now() FROM generate_series(1, 700) g"
                )
            )
        # Statistics counters reach pg_stat views asynchronously; wait for them briefly.
        for _ in range(50):
            analyzed = refresh_planner_statistics(engine)
            if analyzed:
                break
            time.sleep(0.1)
        assert analyzed == ["documents"]
    finally:
        engine.dispose()
