"""An alert before the end: each student's lead time, and each claim's stored deadline for it.

``users.alert_before_min`` is 0 (off), 5 or 10. ``claims.alert_at`` is when the claimant is
told their cycle is nearly over (kept in step with the expected end while the claim is
active; null when none is due) and ``claims.alert_sent_at`` when they were, so a claim is
alerted at most once however often its cycle resumes or its deadline moves.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("alert_before_min", sa.Integer(), nullable=False, server_default="0"))
    with op.batch_alter_table("claims", schema=None) as batch_op:
        batch_op.add_column(sa.Column("alert_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("alert_sent_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index("ix_claims_alert_at", ["status", "alert_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("claims", schema=None) as batch_op:
        batch_op.drop_index("ix_claims_alert_at")
        batch_op.drop_column("alert_sent_at")
        batch_op.drop_column("alert_at")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("alert_before_min")
