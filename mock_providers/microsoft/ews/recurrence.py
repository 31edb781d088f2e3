"""t:Recurrence in and out, to and from the world's provider-neutral `Recurrence`, and the time
zone names EWS speaks (Windows ids such as `W. Europe Standard Time`) beside the IANA names the
world expands a series in.

Patterns: DailyRecurrence, WeeklyRecurrence, AbsoluteMonthlyRecurrence, RelativeMonthlyRecurrence,
AbsoluteYearlyRecurrence, RelativeYearlyRecurrence (the task-only *Regeneration patterns are
ErrorUnsupportedRecurrence, as Exchange answers for a calendar item). Ranges: NoEndRecurrence,
EndDateRecurrence, NumberedRecurrence. Relative patterns take the pseudo days `Day`, `Weekday`
and `WeekendDay` and are written back with them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta

from lxml import etree

from mock_providers.microsoft.ews.xml import local, schema_error, t, text
from mock_providers.microsoft.graph.timezones import WINDOWS_ZONES
from mock_providers.world.recurrence import (
    WEEKDAYS,
    Pattern,
    Range,
    Recurrence,
    RecurrenceError,
    known_zone,
)

_PATTERNS = {"DailyRecurrence": "daily", "WeeklyRecurrence": "weekly",
             "AbsoluteMonthlyRecurrence": "absoluteMonthly",
             "RelativeMonthlyRecurrence": "relativeMonthly",
             "AbsoluteYearlyRecurrence": "absoluteYearly",
             "RelativeYearlyRecurrence": "relativeYearly"}
_PATTERN_TAGS = {v: k for k, v in _PATTERNS.items()}
_RANGES = {"NoEndRecurrence": "noEnd", "EndDateRecurrence": "endDate",
           "NumberedRecurrence": "numbered"}
_RANGE_TAGS = {v: k for k, v in _RANGES.items()}
_DAY_NAMES = tuple(d.title() for d in WEEKDAYS)
_PSEUDO_DAYS = {"Day": WEEKDAYS, "Weekday": WEEKDAYS[:5], "WeekendDay": WEEKDAYS[5:]}
_INDEXES = {"First": "first", "Second": "second", "Third": "third", "Fourth": "fourth",
            "Last": "last"}
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December")
# IANA -> the Windows id Exchange writes (first Windows name wins for an IANA zone)
_IANA_TO_WINDOWS = {iana: name.title() for name, iana in reversed(WINDOWS_ZONES.items())}
_IANA_TO_WINDOWS.update({"UTC": "UTC", "W. Europe Standard Time": "W. Europe Standard Time"})


def iana_zone(name: str | None) -> str:
    """The IANA name for a zone EWS or another protocol stored (Windows or IANA); UTC if
    unknown."""
    key = (name or "UTC").strip()
    iana = WINDOWS_ZONES.get(key.lower(), key)
    return iana if known_zone(iana) is not None else "UTC"


def windows_zone(name: str | None) -> str:
    """The Windows id EWS writes for a stored zone name (kept as is when already Windows)."""
    key = (name or "UTC").strip() or "UTC"
    if key.lower() in WINDOWS_ZONES:
        return key
    return _IANA_TO_WINDOWS.get(key, key)


class ItemError(Exception):
    """A per-folder/per-item error, rendered as a ResponseMessage with ResponseClass Error.
    Defined here, the lowest module that raises one; `context` re-exports it to the others."""

    def __init__(self, code: str, text: str) -> None:
        super().__init__(text)
        self.code, self.text = code, text


@dataclass(frozen=True, slots=True)
class RecurrenceSpec:
    """A t:Recurrence as read, before the series' zone is known."""

    pattern: Pattern
    range: Range  # time_zone filled in by `build`


def _int(elem: etree._Element, name: str, low: int, high: int) -> int:
    value = (text(elem, t(name)) or "").strip()
    # Length first: int() refuses 4,300+ digits with a ValueError nobody here would catch.
    if not value.isascii() or not value.isdigit() or len(value) > len(str(high)) \
            or not low <= int(value) <= high:
        raise ItemError("ErrorCalendarInvalidRecurrence",
                        f"The recurrence pattern's {name} must be from {low} to {high}.")
    return int(value)


def _days(elem: etree._Element, relative: bool) -> tuple[str, ...]:
    out: list[str] = []
    for word in (text(elem, t("DaysOfWeek")) or "").split():
        if word in _DAY_NAMES:
            out.append(WEEKDAYS[_DAY_NAMES.index(word)])
        elif relative and word in _PSEUDO_DAYS:
            out.extend(_PSEUDO_DAYS[word])
        else:
            raise schema_error(f"The 'DaysOfWeek' element is invalid - The value '{word[:40]}' "
                               "is invalid according to its datatype.")
    if not out:
        raise ItemError("ErrorCalendarInvalidRecurrence", "The recurrence pattern needs "
                        "DaysOfWeek.")
    return tuple(dict.fromkeys(out))


def _date(elem: etree._Element, name: str) -> date:
    value = (text(elem, t(name)) or "").strip()
    try:
        return date.fromisoformat(value[:10])  # "2026-11-24", "2026-11-24Z", "…+01:00"
    except ValueError:
        raise schema_error(f"The '{name}' element is invalid - The value '{value[:40]}' is "
                           "invalid according to its datatype 'xs:date'.") from None


