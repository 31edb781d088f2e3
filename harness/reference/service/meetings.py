"""Meetings: the client view (the user's calendar events read from the provider when asked,
never stored), and scheduling, changing, deleting and answering meetings.

With bi-directional sync off, a meeting scheduled in the platform is put on the user's calendar
directly through the provider (calendar write permission). With it on, the meeting is the
platform's: kept in `platform_meetings` and pushed (then kept in step) by the Web Calendaring
Service's sync round, which runs right after the change."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from harness.api.errors import DriverError
from harness.api.models import Meeting, MeetingRequest, MeetingResponse, MeetingUpdate
from harness.reference.providers import Provider
from harness.reference.providers.base import Credentials
from harness.reference.service import convert
from harness.reference.service.acting import Acting
from harness.reference.service.calendaring import WebCalendaring
from harness.reference.service.context import Context
from harness.reference.service.status import Status
from harness.reference.service.sync import Sync
from harness.reference.store import PlatformMeetingRow, SyncRecordRow

JOIN_BASE = "https://meet.calharness.test/j/"


def _platform_meeting(row: PlatformMeetingRow) -> Meeting:
    return Meeting(id=row.id, subject=row.topic, start=convert.aware(row.start),
                   end=convert.aware(row.end), join_url=row.join_url, private=row.private)


class Meetings:
    def __init__(self, ctx: Context, status: Status, acting: Acting, sync: Sync,
                 calendaring: WebCalendaring) -> None:
        self.ctx, self.status, self.acting, self.sync = ctx, status, acting, sync
        self.calendaring = calendaring

    def list_meetings(self, user: str, start: datetime, end: datetime) -> list[Meeting]:
        if self.status.suspended(user):
            return []  # "no longer have access to the calendar and contacts services"
        events = self.sync.read_calendar(user, start, end)
        return [convert.meeting(m)
                for m in sorted(events, key=lambda m: (m.start, m.provider_id))]

    def schedule_meeting(self, user: str, request: MeetingRequest,
                         scheduled_by: str | None = None) -> Meeting:
        provider, creds = self._writer(user)
        if self.calendaring.enabled(user):
            return self._schedule_on_platform(user, request, scheduled_by or user)
        created = self.acting.write(user, creds,
                                    lambda: provider.create_event(creds, request))
        return convert.meeting(created)

    def update_meeting(self, user: str, meeting_id: str, update: MeetingUpdate) -> Meeting:
        provider, creds = self._writer(user)
        with self.ctx.store.session() as s:
            row = self._platform_row(s, user, meeting_id)
            if row is not None:
                row.topic = update.subject or row.topic
                row.start = (update.start or convert.aware(row.start)).astimezone(UTC)
                row.end = (update.end or convert.aware(row.end)).astimezone(UTC)
                meeting = _platform_meeting(row)
            else:
                meeting = None
        if meeting is not None:
            self.calendaring.run(user)
            return meeting
        updated = self.acting.write(
            user, creds, lambda: provider.update_event(creds, meeting_id, update))
        return convert.meeting(updated)

    def delete_meeting(self, user: str, meeting_id: str) -> None:
        provider, creds = self._writer(user)
        with self.ctx.store.session() as s:
            row = self._platform_row(s, user, meeting_id)
            platform = row is not None
            if row is not None:
                s.delete(row)
        if platform:
            self.calendaring.run(user)  # the round deletes the linked event
            return
        self.acting.write(user, creds, lambda: provider.delete_event(creds, meeting_id))

    def respond_to_meeting(self, user: str, meeting_id: str, response: MeetingResponse) -> None:
        """The user's answer to an invitation in their calendar: a write on the calendar at the
        provider, refused under Calendar/Read like every other write."""
        provider, creds = self._writer(user)
        self.acting.write(user, creds,
                          lambda: provider.respond_event(creds, meeting_id, response))

    def _platform_row(self, s: Session, user: str,
                      meeting_id: str) -> PlatformMeetingRow | None:
        """The platform meeting by its id, or by the id of the calendar event it is linked to
        (what the meeting list shows)."""
        row = s.get(PlatformMeetingRow, meeting_id)
        if row is None:
            linked = s.scalar(select(SyncRecordRow.meeting_id).where(
                SyncRecordRow.user == user.lower(), SyncRecordRow.event_id == meeting_id))
            row = s.get(PlatformMeetingRow, linked) if linked is not None else None
        return row if row is not None and row.owner == user.lower() else None

    def platform_meetings(self, user: str) -> list[Meeting]:
        with self.ctx.store.session() as s:
            return [_platform_meeting(r) for r in self.ctx.store.platform_meetings(s, user)]

    def _schedule_on_platform(self, owner: str, request: MeetingRequest,
                              scheduled_by: str) -> Meeting:
        meeting_id = str(10_000_000_000 + secrets.randbelow(90_000_000_000))
        who = owner.lower()
        row = PlatformMeetingRow(
            id=meeting_id, owner=who, organizer=who, organizer_id=_organizer_id(who),
            scheduled_by=scheduled_by.lower(), topic=request.subject, description=request.body,
            start=request.start.astimezone(UTC), end=request.end.astimezone(UTC),
            time_zone="UTC", recurrence=None, join_url=JOIN_BASE + meeting_id, private=False)
        with self.ctx.store.session() as s:
            s.add(row)
            meeting = _platform_meeting(row)
        self.calendaring.run(owner)
        return meeting

    def _writer(self, user: str) -> tuple[Provider, Credentials]:
        provider, creds, status = self.acting.require(user)
        if status.calendar != "write":
            raise DriverError("calendar_read_only",
                              "calendar write permission is needed to put, change, delete or "
                              "answer meetings on the user's calendar")
        return provider, creds


def _organizer_id(email: str) -> str:
    """The platform's id of a user (stable, opaque)."""
    import hashlib

    return hashlib.sha256(email.encode()).hexdigest()[:22]
