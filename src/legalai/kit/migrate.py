"""Run Alembic migrations programmatically (CLI, app start-up in local mode, tests)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

ROOT = Path(__file__).resolve().parents[3]


def _config() -> Config:
    ini = ROOT / "alembic.ini"
    # Installed as a wheel there is no alembic.ini: the script location below is enough.
    cfg = Config(str(ini)) if ini.exists() else Config()
    cfg.set_main_option("script_location", str(_script_location()))
    return cfg


def _script_location() -> Path:
    packaged = Path(__file__).resolve().parents[1] / "migrations"
    return packaged if packaged.exists() else ROOT / "migrations"


def include_object(obj: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
    """What Alembic compares: not the full-text index, which migrations manage by hand (SQLite's
    chunks_fts and its shadow tables, PostgreSQL's generated chunks.tsv and its GIN index)."""
    if type_ == "table" and name is not None and name.startswith("chunks_fts"):
        return False
    return not (type_ in ("column", "index") and name in ("tsv", "ix_chunks_tsv"))


def upgrade(engine: Engine, revision: str = "head") -> None:
    cfg = _config()
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, revision)


def downgrade(engine: Engine, revision: str) -> None:
    cfg = _config()
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.downgrade(cfg, revision)
