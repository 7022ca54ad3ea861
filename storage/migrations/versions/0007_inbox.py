"""durable inbound inbox: platform events written at arrival, processed by workers

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 18:50:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "inboxevent",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("lane", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("received_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("next_attempt_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("locked_until", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("worker", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=True),
        sa.Column("done_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("source", "key", name="uq_inbox_source_key"),
    )
    with op.batch_alter_table("inboxevent", schema=None) as batch_op:
        batch_op.create_index("ix_inbox_lane_state_id", ["lane", "state", "id"], unique=False)
        batch_op.create_index("ix_inbox_state_due", ["state", "next_attempt_at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_inboxevent_received_at"), ["received_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("inboxevent", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_inboxevent_received_at"))
        batch_op.drop_index("ix_inbox_state_due")
        batch_op.drop_index("ix_inbox_lane_state_id")
    op.drop_table("inboxevent")
