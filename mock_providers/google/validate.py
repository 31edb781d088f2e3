"""Strict parsing of the values a Google request carries outside its JSON structure: query
numbers and booleans, RFC 3339 timestamps, IANA time-zone names and iCalendar recurrence lines.

Each function returns the parsed value or raises the `GoogleError` Google answers (400 `invalid`,
or `badRequest` where Google words it so). Nothing here raises anything else, whatever the input:
numbers are ASCII digits of bounded length (`int()` would take "５", "1_000" and " 5 "),
timestamps are RFC 3339 with the instant inside the range every zone can render, zone names are
looked up in the tz database's list before `ZoneInfo` sees them (it raises OSError for a name too
long to be a file name), and recurrence lines are parsed by RFC 5545's grammar with bounds.
"""

from __future__ import annotations

import functools
import re
import zoneinfo
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta

from mock_providers.google.errors import GoogleError, bad_request, invalid_value

# The instants an event may have: every zone (UTC-12 … UTC+14) can render them without leaving
# the years 1–9999 Python's datetime (and RFC 3339) can write.
MIN_INSTANT = datetime(1, 1, 1, tzinfo=UTC) + timedelta(days=1)
MAX_INSTANT = datetime(9999, 12, 31, tzinfo=UTC) - timedelta(days=1)
MAX_ZONE_NAME = 64
MAX_INT_DIGITS = 10

_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?"
    r"(?:([Zz])|([+-])(\d{2}):(\d{2}))?")


# -- query options ---------------------------------------------------------------------------
def query_int(params: Mapping[str, str], name: str, default: int, low: int, high: int,
              *, clamp: bool = True) -> int:
    """An integer query option: ASCII digits only, at least `low`; above `high` it is clamped
    (Google caps maxResults silently) or refused."""
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    if not (raw.isascii() and raw.isdigit()) or len(raw) > MAX_INT_DIGITS:
        raise invalid_value(name, raw)
    value = int(raw)
    if value < low or (value > high and not clamp):
        raise invalid_value(name, raw)
    return min(value, high)


def query_bool(params: Mapping[str, str], name: str) -> bool:
    raw = params.get(name)
    if raw is None or raw == "":
        return False
    lowered = raw.lower()
    if lowered not in ("true", "false"):
        raise invalid_value(name, raw)
    return lowered == "true"


def query_enum(params: Mapping[str, str], name: str, allowed: tuple[str, ...],
               default: str = "") -> str:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    if raw not in allowed:
        raise invalid_value(name, raw)
    return raw


# -- time ------------------------------------------------------------------------------------
def _parse_rfc3339(text: str, *, offset_required: bool) -> datetime | None:
    """The datetime `text` denotes (aware if it had an offset), or None if it is not RFC 3339
    or names no real instant."""
    match = _RFC3339.fullmatch(text)
    if match is None:
        return None
    year, month, day, hour, minute, second = (int(match.group(i)) for i in range(1, 7))
    fraction = (match.group(7) or "").ljust(6, "0")[:6]
    zulu, sign, off_h, off_m = match.group(8), match.group(9), match.group(10), match.group(11)
    if offset_required and not (zulu or sign):
        return None
    try:
        value = datetime(year, month, day, hour, minute, min(second, 59), int(fraction))
        if zulu:
            return value.replace(tzinfo=UTC)
        if sign:
            hours, minutes = int(off_h), int(off_m)
            if hours > 23 or minutes > 59:
                return None
            offset = timedelta(hours=hours, minutes=minutes)
            return (value - offset if sign == "+" else value + offset).replace(tzinfo=UTC)
    except (ValueError, OverflowError):
        return None
    return value


def in_range(value: datetime) -> bool:
    return MIN_INSTANT <= value <= MAX_INSTANT


def query_timestamp(params: Mapping[str, str], name: str) -> datetime | None:
    """timeMin, timeMax, updatedMin: RFC 3339 with its mandatory offset, in UTC. A `+` the
    client did not percent-encode arrives as a space and is read as the `+` it was."""
    raw = params.get(name)
    if not raw:
        return None
    parsed = _parse_rfc3339(raw.strip().replace(" ", "+"), offset_required=True)
    if parsed is None or parsed.tzinfo is None:
        raise invalid_value(name, raw)
    return parsed


def body_timestamp(text: str, name: str) -> datetime:
    """A timestamp in a request body that must carry its offset (freeBusy timeMin/timeMax)."""
    parsed = _parse_rfc3339(text.strip(), offset_required=True)
    if parsed is None or parsed.tzinfo is None:
        raise bad_request(f"Invalid value for: {name}", reason="invalid")
    return parsed


def event_datetime(text: str) -> datetime | None:
    """An event's dateTime: RFC 3339, offset optional (naive when it has none), or None."""
    return _parse_rfc3339(text.strip(), offset_required=False)


def event_date(text: str) -> date | None:
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


@functools.cache
def _zone_names() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def zone(name: str) -> zoneinfo.ZoneInfo | None:
    """The IANA zone `name`, or None for anything that is not one (never an exception)."""
    if not name or len(name) > MAX_ZONE_NAME or name not in _zone_names():
        return None
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        return None


