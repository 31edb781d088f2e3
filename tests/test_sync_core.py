"""The sync core against in-memory sides: decisions one by one, then a hypothesis state machine
that interleaves edits on both sides, faults and clock jumps, and checks that once faults clear
both sides converge with nothing lost, duplicated, or kept past its time."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sync_model import ResolutionModel, check_round
from sync_mutants import PLANNER_MUTANTS

from harness.api.models import Meeting as ApiMeeting
from harness.reference.mutants.core import Mutant, applied
from harness.reference.mutants.sync import MUTANTS as SYNC_CATALOGUE
from harness.reference.policy.privacy import assistant_view
from harness.sync import (
    Changes,
    Meeting,
    MeetingFields,
    ReauthRequired,
    Record,
    RoundIncomplete,
    SyncEngine,
    merge,
    plan,
)
from harness.sync.memory import MemoryPlatform, MemoryProvider, MemoryStore
from harness.sync.model import digest
from harness.sync.planner import (
    CancelMeeting,
    CreateEvent,
    DeleteEvent,
    UpdateEvent,
    in_window,
    live,
    meeting_id_from_link,
)
from harness.sync.series import series_end

NOW = datetime(2027, 3, 1, 9, tzinfo=UTC)


def _fields(topic: str = "Review", hours: int = 24, length: int = 1,
            recurrence: str | None = None) -> MeetingFields:
    start = NOW + timedelta(hours=hours)
    return MeetingFields(topic, "agenda", start, start + timedelta(hours=length),
                         recurrence=recurrence)


def _meeting(meeting_id: str, fields: MeetingFields) -> Meeting:
    return Meeting(meeting_id, "host@contoso.test", "host-id", fields,
                   f"https://meet.calharness.test/j/{meeting_id}")


def _engine(provider: MemoryProvider, platform: MemoryPlatform, store: MemoryStore,
            slept: list[float] | None = None) -> SyncEngine:
    sink = slept if slept is not None else []
    return SyncEngine(provider, platform, store, sleep=sink.append)


def test_merge_takes_each_sides_change_and_the_platform_on_a_clash() -> None:
    base = _fields()
    platform = MeetingFields("Renamed", base.description, base.start, base.end)
    moved = base.start + timedelta(hours=2)
    provider = MeetingFields("Other name", base.description, moved, moved + timedelta(hours=1))
    merged = merge(base, platform, provider)
    assert merged.topic == "Renamed" and merged.start == moved and merged.end == provider.end


def test_events_not_tied_to_a_meeting_are_never_recorded() -> None:
    provider, platform, store = MemoryProvider(), MemoryPlatform(), MemoryStore()
    provider.user_creates(_fields("Dentist"))
    provider.user_creates(_fields("Lunch"), join_url="https://other.example/j/zzz")
    _engine(provider, platform, store).run_round(NOW)
    assert store.rows == {}


def test_platform_meeting_is_pushed_once_and_provider_changes_flow_back() -> None:
    provider, platform, store = MemoryProvider(), MemoryPlatform(), MemoryStore()
    platform.meetings_by_id["m1"] = _meeting("m1", _fields())
    engine = _engine(provider, platform, store)
    assert engine.run_round(NOW).created == ["m1"]
    [event] = provider.linked_events("m1")
    moved = _fields(hours=30)
    provider.user_edits(event.id, moved)
    report = engine.run_round(NOW)
    assert report.updated_meetings == ["m1"] and platform.meetings_by_id["m1"].fields == moved
    assert store.rows["m1"].fields == moved and len(provider.events) == 1
    provider.user_deletes(event.id)
    assert engine.run_round(NOW).cancelled_meetings == ["m1"]
    assert platform.meetings_by_id == {} and store.rows == {}


def test_a_create_whose_response_was_lost_is_not_made_twice() -> None:
    provider, platform, store = MemoryProvider(), MemoryPlatform(), MemoryStore()
    platform.meetings_by_id["m1"] = _meeting("m1", _fields())
    provider.faults = ["lost-response"] * 6  # the read takes one; five create attempts
    with pytest.raises(RoundIncomplete):
        _engine(provider, platform, store).run_round(NOW)
    assert store.rows["m1"].pending_key and store.cursor_value is None
    _engine(provider, platform, store).run_round(NOW)
    assert len(provider.linked_events("m1")) == 1 and store.rows["m1"].event_id


def test_a_landed_create_beats_a_users_copy_of_the_link() -> None:
    """The EWS soak's duplicate: a create landed but its response was lost, then the user
    pasted the join link into an event of their own; the next round sees both carrying the
    link and must link the platform's own event (the one with the create key), not the copy."""
    provider, platform, store = MemoryProvider(), MemoryPlatform(), MemoryStore()
    platform.meetings_by_id["m1"] = _meeting("m1", _fields())
    provider.faults = ["lost-response"] * 6
    with pytest.raises(RoundIncomplete):
        _engine(provider, platform, store).run_round(NOW)
    [made] = provider.linked_events("m1")
    copy = provider.user_creates(_fields("My copy"), join_url=made.join_url)
    _engine(provider, platform, store).run_round(NOW)
    assert store.rows["m1"].event_id == made.id
    assert provider.events[made.id].fields == platform.meetings_by_id["m1"].fields
    assert provider.events[copy].fields.topic == "My copy", "the user's copy is left alone"


