"""audit events are recorded pending and linked into the chain afterwards

``record`` no longer reads the chain head under a per-organization lock: it inserts the event with
``seq``, ``prev_hash`` and ``hash`` NULL and a single chainer links pending events in batches. The
three columns become nullable (together: a CHECK keeps them all NULL or all set), and a partial
index covers the pending events the chainer reads. Existing rows are chained already and verify as
before. The unique (organization_id, seq) constraint stays: NULLs are distinct on both databases.

Revision ID: 7c4e1a9d2b60
Revises: b2c3d4e5f6a7
Create Date: 2026-12-04 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "7c4e1a9d2b60"
down_revision: str | None = "b2c3d4e5f6a7"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_CHAINED_OR_PENDING = (
    "(seq IS NULL AND prev_hash IS NULL AND hash IS NULL)"
    " OR (seq IS NOT NULL AND prev_hash IS NOT NULL AND hash IS NOT NULL)"
)


def upgrade() -> None:
    # SQLite cannot drop NOT NULL in place: batch mode copies the table, keeping its indexes.
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.alter_column("seq", existing_type=sa.Integer(), nullable=True)
        batch_op.alter_column("prev_hash", existing_type=sa.String(length=64), nullable=True)
        batch_op.alter_column("hash", existing_type=sa.String(length=64), nullable=True)
        batch_op.create_check_constraint("chained_or_pending", _CHAINED_OR_PENDING)
    op.create_index(
        "ix_audit_events_pending",
        "audit_events",
        ["organization_id", "id"],
        unique=False,
        postgresql_where=sa.text("seq IS NULL"),
        sqlite_where=sa.text("seq IS NULL"),
    )


def downgrade() -> None:
    pending = op.get_bind().execute(sa.text("SELECT count(*) FROM audit_events WHERE seq IS NULL")).scalar()
    if pending:
        raise RuntimeError(
            f"{pending} audit events are still pending: run `legalai audit verify` (it links them into "
            "the chain) with the application stopped, then downgrade again"
        )
    op.drop_index("ix_audit_events_pending", table_name="audit_events")
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_constraint("chained_or_pending", type_="check")
        batch_op.alter_column("hash", existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column("prev_hash", existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column("seq", existing_type=sa.Integer(), nullable=False)
