"""Handlers of calendarView (recurring events expanded into occurrences inside the window) and
calendarView/delta (the window travels in the tokens)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from mock_providers.microsoft.graph import delta, odata
from mock_providers.microsoft.graph.bodies import EVENT_PROPERTIES, EVENT_TYPE
from mock_providers.microsoft.graph.errors import bad_request
from mock_providers.microsoft.graph.events import calendar_for, event_query, render_events
from mock_providers.microsoft.graph.odata import LIST_OPTIONS
from mock_providers.microsoft.graph.recurrence import Occurrence, occurrences
from mock_providers.microsoft.graph.render import dumps, occurrence_json, select
from mock_providers.microsoft.graph.request import Req, Result, delta_result, paged
from mock_providers.world import Event


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
            value = datetime.fromisoformat(raw.replace(" ", "+"))
        except ValueError:
            raise bad_request(f"The value '{raw}' of parameter '{name}' is invalid.",
                              code="ErrorInvalidParameter") from None
        out.append((value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC))
    return out[0], out[1]


async def calendar_view(req: Req, args: list[str]) -> Result:
    odata.refuse_options(req.query, LIST_OPTIONS, "calendarView")
    fields = odata.parse_select(req.query, EVENT_PROPERTIES, EVENT_TYPE)
    start, end = _window(req)
    calendar, redact = calendar_for(req, args[0] if args else None, write=False)
    view = req.event_view(calendar, redact)
    items: list[Any] = []
    for event in calendar.events:
        if event.recurrence:
            instances = occurrences(event, start, end)
            if instances:
                items += instances
                continue
        if _overlaps(event, start, end):
            items.append(event)
    items = event_query(req, items, view, default_order=True)
    suffix = "calendarView" if fields is None else f"calendarView({','.join(fields)})"
    render_event = render_events(req, calendar, view, fields)
    owner = req.user.upn

    def render(item: Any) -> bytes:
        if isinstance(item, Occurrence):
            data = occurrence_json(item, owner, view)
            return dumps(data if fields is None else select(data, fields))
        return render_event(item)

    return paged(req, items, render, req.users_context(suffix))


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
    bounds: list[datetime] = []

    def in_scope(event: Event) -> bool:
        return _overlaps(event, bounds[0], bounds[1])

    if resuming:  # the window travels in the token
        window = delta.resume_window(req.state.tokens, req.query)
    assert window is not None
    bounds[:] = [datetime.fromisoformat(window[0]), datetime.fromisoformat(window[1])]
    src = delta.DeltaSource("cv", calendar.events, calendar.id, in_scope,
                            lambda e: render.event(e, owner, view), "#microsoft.graph.event",
                            window, windowed=True)
    return delta_result(req, src, req.context("Collection(event)"))
