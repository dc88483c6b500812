"""documents.original_name (versions are decided by it) and document_names (other names of one content)

Revision ID: 7a6ed0199504
Revises: 7c4e1a9d2b60
Create Date: 2026-12-04 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "7a6ed0199504"
down_revision: str | None = "7c4e1a9d2b60"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMN (nullable) on both engines: no table rebuild of documents on SQLite.
    op.add_column("documents", sa.Column("original_name", sa.String(length=512), nullable=True))
    # Existing documents were versioned by their stored name, so that is their original name; an
    # archive entry's original name is its path inside the archive (as new uploads record it).
    op.execute(
        "UPDATE documents SET original_name = SUBSTR(CASE WHEN path = '' OR parent_id IS NOT NULL "
        "THEN filename ELSE path || '/' || filename END, 1, 512)"
    )
    op.create_index("ix_documents_matter_original", "documents", ["matter_id", "original_name"], unique=False)
    op.create_table(
        "document_names",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("document_id", sa.String(length=32), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("path", sa.String(length=1024), nullable=False),
        sa.Column("original_name", sa.String(length=512), nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["documents.id"],
            name=op.f("fk_document_names_document_id_documents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_document_names")),
    )
    op.create_index(op.f("ix_document_names_document_id"), "document_names", ["document_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_document_names_document_id"), table_name="document_names")
    op.drop_table("document_names")
    op.drop_index("ix_documents_matter_original", table_name="documents")
    op.drop_column("documents", "original_name")
