"""Staff dashboards (issue 6): which desired revision each edge applied, and each edge's health.

``machines.applied_revision`` / ``applied_at`` come from the edge's retained ``ack``: a
machine whose ``applied_revision`` is below its ``desired_revision`` is still "pending".
``rooms.health`` / ``health_at`` keep the latest retained ``health`` message of the room's edge.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Stamp = sa.DateTime(timezone=True)
Json = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("machines", schema=None) as batch_op:
        batch_op.add_column(sa.Column("applied_revision", sa.BigInteger(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("applied_at", Stamp, nullable=True))
    with op.batch_alter_table("rooms", schema=None) as batch_op:
        batch_op.add_column(sa.Column("health", Json, nullable=True))
        batch_op.add_column(sa.Column("health_at", Stamp, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("rooms", schema=None) as batch_op:
        batch_op.drop_column("health_at")
        batch_op.drop_column("health")
    with op.batch_alter_table("machines", schema=None) as batch_op:
        batch_op.drop_column("applied_at")
        batch_op.drop_column("applied_revision")