def test_a_users_copy_moved_ahead_does_not_stand_in_for_the_meetings_own_event() -> None:
    """The EWS soak's other duplicate: the meeting ended (record discarded); the user moved
    their own copy of its join link ahead, then the platform moved the meeting ahead. The copy
    carries the link but not the create key: the meeting's own event, found by key, is the one
    linked and moved; the copy stays the user's."""
    provider, platform, store = MemoryProvider(), MemoryPlatform(), MemoryStore()
    engine = _engine(provider, platform, store)
    platform.meetings_by_id["m1"] = _meeting("m1", _fields(hours=1))
    engine.run_round(NOW)
    [own] = provider.linked_events("m1")
    copy = provider.user_creates(_fields("My copy", hours=1), join_url=own.join_url)
    later = NOW + timedelta(hours=3)
    assert engine.run_round(later).discarded == ["m1"]
    provider.user_edits(copy, _fields("My copy", hours=50))
    engine.run_round(later)
    assert platform.meetings_by_id["m1"].fields == own.fields, "a copy does not move it"
    assert store.rows == {}
    ahead = _fields("Again", hours=70)
    platform.update_meeting("m1", ahead)
    provider.user_edits(copy, _fields("My copy", hours=51))
    engine.run_round(later)
    assert store.rows["m1"].event_id == own.id and provider.events[own.id].fields == ahead
    assert provider.events[copy].fields.topic == "My copy"


class _LinkOnly(MemoryProvider):
    """Reports events without a join link by id only, as the real connectors do."""

    def changes(self, cursor: str | None, window: tuple[datetime, datetime]) -> Changes:
        got = super().changes(cursor, window)
        return Changes([e for e in got.events if e.join_url], got.removed, got.cursor,
                       got.full, got.window, [e.id for e in got.events if not e.join_url])


def test_a_linked_event_whose_link_the_user_removed_is_still_followed() -> None:
    provider, platform, store = _LinkOnly(), MemoryPlatform(), MemoryStore()
    platform.meetings_by_id["m1"] = _meeting("m1", _fields())
    engine = _engine(provider, platform, store)
    engine.run_round(NOW)
    [event] = provider.linked_events("m1")
    provider._store(event.id, _fields("Link removed", hours=30), None, event.transaction_key)
    provider.user_creates(_fields("Dentist"))  # unlinked and untied: never read again
    reads = provider.writes
    report = engine.run_round(NOW)
    assert report.updated_meetings == ["m1"] and provider.writes == reads
    assert platform.meetings_by_id["m1"].fields.topic == "Link removed"
    provider.forget_cursors()  # a full round: tied events it did not convert are read by id
    provider._store(event.id, _fields("Full round", hours=31), None, event.transaction_key)
    assert engine.run_round(NOW).full
    assert platform.meetings_by_id["m1"].fields.topic == "Full round"


def test_throttling_waits_retry_after_and_a_forgotten_cursor_resyncs_in_full() -> None:
    provider, platform, store = MemoryProvider(), MemoryPlatform(), MemoryStore()
    platform.meetings_by_id["m1"] = _meeting("m1", _fields())
    slept: list[float] = []
    engine = _engine(provider, platform, store, slept)
    engine.run_round(NOW)
    provider.faults = ["throttle", "cursor-gone"]
    report = engine.run_round(NOW)
    assert slept == [2.0] and report.cursor_reset and report.full
    assert len(provider.events) == 1


