"""Web Calendaring Service: the full-field meetings cache goes (nothing of an event that is not
tied to a platform meeting is stored); platform meetings and sanitized sync records come in.

Revision ID: 0002_sync_core
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_sync_core"
down_revision = "0001_baseline"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.drop_table("meetings")  # provider events of every kind, full fields: no longer kept
    op.execute(sa.text("UPDATE integrations SET sync_cursor = NULL"))  # was the cache's cursor
    op.create_table(
        "platform_meetings",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("owner", sa.String(320), nullable=False, index=True),
        sa.Column("organizer", sa.String(320), nullable=False),
        sa.Column("organizer_id", sa.String(64), nullable=False),
        sa.Column("scheduled_by", sa.String(320), nullable=False),
        sa.Column("topic", sa.Text, nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("start", TZ, nullable=False),
        sa.Column("end", TZ, nullable=False),
        sa.Column("time_zone", sa.String(64), nullable=False),
        sa.Column("recurrence", sa.Text),
        sa.Column("join_url", sa.Text, nullable=False),
        sa.Column("private", sa.Boolean, nullable=False))
    op.create_table(
        "sync_records",
        sa.Column("user", sa.String(320),
                  sa.ForeignKey("integrations.user", ondelete="CASCADE"), primary_key=True),
        sa.Column("meeting_id", sa.String(64), primary_key=True),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("description", sa.Text),
        sa.Column("organizer", sa.String(320)),
        sa.Column("topic", sa.Text),
        sa.Column("start", TZ),
        sa.Column("end", TZ),
        sa.Column("time_zone", sa.String(64)),
        sa.Column("recurrence", sa.Text),
        sa.Column("organizer_id", sa.String(64)),
        sa.Column("event_id", sa.String(400)),
        sa.Column("etag", sa.String(400)),
        sa.Column("pending_key", sa.String(128)))


def downgrade() -> None:
    op.drop_table("sync_records")
    op.drop_table("platform_meetings")
    op.create_table(
        "meetings",
        sa.Column("user", sa.String(320),
                  sa.ForeignKey("integrations.user", ondelete="CASCADE"), primary_key=True),
        sa.Column("provider_id", sa.String(300), primary_key=True),
        sa.Column("subject", sa.Text),
        sa.Column("start", TZ, nullable=False, index=True),
        sa.Column("end", TZ, nullable=False),
        sa.Column("location", sa.Text),
        sa.Column("join_url", sa.Text),
        sa.Column("attendees", sa.JSON, nullable=False),
        sa.Column("private", sa.Boolean, nullable=False),
        sa.Column("change_key", sa.String(200)))
