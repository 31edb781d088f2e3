"""Handlers of calendarView (recurring events expanded into occurrences and exceptions inside the
window, cancelled occurrences absent, moved ones at their new time), a series' instances
(`events/{id}/instances`) and calendarView/delta (the window travels in the tokens).

Delta over occurrences: a series master stands for its occurrences and exceptions in the window,
each its own item (`type` occurrence or exception, `seriesMasterId`); the master itself is not
listed, as on Graph. When the series changes (an exception made or changed, an occurrence
cancelled, the pattern changed) the next round reports the series' instances in the window again
and `@removed` for each cancelled occurrence and each exception moved out of the window. A
series deleted through Graph is reported as `@removed` for each of its instances in the window.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from mock_providers.microsoft.graph import delta, odata
from mock_providers.microsoft.graph.bodies import EVENT_PROPERTIES, EVENT_TYPE
from mock_providers.microsoft.graph.errors import GraphError, bad_request
from mock_providers.microsoft.graph.events import (
    calendar_for,
    event_query,
    find_item,
    render_events,
)
from mock_providers.microsoft.graph.odata import LIST_OPTIONS
from mock_providers.microsoft.graph.recurrence import Occurrence, occurrence_id
from mock_providers.microsoft.graph.render import (
    EventView,
    dumps,
    occurrence_json,
    removed_json,
    select,
)
from mock_providers.microsoft.graph.request import Req, Result, delta_result, paged
from mock_providers.microsoft.graph.timezones import MAX_INSTANT, MIN_INSTANT
from mock_providers.world import Event
from mock_providers.world.recurrence import series_starts

_EVENT = "#microsoft.graph.event"
MAX_WINDOW = timedelta(days=1825)


def _overlaps(event: Event, start: datetime, end: datetime) -> bool:
    if event.start == event.end:
        return start <= event.start < end
    return event.start < end and event.end > start


def _window(req: Req) -> tuple[datetime, datetime]:
    params = req.query.params
    raw_start, raw_end = params.get("startdatetime"), params.get("enddatetime")
    if not raw_start or not raw_end:
        raise bad_request("This request requires a time window specified by the query string "
                          "parameters StartDateTime and EndDateTime.",
                          code="ErrorInvalidParameter")
    out: list[datetime] = []
    for name, raw in (("StartDateTime", raw_start), ("EndDateTime", raw_end)):
        try:
            if len(raw) > 40:
                raise ValueError(raw)
            value = datetime.fromisoformat(raw.replace(" ", "+"))
            value = value if value.tzinfo else value.replace(tzinfo=UTC)
        except ValueError:
            raise bad_request(f"The value '{raw[:40]}' of parameter '{name}' is invalid.",
                              code="ErrorInvalidParameter") from None
        try:
            instant = value.astimezone(UTC)
        except OverflowError:  # year 1 at +14:00, year 9999 at -11:00: the window's edge
            instant = MIN_INSTANT if value.year == 1 else MAX_INSTANT
        # A window reaching past what an event may hold is the same window, and keeping it
        # inside that range keeps every instant in it renderable in every zone.
        out.append(min(max(instant, MIN_INSTANT), MAX_INSTANT))
    if out[1] < out[0]:
        raise bad_request("The value of parameter 'EndDateTime' must be later than the value of "
                          "parameter 'StartDateTime'.", code="ErrorInvalidParameter")
    if out[1] - out[0] > MAX_WINDOW:
        # Graph's own limit (seen since 2019, not in its docs); it also bounds what one request
        # may expand, so a window of 0001-9999 cannot hold the single-threaded hub for seconds.
        # The mock applies it to a series' /instances too.
        raise GraphError(400, "ErrorInvalidRequest",
                         "Your request can't be completed. The range between the start and end "
                         f"dates is greater than the allowed range. Maximum number of days: "
                         f"{MAX_WINDOW.days}")
    return out[0], out[1]


def _item_renderer(req: Req, calendar: Any, view: EventView,
                   fields: tuple[str, ...] | None, suffix: str) -> Any:
    render_event = render_events(req, calendar, view, fields)
    owner = req.user.upn
    cache = req.state.render

    def render(item: Any) -> bytes:
        if isinstance(item, Occurrence):
            if fields is None:
                return cache.occurrence(item, owner, view)
            return dumps(select(occurrence_json(item, owner, view), fields))
        return render_event(item)

    return render


async def calendar_view(req: Req, args: list[str]) -> Result:
    odata.refuse_options(req.query, LIST_OPTIONS, "calendarView")
    fields = odata.parse_select(req.query, EVENT_PROPERTIES, EVENT_TYPE)
    start, end = _window(req)
    calendar, redact = calendar_for(req, args[0] if args else None, write=False)
    mark = len(req.headers)
    view = req.event_view(calendar, redact)
    state = req.state
    key = state.pages.key(req, calendar.id, calendar.events.last_seq, view)
    cached = state.pages.get(req, key)
    if cached is not None:
        return cached
    items: list[Any] = []
    for event in calendar.events:
        if event.recurrence:
            items += state.occurrences(event, start, end)
        elif _overlaps(event, start, end):
            items.append(event)
    items = event_query(req, items, view, default_order=True)
    suffix = "calendarView" if fields is None else f"calendarView({','.join(fields)})"
    result = paged(req, items, _item_renderer(req, calendar, view, fields, suffix),
                   req.users_context(suffix))
    state.pages.put(key, result, req.headers[mark:])
    return result


async def instances(req: Req, args: list[str]) -> Result:
    """`GET {u}/events/{id}/instances?startDateTime&endDateTime`: the series' occurrences and
    exceptions in the window, by start; nothing for an event that is not a series master."""
    odata.refuse_options(req.query, LIST_OPTIONS, "instances")
    fields = odata.parse_select(req.query, EVENT_PROPERTIES, EVENT_TYPE)
    start, end = _window(req)
    calendar_id, event_id = (args[0], args[1]) if len(args) == 2 else (None, args[0])
    calendar, event, occ = find_item(req.user, event_id, calendar_id)
    req.detail["event"] = event_id
    _, redact = calendar_for(req, calendar.id, write=False)
    view = req.event_view(calendar, redact)
    if occ is not None:
        raise GraphError(400, "ErrorInvalidRequest",
                         "Your request can't be completed. The instances of an occurrence "
                         "can't be listed; ask its series master (seriesMasterId).")
    items: list[Any] = list(req.state.occurrences(event, start, end)) if event.recurrence else []
    items = event_query(req, items, view, default_order=True)
    suffix = "events('" + event.id + "')/instances" + (
        "" if fields is None else f"({','.join(fields)})")
    return paged(req, items, _item_renderer(req, calendar, view, fields, suffix),
                 req.users_context(suffix))


def _series_entries(req: Req, view: EventView, master: Event, start: datetime, end: datetime,
                    with_removals: bool) -> list[bytes]:
    """A series' instances in the window; with removals also `@removed` for its cancelled
    occurrences and for exceptions moved out of the window whose original slot was in it."""
    cache = req.state.render
    owner = req.user.upn
    found = req.state.occurrences(master, start, end)
    out = [cache.occurrence(o, owner, view) for o in found]
    if with_removals and master.exceptions:
        present = {o.original_start for o in found}
        duration = master.end - master.start
        for original in sorted(master.exceptions.cancelled | set(master.exceptions.modified)):
            if original in present:
                continue
            if original < end and original + duration > start or original == start:
                out.append(removed_json(occurrence_id(master.id, original), _EVENT))
    return out


def _removed_series(master: Event, start: datetime, end: datetime) -> list[bytes]:
    """`@removed` for every instance id a series had in the window (its original slots)."""
    assert master.recurrence is not None
    out = [removed_json(master.id, _EVENT)]
    duration = master.end - master.start
    for original in series_starts(master.recurrence, master.start):
        if original >= end:
            break
        if original + duration > start:
            out.append(removed_json(occurrence_id(master.id, original), _EVENT))
    for original, change in master.exceptions.modified.items():
        if (change.start or original) < end and original >= end:
            out.append(removed_json(occurrence_id(master.id, original), _EVENT))
    return out


async def calendar_view_delta(req: Req, args: list[str]) -> Result:
    odata.refuse_on_delta(req.query, "CalendarView",
                          ("$select", "$expand", "$filter", "$orderby", "$search"))
    odata.refuse_options(req.query, ("$top", "$skiptoken", "$deltatoken"), "calendarView")
    calendar, redact = calendar_for(req, None, write=False)
    resuming = "$skiptoken" in req.query.options or "$deltatoken" in req.query.options
    window: tuple[str, str] | None = None
    if not resuming:
        start, end = _window(req)
        window = (start.isoformat(), end.isoformat())
    view = req.event_view(calendar, redact)
    render = req.state.render
    owner = req.user.upn
    state = req.state
    if resuming:  # the window travels in the token
        window = delta.resume_window(req.state.tokens, req.query)
    assert window is not None
    low, high = datetime.fromisoformat(window[0]), datetime.fromisoformat(window[1])

    def in_scope(event: Event) -> bool:
        if event.recurrence is not None:
            return bool(state.occurrences(event, low, high))
        return _overlaps(event, low, high)

    def expand(event: Event, incremental: bool) -> list[bytes]:
        if event.recurrence is None:
            return [render.event(event, owner, view)]
        return _series_entries(req, view, event, low, high, incremental)

    def removed(item_id: str) -> list[bytes]:
        master = calendar.events.get(item_id) or state.deleted_series.get(item_id)
        if master is None or master.recurrence is None:
            return [removed_json(item_id, _EVENT)]
        return _removed_series(master, low, high)

    src = delta.DeltaSource("cv", calendar.events, calendar.id, in_scope,
                            lambda e: render.event(e, owner, view), _EVENT,
                            window, windowed=True, expand=expand, removed=removed)
    return delta_result(req, src, req.context("Collection(event)"))
