"""Recurring meetings, provider-neutral: a series master's pattern and range, its occurrences
computed in the series' time zone, and its exceptions (modified or cancelled occurrences).

The vocabulary is Microsoft's patterned recurrence (the richest of the three protocols: Graph's
`patternedRecurrence`, EWS's `*Recurrence` elements map to it one to one); Google's RRULE/EXDATE
lines are RFC 5545, which `to_rrule`/`from_rrule` convert. Occurrences are expanded by
dateutil's rrule (a well-kept RFC 5545 engine) on the series' local wall-clock time, so a 09:00
meeting stays at 09:00 across a daylight-saving change, as every calendar service does.

An occurrence is identified by its series and its *original* start (UTC): an exception keeps the
original start as its key even when it is moved, which is how Graph (`originalStart`), EWS
(`OriginalStart`, `InstanceIndex`) and Google (`originalStartTime`) all name it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil import rrule

PatternType = Literal["daily", "weekly", "absoluteMonthly", "relativeMonthly",
                      "absoluteYearly", "relativeYearly"]
RangeType = Literal["endDate", "noEnd", "numbered"]
WeekIndex = Literal["first", "second", "third", "fourth", "last"]
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
PATTERN_TYPES: tuple[str, ...] = get_args(PatternType)
RANGE_TYPES: tuple[str, ...] = get_args(RangeType)
WEEK_INDEXES: tuple[str, ...] = get_args(WeekIndex)

# Outlook's own limits: an interval up to 999, a numbered range up to 999 occurrences. Expansion
# of an open-ended series stops after MAX_EXPANSION instances from its start, so no request can
# make the hub compute without bound.
MAX_INTERVAL = 999
MAX_NUMBERED = 999
MAX_EXPANSION = 20_000
_RRULE_DAYS = (rrule.MO, rrule.TU, rrule.WE, rrule.TH, rrule.FR, rrule.SA, rrule.SU)
_RRULE_CODES = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
_INDEX_POS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "last": -1}


class RecurrenceError(ValueError):
    """A pattern or range no calendar service accepts; the message names the field."""


@dataclass(frozen=True, slots=True)
class Pattern:
    type: PatternType
    interval: int = 1
    days_of_week: tuple[str, ...] = ()  # lower-case English weekday names
    day_of_month: int = 0
    month: int = 0
    index: WeekIndex = "first"
    first_day_of_week: str = "sunday"


@dataclass(frozen=True, slots=True)
class Range:
    type: RangeType
    start_date: date
    end_date: date | None = None
    number_of_occurrences: int = 0
    time_zone: str = "UTC"  # IANA name: the zone the series' wall-clock times live in


@dataclass(frozen=True, slots=True)
class Recurrence:
    pattern: Pattern
    range: Range

    def __post_init__(self) -> None:
        validate(self)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.range.time_zone)


@dataclass(slots=True)
class OccurrenceChange:
    """What an exception changes in one occurrence; None keeps the series' value."""

    start: datetime | None = None  # aware UTC
    end: datetime | None = None
    subject: str | None = None
    body: str | None = None
    location: str | None = None
    sensitivity: str | None = None
    show_as: str | None = None
    last_modified: datetime | None = None
    change_key: str | None = None


@dataclass(slots=True)
class SeriesExceptions:
    """The exceptions of one series, keyed by each occurrence's original start (aware UTC)."""

    modified: dict[datetime, OccurrenceChange] = field(default_factory=dict)
    cancelled: set[datetime] = field(default_factory=set)

    def __bool__(self) -> bool:
        return bool(self.modified or self.cancelled)


@dataclass(frozen=True, slots=True)
class Instance:
    """One occurrence of a series as a calendar shows it."""

    original_start: datetime  # aware UTC: the key of this occurrence, stable when moved
    start: datetime  # aware UTC, after any exception
    end: datetime
    index: int  # 1-based position in the series (EWS InstanceIndex)
    change: OccurrenceChange | None  # the exception, if this occurrence is one

    @property
    def is_exception(self) -> bool:
        return self.change is not None