def test_revoked_grant_pauses_with_the_cursor_kept() -> None:
    provider, platform, store = MemoryProvider(), MemoryPlatform(), MemoryStore()
    engine = _engine(provider, platform, store)
    engine.run_round(NOW)
    cursor = store.cursor_value
    provider.revoked = True
    platform.meetings_by_id["m1"] = _meeting("m1", _fields())
    with pytest.raises(ReauthRequired):
        engine.run_round(NOW)
    assert store.cursor_value == cursor and provider.events == {}
    provider.revoked = False
    engine.run_round(NOW)
    assert len(provider.linked_events("m1")) == 1


def test_records_are_discarded_once_the_event_has_ended() -> None:
    provider, platform, store = MemoryProvider(), MemoryPlatform(), MemoryStore()
    platform.meetings_by_id["m1"] = _meeting("m1", _fields(hours=1))
    engine = _engine(provider, platform, store)
    engine.run_round(NOW)
    assert "m1" in store.rows
    assert engine.run_round(NOW + timedelta(hours=3)).discarded == ["m1"]
    assert store.rows == {}


def test_a_series_is_kept_until_its_last_occurrence_ends() -> None:
    weekly = _fields(recurrence="RRULE:FREQ=WEEKLY;COUNT=3")
    end = series_end(weekly)
    assert end == weekly.end + timedelta(weeks=2)
    assert in_window(weekly, end - timedelta(minutes=1))
    assert not in_window(weekly, end)
    assert series_end(_fields(recurrence="RRULE:FREQ=DAILY")) is None


def test_the_plan_is_pure_and_deletions_win() -> None:
    meeting = _meeting("m1", _fields())
    record = Record("m1", digest(meeting.fields), meeting.fields, meeting.organizer,
                    meeting.organizer_id, event_id="ev1", etag="e1")
    edited = Changes([], ["ev1"], "c", full=False)
    renamed = _meeting("m1", MeetingFields("New", "agenda", meeting.fields.start,
                                           meeting.fields.end))
    actions = plan({"m1": renamed}, {"m1": record}, edited, NOW).actions
    assert isinstance(actions[0], CancelMeeting)
    actions = plan({}, {"m1": record}, Changes([], [], "c", full=False), NOW).actions
    assert [type(a) for a in actions] == [DeleteEvent]
    actions = plan({"m1": renamed}, {"m1": record}, Changes([], [], "c", False), NOW).actions
    assert [type(a) for a in actions] == [UpdateEvent]
    assert plan({"m1": meeting}, {}, Changes([], [], None, True), NOW).actions == [
        CreateEvent(meeting, "calharness-m1", verify_first=False)]


def test_a_meeting_moved_ahead_and_deleted_between_rounds_takes_its_event_along() -> None:
    """The in-memory soak's shrunk counter-example: the meeting ended (its record discarded),
    was moved ahead and deleted before the next round; the platform's change feed reports the
    deletion and the event its create made is deleted by key."""
    provider, platform, store = MemoryProvider(), MemoryPlatform(), MemoryStore()
    engine = _engine(provider, platform, store)
    platform.meetings_by_id["m1"] = _meeting("m1", _fields(hours=0))
    engine.run_round(NOW)
    later = NOW + timedelta(hours=1)
    assert engine.run_round(later).discarded == ["m1"] and store.rows == {}
    platform.update_meeting("m1", MeetingFields("Review", "agenda", later,
                                                later + timedelta(hours=1)))
    del platform.meetings_by_id["m1"]
    assert engine.run_round(later).deleted_remote == ["m1"]
    assert provider.events == {}


class _Counting(MemoryStore):
    """A store that counts the full reads an incremental round must not make."""

    full_reads = 0

    def records(self) -> dict[str, Record]:
        self.full_reads += 1
        return dict(super().records())


