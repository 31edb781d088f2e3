"""events.list's query: its options parsed strictly, the combinations Google refuses refused, and
the filters that select events (and deleted events) for a page.

Every option of events.list in the Calendar v3 discovery document is read here (`LIST_PARAMS`;
tests/test_google_queries.py checks the two agree) and is either honoured or, where the world has
nothing it could apply to, validated and documented:

- `q`: free text, case-insensitive (Unicode case folding), over summary, description, location,
  the organizer's and the attendees' names and e-mail addresses. Every term must occur (AND);
  a "quoted phrase" is one term. A term matches anywhere in the text (a substring), which finds
  at least what a word-based search finds.
- `timeMin` / `timeMax`: overlap. timeMin excludes events that end at or before it, timeMax
  events that start at or after it; milliseconds are ignored, as the reference says. timeMax
  must be after timeMin (400 timeRangeEmpty).
- `updatedMin`: live events modified at or after it, and events deleted at or after it whatever
  `showDeleted` says.
- `orderBy`: `startTime` (only with `singleEvents=true`, else 400 badRequest, as Google answers)
  or `updated`; no orderBy is a stable order by id.
- `showDeleted`: cancelled events too (`{kind, etag, id, status}`), after the live ones.
- `iCalUID`, `privateExtendedProperty` / `sharedExtendedProperty` (name=value, all must match).
- `eventTypes`: every event in the world is a `default` event.
- `singleEvents`: recurring events expanded into their instances (instances.py), the masters
  left out; without it a master is listed with its modified instances beside it, and with
  showDeleted its cancelled instances too, as Google lists them. `maxAttendees`, `timeZone`,
  `showHiddenInvitations`, `alwaysIncludeEmail`: validated, no effect on what the mock renders.
- `syncToken` cannot be combined with iCalUID, orderBy, privateExtendedProperty, q,
  sharedExtendedProperty, timeMin, timeMax or updatedMin: 400 invalid.

Deleted events are remembered (a `Tombstone`: when, its times and searchable text) when they are
deleted through this API, so showDeleted/updatedMin filter them like live ones. An event deleted
through another protocol, or whose tombstone was evicted, has no record of its time or text: it
passes every filter (telling a client of a deletion it did not need loses nothing; hiding one
would).
"""

from __future__ import annotations

import re
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from starlette.datastructures import QueryParams

from mock_providers.google import validate
from mock_providers.google.errors import GoogleError, bad_request, invalid_value
from mock_providers.world import Event
from mock_providers.world.recurrence import last_end

MAX_RESULTS, DEFAULT_RESULTS = 2500, 250
SYNC_RESTRICTED = ("iCalUID", "orderBy", "privateExtendedProperty", "q",
                   "sharedExtendedProperty", "timeMin", "timeMax", "updatedMin")
ORDERS = ("startTime", "updated")
EVENT_TYPES = ("birthday", "default", "focusTime", "fromGmail", "outOfOffice",
               "workingLocation")
# Every query option of events.list the mock reads (path parameter calendarId aside).
LIST_PARAMS = frozenset({
    "alwaysIncludeEmail", "eventTypes", "iCalUID", "maxAttendees", "maxResults", "orderBy",
    "pageToken", "privateExtendedProperty", "q", "sharedExtendedProperty", "showDeleted",
    "showHiddenInvitations", "singleEvents", "syncToken", "timeMax", "timeMin", "timeZone",
    "updatedMin"})
MAX_TOMBSTONES = 100_000
MAX_SEARCH_TEXT = 4096
_TERMS = re.compile(r'"([^"]*)"|(\S+)')


def search_text(event: Event) -> str:
    return " ".join([event.subject, event.body, event.location, event.organizer_email,
                     event.organizer_name,
                     *(f"{a.email} {a.name}" for a in event.attendees)]).casefold()


def terms(q: str) -> list[str]:
    return [t.casefold() for phrase, word in _TERMS.findall(q) for t in (phrase or word,) if t]


def _props(event: Event) -> dict[str, Any]:
    props = (event.extra.get("google") or {}).get("extendedProperties")
    return props if isinstance(props, dict) else {}


@dataclass(frozen=True, slots=True)
class Tombstone:
    deleted_at: datetime
    start: datetime
    end: datetime
    text: str  # search_text, cut at MAX_SEARCH_TEXT
    ical_uid: str
    props: dict[str, Any]

    @classmethod
    def of(cls, event: Event, now: datetime) -> Tombstone:
        return cls(now, event.start, event.end, search_text(event)[:MAX_SEARCH_TEXT],
                   event.ical_uid, _props(event))


@dataclass
class Tombstones:
    """(calendar id, world event id) → Tombstone, oldest evicted past MAX_TOMBSTONES."""

    items: OrderedDict[tuple[str, str], Tombstone] = field(default_factory=OrderedDict)

    def add(self, calendar_id: str, event: Event, now: datetime) -> None:
        self.items[(calendar_id, event.id)] = Tombstone.of(event, now)
        while len(self.items) > MAX_TOMBSTONES:
            self.items.popitem(last=False)

    def get(self, calendar_id: str, event_id: str) -> Tombstone | None:
        return self.items.get((calendar_id, event_id))

    def forget(self, calendar_id: str, event_id: str) -> None:
        self.items.pop((calendar_id, event_id), None)


