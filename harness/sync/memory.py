"""In-memory platform, record store and calendar service: the sync core's test double (as
vdirsyncer tests its algorithm against memory storage) and a load target for the core alone.

`MemoryProvider` behaves like the real services in the ways sync depends on: a change log read
through opaque cursors that it can forget, idempotent creates by key, etags, and faults
scheduled per call (throttling with Retry-After, 5xx, a create whose response is lost).
"""

from __future__ import annotations

import bisect
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from harness.sync.connector import (
    Conflict,
    CursorInvalid,
    NotFound,
    ReauthRequired,
    Throttled,
    Transient,
)
from harness.sync.model import (
    Changes,
    Meeting,
    MeetingChanges,
    MeetingFields,
    Record,
    RemoteEvent,
)
from harness.sync.planner import meeting_id_from_link
from harness.sync.series import series_end


class MeetingTable(dict[str, Meeting]):
    """The platform's meetings by id, as a dict that tests and load scripts write to directly,
    which logs every write as the platform's change feed (id -> sequence number, oldest first,
    so reading what changed since a cursor walks only those entries) and keeps a start-time
    index (what enters the stored window)."""

    def __init__(self, *args: object, **kwargs: Meeting) -> None:
        super().__init__()
        self.seq = 0
        self.log: dict[str, int] = {}
        self.starts: list[tuple[datetime, str]] = []
        self.update(*args, **kwargs)

    def _logged(self, meeting_id: str) -> None:
        self.seq += 1
        self.log.pop(meeting_id, None)  # re-inserted last: the dict stays in sequence order
        self.log[meeting_id] = self.seq

    def _unindex(self, meeting_id: str) -> None:
        old = dict.get(self, meeting_id)
        if old is not None:
            key = (old.fields.start, meeting_id)
            at = bisect.bisect_left(self.starts, key)
            if at < len(self.starts) and self.starts[at] == key:
                del self.starts[at]

    def __setitem__(self, meeting_id: str, meeting: Meeting) -> None:
        # An edit that keeps the start keeps its index entry: moving it is two memmoves of the
        # whole list, which made a round's few updates cost O(meetings).
        old = dict.get(self, meeting_id)
        moved = old is None or old.fields.start != meeting.fields.start
        if moved:
            self._unindex(meeting_id)
        super().__setitem__(meeting_id, meeting)
        if moved:
            bisect.insort(self.starts, (meeting.fields.start, meeting_id))
        self._logged(meeting_id)

    def __delitem__(self, meeting_id: str) -> None:
        self._unindex(meeting_id)
        super().__delitem__(meeting_id)
        self._logged(meeting_id)

    def pop(self, meeting_id: str, *default: Any) -> Any:  # type: ignore[override]
        if meeting_id in self:
            meeting = self[meeting_id]
            del self[meeting_id]
            return meeting
        if default:
            return default[0]
        raise KeyError(meeting_id)

    def popitem(self) -> tuple[str, Meeting]:
        meeting_id = next(reversed(self))
        return meeting_id, self.pop(meeting_id)

    def clear(self) -> None:
        for meeting_id in list(self):
            del self[meeting_id]

    def update(self, *args: Any, **kwargs: Meeting) -> None:  # type: ignore[override]
        for meeting_id, meeting in dict(*args, **kwargs).items():
            self[meeting_id] = meeting

    def setdefault(self, meeting_id: str, default: Meeting) -> Meeting:  # type: ignore[override]
        if meeting_id not in self:
            self[meeting_id] = default
        return self[meeting_id]

    def changed_since(self, since: int) -> list[str]:
        ids: list[str] = []
        for meeting_id, seq in reversed(self.log.items()):
            if seq <= since:
                break
            ids.append(meeting_id)
        ids.reverse()
        return ids

    def starting(self, lo: datetime, hi: datetime) -> list[str]:
        at = bisect.bisect_left(self.starts, (lo, ""))
        end = bisect.bisect_left(self.starts, (hi, ""))
        return [meeting_id for _, meeting_id in self.starts[at:end]]


