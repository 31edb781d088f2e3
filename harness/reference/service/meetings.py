"""Meetings: the user's meetings in a time range (synced first, from the store), and
scheduling, changing and deleting meetings on their calendar through the provider."""

from __future__ import annotations

from datetime import datetime

from harness.api.errors import DriverError
from harness.api.models import Meeting, MeetingRequest, MeetingUpdate
from harness.reference.providers import Provider
from harness.reference.providers.base import Credentials
from harness.reference.service import convert
from harness.reference.service.acting import Acting
from harness.reference.service.context import Context
from harness.reference.service.status import Status
from harness.reference.service.sync import Sync
from harness.reference.store import MeetingRow


class Meetings:
    def __init__(self, ctx: Context, status: Status, acting: Acting, sync: Sync) -> None:
        self.ctx, self.status, self.acting, self.sync = ctx, status, acting, sync

    def list_meetings(self, user: str, start: datetime, end: datetime) -> list[Meeting]:
        if self.status.suspended(user):
            return []  # "no longer have access to the calendar and contacts services"
        self.sync.round(user)
        with self.ctx.store.session() as s:
            return [convert.meeting(r) for r in self.ctx.store.meetings(s, user, start, end)]

    def schedule_meeting(self, user: str, request: MeetingRequest) -> Meeting:
        provider, creds = self._writer(user)
        created = self.acting.write(user, creds,
                                    lambda: provider.create_event(creds, request))
        row = convert.meeting_row(user.lower(), created)
        with self.ctx.store.session() as s:
            s.merge(convert.meeting_row(user.lower(), created))
        return convert.meeting(row)

    def update_meeting(self, user: str, meeting_id: str, update: MeetingUpdate) -> Meeting:
        provider, creds = self._writer(user)
        updated = self.acting.write(
            user, creds, lambda: provider.update_event(creds, meeting_id, update))
        row = convert.meeting_row(user.lower(), updated)
        with self.ctx.store.session() as s:
            s.merge(convert.meeting_row(user.lower(), updated))
        return convert.meeting(row)

    def delete_meeting(self, user: str, meeting_id: str) -> None:
        provider, creds = self._writer(user)
        self.acting.write(user, creds, lambda: provider.delete_event(creds, meeting_id))
        with self.ctx.store.session() as s:
            existing = s.get(MeetingRow, (user.lower(), meeting_id))
            if existing is not None:
                s.delete(existing)

    def _writer(self, user: str) -> tuple[Provider, Credentials]:
        provider, creds, status = self.acting.require(user)
        if status.calendar != "write":
            raise DriverError("calendar_read_only",
                              "calendar write permission is needed to put, change or delete "
                              "meetings on the user's calendar")
        return provider, creds
