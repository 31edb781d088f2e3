"""Microsoft Graph v1.0 mock: routing and handlers (mounted at GRAPH_PREFIX).

Routes (`{u}` is `me` or `users/{id or upn}`; every segment name is matched case-insensitively and
`delta()` is accepted for `delta`, as the Kiota SDKs send it):

    GET        /me, /users/{id|upn}, /users                 user resource(s)
    GET, POST  {u}/events                                   primary calendar
    GET, PATCH, DELETE {u}/events/{id}                      any calendar of the mailbox
    GET        {u}/calendar, {u}/calendars, {u}/calendars/{id}
    GET, POST  {u}/calendar/events, {u}/calendars/{id}/events
    GET, PATCH, DELETE {u}/calendars/{id}/events/{id}
    GET        {u}/calendarView, {u}/calendar/calendarView, {u}/calendars/{id}/calendarView
    GET        {u}/calendarView/delta                       primary calendar only, as v1.0
    GET, POST  {u}/contacts                                 default contact folder
    GET, PATCH, DELETE {u}/contacts/{id}
    GET        {u}/contacts/delta
    GET        {u}/contactFolders, {u}/contactFolders/{id}  (the default folder is listed too,
                                                            and is also reachable as `contacts`)
    GET, POST  {u}/contactFolders/{id}/contacts
    GET, PATCH, DELETE {u}/contactFolders/{id}/contacts/{id}
    GET        {u}/contactFolders/{id}/contacts/delta

The route is one ASGI endpoint (no Starlette Request/Response objects, no middleware) because the
mock is a load target. Per request: parse the path, verify the bearer token (cached by the
signer), consult the fault plan, resolve the mailbox, throttle per app per mailbox, check the
permission table, run the handler, write one audit entry.

Faults (`hub.world.faults.take("graph", method, path, user)`, path is the full request path and
user the target mailbox's UPN, else the caller's): `status` answers a Graph error (default 503
ServiceUnavailable, optional Retry-After), `throttle` a 429 TooManyRequests with Retry-After
(default 10 s), `latency` sleeps `delay_ms` while holding the request's concurrency slot, `drop`
sends the status line and headers with a Content-Length and then aborts: the server closes the
connection, so a client sees the headers and then the connection end before the body (httpx:
`RemoteProtocolError: peer closed connection without sending complete message body`).

Response headers: `request-id` (new uuid), `client-request-id` (the request's, else the
request-id), `Cache-Control: no-store`, `Content-Type` as Graph; `Date`
comes from the server (uvicorn sends it by default).
"""

from __future__ import annotations

import asyncio
import random
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NamedTuple
from urllib.parse import quote

from starlette.routing import BaseRoute, Match
from starlette.types import Receive, Scope, Send

from mock_providers.hub import Hub
from mock_providers.microsoft.graph import delta, odata
from mock_providers.microsoft.graph.auth import (
    Authenticator,
    Caller,
    calendar_access,
    check_scopes,
    is_self,
    limited_role,
    resolve_user,
)
from mock_providers.microsoft.graph.bodies import (
    CONTACT_PROPERTIES,
    CONTACT_TYPE,
    EVENT_PROPERTIES,
    EVENT_TYPE,
    apply_changes,
    check_event_times,
    parse_contact_body,
    parse_event_body,
    parse_json_body,
)
from mock_providers.microsoft.graph.errors import (
    CONTENT_TYPE,
    GraphError,
    Headers,
    access_denied,
    bad_request,
    error_body,
    fault_error,
    item_not_found,
    method_not_allowed,
    segment_not_found,
)
from mock_providers.microsoft.graph.recurrence import Occurrence, occurrences
from mock_providers.microsoft.graph.render import (
    EventView,
    RenderCache,
    calendar_json,
    contact_json,
    dumps,
    etag,
    event_json,
    event_view,
    folder_json,
    is_private_for,
    occurrence_json,
    select,
    user_json,
)
from mock_providers.microsoft.graph.throttling import Throttle, limits_for
from mock_providers.microsoft.graph.timezones import resolve_tz
from mock_providers.world import Calendar, Contact, ContactFolder, Event, MsUser, World
from mock_providers.world.seed import change_key

_LIST_OPTIONS = ("$select", "$top", "$skip", "$filter", "$orderby", "$count", "$expand")
_ITEM_OPTIONS = ("$select", "$expand")
_EVENT_EXPAND = frozenset({"attachments", "extensions", "instances", "calendar"})
_CONTACT_EXPAND = frozenset({"extensions", "photo"})
_USER_FIELDS = frozenset({"businessPhones", "displayName", "givenName", "jobTitle", "mail",
                          "mobilePhone", "officeLocation", "preferredLanguage", "surname",
                          "userPrincipalName", "id"})


class ConnectionDropped(Exception):
    """Raised after the response headers went out, so the server cuts the connection."""


class ClientGone(Exception):
    """The client disconnected while its request body was being read."""


