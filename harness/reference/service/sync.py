"""The client view and sync on demand.

The meeting list is the user's calendar read from the provider when asked: nothing of an event
that is not tied to a platform meeting is written to the store (the Web Calendaring Service,
`calendaring.py`, keeps sanitized records of linked events only, and only when bi-directional
sync is on). Sync on demand reads the calendar (so the status tells the truth), runs the Web
Calendaring Service's round, and probes contacts access."""

from __future__ import annotations

from datetime import datetime, timedelta

from harness.api.errors import DriverError
from harness.api.models import IntegrationStatus
from harness.reference.providers.base import AuthError, MeetingData, ProviderError
from harness.reference.service.acting import Acting
from harness.reference.service.calendaring import WebCalendaring
from harness.reference.service.calendars import Calendars
from harness.reference.service.contacts import Contacts
from harness.reference.service.context import Context
from harness.reference.service.status import Status


class Sync:
    def __init__(self, ctx: Context, status: Status, acting: Acting, contacts: Contacts,
                 calendaring: WebCalendaring, calendars: Calendars) -> None:
        self.ctx, self.status, self.acting = ctx, status, acting
        self.contacts, self.calendaring, self.calendars = contacts, calendaring, calendars

    def read_calendar(self, user: str, start: datetime, end: datetime) -> list[MeetingData]:
        """The user's events overlapping [start, end) in the calendars they sync ("Sync Zoom
        Meetings from calendars"), read from the provider now, one calendar after another;
        unselected calendars are never read. A selected calendar the provider no longer has
        (404) is passed over; any other failure is left in the integration's state and reads
        as an empty calendar."""
        acting = self.acting.get(user)
        if acting is None or acting[2].calendar == "none":
            return []
        selection = self.calendars.selection(user)
        if not selection.on:
            return []
        provider, creds, _ = acting
        targets: tuple[str | None, ...] = (None,) if selection.calendar_ids is None \
            else selection.calendar_ids
        events: list[MeetingData] = []
        try:
            for calendar_id in targets:
                try:
                    events += provider.read_events(creds, calendar_id, (start, end))
                except ProviderError as exc:
                    if exc.status != 404 or calendar_id is None:
                        raise
        except AuthError as exc:
            self.status.auth_failure(user, exc)
            return []
        except ProviderError as exc:
            self.status.set_state(user, calendar_state="denied" if exc.denied else "off",
                                  message=f"calendar: {exc}")
            return []
        finally:
            self.acting.save_credentials(user, creds)
        self.status.set_state(user, calendar_state="ok")
        latest = {m.provider_id: m for m in events}  # an event in two calendars shows once
        return [m for m in latest.values() if m.start < end and m.end > start]

    def round(self, user: str) -> None:
        now = self.ctx.now()
        self.read_calendar(user, now - timedelta(days=self.ctx.config.sync_past_days),
                           now + timedelta(days=self.ctx.config.sync_future_days))
        self.calendaring.run(user)

    def sync_now(self, user: str) -> IntegrationStatus:
        self.round(user)
        status = self.status.integration_status(user)
        if status.state == "connected" and status.contacts != "none":
            try:  # probes contacts access so the status tells the truth
                self.contacts.list_contacts(user)
            except DriverError as exc:  # a transient provider failure: say so, sync again later
                self.status.set_state(user, message=f"contacts: {exc.message}")
        return self.status.integration_status(user)
