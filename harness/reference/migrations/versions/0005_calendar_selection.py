""""Sync Zoom Meetings from calendars": which of the user's calendars the meeting list reads
(`calendar_selections`; no row: the toggle on and the default calendar only, which is what
every existing integration keeps).

Revision ID: 0005_calendar_selection
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_calendar_selection"
down_revision = "0004_member_office365_admin"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "calendar_selections",
        sa.Column("user", sa.String(320),
                  sa.ForeignKey("integrations.user", ondelete="CASCADE"), primary_key=True),
        sa.Column("service", sa.String(24), nullable=False),
        sa.Column("sync_from_calendars", sa.Boolean, nullable=False),
        sa.Column("calendar_ids", sa.JSON, nullable=True),
    )


def downgrade() -> None:
    op.drop_table("calendar_selections")
