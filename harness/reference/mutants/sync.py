"""Bi-directional calendar sync, the Web Calendaring Service (SYNC-01..07): whether it runs,
what flows each way, and what the sanitized store keeps and for how long (the retention
boundaries: the 30-day window and the event's end)."""

from dataclasses import replace
from datetime import timedelta

from harness.reference.mutants.core import mutant

CALENDARING = "harness.reference.service.calendaring"
ENGINE = "harness.sync.engine"
PLANNER = "harness.sync.planner"
MODEL = "harness.sync.model"
SQL = "harness.reference.sync_store"


def _runs_whatever_the_setting(original):
    """The scheduled run of the sync service does not look at the setting (only the paths
    inside a request do): with sync off it still reads and writes the calendar."""

    def run_result(self, user):
        enabled = self.enabled
        self.enabled = lambda _user: True
        try:
            return original(self, user)
        finally:
            self.enabled = enabled

    return run_result


def _one_way(original):
    """Changes made on the provider to linked events never reach the platform meeting: the
    round writes to the calendar only."""
    from harness.sync.planner import CancelMeeting, UpdateMeeting

    def _do(self, action, now, report):
        if isinstance(action, (UpdateMeeting, CancelMeeting)):
            return None
        return original(self, action, now, report)

    return _do


def _digest_without_times(original):
    """The change key leaves the times out: a meeting moved in the platform looks unchanged,
    so the move is never written to the calendar."""
    from datetime import UTC, datetime

    epoch = datetime(1970, 1, 1, tzinfo=UTC)

    def digest(fields):
        return original(replace(fields, start=epoch, end=epoch))

    return digest


def _delete_forgets_event(original):
    """A meeting deleted in the platform drops its record without deleting the event."""

    def _delete(self, record, report):
        self.store.drop(record.meeting_id)

    return _delete


def _window_one_day_longer(original):
    """The 30 days are counted as 30 whole days after today: content is kept for a meeting up
    to 31 days ahead."""

    def in_window(f, now, days=30):
        return original(f, now, days + 1)

    return in_window


def _window_ignored(original):
    """Every meeting that has not ended keeps its content, however far ahead."""
    from harness.sync.planner import live

    def in_window(f, now, days=30):
        return live(f, now)

    return in_window


def _organizer_not_stored(original):
    """Sanitization drops the organizer and organizerId, two of the documented fields."""

    def record_values(record):
        values = original(record)
        values["organizer"] = values["organizer_id"] = None
        return values

    return record_values


def _kept_a_day_after(original):
    """An event counts as over a day after it ends: its record (content included) outlives
    the event by up to a day."""

    def live(f, now):
        return original(f, now - timedelta(days=1))

    return live


def _emptied_not_deleted(original):
    """An ended event's record is emptied and kept (flagged) instead of discarded."""
    from harness.sync.planner import DropRecord

    def _do(self, action, now, report):
        if isinstance(action, DropRecord) and action.reason == "ended":
            records = self.store.records()
            record = records.get(action.meeting_id)
            if record is not None:
                self.store.put(replace(record, fields=None, organizer=None,
                                       organizer_id=None, due=None))
                report.discarded.append(action.meeting_id)
                return None
        return original(self, action, now, report)

    return _do


def _every_listed_event_remembered(original):
    """Each round also remembers every event of the calendar it read (a bookkeeping record
    keyed by the event), Zoom meeting or not, to tell later deletions apart."""
    from harness.sync.model import Record

    def run_round(self, now):
        report = original(self, now)
        changes = self.connector.changes(None, (now, now + timedelta(days=30)))
        ids = [e.id for e in changes.events] + list(changes.unlinked)
        for event_id in ids:
            event = self.connector.get(event_id)
            if event is not None and event.join_url is None:
                # No event id on the record, so the next round drops it as a deleted meeting's
                # (and this wrapper stores it again) instead of deleting the event.
                self.store.put(Record(f"event-{event_id}"[:64], "unlinked",
                                      fields=event.fields))
        return report

    return run_round


MUTANTS = [
    mutant(
        "sync-runs-while-off",
        "SYNC-01",
        "the sync service's scheduled run ignores the bi-directional sync setting: with sync "
        "off (the default) it still runs against the user's calendar",
        (f"{CALENDARING}:WebCalendaring.run_result", _runs_whatever_the_setting),
    ),
    mutant(
        "sync-one-way-only",
        "SYNC-02",
        "changes made on the provider to a linked event (renamed, cancelled) never come back "
        "to the platform meeting",
        (f"{ENGINE}:SyncEngine._do", _one_way),
    ),
    mutant(
        "sync-move-not-pushed",
        "SYNC-03",
        "the change key leaves the times out, so a meeting moved in the platform is not "
        "updated on the calendar",
        (f"{MODEL}:digest", _digest_without_times),
    ),
    mutant(
        "sync-delete-not-pushed",
        "SYNC-03",
        "a meeting deleted in the platform forgets its record but leaves the event on the "
        "calendar",
        (f"{ENGINE}:SyncEngine._delete", _delete_forgets_event),
    ),
    mutant(
        "sync-window-one-day-long",
        "SYNC-04",
        "the stored window is 31 days, not 30: a meeting an hour beyond 30 days keeps its "
        "content",
        (f"{PLANNER}:in_window", _window_one_day_longer),
    ),
    mutant(
        "sync-window-ignored",
        "SYNC-04",
        "the sanitized content of every meeting that has not ended is stored, however far "
        "ahead",
        (f"{PLANNER}:in_window", _window_ignored),
    ),
    mutant(
        "sync-unlinked-events-remembered",
        "SYNC-05",
        "each round also stores a record of every calendar event it read, whether or not it "
        "belongs to a platform meeting",
        (f"{ENGINE}:SyncEngine.run_round", _every_listed_event_remembered),
    ),
    mutant(
        "sync-record-drops-organizer",
        "SYNC-06",
        "sanitization drops the organizer and organizerId, which the documents keep",
        (f"{SQL}:record_values", _organizer_not_stored),
    ),
    mutant(
        "sync-record-kept-a-day-after-event",
        "SYNC-07",
        "an event counts as over only a day after its end: its record outlives it",
        (f"{PLANNER}:live", _kept_a_day_after),
    ),
    mutant(
        "sync-record-emptied-not-deleted",
        "SYNC-07",
        "after the event the record is emptied and kept (flagged), not permanently discarded",
        (f"{ENGINE}:SyncEngine._do", _emptied_not_deleted),
    ),
]
