"""Handlers of calendars and their events: list, get, create (idempotent on transactionId),
update, delete; the calendar lookups and event query ($filter/$orderby as the caller sees the
event) that calendarView shares.

An event id may name an occurrence of a series (`{master id}_{original start}`, see
recurrence.py): GET renders it, PATCH makes (or changes) its exception and DELETE cancels it,
through the world's `series` functions. An organizer's event with attendees of the same tenant
is a meeting (the world's `meetings`): creating it delivers the invitations, changing it updates
the attendees' copies, deleting it cancels it for them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mock_providers.microsoft.graph import odata
from mock_providers.microsoft.graph.auth import calendar_access
from mock_providers.microsoft.graph.bodies import (
    EVENT_PROPERTIES,
    EVENT_TYPE,
    apply_changes,
    check_event_times,
    parse_event_body,
    parse_json_body,
)
from mock_providers.microsoft.graph.errors import GraphError, access_denied, item_not_found
from mock_providers.microsoft.graph.odata import ITEM_OPTIONS, LIST_OPTIONS
from mock_providers.microsoft.graph.recurrence import (
    Occurrence,
    instance,
    parse_occurrence_id,
)
from mock_providers.microsoft.graph.render import (
    EventView,
    calendar_json,
    dumps,
    event_json,
    is_private_for,
    occurrence_json,
    select,
    wrap_entity,
)
from mock_providers.microsoft.graph.request import Req, Result, check_if_match, paged
from mock_providers.world import Calendar, Event, MsUser, World, meetings, series
from mock_providers.world.recurrence import SeriesExceptions
from mock_providers.world.seed import change_key

_EVENT_EXPAND = frozenset({"attachments", "extensions", "instances", "calendar"})


def _event_field(view: EventView) -> Callable[[Event, str], Any]:
    def read(event: Event, name: str) -> Any:
        if name == "subject" and is_private_for(event, view):
            return "Private"
        return getattr(event, name)
    return read


def _calendar(user: MsUser, calendar_id: str | None) -> Calendar:
    calendars = user.mailbox.calendars
    if calendar_id is None:
        return user.mailbox.default_calendar
    calendar = calendars.get(calendar_id)
    if calendar is None:
        raise item_not_found()
    return calendar


def _find_event(user: MsUser, event_id: str, calendar_id: str | None) -> tuple[Calendar, Event]:
    if calendar_id is not None:
        calendar = _calendar(user, calendar_id)
        event = calendar.events.get(event_id)
        if event is None:
            raise item_not_found()
        return calendar, event
    for calendar in user.mailbox.calendars.values():
        event = calendar.events.items.get(event_id)
        if event is not None:
            return calendar, event
    raise item_not_found()


def find_item(user: MsUser, event_id: str, calendar_id: str | None
              ) -> tuple[Calendar, Event, Occurrence | None]:
    """The event, or the series master and the occurrence an occurrence id names; 404 else."""
    try:
        calendar, event = _find_event(user, event_id, calendar_id)
        return calendar, event, None
    except GraphError:
        parsed = parse_occurrence_id(event_id)
        if parsed is None:
            raise
    calendar, master = _find_event(user, parsed[0], calendar_id)
    found = instance(master, parsed[1])
    if found is None:
        raise item_not_found()
    return calendar, master, found


def _ids(args: list[str]) -> tuple[str | None, str]:
    return (args[0], args[1]) if len(args) == 2 else (None, args[0])


def calendar_for(req: Req, calendar_id: str | None, write: bool) -> tuple[Calendar, bool]:
    calendar = _calendar(req.user, calendar_id)
    redact = calendar_access(req.caller, req.user, calendar, write)
    return calendar, redact


def _calendar_data(req: Req, calendar: Calendar) -> dict[str, Any]:
    caller = req.caller
    if caller.ctx.kind == "application" or caller.ctx.user_id == req.user.id:
        can_edit = can_private = True
    else:
        role = calendar.permissions.get((caller.ctx.upn or "").lower())
        can_edit = role in ("write", "delegateWithoutPrivateEventAccess",
                            "delegateWithPrivateEventAccess")
        can_private = role == "delegateWithPrivateEventAccess"
    return calendar_json(calendar, req.user, can_edit, can_private)


async def list_calendars(req: Req, args: list[str]) -> Result:
    odata.refuse_options(req.query, ("$select", "$top", "$skip", "$count", "$filter",
                                     "$orderby"), "calendars")
    visible: list[Calendar] = []
    for calendar in req.user.mailbox.calendars.values():
        try:
            calendar_access(req.caller, req.user, calendar, write=False)
        except GraphError:
            continue
        visible.append(calendar)
    if not visible:
        raise access_denied()
    visible.sort(key=lambda c: (not c.is_default, c.name))
    return paged(req, visible, lambda c: dumps(_calendar_data(req, c)),
                 req.users_context("calendars"))


async def get_calendar(req: Req, args: list[str]) -> Result:
    odata.refuse_options(req.query, ("$select",), "calendar")
    calendar, _ = calendar_for(req, args[0] if args else None, write=False)
    suffix = "calendars/$entity" if args else "calendar/$entity"
    return Result(200, wrap_entity(req.users_context(suffix),
                                   dumps(_calendar_data(req, calendar))))


def render_events(req: Req, calendar: Calendar, view: EventView,
                  fields: tuple[str, ...] | None) -> Callable[[Event], bytes]:
    owner = req.user.upn
    render = req.state.render
    if fields is None:
        return lambda e: render.event(e, owner, view)
    return lambda e: dumps(select(event_json(e, owner, view), fields))


def event_query(req: Req, events: list[Event], view: EventView,
                default_order: bool) -> list[Event]:
    query = req.query
    read = _event_field(view)
    text = query.get("$filter")
    if text is not None:
        predicate = odata.parse_filter(text, odata.EVENT_FILTER_FIELDS, read)
        events = [e for e in events if predicate(e)]
    order_text = query.get("$orderby")
    if order_text is not None:
        return odata.sort_entities(events, odata.parse_orderby(order_text,
                                                               odata.EVENT_ORDER_FIELDS), read)
    if default_order:
        events.sort(key=lambda e: (e.start, e.id))
    return events


async def list_events(req: Req, args: list[str]) -> Result:
    odata.refuse_options(req.query, LIST_OPTIONS, "events")
    odata.check_expand(req.query, _EVENT_EXPAND, EVENT_TYPE)
    fields = odata.parse_select(req.query, EVENT_PROPERTIES, EVENT_TYPE)
    calendar, redact = calendar_for(req, args[0] if args else None, write=False)
    view = req.event_view(calendar, redact)
    events = event_query(req, list(calendar.events), view, default_order=True)
    suffix = "events" if fields is None else f"events({','.join(fields)})"
    return paged(req, events, render_events(req, calendar, view, fields),
                 req.users_context(suffix))


async def get_event(req: Req, args: list[str]) -> Result:
    query_string = req.query_string
    if query_string:
        odata.refuse_options(req.query, ITEM_OPTIONS, "event")
        odata.check_expand(req.query, _EVENT_EXPAND, EVENT_TYPE)
    calendar_id, event_id = _ids(args)
    calendar, event, occ = find_item(req.user, event_id, calendar_id)
    req.detail["event"] = event_id
    redact = calendar_access(req.caller, req.user, calendar, write=False)
    view = req.event_view(calendar, redact)
    fields = (odata.parse_select(req.query, EVENT_PROPERTIES, EVENT_TYPE)
              if query_string else None)
    if occ is not None:
        if fields is None:
            fragment = req.state.render.occurrence(occ, req.user.upn, view)
            return Result(200, req.entity_prefix("events/$entity") + fragment[1:])
        data = select(occurrence_json(occ, req.user.upn, view), fields)
        return Result(200, wrap_entity(req.users_context(f"events({','.join(fields)})/$entity"),
                                       dumps(data)))
    if fields is None:
        fragment = req.state.render.event(event, req.user.upn, view)
        return Result(200, req.entity_prefix("events/$entity") + fragment[1:])
    data = select(event_json(event, req.user.upn, view), fields)
    return Result(200, wrap_entity(req.users_context(f"events({','.join(fields)})/$entity"),
                                   dumps(data)))


def _join_url(world: World) -> str:
    return f"https://teams.calharness.invalid/l/meetup-join/{world.new_token(12)}"


async def create_event(req: Req, args: list[str]) -> Result:
    changes = parse_event_body(parse_json_body(await req.body()))  # before any lookup
    calendar, _ = calendar_for(req, args[0] if args else None, write=True)
    if "start" not in changes or "end" not in changes:
        raise GraphError(400, "ErrorInvalidRequest",
                         "Your request can't be completed. An event needs both a start and an "
                         "end.")
    check_event_times(changes["start"], changes["end"], changes.get("is_all_day", False),
                      changes.get("time_zone", "UTC"))
    world = req.hub.world
    state = req.state
    transaction_id = changes.get("transaction_id")
    view = req.event_view(calendar, redact=False)
    if transaction_id:
        existing_id = state.transactions.get((calendar.id, transaction_id))
        existing = calendar.events.get(existing_id) if existing_id else None
        if existing is None:
            existing = next((e for e in calendar.events if e.transaction_id == transaction_id),
                            None)
        if existing is not None and existing.transaction_id == transaction_id:
            req.detail.update(event=existing.id, idempotent=True)
            return Result(201, wrap_entity(req.users_context("events/$entity"),
                                           state.render.event(existing, req.user.upn, view)))
    now = world.now()
    event_id = world.new_id()
    owner = req.user
    event = Event(id=event_id, subject="", start=changes["start"], end=changes["end"],
                  created=now, last_modified=now, ical_uid=f"{event_id}@calharness",
                  change_key=change_key(event_id, 0), organizer_email=owner.upn,
                  organizer_name=owner.display_name)
    apply_changes(event, changes)
    if event.is_online_meeting:
        if "online_meeting_provider" not in changes or event.online_meeting_provider == "unknown":
            event.online_meeting_provider = "teamsForBusiness"
        if event.online_meeting_provider == "teamsForBusiness":
            event.join_url = _join_url(world)
    calendar.events.put(event.id, event, world.next_seq())
    if transaction_id:
        state.transactions[(calendar.id, transaction_id)] = event.id
    req.detail["event"] = event.id
    if event.attendees and calendar.is_default:
        invited = meetings.deliver_invitation(world, owner, event)
        if invited:
            req.detail["invited"] = [u.upn for u in invited]
    return Result(201, wrap_entity(req.users_context("events/$entity"),
                                   state.render.event(event, owner.upn, view)))


async def update_event(req: Req, args: list[str]) -> Result:
    # The body is read and validated before the event is looked up, and from the lookup to the
    # commit there is no `await` (the hub is one asyncio loop, so that is the lock): the
    # If-Match check and "is it still there" hold at commit time. A DELETE answered while this
    # body was arriving is never undone, and of two PATCHes with one If-Match only one wins.
    changes = parse_event_body(parse_json_body(await req.body()))
    calendar_id, event_id = _ids(args)
    calendar, event, occ = find_item(req.user, event_id, calendar_id)
    req.detail["event"] = event_id
    redact = calendar_access(req.caller, req.user, calendar, write=True)
    if redact and (occ or event).sensitivity == "private":
        raise access_denied()
    check_if_match(req, (occ or event).change_key)
    world = req.hub.world
    if occ is not None:
        return _update_occurrence(req, calendar, event, occ, changes, redact)
    start = changes.get("start", event.start)
    end = changes.get("end", event.end)
    check_event_times(start, end, changes.get("is_all_day", event.is_all_day),
                      changes.get("time_zone", event.time_zone))
    if event.recurrence is not None and ("recurrence" in changes or "start" in changes):
        # A new pattern or series time drops the exceptions, as Exchange does.
        event.exceptions = SeriesExceptions()
    apply_changes(event, changes)
    if event.is_online_meeting and not event.join_url:
        if event.online_meeting_provider == "unknown":
            event.online_meeting_provider = "teamsForBusiness"
        if event.online_meeting_provider == "teamsForBusiness":
            event.join_url = _join_url(world)
    event.last_modified = world.now()
    event.sequence += 1
    event.change_key = change_key(event.id, event.sequence)
    calendar.events.put(event.id, event, world.next_seq())
    _follow_meeting(req, calendar, event)
    view = req.event_view(calendar, redact)
    return Result(200, wrap_entity(req.users_context("events/$entity"),
                                   req.state.render.event(event, req.user.upn, view)))


# What a PATCH may change on one occurrence (the world's OccurrenceChange fields).
_OCCURRENCE_FIELDS = {"subject": "subject", "body": "body", "start": "start", "end": "end",
                      "location": "location", "sensitivity": "sensitivity",
                      "show_as": "show_as"}
_OCCURRENCE_IGNORED = frozenset({"time_zone", "body_type"})


def _update_occurrence(req: Req, calendar: Calendar, master: Event, occ: Occurrence,
                       changes: dict[str, Any], redact: bool) -> Result:
    """PATCH on an occurrence id: its exception in the world's SeriesExceptions."""
    for name in changes:
        if name not in _OCCURRENCE_FIELDS and name not in _OCCURRENCE_IGNORED:
            raise GraphError(400, "ErrorInvalidRequest",
                             "Your request can't be completed. This property can't be changed "
                             "on one occurrence of a series; change the series master "
                             f"instead ({name}).")
    start = changes.get("start", occ.start)
    end = changes.get("end", occ.end)
    check_event_times(start, end, master.is_all_day, master.time_zone)
    world = req.hub.world
    new = series.modify_occurrence(
        world, calendar, master, occ.original_start,
        **{_OCCURRENCE_FIELDS[k]: v for k, v in changes.items() if k in _OCCURRENCE_FIELDS})
    _follow_meeting(req, calendar, master)
    view = req.event_view(calendar, redact)
    return Result(200, wrap_entity(req.users_context("events/$entity"),
                                   req.state.render.occurrence(Occurrence.of(master, new),
                                                               req.user.upn, view)))


