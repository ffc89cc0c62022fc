"""What the edge's detector knows of each machine: when its cycle should end, and its profile.

``machines.cycle_started_at`` and ``machines.expected_end`` come with every machine state
the edge publishes (its learned cycle profile and the claim's extra minutes), so every
student sees "free in about 12 min" for any machine in use. ``machines.profile`` is the
last learned profile the edge published (``.../machine/{machine}/profile``), kept so a
replaced Pi gets it back from the cloud if the broker lost its retained copy;
``profile_learned`` is its ``learned`` count (of two profiles, the one that learned more wins).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("machines", schema=None) as batch_op:
        batch_op.add_column(sa.Column("cycle_started_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("expected_end", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("profile", sa.JSON().with_variant(JSONB(), "postgresql"), nullable=True))
        batch_op.add_column(sa.Column("profile_learned", sa.BigInteger(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("profile_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("machines", schema=None) as batch_op:
        for column in ("profile_at", "profile_learned", "profile", "expected_end", "cycle_started_at"):
            batch_op.drop_column(column)
