"""The SSO integration's prerequisite "Role as an administrator in Office 365" (SSO-05): what a
member's last sign-in at Microsoft showed of their Entra role (`members.office365_admin`; NULL
until they sign in there through the integration).

Revision ID: 0004_member_office365_admin
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_member_office365_admin"
down_revision = "0003_sync_feed_and_due_index"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Existing members are not known as Office 365 admins until their next Microsoft sign-in.
    with op.batch_alter_table("members") as batch:
        batch.add_column(sa.Column("office365_admin", sa.Boolean, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("members") as batch:
        batch.drop_column("office365_admin")
