"""backups: the product's own backups and the restore tests that prove them

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03 10:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0015"
down_revision: str | Sequence[str] | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "backuprun",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slot", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
        sa.Column("started_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("finished_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("path", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column("sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("bytes", sa.Integer(), nullable=True),
        sa.Column("rows", sa.Integer(), nullable=True),
        sa.Column("revision", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("seconds", sa.Float(), nullable=True),
        sa.Column("offsite", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("error", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("slot"),
    )
    with op.batch_alter_table("backuprun", schema=None) as batch_op:
        batch_op.create_index("ix_backuprun_started", ["started_at"], unique=False)
    op.create_table(
        "restoretest",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slot", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
        sa.Column("started_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("backup_path", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column("backup_taken_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("restore_seconds", sa.Float(), nullable=True),
        sa.Column("rows", sa.Integer(), nullable=True),
        sa.Column(
            "mismatches",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("error", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("slot"),
    )
    with op.batch_alter_table("restoretest", schema=None) as batch_op:
        batch_op.create_index("ix_restoretest_started", ["started_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("restoretest", schema=None) as batch_op:
        batch_op.drop_index("ix_restoretest_started")
    op.drop_table("restoretest")
    with op.batch_alter_table("backuprun", schema=None) as batch_op:
        batch_op.drop_index("ix_backuprun_started")
    op.drop_table("backuprun")
