"""Recurring events as Calendar v3 shows them, rendered from the world's neutral series model
(world/recurrence.py): the master's `recurrence` lines (RRULE + EXDATE), its instances and the
ids Google gives them, and the other direction, a body's lines read into the neutral model.

- An instance's id is `{master id}_{original start}`: `20240506T080000Z` (UTC) for a timed
  series, `20240506` for an all-day one, as Google names them; `recurringEventId` is the
  master's id and `originalStartTime` the occurrence's original start in the series' zone.
- An instance is rendered as the master with the occurrence's times and whatever its exception
  changed; it has no `recurrence`. A cancelled instance is `{kind, etag, id, status:
  "cancelled", recurringEventId, originalStartTime}`.
- The master's lines: the RRULE the client wrote, echoed while it still describes the series
  (another protocol may have changed the pattern: then the neutral pattern's own RRULE), and
  one EXDATE line holding every cancelled occurrence, whichever protocol cancelled it. Lines the
  neutral model cannot hold (RDATE, EXRULE, an RRULE with BYHOUR…) keep the event a single
  event for expansion, as before, and are echoed verbatim.
- A series asked for without an upper bound is expanded whole when numbered (at most 999), else
  up to HORIZON after the latest of today, the lower bound and the series' start (Google's own
  cut-off is not documented).
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from mock_providers.google import validate
from mock_providers.world import Event
from mock_providers.world.recurrence import (
    Instance,
    Recurrence,
    RecurrenceError,
    SeriesExceptions,
    expand,
    find_instance,
    from_rrule,
    to_rrule,
)

HORIZON = timedelta(days=730)
MAX_EXDATES = 1000
INSTANCE = "instance"  # Event.extra key on an instance copy: (master gid, original, all day)
CANCELLED = "instance.cancelled"  # Event.extra key: the copy stands for a cancelled occurrence
_INSTANCE_ID = re.compile(r"(?P<gid>[a-v0-9]{5,1024})_(?P<day>\d{8})(?:T(?P<t>\d{6})Z)?")


# -- ids -----------------------------------------------------------------------------------------
def event_gid(event_id: str) -> str:
    """An event's Google id: its world id without dashes (render.py's rule, kept here so the
    instance ids are built from the same one)."""
    return event_id.replace("-", "")


def stamp(original: datetime, all_day: bool) -> str:
    v = original.astimezone(UTC)
    day = f"{v.year:04d}{v.month:02d}{v.day:02d}"
    return day if all_day else f"{day}T{v.hour:02d}{v.minute:02d}{v.second:02d}Z"


def instance_gid(master_gid: str, original: datetime, all_day: bool) -> str:
    return f"{master_gid}_{stamp(original, all_day)}"


def parse_instance_gid(text: str) -> tuple[str, datetime] | None:
    """(master's Google id, original start in UTC) of an instance id, or None."""
    match = _INSTANCE_ID.fullmatch(text)
    if match is None:
        return None
    day, clock = match.group("day"), match.group("t") or "000000"
    try:
        original = datetime(
            int(day[:4]),
            int(day[4:6]),
            int(day[6:]),
            int(clock[:2]),
            int(clock[2:4]),
            int(clock[4:]),
            tzinfo=UTC,
        )
    except ValueError:
        return None
    return match.group("gid"), original


# -- the master's lines ----------------------------------------------------------------------------
def _stored_lines(event: Event) -> list[str]:
    lines = (event.extra.get("google") or {}).get("recurrence") or []
    return [str(line) for line in lines]


def _is(line: str, name: str) -> bool:
    head = line.split(":", 1)[0].split(";", 1)[0]
    return head.upper() == name


def _exdate(event: Event) -> str | None:
    if not event.exceptions.cancelled:
        return None
    cancelled = sorted(event.exceptions.cancelled)
    if event.is_all_day:
        return "EXDATE;VALUE=DATE:" + ",".join(stamp(c, True) for c in cancelled)
    zone_name = series_zone(event)
    zone = validate.zone(zone_name)
    if zone is None or zone_name == "UTC":
        return "EXDATE:" + ",".join(stamp(c, False) for c in cancelled)
    local = (c.astimezone(zone) for c in cancelled)
    return f"EXDATE;TZID={zone_name}:" + ",".join(f"{v:%Y%m%dT%H%M%S}" for v in local)


def recurrence_lines(event: Event) -> list[str] | None:
    """The `recurrence` member of a master, or None for an event that has none."""
    stored = _stored_lines(event)
    if event.recurrence is None:
        return stored or None
    rule = next((line for line in stored if _is(line, "RRULE")), None)
    if rule is None or read_rule(rule, event) != event.recurrence:
        rule = to_rrule(event.recurrence, event.start)
    out = [rule]
    exdate = _exdate(event)
    if exdate:
        out.append(exdate)
    return out


def series_zone(event: Event) -> str:
    """The zone a series' wall-clock times live in (its pattern's, whichever protocol made it);
    whole days are UTC days (the world stores an all-day event at UTC midnights)."""
    if event.is_all_day:
        return "UTC"
    return event.recurrence.range.time_zone if event.recurrence else event.time_zone


def read_rule(line: str, event: Event) -> Recurrence | None:
    try:
        return from_rrule(line, event.start, series_zone(event))
    except (RecurrenceError, ValueError, OverflowError):  # UNTIL at the edge of time
        return None


def read_lines(lines: list[str], event: Event) -> tuple[Recurrence | None, set[datetime]]:
    """The neutral series `lines` describe for an event at `event`'s start and zone, and the
    original starts its EXDATEs cancel (only those that are occurrences of the series). None
    when a line is one the neutral model cannot hold."""
    rules = [line for line in lines if _is(line, "RRULE")]
    others = [line for line in lines if not _is(line, "RRULE") and not _is(line, "EXDATE")]
    if len(rules) != 1 or others:
        return None, set()
    rec = read_rule(rules[0], event)
    if rec is None:
        return None, set()
    wanted: set[datetime] = set()
    for line in lines:
        if _is(line, "EXDATE"):
            wanted |= _exdates(line, series_zone(event))
            if len(wanted) > MAX_EXDATES:
                return None, set()
    cancelled = {
        moment
        for moment in wanted
        if find_instance(rec, event.start, event.end, None, moment) is not None
    }
    return rec, cancelled


def _exdates(line: str, zone_name: str) -> set[datetime]:
    """The instants of one EXDATE line (already checked by validate.recurrence_lines)."""
    head, _, value = line.partition(":")
    params = dict(p.partition("=")[::2] for p in head.split(";")[1:])
    zone = validate.zone(params.get("TZID") or zone_name) or UTC
    out: set[datetime] = set()
    for item in value.split(","):
        # A PERIOD value (start/duration) names no occurrence start; an instant no zone can
        # render names none either: both are left out rather than failing the write.
        try:
            if len(item) == 8:
                day = date(int(item[:4]), int(item[4:6]), int(item[6:]))
                out.add(datetime.combine(day, time(), UTC))
                continue
            moment = datetime.strptime(item.rstrip("Z"), "%Y%m%dT%H%M%S")
            aware = moment.replace(tzinfo=UTC if item.endswith("Z") else zone)
            out.add(aware.astimezone(UTC))
        except (ValueError, OverflowError):
            continue
    return out


# -- instances -------------------------------------------------------------------------------------
def horizon(master: Event, today: datetime, low: datetime | None) -> datetime | None:
    """Where an expansion with no upper bound stops: nowhere for a numbered series (at most
    999 instances), else HORIZON after the latest of today, the lower bound and the series'
    start."""
    rec = master.recurrence
    if rec is None or rec.range.type == "numbered":
        return None
    return max(today, low or today, master.start) + HORIZON


def instances(
    master: Event, low: datetime | None, high: datetime | None, today: datetime
) -> list[Instance]:
    """The master's live instances overlapping [low, high)."""
    assert master.recurrence is not None
    top = high if high is not None else horizon(master, today, low)
    return expand(master.recurrence, master.start, master.end, master.exceptions, low, top)


def exception_instances(master: Event) -> list[Instance]:
    """The master's modified occurrences (what Google lists beside a master)."""
    assert master.recurrence is not None
    out = []
    for original in sorted(master.exceptions.modified):
        found = find_instance(
            master.recurrence, master.start, master.end, master.exceptions, original
        )
        if found is not None:
            out.append(found)
    return out


def find(master: Event, original: datetime) -> Instance | None:
    if master.recurrence is None:
        return None
    return find_instance(master.recurrence, master.start, master.end, master.exceptions, original)


def instance_event(master: Event, inst: Instance) -> Event:
    """The occurrence as a world Event of its own (for filtering, sorting and rendering)."""
    change = inst.change
    google = {k: v for k, v in (master.extra.get("google") or {}).items() if k != "recurrence"}
    extra = {
        **master.extra,
        "google": google,
        INSTANCE: (event_gid(master.id), inst.original_start, master.is_all_day),
    }
    fields: dict[str, Any] = {}
    if change is not None:
        for name in ("subject", "body", "location", "sensitivity", "show_as"):
            value = getattr(change, name)
            if value is not None:
                fields[name] = value
    key = master.change_key + (f"|{change.change_key}" if change and change.change_key else "")
    return replace(
        master,
        id=f"{master.id}_{stamp(inst.original_start, master.is_all_day)}",
        start=inst.start,
        end=inst.end,
        recurrence=None,
        exceptions=SeriesExceptions(),
        extra=extra,
        change_key=key,
        last_modified=(
            change.last_modified if change and change.last_modified else master.last_modified
        ),
        attendees=list(master.attendees),
        categories=list(master.categories),
        **fields,
    )


def cancelled_instance(master: Event, original: datetime) -> Event:
    """A cancelled occurrence as an Event marked cancelled (rendered as Google's stub)."""
    inst = Instance(original, original, original + (master.end - master.start), 0, None)
    event = instance_event(master, inst)
    event.extra[CANCELLED] = True
    event.change_key = f"{master.change_key}|x"
    return event


def cancelled_in(master: Event, low: datetime | None, high: datetime | None) -> list[Event]:
    duration = master.end - master.start
    return [
        cancelled_instance(master, original)
        for original in sorted(master.exceptions.cancelled)
        if (low is None or original + duration > low) and (high is None or original < high)
    ]
