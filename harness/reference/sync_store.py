"""The sync core's `Platform` and `RecordStore` on the SQL store, for one user's integration.

Every call is its own transaction: the engine records a create's key before the create and
relies on it surviving a crash, and a dropped record must be gone (deleted, not flagged) the
moment the engine says so.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from sqlalchemy import delete, select

from harness.reference.store import IntegrationRow, PlatformMeetingRow, Store, SyncRecordRow
from harness.sync.model import Meeting, MeetingFields, Record


def _aware(moment: datetime) -> datetime:
    # SQLite hands timezone-aware columns back naive; they were stored as UTC.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def meeting_of(row: PlatformMeetingRow) -> Meeting:
    return Meeting(row.id, row.organizer, row.organizer_id,
                   MeetingFields(row.topic, row.description, _aware(row.start), _aware(row.end),
                                 row.time_zone, row.recurrence),
                   row.join_url, row.private)


def record_of(row: SyncRecordRow) -> Record:
    fields = None
    if row.topic is not None and row.start is not None and row.end is not None:
        fields = MeetingFields(row.topic, row.description or "", _aware(row.start),
                               _aware(row.end), row.time_zone or "UTC", row.recurrence)
    return Record(row.meeting_id, row.digest, fields, row.organizer, row.organizer_id,
                  row.event_id, row.etag, row.pending_key)


def record_values(record: Record) -> dict[str, object]:
    """The columns a record writes: the documents' fields only while it has content."""
    f = record.fields
    return {"digest": record.digest,
            "description": f.description if f else None,
            "organizer": record.organizer if f else None,
            "topic": f.topic if f else None,
            "start": f.start.astimezone(UTC) if f else None,
            "end": f.end.astimezone(UTC) if f else None,
            "time_zone": f.time_zone if f else None,
            "recurrence": f.recurrence if f else None,
            "organizer_id": record.organizer_id if f else None,
            "event_id": record.event_id, "etag": record.etag, "pending_key": record.pending_key}


class SqlPlatform:
    """The platform meetings one user owns (scheduled by them or by a delegate for them)."""

    def __init__(self, store: Store, owner: str) -> None:
        self.store, self.owner = store, owner.lower()

    def meetings(self) -> Mapping[str, Meeting]:
        with self.store.session() as s:
            return {r.id: meeting_of(r) for r in self.store.platform_meetings(s, self.owner)}

    def update_meeting(self, meeting_id: str, fields: MeetingFields) -> None:
        with self.store.session() as s:
            row = s.get(PlatformMeetingRow, meeting_id)
            if row is None or row.owner != self.owner:
                return
            row.topic, row.description = fields.topic, fields.description
            row.start, row.end = fields.start.astimezone(UTC), fields.end.astimezone(UTC)
            row.time_zone, row.recurrence = fields.time_zone, fields.recurrence

    def cancel_meeting(self, meeting_id: str) -> None:
        with self.store.session() as s:
            s.execute(delete(PlatformMeetingRow).where(PlatformMeetingRow.id == meeting_id,
                                                       PlatformMeetingRow.owner == self.owner))


class SqlRecordStore:
    """The sanitized records and the cursor of one user's integration."""

    def __init__(self, store: Store, user: str) -> None:
        self.store, self.user = store, user.lower()

    def records(self) -> Mapping[str, Record]:
        with self.store.session() as s:
            return {r.meeting_id: record_of(r) for r in self.store.sync_records(s, self.user)}

    def put(self, record: Record) -> None:
        values = record_values(record)
        with self.store.session() as s:
            row = s.get(SyncRecordRow, (self.user, record.meeting_id))
            if row is None:
                s.add(SyncRecordRow(user=self.user, meeting_id=record.meeting_id, **values))
            else:
                for name, value in values.items():
                    setattr(row, name, value)

    def drop(self, meeting_id: str) -> None:
        with self.store.session() as s:
            s.execute(delete(SyncRecordRow).where(SyncRecordRow.user == self.user,
                                                  SyncRecordRow.meeting_id == meeting_id))

    def cursor(self) -> str | None:
        with self.store.session() as s:
            return s.scalar(select(IntegrationRow.sync_cursor)
                            .where(IntegrationRow.user == self.user))

    def set_cursor(self, cursor: str | None) -> None:
        with self.store.session() as s:
            row = s.get(IntegrationRow, self.user)
            if row is not None:
                row.sync_cursor = cursor
