"""The sync core's Platform and RecordStore on the SQL store (SQLite and a real PostgreSQL),
driven by the engine against the in-memory provider: records hold only the documented fields
plus bookkeeping, provider edits flow back into platform meetings, and records past their
event are deleted rows, not flags."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis.stateful import run_state_machine_as_test
from sqlalchemy import func, inspect, select
from test_sync_core import STATS, SyncMachine

from harness.reference.store import (
    IntegrationRow,
    PlatformMeetingRow,
    Store,
    SyncRecordRow,
)
from harness.reference.sync_store import SqlPlatform, SqlRecordStore
from harness.sync import Meeting, SyncEngine
from harness.sync.memory import MemoryPlatform, MemoryProvider, MemoryStore

NOW = datetime(2027, 3, 1, 9, tzinfo=UTC)
USER = "host@contoso.test"
DOCUMENTED = {"description", "organizer", "topic", "start", "end", "time_zone", "recurrence",
              "organizer_id"}
BOOKKEEPING = {"user", "meeting_id", "digest", "event_id", "etag", "pending_key", "due_at"}


def _store(url: str) -> Store:
    store = Store(url)
    with store.session() as s:
        s.add(IntegrationRow(user=USER, service="office365", authorize_with="graph",
                             calendar="write", contacts="none", state="connected",
                             granted_scopes=[], setup_by="user_oauth", calendar_state="ok",
                             contacts_state="off", updated_at=NOW, desktop_mapi=False))
    return store


def _meeting(store: Store, meeting_id: str, topic: str, start: datetime) -> None:
    with store.session() as s:
        s.add(PlatformMeetingRow(
            id=meeting_id, owner=USER, organizer=USER, organizer_id="org-1", scheduled_by=USER,
            topic=topic, description="agenda", start=start, end=start + timedelta(hours=1),
            time_zone="UTC", recurrence=None,
            join_url=f"https://meet.calharness.test/j/{meeting_id}", private=False))


def _engine(store: Store, provider: MemoryProvider) -> SyncEngine:
    return SyncEngine(provider, SqlPlatform(store, USER), SqlRecordStore(store, USER),
                      sleep=lambda _s: None)


def _row_count(store: Store) -> int:
    with store.session() as s:
        return s.scalar(select(func.count()).select_from(SyncRecordRow)) or 0


def test_records_hold_only_the_documented_fields_and_bookkeeping(db_url: str) -> None:
    columns = {c["name"] for c in inspect(Store(db_url).engine).get_columns("sync_records")}
    assert columns == DOCUMENTED | BOOKKEEPING


def test_a_round_links_pushes_takes_edits_back_and_deletes_after_the_event(db_url: str) -> None:
    store, provider = _store(db_url), MemoryProvider()
    provider.user_creates(replace(_fields("Not ours"), topic="Dentist"))  # never stored
    _meeting(store, "111", "Design review", NOW + timedelta(days=1))
    _meeting(store, "222", "Far away", NOW + timedelta(days=60))
    engine = _engine(store, provider)

    report = engine.run_round(NOW)
    assert sorted(report.created) == ["111", "222"]
    records = SqlRecordStore(store, USER).records()
    assert records["111"].fields is not None and records["111"].fields.topic == "Design review"
    assert records["111"].organizer_id == "org-1" and records["111"].event_id
    assert records["222"].fields is None, "beyond 30 days: bookkeeping only"
    with store.session() as s:
        text = str([r.__dict__ for r in s.scalars(select(SyncRecordRow))])
    assert "Dentist" not in text and "Not ours" not in text

    # A provider-side edit of a linked event flows back into the platform meeting.
    event_id = records["111"].event_id or ""
    edited = replace(provider.events[event_id].fields, topic="Design review (moved)")
    assert provider.user_edits(event_id, edited)
    report = engine.run_round(NOW + timedelta(minutes=5))
    assert report.updated_meetings == ["111"]
    assert SqlPlatform(store, USER).meetings()["111"].fields.topic == "Design review (moved)"

    # The cursor is kept per integration, in the store.
    assert SqlRecordStore(store, USER).cursor() is not None

    # After the event the record is deleted (a row gone, not a flag).
    assert _row_count(store) == 2
    report = engine.run_round(NOW + timedelta(days=2))
    assert "111" in report.discarded
    with store.session() as s:
        assert s.get(SyncRecordRow, (USER, "111")) is None
    assert _row_count(store) == 1
    store.engine.dispose()


def test_a_platform_deletion_deletes_the_event_and_the_record(db_url: str) -> None:
    store, provider = _store(db_url), MemoryProvider()
    _meeting(store, "333", "Cancelled later", NOW + timedelta(days=3))
    engine = _engine(store, provider)
    engine.run_round(NOW)
    assert len(provider.events) == 1
    SqlPlatform(store, USER).cancel_meeting("333")
    report = engine.run_round(NOW + timedelta(minutes=1))
    assert report.deleted_remote == ["333"] and provider.events == {}
    assert _row_count(store) == 0
    store.engine.dispose()


def _fields(topic: str):
    from harness.sync import MeetingFields

    start = NOW + timedelta(days=1, hours=3)
    return MeetingFields(topic, "", start, start + timedelta(hours=1))


class _CountingRecords(SqlRecordStore):
    full_reads = 0

    def records(self):  # type: ignore[no-untyped-def]
        self.full_reads += 1
        return super().records()


class _CountingPlatform(SqlPlatform):
    full_reads = 0

    def meetings(self):  # type: ignore[no-untyped-def]
        self.full_reads += 1
        return super().meetings()


def test_an_incremental_round_reads_the_feed_and_indexes_only(db_url: str) -> None:
    """After the first (full) round, a round reads the platform's change feed, the records of
    the events the provider reported, the records that are due and the meetings entering the
    window — never every meeting or record — and a meeting deleted after its record was
    discarded still takes its event along (the feed reports the deletion)."""
    store, provider = _store(db_url), MemoryProvider()
    for i in range(12):
        _meeting(store, f"{i}00", f"Meeting {i}", NOW + timedelta(hours=2 + 24 * 5 * i))
    records, platform = _CountingRecords(store, USER), _CountingPlatform(store, USER)
    engine = SyncEngine(provider, platform, records, sleep=lambda _s: None)
    assert len(engine.run_round(NOW).created) == 12
    full = (records.full_reads, platform.full_reads)

    event_id = records.records_for(["100"])["100"].event_id or ""
    assert provider.user_edits(event_id, replace(provider.events[event_id].fields,
                                                 topic="Moved by the user"))
    platform.update_meeting("200", replace(platform.meetings_for(["200"])["200"].fields,
                                           topic="Renamed on the platform"))
    report = engine.run_round(NOW + timedelta(hours=3))
    assert report.updated_meetings == ["100"] and report.updated_remote == ["200"]
    assert report.discarded == ["000"]  # the due index: its event ended
    assert records.records_for(["700"])["700"].fields is None  # day 35: beyond the window
    engine.run_round(NOW + timedelta(days=6))
    assert records.records_for(["700"])["700"].fields is not None  # entered the window
    assert (records.full_reads, platform.full_reads) == full

    # Ended (record discarded), moved ahead and deleted between two rounds: the feed says so.
    ended = NOW + timedelta(days=12)
    assert "200" in engine.run_round(ended).discarded
    start = ended + timedelta(days=1)
    platform.update_meeting("200", replace(platform.meetings_for(["200"])["200"].fields,
                                           start=start, end=start + timedelta(hours=1)))
    platform.cancel_meeting("200")
    assert engine.run_round(ended).deleted_remote == ["200"]
    assert not [e for e in provider.events.values() if (e.join_url or "").endswith("/j/200")]
    assert (records.full_reads, platform.full_reads) == full
    store.engine.dispose()


class _CountingWrites(SqlRecordStore):
    puts = 0
    batches: list[int] = []

    def put(self, record):  # type: ignore[no-untyped-def]
        self.puts += 1
        super().put(record)

    def put_many(self, records):  # type: ignore[no-untyped-def]
        self.batches = [*self.batches, len(records)]
        super().put_many(records)


def test_a_first_round_writes_the_linked_events_records_in_one_batch(db_url: str) -> None:
    """A first round over a calendar whose events already carry the meetings' join links
    settles every one of them: one write of all the records (a transaction per record cost
    more than the download), the same rows a record-by-record write gives, and a later batch
    updates rows in place."""
    store, provider = _store(db_url), MemoryProvider()
    for i in range(7):
        start = NOW + timedelta(days=10 * i, hours=2)  # 0-60 days: some beyond the window
        _meeting(store, f"m{i}", f"Meeting {i}", start)
    for meeting in SqlPlatform(store, USER).meetings().values():
        provider.user_creates(meeting.fields, meeting.join_url)
    records = _CountingWrites(store, USER)
    report = SyncEngine(provider, SqlPlatform(store, USER), records,
                        sleep=lambda _s: None).run_round(NOW)
    assert sorted(report.linked) == [f"m{i}" for i in range(7)] and not report.created
    assert records.batches == [7] and records.puts == 0
    written = records.records()
    assert {m: r.fields is not None for m, r in written.items()} == {
        f"m{i}": i < 3 for i in range(7)}  # content only within the 30-day window
    memory = MemoryStore()  # the same round, record by record, in memory: the same records
    SyncEngine(provider, MemoryPlatform(dict(SqlPlatform(store, USER).meetings())), memory,
               sleep=lambda _s: None).run_round(NOW)
    assert dict(written) == memory.rows
    for record in written.values():  # a batch over existing rows updates them in place
        records.put_many([replace(record, etag="W/\"again\"")])
    assert _row_count(store) == 7
    assert {r.etag for r in records.records().values()} == {'W/"again"'}
    store.engine.dispose()


# -- the state machine on the SQL store ----------------------------------------------------------
class _SqlMachine(SyncMachine):
    """The sync core's state machine (tests/test_sync_core.py: edits on both sides, faults,
    clock jumps, and the model of the documented resolution) with the platform and the
    records in the SQL store. One database per test: each example is another user, with
    meeting ids of its own (`platform_meetings.id` is the table's key)."""

    store_url = ""
    examples = 0

    def _sides(self) -> tuple[Any, Any]:
        cls = type(self)
        cls.examples += 1
        self.user = f"host{cls.examples}@contoso.test"
        self.prefix = f"m{cls.examples}x"
        self.sql = _shared_store(cls.store_url)
        with self.sql.session() as s:
            s.add(IntegrationRow(user=self.user, service="office365", authorize_with="graph",
                                 calendar="write", contacts="none", state="connected",
                                 granted_scopes=[], setup_by="user_oauth",
                                 calendar_state="ok", contacts_state="off", updated_at=NOW,
                                 desktop_mapi=False))
        return SqlPlatform(self.sql, self.user), SqlRecordStore(self.sql, self.user)

    def _add_meeting(self, meeting: Meeting) -> None:
        f = meeting.fields
        with self.sql.session() as s:
            s.add(PlatformMeetingRow(
                id=meeting.id, owner=self.user, organizer=meeting.organizer,
                organizer_id=meeting.organizer_id, scheduled_by=self.user, topic=f.topic,
                description=f.description, start=f.start, end=f.end, time_zone=f.time_zone,
                recurrence=f.recurrence, join_url=meeting.join_url, private=meeting.private))

    def _delete_meeting(self, meeting_id: str) -> None:
        with self.sql.session() as s:
            row = s.get(PlatformMeetingRow, meeting_id)
            assert row is not None
            s.delete(row)  # through the ORM, as the reference deletes: the feed logs it


_STORES: dict[str, Store] = {}


def _shared_store(url: str) -> Store:
    """One engine per database (migrations run once), shared by the examples of a test."""
    if url not in _STORES:
        _STORES[url] = Store(url)
    return _STORES[url]


def _sql_machine(url: str) -> type[_SqlMachine]:
    return type("SqlSyncMachine", (_SqlMachine,), {"store_url": url, "examples": 0})


SQL_FAST = settings(max_examples=8, stateful_step_count=25, deadline=None,
                    suppress_health_check=list(HealthCheck))


def test_sync_state_machine_on_the_sql_store(db_url: str) -> None:
    try:
        run_state_machine_as_test(_sql_machine(db_url), settings=SQL_FAST)
    finally:
        store = _STORES.pop(db_url, None)
        if store is not None:
            store.engine.dispose()


@pytest.mark.slow
def test_sync_state_machine_on_the_sql_store_soak(db_url: str) -> None:
    """At least 10,000 steps on each backend; prints the steps and faults survived."""
    STATS.update(steps=0, faults=0, resolved=0)
    machine = _sql_machine(db_url)
    try:
        while STATS["steps"] < 10_000:  # batches: hypothesis may end an example early
            soak = settings(max_examples=60, stateful_step_count=50, deadline=None,
                            suppress_health_check=list(HealthCheck))
            run_state_machine_as_test(machine, settings=soak)
    finally:
        store = _STORES.pop(db_url, None)
        if store is not None:
            store.engine.dispose()
    print(f"sync state machine on {db_url.partition(':')[0]}: {STATS['steps']} steps, "
          f"{STATS['faults']} faults survived, {STATS['resolved']} resolutions held to the "
          f"model, {machine.examples} examples")
    assert STATS["steps"] >= 10_000


def test_a_records_privacy_comes_back_without_a_column_of_its_own(db_url: str) -> None:
    """Privacy is merged per field like the rest, so a record needs the agreed flag; the
    store keeps only the documented fields, and the digest of the agreed values tells it."""
    from harness.sync.model import Record, digest

    store = _store(db_url)
    records = SqlRecordStore(store, USER)
    for meeting_id, private in (("p1", True), ("p2", False)):
        fields = replace(_fields("Secret"), private=private)
        record = Record(meeting_id, digest(fields), fields, USER, "org-1", event_id=meeting_id,
                        due=fields.end)
        records.put(record)
        assert records.records_for([meeting_id])[meeting_id] == record
    store.engine.dispose()
