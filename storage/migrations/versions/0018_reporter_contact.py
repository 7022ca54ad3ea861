"""reporter contact and web chat documents: the name and e-mail or phone an unlinked web
chat reporter gave, and a document's bytes while its link in the chat's history holds

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-05 09:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0018"
down_revision: str | Sequence[str] | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("ticket", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("reporter_name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True)
        )
        batch_op.add_column(
            sa.Column(
                "reporter_contact", sqlmodel.sql.sqltypes.AutoString(length=320), nullable=True
            )
        )
    with op.batch_alter_table("webchatline", schema=None) as batch_op:
        batch_op.add_column(sa.Column("document_data", sa.LargeBinary(), nullable=True))
        batch_op.add_column(
            sa.Column("document_until", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("webchatline", schema=None) as batch_op:
        batch_op.drop_column("document_until")
        batch_op.drop_column("document_data")
    with op.batch_alter_table("ticket", schema=None) as batch_op:
        batch_op.drop_column("reporter_contact")
        batch_op.drop_column("reporter_name")
