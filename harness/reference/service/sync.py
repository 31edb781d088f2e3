"""The sync loop: one round of the user's calendar window from the provider into the store
(from the stored cursor, set-based writes), and sync on demand, which also probes contacts
access so the status tells the truth. Kept on its own: a bi-directional sync core replaces it."""

from __future__ import annotations

from datetime import timedelta

from harness.api.errors import DriverError
from harness.api.models import IntegrationStatus
from harness.reference.providers.base import AuthError, ProviderError
from harness.reference.service import convert
from harness.reference.service.acting import Acting
from harness.reference.service.contacts import Contacts
from harness.reference.service.context import Context
from harness.reference.service.status import Status


class Sync:
    def __init__(self, ctx: Context, status: Status, acting: Acting,
                 contacts: Contacts) -> None:
        self.ctx, self.status, self.acting, self.contacts = ctx, status, acting, contacts

    def round(self, user: str) -> None:
        """One sync round into the store; a failure is left in the integration's state."""
        acting = self.acting.get(user)
        if acting is None or acting[2].calendar == "none":
            return
        provider, creds, _ = acting
        store = self.ctx.store
        with store.session() as s:
            row = store.integration(s, user)
            assert row is not None
            cursor = row.sync_cursor
        now = self.ctx.now()
        window = (now - timedelta(days=self.ctx.config.sync_past_days),
                  now + timedelta(days=self.ctx.config.sync_future_days))
        try:
            result = provider.sync_events(creds, cursor, window)
        except AuthError as exc:
            self.status.auth_failure(user, exc)
            return
        except ProviderError as exc:
            self.status.set_state(user, calendar_state="denied" if exc.denied else "off",
                                  message=f"calendar: {exc}")
            return
        finally:
            self.acting.save_credentials(user, creds)
        with store.session() as s:
            row = store.integration(s, user)
            assert row is not None
            # Set-based writes, one transaction: a per-row merge cost ~280 us a meeting and
            # made the store, not the provider, the bottleneck of an initial ingest.
            who = user.lower()
            latest = {m.provider_id: m for m in result.upserts}  # the last change wins
            if result.replace_all:
                store.clear_meetings(s, user)
            else:
                store.delete_meetings(s, user, [*result.removed, *latest])
            store.insert_meetings(s, [convert.meeting_values(who, m) for m in latest.values()])
            row.sync_cursor = result.cursor
            row.calendar_state = "ok"

    def sync_now(self, user: str) -> IntegrationStatus:
        self.round(user)
        status = self.status.integration_status(user)
        if status.state == "connected" and status.contacts != "none":
            try:  # probes contacts access so the status tells the truth
                self.contacts.list_contacts(user)
            except DriverError as exc:  # a transient provider failure: say so, sync again later
                self.status.set_state(user, message=f"contacts: {exc.message}")
        return self.status.integration_status(user)