@dataclass
class MemoryPlatform:
    """The platform's side, with its change feed (`PlatformFeed`)."""

    meetings_by_id: MeetingTable = field(default_factory=MeetingTable)
    cancelled: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not isinstance(self.meetings_by_id, MeetingTable):
            self.meetings_by_id = MeetingTable(self.meetings_by_id)

    def meetings(self) -> Mapping[str, Meeting]:
        return dict(self.meetings_by_id)

    def update_meeting(self, meeting_id: str, fields: MeetingFields) -> None:
        meeting = self.meetings_by_id.get(meeting_id)
        if meeting is not None:
            self.meetings_by_id[meeting_id] = replace(meeting, fields=fields)

    def cancel_meeting(self, meeting_id: str) -> None:
        if self.meetings_by_id.pop(meeting_id, None) is not None:
            self.cancelled.append(meeting_id)

    # -- the change feed ------------------------------------------------------------------------
    def feed_cursor(self) -> str:
        return str(self.meetings_by_id.seq)

    def meeting_changes(self, since: str) -> MeetingChanges | None:
        if not (since.isascii() and since.isdigit()) or int(since) > self.meetings_by_id.seq:
            return None
        return MeetingChanges(self.meetings_by_id.changed_since(int(since)), self.feed_cursor())

    def meetings_for(self, ids: Collection[str]) -> Mapping[str, Meeting]:
        table = self.meetings_by_id
        return {i: table[i] for i in ids if i in table}

    def meetings_starting(self, lo: datetime, hi: datetime) -> Mapping[str, Meeting]:
        table = self.meetings_by_id
        return {i: table[i] for i in table.starting(lo, hi)}


@dataclass
class MemoryStore:
    """The sanitized store, indexed by event id and by due time (`IndexedRecordStore`)."""

    rows: dict[str, Record] = field(default_factory=dict)
    cursor_value: str | None = None
    feed_value: str | None = None
    _by_event: dict[str, str] = field(default_factory=dict, repr=False)
    _due: list[tuple[datetime, str]] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        rows, self.rows = self.rows, {}
        for record in rows.values():
            self.put(record)

    def records(self) -> Mapping[str, Record]:
        return dict(self.rows)

    def put(self, record: Record) -> None:
        old = self.rows.get(record.meeting_id)
        same_due = old is not None and old.due == record.due
        self.drop(record.meeting_id, keep_due=same_due)
        self.rows[record.meeting_id] = record
        if record.event_id:
            self._by_event[record.event_id] = record.meeting_id
        if record.due is not None and not same_due:
            bisect.insort(self._due, (record.due, record.meeting_id))

    def put_many(self, records: Collection[Record]) -> None:
        for record in records:
            self.put(record)

    def drop(self, meeting_id: str, *, keep_due: bool = False) -> None:
        """`keep_due`: the record is put back at once with the same due time, so its entry
        stays (removing and re-inserting it moves the whole index twice)."""
        old = self.rows.pop(meeting_id, None)
        if old is None:
            return
        if old.event_id and self._by_event.get(old.event_id) == meeting_id:
            del self._by_event[old.event_id]
        if old.due is not None and not keep_due:
            key = (old.due, meeting_id)
            at = bisect.bisect_left(self._due, key)
            if at < len(self._due) and self._due[at] == key:
                del self._due[at]

    def records_for(self, meeting_ids: Collection[str]) -> Mapping[str, Record]:
        rows = self.rows
        return {i: rows[i] for i in meeting_ids if i in rows}

    def records_for_events(self, event_ids: Collection[str]) -> Mapping[str, Record]:
        found = (self._by_event.get(e) for e in event_ids)
        return {m: self.rows[m] for m in found if m is not None}

    def due(self, now: datetime) -> Mapping[str, Record]:
        end = bisect.bisect_right(self._due, (now, "\U0010ffff"))
        return {m: self.rows[m] for _, m in self._due[:end]}

    def cursor(self) -> str | None:
        return self.cursor_value

    def set_cursor(self, cursor: str | None) -> None:
        self.cursor_value = cursor

    def feed_state(self) -> str | None:
        return self.feed_value

    def set_feed_state(self, state: str | None) -> None:
        self.feed_value = state


Fault = str  # "throttle", "error", "lost-response", "cursor-gone", "revoked"


