"""chunk embeddings for dense retrieval; conversations

Revision ID: b2c3d4e5f6a7
Revises: a1b2c3d4e5f6
Create Date: 2026-11-26 13:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "b2c3d4e5f6a7"
down_revision: str | None = "a1b2c3d4e5f6"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMN on both engines: the chunks table (and SQLite's FTS5 index on it) stays as is.
    op.add_column("chunks", sa.Column("embedding", sa.LargeBinary(), nullable=True))
    op.add_column("chunks", sa.Column("embedding_model", sa.String(length=64), nullable=True))
    op.create_table(
        "conversations",
        sa.Column("organization_id", sa.String(length=32), nullable=False),
        sa.Column("matter_id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=True),
        sa.Column("api_key_id", sa.String(length=32), nullable=True),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["matter_id"], ["matters.id"], name=op.f("fk_conversations_matter_id_matters"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_conversations_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conversations")),
    )
    op.create_index("ix_conversations_matter_user", "conversations", ["matter_id", "user_id"], unique=False)
    op.create_index(
        op.f("ix_conversations_organization_id"), "conversations", ["organization_id"], unique=False
    )
    op.create_table(
        "conversation_turns",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("conversation_id", sa.String(length=32), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("answer", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_conversation_turns_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conversation_turns")),
    )
    op.create_index(
        op.f("ix_conversation_turns_conversation_id"), "conversation_turns", ["conversation_id"], unique=False
    )
    op.create_table(
        "document_summaries",
        sa.Column("version_id", sa.String(length=32), nullable=False),
        sa.Column("document_id", sa.String(length=32), nullable=False),
        sa.Column("organization_id", sa.String(length=32), nullable=False),
        sa.Column("matter_id", sa.String(length=32), nullable=False),
        sa.Column("requested_by", sa.String(length=32), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("provider", sa.String(length=100), nullable=True),
        sa.Column("model", sa.String(length=200), nullable=True),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["document_versions.id"],
            name=op.f("fk_document_summaries_version_id_document_versions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("version_id", name=op.f("pk_document_summaries")),
    )
    op.create_index(
        op.f("ix_document_summaries_document_id"), "document_summaries", ["document_id"], unique=False
    )
    if op.get_bind().dialect.name == "sqlite":
        # Re-index the FTS5 row only when the text changes, not when an embedding is written.
        _replace_update_trigger("UPDATE OF text")


def _replace_update_trigger(event: str) -> None:
    op.execute("DROP TRIGGER IF EXISTS chunks_fts_update")
    op.execute(
        f"CREATE TRIGGER chunks_fts_update AFTER {event} ON chunks BEGIN "
        "INSERT INTO chunks_fts(chunks_fts, rowid, text) VALUES ('delete', old.id, old.text); "
        "INSERT INTO chunks_fts(rowid, text) VALUES (new.id, new.text); END"
    )


def downgrade() -> None:
    op.drop_table("document_summaries")
    op.drop_table("conversation_turns")
    op.drop_table("conversations")
    if op.get_bind().dialect.name == "sqlite":
        _replace_update_trigger("UPDATE")
    op.drop_column("chunks", "embedding_model")
    op.drop_column("chunks", "embedding")
