"""The Graph mock's one raw ASGI route: path matching (cached per method and path), dispatch to
the handler modules, and around every handler bearer-token auth, the fault plan, the mailbox,
the throttle, the permission table, the response headers and the audit entry.

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
    GET        {u}/events/{id}/instances, {u}/calendar(s/{id})/events/{id}/instances
    POST       {u}/events/{id}/accept|tentativelyAccept|decline|cancel (also under calendars)
    GET        {u}/mailFolders, {u}/mailFolders/{id|name}, …/childFolders, …/messages(/{id})
    GET        {u}/messages, {u}/messages/{id}
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
from typing import Any, NamedTuple
from urllib.parse import quote

from starlette.routing import BaseRoute, Match
from starlette.types import Receive, Scope, Send

from mock_providers.hub import Hub
from mock_providers.microsoft.graph import mail
from mock_providers.microsoft.graph.auth import Caller, check_scopes, is_self, resolve_user
from mock_providers.microsoft.graph.calendar_view import (
    calendar_view,
    calendar_view_delta,
    instances,
)
from mock_providers.microsoft.graph.contacts import (
    contacts_delta,
    create_contact,
    delete_contact,
    get_contact,
    get_folder,
    list_contacts,
    list_folders,
    update_contact,
)
from mock_providers.microsoft.graph.errors import (
    CONTENT_TYPE,
    GraphError,
    Headers,
    access_denied,
    bad_request,
    error_body,
    fault_error,
    method_not_allowed,
    segment_not_found,
)
from mock_providers.microsoft.graph.events import (
    create_event,
    delete_event,
    get_calendar,
    get_event,
    list_calendars,
    list_events,
    update_event,
)
from mock_providers.microsoft.graph.meeting_actions import cancel, respond
from mock_providers.microsoft.graph.request import ClientGone, GraphState, Handler, Req
from mock_providers.microsoft.graph.throttling import limits_for
from mock_providers.microsoft.graph.users import get_user, list_users
from mock_providers.world import MsUser


class ConnectionDropped(Exception):
    """Raised after the response headers went out, so the server cuts the connection."""


class _Drop(Exception):
    """Internal: the fault plan asked to drop this request."""


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


_ACTIONS = {"accept": "events.accept", "tentativelyaccept": "events.tentativelyAccept",
            "decline": "events.decline", "cancel": "events.cancel"}


def _event_sub(method: str, segment: str, args: list[str]) -> Target:
    """`…/events/{id}/{segment}`: instances, or a meeting action; `args` end with the id."""
    name = segment.lower().removeprefix("microsoft.graph.")
    if name == "instances":
        return _pick(method, _get("events.instances", instances), segment, args, True)
    operation = _ACTIONS.get(name)
    if operation is None:
        raise segment_not_found(segment)
    handler = cancel if name == "cancel" else respond
    return _pick(method, {"POST": (operation, handler)}, segment, [*args, name], True)


def _mail(method: str, rest: list[str]) -> Target:
    """`{u}/mailFolders/…` and `{u}/messages/…`."""
    head, n = rest[0].lower(), len(rest)
    if head == "messages":
        if n == 1:
            return _pick(method, _get("messages.list", mail.list_messages), rest[0], [], False)
        if n == 2:
            return _pick(method, _get("messages.get", mail.get_message), rest[1], [rest[1]], False)
        raise segment_not_found(rest[2])
    if n == 1:
        return _pick(method, _get("mailFolders.list", mail.list_folders), rest[0], [], False)
    fid = rest[1]
    if n == 2:
        return _pick(method, _get("mailFolders.get", mail.get_folder), fid, [fid], False)
    sub = rest[2].lower()
    if sub == "childfolders" and n == 3:
        return _pick(method, _get("mailFolders.list", mail.child_folders), rest[2], [fid], False)
    if sub == "messages" and n == 3:
        return _pick(method, _get("messages.list", mail.list_messages), rest[2], [fid], False)
    if sub == "messages" and n == 4:
        return _pick(method, _get("messages.get", mail.get_message), rest[3], [fid, rest[3]], False)
    raise segment_not_found(rest[2] if sub not in ("childfolders", "messages") else rest[3])


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
        if n == 3:
            return _event_sub(method, rest[2], [rest[1]])
        raise segment_not_found(rest[3])
    if head in ("mailfolders", "messages"):
        return _mail(method, rest)
    if head == "calendar":
        if n == 1:
            return _pick(method, _get("calendars.get", get_calendar), rest[0], [], True)
        sub = rest[1].lower()
        if sub == "events" and n == 2:
            return _pick(method, _EVENTS, rest[1], [], True)
        if sub == "events" and n == 3:
            return _pick(method, _EVENT, rest[2], [rest[2]], True)
        if sub == "events" and n == 4:
            return _event_sub(method, rest[3], [rest[2]])
        if sub == "calendarview" and n == 2:
            return _pick(method, _get("calendarView", calendar_view), rest[1], [], True)
        raise segment_not_found(rest[1] if n == 2 or sub not in ("events", "calendarview")
                                else rest[-1])
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
        if sub == "events" and n == 5:
            return _event_sub(method, rest[4], [cid, rest[3]])
        if sub == "calendarview" and n == 3:
            return _pick(method, _get("calendarView", calendar_view), rest[2], [cid], True)
        raise segment_not_found(rest[2] if sub not in ("events", "calendarview") else rest[-1])
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
        if scope["query_string"]:  # evidence of what was asked: $deltatoken, $skiptoken ...
            detail["query"] = scope["query_string"].decode("latin-1")
        # the scheme the caller authenticated with (bearer, or what else it tried)
        detail["auth"] = authorization.split(b" ", 1)[0].decode("latin-1").lower() \
            if authorization else "none"
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
                    target.operation.startswith(("contact", "mailFolders", "messages"))):
                raise access_denied()  # the world has no contact-folder or mail sharing
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
            # A bug of the mock: Graph's own 500, never the exception's text (it can carry file
            # paths or stored data); the audit entry names the exception's type for debugging.
            detail["exception"] = type(exc).__name__
            err = GraphError(500, "InternalServerError", "An internal server error occurred.")
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