def _follow_meeting(req: Req, calendar: Calendar, event: Event) -> None:
    """The organizer changed a meeting: the attendees' copies follow; new internal attendees
    get the invitation."""
    if not calendar.is_default or not event.attendees:
        return
    if event.organizer_email.lower() != req.user.upn.lower():
        return
    world = req.hub.world
    meetings.propagate(world, req.user, event)
    meetings.deliver_invitation(world, req.user, event)


async def delete_event(req: Req, args: list[str]) -> Result:
    calendar_id, event_id = _ids(args)
    calendar, event, occ = find_item(req.user, event_id, calendar_id)
    req.detail["event"] = event_id
    redact = calendar_access(req.caller, req.user, calendar, write=True)
    if redact and (occ or event).sensitivity == "private":
        raise access_denied()
    check_if_match(req, (occ or event).change_key)
    remove_item(req, calendar, event, occ)
    return Result(204, b"")


def remove_item(req: Req, calendar: Calendar, event: Event, occ: Occurrence | None,
                comment: str = "") -> None:
    """DELETE (or the organizer's cancel): an occurrence is cancelled in its series; an
    organizer's meeting is cancelled for its attendees; anything else leaves the calendar."""
    world = req.hub.world
    if occ is not None:
        series.cancel_occurrence(world, calendar, event, occ.original_start)
        _follow_meeting(req, calendar, event)
        return
    if event.recurrence is not None:
        req.state.remember_series(event)
    if meetings.copies(world, event) and event.organizer_email.lower() == req.user.upn.lower():
        told = meetings.cancel(world, req.user, event, comment=comment)
        req.detail["cancelled_for"] = [u.upn for u in told]
        return
    calendar.events.delete(event.id, world.next_seq())
