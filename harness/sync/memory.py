"""In-memory platform, record store and calendar service: the sync core's test double (as
vdirsyncer tests its algorithm against memory storage) and a load target for the core alone.

`MemoryProvider` behaves like the real services in the ways sync depends on: a change log read
through opaque cursors that it can forget, idempotent creates by key, etags, and faults
scheduled per call (throttling with Retry-After, 5xx, a create whose response is lost).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime

from harness.sync.connector import (
    Conflict,
    CursorInvalid,
    NotFound,
    ReauthRequired,
    Throttled,
    Transient,
)
from harness.sync.model import Changes, Meeting, MeetingFields, Record, RemoteEvent
from harness.sync.planner import meeting_id_from_link
from harness.sync.series import series_end


@dataclass
class MemoryPlatform:
    meetings_by_id: dict[str, Meeting] = field(default_factory=dict)
    cancelled: list[str] = field(default_factory=list)

    def meetings(self) -> Mapping[str, Meeting]:
        return dict(self.meetings_by_id)

    def update_meeting(self, meeting_id: str, fields: MeetingFields) -> None:
        meeting = self.meetings_by_id.get(meeting_id)
        if meeting is not None:
            self.meetings_by_id[meeting_id] = replace(meeting, fields=fields)

    def cancel_meeting(self, meeting_id: str) -> None:
        if self.meetings_by_id.pop(meeting_id, None) is not None:
            self.cancelled.append(meeting_id)


@dataclass
class MemoryStore:
    rows: dict[str, Record] = field(default_factory=dict)
    cursor_value: str | None = None

    def records(self) -> Mapping[str, Record]:
        return dict(self.rows)

    def put(self, record: Record) -> None:
        self.rows[record.meeting_id] = record

    def drop(self, meeting_id: str) -> None:
        self.rows.pop(meeting_id, None)

    def cursor(self) -> str | None:
        return self.cursor_value

    def set_cursor(self, cursor: str | None) -> None:
        self.cursor_value = cursor


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
        if not since.isdigit() or int(epoch) != self.epoch:
            raise CursorInvalid("cursor no longer known")
        after = int(since)
        events, removed = [], []
        for event_id, (seq, deleted) in sorted(self.log.items(), key=lambda kv: kv[1][0]):
            if seq <= after:
                continue
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
