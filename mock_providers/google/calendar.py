"""Google Calendar API v3 mock (mounted at /google/calendar/v3, which is what
`build('calendar', 'v3', client_options={'api_endpoint': BASE + '/google/calendar/v3/'})` calls:
googleapiclient replaces rootUrl + servicePath by api_endpoint and appends the method path; and at
/calendar/v3 on the hub root, www.googleapis.com's path).

Routes (relative to the mount):

    GET                 users/me/calendarList, users/me/calendarList/{calendarId}
    GET                 calendars/{calendarId}                      (`primary` is an alias)
    GET, POST           calendars/{calendarId}/events
    GET, PUT, PATCH, DELETE  calendars/{calendarId}/events/{eventId}
    POST                freeBusy

Documented choices (to be mirrored in docs/architecture.md):
- Access to another user's calendar comes from `Calendar.permissions` (world roles mapped to
  Google ACL roles: freeBusyRead/limitedRead → freeBusyReader, read → reader, write and the
  delegate roles → writer). A calendar the caller has no role on answers 404 notFound; a write
  below writer answers 403 requiredAccessLevel.
- Private events (visibility private or confidential) seen by a reader who is not an attendee
  come back as `{kind, etag, id, status, start, end, visibility}` (plus `transparency` when
  free): no summary, description, location, attendees, organizer or conference. A freeBusyReader
  sees every event as `{kind, etag, id, status, start, end}`. Owners and writers see everything,
  as Google's "make changes to events" permission does.
- Cancelled (deleted) events, in a sync or with showDeleted, are `{kind, etag, id, status:
  "cancelled"}` and nothing else. `events.get` of a deleted event answers that body with 200;
  deleting it again answers 410 deleted.
- Sync tokens are bound to (calendar, user) and to the world they were minted in (a reset kills
  them), and expire after 30 days on the world clock; any of these answers 410 fullSyncRequired.
  Paging is by keyset (the last item's sort key), so a change made between pages is never lost:
  it shows up in the next sync. `nextSyncToken` covers changes up to the first page's snapshot.
- events.list's query options: see calendar_query.py. `singleEvents` is accepted but recurring
  events are not expanded yet; their `recurrence` is validated, stored and echoed. `fields`
  (partial response) is ignored: full resources.
- Writes are atomic against the event's state when they commit: the body is read first, then the
  event is looked up, `If-Match` checked (412 conditionNotMet) and the change applied with no
  `await` in between (the hub is one asyncio loop, so that is the lock). A delete answered while
  a patch's body was still arriving is never undone: the patch then answers 410 deleted, as a
  write to a deleted event does. Bodies are validated completely before anything is stored
  (event_body.py, intake.py).
- Meetings: an event with attendees of the organizer's domain is in their primary calendars
  too (meeting_writes.py, over world/meetings.py).
- A POST with `X-HTTP-Method-Override` is the overriding method (for GET, its form body is the
  query): googleapiclient sends every GET longer than 2,048 characters that way.
- Rate limits and faults: `throttle` → 403 rateLimitExceeded (usageLimits), or the spec's status
  (429) and reason (`code`, e.g. userRateLimitExceeded); `status` → 5xx backendError. Faults
  match the request's path as sent: a rule for /google/calendar/... does not match /calendar/...
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route

from mock_providers.google import instances, meeting_writes, validate
from mock_providers.google.calendar_query import ListQuery, Tombstones, parse_list_query
from mock_providers.google.discovery import document
from mock_providers.google.errors import (
    ALL_METHODS,
    Call,
    GoogleError,
    Handler,
    Operation,
    Reply,
    bad_request,
    condition_not_met,
    deleted,
    error_response,
    full_sync_required,
    invalid_value,
    json_body,
    method_override,
    not_found,
    serve,
)
from mock_providers.google.event_body import (
    apply_event_changes,
    instance_changes,
    parse_event,
)
from mock_providers.google.render import (
    GID,
    cancelled_json,
    event_etag,
    event_gid,
    event_id_candidates,
    event_json,
    is_private,
    rfc3339,
    rfc3339_seconds,
    seq_etag,
)
from mock_providers.google.schema import SchemaError, conform
from mock_providers.google.tokens import GoogleTokens, google_tokens
from mock_providers.world import Calendar, Event, GoogleUser, World
from mock_providers.world.extensions import per_world
from mock_providers.world.seed import change_key
from mock_providers.world.series import SeriesError, cancel_occurrence, modify_occurrence

if TYPE_CHECKING:
    from mock_providers.hub import Hub

PROVIDER = "google-calendar"
SERVICE = "calendar-json.googleapis.com"
AUTH = "https://www.googleapis.com/auth/"
CAL, CAL_RO = AUTH + "calendar", AUTH + "calendar.readonly"
EVENTS, EVENTS_RO = AUTH + "calendar.events", AUTH + "calendar.events.readonly"
OWNED, OWNED_RO = AUTH + "calendar.events.owned", AUTH + "calendar.events.owned.readonly"
READ_EVENTS = frozenset({CAL, CAL_RO, EVENTS, EVENTS_RO, OWNED, OWNED_RO})
WRITE_EVENTS = frozenset({CAL, EVENTS, OWNED})
READ_LIST = frozenset({CAL, CAL_RO, AUTH + "calendar.calendarlist",
                       AUTH + "calendar.calendarlist.readonly"})
READ_CALENDAR = frozenset({CAL, CAL_RO, AUTH + "calendar.calendars",
                           AUTH + "calendar.calendars.readonly"})
FREEBUSY = frozenset({CAL, CAL_RO, AUTH + "calendar.freebusy", AUTH + "calendar.events.freebusy"})

SYNC_TOKEN_LIFETIME = 30 * 86400
FREEBUSY_MAX_CALENDARS = 50
ROLES = {"freeBusyRead": "freeBusyReader", "limitedRead": "freeBusyReader", "read": "reader",
         "write": "writer", "delegateWithoutPrivateEventAccess": "writer",
         "delegateWithPrivateEventAccess": "writer"}
ROLE_RANK = {"freeBusyReader": 0, "reader": 1, "writer": 2, "owner": 3}
_RENDER_CACHE_MAX = 50_000

OPS = {name: Operation(name, f"calendar.v3.{method}", scopes) for name, method, scopes in (
    ("calendarList.list", "CalendarList.List", READ_LIST),
    ("calendarList.get", "CalendarList.Get", READ_LIST),
    ("calendars.get", "Calendars.Get", READ_CALENDAR),
    ("events.list", "Events.List", READ_EVENTS),
    ("events.get", "Events.Get", READ_EVENTS),
    ("events.insert", "Events.Insert", WRITE_EVENTS),
    ("events.update", "Events.Update", WRITE_EVENTS),
    ("events.patch", "Events.Patch", WRITE_EVENTS),
    ("events.delete", "Events.Delete", WRITE_EVENTS),
    ("events.instances", "Events.Instances", READ_EVENTS),
    ("freebusy.query", "Freebusy.Query", FREEBUSY),
)}


# -- per-world caches ------------------------------------------------------------------------------
SortKey = tuple[Any, ...]


@dataclass
class CalendarState:
    # (calendar id, event id, change key, viewer, view) -> rendered JSON
    render: dict[tuple[str, str, str, str, str], dict[str, Any]] = field(default_factory=dict)
    # (calendar id, order, listing) -> (collection last_seq, sort keys, items in that order)
    order: dict[tuple[str, str, Any], tuple[int, list[SortKey], list[Event]]] = field(
        default_factory=dict)
    # when, and what, events deleted through this API were (showDeleted / updatedMin filters)
    tombstones: Tombstones = field(default_factory=Tombstones)


calendar_state = per_world(CalendarState)


_SORT_KEYS: dict[str, Callable[[Event], SortKey]] = {
    "": lambda e: (0, event_gid(e.id)),
    "startTime": lambda e: (0, e.start.timestamp(), event_gid(e.id)),
    "updated": lambda e: (0, e.last_modified.timestamp(), event_gid(e.id)),
}
_ORDER_CACHE_MAX = 64


@dataclass(frozen=True, slots=True)
class Listing:
    """Which items a list shows: masters or their instances (singleEvents), in which window,
    with cancelled instances (showDeleted / updatedMin) or not."""

    single: bool = False
    low: datetime | None = None
    high: datetime | None = None
    cancelled: bool = False


def listing_items(world: World, calendar: Calendar, shape: Listing) -> list[Event]:
    """The calendar's live events as `shape` lists them; series rendered from the neutral model:
    instances in the window, or the master with its modified instances beside it."""
    out: list[Event] = []
    for event in calendar.events:
        if event.recurrence is None:
            out.append(event)
        elif shape.single:
            found = instances.instances(event, shape.low, shape.high, _today(world))
            high = shape.high or (found[-1].end if found else None)
            out += [instances.instance_event(event, i) for i in found]
            if shape.cancelled:
                out += instances.cancelled_in(event, shape.low, high)
        else:
            out.append(event)
            out += [instances.instance_event(event, i)
                    for i in instances.exception_instances(event)]
            if shape.cancelled:
                out += instances.cancelled_in(event, None, None)
    return out


def _today(world: World) -> datetime:
    """Now to the day: an open-ended series' horizon stays put between the pages of a list."""
    return world.now().replace(hour=0, minute=0, second=0, microsecond=0)