def test_an_incremental_round_reads_only_what_changed() -> None:
    provider, platform, store = MemoryProvider(), MemoryPlatform(), _Counting()
    for i in range(50):
        platform.meetings_by_id[f"m{i}"] = _meeting(f"m{i}", _fields(hours=2 + i * 24))
    engine = _engine(provider, platform, store)
    assert len(engine.run_round(NOW).created) == 50
    full_reads = store.full_reads  # the first round is full: it reads everything
    [event] = provider.linked_events("m3")
    provider.user_edits(event.id, _fields("Moved", hours=80))
    platform.update_meeting("m7", _fields("Renamed", hours=7 * 24 + 2))
    report = engine.run_round(NOW + timedelta(hours=3))
    assert report.updated_meetings == ["m3"] and report.updated_remote == ["m7"]
    assert report.discarded == ["m0"]  # found through the due index, not a walk of the store
    assert store.full_reads == full_reads
    # Days later: meetings that entered the window gain their content from the platform's
    # start index, again without a walk of every record.
    assert store.rows["m40"].fields is None
    engine.run_round(NOW + timedelta(days=12))
    assert store.rows["m40"].fields == platform.meetings_by_id["m40"].fields
    assert store.full_reads == full_reads


def test_content_stripped_in_a_failed_round_is_still_settled_next_round() -> None:
    provider, platform, store = MemoryProvider(), MemoryPlatform(), MemoryStore()
    platform.meetings_by_id["m1"] = _meeting("m1", _fields(hours=1))
    engine = _engine(provider, platform, store)
    engine.run_round(NOW)
    provider.faults = ["error"] * 5  # the read fails after its retries
    with pytest.raises(RoundIncomplete):
        engine.run_round(NOW + timedelta(hours=3))
    assert store.rows["m1"].fields is None, "content goes with the event even in a failed round"
    assert engine.run_round(NOW + timedelta(hours=3)).discarded == ["m1"]
    assert store.rows == {}


# -- the state machine ---------------------------------------------------------------------------
topics = st.sampled_from(["Review", "Standup", "Planning", "1:1", "Retro"])
offsets = st.integers(min_value=-6, max_value=24 * 40)  # hours from now
faults = st.sampled_from(["throttle", "error", "lost-response", "cursor-gone"])
parts = st.sampled_from(["all", "title", "time", "privacy"])  # what an edit changes


STATS = {"steps": 0, "faults": 0, "resolved": 0}  # what the soak run reports