def validate(rec: Recurrence) -> None:
    p, r = rec.pattern, rec.range
    if p.type not in PATTERN_TYPES:
        raise RecurrenceError(f"pattern.type must be one of {', '.join(PATTERN_TYPES)}")
    if not isinstance(p.interval, int) or isinstance(p.interval, bool) \
            or not 1 <= p.interval <= MAX_INTERVAL:
        raise RecurrenceError(f"pattern.interval must be an integer from 1 to {MAX_INTERVAL}")
    for day in (*p.days_of_week, p.first_day_of_week):
        if day not in WEEKDAYS:
            raise RecurrenceError(f"{day!r} is not a day of the week")
    if p.type in ("weekly", "relativeMonthly", "relativeYearly") and not p.days_of_week:
        raise RecurrenceError(f"a {p.type} pattern needs pattern.daysOfWeek")
    if p.type in ("absoluteMonthly", "absoluteYearly") and not 1 <= p.day_of_month <= 31:
        raise RecurrenceError("pattern.dayOfMonth must be from 1 to 31")
    if p.type in ("absoluteYearly", "relativeYearly") and not 1 <= p.month <= 12:
        raise RecurrenceError("pattern.month must be from 1 to 12")
    if p.index not in WEEK_INDEXES:
        raise RecurrenceError(f"pattern.index must be one of {', '.join(WEEK_INDEXES)}")
    if r.type not in RANGE_TYPES:
        raise RecurrenceError(f"range.type must be one of {', '.join(RANGE_TYPES)}")
    if r.type == "endDate" and (r.end_date is None or r.end_date < r.start_date):
        raise RecurrenceError("range.endDate must be on or after range.startDate")
    if r.type == "numbered" and not 1 <= r.number_of_occurrences <= MAX_NUMBERED:
        raise RecurrenceError(f"range.numberOfOccurrences must be from 1 to {MAX_NUMBERED}")
    if not date(1900, 1, 1) <= r.start_date <= date(9000, 12, 31):
        raise RecurrenceError("range.startDate is out of range")
    if known_zone(r.time_zone) is None:
        raise RecurrenceError(f"range.recurrenceTimeZone {r.time_zone[:64]!r} is not a known "
                              "time zone")


# -- expansion -------------------------------------------------------------------------------------
def _rule(rec: Recurrence, first_local: datetime) -> rrule.rrule:
    p, r = rec.pattern, rec.range
    days = [_RRULE_DAYS[WEEKDAYS.index(d)] for d in p.days_of_week]
    kwargs: dict[str, Any] = {
        "dtstart": first_local, "interval": p.interval,
        "wkst": WEEKDAYS.index(p.first_day_of_week),
    }
    if r.type == "numbered":
        kwargs["count"] = r.number_of_occurrences
    elif r.type == "endDate" and r.end_date is not None:
        kwargs["until"] = datetime.combine(r.end_date, time(23, 59, 59))
    if p.type == "daily":
        freq = rrule.DAILY
    elif p.type == "weekly":
        freq, kwargs["byweekday"] = rrule.WEEKLY, days
    elif p.type == "absoluteMonthly":
        freq, kwargs["bymonthday"] = rrule.MONTHLY, p.day_of_month
    elif p.type == "relativeMonthly":
        freq = rrule.MONTHLY
        kwargs["byweekday"], kwargs["bysetpos"] = days, _INDEX_POS[p.index]
    elif p.type == "absoluteYearly":
        freq, kwargs["bymonth"], kwargs["bymonthday"] = rrule.YEARLY, p.month, p.day_of_month
    else:  # relativeYearly
        freq, kwargs["bymonth"] = rrule.YEARLY, p.month
        kwargs["byweekday"], kwargs["bysetpos"] = days, _INDEX_POS[p.index]
    return rrule.rrule(freq, **kwargs)


