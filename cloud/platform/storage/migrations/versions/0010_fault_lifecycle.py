"""The repair tracker: a fault report's steps (acknowledged, scheduled, resolved, wont_fix).

``faults`` gains the expected repair date (``eta``) and its latest step's note and time
(``status_note``, ``status_at``: what lists show without reading the history), and
``fault_updates`` keeps every step with who took it. Reports resolved before this
revision get their resolution as their one step, so their history is not empty.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("faults", schema=None) as batch_op:
        batch_op.add_column(sa.Column("eta", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("status_note", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("status_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "fault_updates",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("fault_id", Id, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("eta", sa.Date(), nullable=True),
        sa.Column("by_id", Id, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["fault_id"], ["faults.id"], name=op.f("fk_fault_updates_fault_id_faults"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["by_id"], ["users.id"], name=op.f("fk_fault_updates_by_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fault_updates")),
    )
    with op.batch_alter_table("fault_updates", schema=None) as batch_op:
        batch_op.create_index("ix_fault_updates_fault", ["fault_id", "id"], unique=False)
    op.execute(
        "INSERT INTO fault_updates (fault_id, status, note, by_id, created_at) "
        "SELECT id, 'resolved', resolution_note, resolved_by, resolved_at FROM faults "
        "WHERE status = 'resolved' AND resolved_at IS NOT NULL"
    )
    op.execute(
        "UPDATE faults SET status_note = resolution_note, status_at = resolved_at "
        "WHERE status = 'resolved' AND resolved_at IS NOT NULL"
    )


def downgrade() -> None:
    op.execute("UPDATE faults SET status = 'open' WHERE status IN ('acknowledged', 'scheduled')")
    op.execute("UPDATE faults SET status = 'resolved' WHERE status = 'wont_fix'")
    with op.batch_alter_table("fault_updates", schema=None) as batch_op:
        batch_op.drop_index("ix_fault_updates_fault")
    op.drop_table("fault_updates")
    with op.batch_alter_table("faults", schema=None) as batch_op:
        batch_op.drop_column("status_at")
        batch_op.drop_column("status_note")
        batch_op.drop_column("eta")
