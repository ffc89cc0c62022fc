"""Staff alarms: incidents (a silent edge, a sensor fault, a machine out of service
automatically) that staff are told of once when they open and once when they clear.

``open_key`` is set while an incident is open and unique, so several messages, replicas or
timer rounds that see the same incident open it once; clearing sets it to null.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Stamp = sa.DateTime(timezone=True)
Json = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "staff_alarms",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("room_id", Id, nullable=False),
        sa.Column("machine_pk", Id, nullable=True),
        sa.Column("site", sa.String(length=63), nullable=False),
        sa.Column("room", sa.String(length=63), nullable=False),
        sa.Column("machine", sa.String(length=63), nullable=True),
        sa.Column("opened_at", Stamp, nullable=False),
        sa.Column("cleared_at", Stamp, nullable=True),
        sa.Column("details", Json, nullable=False),
        sa.Column("open_key", sa.String(length=100), nullable=True),
        sa.ForeignKeyConstraint(
            ["room_id"], ["rooms.id"], name=op.f("fk_staff_alarms_room_id_rooms"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["machine_pk"], ["machines.id"], name=op.f("fk_staff_alarms_machine_pk_machines"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_alarms")),
        sa.UniqueConstraint("open_key", name=op.f("uq_staff_alarms_open_key")),
    )
    with op.batch_alter_table("staff_alarms", schema=None) as batch_op:
        batch_op.create_index("ix_staff_alarms_site_open", ["site", "cleared_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("staff_alarms", schema=None) as batch_op:
        batch_op.drop_index("ix_staff_alarms_site_open")
    op.drop_table("staff_alarms")
