"""Incremental sync rounds: the platform's change feed (`platform_meeting_changes`, and where a
round read it up to: `integrations.sync_feed`), the records' due time (`sync_records.due_at`,
the end-time index retention reads) and the indexes a round reads by (records by event id and
by due time, platform meetings by owner and start), so a round touches only what changed.

Revision ID: 0003_sync_feed_and_due_index
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_sync_feed_and_due_index"
down_revision = "0002_sync_core"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("integrations") as batch:
        batch.add_column(sa.Column("sync_feed", sa.Text, nullable=True))
    with op.batch_alter_table("sync_records") as batch:
        batch.add_column(sa.Column("due_at", sa.DateTime(timezone=True), nullable=True))
    # Records that hold content are due at their event's end (a series' first end: early is
    # harmless, the round that reads it settles the real one). Rows without content are found
    # through the platform meetings entering the window.
    op.execute(sa.text('UPDATE sync_records SET due_at = "end" WHERE topic IS NOT NULL'))
    op.create_index("ix_sync_records_event", "sync_records", ["user", "event_id"])
    op.create_index("ix_sync_records_due", "sync_records", ["user", "due_at"])
    op.create_index("ix_platform_meetings_owner_start", "platform_meetings", ["owner", "start"])
    op.create_table(
        "platform_meeting_changes",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("owner", sa.String(320), nullable=False),
        sa.Column("meeting_id", sa.String(64), nullable=False),
        sqlite_autoincrement=True)
    op.create_index("ix_platform_meeting_changes_owner_seq", "platform_meeting_changes",
                    ["owner", "seq"])
    # The round after the upgrade reads everything once (no feed state yet): nothing is missed.


def downgrade() -> None:
    op.drop_index("ix_platform_meeting_changes_owner_seq", "platform_meeting_changes")
    op.drop_table("platform_meeting_changes")
    op.drop_index("ix_platform_meetings_owner_start", "platform_meetings")
    op.drop_index("ix_sync_records_due", "sync_records")
    op.drop_index("ix_sync_records_event", "sync_records")
    with op.batch_alter_table("sync_records") as batch:
        batch.drop_column("due_at")
    with op.batch_alter_table("integrations") as batch:
        batch.drop_column("sync_feed")
