"""service subscriptions: chats that hear of a service's outages, maintenance and releases

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 09:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "subscription",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("service_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("channel", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("chat_id", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("lang", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=True),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("ended_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"]),
        sa.ForeignKeyConstraint(["service_id"], ["service.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("service_id", "channel", "chat_id", name="uq_subscription_chat"),
    )
    with op.batch_alter_table("subscription", schema=None) as batch_op:
        batch_op.create_index(
            "ix_subscription_service_active", ["service_id", "ended_at"], unique=False
        )
        batch_op.create_index("ix_subscription_chat", ["channel", "chat_id"], unique=False)
    op.create_table(
        "subscriptionevent",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subscription_id", sa.Integer(), nullable=False),
        sa.Column("at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("via", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"]),
        sa.ForeignKeyConstraint(["subscription_id"], ["subscription.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("subscriptionevent", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_subscriptionevent_subscription_id"), ["subscription_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("subscriptionevent", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_subscriptionevent_subscription_id"))
    op.drop_table("subscriptionevent")
    with op.batch_alter_table("subscription", schema=None) as batch_op:
        batch_op.drop_index("ix_subscription_chat")
        batch_op.drop_index("ix_subscription_service_active")
    op.drop_table("subscription")
