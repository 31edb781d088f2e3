"""One sync round: read the provider's changes, plan, apply, move the cursor.

The engine owns the waiting and retrying (so every connector behaves the same under faults):
Throttled waits its Retry-After (bounded), Transient backs off exponentially, both a bounded
number of times. A round whose writes did not all succeed keeps the old cursor, so the next
round reads the same changes again and the planner, being idempotent against the records,
finishes the work without loss or duplicates. A forgotten cursor becomes a full resync.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol, TypeVar, cast, runtime_checkable

from harness.sync.connector import (
    Conflict,
    Connector,
    CursorInvalid,
    NotFound,
    Throttled,
    Transient,
)
from harness.sync.model import (
    Changes,
    Meeting,
    MeetingChanges,
    MeetingFields,
    Record,
    RoundReport,
    digest,
)
from harness.sync.planner import (
    LISTING_DAYS,
    WINDOW_DAYS,
    CancelMeeting,
    CreateEvent,
    DeleteCreated,
    DeleteEvent,
    DropRecord,
    PutRecord,
    UpdateEvent,
    UpdateMeeting,
    VerifyCopy,
    adopt,
    create_key,
    meeting_id_from_link,
    plan,
    retained,
    settle,
    window,
)

T = TypeVar("T")


class Platform(Protocol):
    """The platform's own meetings (what users schedule in the client, web, or as delegates)."""

    def meetings(self) -> Mapping[str, Meeting]: ...
    def update_meeting(self, meeting_id: str, fields: MeetingFields) -> None: ...
    def cancel_meeting(self, meeting_id: str) -> None: ...


@runtime_checkable
class PlatformFeed(Platform, Protocol):
    """A platform that can say what changed: with it (and an `IndexedRecordStore`) an
    incremental round reads only what changed instead of every meeting and record."""

    def feed_cursor(self) -> str:
        """The feed's position now (read before a full listing of the meetings)."""
        ...

    def meeting_changes(self, since: str) -> MeetingChanges | None:
        """Ids of meetings created, changed or deleted after `since`; None when the feed no
        longer knows that cursor (the round then plans over every meeting)."""
        ...

    def meetings_for(self, ids: Collection[str]) -> Mapping[str, Meeting]:
        """The meetings among `ids` that exist now."""
        ...

    def meetings_starting(self, lo: datetime, hi: datetime) -> Mapping[str, Meeting]:
        """Meetings starting in [lo, hi): those that entered the stored window since the last
        round, whose records gain their content."""
        ...


class RecordStore(Protocol):
    """The sanitized store of one integration: records and the connector's cursor."""

    def records(self) -> Mapping[str, Record]: ...
    def put(self, record: Record) -> None: ...
    def drop(self, meeting_id: str) -> None: ...
    def cursor(self) -> str | None: ...
    def set_cursor(self, cursor: str | None) -> None: ...


@runtime_checkable
class IndexedRecordStore(RecordStore, Protocol):
    """A store that finds records by meeting, by event and by due time (`Record.due`, the
    end-time index retention reads), and keeps the platform feed's state beside the cursor."""

    def records_for(self, meeting_ids: Collection[str]) -> Mapping[str, Record]: ...

    def records_for_events(self, event_ids: Collection[str]) -> Mapping[str, Record]:
        """Records linked to any of `event_ids`, by meeting id."""
        ...

    def due(self, now: datetime) -> Mapping[str, Record]:
        """Records whose `due` is at or before `now`, by meeting id."""
        ...

    def feed_state(self) -> str | None: ...
    def set_feed_state(self, state: str | None) -> None: ...


@runtime_checkable
class BulkRecordStore(RecordStore, Protocol):
    """A store that writes many records at once: a first round settles every linked event of
    the calendar, and one write per record (a transaction each, on a SQL store) would cost more
    than downloading them."""

    def put_many(self, records: Collection[Record]) -> None: ...