class SyncMachine(RuleBasedStateMachine):
    """The sync core against in-memory sides; subclasses swap the platform and the store
    (`_sides`: the SQL store on SQLite and PostgreSQL, `tests/test_sync_store.py`)."""

    def __init__(self) -> None:
        super().__init__()
        self.now = NOW
        self.provider = MemoryProvider()
        self.prefix = "m"  # meeting ids: a shared SQL store needs them unique across examples
        self.platform, self.store = self._sides()
        self.engine = SyncEngine(self.provider, self.platform, self.store, sleep=lambda _: None)
        self.next_id = 0
        self.deleted: set[str] = set()
        self.applied_at: datetime | None = None  # the clock of the last round that planned
        self.model = ResolutionModel()

    def _sides(self) -> tuple[Any, Any]:
        return MemoryPlatform(), MemoryStore()

    # What the machine reads of the platform and the store, whichever they are.
    def _meetings(self) -> Mapping[str, Meeting]:
        return self.platform.meetings()

    def _records(self) -> Mapping[str, Record]:
        return self.store.records()

    def _add_meeting(self, meeting: Meeting) -> None:
        self.platform.meetings_by_id[meeting.id] = meeting

    def _delete_meeting(self, meeting_id: str) -> None:
        del self.platform.meetings_by_id[meeting_id]

    def _fields(self, topic: str, hours: int, length: int) -> MeetingFields:
        start = self.now + timedelta(hours=hours)
        return MeetingFields(topic, f"about {topic}", start, start + timedelta(hours=length))

    def _edited(self, old: MeetingFields, part: str, topic: str, hours: int) -> MeetingFields:
        """An edit of the whole meeting, of its title only, of its time only, or of its
        privacy: one-field edits on both sides are what the per-field merge is for."""
        new = replace(self._fields(topic, hours, 1), private=old.private)
        if part == "title":
            return replace(old, topic=new.topic, description=new.description)
        if part == "time":
            return replace(old, start=new.start, end=new.end)
        if part == "privacy":
            return replace(old, private=not old.private)
        return new

    @rule(topic=topics, hours=offsets, length=st.integers(0, 3), private=st.booleans())
    def schedule(self, topic: str, hours: int, length: int, private: bool) -> None:
        self.next_id += 1
        meeting_id = f"{self.prefix}{self.next_id}"
        fields = replace(self._fields(topic, hours, length), private=private)
        self._add_meeting(_meeting(meeting_id, fields))

    @precondition(lambda self: self._meetings())
    @rule(data=st.data(), topic=topics, hours=offsets, part=parts)
    def update_on_platform(self, data: st.DataObject, topic: str, hours: int,
                           part: str) -> None:
        meetings = self._meetings()
        meeting_id = data.draw(st.sampled_from(sorted(meetings)))
        fields = self._edited(meetings[meeting_id].fields, part, topic, hours)
        self.platform.update_meeting(meeting_id, fields)
        self.model.platform_edit(meeting_id, fields)

    @precondition(lambda self: self._meetings())
    @rule(data=st.data())
    def delete_on_platform(self, data: st.DataObject) -> None:
        meeting_id = data.draw(st.sampled_from(sorted(self._meetings())))
        self._delete_meeting(meeting_id)
        self.deleted.add(meeting_id)  # its event must go, ended or not
        self.model.platform_delete(meeting_id)

    def _pick_event(self, data: st.DataObject) -> str:
        """Mostly an event of a meeting (the ones sync must resolve), else any event."""
        events = self.provider.events
        linked = sorted(i for i, e in events.items() if e.join_url)
        pool = linked if linked and data.draw(st.integers(0, 3)) else sorted(events)
        return data.draw(st.sampled_from(pool))

    @precondition(lambda self: self.provider.events)
    @rule(data=st.data(), topic=topics, hours=offsets, part=parts)
    def edit_on_provider(self, data: st.DataObject, topic: str, hours: int, part: str) -> None:
        event_id = self._pick_event(data)
        event = self.provider.events[event_id]
        fields = self._edited(event.fields, part, topic, hours)
        self.provider.user_edits(event_id, fields)
        meeting_id = meeting_id_from_link(event.join_url)
        if meeting_id is not None:
            self.model.provider_edit(meeting_id, fields)

    @precondition(lambda self: self.provider.events)
    @rule(data=st.data())
    def delete_on_provider(self, data: st.DataObject) -> None:
        event_id = self._pick_event(data)
        meeting_id = meeting_id_from_link(self.provider.events[event_id].join_url)
        self.provider.user_deletes(event_id)
        if meeting_id is not None:
            self.model.provider_delete(meeting_id)

    @rule(topic=topics, hours=offsets)
    def unlinked_event_on_provider(self, topic: str, hours: int) -> None:
        self.provider.user_creates(self._fields(topic, hours, 1))

    @rule(fault=faults)
    def inject_fault(self, fault: str) -> None:
        self.provider.faults.append(fault)
        STATS["faults"] += 1

    @rule()
    def revoke_then_reauthorize(self) -> None:
        self.provider.revoked = True
        with pytest.raises(ReauthRequired):
            self.engine.run_round(self.now)
        self.provider.revoked = False

    @rule(hours=st.integers(1, 24 * 10))
    def advance_clock(self, hours: int) -> None:
        self.now += timedelta(hours=hours)

    @rule()
    def sync(self) -> None:
        self.applied_at = self.now
        try:
            self.engine.run_round(self.now)
        except RoundIncomplete:
            # Faults may outlast the retries: the next round finishes the work. Some of this
            # round's writes may have landed, so nothing is predicted until one completes.
            self.model.forget()
            return
        self._check_resolution()

    def _check_resolution(self) -> None:
        """A round completed: each side's changes since the last one resolved as documented,
        and the meetings both sides now agree on are the base of the next prediction."""
        meetings = {m: meeting.fields for m, meeting in self._meetings().items()}
        events = {m: [e.fields for e in self.provider.linked_events(m)]
                  for m in set(meetings) | set(self.model.agreed)}
        before = self.model.checked
        check_round(self.model, self.now, meetings, events)
        STATS["resolved"] += self.model.checked - before
        self.model.converged(self.now, {
            m: f for m, f in meetings.items() if live(f, self.now) and events[m] == [f]})
        self._delegate_sees_nothing_private(self.model.agreed)

    def _delegate_sees_nothing_private(self, meeting_ids: Collection[str]) -> None:
        """A delegate without private access reads the owner's calendar (the reference's
        calendar-as-delegate view: the provider's events through `assistant_view`): of a
        private meeting's event it sees the time slot only — which holds only if privacy
        reached the event."""
        meetings = self._meetings()
        for meeting_id in meeting_ids:
            meeting = meetings.get(meeting_id)
            if meeting is None or not meeting.private:
                continue
            events = self.provider.linked_events(meeting_id)
            shown = assistant_view([ApiMeeting(
                id=e.id, subject=e.fields.topic, start=e.fields.start, end=e.fields.end,
                join_url=e.join_url, attendees=[meeting.organizer], private=e.fields.private)
                for e in events], manage_private_events=False)
            for view in shown:
                assert view.subject is None and view.join_url is None and not view.attendees, (
                    meeting_id, "a delegate sees a private meeting's", view)

    @invariant()
    def store_holds_only_meeting_linked_live_records(self) -> None:
        STATS["steps"] += 1  # invariants run after every step
        for meeting_id, record in self._records().items():
            assert meeting_id == record.meeting_id and meeting_id.startswith("m")
            if record.fields is not None:
                # content only within the window of the round that wrote it; none once ended
                assert self.applied_at is not None
                assert in_window(record.fields, self.applied_at)

    def teardown(self) -> None:
        # Faults clear; sync runs until it has nothing left to do (a bounded number of rounds).
        self.provider.faults.clear()
        for _ in range(3):
            self.engine.run_round(self.now)
            self._check_resolution()
        meetings = self._meetings()
        self._delegate_sees_nothing_private(
            [m for m, meeting in meetings.items() if live(meeting.fields, self.now)])
        records = self._records()
        for meeting_id, meeting in meetings.items():
            linked = self.provider.linked_events(meeting_id)
            if not live(meeting.fields, self.now):
                assert meeting_id not in records
                continue
            assert len(linked) == 1, (meeting_id, linked)  # nothing lost, nothing duplicated
            assert linked[0].fields == meeting.fields
            record = records[meeting_id]
            assert record.event_id == linked[0].id and record.digest == digest(meeting.fields)
            expected = meeting.fields if in_window(meeting.fields, self.now) else None
            assert record.fields == expected
        for event in self.provider.events.values():
            meeting_id = event.join_url and event.join_url.rsplit("/", 1)[-1]
            # No event left behind for a meeting the platform deleted, whenever it was deleted
            # (a round between the deletion and the last change must not matter).
            assert meeting_id not in self.deleted, event
        assert set(records) <= set(meetings)


