"""change management and releases: change requests, approvals, events, posts, linked
incidents, releases

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 09:15:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "changerequest",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
        sa.Column("service_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("risk", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("impact", sa.Text(), nullable=False),
        sa.Column("plan", sa.Text(), nullable=False),
        sa.Column("test_functional", sa.Text(), nullable=False),
        sa.Column("test_security", sa.Text(), nullable=False),
        sa.Column("test_performance", sa.Text(), nullable=False),
        sa.Column("rollback_plan", sa.Text(), nullable=False),
        sa.Column("planned_start", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("planned_end", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("approval_rule", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("requested_by", sa.Integer(), nullable=True),
        sa.Column("requested_channel", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("decided_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("maintenance_id", sa.Integer(), nullable=True),
        sa.Column("result", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.Column("result_note", sa.Text(), nullable=True),
        sa.Column("implemented_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("review", sa.Text(), nullable=True),
        sa.Column("reviewed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("reviewed_by", sa.Integer(), nullable=True),
        sa.Column("review_due_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("review_notified", sa.Integer(), server_default="0", nullable=False),
        sa.ForeignKeyConstraint(
            ["maintenance_id"],
            ["maintenancewindow.id"],
        ),
        sa.ForeignKeyConstraint(
            ["requested_by"],
            ["person.id"],
        ),
        sa.ForeignKeyConstraint(
            ["reviewed_by"],
            ["person.id"],
        ),
        sa.ForeignKeyConstraint(
            ["service_id"],
            ["service.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("number"),
    )
    op.create_index(
        "ix_change_service_window",
        "changerequest",
        ["service_id", "planned_start", "planned_end"],
        unique=False,
    )
    op.create_index("ix_change_state", "changerequest", ["state"], unique=False)
    op.create_table(
        "changeapproval",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("change_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column(
            "parties",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("decision", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("channel", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
        sa.ForeignKeyConstraint(
            ["change_id"],
            ["changerequest.id"],
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["person.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_changeapproval_change_id"), "changeapproval", ["change_id"], unique=False
    )
    op.create_table(
        "changeevent",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("change_id", sa.Integer(), nullable=False),
        sa.Column("at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("channel", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("old", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("new", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["actor_id"],
            ["person.id"],
        ),
        sa.ForeignKeyConstraint(
            ["change_id"],
            ["changerequest.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_changeevent_change_id"), "changeevent", ["change_id"], unique=False)
    op.create_table(
        "changeincident",
        sa.Column("change_id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("linked_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["change_id"],
            ["changerequest.id"],
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["ticket.id"],
        ),
        sa.PrimaryKeyConstraint("change_id", "ticket_id"),
    )
    op.create_index(
        op.f("ix_changeincident_ticket_id"), "changeincident", ["ticket_id"], unique=False
    )
    op.create_table(
        "changepost",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("change_id", sa.Integer(), nullable=False),
        sa.Column("channel", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("target", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("message_ref", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["change_id"],
            ["changerequest.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("change_id", "channel", "target", name="uq_change_post"),
    )
    op.create_index(op.f("ix_changepost_change_id"), "changepost", ["change_id"], unique=False)
    op.create_table(
        "servicerelease",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("change_id", sa.Integer(), nullable=False),
        sa.Column("service_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("notes_id", sa.Text(), nullable=False),
        sa.Column("notes_en", sa.Text(), nullable=False),
        sa.Column("sop_url", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("published_by", sa.Integer(), nullable=True),
        sa.Column("channel", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
        sa.Column("published_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["change_id"],
            ["changerequest.id"],
        ),
        sa.ForeignKeyConstraint(
            ["published_by"],
            ["person.id"],
        ),
        sa.ForeignKeyConstraint(
            ["service_id"],
            ["service.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("change_id"),
    )
    op.create_index(
        op.f("ix_servicerelease_service_id"), "servicerelease", ["service_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_servicerelease_service_id"), table_name="servicerelease")
    op.drop_table("servicerelease")
    op.drop_index(op.f("ix_changepost_change_id"), table_name="changepost")
    op.drop_table("changepost")
    op.drop_index(op.f("ix_changeincident_ticket_id"), table_name="changeincident")
    op.drop_table("changeincident")
    op.drop_index(op.f("ix_changeevent_change_id"), table_name="changeevent")
    op.drop_table("changeevent")
    op.drop_index(op.f("ix_changeapproval_change_id"), table_name="changeapproval")
    op.drop_table("changeapproval")
    op.drop_index("ix_change_state", table_name="changerequest")
    op.drop_index("ix_change_service_window", table_name="changerequest")
    op.drop_table("changerequest")
