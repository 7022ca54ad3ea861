"""problem management: problems, their incidents and events, cluster suggestions, and
candidate articles (kbcandidate.answer)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 09:07:24.253966
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "problem",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("service_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
        sa.Column("diagnosis", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("root_cause", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("workaround", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("fix", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("known_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("fixed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("recurred_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("verified_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("closed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("kb_candidate_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["person.id"],
        ),
        sa.ForeignKeyConstraint(
            ["kb_candidate_id"],
            ["kbcandidate.id"],
        ),
        sa.ForeignKeyConstraint(
            ["service_id"],
            ["service.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("number"),
    )
    with op.batch_alter_table("problem", schema=None) as batch_op:
        batch_op.create_index("ix_problem_state_service", ["state", "service_id"], unique=False)

    op.create_table(
        "problemevent",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("problem_id", sa.Integer(), nullable=False),
        sa.Column("at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("channel", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
        sa.Column("old", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("new", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("note", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.ForeignKeyConstraint(
            ["actor_id"],
            ["person.id"],
        ),
        sa.ForeignKeyConstraint(
            ["problem_id"],
            ["problem.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("problemevent", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_problemevent_problem_id"), ["problem_id"], unique=False
        )

    op.create_table(
        "problemincident",
        sa.Column("problem_id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("linked_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("linked_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["linked_by"],
            ["person.id"],
        ),
        sa.ForeignKeyConstraint(
            ["problem_id"],
            ["problem.id"],
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["ticket.id"],
        ),
        sa.PrimaryKeyConstraint("problem_id", "ticket_id"),
        sa.UniqueConstraint("ticket_id"),
    )
    op.create_table(
        "problemsuggestion",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("service_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column(
            "ticket_ids",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("problem_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["problem_id"],
            ["problem.id"],
        ),
        sa.ForeignKeyConstraint(
            ["service_id"],
            ["service.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("problemsuggestion", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_problemsuggestion_service_id"), ["service_id"], unique=False
        )

    with op.batch_alter_table("kbcandidate", schema=None) as batch_op:
        batch_op.add_column(sa.Column("answer", sqlmodel.sql.sqltypes.AutoString(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("kbcandidate", schema=None) as batch_op:
        batch_op.drop_column("answer")

    with op.batch_alter_table("problemsuggestion", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_problemsuggestion_service_id"))

    op.drop_table("problemsuggestion")
    op.drop_table("problemincident")
    with op.batch_alter_table("problemevent", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_problemevent_problem_id"))

    op.drop_table("problemevent")
    with op.batch_alter_table("problem", schema=None) as batch_op:
        batch_op.drop_index("ix_problem_state_service")

    op.drop_table("problem")
