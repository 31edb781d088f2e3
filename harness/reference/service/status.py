"""The integration's stored state: its row, its status as the user sees it (connected, pending,
re-authentication or re-integration required), what the policy now says against it, and the
state and message a failure leaves behind."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from harness.api.models import IntegrationStatus
from harness.reference import policy
from harness.reference.providers.base import AuthError
from harness.reference.service import convert
from harness.reference.service.context import Context
from harness.reference.service.settings import Settings
from harness.reference.store import IntegrationRow, MemberRow


class Status:
    def __init__(self, ctx: Context, settings: Settings) -> None:
        self.ctx, self.settings = ctx, settings

    def integration_row(self, s: Session, user: str, service: str, calendar: str,
                        contacts: str) -> IntegrationRow:
        """The user's integration row, created pending if there is none yet."""
        row = self.ctx.store.integration(s, user)
        if row is None:
            row = IntegrationRow(user=user.lower(), service=service, calendar=calendar,
                                 contacts=contacts, state="pending", granted_scopes=[],
                                 updated_at=self.ctx.now())
            s.add(row)
        row.updated_at = self.ctx.now()
        return row

    def integration_status(self, user: str) -> IntegrationStatus:
        with self.ctx.store.session() as s:
            row = self.ctx.store.integration(s, user)
            if row is None:
                return IntegrationStatus(user=user.lower(), state="not_connected")
            status = convert.status(row)
            found = self.conflicts(s, row)
        if found:
            # Access is suspended, the stored integration kept: setting it up again with what
            # the admin allows clears the conflicts.
            text = "; ".join(c.message for c in found)
            return status.model_copy(update={"state": "reintegration_required",
                                             "message": f"{text}: set up the integration "
                                                        "again"})
        return status

    def conflicts(self, s: Session, row: IntegrationRow) -> list[policy.Conflict]:
        """What the policy now says against a working integration (lock, domain, MAPI)."""
        if row.state != "connected" or s.get(MemberRow, row.user) is None:
            return []
        return policy.conflicts(convert.facts(row), self.settings.resolved(s, row.user))

    def suspended(self, user: str) -> str | None:
        """Why the policy suspended the user's integration, or None."""
        with self.ctx.store.session() as s:
            row = self.ctx.store.integration(s, user)
            found = self.conflicts(s, row) if row is not None else []
        return "; ".join(c.message for c in found) or None

    def set_state(self, user: str, **fields: Any) -> None:
        with self.ctx.store.session() as s:
            row = self.ctx.store.integration(s, user)
            if row is not None:
                for name, value in fields.items():
                    setattr(row, name, value)

    def auth_failure(self, user: str, exc: AuthError) -> None:
        self.set_state(user, state="reauth_required" if exc.reauth else "error",
                       message=exc.summary)
