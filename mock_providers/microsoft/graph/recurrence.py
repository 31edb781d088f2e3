"""Recurring events on Graph: `patternedRecurrence` JSON to and from the world's neutral model,
and the instances of a series that overlap a calendarView window, each an `Occurrence` that
reads through to its series master."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from mock_providers.microsoft.graph.errors import GraphError, bad_request
from mock_providers.microsoft.graph.timezones import MAX_INSTANT, MIN_INSTANT, WINDOWS_ZONES
from mock_providers.world import Event
from mock_providers.world.recurrence import (
    PATTERN_TYPES,
    RANGE_TYPES,
    Instance,
    OccurrenceChange,
    Pattern,
    Range,
    Recurrence,
    RecurrenceError,
    expand,
    find_instance,
    known_zone,
)

_IANA_TO_WINDOWS = {iana: name.title() for name, iana in reversed(WINDOWS_ZONES.items())}
_IANA_TO_WINDOWS["UTC"] = "UTC"
# Graph writes "0001-01-01" as the endDate of a series without one.
_NO_DATE = "0001-01-01"


class Occurrence:
    """One instance of a recurring event (an occurrence, or an exception when the series'
    `SeriesExceptions` changed it); every field not changed by the exception reads through to
    the series master, so $filter and $orderby work on it.

    Its id is the master's id and the original start (`{master id}_{yyyymmddTHHMMSSZ}`): stable
    while the series stands, also once the occurrence is moved, and parsed back by
    `parse_occurrence_id` for GET/PATCH/DELETE on `/events/{id}`."""

    __slots__ = ("master", "start", "end", "id", "original_start", "index", "change")

    def __init__(self, master: Event, start: datetime, end: datetime,
                 original_start: datetime | None = None, index: int = 0,
                 change: OccurrenceChange | None = None) -> None:
        self.master = master
        self.start = start
        self.end = end
        self.original_start = original_start or start
        self.index = index
        self.change = change
        self.id = occurrence_id(master.id, self.original_start)

    @classmethod
    def of(cls, master: Event, instance: Instance) -> Occurrence:
        return cls(master, instance.start, instance.end, instance.original_start,
                   instance.index, instance.change)

    def __getattr__(self, name: str) -> Any:
        change = self.change
        if change is not None and name in _CHANGED:
            value = getattr(change, name)
            if value is not None:
                return value
        return getattr(self.master, name)


_CHANGED = frozenset({"subject", "body", "location", "sensitivity", "show_as", "last_modified",
                      "change_key"})
_ID_TIME = "%Y%m%dT%H%M%SZ"


def occurrence_id(master_id: str, original_start: datetime) -> str:
    return f"{master_id}_{original_start.astimezone(UTC):{_ID_TIME}}"


def parse_occurrence_id(text: str) -> tuple[str, datetime] | None:
    """(master id, original start) of an occurrence id, or None when `text` is not one."""
    master_id, sep, stamp = text.rpartition("_")
    if not sep or not master_id or len(stamp) != 16:
        return None
    try:
        return master_id, datetime.strptime(stamp, _ID_TIME).replace(tzinfo=UTC)
    except ValueError:
        return None


def occurrences(event: Event, start: datetime | None, end: datetime | None) -> list[Occurrence]:
    """The instances of the series overlapping [start, end), exceptions applied, cancelled ones
    left out (bounded by the world's MAX_EXPANSION for an open-ended series)."""
    if event.recurrence is None:
        return []
    return [Occurrence.of(event, i)
            for i in expand(event.recurrence, event.start, event.end, event.exceptions,
                            start, end) if _renderable(i)]


def _renderable(found: Instance) -> bool:
    """Whether every zone can render the instance: a series may run on past what an event may
    hold (yearly from 9000 every 999 years reaches 9999-12-31), and such an occurrence is left out
    rather than failing every read that meets it."""
    return found.start >= MIN_INSTANT and found.end <= MAX_INSTANT


def instance(event: Event, original_start: datetime) -> Occurrence | None:
    """The occurrence of the series `event` with this original start, or None (none such, or
    cancelled)."""
    if event.recurrence is None:
        return None
    found = find_instance(event.recurrence, event.start, event.end, event.exceptions,
                          original_start)
    return Occurrence.of(event, found) if found is not None and _renderable(found) else None


def _invalid(message: str) -> GraphError:
    return bad_request(message, "InvalidRequest")


def _text(obj: dict[str, Any], name: str, default: str = "") -> str:
    value = obj.get(name, default)
    if value is None:
        return default
    if not isinstance(value, str) or len(value) > 64:
        raise _invalid(f"recurrence {name} must be a short string")
    return value


def _number(obj: dict[str, Any], name: str, default: int = 0) -> int:
    value = obj.get(name, default)
    if value is None:
        return default
    # OData's reader takes an Int32 written as a string too ("2"), as Graph does.
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 9:
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not -2**31 <= value < 2**31:
        raise _invalid(f"recurrence {name} must be an Int32")
    return value


def _date(obj: dict[str, Any], name: str) -> date | None:
    value = _text(obj, name)
    if not value or value == _NO_DATE:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise _invalid(f"recurrence {name} {value!r} is not a date") from None


def iana_zone(name: str) -> str | None:
    """A Windows or IANA time zone name as the IANA name the world stores, or None."""
    key = name.strip()
    iana = WINDOWS_ZONES.get(key.lower(), key)
    return iana if known_zone(iana) is not None else None


def parse_recurrence(value: Any, default_zone: str = "UTC") -> Recurrence:
    """A `patternedRecurrence` body into the world's model; 400 with the field on bad input."""
    if not isinstance(value, dict):
        raise _invalid("recurrence must be an object")
    pattern, rng = value.get("pattern"), value.get("range")
    if not isinstance(pattern, dict) or not isinstance(rng, dict):
        raise _invalid("recurrence needs a pattern and a range object")
    kind, range_type = _text(pattern, "type"), _text(rng, "type")
    if kind not in PATTERN_TYPES:
        raise _invalid(f"recurrence pattern type {kind!r} is not one of {', '.join(PATTERN_TYPES)}")
    if range_type not in RANGE_TYPES:
        raise _invalid(f"recurrence range type {range_type!r} is not one of "
                       f"{', '.join(RANGE_TYPES)}")
    days = pattern.get("daysOfWeek") or []
    if not isinstance(days, list) or len(days) > 7 or not all(isinstance(d, str) for d in days):
        raise _invalid("recurrence daysOfWeek must be a list of day names")
    start_date = _date(rng, "startDate")
    if start_date is None:
        raise _invalid("recurrence range startDate is required")
    zone_name = _text(rng, "recurrenceTimeZone") or default_zone
    zone = iana_zone(zone_name)
    if zone is None:
        raise _invalid(f"recurrence time zone {zone_name[:64]!r} is not known")
    try:
        return Recurrence(
            Pattern(kind, _number(pattern, "interval", 1),  # type: ignore[arg-type]
                    tuple(d.lower() for d in days), _number(pattern, "dayOfMonth"),
                    _number(pattern, "month"), _text(pattern, "index", "first").lower() or "first",  # type: ignore[arg-type]
                    _text(pattern, "firstDayOfWeek", "sunday").lower() or "sunday"),
            Range(range_type, start_date, _date(rng, "endDate"),  # type: ignore[arg-type]
                  _number(rng, "numberOfOccurrences"), zone))
    except RecurrenceError as exc:
        raise _invalid(str(exc)) from None


def recurrence_json(rec: Recurrence | None) -> dict[str, Any] | None:
    if rec is None:
        return None
    p, r = rec.pattern, rec.range
    return {
        "pattern": {"type": p.type, "interval": p.interval, "month": p.month,
                    "dayOfMonth": p.day_of_month, "daysOfWeek": list(p.days_of_week),
                    "firstDayOfWeek": p.first_day_of_week, "index": p.index},
        "range": {"type": r.type, "startDate": r.start_date.isoformat(),
                  "endDate": r.end_date.isoformat() if r.end_date else _NO_DATE,
                  "recurrenceTimeZone": _IANA_TO_WINDOWS.get(r.time_zone, r.time_zone),
                  "numberOfOccurrences": r.number_of_occurrences},
    }
