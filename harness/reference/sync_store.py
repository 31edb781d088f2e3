"""The sync core's `Platform` and `RecordStore` on the SQL store, for one user's integration,
with the change feed and indexes of an incremental round (`PlatformFeed`,
`IndexedRecordStore`): meetings changed since a feed cursor, meetings by start, records by
meeting, by event and by due time — each an indexed query, never a walk of the table.

Every call is its own transaction: the engine records a create's key before the create and
relies on it surviving a crash, and a dropped record must be gone (deleted, not flagged) the
moment the engine says so.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from dataclasses import replace
from datetime import UTC, datetime

from sqlalchemy import delete, func, select

from harness.reference.store import (
    IntegrationRow,
    PlatformMeetingChangeRow,
    PlatformMeetingRow,
    Store,
    SyncRecordRow,
)
from harness.sync.model import Meeting, MeetingChanges, MeetingFields, Record, digest

CHUNK = 500  # ids per IN (...): well under every backend's bound on parameters


def _chunks(ids: Collection[str]) -> Iterator[list[str]]:
    items = list(ids)
    for at in range(0, len(items), CHUNK):
        yield items[at:at + CHUNK]


def _aware(moment: datetime) -> datetime:
    # SQLite hands timezone-aware columns back naive; they were stored as UTC.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def meeting_of(row: PlatformMeetingRow) -> Meeting:
    return Meeting(row.id, row.organizer, row.organizer_id,
                   MeetingFields(row.topic, row.description, _aware(row.start), _aware(row.end),
                                 row.time_zone, row.recurrence, row.private),
                   row.join_url)


def record_of(row: SyncRecordRow) -> Record:
    fields = None
    if row.topic is not None and row.start is not None and row.end is not None:
        fields = MeetingFields(row.topic, row.description or "", _aware(row.start),
                               _aware(row.end), row.time_zone or "UTC", row.recurrence)
        # Whether the agreed event is private (the merge base of the flag) is not a column:
        # the digest of the agreed values tells (a record's digest is always that of its
        # fields), so the store keeps only the documented fields.
        if digest(fields) != row.digest and digest(replace(fields, private=True)) == row.digest:
            fields = replace(fields, private=True)
    return Record(row.meeting_id, row.digest, fields, row.organizer, row.organizer_id,
                  row.event_id, row.etag, row.pending_key,
                  _aware(row.due_at) if row.due_at is not None else None)


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
            "event_id": record.event_id, "etag": record.etag, "pending_key": record.pending_key,
            "due_at": record.due.astimezone(UTC) if record.due is not None else None}


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
            row.private = fields.private

    def cancel_meeting(self, meeting_id: str) -> None:
        with self.store.session() as s:
            row = s.get(PlatformMeetingRow, meeting_id)
            if row is not None and row.owner == self.owner:
                s.delete(row)  # through the ORM: the feed logs it

    # -- the change feed -------------------------------------------------------------------------
    def feed_cursor(self) -> str:
        with self.store.session() as s:
            seq = s.scalar(select(func.max(PlatformMeetingChangeRow.seq))
                           .where(PlatformMeetingChangeRow.owner == self.owner))
        return str(seq or 0)

    def meeting_changes(self, since: str) -> MeetingChanges | None:
        if not (since.isascii() and since.isdigit()):
            return None
        with self.store.session() as s:
            rows = s.execute(select(PlatformMeetingChangeRow.seq,
                                    PlatformMeetingChangeRow.meeting_id)
                             .where(PlatformMeetingChangeRow.owner == self.owner,
                                    PlatformMeetingChangeRow.seq > int(since))
                             .order_by(PlatformMeetingChangeRow.seq)).all()
        ids = list(dict.fromkeys(meeting_id for _, meeting_id in rows))
        return MeetingChanges(ids, str(rows[-1][0]) if rows else since)

    def meetings_for(self, ids: Collection[str]) -> Mapping[str, Meeting]:
        found: dict[str, Meeting] = {}
        with self.store.session() as s:
            for chunk in _chunks(ids):
                for row in s.scalars(select(PlatformMeetingRow).where(
                        PlatformMeetingRow.owner == self.owner, PlatformMeetingRow.id.in_(chunk))):
                    found[row.id] = meeting_of(row)
        return found

    def meetings_starting(self, lo: datetime, hi: datetime) -> Mapping[str, Meeting]:
        with self.store.session() as s:
            rows = s.scalars(select(PlatformMeetingRow).where(
                PlatformMeetingRow.owner == self.owner,
                PlatformMeetingRow.start >= lo.astimezone(UTC),
                PlatformMeetingRow.start < hi.astimezone(UTC)))
            return {row.id: meeting_of(row) for row in rows}


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

    def put_many(self, records: Collection[Record]) -> None:
        """One transaction for a round's settled records (a first round writes one per linked
        event): existing rows are read by id in chunks, the rest inserted together. Losing the
        batch to a crash is harmless: the cursor has not moved, the next round settles again."""
        latest = {r.meeting_id: r for r in records}
        with self.store.session() as s:
            for ids in _chunks(latest):
                rows = s.scalars(select(SyncRecordRow).where(
                    SyncRecordRow.user == self.user, SyncRecordRow.meeting_id.in_(ids)))
                existing = {row.meeting_id: row for row in rows}
                for meeting_id in ids:
                    values = record_values(latest[meeting_id])
                    row = existing.get(meeting_id)
                    if row is None:
                        s.add(SyncRecordRow(user=self.user, meeting_id=meeting_id, **values))
                    else:
                        for name, value in values.items():
                            setattr(row, name, value)

    def drop(self, meeting_id: str) -> None:
        with self.store.session() as s:
            s.execute(delete(SyncRecordRow).where(SyncRecordRow.user == self.user,
                                                  SyncRecordRow.meeting_id == meeting_id))

    def records_for(self, meeting_ids: Collection[str]) -> Mapping[str, Record]:
        found: dict[str, Record] = {}
        with self.store.session() as s:
            for chunk in _chunks(meeting_ids):
                for row in s.scalars(select(SyncRecordRow).where(
                        SyncRecordRow.user == self.user, SyncRecordRow.meeting_id.in_(chunk))):
                    found[row.meeting_id] = record_of(row)
        return found

    def records_for_events(self, event_ids: Collection[str]) -> Mapping[str, Record]:
        found: dict[str, Record] = {}
        with self.store.session() as s:
            for chunk in _chunks(event_ids):
                for row in s.scalars(select(SyncRecordRow).where(
                        SyncRecordRow.user == self.user, SyncRecordRow.event_id.in_(chunk))):
                    found[row.meeting_id] = record_of(row)
        return found

    def due(self, now: datetime) -> Mapping[str, Record]:
        with self.store.session() as s:
            rows = s.scalars(select(SyncRecordRow).where(
                SyncRecordRow.user == self.user, SyncRecordRow.due_at <= now.astimezone(UTC)))
            return {row.meeting_id: record_of(row) for row in rows}

    def cursor(self) -> str | None:
        with self.store.session() as s:
            return s.scalar(select(IntegrationRow.sync_cursor)
                            .where(IntegrationRow.user == self.user))

    def feed_state(self) -> str | None:
        with self.store.session() as s:
            return s.scalar(select(IntegrationRow.sync_feed)
                            .where(IntegrationRow.user == self.user))

    def set_feed_state(self, state: str | None) -> None:
        with self.store.session() as s:
            row = s.get(IntegrationRow, self.user)
            if row is not None:
                row.sync_feed = state

    def set_cursor(self, cursor: str | None) -> None:
        with self.store.session() as s:
            row = s.get(IntegrationRow, self.user)
            if row is not None:
                row.sync_cursor = cursor
