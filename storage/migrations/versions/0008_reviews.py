"""the review cycle (SPBE levels 4 and 5): reviews, frozen figures, attendees, findings,
decisions as follow-up actions, and their events

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 08:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "review",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("opened_by", sa.Integer(), nullable=True),
        sa.Column("opened_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("closed_by", sa.Integer(), nullable=True),
        sa.Column("closed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["closed_by"],
            ["person.id"],
        ),
        sa.ForeignKeyConstraint(
            ["opened_by"],
            ["person.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("period_start", "period_end", name="uq_review_period"),
    )
    op.create_table(
        "reviewattendee",
        sa.Column("review_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("added_by", sa.Integer(), nullable=True),
        sa.Column("added_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["added_by"],
            ["person.id"],
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["person.id"],
        ),
        sa.ForeignKeyConstraint(
            ["review_id"],
            ["review.id"],
        ),
        sa.PrimaryKeyConstraint("review_id", "person_id"),
    )
    op.create_table(
        "reviewfigure",
        sa.Column("review_id", sa.Integer(), nullable=False),
        sa.Column("service_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("tickets", sa.Integer(), nullable=False),
        sa.Column("resolved", sa.Integer(), nullable=False),
        sa.Column("response_sla_pct", sa.Float(), nullable=True),
        sa.Column("resolution_sla_pct", sa.Float(), nullable=True),
        sa.Column("availability_pct", sa.Float(), nullable=True),
        sa.Column("mean_response_h", sa.Float(), nullable=True),
        sa.Column("mean_resolution_h", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["review_id"],
            ["review.id"],
        ),
        sa.ForeignKeyConstraint(
            ["service_id"],
            ["service.id"],
        ),
        sa.PrimaryKeyConstraint("review_id", "service_id"),
    )
    op.create_table(
        "reviewfinding",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("review_id", sa.Integer(), nullable=False),
        sa.Column("text", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
        sa.Column("service_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["person.id"],
        ),
        sa.ForeignKeyConstraint(
            ["review_id"],
            ["review.id"],
        ),
        sa.ForeignKeyConstraint(
            ["service_id"],
            ["service.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("reviewfinding", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_reviewfinding_review_id"), ["review_id"], unique=False)

    op.create_table(
        "reviewaction",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("review_id", sa.Integer(), nullable=False),
        sa.Column("decision", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("service_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("reference", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("reminded_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("escalated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["person.id"],
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["person.id"],
        ),
        sa.ForeignKeyConstraint(
            ["review_id"],
            ["review.id"],
        ),
        sa.ForeignKeyConstraint(
            ["service_id"],
            ["service.id"],
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["ticket.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("reviewaction", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_reviewaction_owner_id"), ["owner_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_reviewaction_review_id"), ["review_id"], unique=False)
        batch_op.create_index("ix_reviewaction_state_due", ["state", "due_on"], unique=False)
        batch_op.create_index(batch_op.f("ix_reviewaction_ticket_id"), ["ticket_id"], unique=False)

    op.create_table(
        "reviewevent",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("review_id", sa.Integer(), nullable=False),
        sa.Column("action_id", sa.Integer(), nullable=True),
        sa.Column("at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("channel", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
        sa.Column("old", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("new", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("note", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
        sa.ForeignKeyConstraint(
            ["action_id"],
            ["reviewaction.id"],
        ),
        sa.ForeignKeyConstraint(
            ["actor_id"],
            ["person.id"],
        ),
        sa.ForeignKeyConstraint(
            ["review_id"],
            ["review.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("reviewevent", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_reviewevent_action_id"), ["action_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_reviewevent_review_id"), ["review_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("reviewevent", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reviewevent_review_id"))
        batch_op.drop_index(batch_op.f("ix_reviewevent_action_id"))

    op.drop_table("reviewevent")
    with op.batch_alter_table("reviewaction", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reviewaction_ticket_id"))
        batch_op.drop_index("ix_reviewaction_state_due")
        batch_op.drop_index(batch_op.f("ix_reviewaction_review_id"))
        batch_op.drop_index(batch_op.f("ix_reviewaction_owner_id"))

    op.drop_table("reviewaction")
    with op.batch_alter_table("reviewfinding", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reviewfinding_review_id"))

    op.drop_table("reviewfinding")
    op.drop_table("reviewfigure")
    op.drop_table("reviewattendee")
    op.drop_table("review")
