"""One RFC 5545 RRULE line ⇄ Microsoft's patterned recurrence (Graph `patternedRecurrence`, and
the same vocabulary EWS's `*Recurrence` elements use), for the fields `MeetingFields.recurrence`
carries.

The sync core keeps a series' recurrence as one `RRULE:` line (Google's own form). Graph and EWS
describe a series as a pattern plus a range; the connectors convert both ways here. The line is
written in one canonical order (FREQ, INTERVAL, BYMONTH, BYMONTHDAY, BYDAY, BYSETPOS, WKST,
COUNT|UNTIL) so a line written by the platform in that order reads back unchanged. Anything the
pattern model cannot hold (FREQ=HOURLY, BYHOUR, ...) is a `ValueError`: the connector then leaves
the recurrence out rather than writing a different series.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
CODES = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
_INDEX_POS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "last": -1}
_POS_INDEX = {v: k for k, v in _INDEX_POS.items()}
_FREQ = {"daily": "DAILY", "weekly": "WEEKLY", "absoluteMonthly": "MONTHLY",
         "relativeMonthly": "MONTHLY", "absoluteYearly": "YEARLY", "relativeYearly": "YEARLY"}
# Graph's recurrenceTimeZone is a Windows zone name; the ones the mocks and the seeds use.
_WINDOWS_TO_IANA = {"UTC": "UTC", "GMT Standard Time": "Europe/London",
                    "W. Europe Standard Time": "Europe/Berlin",
                    "Romance Standard Time": "Europe/Paris",
                    "Eastern Standard Time": "America/New_York",
                    "Central Standard Time": "America/Chicago",
                    "Pacific Standard Time": "America/Los_Angeles",
                    "Tokyo Standard Time": "Asia/Tokyo", "India Standard Time": "Asia/Kolkata"}


def zone(name: str | None) -> ZoneInfo:
    """An IANA zone for an IANA or Windows name; UTC for anything unknown."""
    name = _WINDOWS_TO_IANA.get(name or "UTC", name or "UTC")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def from_pattern(recurrence: dict[str, Any], time_zone: str = "UTC") -> str:
    """`RRULE:…` for a Graph patternedRecurrence (JSON shape); ValueError if it has none."""
    p, r = recurrence.get("pattern") or {}, recurrence.get("range") or {}
    kind = p.get("type")
    if kind not in _FREQ:
        raise ValueError(f"unknown recurrence pattern {kind!r}")
    parts = [f"FREQ={_FREQ[kind]}"]
    interval = int(p.get("interval") or 1)
    if interval != 1:
        parts.append(f"INTERVAL={interval}")
    days = ",".join(CODES[WEEKDAYS.index(d.lower())] for d in p.get("daysOfWeek") or [])
    if kind in ("absoluteYearly", "relativeYearly"):
        parts.append(f"BYMONTH={int(p.get('month') or 1)}")
    if kind in ("absoluteMonthly", "absoluteYearly"):
        parts.append(f"BYMONTHDAY={int(p.get('dayOfMonth') or 1)}")
    elif kind != "daily":
        if not days:
            raise ValueError(f"a {kind} pattern needs daysOfWeek")
        parts.append(f"BYDAY={days}")
        if kind in ("relativeMonthly", "relativeYearly"):
            parts.append(f"BYSETPOS={_INDEX_POS[p.get('index') or 'first']}")
    first = (p.get("firstDayOfWeek") or "sunday").lower()
    if kind == "weekly" and first != "monday":
        parts.append(f"WKST={CODES[WEEKDAYS.index(first)]}")
    rtype = r.get("type")
    if rtype == "numbered":
        parts.append(f"COUNT={int(r['numberOfOccurrences'])}")
    elif rtype == "endDate":
        end = date.fromisoformat(str(r["endDate"]))
        local = datetime.combine(end, time(23, 59, 59),
                                 tzinfo=zone(r.get("recurrenceTimeZone") or time_zone))
        parts.append(f"UNTIL={local.astimezone(UTC):%Y%m%dT%H%M%SZ}")
    return "RRULE:" + ";".join(parts)


def to_pattern(line: str, start: datetime, time_zone: str = "UTC") -> dict[str, Any]:
    """The Graph patternedRecurrence of an `RRULE:` line for a series starting at `start`."""
    body = line.strip()
    if body.upper().startswith("RRULE:"):
        body = body[6:]
    rule: dict[str, str] = {}
    for part in body.split(";"):
        name, sep, value = part.partition("=")
        if not sep:
            raise ValueError(f"malformed RRULE part {part!r}")
        rule[name.upper()] = value.upper()
    allowed = {"FREQ", "INTERVAL", "BYDAY", "BYMONTHDAY", "BYMONTH", "BYSETPOS", "WKST",
               "COUNT", "UNTIL"}
    if set(rule) - allowed:
        raise ValueError(f"RRULE parts the pattern model cannot hold: {set(rule) - allowed}")
    tz = zone(time_zone)
    local = start.astimezone(tz)
    freq = rule.get("FREQ")
    days = [WEEKDAYS[CODES.index(d[-2:])] for d in rule["BYDAY"].split(",")] \
        if "BYDAY" in rule else []
    pos = int(rule.get("BYSETPOS", "0") or 0)
    if any(d[:-2] for d in rule.get("BYDAY", "").split(",") if d):  # BYDAY=2TU
        head = rule["BYDAY"].split(",")[0][:-2]
        pos = int(head)
    pattern: dict[str, Any] = {"interval": int(rule.get("INTERVAL", "1")),
                               "firstDayOfWeek": WEEKDAYS[CODES.index(rule.get("WKST", "MO"))]}
    if freq == "DAILY":
        pattern["type"] = "daily"
    elif freq == "WEEKLY":
        pattern.update(type="weekly", daysOfWeek=days or [WEEKDAYS[local.weekday()]])
    elif freq in ("MONTHLY", "YEARLY"):
        yearly = freq == "YEARLY"
        if yearly:
            pattern["month"] = int(rule.get("BYMONTH", str(local.month)))
        if days:
            if pos not in _POS_INDEX:
                raise ValueError(f"BYSETPOS={pos} has no pattern index")
            pattern.update(type="relativeYearly" if yearly else "relativeMonthly",
                           daysOfWeek=days, index=_POS_INDEX[pos])
        else:
            pattern.update(type="absoluteYearly" if yearly else "absoluteMonthly",
                           dayOfMonth=int(rule.get("BYMONTHDAY", str(local.day))))
    else:
        raise ValueError(f"FREQ={freq} has no pattern")
    rng: dict[str, Any] = {"type": "noEnd", "startDate": local.date().isoformat(),
                           "recurrenceTimeZone": time_zone}
    if "COUNT" in rule:
        rng.update(type="numbered", numberOfOccurrences=int(rule["COUNT"]))
    elif "UNTIL" in rule:
        raw = rule["UNTIL"]
        if raw.endswith("Z"):
            until = datetime.strptime(raw, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC).astimezone(tz)
            end = until.date()
        else:
            end = datetime.strptime(raw[:8], "%Y%m%d").date()
        rng.update(type="endDate", endDate=end.isoformat())
    return {"pattern": pattern, "range": rng}