def read_recurrence(elem: etree._Element) -> RecurrenceSpec:
    kids = [c for c in elem if isinstance(c.tag, str)]
    if len(kids) != 2:
        raise schema_error("t:Recurrence needs a pattern and a range.")
    pattern_elem, range_elem = kids
    kind = _PATTERNS.get(local(pattern_elem))
    if kind is None:
        raise ItemError("ErrorUnsupportedRecurrence",
                        f"The recurrence pattern '{local(pattern_elem)}' is not supported for "
                        "calendar items.")
    interval = 1 if kind in ("absoluteYearly", "relativeYearly") else \
        _int(pattern_elem, "Interval", 1, 999)
    relative = kind in ("relativeMonthly", "relativeYearly")
    days = _days(pattern_elem, relative) if kind == "weekly" or relative else ()
    day_of_month = _int(pattern_elem, "DayOfMonth", 1, 31) \
        if kind in ("absoluteMonthly", "absoluteYearly") else 0
    month = 0
    if kind in ("absoluteYearly", "relativeYearly"):
        name = (text(pattern_elem, t("Month")) or "").strip()
        if name not in _MONTHS:
            raise schema_error(f"The 'Month' element is invalid - The value '{name[:40]}' is "
                               "invalid according to its datatype.")
        month = _MONTHS.index(name) + 1
    index = "first"
    if relative:
        name = (text(pattern_elem, t("DayOfWeekIndex")) or "").strip()
        if name not in _INDEXES:
            raise schema_error(f"The 'DayOfWeekIndex' element is invalid - The value "
                               f"'{name[:40]}' is invalid according to its datatype.")
        index = _INDEXES[name]
    first_day = "sunday"
    if kind == "weekly" and pattern_elem.find(t("FirstDayOfWeek")) is not None:
        name = (text(pattern_elem, t("FirstDayOfWeek")) or "").strip()
        if name not in _DAY_NAMES:
            raise schema_error(f"The 'FirstDayOfWeek' element is invalid - The value "
                               f"'{name[:40]}' is invalid according to its datatype.")
        first_day = WEEKDAYS[_DAY_NAMES.index(name)]
    range_kind = _RANGES.get(local(range_elem))
    if range_kind is None:
        raise schema_error(f"'{local(range_elem)[:40]}' is not a recurrence range.")
    start = _date(range_elem, "StartDate")
    end = _date(range_elem, "EndDate") if range_kind == "endDate" else None
    number = _int(range_elem, "NumberOfOccurrences", 1, 999) if range_kind == "numbered" else 0
    pattern = Pattern(kind, interval, days, day_of_month, month, index,  # type: ignore[arg-type]
                      first_day)
    return RecurrenceSpec(pattern, Range(range_kind, start, end, number))  # type: ignore[arg-type]


def build(spec: RecurrenceSpec, zone_name: str | None) -> Recurrence:
    """The world's Recurrence for `spec`, expanded in the item's start time zone."""
    try:
        return Recurrence(spec.pattern, replace(spec.range, time_zone=iana_zone(zone_name)))
    except RecurrenceError as exc:
        raise ItemError("ErrorCalendarInvalidRecurrence", str(exc)) from None


def _xs_date(day: date, rec: Recurrence) -> str:
    """An xs:date with the series zone's offset, as Exchange writes it (`2026-11-30+01:00`,
    `2026-11-30Z`)."""
    offset = datetime.combine(day, time(), rec.zone).utcoffset() or timedelta(0)
    if not offset:
        return f"{day.isoformat()}Z"
    minutes = int(offset.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    return f"{day.isoformat()}{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def render_recurrence(item: etree._Element, rec: Recurrence) -> None:
    p, r = rec.pattern, rec.range
    box = etree.SubElement(item, t("Recurrence"))
    pattern = etree.SubElement(box, t(_PATTERN_TAGS[p.type]))

    def sub(parent: etree._Element, name: str, value: str) -> None:
        etree.SubElement(parent, t(name)).text = value

    if p.type not in ("absoluteYearly", "relativeYearly"):
        sub(pattern, "Interval", str(p.interval))
    relative = p.type in ("relativeMonthly", "relativeYearly")
    if p.type == "weekly" or relative:
        days = set(p.days_of_week)
        pseudo = next((k for k, v in _PSEUDO_DAYS.items() if relative and set(v) == days), None)
        sub(pattern, "DaysOfWeek", pseudo or " ".join(
            d.title() for d in WEEKDAYS if d in days))
    if relative:
        sub(pattern, "DayOfWeekIndex", p.index.title())
    if p.type == "weekly":
        sub(pattern, "FirstDayOfWeek", p.first_day_of_week.title())
    if p.type in ("absoluteMonthly", "absoluteYearly"):
        sub(pattern, "DayOfMonth", str(p.day_of_month))
    if p.type in ("absoluteYearly", "relativeYearly"):
        sub(pattern, "Month", _MONTHS[p.month - 1])
    rng = etree.SubElement(box, t(_RANGE_TAGS[r.type]))
    sub(rng, "StartDate", _xs_date(r.start_date, rec))
    if r.type == "endDate" and r.end_date is not None:
        sub(rng, "EndDate", _xs_date(r.end_date, rec))
    if r.type == "numbered":
        sub(rng, "NumberOfOccurrences", str(r.number_of_occurrences))