def query_zone(params: Mapping[str, str], name: str) -> str | None:
    raw = params.get(name)
    if raw is None or raw == "":
        return None
    if zone(raw) is None:
        raise invalid_value(name, raw)
    return raw


# -- recurrence (RFC 5545 §3.3.10, §3.8.5) ---------------------------------------------------
MAX_INTERVAL = 999  # the world's recurrence model bounds Outlook's way; Google's rules map to it
MAX_COUNT = 999
_FREQS = frozenset({"SECONDLY", "MINUTELY", "HOURLY", "DAILY", "WEEKLY", "MONTHLY", "YEARLY"})
_DAYS = frozenset({"MO", "TU", "WE", "TH", "FR", "SA", "SU"})
_WEEKDAY = re.compile(r"([+-]?)(\d{1,2})?(MO|TU|WE|TH|FR|SA|SU)")
_SIGNED = re.compile(r"([+-]?)(\d{1,3})")
_DATE = re.compile(r"\d{8}")
_DATE_TIME = re.compile(r"\d{8}T\d{6}Z?")
# BYxxx: (lowest, highest, may be negative)
_BY_NUMBERS = {"BYSECOND": (0, 60, False), "BYMINUTE": (0, 59, False), "BYHOUR": (0, 23, False),
               "BYMONTHDAY": (1, 31, True), "BYYEARDAY": (1, 366, True),
               "BYWEEKNO": (1, 53, True), "BYMONTH": (1, 12, False),
               "BYSETPOS": (1, 366, True)}


def invalid_recurrence() -> GoogleError:
    return bad_request("Invalid recurrence rule.", reason="invalid")


def _ical_date(text: str) -> bool:
    if _DATE.fullmatch(text):
        try:
            date(int(text[:4]), int(text[4:6]), int(text[6:8]))
        except ValueError:
            return False
        return True
    if _DATE_TIME.fullmatch(text):
        try:
            datetime(int(text[:4]), int(text[4:6]), int(text[6:8]), int(text[9:11]),
                     int(text[11:13]), int(text[13:15]))
        except ValueError:
            return False
        return True
    return False


def _digits(text: str, low: int, high: int) -> bool:
    return text.isascii() and text.isdigit() and len(text) <= 4 and low <= int(text) <= high


def _rrule(value: str) -> bool:
    parts: dict[str, str] = {}
    for part in value.split(";"):
        key, sep, val = part.partition("=")
        key = key.upper()
        if not sep or not val or key in parts:
            return False
        parts[key] = val.upper()
    if parts.get("FREQ") not in _FREQS:
        return False
    if "COUNT" in parts and "UNTIL" in parts:
        return False
    for key, val in parts.items():
        if key == "FREQ":
            continue
        if key == "INTERVAL":
            ok = _digits(val, 1, MAX_INTERVAL)
        elif key == "COUNT":
            ok = _digits(val, 1, MAX_COUNT)
        elif key == "UNTIL":
            ok = _ical_date(val)
        elif key == "WKST":
            ok = val in _DAYS
        elif key == "BYDAY":
            ok = all(_byday(item) for item in val.split(","))
        elif key in _BY_NUMBERS:
            low, high, signed = _BY_NUMBERS[key]
            ok = all(_by_number(item, low, high, signed) for item in val.split(","))
        else:
            ok = False
        if not ok:
            return False
    return True


def _byday(item: str) -> bool:
    match = _WEEKDAY.fullmatch(item)
    if match is None:
        return False
    ordinal = match.group(2)
    return ordinal is None or 1 <= int(ordinal) <= 53


def _by_number(item: str, low: int, high: int, signed: bool) -> bool:
    match = _SIGNED.fullmatch(item)
    if match is None or (match.group(1) and not signed):
        return False
    return low <= int(match.group(2)) <= high


def _dates(params: list[str], value: str) -> bool:
    kind = "DATE-TIME"
    for param in params:
        name, sep, val = param.partition("=")
        name = name.upper()
        if not sep:
            return False
        if name == "VALUE":
            kind = val.upper()
            if kind not in ("DATE", "DATE-TIME", "PERIOD"):
                return False
        elif name == "TZID":
            if zone(val) is None:
                return False
        else:
            return False
    for item in value.split(","):
        if kind == "PERIOD":
            start, sep, end = item.partition("/")
            if not sep or not _ical_date(start):
                return False
            continue
        if kind == "DATE" and not _DATE.fullmatch(item):
            return False
        if not _ical_date(item):
            return False
    return True


def recurrence_lines(lines: list[str]) -> None:
    """Each of an event's `recurrence` lines: RRULE / EXRULE / RDATE / EXDATE, well formed."""
    for line in lines:
        head, sep, value = line.partition(":")
        if not sep or not value:
            raise invalid_recurrence()
        name, *params = head.split(";")
        name = name.upper()
        if name in ("RRULE", "EXRULE"):
            ok = not params and _rrule(value)
        elif name in ("RDATE", "EXDATE"):
            ok = _dates(params, value)
        else:
            ok = False
        if not ok:
            raise invalid_recurrence()