class _Drop(Exception):
    """Internal: the fault plan asked to drop this request."""


# -- per-hub state ---------------------------------------------------------------------------------
class GraphState:
    """Caches and counters that belong to one world; `sync` drops them when the hub's world is
    swapped (reset), and bumps the epoch that delta tokens carry."""

    def __init__(self) -> None:
        self.world: World | None = None
        self.epoch = 0
        self.render = RenderCache()
        self.tokens = delta.DeltaTokens()
        self.throttle = Throttle()
        self.auth = Authenticator()
        self.transactions: dict[tuple[str, str], str] = {}  # (calendar id, transactionId) -> id

    def sync(self, world: World) -> None:
        if world is self.world:
            return
        self.world = world
        self.epoch += 1
        self.render.clear()
        self.tokens.clear()
        self.throttle.clear()
        self.transactions.clear()


_prefixes: dict[tuple[bytes | None, str, str], bytes] = {}


@dataclass(slots=True)
class Req:
    """What a handler needs to know about the request."""

    hub: Hub
    state: GraphState
    scope: Scope
    receive: Receive
    method: str
    route_path: str
    query_string: bytes
    prefer_raw: list[bytes]
    if_match: bytes | None
    caller: Caller
    user: MsUser
    user_segment: str  # as Graph puts it in @odata.context
    basic: bool  # Calendars.ReadBasic-only view
    host: bytes | None
    detail: dict[str, Any] = field(default_factory=dict)
    headers: Headers = field(default_factory=list)
    _query: odata.Query | None = None
    _prefer: odata.Prefer | None = None
    _base: str | None = None

    @property
    def query(self) -> odata.Query:
        if self._query is None:
            self._query = odata.parse_query(self.query_string)
        return self._query

    @property
    def prefer(self) -> odata.Prefer:
        if self._prefer is None:
            self._prefer = odata.parse_prefer(self.prefer_raw)
        return self._prefer

    @property
    def base(self) -> str:
        """This request's own scheme://host/graph/v1.0, for links the client will follow."""
        if self._base is None:
            if self.host is not None:
                host = self.host.decode("latin-1")
            else:
                server = self.scope.get("server") or ("127.0.0.1", 80)
                host = f"{server[0]}:{server[1]}"
            scheme = self.scope.get("scheme", "http")
            self._base = f"{scheme}://{host}{self.scope.get('root_path', '')}"
        return self._base

    def context(self, suffix: str) -> str:
        return f"{self.base}/$metadata#{suffix}"

    def users_context(self, suffix: str) -> str:
        return self.context(f"users('{self.user_segment}')/{suffix}")

    def entity_prefix(self, suffix: str) -> bytes:
        """`{"@odata.context":"…/users('x')/<suffix>",` for a single entity, cached."""
        key = (self.host, self.user_segment, suffix)
        prefix = _prefixes.get(key)
        if prefix is None:
            if len(_prefixes) > 10_000:
                _prefixes.clear()
            context = self.users_context(suffix)
            prefix = _prefixes[key] = b'{"@odata.context":"' + context.encode() + b'",'
        return prefix

    async def body(self) -> bytes:
        chunks: list[bytes] = []
        while True:
            message = await self.receive()
            if message["type"] == "http.disconnect":
                raise ClientGone()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                return b"".join(chunks)

    def event_view(self, calendar: Calendar, redact: bool) -> EventView:
        zone_name = self.prefer.timezone if self.prefer_raw else None
        basic = self.basic or limited_role(self.caller, self.user, calendar)
        if zone_name:
            zone = resolve_tz(zone_name)
            if zone is not None:
                self.headers.append((b"preference-applied",
                                     f'outlook.timezone="{zone_name}"'.encode()))
                return event_view(basic, redact, zone_name, zone)
        return event_view(basic, redact)


@dataclass(slots=True)
class Result:
    status: int
    body: bytes


Handler = Callable[[Req, list[str]], Awaitable[Result]]


# -- rendering helpers -----------------------------------------------------------------------------
def _entity(context: str, fragment: bytes) -> bytes:
    return b'{"@odata.context":"' + context.encode() + b'",' + fragment[1:]


def _collection(context: str, fragments: list[bytes], *, next_link: str | None = None,
                delta_link: str | None = None, count: int | None = None) -> bytes:
    parts = [b'{"@odata.context":"', context.encode(), b'"']
    if count is not None:
        parts.append(b',"@odata.count":%d' % count)
    if next_link is not None:
        parts += [b',"@odata.nextLink":"', next_link.encode(), b'"']
    if delta_link is not None:
        parts += [b',"@odata.deltaLink":"', delta_link.encode(), b'"']
    parts += [b',"value":[', b",".join(fragments), b"]}"]
    return b"".join(parts)


def _event_field(view: EventView) -> Callable[[Event, str], Any]:
    def read(event: Event, name: str) -> Any:
        if name == "subject" and is_private_for(event, view):
            return "Private"
        return getattr(event, name)
    return read


# -- lookups ---------------------------------------------------------------------------------------
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


