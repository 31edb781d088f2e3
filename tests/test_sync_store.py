"""The sync core's Platform and RecordStore on the SQL store (SQLite and a real PostgreSQL),
driven by the engine against the in-memory provider: records hold only the documented fields
plus bookkeeping, provider edits flow back into platform meetings, and records past their
event are deleted rows, not flags."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, inspect, select

from harness.reference.store import (
    IntegrationRow,
    PlatformMeetingRow,
    Store,
    SyncRecordRow,
)
from harness.reference.sync_store import SqlPlatform, SqlRecordStore
from harness.sync import SyncEngine
from harness.sync.memory import MemoryProvider

NOW = datetime(2027, 3, 1, 9, tzinfo=UTC)
USER = "host@contoso.test"
DOCUMENTED = {"description", "organizer", "topic", "start", "end", "time_zone", "recurrence",
              "organizer_id"}
BOOKKEEPING = {"user", "meeting_id", "digest", "event_id", "etag", "pending_key"}


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
