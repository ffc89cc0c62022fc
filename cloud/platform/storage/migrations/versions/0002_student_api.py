"""Accounts, sessions, claims, waitlists, faults, notifications and activity: the student API.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Stamp = sa.DateTime(timezone=True)
Json = sa.JSON().with_variant(JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "login_throttle",
        sa.Column("key", sa.String(length=160), nullable=False),
        sa.Column("failures", sa.Integer(), server_default="0", nullable=False),
        sa.Column("lockouts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("locked_until", Stamp, nullable=True),
        sa.Column("updated_at", Stamp, nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_login_throttle")),
    )
    op.create_table(
        "users",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("student_id", sa.String(length=6), nullable=True),
        sa.Column("username", sa.String(length=64), nullable=True),
        sa.Column("display_name", sa.String(length=100), nullable=True),
        sa.Column("phone_number", sa.String(length=20), nullable=True),
        sa.Column("secret_hash", sa.String(length=255), nullable=False),
        sa.Column("created_at", Stamp, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("student_id", name="uq_users_student_id"),
        sa.UniqueConstraint("username", name="uq_users_username"),
    )
    op.create_table(
        "notifications",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("user_id", Id, nullable=False),
        sa.Column("type", sa.String(length=40), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("data", Json, nullable=False),
        sa.Column("created_at", Stamp, nullable=False),
        sa.Column("read_at", Stamp, nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_notifications_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
    )
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.create_index("ix_notifications_user", ["user_id", "id"], unique=False)

    op.create_table(
        "sessions",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("user_id", Id, nullable=False),
        sa.Column("created_at", Stamp, nullable=False),
        sa.Column("revoked_at", Stamp, nullable=True),
        sa.Column("revoked_reason", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_sessions_user_id_users"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sessions")),
    )
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.create_index("ix_sessions_user", ["user_id"], unique=False)

    op.create_table(
        "activities",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("room_id", Id, nullable=True),
        sa.Column("user_id", Id, nullable=True),
        sa.Column("machine_pk", Id, nullable=True),
        sa.Column("type", sa.String(length=40), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("data", Json, nullable=False),
        sa.Column("created_at", Stamp, nullable=False),
        sa.ForeignKeyConstraint(
            ["machine_pk"], ["machines.id"], name=op.f("fk_activities_machine_pk_machines"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["room_id"], ["rooms.id"], name=op.f("fk_activities_room_id_rooms"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_activities_user_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_activities")),
    )
    with op.batch_alter_table("activities", schema=None) as batch_op:
        batch_op.create_index("ix_activities_room", ["room_id", "id"], unique=False)
        batch_op.create_index("ix_activities_user", ["user_id", "id"], unique=False)

    op.create_table(
        "claims",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("machine_pk", Id, nullable=False),
        sa.Column("user_id", Id, nullable=False),
        sa.Column("category", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", Stamp, nullable=False),
        sa.Column("confirm_by", Stamp, nullable=False),
        sa.Column("started_at", Stamp, nullable=True),
        sa.Column("finished_at", Stamp, nullable=True),
        sa.Column("closed_at", Stamp, nullable=True),
        sa.Column("close_reason", sa.String(length=32), nullable=True),
        sa.Column("reminders_sent", sa.Integer(), server_default="0", nullable=False),
        sa.Column("next_reminder_at", Stamp, nullable=True),
        sa.ForeignKeyConstraint(
            ["machine_pk"], ["machines.id"], name=op.f("fk_claims_machine_pk_machines"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_claims_user_id_users"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_claims")),
    )
    with op.batch_alter_table("claims", schema=None) as batch_op:
        batch_op.create_index("ix_claims_confirm_by", ["status", "confirm_by"], unique=False)
        batch_op.create_index("ix_claims_next_reminder_at", ["status", "next_reminder_at"], unique=False)
        batch_op.create_index("ix_claims_user", ["user_id", "id"], unique=False)
        batch_op.create_index(
            "uq_claims_live_machine",
            ["machine_pk"],
            unique=True,
            sqlite_where=sa.text("status IN ('pending', 'active', 'finished')"),
            postgresql_where=sa.text("status IN ('pending', 'active', 'finished')"),
        )

    op.create_table(
        "faults",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("room_id", Id, nullable=False),
        sa.Column("machine_pk", Id, nullable=False),
        sa.Column("reporter_id", Id, nullable=True),
        sa.Column("automatic", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("reason", sa.String(length=64), nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("photo_file", sa.String(length=80), nullable=True),
        sa.Column("photo_type", sa.String(length=32), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", Stamp, nullable=False),
        sa.Column("resolved_at", Stamp, nullable=True),
        sa.Column("resolved_by", Id, nullable=True),
        sa.Column("resolution_note", sa.Text(), nullable=True),
        sa.Column("edge_seq", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["machine_pk"], ["machines.id"], name=op.f("fk_faults_machine_pk_machines"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["reporter_id"], ["users.id"], name=op.f("fk_faults_reporter_id_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["resolved_by"], ["users.id"], name=op.f("fk_faults_resolved_by_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(["room_id"], ["rooms.id"], name=op.f("fk_faults_room_id_rooms"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_faults")),
    )
    with op.batch_alter_table("faults", schema=None) as batch_op:
        batch_op.create_index("ix_faults_machine_status", ["machine_pk", "status"], unique=False)
        batch_op.create_index("uq_faults_edge_event", ["room_id", "edge_seq"], unique=True)

    op.create_table(
        "refresh_tokens",
        sa.Column("jti", sa.String(length=64), nullable=False),
        sa.Column("session_id", sa.String(length=64), nullable=False),
        sa.Column("issued_at", Stamp, nullable=False),
        sa.Column("expires_at", Stamp, nullable=False),
        sa.Column("used_at", Stamp, nullable=True),
        sa.ForeignKeyConstraint(
            ["session_id"], ["sessions.id"], name=op.f("fk_refresh_tokens_session_id_sessions"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("jti", name=op.f("pk_refresh_tokens")),
    )
    with op.batch_alter_table("refresh_tokens", schema=None) as batch_op:
        batch_op.create_index("ix_refresh_tokens_session", ["session_id"], unique=False)

    op.create_table(
        "waitlist_entries",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("room_id", Id, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("user_id", Id, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("joined_at", Stamp, nullable=False),
        sa.Column("offered_machine_pk", Id, nullable=True),
        sa.Column("offered_at", Stamp, nullable=True),
        sa.Column("hold_until", Stamp, nullable=True),
        sa.Column("closed_at", Stamp, nullable=True),
        sa.ForeignKeyConstraint(
            ["offered_machine_pk"],
            ["machines.id"],
            name=op.f("fk_waitlist_entries_offered_machine_pk_machines"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["room_id"], ["rooms.id"], name=op.f("fk_waitlist_entries_room_id_rooms"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_waitlist_entries_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_waitlist_entries")),
    )
    with op.batch_alter_table("waitlist_entries", schema=None) as batch_op:
        batch_op.create_index("ix_waitlist_hold_until", ["status", "hold_until"], unique=False)
        batch_op.create_index("ix_waitlist_queue", ["room_id", "kind", "status", "id"], unique=False)
        batch_op.create_index(
            "uq_waitlist_live_user",
            ["room_id", "kind", "user_id"],
            unique=True,
            sqlite_where=sa.text("status IN ('waiting', 'offered')"),
            postgresql_where=sa.text("status IN ('waiting', 'offered')"),
        )
        batch_op.create_index(
            "uq_waitlist_offered_machine",
            ["offered_machine_pk"],
            unique=True,
            sqlite_where=sa.text("status IN ('offered')"),
            postgresql_where=sa.text("status IN ('offered')"),
        )

    with op.batch_alter_table("machines", schema=None) as batch_op:
        batch_op.add_column(sa.Column("out_of_service", sa.Boolean(), server_default=sa.text("false"), nullable=False))
        batch_op.add_column(sa.Column("service_reason", sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column("service_since", Stamp, nullable=True))
        batch_op.add_column(sa.Column("service_by", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("desired_revision", sa.BigInteger(), server_default="0", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("machines", schema=None) as batch_op:
        batch_op.drop_column("desired_revision")
        batch_op.drop_column("service_by")
        batch_op.drop_column("service_since")
        batch_op.drop_column("service_reason")
        batch_op.drop_column("out_of_service")

    with op.batch_alter_table("waitlist_entries", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_waitlist_offered_machine",
            sqlite_where=sa.text("status IN ('offered')"),
            postgresql_where=sa.text("status IN ('offered')"),
        )
        batch_op.drop_index(
            "uq_waitlist_live_user",
            sqlite_where=sa.text("status IN ('waiting', 'offered')"),
            postgresql_where=sa.text("status IN ('waiting', 'offered')"),
        )
        batch_op.drop_index("ix_waitlist_queue")
        batch_op.drop_index("ix_waitlist_hold_until")

    op.drop_table("waitlist_entries")
    with op.batch_alter_table("refresh_tokens", schema=None) as batch_op:
        batch_op.drop_index("ix_refresh_tokens_session")

    op.drop_table("refresh_tokens")
    with op.batch_alter_table("faults", schema=None) as batch_op:
        batch_op.drop_index("uq_faults_edge_event")
        batch_op.drop_index("ix_faults_machine_status")

    op.drop_table("faults")
    with op.batch_alter_table("claims", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_claims_live_machine",
            sqlite_where=sa.text("status IN ('pending', 'active', 'finished')"),
            postgresql_where=sa.text("status IN ('pending', 'active', 'finished')"),
        )
        batch_op.drop_index("ix_claims_user")
        batch_op.drop_index("ix_claims_next_reminder_at")
        batch_op.drop_index("ix_claims_confirm_by")

    op.drop_table("claims")
    with op.batch_alter_table("activities", schema=None) as batch_op:
        batch_op.drop_index("ix_activities_user")
        batch_op.drop_index("ix_activities_room")

    op.drop_table("activities")
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.drop_index("ix_sessions_user")

    op.drop_table("sessions")
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_index("ix_notifications_user")

    op.drop_table("notifications")
    op.drop_table("users")
    op.drop_table("login_throttle")