SyncMachine.TestCase.settings = settings(max_examples=50, stateful_step_count=40,
                                         deadline=None)
test_sync_state_machine = SyncMachine.TestCase


# Mutants of the resolution rules that keep both sides agreeing, nothing lost or duplicated:
# only the model of each side's changes tells them apart. A generous budget without shrinking
# (the first failure is enough); each is found in a few examples.
KILL = settings(max_examples=500, stateful_step_count=40, deadline=None, database=None,
                phases=[Phase.generate])
RESOLUTION_MUTANTS = [*PLANNER_MUTANTS,
                      *(m for m in SYNC_CATALOGUE if m.name == "sync-one-way-only")]


@pytest.mark.parametrize("broken", RESOLUTION_MUTANTS, ids=lambda m: m.name)
def test_the_machine_kills_resolution_mutants(broken: Mutant) -> None:
    with applied(broken), pytest.raises(AssertionError, match="deletion must win|'platform'"):
        run_state_machine_as_test(SyncMachine, settings=KILL)


@pytest.mark.slow
def test_sync_state_machine_soak() -> None:
    """At least 10,000 steps; prints how many ran and how many faults the core survived."""
    STATS.update(steps=0, faults=0, resolved=0)
    while STATS["steps"] < 10_000:  # batches: hypothesis may end an example early
        soak = settings(max_examples=150, stateful_step_count=50, deadline=None)
        run_state_machine_as_test(SyncMachine, settings=soak)
    print(f"sync state machine: {STATS['steps']} steps, {STATS['faults']} faults survived, "
          f"{STATS['resolved']} resolutions held to the model")
    assert STATS["steps"] >= 10_000