def sorted_events(world: World, calendar: Calendar, order: str, shape: Listing = Listing()
                  ) -> tuple[list[SortKey], list[Event]]:
    """The calendar's items in `order`, recomputed only after the calendar changed."""
    cache = calendar_state(world).order
    last_seq = calendar.events.last_seq
    cache_key = (calendar.id, order, shape)
    hit = cache.get(cache_key)
    if hit is not None and hit[0] == last_seq:
        return hit[1], hit[2]
    key = _SORT_KEYS[order]
    pairs = sorted(((key(e), e) for e in listing_items(world, calendar, shape)),
                   key=lambda p: p[0])
    keys, events = [p[0] for p in pairs], [p[1] for p in pairs]
    if len(cache) >= _ORDER_CACHE_MAX:
        cache.clear()
    cache[cache_key] = (last_seq, keys, events)
    return keys, events


# -- access ----------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Access:
    calendar: Calendar
    role: str  # owner | writer | reader | freeBusyReader
    viewer: str  # lower-case email of the caller

    def require(self, role: str) -> None:
        if ROLE_RANK[self.role] < ROLE_RANK[role]:
            raise GoogleError(403, f"You need to have {role} access to this calendar.",
                              reason="requiredAccessLevel", domain="calendar")

    def view(self, event: Event) -> str:
        if self.role in ("owner", "writer"):
            return "full"
        if self.role == "freeBusyReader":
            return "freebusy"
        if is_private(event) and not any(a.email.lower() == self.viewer
                                         for a in event.attendees):
            return "private"
        return "full"


