"""sla clocks on tickets, repeated alert posts

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 05:02:10.496008
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("alertpost", schema=None) as batch_op:
        batch_op.add_column(sa.Column("seq", sa.Integer(), server_default="0", nullable=False))
        batch_op.drop_constraint("uq_alert_post", type_="unique")
        batch_op.create_unique_constraint(
            "uq_alert_post_seq", ["alert_id", "channel", "target", "seq"]
        )

    with op.batch_alter_table("ticket", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("response_risk_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True)
        )
        batch_op.add_column(
            sa.Column("resolution_risk_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True)
        )
        batch_op.add_column(
            sa.Column("sla_paused_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True)
        )
        batch_op.add_column(
            sa.Column("sla_paused_seconds", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.add_column(
            sa.Column("sla_notified", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.add_column(
            sa.Column("sla_next_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True)
        )
        batch_op.create_index("ix_ticket_sla_next", ["sla_next_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("ticket", schema=None) as batch_op:
        batch_op.drop_index("ix_ticket_sla_next")
        batch_op.drop_column("sla_next_at")
        batch_op.drop_column("sla_notified")
        batch_op.drop_column("sla_paused_seconds")
        batch_op.drop_column("sla_paused_at")
        batch_op.drop_column("resolution_risk_at")
        batch_op.drop_column("response_risk_at")

    with op.batch_alter_table("alertpost", schema=None) as batch_op:
        batch_op.drop_constraint("uq_alert_post_seq", type_="unique")
        batch_op.create_unique_constraint("uq_alert_post", ["alert_id", "channel", "target"])
        batch_op.drop_column("seq")
