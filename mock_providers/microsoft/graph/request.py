"""What a handler works with: the per-hub `GraphState`, the request (`Req`: parsed lazily, query
options and Prefer on first use), the `Result` it returns, and the answers several handlers
share: a paged collection, a delta page, the If-Match check."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from starlette.types import Receive, Scope

from mock_providers.hub import Hub
from mock_providers.intake import IntakeError, check_declared_length
from mock_providers.microsoft.graph import delta, odata
from mock_providers.microsoft.graph.auth import Authenticator, Caller, limited_role
from mock_providers.microsoft.graph.errors import MAX_BODY_BYTES, GraphError, Headers, body_error
from mock_providers.microsoft.graph.recurrence import Occurrence, occurrences
from mock_providers.microsoft.graph.render import (
    EventView,
    RenderCache,
    etag,
    event_view,
    wrap_collection,
)
from mock_providers.microsoft.graph.throttling import Throttle
from mock_providers.microsoft.graph.timezones import resolve_tz
from mock_providers.world import Calendar, Event, MsUser, World


class ClientGone(Exception):
    """The client disconnected while its request body was being read."""


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
        # Series masters deleted through Graph, so a calendarView delta round can report each
        # of their occurrences as removed (bounded; a master deleted by another protocol is
        # reported by its own id only).
        self.deleted_series: dict[str, Event] = {}
        # (master id, change key, window) -> its occurrences in the window: a series is
        # expanded once per change and window, not per request.
        self.expansions: dict[tuple[str, str, datetime, datetime], list[Occurrence]] = {}
        self.pages = PageCache()

    def remember_series(self, event: Event) -> None:
        if len(self.deleted_series) >= 10_000:
            self.deleted_series.clear()
        self.deleted_series[event.id] = event

    def occurrences(self, event: Event, start: datetime, end: datetime) -> list[Occurrence]:
        """The series' occurrences overlapping [start, end), cached per change key."""
        key = (event.id, event.change_key, start, end)
        found = self.expansions.get(key)
        if found is None:
            if len(self.expansions) >= 20_000:
                self.expansions.clear()
            found = self.expansions[key] = occurrences(event, start, end)
        return found

    def sync(self, world: World) -> None:
        if world is self.world:
            return
        self.world = world
        self.epoch += 1
        self.render.clear()
        self.tokens.clear()
        self.throttle.clear()
        self.transactions.clear()
        self.deleted_series.clear()
        self.expansions.clear()
        self.pages.clear()


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
        """The whole body, capped at Graph's 4 MB request limit (413; a declared length over it
        is refused unread). A write handler reads it before it looks anything up: from then on
        it runs to its commit without an `await`, so nothing else happens in between."""
        declared = next((v for n, v in self.scope["headers"] if n == b"content-length"), None)
        try:
            check_declared_length(declared, MAX_BODY_BYTES)
        except IntakeError as exc:
            raise body_error(exc) from None
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await self.receive()
            if message["type"] == "http.disconnect":
                raise ClientGone()
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                raise body_error(IntakeError("size", ""))
            chunks.append(chunk)
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


class PageCache:
    """Whole list pages (body and the Preference-Applied headers they set), keyed by the
    collection's last change sequence and everything else the page depends on: the request
    path and query, Prefer, the host the links name, the owner and the caller's view. Every
    change to a calendar goes through `Collection.put`/`delete` with a new sequence, so a
    changed calendar never hits a stale page; a repeated read of an unchanged 1000-event page
    costs a lookup instead of rendering and joining ~1.5 MB. Bounded by entries and bytes."""

    MAX_ENTRIES = 256
    MAX_BYTES = 64 * 1024 * 1024
    __slots__ = ("_pages", "_bytes")

    def __init__(self) -> None:
        self._pages: dict[tuple[Any, ...], tuple[Result, Headers]] = {}
        self._bytes = 0

    def clear(self) -> None:
        self._pages.clear()
        self._bytes = 0

    @staticmethod
    def key(req: Req, collection_id: str, last_seq: int, view: Any) -> tuple[Any, ...]:
        return (collection_id, last_seq, view, req.user.id, req.base, req.route_path,
                req.query_string, tuple(req.prefer_raw))

    def get(self, req: Req, key: tuple[Any, ...]) -> Result | None:
        hit = self._pages.get(key)
        if hit is None:
            return None
        req.headers.extend(hit[1])
        return hit[0]

    def put(self, key: tuple[Any, ...], result: Result, headers: Headers) -> None:
        if result.status != 200:
            return
        size = len(result.body)
        if len(self._pages) >= self.MAX_ENTRIES or self._bytes + size > self.MAX_BYTES:
            self.clear()
        if size <= self.MAX_BYTES:
            self._pages[key] = (result, list(headers))
            self._bytes += size


Handler = Callable[[Req, list[str]], Awaitable[Result]]


def check_if_match(req: Req, current: str) -> None:
    """412 unless the request's If-Match (if any) is `*` or the entity's current etag."""
    if req.if_match is None:
        return
    wanted = req.if_match.decode("latin-1").strip()
    if wanted != "*" and wanted != etag(current):
        raise GraphError(412, "ErrorIrresolvableConflict",
                         "The send or update operation could not be performed because the change "
                         "key passed in the request does not match the current change key for the "
                         "item.")


def paged(req: Req, items: list[Any], render: Callable[[Any], bytes], context: str) -> Result:
    """One page of a list ($top or Prefer odata.maxpagesize, $skip, $count) with its nextLink."""
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
    return Result(200, wrap_collection(context, [render(i) for i in page], next_link=next_link,
                                       count=count))


def delta_result(req: Req, src: delta.DeltaSource, context: str) -> Result:
    """One page of a delta round, with its nextLink ($skiptoken) or deltaLink ($deltatoken)."""
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
        return Result(200, wrap_collection(context, page.fragments, next_link=link))
    link = odata.link(req.base, req.route_path, [("$deltatoken", page.delta_token or "")])
    return Result(200, wrap_collection(context, page.fragments, delta_link=link))