def _find_calendar(world: World, calendar_id: str) -> Calendar | None:
    owner = world.google_user(calendar_id) if "@" in calendar_id else None
    if owner is not None and calendar_id in owner.calendars:
        return owner.calendars[calendar_id]
    for domain in world.google_domains.values():  # secondary calendars: rare, so a scan
        for user in domain.users.values():
            if calendar_id in user.calendars:
                return user.calendars[calendar_id]
    return None


def resolve_access(world: World, caller: GoogleUser, calendar_id: str) -> Access:
    viewer = caller.email.lower()
    own = world.google_calendar(caller, calendar_id)
    if own is not None:
        return Access(own, "owner", viewer)
    calendar = _find_calendar(world, calendar_id)
    role = ROLES.get(calendar.permissions.get(viewer, "")) if calendar is not None else None
    if calendar is None or role is None:
        raise not_found()
    return Access(calendar, role, viewer)


def _shared_with(world: World, viewer: str) -> list[Access]:
    out: list[Access] = []
    for domain in world.google_domains.values():
        for user in domain.users.values():
            if user.email.lower() == viewer:
                continue
            for calendar in user.calendars.values():
                role = ROLES.get(calendar.permissions.get(viewer, ""))
                if role is not None:
                    out.append(Access(calendar, role, viewer))
    return out


# -- small helpers ---------------------------------------------------------------------------------
def _etag_number(value: str) -> str:
    return value.strip().removeprefix("W/")


# -- the API ---------------------------------------------------------------------------------------
def routes(hub: Hub) -> list[BaseRoute]:
    api = _CalendarApi(hub)
    return [Mount("/calendar/v3", routes=api.routes())]