def _folder(user: MsUser, folder_id: str | None) -> ContactFolder:
    if folder_id is None or folder_id.lower() == "contacts":
        return user.mailbox.default_contacts
    folder = user.mailbox.contact_folders.get(folder_id)
    if folder is None:
        raise item_not_found()
    return folder


def _find_contact(user: MsUser, contact_id: str,
                  folder_id: str | None) -> tuple[ContactFolder, Contact]:
    folders = ([_folder(user, folder_id)] if folder_id is not None
               else list(user.mailbox.contact_folders.values()))
    for folder in folders:
        contact = folder.contacts.get(contact_id)
        if contact is not None:
            return folder, contact
    raise item_not_found()


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


def _check_if_match(req: Req, current: str) -> None:
    if req.if_match is None:
        return
    wanted = req.if_match.decode("latin-1").strip()
    if wanted != "*" and wanted != etag(current):
        raise GraphError(412, "ErrorIrresolvableConflict",
                         "The send or update operation could not be performed because the change "
                         "key passed in the request does not match the current change key for the "
                         "item.")


# -- paging ----------------------------------------------------------------------------------------
def _page(req: Req, items: list[Any], render: Callable[[Any], bytes], context: str) -> Result:
    query = req.query
    size, applied = odata.page_size(query, req.prefer)
    if applied:
        req.headers.append((b"preference-applied", b"odata.maxpagesize=%d" % size))
    skip = odata.non_negative(query, "$skip") or 0
    count = len(items) if odata.count_requested(query) else None
    page = items[skip:skip + size]
    next_link = None
    if skip + size < len(items) and size > 0:
        next_link = odata.link(req.base, req.route_path, odata.with_skip(query, skip + size))
    return Result(200, _collection(context, [render(i) for i in page], next_link=next_link,
                                   count=count))


# -- handlers: users -------------------------------------------------------------------------------
async def get_user(req: Req, args: list[str]) -> Result:
    odata.refuse_options(req.query, ("$select", "$expand"), "user")
    fields = odata.parse_select(req.query, _USER_FIELDS, "microsoft.graph.user")
    data = user_json(req.user)
    context = req.context("users/$entity")
    if fields is not None:
        data = select(data, fields)
        context = req.context(f"users({','.join(fields)})/$entity")
    return Result(200, _entity(context, dumps(data)))


async def list_users(req: Req, args: list[str]) -> Result:
    odata.refuse_options(req.query, ("$select", "$top", "$skip", "$count"), "users")
    tenant = next(t for t in req.hub.world.ms_tenants.values() if t.id == req.user.tenant_id)
    users = sorted(tenant.users.values(), key=lambda u: u.upn)
    return _page(req, users, lambda u: dumps(user_json(u)), req.context("users"))


# -- handlers: calendars ---------------------------------------------------------------------------
def _calendar_for(req: Req, calendar_id: str | None, write: bool) -> tuple[Calendar, bool]:
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
    return _page(req, visible, lambda c: dumps(_calendar_data(req, c)),
                 req.users_context("calendars"))


async def get_calendar(req: Req, args: list[str]) -> Result:
    odata.refuse_options(req.query, ("$select",), "calendar")
    calendar, _ = _calendar_for(req, args[0] if args else None, write=False)
    suffix = "calendars/$entity" if args else "calendar/$entity"
    return Result(200, _entity(req.users_context(suffix), dumps(_calendar_data(req, calendar))))


# -- handlers: events ------------------------------------------------------------------------------
def _render_events(req: Req, calendar: Calendar, view: EventView,
                   fields: tuple[str, ...] | None) -> Callable[[Event], bytes]:
    owner = req.user.upn
    render = req.state.render
    if fields is None:
        return lambda e: render.event(e, owner, view)
    return lambda e: dumps(select(event_json(e, owner, view), fields))


