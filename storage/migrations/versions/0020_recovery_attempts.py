"""recovery offers per incident and the events of recovery runs (step attempts)

Revision ID: 0020
Revises: 0018
Create Date: 2026-12-10 09:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0020"
down_revision: str | Sequence[str] | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "recoveryoffer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("service_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("outage_id", sa.Integer(), nullable=True),
        sa.Column("offered_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("chats", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["outage_id"], ["outage.id"]),
        sa.ForeignKeyConstraint(["service_id"], ["service.id"]),
        sa.ForeignKeyConstraint(["ticket_id"], ["ticket.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("ticket_id"),
    )
    op.create_table(
        "recoveryevent",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=True),
        sa.Column("attempt", sa.Integer(), nullable=True),
        sa.Column("at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("channel", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("action", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("old", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.Column("new", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.Column("note", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.ForeignKeyConstraint(["actor_id"], ["person.id"]),
        sa.ForeignKeyConstraint(["run_id"], ["recoveryrun.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("recoveryevent", schema=None) as batch_op:
        batch_op.create_index("ix_recoveryevent_run", ["run_id", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("recoveryevent", schema=None) as batch_op:
        batch_op.drop_index("ix_recoveryevent_run")
    op.drop_table("recoveryevent")
    op.drop_table("recoveryoffer")
