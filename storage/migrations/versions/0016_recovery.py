"""recovery: continuity fields of the catalog, recovery runs and their steps

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03 10:45:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0016"
down_revision: str | Sequence[str] | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("service", schema=None) as batch_op:
        batch_op.add_column(sa.Column("rto_minutes", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("rpo_minutes", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "backup_frequency",
                sqlmodel.sql.sqltypes.AutoString(length=32),
                nullable=False,
                server_default="",
            )
        )
        batch_op.add_column(
            sa.Column(
                "dr_site",
                sqlmodel.sql.sqltypes.AutoString(length=200),
                nullable=False,
                server_default="",
            )
        )
        batch_op.add_column(sa.Column("recovery_owner_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("last_dr_test", sa.Date(), nullable=True))
        batch_op.create_foreign_key(
            "fk_service_recovery_owner", "person", ["recovery_owner_id"], ["id"]
        )
    op.create_table(
        "recoveryrun",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("service_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("started_by_id", sa.Integer(), nullable=True),
        sa.Column("started_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("finished_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("ended_by_id", sa.Integer(), nullable=True),
        sa.Column("outcome", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("rto_minutes", sa.Integer(), nullable=True),
        sa.Column("measured_minutes", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(["service_id"], ["service.id"]),
        sa.ForeignKeyConstraint(["ended_by_id"], ["person.id"]),
        sa.ForeignKeyConstraint(["started_by_id"], ["person.id"]),
        sa.ForeignKeyConstraint(["ticket_id"], ["ticket.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("recoveryrun", schema=None) as batch_op:
        batch_op.create_index("ix_recoveryrun_service", ["service_id", "started_at"], unique=False)
    op.create_table(
        "recoverystep",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("role", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("expected_minutes", sa.Integer(), nullable=False),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("started_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("finished_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("note", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.ForeignKeyConstraint(["actor_id"], ["person.id"]),
        sa.ForeignKeyConstraint(["run_id"], ["recoveryrun.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("run_id", "position"),
    )


def downgrade() -> None:
    op.drop_table("recoverystep")
    with op.batch_alter_table("recoveryrun", schema=None) as batch_op:
        batch_op.drop_index("ix_recoveryrun_service")
    op.drop_table("recoveryrun")
    with op.batch_alter_table("service", schema=None) as batch_op:
        batch_op.drop_constraint("fk_service_recovery_owner", type_="foreignkey")
        batch_op.drop_column("last_dr_test")
        batch_op.drop_column("recovery_owner_id")
        batch_op.drop_column("dr_site")
        batch_op.drop_column("backup_frequency")
        batch_op.drop_column("rpo_minutes")
        batch_op.drop_column("rto_minutes")
