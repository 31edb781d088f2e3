"""When a meeting's last occurrence ends: the end itself for a single meeting, the end of the
last occurrence for a series whose RRULE has COUNT or UNTIL, None for an open-ended series."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from dateutil import rrule

from harness.sync.model import MeetingFields

# A series with more occurrences than this is treated as open-ended: no request should make the
# sync core enumerate without bound.
MAX_OCCURRENCES = 5_000


def series_end(f: MeetingFields) -> datetime | None:
    if not f.recurrence:
        return f.end
    line = f.recurrence.removeprefix("RRULE:")
    if "COUNT=" not in line and "UNTIL=" not in line:
        return None
    try:
        zone = ZoneInfo(f.time_zone)
        local = f.start.astimezone(zone).replace(tzinfo=None)
        rule = rrule.rrulestr(line, dtstart=local, ignoretz=True)
    except (ValueError, KeyError, OSError):
        return None
    last = None
    for n, occurrence in enumerate(rule):
        if n >= MAX_OCCURRENCES:
            return None
        last = occurrence
    if last is None:
        return f.end
    return last.replace(tzinfo=zone) + (f.end - f.start)
