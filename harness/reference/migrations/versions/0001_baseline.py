"""Baseline: the store as the release before migrations made it (`Base.metadata.create_all`).

Revision ID: 0001_baseline
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_baseline"
down_revision = None
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "account",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("owner", sa.String(320), nullable=False),
        sa.Column("settings", sa.JSON, nullable=False),
        sa.Column("locks", sa.JSON, nullable=False))
    op.create_table(
        "contact_requests",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("sender", sa.String(320), nullable=False, index=True),
        sa.Column("recipient", sa.String(320), nullable=False, index=True),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("created_at", TZ, nullable=False))
    op.create_table(
        "groups",
        sa.Column("name", sa.String(120), primary_key=True),
        sa.Column("settings", sa.JSON, nullable=False),
        sa.Column("locks", sa.JSON, nullable=False))
    op.create_table(
        "integrations",
        sa.Column("user", sa.String(320), primary_key=True),
        sa.Column("service", sa.String(16), nullable=False),
        sa.Column("authorize_with", sa.String(8)),
        sa.Column("calendar", sa.String(8), nullable=False),
        sa.Column("contacts", sa.String(8), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("message", sa.Text),
        sa.Column("granted_scopes", sa.JSON, nullable=False),
        sa.Column("tenant_id", sa.String(320)),
        sa.Column("credentials", sa.Text),  # Fernet tokens
        sa.Column("pending_flow", sa.Text),
        sa.Column("sync_cursor", sa.Text),
        sa.Column("setup_by", sa.String(20), nullable=False),
        sa.Column("calendar_state", sa.String(8), nullable=False),
        sa.Column("contacts_state", sa.String(8), nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
        sa.Column("desktop_mapi", sa.Boolean, nullable=False))
    op.create_table(
        "members",
        sa.Column("email", sa.String(320), primary_key=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("group", sa.String(120)),
        sa.Column("settings", sa.JSON, nullable=False))
    op.create_table(
        "pending_admin_consents",
        sa.Column("actor", sa.String(320), primary_key=True),
        sa.Column("mode", sa.String(20), nullable=False),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("flow", sa.Text))
    op.create_table(
        "scheduling_grants",
        sa.Column("owner", sa.String(320), primary_key=True),
        sa.Column("assignee", sa.String(320), primary_key=True),
        sa.Column("manage_private", sa.Boolean, nullable=False),
        sa.Column("granted_at", TZ, nullable=False))
    op.create_table(
        "settings_audit",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", TZ, nullable=False),
        sa.Column("actor", sa.String(320), nullable=False),
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("old", sa.Text, nullable=False),
        sa.Column("new", sa.Text, nullable=False),
        sa.Column("level", sa.String(8), nullable=False),
        sa.Column("target", sa.String(320)),
        sa.Column("kind", sa.String(8), nullable=False))
    op.create_table(
        "sign_ins",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("user", sa.String(320), nullable=False, index=True),
        sa.Column("at", TZ, nullable=False),
        sa.Column("method", sa.String(10), nullable=False),
        sa.Column("platform", sa.String(10), nullable=False),
        sa.Column("client_version", sa.String(40), nullable=False),
        sa.Column("prompt", sa.String(24), nullable=False))
    op.create_table(
        "tenant_consents",
        sa.Column("tenant_id", sa.String(320), primary_key=True),
        sa.Column("mode", sa.String(20), nullable=False),
        sa.Column("admin", sa.String(320), nullable=False),
        sa.Column("granted_at", TZ, nullable=False))
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


def downgrade() -> None:
    for table in ("meetings", "tenant_consents", "sign_ins", "settings_audit",
                  "scheduling_grants", "pending_admin_consents", "members", "integrations",
                  "groups", "contact_requests", "account"):
        op.drop_table(table)
