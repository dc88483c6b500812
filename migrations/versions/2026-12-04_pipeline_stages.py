"""pipeline stages: analysis and embedding as follow-up jobs with their own status

Revision ID: 703015505d0f
Revises: 7a6ed0199504
Create Date: 2026-12-04 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "703015505d0f"
down_revision: str | None = "7a6ed0199504"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable, filled below: making it NOT NULL would mean rebuilding the table on SQLite.
    op.add_column("document_versions", sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE document_versions SET updated_at = COALESCE(processed_at, created_at)")
    op.create_table(
        "version_stages",
        sa.Column("version_id", sa.String(length=32), nullable=False),
        sa.Column("stage", sa.String(length=16), nullable=False),
        sa.Column("organization_id", sa.String(length=32), nullable=False),
        sa.Column("matter_id", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("lease_owner", sa.String(length=64), nullable=True),
        sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("duration_ms", sa.Float(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["document_versions.id"],
            name=op.f("fk_version_stages_version_id_document_versions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("version_id", "stage", name=op.f("pk_version_stages")),
    )
    op.create_index("ix_version_stages_status", "version_stages", ["status"], unique=False)

    # Versions made ready before this revision ran analysis and embedding in the processing job:
    # their stages say what that left behind. A queued re-analysis becomes a pending stage.
    op.execute(
        "INSERT INTO version_stages (version_id, stage, organization_id, matter_id, status, error, "
        "attempts, duration_ms, updated_at) "
        "SELECT v.id, 'analysis', v.organization_id, v.matter_id, "
        "CASE a.status WHEN 'ready' THEN 'done' WHEN 'failed' THEN 'failed' WHEN 'queued' THEN 'pending' "
        "ELSE 'skipped' END, "
        "CASE WHEN a.id IS NULL THEN 'Not analyzed when it was processed (legalai reanalyze does it)' "
        "ELSE a.error END, "
        "COALESCE(a.attempts, 0), a.duration_ms, CURRENT_TIMESTAMP "
        "FROM document_versions v LEFT JOIN document_analyses a ON a.version_id = v.id "
        "WHERE v.status = 'ready'"
    )
    op.execute(
        "INSERT INTO version_stages (version_id, stage, organization_id, matter_id, status, error, "
        "attempts, updated_at) "
        "SELECT v.id, 'embedding', v.organization_id, v.matter_id, "
        "CASE WHEN EXISTS (SELECT 1 FROM chunks c WHERE c.version_id = v.id AND c.embedding IS NULL) "
        "THEN 'skipped' ELSE 'done' END, "
        "CASE WHEN EXISTS (SELECT 1 FROM chunks c WHERE c.version_id = v.id AND c.embedding IS NULL) "
        "THEN 'Vectors are computed when the matter is first asked' END, "
        "0, CURRENT_TIMESTAMP "
        "FROM document_versions v WHERE v.status = 'ready'"
    )


def downgrade() -> None:
    op.drop_index("ix_version_stages_status", table_name="version_stages")
    op.drop_table("version_stages")
    op.drop_column("document_versions", "updated_at")
