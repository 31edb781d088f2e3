"""Privacy flows through sync: a record keeps, with its content, whether the agreed event is
private (`sync_records.private`; the base of the per-field merge, so an owner can make a
meeting public again), NULL while the record holds no content.

Revision ID: 0005_sync_record_private
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_sync_record_private"
down_revision = "0004_member_office365_admin"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Records written before: not private (what the sync core assumed then).
    with op.batch_alter_table("sync_records") as batch:
        batch.add_column(sa.Column("private", sa.Boolean, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sync_records") as batch:
        batch.drop_column("private")