@dataclass(frozen=True, slots=True)
class Filters:
    time_min: datetime | None = None
    time_max: datetime | None = None
    updated_min: datetime | None = None
    ical_uid: str | None = None
    q_terms: tuple[str, ...] = ()
    private_props: tuple[tuple[str, str], ...] = ()
    shared_props: tuple[tuple[str, str], ...] = ()
    default_events: bool = True  # eventTypes includes "default" (or is not given)

    def _common(self, start: datetime, end: datetime, ical_uid: str, props: dict[str, Any],
                text: str) -> bool:
        if not self.default_events:
            return False
        if self.time_min is not None and not end > self.time_min:
            return False
        if self.time_max is not None and not start < self.time_max:
            return False
        if self.ical_uid is not None and ical_uid != self.ical_uid:
            return False
        for scope, wanted in (("private", self.private_props), ("shared", self.shared_props)):
            have = props.get(scope) or {}
            if any(have.get(k) != v for k, v in wanted):
                return False
        return all(term in text for term in self.q_terms)

    def match(self, event: Event) -> bool:
        if self.updated_min is not None and event.last_modified < self.updated_min:
            return False
        text = search_text(event) if self.q_terms else ""
        return self._common(event.start, listing_end(event), event.ical_uid, _props(event), text)

    def match_deleted(self, tomb: Tombstone | None) -> bool:
        if tomb is None:
            return self.default_events
        if self.updated_min is not None and tomb.deleted_at < self.updated_min:
            return False
        return self._common(tomb.start, tomb.end, tomb.ical_uid, tomb.props, tomb.text)


@dataclass(frozen=True, slots=True)
class ListQuery:
    size: int
    sync_token: str | None
    page_token: str | None
    order: str
    show_deleted: bool
    filters: Filters
    single_events: bool = False

    @property
    def wants_deleted(self) -> bool:
        return self.show_deleted or self.filters.updated_min is not None


def _extended(params: QueryParams, name: str) -> tuple[tuple[str, str], ...]:
    out = []
    for raw in params.getlist(name):
        key, sep, value = raw.partition("=")
        if not sep or not key:
            raise invalid_value(name, raw)
        out.append((key, value))
    return tuple(out)


def _whole_seconds(value: datetime | None) -> datetime | None:
    return value.replace(microsecond=0) if value is not None else None


def parse_list_query(params: QueryParams) -> ListQuery:
    """Every option validated (400 on the first bad one), then the refused combinations."""
    size = validate.query_int(params, "maxResults", DEFAULT_RESULTS, 1, MAX_RESULTS)
    validate.query_int(params, "maxAttendees", 0, 1, 2**31 - 1, clamp=False)
    validate.query_zone(params, "timeZone")
    for flag in ("alwaysIncludeEmail", "showHiddenInvitations"):
        validate.query_bool(params, flag)
    single_events = validate.query_bool(params, "singleEvents")
    show_deleted = validate.query_bool(params, "showDeleted")
    order = validate.query_enum(params, "orderBy", ORDERS)
    types = params.getlist("eventTypes")
    for kind in types:
        if kind not in EVENT_TYPES:
            raise invalid_value("eventTypes", kind)
    time_min = _whole_seconds(validate.query_timestamp(params, "timeMin"))
    time_max = _whole_seconds(validate.query_timestamp(params, "timeMax"))
    updated_min = validate.query_timestamp(params, "updatedMin")
    filters = Filters(time_min, time_max, updated_min, params.get("iCalUID") or None,
                      tuple(terms(params.get("q") or "")),
                      _extended(params, "privateExtendedProperty"),
                      _extended(params, "sharedExtendedProperty"),
                      default_events=not types or "default" in types)
    sync_token = params.get("syncToken") or None
    if sync_token:
        clashing = [p for p in SYNC_RESTRICTED if params.get(p)]
        if clashing:
            raise bad_request(f"The syncToken parameter cannot be combined with "
                              f"{', '.join(clashing)}.", reason="invalid")
    if order == "startTime" and not single_events:
        raise bad_request("The requested ordering is not available for the particular query.")
    if time_min is not None and time_max is not None and time_max <= time_min:
        raise GoogleError(400, "The specified time range is empty.", reason="timeRangeEmpty")
    return ListQuery(size, sync_token, params.get("pageToken") or None, order, show_deleted,
                     filters, single_events)


_OPEN_ENDED = datetime.max.replace(tzinfo=UTC)


def listing_end(event: Event) -> datetime:
    """The end timeMin is judged against: the event's own end, or for a series master the end
    of its last instance, as Google lists a series while any instance ends after timeMin (an
    open-ended series: always)."""
    if event.recurrence is None:
        return event.end
    end = last_end(event.recurrence, event.start, event.end)
    return _OPEN_ENDED if end is None else max(end, event.end)