def series_starts(rec: Recurrence, master_start: datetime) -> Iterator[datetime]:
    """Original starts (aware UTC) of every occurrence, in order, at the master's local time of
    day from range.startDate on; at most MAX_EXPANSION of them."""
    zone = rec.zone
    local_time = master_start.astimezone(zone).time().replace(tzinfo=None)
    first_local = datetime.combine(rec.range.start_date, local_time)
    for n, local in enumerate(_rule(rec, first_local)):
        if n >= MAX_EXPANSION:
            return
        # fold=0: an ambiguous wall-clock time takes its first instant, a skipped one moves on.
        yield local.replace(tzinfo=zone).astimezone(UTC)


def expand(rec: Recurrence, master_start: datetime, master_end: datetime,
           exceptions: SeriesExceptions | None, window_start: datetime | None = None,
           window_end: datetime | None = None) -> list[Instance]:
    """The occurrences overlapping [window_start, window_end) (all of them when no window),
    exceptions applied, cancelled ones left out, in start order. A zero-length occurrence at
    window_start is inside, as Exchange draws it."""
    duration = master_end - master_start
    exceptions = exceptions or SeriesExceptions()
    out: list[Instance] = []
    latest_move = _latest_move(exceptions)
    for index, original in enumerate(series_starts(rec, master_start), start=1):
        if window_end is not None and original >= window_end + latest_move:
            break
        if original in exceptions.cancelled:
            continue
        change = exceptions.modified.get(original)
        start = change.start if change and change.start else original
        end = change.end if change and change.end else start + duration
        if window_start is not None and not (end > window_start or
                                             (end == start and start >= window_start)):
            continue
        if window_end is not None and start >= window_end:
            continue
        out.append(Instance(original, start, end, index, change))
    out.sort(key=lambda i: (i.start, i.original_start))
    return out


def _latest_move(exceptions: SeriesExceptions) -> timedelta:
    """How far an exception moved an occurrence earlier, at most: occurrences whose original
    start is past the window may still land inside it."""
    moves = [original - change.start for original, change in exceptions.modified.items()
             if change.start is not None and change.start < original]
    return max(moves, default=timedelta(0))


def find_instance(rec: Recurrence, master_start: datetime, master_end: datetime,
                  exceptions: SeriesExceptions | None, original_start: datetime
                  ) -> Instance | None:
    """The occurrence with this original start, or None (not in the series, or cancelled)."""
    exceptions = exceptions or SeriesExceptions()
    if original_start in exceptions.cancelled:
        return None
    duration = master_end - master_start
    for index, original in enumerate(series_starts(rec, master_start), start=1):
        if original > original_start:
            return None
        if original == original_start:
            change = exceptions.modified.get(original)
            start = change.start if change and change.start else original
            end = change.end if change and change.end else start + duration
            return Instance(original, start, end, index, change)
    return None


def instance_at_index(rec: Recurrence, master_start: datetime, index: int) -> datetime | None:
    """The original start of the `index`-th occurrence (1-based), or None."""
    if index < 1:
        return None
    for n, original in enumerate(series_starts(rec, master_start), start=1):
        if n == index:
            return original
    return None


def last_end(rec: Recurrence, master_start: datetime, master_end: datetime) -> datetime | None:
    """When the series ends (the last occurrence's end), or None for an open-ended series."""
    if rec.range.type == "noEnd":
        return None
    last = None
    for original in series_starts(rec, master_start):
        last = original
    return None if last is None else last + (master_end - master_start)