def _event_query(req: Req, events: list[Event], view: EventView,
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
    odata.refuse_options(req.query, _LIST_OPTIONS, "events")
    odata.check_expand(req.query, _EVENT_EXPAND, EVENT_TYPE)
    fields = odata.parse_select(req.query, EVENT_PROPERTIES, EVENT_TYPE)
    calendar, redact = _calendar_for(req, args[0] if args else None, write=False)
    view = req.event_view(calendar, redact)
    events = _event_query(req, list(calendar.events), view, default_order=True)
    suffix = "events" if fields is None else f"events({','.join(fields)})"
    return _page(req, events, _render_events(req, calendar, view, fields),
                 req.users_context(suffix))


async def calendar_view(req: Req, args: list[str]) -> Result:
    odata.refuse_options(req.query, _LIST_OPTIONS, "calendarView")
    fields = odata.parse_select(req.query, EVENT_PROPERTIES, EVENT_TYPE)
    start, end = _window(req)
    calendar, redact = _calendar_for(req, args[0] if args else None, write=False)
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
    items = _event_query(req, items, view, default_order=True)
    suffix = "calendarView" if fields is None else f"calendarView({','.join(fields)})"
    render_event = _render_events(req, calendar, view, fields)
    owner = req.user.upn

    def render(item: Any) -> bytes:
        if isinstance(item, Occurrence):
            data = occurrence_json(item, owner, view)
            return dumps(data if fields is None else select(data, fields))
        return render_event(item)

    return _page(req, items, render, req.users_context(suffix))


async def get_event(req: Req, args: list[str]) -> Result:
    query_string = req.query_string
    if query_string:
        odata.refuse_options(req.query, _ITEM_OPTIONS, "event")
        odata.check_expand(req.query, _EVENT_EXPAND, EVENT_TYPE)
    calendar_id, event_id = (args[0], args[1]) if len(args) == 2 else (None, args[0])
    calendar, event = _find_event(req.user, event_id, calendar_id)
    req.detail["event"] = event_id
    redact = calendar_access(req.caller, req.user, calendar, write=False)
    view = req.event_view(calendar, redact)
    fields = (odata.parse_select(req.query, EVENT_PROPERTIES, EVENT_TYPE)
              if query_string else None)
    if fields is None:
        fragment = req.state.render.event(event, req.user.upn, view)
        return Result(200, req.entity_prefix("events/$entity") + fragment[1:])
    data = select(event_json(event, req.user.upn, view), fields)
    return Result(200, _entity(req.users_context(f"events({','.join(fields)})/$entity"),
                               dumps(data)))


def _join_url(world: World) -> str:
    return f"https://teams.calharness.invalid/l/meetup-join/{secrets.token_urlsafe(12)}"


async def create_event(req: Req, args: list[str]) -> Result:
    calendar, _ = _calendar_for(req, args[0] if args else None, write=True)
    changes = parse_event_body(parse_json_body(await req.body()))
    if "start" not in changes or "end" not in changes:
        raise GraphError(400, "ErrorInvalidRequest",
                         "Your request can't be completed. An event needs both a start and an "
                         "end.")
    check_event_times(changes["start"], changes["end"], changes.get("is_all_day", False))
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
            return Result(201, _entity(req.users_context("events/$entity"),
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
    return Result(201, _entity(req.users_context("events/$entity"),
                               state.render.event(event, owner.upn, view)))


async def update_event(req: Req, args: list[str]) -> Result:
    calendar_id, event_id = (args[0], args[1]) if len(args) == 2 else (None, args[0])
    calendar, event = _find_event(req.user, event_id, calendar_id)
    req.detail["event"] = event_id
    redact = calendar_access(req.caller, req.user, calendar, write=True)
    if redact and event.sensitivity == "private":
        raise access_denied()
    _check_if_match(req, event.change_key)
    changes = parse_event_body(parse_json_body(await req.body()))
    start = changes.get("start", event.start)
    end = changes.get("end", event.end)
    check_event_times(start, end, changes.get("is_all_day", event.is_all_day))
    world = req.hub.world
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
    view = req.event_view(calendar, redact)
    return Result(200, _entity(req.users_context("events/$entity"),
                               req.state.render.event(event, req.user.upn, view)))


async def delete_event(req: Req, args: list[str]) -> Result:
    calendar_id, event_id = (args[0], args[1]) if len(args) == 2 else (None, args[0])
    calendar, event = _find_event(req.user, event_id, calendar_id)
    req.detail["event"] = event_id
    redact = calendar_access(req.caller, req.user, calendar, write=True)
    if redact and event.sensitivity == "private":
        raise access_denied()
    _check_if_match(req, event.change_key)
    calendar.events.delete(event_id, req.hub.world.next_seq())
    return Result(204, b"")


# -- handlers: delta -------------------------------------------------------------------------------
def _delta(req: Req, src: delta.DeltaSource, context: str) -> Result:
    size_override = req.prefer.max_page_size
    page = delta.delta_page(req.state.tokens, src, req.query, user=req.user.id,
                            app=req.caller.ctx.client_id, principal=req.caller.key,
                            world_seq=req.hub.world.seq, epoch=req.state.epoch,
                            size_override=size_override)
    preference = b"odata.track-changes"
    if size_override:
        preference += b", odata.maxpagesize=%d" % page.size
    req.headers.append((b"preference-applied", preference))
    if page.skip_token is not None:
        link = odata.link(req.base, req.route_path, [("$skiptoken", page.skip_token)])
        return Result(200, _collection(context, page.fragments, next_link=link))
    link = odata.link(req.base, req.route_path, [("$deltatoken", page.delta_token or "")])
    return Result(200, _collection(context, page.fragments, delta_link=link))


async def calendar_view_delta(req: Req, args: list[str]) -> Result:
    odata.refuse_on_delta(req.query, "CalendarView",
                          ("$select", "$expand", "$filter", "$orderby", "$search"))
    odata.refuse_options(req.query, ("$top", "$skiptoken", "$deltatoken"), "calendarView")
    calendar, redact = _calendar_for(req, None, write=False)
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
    return _delta(req, src, req.context("Collection(event)"))


def _contacts_source(req: Req, folder: ContactFolder) -> delta.DeltaSource:
    fields = odata.parse_select(req.query, CONTACT_PROPERTIES, CONTACT_TYPE)
    render = req.state.render
    if fields is None:
        def render_contact(c: Contact) -> bytes:
            return render.contact(c, folder.id)
    else:
        def render_contact(c: Contact) -> bytes:
            return dumps(select(contact_json(c, folder.id), fields))
    return delta.DeltaSource("ct", folder.contacts, folder.id, lambda c: True, render_contact,
                             "#microsoft.graph.contact", None, windowed=False)


async def contacts_delta(req: Req, args: list[str]) -> Result:
    odata.refuse_on_delta(req.query, "Contacts", ("$expand", "$filter", "$orderby", "$search"))
    odata.refuse_options(req.query, ("$select", "$top", "$skiptoken", "$deltatoken"), "contacts")
    folder = _folder(req.user, args[0] if args else None)
    return _delta(req, _contacts_source(req, folder), req.context("Collection(contact)"))


# -- handlers: contacts ----------------------------------------------------------------------------
def _render_contacts(req: Req, folder: ContactFolder,
                     fields: tuple[str, ...] | None) -> Callable[[Contact], bytes]:
    render = req.state.render
    if fields is None:
        return lambda c: render.contact(c, folder.id)
    return lambda c: dumps(select(contact_json(c, folder.id), fields))


async def list_contacts(req: Req, args: list[str]) -> Result:
    odata.refuse_options(req.query, _LIST_OPTIONS, "contacts")
    odata.check_expand(req.query, _CONTACT_EXPAND, CONTACT_TYPE)
    fields = odata.parse_select(req.query, CONTACT_PROPERTIES, CONTACT_TYPE)
    folder = _folder(req.user, args[0] if args else None)
    contacts = list(folder.contacts)
    text = req.query.get("$filter")
    if text is not None:
        predicate = odata.parse_filter(text, odata.CONTACT_FILTER_FIELDS, odata.model_field)
        contacts = [c for c in contacts if predicate(c)]
    order = req.query.get("$orderby")
    if order is not None:
        odata.sort_entities(contacts, odata.parse_orderby(order, odata.CONTACT_ORDER_FIELDS),
                            odata.model_field)
    else:
        contacts.sort(key=lambda c: (c.display_name.lower(), c.id))
    suffix = "contacts" if fields is None else f"contacts({','.join(fields)})"
    return _page(req, contacts, _render_contacts(req, folder, fields),
                 req.users_context(suffix))


async def get_contact(req: Req, args: list[str]) -> Result:
    odata.refuse_options(req.query, _ITEM_OPTIONS, "contact")
    folder_id, contact_id = (args[0], args[1]) if len(args) == 2 else (None, args[0])
    folder, contact = _find_contact(req.user, contact_id, folder_id)
    req.detail["contact"] = contact_id
    fields = odata.parse_select(req.query, CONTACT_PROPERTIES, CONTACT_TYPE)
    if fields is None:
        fragment = req.state.render.contact(contact, folder.id)
    else:
        fragment = dumps(select(contact_json(contact, folder.id), fields))
    return Result(200, _entity(req.users_context("contacts/$entity"), fragment))


async def create_contact(req: Req, args: list[str]) -> Result:
    folder = _folder(req.user, args[0] if args else None)
    changes = parse_contact_body(parse_json_body(await req.body()))
    world = req.hub.world
    now = world.now()
    contact_id = world.new_id()
    contact = Contact(id=contact_id, display_name="", created=now, last_modified=now,
                      change_key=change_key(contact_id, 0))
    apply_changes(contact, changes)
    if not contact.display_name:
        contact.display_name = " ".join(p for p in (contact.given_name, contact.surname) if p)
    folder.contacts.put(contact.id, contact, world.next_seq())
    req.detail["contact"] = contact.id
    return Result(201, _entity(req.users_context("contacts/$entity"),
                               req.state.render.contact(contact, folder.id)))


async def update_contact(req: Req, args: list[str]) -> Result:
    folder_id, contact_id = (args[0], args[1]) if len(args) == 2 else (None, args[0])
    folder, contact = _find_contact(req.user, contact_id, folder_id)
    req.detail["contact"] = contact_id
    _check_if_match(req, contact.change_key)
    changes = parse_contact_body(parse_json_body(await req.body()))
    world = req.hub.world
    apply_changes(contact, changes)
    contact.last_modified = world.now()
    version = int(contact.extra.get("graph_version", 0)) + 1
    contact.extra["graph_version"] = version
    contact.change_key = change_key(contact.id, "contact", version)
    folder.contacts.put(contact.id, contact, world.next_seq())
    return Result(200, _entity(req.users_context("contacts/$entity"),
                               req.state.render.contact(contact, folder.id)))


async def delete_contact(req: Req, args: list[str]) -> Result:
    folder_id, contact_id = (args[0], args[1]) if len(args) == 2 else (None, args[0])
    folder, contact = _find_contact(req.user, contact_id, folder_id)
    req.detail["contact"] = contact_id
    _check_if_match(req, contact.change_key)
    folder.contacts.delete(contact_id, req.hub.world.next_seq())
    return Result(204, b"")


async def list_folders(req: Req, args: list[str]) -> Result:
    odata.refuse_options(req.query, ("$select", "$top", "$skip", "$count"), "contactFolders")
    root = f"{req.user.id}-contactsroot"
    folders = list(req.user.mailbox.contact_folders.values())
    return _page(req, folders, lambda f: dumps(folder_json(f, root)),
                 req.users_context("contactFolders"))


async def get_folder(req: Req, args: list[str]) -> Result:
    odata.refuse_options(req.query, ("$select",), "contactFolder")
    folder = _folder(req.user, args[0])
    root = f"{req.user.id}-contactsroot"
    return Result(200, _entity(req.users_context("contactFolders/$entity"),
                               dumps(folder_json(folder, root))))


# -- routing ---------------------------------------------------------------------------------------
class Target(NamedTuple):
    operation: str
    handler: Handler
    args: list[str]
    calendar: bool  # a calendar route (delegate access rules apply)


_Methods = dict[str, tuple[str, Handler]]
_EVENTS: _Methods = {"GET": ("events.list", list_events), "POST": ("events.create", create_event)}
_EVENT: _Methods = {"GET": ("events.get", get_event), "PATCH": ("events.update", update_event),
                    "DELETE": ("events.delete", delete_event)}
_CONTACTS: _Methods = {"GET": ("contacts.list", list_contacts),
                       "POST": ("contacts.create", create_contact)}
_CONTACT: _Methods = {"GET": ("contacts.get", get_contact),
                      "PATCH": ("contacts.update", update_contact),
                      "DELETE": ("contacts.delete", delete_contact)}


def _pick(method: str, methods: _Methods, segment: str, args: list[str],
          calendar: bool) -> Target:
    entry = methods.get(method)
    if entry is None:
        raise method_not_allowed(method, segment)
    return Target(entry[0], entry[1], args, calendar)


def _get(op: str, handler: Handler) -> _Methods:
    return {"GET": (op, handler)}


def _is_delta(segment: str) -> bool:
    return segment.lower() in ("delta", "delta()", "microsoft.graph.delta",
                               "microsoft.graph.delta()")


def route_mailbox(method: str, rest: list[str]) -> Target:
    """The target of `{u}/…` given the segments after the user."""
    if not rest:
        return _pick(method, _get("users.get", get_user), "me", [], False)
    head, n = rest[0].lower(), len(rest)
    if head == "events":
        if n == 1:
            return _pick(method, _EVENTS, rest[0], [], True)
        if n == 2:
            return _pick(method, _EVENT, rest[1], [rest[1]], True)
        raise segment_not_found(rest[2])
    if head == "calendar":
        if n == 1:
            return _pick(method, _get("calendars.get", get_calendar), rest[0], [], True)
        sub = rest[1].lower()
        if sub == "events" and n == 2:
            return _pick(method, _EVENTS, rest[1], [], True)
        if sub == "events" and n == 3:
            return _pick(method, _EVENT, rest[2], [rest[2]], True)
        if sub == "calendarview" and n == 2:
            return _pick(method, _get("calendarView", calendar_view), rest[1], [], True)
        raise segment_not_found(rest[1] if n == 2 or sub not in ("events", "calendarview")
                                else rest[2])
    if head == "calendars":
        if n == 1:
            return _pick(method, _get("calendars.list", list_calendars), rest[0], [], True)
        cid = rest[1]
        if n == 2:
            return _pick(method, _get("calendars.get", get_calendar), cid, [cid], True)
        sub = rest[2].lower()
        if sub == "events" and n == 3:
            return _pick(method, _EVENTS, rest[2], [cid], True)
        if sub == "events" and n == 4:
            return _pick(method, _EVENT, rest[3], [cid, rest[3]], True)
        if sub == "calendarview" and n == 3:
            return _pick(method, _get("calendarView", calendar_view), rest[2], [cid], True)
        raise segment_not_found(rest[2] if sub not in ("events", "calendarview") else rest[3])
    if head == "calendarview":
        if n == 1:
            return _pick(method, _get("calendarView", calendar_view), rest[0], [], True)
        if n == 2 and _is_delta(rest[1]):
            return _pick(method, _get("calendarView.delta", calendar_view_delta), rest[1], [],
                         True)
        raise segment_not_found(rest[1] if n >= 2 else rest[0])
    if head == "contacts":
        if n == 1:
            return _pick(method, _CONTACTS, rest[0], [], False)
        if n == 2 and _is_delta(rest[1]):
            return _pick(method, _get("contacts.delta", contacts_delta), rest[1], [], False)
        if n == 2:
            return _pick(method, _CONTACT, rest[1], [rest[1]], False)
        raise segment_not_found(rest[2])
    if head == "contactfolders":
        if n == 1:
            return _pick(method, _get("contactFolders.list", list_folders), rest[0], [], False)
        fid = rest[1]
        if n == 2:
            return _pick(method, _get("contactFolders.get", get_folder), fid, [fid], False)
        if rest[2].lower() != "contacts":
            raise segment_not_found(rest[2])
        if n == 3:
            return _pick(method, _CONTACTS, rest[2], [fid], False)
        if n == 4 and _is_delta(rest[3]):
            return _pick(method, _get("contacts.delta", contacts_delta), rest[3], [fid], False)
        if n == 4:
            return _pick(method, _CONTACT, rest[3], [fid, rest[3]], False)
        raise segment_not_found(rest[4])
    raise segment_not_found(rest[0])


_ids = random.Random()


_getrandbits = _ids.getrandbits
# Version 4 and the RFC 4122 variant, set with two masks on the 128 random bits.
_UUID_CLEAR = ~((0xF << 76) | (0x3 << 62))
_UUID_SET = (0x4 << 76) | (0x2 << 62)


def _request_id() -> bytes:
    """A random (version 4) UUID, formatted without the cost of uuid.uuid4(); request ids need
    to be unique, not secret."""
    h = (_getrandbits(128) & _UUID_CLEAR | _UUID_SET).to_bytes(16, "big").hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}".encode()


_quote_cache: dict[str, str] = {}
# (method, route path) -> (segments, lower-cased head, target): the routing outcome depends on
# nothing else, so a path seen before skips the split and the route table. Errors are not cached.
_route_cache: dict[tuple[str, str], tuple[list[str], str, Target]] = {}
_ROUTE_CACHE_MAX = 10_000


def _quoted(segment: str) -> str:
    quoted = _quote_cache.get(segment)
    if quoted is None:
        if len(_quote_cache) > 10_000:
            _quote_cache.clear()
        quoted = _quote_cache[segment] = quote(segment, safe="")
    return quoted


def _base_headers(request_id: bytes, client_request_id: bytes) -> Headers:
    return [(b"cache-control", b"no-store"), (b"request-id", request_id),
            (b"client-request-id", client_request_id)]


class GraphRoute(BaseRoute):
    """Matches every path under the Graph mount and answers it the way Graph would."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.state = GraphState()

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] == "http":
            return Match.FULL, {}
        return Match.NONE, {}

    def url_path_for(self, name: str, /, **path_params: Any) -> Any:
        from starlette.routing import NoMatchFound

        raise NoMatchFound(name, path_params)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        hub = self.hub
        world = hub.world
        state = self.state
        if state.world is not world:
            state.sync(world)
        request_id = _request_id()
        authorization = client_request_id = if_match = host = None
        prefer: list[bytes] | None = None
        for name, value in scope["headers"]:
            if name == b"authorization":
                authorization = value
            elif name == b"host":
                host = value
            elif name == b"client-request-id":
                client_request_id = value
            elif name == b"prefer":
                prefer = [value] if prefer is None else [*prefer, value]
            elif name == b"if-match":
                if_match = value
        client_request_id = client_request_id or request_id
        method: str = scope["method"]
        full_path: str = scope["path"]
        root = scope.get("root_path", "")
        route_path = full_path[len(root):] if root and full_path.startswith(root) else full_path
        operation: str | None = None
        caller: Caller | None = None
        audit_user: str | None = None
        detail: dict[str, Any] = {}
        extra: Headers = []
        delay = 0.0
        throttle_key: tuple[str, str] | None = None
        dropping = False
        status, body, outcome = 500, b"", "InternalServerError"
        try:
            route_error: GraphError | None = None
            target: Target | None = None
            route_key = (method, route_path)
            routed = _route_cache.get(route_key)
            if routed is not None:
                segments, head, target = routed
                operation = target.operation
            else:
                stripped = route_path.strip("/")
                segments = stripped.split("/") if stripped else []
                head = segments[0].lower() if segments else ""
                try:
                    target = self._route(method, segments)
                    operation = target.operation
                    if len(_route_cache) >= _ROUTE_CACHE_MAX:
                        _route_cache.clear()
                    _route_cache[route_key] = (segments, head, target)
                except GraphError as exc:
                    route_error = exc
            auth_error: GraphError | None = None
            try:
                caller = state.auth.authenticate(hub, authorization)
                audit_user = caller.ctx.upn
            except GraphError as exc:
                auth_error = exc
            user: MsUser | None = None
            if head == "users" and len(segments) > 1:
                user = world.ms_user(segments[1])
            elif caller is not None and caller.ctx.user_id and head == "me":
                user = world.ms_user(caller.ctx.user_id)
            if user is not None:
                audit_user = user.upn
            fault = world.faults.take("graph", method, full_path, audit_user)
            if fault is not None:
                kind = fault.spec.kind
                detail["fault"] = fault.id
                if kind == "latency":
                    delay = fault.spec.delay_ms / 1000
                elif kind == "drop":
                    raise _Drop()
                else:
                    raise fault_error(fault)
            if route_error is not None:
                raise route_error
            if auth_error is not None:
                raise auth_error
            assert caller is not None and target is not None
            ctx = caller.ctx
            if head == "me":
                if ctx.kind != "delegated":
                    raise bad_request("/me request is only valid with delegated authentication "
                                      "flow.")
                if user is None:
                    raise GraphError(404, "ErrorInvalidUser",
                                     "The requested user is invalid.")
                shown = user.id
            elif len(segments) > 1:
                user = resolve_user(world, caller, segments[1], user)
                shown = _quoted(segments[1])
            else:  # /users
                user = world.ms_user(ctx.user_id) if ctx.user_id else None
                if user is None:
                    tenant = next((t for t in world.ms_tenants.values()
                                   if t.id == ctx.tenant_id), None)
                    user = next(iter(tenant.users.values())) if tenant and tenant.users else None
                if user is None:
                    raise access_denied()
                shown = ""
            key = (ctx.client_id, user.id)
            state.throttle.enter(key, limits_for(hub), world.clock.timestamp())
            throttle_key = key  # only a request that got a slot gives one back
            if delay:
                await asyncio.sleep(delay)
                delay = 0.0
            own = is_self(caller, user)
            basic = check_scopes(caller, target.operation, own)
            if not own and not target.calendar and ctx.kind == "delegated" and (
                    target.operation.startswith("contact")):
                raise access_denied()  # the world has no contact-folder sharing
            req = Req(hub, state, scope, receive, method, route_path,
                      scope.get("query_string", b""), prefer or [], if_match, caller, user, shown,
                      basic, host, detail, extra)
            result = await target.handler(req, target.args)
            status, body = result.status, result.body
            outcome = "ok"
        except GraphError as exc:
            if delay:
                await asyncio.sleep(delay)
            status = exc.status
            outcome = exc.code
            extra = extra + exc.headers
            body = error_body(exc, request_id.decode(), client_request_id.decode("latin-1"),
                              world.clock.timestamp())
        except _Drop:
            dropping = True
        except ClientGone:
            self._audit(method, full_path, 499, caller, audit_user, operation, "ClientGone",
                        detail)
            return
        except Exception as exc:
            err = GraphError(500, "InternalServerError", f"{type(exc).__name__}: {exc}")
            status, outcome = 500, err.code
            body = error_body(err, request_id.decode(), client_request_id.decode("latin-1"),
                              world.clock.timestamp())
        finally:
            if throttle_key is not None:
                state.throttle.leave(throttle_key)
        if dropping:
            await self._drop(send, request_id, client_request_id, method, full_path, caller,
                             audit_user, operation, detail)
        self._audit(method, full_path, status, caller, audit_user, operation, outcome, detail)
        if status != 204:
            headers = [(b"cache-control", b"no-store"), (b"request-id", request_id),
                       (b"client-request-id", client_request_id), (b"content-type", CONTENT_TYPE),
                       (b"content-length", b"%d" % len(body))]
        else:
            headers = _base_headers(request_id, client_request_id)
        if extra:
            headers += extra
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    @staticmethod
    def _route(method: str, segments: list[str]) -> Target:
        if not segments:
            raise segment_not_found("")
        head = segments[0].lower()
        if head == "me":
            return route_mailbox(method, segments[1:])
        if head == "users":
            if len(segments) == 1:
                return _pick(method, _get("users.list", list_users), segments[0], [], False)
            return route_mailbox(method, segments[2:])
        raise segment_not_found(segments[0])

    def _audit(self, method: str, path: str, status: int, caller: Caller | None,
               user: str | None, operation: str | None, outcome: str,
               detail: dict[str, Any]) -> None:
        # As hub.record, without two rounds of keyword packing on every request.
        world = self.hub.world
        if caller is not None:
            ctx = caller.ctx
            detail["kind"] = ctx.kind
            detail["caller"] = ctx.upn
            world.audit.add(world.clock.timestamp(), "graph", method, path, status,
                            ctx.client_id, user, caller.scopes_sorted, operation, outcome, detail)
        else:
            world.audit.add(world.clock.timestamp(), "graph", method, path, status, None, user,
                            (), operation, outcome, detail)

    async def _drop(self, send: Send, request_id: bytes, client_request_id: bytes,
                    method: str, path: str, caller: Caller | None, user: str | None,
                    operation: str | None, detail: dict[str, Any]) -> None:
        self._audit(method, path, 0, caller, user, operation, "ConnectionDropped", detail)
        headers = _base_headers(request_id, client_request_id)
        headers += [(b"content-type", CONTENT_TYPE), (b"content-length", b"1024")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        raise ConnectionDropped("fault plan: drop")


def routes(hub: Hub) -> list[BaseRoute]:
    return [GraphRoute(hub)]
