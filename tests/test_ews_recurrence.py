"""Recurring series on EWS, read and written with exchangelib through the world's model:
t:Recurrence in and out, occurrences by index and by id, exceptions and cancelled occurrences
(the same SeriesExceptions Graph and Google render), CalendarView expansion."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from exchangelib import CalendarItem, EWSDate, EWSDateTime, EWSTimeZone
from exchangelib.errors import (
    ErrorCalendarOccurrenceIndexIsOutOfRecurrenceRange,
    ErrorCalendarOccurrenceIsDeletedFromRecurrence,
)
from exchangelib.recurrence import (
    AbsoluteYearlyPattern,
    DailyPattern,
    Recurrence,
    RelativeMonthlyPattern,
    WeeklyPattern,
)

from mock_providers.hub import Hub
from tests.test_ews_exchangelib import hub, onprem_basic, world_id  # noqa: F401

BERLIN = EWSTimeZone("Europe/Berlin")


def _monday_next_week() -> datetime:
    today = datetime.now(UTC).date()
    monday = today + timedelta(days=7 - today.weekday())
    return datetime(monday.year, monday.month, monday.day, 9, 0)


def test_weekly_series_occurrences_exceptions_and_view(hub: Hub) -> None:  # noqa: F811
    setup = onprem_basic(hub, given=True)
    account = setup.account
    first = _monday_next_week()
    start = EWSDateTime.from_datetime(first.replace(tzinfo=BERLIN))
    item = CalendarItem(
        account=account, folder=account.calendar, subject="Weekly sync",
        start=start, end=start + timedelta(hours=1),
        recurrence=Recurrence(pattern=WeeklyPattern(interval=1, weekdays=[1, 3],
                                                    first_day_of_week=1),
                              start=EWSDate(first.year, first.month, first.day), number=6))
    item.save()
    master_world = setup.owner.mailbox.default_calendar.events.get(world_id(item.id))
    assert master_world is not None and master_world.recurrence is not None
    rec = master_world.recurrence
    assert (rec.pattern.type, rec.pattern.days_of_week, rec.range.type,
            rec.range.number_of_occurrences, rec.range.time_zone) == (
        "weekly", ("monday", "wednesday"), "numbered", 6, "Europe/Berlin")

    master = account.calendar.get(id=item.id)
    assert master.type == "RecurringMaster"
    assert isinstance(master.recurrence.pattern, WeeklyPattern)
    assert master.recurrence.boundary.number == 6
    assert master.first_occurrence.start == start
    assert master.last_occurrence.start == start + timedelta(days=16)  # Wed of the third week

    second = master.occurrence(2)
    second.refresh()
    assert second.type == "Occurrence" and second.start == start + timedelta(days=2)
    second.subject = "Weekly sync (moved)"
    second.start, second.end = second.start + timedelta(hours=2), second.end + timedelta(hours=2)
    second.save(update_fields=["subject", "start", "end"])
    third = master.occurrence(3)
    third.refresh()
    third.delete()

    # the world holds the exception and the cancellation, keyed by original start
    original_2 = datetime.fromtimestamp((start + timedelta(days=2)).timestamp(), UTC)
    original_3 = datetime.fromtimestamp((start + timedelta(days=7)).timestamp(), UTC)
    assert set(master_world.exceptions.modified) == {original_2}
    assert master_world.exceptions.modified[original_2].subject == "Weekly sync (moved)"
    assert master_world.exceptions.cancelled == {original_3}

    master.refresh()
    assert [o.original_start for o in master.modified_occurrences] == [original_2]
    assert [o.start for o in master.deleted_occurrences] == [original_3]
    try:
        master.occurrence(3).refresh()
        raise AssertionError("a deleted occurrence was found")
    except ErrorCalendarOccurrenceIsDeletedFromRecurrence:
        pass
    try:
        master.occurrence(7).refresh()
        raise AssertionError("an occurrence past the range was found")
    except ErrorCalendarOccurrenceIndexIsOutOfRecurrenceRange:
        pass

    view = [i for i in account.calendar.view(start=start - timedelta(hours=1),
                                             end=start + timedelta(days=30))
            if i.subject.startswith("Weekly sync")]
    assert [(i.type, i.subject) for i in view] == [
        ("Occurrence", "Weekly sync"), ("Exception", "Weekly sync (moved)"),
        ("Occurrence", "Weekly sync"), ("Occurrence", "Weekly sync"),
        ("Occurrence", "Weekly sync")]
    assert view[1].start == start + timedelta(days=2, hours=2)
    # an occurrence id from the view is one GetItem accepts, and leads to its master
    got = account.calendar.get(id=view[1].id)
    assert got.subject == "Weekly sync (moved)" and got.type == "Exception"
    got_master = got.recurring_master()
    got_master.refresh()  # GetItem with t:RecurringMasterItemId
    assert got_master.id == item.id and got_master.type == "RecurringMaster"


def test_other_patterns_round_trip(hub: Hub) -> None:  # noqa: F811
    setup = onprem_basic(hub, given=True)
    account = setup.account
    first = _monday_next_week()
    start = EWSDateTime.from_datetime(first.replace(tzinfo=BERLIN))
    day = EWSDate(first.year, first.month, first.day)
    patterns = [
        Recurrence(pattern=DailyPattern(interval=2), start=day, end=day + timedelta(days=9)),
        Recurrence(pattern=RelativeMonthlyPattern(interval=1, weekday=1, week_number=1),
                   start=day, number=3),
        Recurrence(pattern=AbsoluteYearlyPattern(day_of_month=first.day, month=first.month),
                   start=day),
    ]
    for recurrence in patterns:
        item = CalendarItem(account=account, folder=account.calendar, subject="Series",
                            start=start, end=start + timedelta(minutes=30),
                            recurrence=recurrence)
        item.save()
        back = account.calendar.get(id=item.id)
        assert back.recurrence == recurrence, (back.recurrence, recurrence)