# -- RFC 5545 (Google's recurrence lines) ----------------------------------------------------------
def to_rrule(rec: Recurrence, master_start: datetime) -> str:
    """`RRULE:FREQ=WEEKLY;INTERVAL=1;BYDAY=MO,WE;COUNT=10` for this series."""
    p, r = rec.pattern, rec.range
    codes = ",".join(_RRULE_CODES[WEEKDAYS.index(d)] for d in p.days_of_week)
    freq = {"daily": "DAILY", "weekly": "WEEKLY", "absoluteMonthly": "MONTHLY",
            "relativeMonthly": "MONTHLY", "absoluteYearly": "YEARLY",
            "relativeYearly": "YEARLY"}[p.type]
    parts = [f"FREQ={freq}"]
    if p.interval != 1:
        parts.append(f"INTERVAL={p.interval}")
    if p.type == "daily":
        pass  # FREQ and INTERVAL say it all
    elif p.type == "weekly":
        parts.append(f"BYDAY={codes}")
        if p.first_day_of_week != "monday":
            parts.append(f"WKST={_RRULE_CODES[WEEKDAYS.index(p.first_day_of_week)]}")
    elif p.type in ("absoluteMonthly", "absoluteYearly"):
        if p.type == "absoluteYearly":
            parts.append(f"BYMONTH={p.month}")
        parts.append(f"BYMONTHDAY={p.day_of_month}")
    else:
        if p.type == "relativeYearly":
            parts.append(f"BYMONTH={p.month}")
        parts.append(f"BYDAY={codes}")
        parts.append(f"BYSETPOS={_INDEX_POS[p.index]}")
    if r.type == "numbered":
        parts.append(f"COUNT={r.number_of_occurrences}")
    elif r.type == "endDate" and r.end_date is not None:
        local = datetime.combine(r.end_date, time(23, 59, 59), tzinfo=rec.zone)
        try:
            until = local.astimezone(UTC)
        except OverflowError:  # 9999-12-31 west of UTC: past the last representable instant
            until = datetime.max.replace(microsecond=0, tzinfo=UTC)
        parts.append(f"UNTIL={until.year:04d}{until:%m%dT%H%M%S}Z")
    return "RRULE:" + ";".join(parts)


def from_rrule(line: str, master_start: datetime, time_zone: str) -> Recurrence:
    """The series an `RRULE:` line describes, starting at `master_start` in `time_zone`.
    Raises RecurrenceError for what the neutral model cannot hold (BYHOUR, FREQ=HOURLY, ...)."""
    body = line.strip()
    if body.upper().startswith("RRULE:"):
        body = body[6:]
    fields: dict[str, str] = {}
    for part in body.split(";"):
        key, sep, value = part.partition("=")
        if not sep or not key:
            raise RecurrenceError(f"malformed recurrence rule part {part[:40]!r}")
        fields[key.strip().upper()] = value.strip().upper()
    allowed = {"FREQ", "INTERVAL", "BYDAY", "BYMONTHDAY", "BYMONTH", "BYSETPOS", "COUNT",
               "UNTIL", "WKST"}
    unknown = sorted(set(fields) - allowed)
    if unknown:
        raise RecurrenceError(f"unsupported recurrence rule part {unknown[0]}")
    zone = _zone(time_zone)
    local_start = master_start.astimezone(zone)
    interval = _int(fields.get("INTERVAL", "1"), "INTERVAL")
    days, pos = _days(fields.get("BYDAY", ""))
    if "BYSETPOS" in fields:
        pos = _int(fields["BYSETPOS"], "BYSETPOS", allow_negative=True)
    index = {v: k for k, v in _INDEX_POS.items()}.get(pos or 1)
    if index is None:
        raise RecurrenceError("BYSETPOS/BYDAY position must be 1 to 4 or -1")
    first_day = WEEKDAYS[_RRULE_CODES.index(fields["WKST"])] if fields.get("WKST") in \
        _RRULE_CODES else "monday"
    freq = fields.get("FREQ")
    month = _int(fields["BYMONTH"], "BYMONTH") if "BYMONTH" in fields else local_start.month
    day_of_month = (_int(fields["BYMONTHDAY"], "BYMONTHDAY") if "BYMONTHDAY" in fields
                    else local_start.day)
    if freq == "DAILY":
        pattern = Pattern("daily", interval, first_day_of_week=first_day)
    elif freq == "WEEKLY":
        days = days or (WEEKDAYS[local_start.weekday()],)
        pattern = Pattern("weekly", interval, days, first_day_of_week=first_day)
    elif freq == "MONTHLY" and days:
        pattern = Pattern("relativeMonthly", interval, days, index=index,
                          first_day_of_week=first_day)
    elif freq == "MONTHLY":
        pattern = Pattern("absoluteMonthly", interval, day_of_month=day_of_month,
                          first_day_of_week=first_day)
    elif freq == "YEARLY" and days:
        pattern = Pattern("relativeYearly", interval, days, month=month, index=index,
                          first_day_of_week=first_day)
    elif freq == "YEARLY":
        pattern = Pattern("absoluteYearly", interval, day_of_month=day_of_month, month=month,
                          first_day_of_week=first_day)
    else:
        raise RecurrenceError(f"unsupported recurrence frequency {str(freq)[:20]!r}")
    start_date = local_start.date()
    if "COUNT" in fields:
        rng = Range("numbered", start_date, number_of_occurrences=_int(fields["COUNT"], "COUNT"),
                    time_zone=time_zone)
    elif "UNTIL" in fields:
        rng = Range("endDate", start_date, end_date=_until(fields["UNTIL"], zone),
                    time_zone=time_zone)
    else:
        rng = Range("noEnd", start_date, time_zone=time_zone)
    return Recurrence(pattern, rng)