@dataclass
class MemoryProvider:
    events: dict[str, RemoteEvent] = field(default_factory=dict)
    log: dict[str, tuple[int, bool]] = field(default_factory=dict)  # id -> (seq, deleted)
    keys: dict[str, str] = field(default_factory=dict)  # create key -> event id
    seq: int = 0
    epoch: int = 0
    faults: list[Fault] = field(default_factory=list)  # consumed one per call, oldest first
    revoked: bool = False
    writes: int = 0
    _ids: int = 0

    # -- what users do on the provider side ------------------------------------------------------
    def user_creates(self, fields: MeetingFields, join_url: str | None = None) -> str:
        return self._store(self._new_id(), fields, join_url, None).id

    def user_edits(self, event_id: str, fields: MeetingFields) -> bool:
        event = self.events.get(event_id)
        if event is None:
            return False
        self._store(event_id, fields, event.join_url, event.transaction_key)
        return True

    def user_deletes(self, event_id: str) -> bool:
        return self._remove(event_id)

    def forget_cursors(self) -> None:
        self.epoch += 1

    def linked_events(self, meeting_id: str) -> list[RemoteEvent]:
        return [e for e in self.events.values() if meeting_id_from_link(e.join_url) == meeting_id]

    # -- the Connector ----------------------------------------------------------------------------
    def changes(self, cursor: str | None, window: tuple[datetime, datetime]) -> Changes:
        self._fault("read")
        if cursor is None:
            lo, hi = window
            listed = [e for e in self.events.values()
                      if e.fields.start < hi and (series_end(e.fields) or hi) > lo]
            return Changes(listed, [], self._cursor(), full=True, window=window)
        epoch, _, since = cursor.partition(":")
        if not (since.isascii() and since.isdigit()) or int(epoch) != self.epoch:
            raise CursorInvalid("cursor no longer known")
        after = int(since)
        newer = []  # the log is in sequence order (an entry moves last when written): walk back
        for event_id, (seq, deleted) in reversed(self.log.items()):
            if seq <= after:
                break
            newer.append((event_id, deleted))
        events, removed = [], []
        for event_id, deleted in reversed(newer):
            if deleted:
                removed.append(event_id)
            else:
                events.append(self.events[event_id])
        return Changes(events, removed, self._cursor(), full=False)

    def create(self, fields: MeetingFields, join_url: str, key: str) -> RemoteEvent:
        fault = self._fault("write")
        existing = self.keys.get(key)
        if existing is not None and existing in self.events:
            event = self.events[existing]  # idempotent: the first attempt's event
        else:
            event = self._store(self._new_id(), fields, join_url, key)
            self.keys[key] = event.id
        if fault == "lost-response":
            raise Transient("connection dropped after the write", ambiguous=True)
        return event

    def get(self, event_id: str) -> RemoteEvent | None:
        self._fault("read")
        return self.events.get(event_id)

    def find_created(self, key: str) -> RemoteEvent | None:
        self._fault("read")
        event_id = self.keys.get(key)
        return self.events.get(event_id) if event_id else None

    def update(self, event_id: str, fields: MeetingFields, join_url: str,
               etag: str | None) -> RemoteEvent:
        fault = self._fault("write")
        event = self.events.get(event_id)
        if event is None:
            raise NotFound(event_id)
        if etag is not None and event.etag != etag:
            raise Conflict(event_id)
        event = self._store(event_id, fields, join_url, event.transaction_key)
        if fault == "lost-response":
            raise Transient("connection dropped after the write", ambiguous=True)
        return event

    def delete(self, event_id: str) -> None:
        self._fault("write")
        if not self._remove(event_id):
            raise NotFound(event_id)

    # -- internals --------------------------------------------------------------------------------
    def _fault(self, kind: str) -> Fault | None:
        if self.revoked:
            raise ReauthRequired("grant revoked")
        if not self.faults:
            return None
        fault = self.faults.pop(0)
        if fault == "throttle":
            raise Throttled(retry_after=2.0)
        if fault == "error":
            raise Transient("503 service unavailable")
        if fault == "cursor-gone":
            self.forget_cursors()
            return None
        if fault == "lost-response" and kind != "write":
            return None
        return fault

    def _new_id(self) -> str:
        self._ids += 1
        return f"ev{self._ids}"

    def _cursor(self) -> str:
        return f"{self.epoch}:{self.seq}"

    def _store(self, event_id: str, fields: MeetingFields, join_url: str | None,
               key: str | None) -> RemoteEvent:
        self.seq += 1
        self.writes += 1
        event = RemoteEvent(event_id, f'W/"{self.seq}"', fields, join_url, key)
        self.events[event_id] = event
        self.log.pop(event_id, None)
        self.log[event_id] = (self.seq, False)
        return event

    def _remove(self, event_id: str) -> bool:
        if self.events.pop(event_id, None) is None:
            return False
        self.seq += 1
        self.writes += 1
        self.log.pop(event_id, None)
        self.log[event_id] = (self.seq, True)
        return True