@dataclass(frozen=True, slots=True)
class FeedState:
    """Where the platform's feed was read up to, and the `now` of that round (the window's edge
    then: meetings starting between that edge and this round's enter the window)."""

    cursor: str
    horizon: datetime

    def encode(self) -> str:
        return f"{self.horizon.isoformat()} {self.cursor}"

    @staticmethod
    def decode(text: str | None) -> FeedState | None:
        if not text:
            return None
        horizon, _, cursor = text.partition(" ")
        try:
            return FeedState(cursor, datetime.fromisoformat(horizon))
        except ValueError:
            return None


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    attempts: int = 5
    base_delay: float = 0.5
    max_delay: float = 30.0


class RoundIncomplete(Exception):
    """Some writes failed after their retries; the cursor was kept. `report` says what landed."""

    def __init__(self, report: RoundReport, failures: list[str]) -> None:
        super().__init__(f"{len(failures)} sync action(s) failed: {'; '.join(failures[:3])}")
        self.report, self.failures = report, failures


class SyncEngine:
    def __init__(self, connector: Connector, platform: Platform, store: RecordStore, *,
                 sleep: Callable[[float], None], retry: RetryPolicy | None = None,
                 window_days: int = WINDOW_DAYS) -> None:
        self.connector, self.platform, self.store = connector, platform, store
        self.sleep, self.retry, self.window_days = sleep, retry or RetryPolicy(), window_days

    def run_round(self, now: datetime) -> RoundReport:
        """Raises ReauthRequired (cursor kept, nothing half-applied) or RoundIncomplete."""
        report = RoundReport()
        bounds = window(now, LISTING_DAYS)
        cursor = self.store.cursor()
        feed = self._feed()
        # The feed's position before anything is read: a change made while the round runs is
        # read again next round (harmless: planning is idempotent), never skipped.
        feed_cursor = feed.feed_cursor() if feed is not None else None
        try:
            try:
                changes = self._call(report, lambda: self.connector.changes(cursor, bounds))
            except CursorInvalid:
                report.cursor_reset = True
                changes = self._call(report, lambda: self.connector.changes(None, bounds))
            report.full = changes.full
            if changes.full:
                changes = self._resolve_unlisted(changes, report)
            elif changes.unlinked:
                changes = self._resolve_unlinked(changes, report)
        except (Throttled, Transient) as exc:
            self._enforce_retention(now)
            raise RoundIncomplete(report, [f"reading changes: {exc}"]) from exc
        failures = self._apply(changes, now, report, feed)
        self._enforce_retention(now)
        if failures:
            raise RoundIncomplete(report, failures)
        self.store.set_cursor(changes.cursor)
        if feed is not None and feed_cursor is not None:
            cast(IndexedRecordStore, self.store).set_feed_state(
                FeedState(feed_cursor, now).encode())
        return report

    def _feed(self) -> PlatformFeed | None:
        """The platform's change feed, when both sides can serve an incremental round."""
        if isinstance(self.platform, PlatformFeed) and \
                isinstance(self.store, IndexedRecordStore):
            return self.platform
        return None

    def _resolve_unlisted(self, changes: Changes, report: RoundReport) -> Changes:
        """A full listing covers a window; a linked event it did not list may have moved out of
        it rather than been deleted. Ask for each one, so only a real deletion cancels."""
        listed = {e.id for e in changes.events}
        found, gone = list(changes.events), list(changes.removed)
        for record in self.store.records().values():
            event_id = record.event_id
            if event_id is None or event_id in listed:
                continue
            event = self._call(report, lambda eid=event_id: self.connector.get(eid))
            if event is None:
                gone.append(event_id)
            else:
                found.append(event)
        return Changes(found, gone, changes.cursor, full=True, window=None)

    def _resolve_unlinked(self, changes: Changes, report: RoundReport) -> Changes:
        """Changed events without a join link matter only when a record ties them to a meeting
        (the user removed the link): read those by id. (A full round asks for every linked
        event it did not get converted in `_resolve_unlisted`.)"""
        store = self.store
        if isinstance(store, IndexedRecordStore):
            tied = store.records_for_events(changes.unlinked)
        else:
            wanted = set(changes.unlinked)
            tied = {m: r for m, r in store.records().items() if r.event_id in wanted}
        found = list(changes.events)
        removed = list(changes.removed)
        for record in tied.values():
            event_id = record.event_id or ""
            event = self._call(report, lambda eid=event_id: self.connector.get(eid))
            if event is None:
                removed.append(event_id)
            else:
                found.append(event)
        return Changes(found, removed, changes.cursor, full=False)

    def _enforce_retention(self, now: datetime) -> None:
        """Whatever happened this round, no content outlives its event or leaves the window.
        With an indexed store only the records that are due are read."""
        store = self.store
        due = store.due(now) if isinstance(store, IndexedRecordStore) else store.records()
        for record in list(due.values()):
            kept = retained(record, now, self.window_days)
            if kept is not record:
                store.put(kept)

    def _scope(self, changes: Changes, now: datetime, feed: PlatformFeed | None
               ) -> tuple[Mapping[str, Meeting], Mapping[str, Record], Collection[str]]:
        """What this round plans over: (meetings, records, meeting ids the feed reports).

        Incremental (a cursor on both sides): only the meetings the platform's feed reports,
        the records of the events the provider reports, the meetings those events' join links
        name, the records that are due, and the meetings that entered the window since the
        last round — so a round costs what changed, not what is stored. Otherwise (the first
        round, a forgotten cursor on either side, a platform or store without the indexes):
        every meeting and record."""
        store = self.store
        state = FeedState.decode(store.feed_state()) \
            if feed is not None and isinstance(store, IndexedRecordStore) else None
        reported = feed.meeting_changes(state.cursor) if feed is not None and state else None
        feed_ids = reported.ids if reported is not None else []
        if changes.full or reported is None or state is None or feed is None:
            return self.platform.meetings(), store.records(), feed_ids
        indexed = cast(IndexedRecordStore, store)
        event_ids = [e.id for e in changes.events] + list(changes.removed)
        by_event = indexed.records_for_events(event_ids) if event_ids else {}
        due = indexed.due(now)
        span = timedelta(days=self.window_days)
        entering = feed.meetings_starting(state.horizon + span, now + span) \
            if now > state.horizon else {}
        ids = set(feed_ids) | set(by_event) | set(due) | set(entering)
        ids.update(m for e in changes.events if (m := meeting_id_from_link(e.join_url)))
        meetings = feed.meetings_for(ids) if ids else {}
        rest = ids - set(by_event) - set(due)
        records = {**(indexed.records_for(rest) if rest else {}), **by_event, **due}
        return meetings, records, feed_ids

    def _apply(self, changes: Changes, now: datetime, report: RoundReport,
               feed: PlatformFeed | None = None) -> list[str]:
        meetings, records, deleted = self._scope(changes, now, feed)
        the_plan = plan(meetings, records, changes, now, self.window_days, deleted=deleted,
                        verify_copies=not changes.full)
        report.linked.extend(the_plan.linked)
        failures: list[str] = []
        # Runs of PutRecord (all of a first round, nearly) go to the store in one write; a run
        # ends at any other action, so the order of writes per meeting is the plan's.
        bulk: Callable[[Collection[Record]], None] | None = \
            self.store.put_many if isinstance(self.store, BulkRecordStore) else None
        run: list[Record] = []
        for action in the_plan.actions:
            if bulk is not None and type(action) is PutRecord:
                run.append(action.record)
                continue
            if run and bulk is not None:
                bulk(run)
                run = []
            try:
                self._do(action, now, report)
            except (Throttled, Transient) as exc:
                failures.append(f"{type(action).__name__}: {exc}")
            except Conflict:
                # The event changed again under us: the next round reads it and plans anew.
                failures.append(f"{type(action).__name__}: changed concurrently")
        if run and bulk is not None:
            bulk(run)
        return failures

    def _do(self, action: object, now: datetime, report: RoundReport) -> None:
        match action:
            case CreateEvent(meeting=meeting, key=key, verify_first=verify):
                self._create(meeting, key, verify, now, report)
            case UpdateEvent(record=record, meeting=meeting, fields=fields):
                try:
                    event = self._call(report, lambda: self.connector.update(
                        record.event_id or "", fields, meeting.join_url, record.etag))
                except NotFound:
                    # Deleted on the provider meanwhile: a deletion wins over an edit.
                    self.platform.cancel_meeting(record.meeting_id)
                    self.store.drop(record.meeting_id)
                    report.cancelled_meetings.append(record.meeting_id)
                    return
                self._settle(meeting, fields, event.id, event.etag, now)
                report.updated_remote.append(record.meeting_id)
            case DeleteEvent(record=record):
                self._delete(record, report)
            case VerifyCopy(meeting=meeting, event=copy):
                own = self._call(report, lambda: self.connector.find_created(
                    create_key(meeting.id)))
                for step in adopt(meeting, own if own is not None else copy, now,
                                  self.window_days):
                    self._do(step, now, report)
            case DeleteCreated(meeting_id=meeting_id, key=key):
                found = self._call(report, lambda: self.connector.find_created(key))
                if found is not None:
                    with contextlib.suppress(NotFound):
                        self._call(report, lambda: self.connector.delete(found.id))
                    report.deleted_remote.append(meeting_id)
            case UpdateMeeting(meeting_id=meeting_id, fields=fields):
                self.platform.update_meeting(meeting_id, fields)
                report.updated_meetings.append(meeting_id)
            case CancelMeeting(meeting_id=meeting_id):
                self.platform.cancel_meeting(meeting_id)
                report.cancelled_meetings.append(meeting_id)
            case PutRecord(record=record):
                self.store.put(record)
            case DropRecord(meeting_id=meeting_id, reason=reason):
                self.store.drop(meeting_id)
                if reason == "ended":
                    report.discarded.append(meeting_id)
            case _:
                raise TypeError(f"unknown sync action {action!r}")

    def _delete(self, record: Record, report: RoundReport) -> None:
        event_id = record.event_id
        if event_id is None and record.pending_key is not None:
            found = self._call(report, lambda: self.connector.find_created(
                record.pending_key or ""))
            event_id = found.id if found is not None else None
        if event_id is not None:
            with contextlib.suppress(NotFound):
                self._call(report, lambda: self.connector.delete(event_id))
            report.deleted_remote.append(record.meeting_id)
        self.store.drop(record.meeting_id)

    def _settle(self, meeting: Meeting, fields: MeetingFields, event_id: str,
                etag: str | None, now: datetime) -> None:
        record = settle(meeting, fields, event_id, etag, now, self.window_days)
        if record is None:
            self.store.drop(meeting.id)
        else:
            self.store.put(record)

    def _create(self, meeting: Meeting, key: str, verify: bool, now: datetime,
                report: RoundReport) -> None:
        if verify:
            found = self._call(report, lambda: self.connector.find_created(key))
            if found is not None:
                if found.fields != meeting.fields:
                    event = found
                    found = self._call(report, lambda: self.connector.update(
                        event.id, meeting.fields, meeting.join_url, event.etag))
                self._settle(meeting, meeting.fields, found.id, found.etag, now)
                report.linked.append(meeting.id)
                return
        # Recorded before the call (bookkeeping only): if the response is lost, the next round
        # looks the event up by its key before creating again.
        self.store.put(Record(meeting.id, digest(meeting.fields), pending_key=key))
        event = self._call(report, lambda: self.connector.create(meeting.fields,
                                                                 meeting.join_url, key))
        if event.fields != meeting.fields:
            # An idempotent create answered with the event an earlier attempt (or an earlier
            # life of this meeting) made: bring it to the meeting's values.
            made = event
            event = self._call(report, lambda: self.connector.update(
                made.id, meeting.fields, meeting.join_url, made.etag))
        self._settle(meeting, meeting.fields, event.id, event.etag, now)
        report.created.append(meeting.id)

    def _call(self, report: RoundReport, fn: Callable[[], T]) -> T:
        delay = self.retry.base_delay
        for attempt in range(1, self.retry.attempts + 1):
            try:
                return fn()
            except Throttled as exc:
                if attempt == self.retry.attempts:
                    raise
                wait = exc.retry_after if exc.retry_after is not None else delay
            except Transient:
                if attempt == self.retry.attempts:
                    raise
                wait = delay
            wait = min(max(wait, 0.0), self.retry.max_delay)
            report.retries += 1
            report.waited += wait
            self.sleep(wait)
            delay = min(delay * 2, self.retry.max_delay)
        raise AssertionError("unreachable")