def known_zone(name: str) -> ZoneInfo | None:
    """The IANA zone of this name, or None. Checked before ZoneInfo sees it: a 10,000-character
    or odd name makes ZoneInfo raise OSError (file name too long) rather than a clean error."""
    if not name or len(name) > 64 or not name.isascii() or ".." in name \
            or not all(c.isalnum() or c in "/_+-" for c in name):
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None


def _zone(name: str) -> ZoneInfo:
    zone = known_zone(name)
    if zone is None:
        raise RecurrenceError(f"{name[:64]!r} is not a known time zone")
    return zone


def _int(value: str, name: str, allow_negative: bool = False) -> int:
    negative = allow_negative and value.startswith("-")
    text = value[1:] if negative else value
    # ASCII digits only (int() would take '²' or full-width digits), and small.
    if not text.isascii() or not text.isdigit() or len(text) > 4:
        raise RecurrenceError(f"{name} must be a small integer")
    return -int(text) if negative else int(text)


def _days(value: str) -> tuple[tuple[str, ...], int | None]:
    """`MO,WE` → (('monday', 'wednesday'), None); `2TU` → (('tuesday',), 2)."""
    if not value:
        return (), None
    days: list[str] = []
    pos: int | None = None
    for item in value.split(","):
        code, prefix = item[-2:], item[:-2]
        if code not in _RRULE_CODES:
            raise RecurrenceError(f"{item[:10]!r} is not a BYDAY value")
        if prefix:
            pos = _int(prefix.lstrip("+"), "BYDAY", allow_negative=True)
        days.append(WEEKDAYS[_RRULE_CODES.index(code)])
    return tuple(dict.fromkeys(days)), pos


def _until(value: str, zone: ZoneInfo) -> date:
    try:
        if len(value) == 8:
            return datetime.strptime(value, "%Y%m%d").date()
        moment = datetime.strptime(value.rstrip("Z"), "%Y%m%dT%H%M%S")
    except ValueError:
        raise RecurrenceError(f"UNTIL {value[:20]!r} is not a date") from None
    return (moment.replace(tzinfo=UTC) if value.endswith("Z") else
            moment.replace(tzinfo=zone)).astimezone(zone).date()


def with_range_start(rec: Recurrence, start_date: date) -> Recurrence:
    return Recurrence(rec.pattern, replace(rec.range, start_date=start_date))
