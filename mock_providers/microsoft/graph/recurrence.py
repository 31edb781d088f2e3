"""Recurrence expansion for calendarView: the instances of a patterned recurrence that overlap a
window, each an `Occurrence` that reads through to its series master."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from mock_providers.world import Event

_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_MAX_OCCURRENCES = 5000


class Occurrence:
    """One instance of a recurring event inside a calendarView window; every field but start,
    end and id reads through to the series master (so $filter and $orderby work on it)."""

    __slots__ = ("master", "start", "end", "id")

    def __init__(self, master: Event, start: datetime, end: datetime) -> None:
        self.master = master
        self.start = start
        self.end = end
        self.id = f"{master.id}_{start:%Y%m%d}"

    def __getattr__(self, name: str) -> Any:
        return getattr(self.master, name)


def _add_months(day: date, months: int, day_of_month: int) -> date | None:
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    try:
        return date(year, month, day_of_month)
    except ValueError:  # no 31st this month: Outlook skips it
        return None


def occurrences(event: Event, start: datetime, end: datetime) -> list[Occurrence]:
    """Instances of a patterned recurrence overlapping [start, end). Supported: daily, weekly,
    absoluteMonthly and absoluteYearly patterns with endDate, numbered and noEnd ranges, times
    taken from the master's start in UTC. Other patterns yield no instances (the master is
    listed as a single instance instead)."""
    rec = event.recurrence or {}
    pattern, rng = rec.get("pattern") or {}, rec.get("range") or {}
    kind = pattern.get("type")
    interval = max(1, int(pattern.get("interval") or 1))
    try:
        first = date.fromisoformat(rng.get("startDate") or event.start.date().isoformat())
        last = date.fromisoformat(rng["endDate"]) if rng.get("type") == "endDate" else None
    except (TypeError, ValueError):
        return []
    count = int(rng.get("numberOfOccurrences") or 0) if rng.get("type") == "numbered" else 0
    duration = event.end - event.start
    at = event.start.timetz()
    days: list[date] = []
    if kind == "daily":
        days = [first + timedelta(days=i * interval) for i in range(_MAX_OCCURRENCES)]
    elif kind == "weekly":
        wanted = sorted(_WEEKDAYS.index(d.lower()) for d in pattern.get("daysOfWeek") or []
                        if d.lower() in _WEEKDAYS) or [first.weekday()]
        week = first - timedelta(days=first.weekday())
        while len(days) < _MAX_OCCURRENCES:
            days += [week + timedelta(days=d) for d in wanted if week + timedelta(days=d) >= first]
            week += timedelta(weeks=interval)
    elif kind in ("absoluteMonthly", "absoluteYearly"):
        step = interval * (12 if kind == "absoluteYearly" else 1)
        dom = int(pattern.get("dayOfMonth") or first.day)
        anchor = first.replace(day=1)
        if kind == "absoluteYearly" and pattern.get("month"):
            anchor = anchor.replace(month=int(pattern["month"]))
        for i in range(_MAX_OCCURRENCES):
            day = _add_months(anchor, i * step, dom)
            if day is not None and day >= first:
                days.append(day)
    out: list[Occurrence] = []
    for n, day in enumerate(days):
        if (last is not None and day > last) or (count and n >= count):
            break
        begin = datetime.combine(day, at)
        if begin >= end:
            break
        if begin + duration > start or (duration == timedelta(0) and begin >= start):
            out.append(Occurrence(event, begin, begin + duration))
    return out
