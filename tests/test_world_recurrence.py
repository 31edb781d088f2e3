"""The provider-neutral recurrence model: expansion in the series' time zone, exceptions,
validation, and RFC 5545 lines (what Google speaks) round-tripping through it."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mock_providers.google.validate import recurrence_lines
from mock_providers.world.recurrence import (
    MAX_INTERVAL,
    WEEKDAYS,
    OccurrenceChange,
    Pattern,
    Range,
    Recurrence,
    RecurrenceError,
    SeriesExceptions,
    expand,
    find_instance,
    from_rrule,
    instance_at_index,
    last_end,
    series_starts,
    to_rrule,
)

BERLIN = ZoneInfo("Europe/Berlin")


def _at(day: date, hour: int, zone: ZoneInfo = BERLIN) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=zone).astimezone(UTC)


def test_weekly_series_on_two_days_has_the_counted_occurrences() -> None:
    rec = Recurrence(Pattern("weekly", 1, ("monday", "wednesday")),
                     Range("numbered", date(2026, 11, 2), number_of_occurrences=5,
                           time_zone="Europe/Berlin"))
    start = _at(date(2026, 11, 2), 9)
    starts = list(series_starts(rec, start))
    assert [s.astimezone(BERLIN).date() for s in starts] == [
        date(2026, 11, 2), date(2026, 11, 4), date(2026, 11, 9), date(2026, 11, 11),
        date(2026, 11, 16)]
    assert {s.astimezone(BERLIN).hour for s in starts} == {9}


def test_local_time_holds_across_daylight_saving() -> None:
    rec = Recurrence(Pattern("weekly", 1, ("friday",)),
                     Range("numbered", date(2027, 3, 26), number_of_occurrences=2,
                           time_zone="Europe/Berlin"))
    before, after = series_starts(rec, _at(date(2027, 3, 26), 9))  # DST: 28 March
    assert (before.hour, after.hour) == (8, 7)  # 09:00 CET, then 09:00 CEST, in UTC
    assert after - before == timedelta(days=7, hours=-1)


def test_relative_monthly_last_friday_and_absolute_day_31_skips_short_months() -> None:
    last_friday = Recurrence(Pattern("relativeMonthly", 1, ("friday",), index="last"),
                             Range("numbered", date(2027, 1, 1), number_of_occurrences=3))
    starts = list(series_starts(last_friday, datetime(2027, 1, 29, 10, tzinfo=UTC)))
    assert [s.date() for s in starts] == [date(2027, 1, 29), date(2027, 2, 26), date(2027, 3, 26)]
    the_31st = Recurrence(Pattern("absoluteMonthly", 1, day_of_month=31),
                          Range("endDate", date(2027, 1, 1), end_date=date(2027, 5, 31)))
    starts = list(series_starts(the_31st, datetime(2027, 1, 31, 10, tzinfo=UTC)))
    assert [s.date() for s in starts] == [date(2027, 1, 31), date(2027, 3, 31), date(2027, 5, 31)]


def test_exceptions_move_and_cancel_occurrences() -> None:
    rec = Recurrence(Pattern("daily"), Range("numbered", date(2027, 1, 4),
                                             number_of_occurrences=5))
    start = datetime(2027, 1, 4, 10, tzinfo=UTC)
    second, third = start + timedelta(days=1), start + timedelta(days=2)
    moved = second + timedelta(days=10)
    exceptions = SeriesExceptions(
        modified={second: OccurrenceChange(start=moved, end=moved + timedelta(hours=2),
                                           subject="moved")},
        cancelled={third})
    every = expand(rec, start, start + timedelta(hours=1), exceptions)
    assert [i.original_start for i in every] == [start, start + timedelta(days=3),
                                                 start + timedelta(days=4), second]
    assert every[-1].start == moved and every[-1].end == moved + timedelta(hours=2)
    assert every[-1].index == 2 and every[-1].is_exception
    # A window around the moved occurrence finds it although its original start is outside.
    window = expand(rec, start, start + timedelta(hours=1), exceptions,
                    moved - timedelta(hours=1), moved + timedelta(hours=1))
    assert [i.original_start for i in window] == [second]
    assert find_instance(rec, start, start + timedelta(hours=1), exceptions, third) is None
    assert instance_at_index(rec, start, 3) == third
    assert last_end(rec, start, start + timedelta(hours=1)) == start + timedelta(days=4, hours=1)


def test_window_edges_are_drawn_as_exchange_draws_them() -> None:
    rec = Recurrence(Pattern("daily"), Range("numbered", date(2027, 1, 4),
                                             number_of_occurrences=2))
    start = datetime(2027, 1, 4, 10, tzinfo=UTC)
    end = start + timedelta(hours=1)
    # an occurrence ending exactly when the window starts is not in it
    assert expand(rec, start, end, None, end, end + timedelta(hours=1)) == []
    # one starting exactly at the window's start is
    assert len(expand(rec, start, end, None, start, start + timedelta(minutes=1))) == 1
    # a zero-length occurrence at the window's start is
    assert len(expand(rec, start, start, None, start, start + timedelta(minutes=1))) == 1


@pytest.mark.parametrize(("pattern", "rng", "field"), [
    (Pattern("daily", 0), Range("noEnd", date(2027, 1, 1)), "interval"),
    (Pattern("daily", MAX_INTERVAL + 1), Range("noEnd", date(2027, 1, 1)), "interval"),
    (Pattern("absoluteYearly", day_of_month=1, month=13), Range("noEnd", date(2027, 1, 1)),
     "month"),
    (Pattern("weekly"), Range("noEnd", date(2027, 1, 1)), "daysOfWeek"),
    (Pattern("weekly", days_of_week=("funday",)), Range("noEnd", date(2027, 1, 1)), "funday"),
    (Pattern("daily"), Range("endDate", date(2027, 1, 2), end_date=date(2027, 1, 1)), "endDate"),
    (Pattern("daily"), Range("numbered", date(2027, 1, 1), number_of_occurrences=0),
     "numberOfOccurrences"),
    (Pattern("daily"), Range("noEnd", date(2027, 1, 1), time_zone="x" * 10_000), "time zone"),
])
def test_invalid_series_are_refused_naming_the_field(pattern: Pattern, rng: Range,
                                                     field: str) -> None:
    with pytest.raises(RecurrenceError, match=field):
        Recurrence(pattern, rng)


@pytest.mark.parametrize("line", [
    "RRULE:FREQ=HOURLY", "RRULE:FREQ=DAILY;BYHOUR=9", "RRULE:FREQ=DAILY;INTERVAL=abc",
    "RRULE:FREQ=DAILY;INTERVAL=²", "RRULE:FREQ=DAILY;INTERVAL=1000000000000000",
    "RRULE:FREQ=WEEKLY;BYDAY=XX", "RRULE:FREQ=DAILY;UNTIL=yesterday", "RRULE:;;",
    "RRULE:FREQ=MONTHLY;BYMONTHDAY=32",
])
def test_malformed_rules_are_refused(line: str) -> None:
    with pytest.raises(RecurrenceError):
        from_rrule(line, datetime(2027, 1, 4, 10, tzinfo=UTC), "UTC")


_zones = st.sampled_from(["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata",
                          "Australia/Lord_Howe"])


@st.composite
def series(draw: st.DrawFn) -> tuple[Recurrence, datetime]:
    zone = draw(_zones)
    kind = draw(st.sampled_from(["daily", "weekly", "absoluteMonthly", "relativeMonthly",
                                 "absoluteYearly", "relativeYearly"]))
    days = tuple(draw(st.lists(st.sampled_from(WEEKDAYS), min_size=1, max_size=3, unique=True)))
    pattern = Pattern(kind, draw(st.integers(1, 4)),
                      days if kind in ("weekly", "relativeMonthly", "relativeYearly") else (),
                      draw(st.integers(1, 31)) if "absolute" in kind else 0,
                      draw(st.integers(1, 12)) if "Yearly" in kind else 0,
                      draw(st.sampled_from(["first", "second", "third", "fourth", "last"])),
                      "monday")
    start_day = draw(st.dates(date(2024, 1, 1), date(2030, 12, 31)))
    if draw(st.booleans()):
        rng = Range("numbered", start_day, number_of_occurrences=draw(st.integers(1, 30)),
                    time_zone=zone)
    else:
        rng = Range("endDate", start_day,
                    end_date=start_day + timedelta(days=draw(st.integers(0, 800))),
                    time_zone=zone)
    hour = draw(st.integers(0, 23))
    master = datetime(start_day.year, start_day.month, start_day.day, hour,
                      tzinfo=ZoneInfo(zone)).astimezone(UTC)
    return Recurrence(pattern, rng), master


@settings(max_examples=150, deadline=None)
@given(series())
def test_rrule_lines_round_trip_to_the_same_occurrences(case: tuple[Recurrence, datetime]) -> None:
    rec, master = case
    line = to_rrule(rec, master)
    recurrence_lines([line])  # a line Google itself accepts (a daily one said "BYDAY=;")
    again = from_rrule(line, master, rec.range.time_zone)
    assert list(series_starts(again, master)) == list(series_starts(rec, master))


@settings(max_examples=100, deadline=None)
@given(series(), st.data())
def test_a_window_shows_exactly_the_occurrences_that_overlap_it(
        case: tuple[Recurrence, datetime], data: st.DataObject) -> None:
    rec, master = case
    duration = timedelta(minutes=data.draw(st.integers(0, 180)))
    every = expand(rec, master, master + duration, None)
    if not every:
        return
    lo = every[0].start - timedelta(days=3)
    window_start = lo + timedelta(hours=data.draw(st.integers(0, 24 * 400)))
    window_end = window_start + timedelta(hours=data.draw(st.integers(1, 24 * 60)))
    shown = expand(rec, master, master + duration, None, window_start, window_end)
    expected = [i for i in every if i.start < window_end and
                (i.end > window_start or (i.end == i.start and i.start >= window_start))]
    assert shown == expected
    assert [i.index for i in every] == sorted(i.index for i in every)