class _CalendarApi:
    def __init__(self, hub: Hub) -> None:
        self.hub = hub

    def routes(self) -> list[BaseRoute]:
        table: list[tuple[str, dict[str, tuple[str, Handler]]]] = [
            ("/users/me/calendarList", {"GET": ("calendarList.list", self.calendar_list)}),
            ("/users/me/calendarList/{calendarId}",
             {"GET": ("calendarList.get", self.calendar_list_get)}),
            ("/calendars/{calendarId}", {"GET": ("calendars.get", self.calendar_get)}),
            ("/calendars/{calendarId}/events", {"GET": ("events.list", self.events_list),
                                                "POST": ("events.insert", self.events_insert)}),
            ("/calendars/{calendarId}/events/{eventId}",
             {"GET": ("events.get", self.events_get), "PUT": ("events.update", self.events_put),
              "PATCH": ("events.patch", self.events_patch),
              "DELETE": ("events.delete", self.events_delete)}),
            ("/calendars/{calendarId}/events/{eventId}/instances",
             {"GET": ("events.instances", self.events_instances)}),
            ("/freeBusy", {"POST": ("freebusy.query", self.freebusy)}),
        ]
        out: list[BaseRoute] = [Route(path, self.endpoint(methods), methods=ALL_METHODS)
                                for path, methods in table]
        out.append(Route("/{rest:path}", self.unknown, methods=ALL_METHODS))
        return out

    def endpoint(self, methods: dict[str, tuple[str, Handler]]
                 ) -> Callable[[Request], Any]:
        async def handle(request: Request) -> Response:
            try:
                request = await method_override(request)
            except GoogleError as err:
                return error_response(err)
            method = "GET" if request.method == "HEAD" else request.method
            if method not in methods:
                return await self.unknown(request)
            name, handler = methods[method]
            calendar_id = request.path_params.get("calendarId")
            target = None
            if calendar_id and calendar_id != "primary" and "@" in calendar_id:
                target = calendar_id.lower()
            return await serve(self.hub, request, PROVIDER, SERVICE, OPS[name], handler, target)
        return handle

    async def unknown(self, request: Request) -> Response:
        self.hub.record(PROVIDER, request.method, request.url.path, 404, outcome="notFound")
        return error_response(not_found())

    # -- helpers --------------------------------------------------------------------------------
    def caller(self, call: Call) -> GoogleUser:
        user = self.hub.world.google_user(call.email)
        if user is None:
            raise not_found()
        return user

    def access(self, call: Call) -> Access:
        return resolve_access(self.hub.world, self.caller(call),
                              call.request.path_params["calendarId"])

    def render(self, access: Access, event: Event) -> dict[str, Any]:
        view = access.view(event)
        cache = calendar_state(self.hub.world).render
        key = (access.calendar.id, event.id, event.change_key, access.viewer, view)
        hit = cache.get(key)
        if hit is None:
            if len(cache) >= _RENDER_CACHE_MAX:
                cache.clear()
            hit = cache[key] = event_json(event, access.calendar.id, access.viewer, view)
        return hit

    @staticmethod
    def find(calendar: Calendar, gid: str) -> Event | None:
        for candidate in event_id_candidates(gid):
            event = calendar.events.get(candidate)
            if event is not None:
                return event
        return None

    @staticmethod
    def deleted_seq(calendar: Calendar, gid: str) -> int | None:
        """The change seq of the event's deletion, if it was deleted (a scan: miss path only)."""
        ids = set(event_id_candidates(gid))
        for change in calendar.events.changes_since(calendar.events.created_seq):
            if change.item_id in ids and change.deleted:
                return change.seq
        return None

    def list_body(self, access: Access, items: list[dict[str, Any]]) -> dict[str, Any]:
        calendar = access.calendar
        body: dict[str, Any] = {"kind": "calendar#events",
                                "etag": seq_etag(calendar.events.last_seq),
                                "summary": calendar.name, "description": "",
                                "updated": rfc3339(self.hub.world.now()), "timeZone": "UTC",
                                "accessRole": access.role}
        if access.role in ("owner", "writer"):
            body["defaultReminders"] = [{"method": "popup", "minutes": 10}]
        body["items"] = items
        return body

    # -- calendar list and calendars -----------------------------------------------------------
    def list_entry(self, access: Access) -> dict[str, Any]:
        calendar = access.calendar
        entry: dict[str, Any] = {
            "kind": "calendar#calendarListEntry", "etag": seq_etag(calendar.events.created_seq),
            "id": calendar.id, "summary": calendar.name, "timeZone": "UTC", "colorId": "14",
            "backgroundColor": "#9fe1e7", "foregroundColor": "#000000", "selected": True,
            "accessRole": access.role,
            "defaultReminders": [{"method": "popup", "minutes": 10}]
            if access.role in ("owner", "writer") else [],
            "conferenceProperties": {"allowedConferenceSolutionTypes": ["hangoutsMeet"]},
        }
        if access.role == "owner" and calendar.is_default:
            entry["primary"] = True
        return entry

    async def calendar_list(self, call: Call) -> Reply:
        user = self.caller(call)
        viewer = user.email.lower()
        accesses = [Access(c, "owner", viewer) for c in user.calendars.values()]
        accesses += _shared_with(self.hub.world, viewer)
        min_role = call.request.query_params.get("minAccessRole")
        if min_role:
            if min_role not in ROLE_RANK:
                raise invalid_value("minAccessRole", min_role)
            accesses = [a for a in accesses if ROLE_RANK[a.role] >= ROLE_RANK[min_role]]
        params = call.request.query_params
        size = validate.query_int(params, "maxResults", 100, 1, 250)
        for flag in ("showDeleted", "showHidden"):
            validate.query_bool(params, flag)
        tokens = google_tokens(self.hub.world)
        raw = call.request.query_params.get("pageToken")
        start = 0
        if raw:
            payload = tokens.open("calendarList.page", viewer, raw)
            if payload is None:
                raise invalid_value("pageToken", raw)
            start = int(payload[0])
        page = accesses[start:start + size]
        body: dict[str, Any] = {"kind": "calendar#calendarList",
                                "etag": seq_etag(self.hub.world.seq)}
        if start + size < len(accesses):
            body["nextPageToken"] = tokens.mint("calendarList.page", viewer, [start + size])
        body["items"] = [self.list_entry(a) for a in page]
        return 200, body

    async def calendar_list_get(self, call: Call) -> Reply:
        access = self.access(call)
        return 200, self.list_entry(access)

    async def calendar_get(self, call: Call) -> Reply:
        access = self.access(call)
        calendar = access.calendar
        return 200, {"kind": "calendar#calendar", "etag": seq_etag(calendar.events.created_seq),
                     "id": calendar.id, "summary": calendar.name, "timeZone": "UTC",
                     "conferenceProperties": {"allowedConferenceSolutionTypes":
                                              ["hangoutsMeet"]}}

    # -- events.list -----------------------------------------------------------------------------
    async def events_list(self, call: Call) -> Reply:
        query = parse_list_query(call.request.query_params)
        access = self.access(call)
        world = self.hub.world
        tokens = google_tokens(world)
        bound = f"{access.calendar.id}|{access.viewer}"
        page: list[Any] | None = None
        if query.page_token:
            page = tokens.open("events.page", bound, query.page_token)
            if page is None:
                raise invalid_value("pageToken", query.page_token)
        if (page is not None and page[0] == "s") or (page is None and query.sync_token):
            if page is None:
                since = self.open_sync_token(tokens, bound, str(query.sync_token),
                                             access.calendar)
                page = ["s", since, world.seq, since]
            return 200, self.sync_page(access, page, query.size, tokens, bound,
                                       query.single_events)
        if page is None:
            page = ["f", world.seq, query.order, None]
        return 200, self.full_page(access, page, query, tokens, bound)

    def open_sync_token(self, tokens: GoogleTokens, bound: str, raw: str,
                        calendar: Calendar) -> int:
        payload = tokens.open("events.sync", bound, raw)
        world = self.hub.world
        if payload is None or len(payload) != 2:
            raise full_sync_required()
        seq, issued = int(payload[0]), float(payload[1])
        if (seq > world.seq or seq < calendar.events.created_seq
                or world.clock.timestamp() - issued > SYNC_TOKEN_LIFETIME):
            raise full_sync_required()
        return seq

    def sync_token(self, tokens: GoogleTokens, bound: str, snapshot: int) -> str:
        issued = int(self.hub.world.clock.timestamp())
        return tokens.mint("events.sync", bound, [snapshot, issued])

    def changed_items(self, event: Event, single: bool) -> list[Event]:
        """What a sync reports for a changed event: a series as its instances (singleEvents) or
        its master and modified instances, with every cancelled instance either way."""
        if event.recurrence is None:
            return [event]
        if single:
            found = instances.instances(event, None, None, _today(self.hub.world))
            high = found[-1].end if found else None
            return ([instances.instance_event(event, i) for i in found]
                    + instances.cancelled_in(event, None, high))
        return ([event] + [instances.instance_event(event, i)
                           for i in instances.exception_instances(event)]
                + instances.cancelled_in(event, None, None))

    def sync_page(self, access: Access, page: list[Any], size: int, tokens: GoogleTokens,
                  bound: str, single: bool = False) -> dict[str, Any]:
        _, since, snapshot, after = page
        calendar = access.calendar
        items: list[dict[str, Any]] = []
        more = False
        last = after
        for change in calendar.events.changes_after(int(after)):  # a page reads only its own
            if change.seq > snapshot:
                break
            event = None if change.deleted else calendar.events.get(change.item_id)
            if event is None:
                batch = [cancelled_json(event_gid(change.item_id), seq_etag(change.seq))]
            else:
                batch = [self.render(access, e) for e in self.changed_items(event, single)]
            # A series' items stay on one page, so a page may hold more than maxResults.
            if items and len(items) + len(batch) > size:
                more = True
                break
            items += batch
            last = change.seq
        body = self.list_body(access, items)
        if more:
            body["nextPageToken"] = tokens.mint("events.page", bound, ["s", since, snapshot, last])
        else:
            body["nextSyncToken"] = self.sync_token(tokens, bound, snapshot)
        return self.reorder(body)

    def full_page(self, access: Access, page: list[Any], query: ListQuery,
                  tokens: GoogleTokens, bound: str) -> dict[str, Any]:
        _, snapshot, order, cursor = page
        calendar, size, filters = access.calendar, query.size, query.filters
        shape = Listing(query.single_events, filters.time_min, filters.time_max,
                        query.wants_deleted)
        keys, events = sorted_events(self.hub.world, calendar, order, shape)
        cursor_key = tuple(cursor) if cursor is not None else None
        items: list[dict[str, Any]] = []
        more = False
        last: SortKey | None = None
        if cursor_key is None or cursor_key[0] == 0:
            start = bisect_right(keys, cursor_key) if cursor_key is not None else 0
            for index in range(start, len(keys)):
                event = events[index]
                if not filters.match(event):
                    continue
                if len(items) == size:
                    more = True
                    break
                items.append(self.render(access, event))
                last = keys[index]
        if not more and query.wants_deleted:
            tombstones = calendar_state(self.hub.world).tombstones
            gone = sorted(event_gid(c.item_id) for c in
                          calendar.events.changes_since(calendar.events.created_seq)
                          if c.deleted and c.seq <= snapshot
                          and filters.match_deleted(tombstones.get(calendar.id, c.item_id)))
            gone_keys = [(1, g) for g in gone]
            start = bisect_right(gone_keys, cursor_key) if cursor_key and cursor_key[0] == 1 else 0
            for key in gone_keys[start:]:
                if len(items) == size:
                    more = True
                    break
                items.append(cancelled_json(key[1], seq_etag(snapshot)))
                last = key
        body = self.list_body(access, items)
        if more:
            body["nextPageToken"] = tokens.mint("events.page", bound,
                                                ["f", snapshot, order, list(last or ())])
        else:
            body["nextSyncToken"] = self.sync_token(tokens, bound, snapshot)
        return self.reorder(body)

    @staticmethod
    def reorder(body: dict[str, Any]) -> dict[str, Any]:
        """Google puts the page/sync token before the items."""
        items = body.pop("items")
        body["items"] = items
        return body

    # -- single events ---------------------------------------------------------------------------
    async def events_get(self, call: Call) -> Reply:
        access = self.access(call)
        gid = call.request.path_params["eventId"]
        event = self.find(access.calendar, gid)
        if event is None:
            found = self.find_instance(access.calendar, gid)
            if found is not None:
                return 200, self.render(access, found[2])
            seq = self.deleted_seq(access.calendar, gid)
            if seq is None:
                raise not_found()
            return 200, cancelled_json(gid, seq_etag(seq))
        return 200, self.render(access, event)

    def find_instance(self, calendar: Calendar, gid: str
                      ) -> tuple[Event, datetime, Event] | None:
        """(master, original start, the instance as an Event) for an instance id; a cancelled
        occurrence comes back as its cancelled stub. None when no such occurrence."""
        parsed = instances.parse_instance_gid(gid)
        if parsed is None:
            return None
        master = self.find(calendar, parsed[0])
        if master is None or master.recurrence is None:
            return None
        original = parsed[1]
        if original in master.exceptions.cancelled:
            return master, original, instances.cancelled_instance(master, original)
        inst = instances.find(master, original)
        if inst is None:
            return None
        return master, original, instances.instance_event(master, inst)

    # Every write reads its body first; from the lookup of the calendar and the event to the
    # write there is no await, so nothing else runs in between (the hub is one asyncio loop):
    # the check of If-Match and of "deleted" holds at commit time.
    async def events_insert(self, call: Call) -> Reply:
        version = self.conference_version(call.request)
        body = await json_body(call.request)
        gid = body.get("id")
        if gid is not None and (not isinstance(gid, str) or not GID.fullmatch(gid)):
            raise bad_request("Invalid resource id value.", reason="invalid")
        gid = gid or self.hub.world.new_id().replace("-", "")
        changes = parse_event(body, None, partial=False, conference_version=version, gid=gid)
        # From here to the write: no await.
        access = self.access(call)
        access.require("writer")
        calendar, world = access.calendar, self.hub.world
        if self.find(calendar, gid) is not None or self.deleted_seq(calendar, gid):
            raise GoogleError(409, "The requested identifier already exists.",
                              reason="duplicate")
        owner = world.google_user(calendar.owner_email)
        now = world.now()
        seq = world.next_seq()
        event = Event(id=gid, subject="", start=now, end=now, created=now, last_modified=now,
                      ical_uid=f"{gid}@google.com", change_key=change_key(gid, "g", seq),
                      organizer_email=calendar.owner_email,
                      organizer_name=owner.name if owner else "")
        apply_event_changes(event, changes)
        event.extra["creator"] = call.email
        calendar.events.put(event.id, event, seq)
        self.follow_meeting(calendar, event)
        call.detail["event"] = gid
        return 200, self.render(access, event)

    async def events_patch(self, call: Call) -> Reply:
        return await self.write(call, partial=True)

    async def events_put(self, call: Call) -> Reply:
        return await self.write(call, partial=False)

    async def write(self, call: Call, *, partial: bool) -> Reply:
        version = self.conference_version(call.request)
        body = await json_body(call.request)
        # From here to the write: no await.
        access = self.access(call)
        access.require("writer")
        calendar, world = access.calendar, self.hub.world
        gid = call.request.path_params["eventId"]
        event = self.find(calendar, gid)
        if event is None:
            found = self.find_instance(calendar, gid)
            if found is not None:
                return self.write_instance(call, access, found, body, partial, version)
            raise deleted() if self.deleted_seq(calendar, gid) else not_found()
        self.check_if_match(call.request, event)
        changes = parse_event(body, event, partial=partial, conference_version=version,
                              gid=event_gid(event.id))
        call.detail["event"] = gid
        attendee = meeting_writes.attendee_of(world, calendar, event)
        if attendee is not None:
            meeting_writes.write_copy(world, calendar, attendee, event, changes)
            return 200, self.render(access, event)
        if changes.moves_time:
            event.sequence += 1
        apply_event_changes(event, changes)
        seq = world.next_seq()
        event.last_modified = world.now()
        event.change_key = change_key(event.id, "g", seq)
        calendar.events.put(event.id, event, seq)
        self.follow_meeting(calendar, event)
        return 200, self.render(access, event)

    def write_instance(self, call: Call, access: Access, found: tuple[Event, datetime, Event],
                       body: dict[str, Any], partial: bool, version: int) -> Reply:
        """PATCH/PUT of one instance: an exception of the series (world/series.py), which Graph
        and EWS then show too; `status: cancelled` cancels the occurrence."""
        master, original, current = found
        if current.extra.get(instances.CANCELLED):
            raise deleted()
        self.check_if_match(call.request, current)
        calendar, world = access.calendar, self.hub.world
        call.detail["event"] = call.request.path_params["eventId"]
        if body.get("status") == "cancelled":
            cancel_occurrence(world, calendar, master, original)
            self.follow_meeting(calendar, master)
            return 200, self.render(access, instances.cancelled_instance(master, original))
        changes = parse_event(body, current, partial=partial, conference_version=version,
                              gid=event_gid(current.id))
        try:
            inst = modify_occurrence(world, calendar, master, original,
                                     **instance_changes(current, changes))
        except SeriesError:
            raise not_found() from None
        self.follow_meeting(calendar, master)
        return 200, self.render(access, instances.instance_event(master, inst))

    def follow_meeting(self, calendar: Calendar, event: Event) -> None:
        """After the organizer's write: the attendees' copies follow (meeting_writes.py); a
        copy deleted for an attendee no longer invited leaves its tombstone, as a delete does."""
        world = self.hub.world
        tombstones = calendar_state(world).tombstones
        for where, item in meeting_writes.after_write(world, calendar, event):
            tombstones.add(where.id, item, world.now())

    @staticmethod
    def conference_version(request: Request) -> int:
        """conferenceDataVersion: 0 ignores conferenceData, 1 reads it."""
        return validate.query_int(request.query_params, "conferenceDataVersion", 0, 0, 1,
                                  clamp=False)

    @staticmethod
    def check_if_match(request: Request, event: Event) -> None:
        if_match = request.headers.get("if-match")
        if if_match and _etag_number(if_match) not in ("*", event_etag(event)):
            raise condition_not_met()

    async def events_delete(self, call: Call) -> Reply:
        access = self.access(call)
        access.require("writer")
        calendar, world = access.calendar, self.hub.world
        gid = call.request.path_params["eventId"]
        event = self.find(calendar, gid)
        if event is None:
            found = self.find_instance(calendar, gid)
            if found is None:
                raise deleted() if self.deleted_seq(calendar, gid) else not_found()
            master, original, current = found
            if current.extra.get(instances.CANCELLED):
                raise deleted()
            self.check_if_match(call.request, current)
            cancel_occurrence(world, calendar, master, original)
            self.follow_meeting(calendar, master)
            call.detail["event"] = gid
            return 204, None
        self.check_if_match(call.request, event)
        tombstones = calendar_state(world).tombstones
        gone = meeting_writes.delete(world, calendar, event)
        for where, item in gone:
            tombstones.add(where.id, item, world.now())
        if gone:
            call.detail["cancelled_for"] = [c.owner_email for c, _ in gone[:-1]]
        else:
            tombstones.add(calendar.id, event, world.now())
            calendar.events.delete(event.id, world.next_seq())
        call.detail["event"] = gid
        return 204, None

    # -- events.instances ------------------------------------------------------------------------
    async def events_instances(self, call: Call) -> Reply:
        """A series' instances by start (timeMin/timeMax overlap, originalStart, showDeleted
        for the cancelled ones); an event that is not recurring is its own only instance."""
        params = call.request.query_params
        size = validate.query_int(params, "maxResults", 250, 1, 2500)
        validate.query_int(params, "maxAttendees", 0, 1, 2**31 - 1, clamp=False)
        validate.query_zone(params, "timeZone")
        validate.query_bool(params, "alwaysIncludeEmail")
        show_deleted = validate.query_bool(params, "showDeleted")
        low = validate.query_timestamp(params, "timeMin")
        high = validate.query_timestamp(params, "timeMax")
        original = validate.query_timestamp(params, "originalStart")
        if low is not None and high is not None and high <= low:
            raise GoogleError(400, "The specified time range is empty.",
                              reason="timeRangeEmpty")
        access = self.access(call)
        calendar = access.calendar
        gid = call.request.path_params["eventId"]
        master = self.find(calendar, gid)
        if master is None:
            raise deleted() if self.deleted_seq(calendar, gid) else not_found()
        call.detail["event"] = gid
        if master.recurrence is None:
            found = [master] if ((low is None or master.end > low)
                                 and (high is None or master.start < high)) else []
        else:
            live = instances.instances(master, low, high, _today(self.hub.world))
            top = high or (live[-1].end if live else None)
            found = [instances.instance_event(master, i) for i in live]
            if show_deleted:
                found += instances.cancelled_in(master, low, top)
            found.sort(key=lambda e: (e.start, event_gid(e.id)))
            if original is not None:
                found = [e for e in found if e.extra[instances.INSTANCE][1] == original]
        tokens = google_tokens(self.hub.world)
        bound = f"{calendar.id}|{access.viewer}|{gid}"
        offset = 0
        raw = params.get("pageToken")
        if raw:
            payload = tokens.open("events.instances", bound, raw)
            if payload is None:
                raise invalid_value("pageToken", raw)
            offset = int(payload[0])
        body = self.list_body(access, [self.render(access, e)
                                       for e in found[offset:offset + size]])
        if offset + size < len(found):
            body["nextPageToken"] = tokens.mint("events.instances", bound, [offset + size])
        return 200, self.reorder(body)

    # -- freeBusy --------------------------------------------------------------------------------
    async def freebusy(self, call: Call) -> Reply:
        raw = await json_body(call.request)
        try:
            body = conform(raw, "FreeBusyRequest", document("calendar", "v3"))
        except SchemaError:
            raise bad_request("Parse Error", reason="parseError") from None
        user = self.caller(call)
        for name in ("timeMin", "timeMax"):
            if not body.get(name):
                raise GoogleError(400, f"Missing {name} parameter.", reason="required")
        time_min = validate.body_timestamp(body["timeMin"], "timeMin")
        time_max = validate.body_timestamp(body["timeMax"], "timeMax")
        if time_max <= time_min:
            raise GoogleError(400, "The specified time range is empty.",
                              reason="timeRangeEmpty")
        if body.get("timeZone") is not None and validate.zone(body["timeZone"]) is None:
            raise bad_request("Invalid value for: timeZone", reason="invalid")
        for name, high in (("calendarExpansionMax", 50), ("groupExpansionMax", 100)):
            if body.get(name) is not None and not 0 <= body[name] <= high:
                raise bad_request(f"Invalid value for: {name}", reason="invalid")
        calendars: dict[str, Any] = {}
        for index, item in enumerate(body.get("items") or []):
            calendar_id = item.get("id") or ""
            if index >= FREEBUSY_MAX_CALENDARS:
                calendars[calendar_id] = {"errors": [{"domain": "calendar",
                                                      "reason": "tooManyCalendarsRequested"}],
                                          "busy": []}
                continue
            try:
                access = resolve_access(self.hub.world, user, calendar_id)
            except GoogleError:
                calendars[calendar_id] = {"errors": [{"domain": "global", "reason": "notFound"}],
                                          "busy": []}
                continue
            spans = sorted((e.start, e.end) for e in access.calendar.events
                           if e.show_as != "free" and e.end > time_min and e.start < time_max)
            merged: list[list[datetime]] = []
            for start, end in spans:
                if merged and start <= merged[-1][1]:
                    merged[-1][1] = max(merged[-1][1], end)
                else:
                    merged.append([start, end])
            calendars[calendar_id] = {"busy": [
                {"start": rfc3339_seconds(max(s, time_min)),
                 "end": rfc3339_seconds(min(e, time_max))} for s, e in merged]}
        return 200, {"kind": "calendar#freeBusy", "timeMin": rfc3339(time_min),
                     "timeMax": rfc3339(time_max), "calendars": calendars}
