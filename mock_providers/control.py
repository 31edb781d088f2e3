"""The control API (`/_control`): seed/reset the world, move the clock, schedule faults, read the
audit log, and change provider-side state the way an admin or a user would outside the
integration (password change, consent policy, calendar content, delegate permissions).

Only the hub's own clients may drive it: the hub serves on loopback with a CA the user trusts, so
any web page the user's browser opens could otherwise reset the world or move the clock. Every
route but `/health` needs the hub's control token (`Authorization: Bearer <token>` or
`X-Calharness-Control-Token`); every route refuses a `Host` that is not one of the hub's own names
(DNS rebinding), an `Origin` that is not the hub's own and a browser's `Sec-Fetch-Site` other than
same-origin; bodies must be `application/json`, at most `MAX_BODY_BYTES`.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from mock_providers.describe import describe
from mock_providers.hub import GoogleAdmin, GraphAdmin, Hub, MicrosoftAdmin
from mock_providers.world import Attendee, Calendar, Event, FaultSpec, MsTenant, MsUser, meetings
from mock_providers.world.bulk import LoadSeed, link_counts, seed_load
from mock_providers.world.model import parse_build
from mock_providers.world.recurrence import Instance, expand
from mock_providers.world.seed import change_key


class ControlError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


TOKEN_HEADER = "x-calharness-control-token"
LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "::1"})
MAX_BODY_BYTES = 1 << 20
_MAX_MESSAGE = 300  # error messages never echo more than this of what a client sent
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
_SAME_ORIGIN_FETCH = frozenset({"same-origin", "none"})


def _error(status: int, code: str, message: str,
           headers: dict[str, str] | None = None) -> JSONResponse:
    if len(message) > _MAX_MESSAGE:
        message = message[:_MAX_MESSAGE] + "…"
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status,
                        headers=headers)


class _Guard:
    """Who may use the control API: the hub's own host names, its own origin, its token."""

    def __init__(self, hub: Hub) -> None:
        own = urlsplit(hub.base_url)
        self.scheme = own.scheme
        self.port = own.port or (443 if own.scheme == "https" else 80)
        self.hosts = LOOPBACK_NAMES | {(own.hostname or "").lower()}
        self.hub = hub

    def _host_name(self, value: str) -> str | None:
        try:
            return (urlsplit("//" + value).hostname or "").lower() or None
        except ValueError:
            return None

    def _own_origin(self, origin: str) -> bool:
        try:
            parts = urlsplit(origin)
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            return False
        return (parts.scheme == self.scheme and port == self.port
                and (parts.hostname or "").lower() in self.hosts
                and not parts.path.strip("/") and not parts.query)

    def check(self, request: Request, *, needs_token: bool) -> None:
        headers = request.headers
        if self._host_name(headers.get("host", "")) not in self.hosts:
            raise ControlError(403, "hostNotAllowed",
                               "the control API answers only to the hub's own host names")
        origin = headers.get("origin")
        if origin is not None and not self._own_origin(origin):
            raise ControlError(403, "crossOriginRefused",
                               "the control API refuses requests from another origin")
        fetch_site = headers.get("sec-fetch-site")
        if fetch_site is not None and fetch_site.lower() not in _SAME_ORIGIN_FETCH:
            raise ControlError(403, "crossOriginRefused",
                               "the control API refuses requests from another site")
        if needs_token:
            self._check_token(headers.get("authorization"), headers.get(TOKEN_HEADER))
        # Every POST/PUT/PATCH changes state, so each must say application/json, body or not
        # (`/load/claim`, `/…/revoke` take none): a browser cannot send that content type
        # cross-site without a CORS preflight, which the hub never grants. The token already
        # stops such a request; this keeps the guard from resting on one check alone.
        if request.method in _BODY_METHODS and not _is_json(headers.get("content-type", "")):
            raise ControlError(415, "unsupportedMediaType",
                               "the control API takes application/json requests only "
                               "(send Content-Type: application/json, with or without a body)")

    def _check_token(self, authorization: str | None, header: str | None) -> None:
        presented = header
        if presented is None and authorization is not None:
            scheme, _, value = authorization.partition(" ")
            presented = value.strip() if scheme.lower() == "bearer" else None
        if not presented:
            raise _Unauthorized()
        expected = self.hub.control_token.encode()
        if not hmac.compare_digest(presented.encode("utf-8", "replace"), expected):
            raise ControlError(403, "invalidControlToken", "the control token is not this hub's")


class _Unauthorized(ControlError):
    def __init__(self) -> None:
        super().__init__(401, "controlTokenRequired",
                         "the control API needs the hub's control token "
                         "(Authorization: Bearer <control_token> from `calharness serve --json`)")


def _is_json(content_type: str) -> bool:
    return content_type.split(";", 1)[0].strip().lower() == "application/json"


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


async def _read_capped(request: Request) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise ControlError(413, "bodyTooLarge",
                           f"request bodies are at most {MAX_BODY_BYTES} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise ControlError(413, "bodyTooLarge",
                               f"request bodies are at most {MAX_BODY_BYTES} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def _body(request: Request, model: type[BaseModel]) -> Any:
    raw = await _read_capped(request)  # the guard has checked the content type
    try:
        data = json.loads(raw or b"{}", parse_constant=_no_constants)
    except json.JSONDecodeError as exc:
        raise ControlError(400, "invalidJson", f"request body is not JSON: {exc.msg}") from None
    except (ValueError, RecursionError) as exc:  # NaN, 4300+ digit numbers, deep nesting
        raise ControlError(400, "invalidJson", f"request body is not usable JSON: {exc}") from None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        raise ControlError(422, "invalidRequest", f"{where}: {first['msg']}") from None


def _secrets_wanted(request: Request) -> bool:
    value = request.query_params.get("secrets", "false").lower()
    if value not in ("true", "false", "1", "0"):
        raise ControlError(400, "invalidQuery", "secrets must be true or false")
    return value in ("true", "1")


# Every field a client sends is bounded: no number or string can overflow a date, a seed or the
# hub's memory and turn into a 5xx (tests/test_control_security.py sweeps hostile values).
Name = Annotated[str, StringConstraints(max_length=320)]  # an address, an id, a scope
Text = Annotated[str, StringConstraints(max_length=10_000)]
Url = Annotated[str, StringConstraints(max_length=2048)]
_EARLIEST, _LATEST = 1970, 2200
MAX_CLOCK_OFFSET_S = 50 * 365 * 86400  # the world clock moves at most 50 years ahead in total
MAX_AUDIT_LIMIT = 1_000_000


def _bounded_time(value: datetime) -> datetime:
    if not _EARLIEST <= value.year <= _LATEST:
        raise ValueError(f"dates must fall between {_EARLIEST} and {_LATEST}")
    return value if value.tzinfo else value.replace(tzinfo=UTC)


Stamp = Annotated[datetime, AfterValidator(_bounded_time)]


class ResetIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    seed: int | None = Field(None, ge=-(2**63), le=2**63 - 1)


class AdvanceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    seconds: float = Field(gt=0, le=10 * 365 * 86400)


class PasswordIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    password: str = Field(min_length=8, max_length=256)


class ConsentPolicyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    users_may_consent: bool
    delay_seconds: int = Field(1800, ge=0, le=7 * 86400)


class AdminConsentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    client_id: Name
    scopes: list[Name] = Field(min_length=1, max_length=100)


class RolesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    roles: list[Name] = Field(max_length=100)


class EventIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    subject: str = Field(max_length=255)
    start: Stamp
    end: Stamp
    body: Text = ""
    location: str = Field("", max_length=255)
    sensitivity: Literal["normal", "personal", "private", "confidential"] = "normal"
    attendees: list[Name] = Field(default_factory=list, max_length=500)
    is_online_meeting: bool = False
    join_url: Url | None = None
    # An invitation: the event is `organizer`'s meeting and the mailbox owner an attendee. For
    # an organizer of the owner's Microsoft tenant it is made in the organizer's calendar and
    # delivered as Exchange does (world.meetings: the owner's copy, not responded, and a meeting
    # request); otherwise (Google) the owner's calendar holds it with the organizer named.
    organizer: Name | None = None

    @model_validator(mode="after")
    def _window(self) -> EventIn:
        if self.end <= self.start:
            raise ValueError("end must be after start")
        return self


MAX_EXPAND_DAYS = 5 * 366  # an expanded listing covers at most about five years


class EventListQuery(BaseModel):
    """`GET /mailboxes/{owner}/events` options: `expand=true` with a `start`/`end` window lists a
    recurring series as its occurrences and exceptions in the window (cancelled ones left out),
    as calendar views do; without it every event, a series as its master."""

    model_config = ConfigDict(extra="forbid")
    expand: bool = False
    start: Stamp | None = None
    end: Stamp | None = None

    @model_validator(mode="after")
    def _window(self) -> EventListQuery:
        if (self.start is None) != (self.end is None):
            raise ValueError("start and end go together")
        if self.expand != (self.start is not None):
            raise ValueError("expand=true goes with a start and an end window, and only it")
        if self.start is not None and self.end is not None:
            if self.end <= self.start:
                raise ValueError("end must be after start")
            if self.end - self.start > timedelta(days=MAX_EXPAND_DAYS):
                raise ValueError(f"the window is at most {MAX_EXPAND_DAYS} days")
        return self


def _query(request: Request, model: type[BaseModel]) -> Any:
    """Query options validated like bodies: unknown or repeated options refused (422)."""
    params = request.query_params
    if len(params.multi_items()) != len(params):
        raise ControlError(422, "invalidRequest", "a query option is given twice")
    try:
        return model.model_validate(dict(params))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "query"
        raise ControlError(422, "invalidRequest", f"{where}: {first['msg']}") from None


class EventPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    subject: str | None = Field(None, max_length=255)
    start: Stamp | None = None
    end: Stamp | None = None
    body: Text | None = None
    location: str | None = Field(None, max_length=255)
    sensitivity: Literal["normal", "personal", "private", "confidential"] | None = None


class GraphLimitsIn(BaseModel):
    """Graph's per app per mailbox limits; null switches a limit off (load tests)."""

    model_config = ConfigDict(extra="forbid")
    concurrency: int | None = Field(..., ge=1, le=1_000_000)
    per_10_min: int | None = Field(..., ge=1, le=1_000_000_000)


class PermissionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Literal["freeBusyRead", "limitedRead", "read", "write",
                  "delegateWithoutPrivateEventAccess", "delegateWithPrivateEventAccess"]


class ExchangeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    deployment: Literal["online", "hybrid", "onpremises"] | None = None
    build: str | None = Field(None, max_length=32, description="e.g. 15.1.544.27")
    enforce_oauth: bool | None = None


# The body each route takes, by route path (the hostile-input sweep walks this table).
BODY_MODELS: dict[str, type[BaseModel]] = {
    "/reset": ResetIn,
    "/clock/advance": AdvanceIn,
    "/faults": FaultSpec,
    "/microsoft/users/{upn}/password": PasswordIn,
    "/microsoft/tenants/{tenant}/consent-policy": ConsentPolicyIn,
    "/microsoft/tenants/{tenant}/admin-consent": AdminConsentIn,
    "/microsoft/tenants/{tenant}/apps/{client_id}/roles": RolesIn,
    "/mailboxes/{owner}/events": EventIn,
    "/mailboxes/{owner}/calendars/{calendar_id}/events": EventIn,
    "/mailboxes/{owner}/events/{event_id}": EventPatch,
    "/microsoft/graph/limits": GraphLimitsIn,
    "/mailboxes/{owner}/calendar/permissions/{delegate}": PermissionIn,
    "/microsoft/tenants/{tenant}/exchange": ExchangeIn,
    "/google/users/{email}/password": PasswordIn,
    "/load/seed": LoadSeed,
}


def _tenant(hub: Hub, alias: str) -> MsTenant:
    tenant = hub.world.tenant(alias)
    if tenant is None:
        raise ControlError(404, "tenantNotFound", f"no tenant {alias!r}")
    return tenant


def _ms_user(hub: Hub, upn: str) -> MsUser:
    user = hub.world.ms_user(upn)
    if user is None:
        raise ControlError(404, "userNotFound", f"no Microsoft user {upn!r}")
    return user


def _not_mounted(name: str) -> ControlError:
    return ControlError(404, "providerNotMounted", f"the {name} mock is not mounted on this hub")


def _microsoft(hub: Hub) -> MicrosoftAdmin:
    if hub.admin.microsoft is None:
        raise _not_mounted("Microsoft identity")
    return hub.admin.microsoft


def _graph(hub: Hub) -> GraphAdmin:
    if hub.admin.graph is None:
        raise _not_mounted("Microsoft Graph")
    return hub.admin.graph


def _google(hub: Hub) -> GoogleAdmin:
    if hub.admin.google is None:
        raise _not_mounted("Google")
    return hub.admin.google


def _calendar(hub: Hub, owner: str) -> Calendar:
    ms = hub.world.ms_user(owner)
    if ms is not None:
        return ms.mailbox.default_calendar
    google = hub.world.google_user(owner)
    if google is not None:
        return google.calendars[google.email]
    raise ControlError(404, "mailboxNotFound", f"no mailbox or Google calendar for {owner!r}")


def _new_event(hub: Hub, calendar: Calendar, body: EventIn, organizer: str,
               attendees: list[str]) -> Event:
    world = hub.world
    now = world.now()
    event_id = world.new_id()
    event = Event(
        id=event_id, subject=body.subject, start=body.start.astimezone(UTC),
        end=body.end.astimezone(UTC), created=now, last_modified=now,
        ical_uid=f"{event_id}@calharness", change_key=change_key(event_id, 0),
        body=body.body, location=body.location,
        attendees=[Attendee(email=a, response="organizer" if a.lower() == organizer.lower()
                            else "none") for a in attendees],
        organizer_email=organizer, sensitivity=body.sensitivity,
        is_online_meeting=body.is_online_meeting, join_url=body.join_url,
    )
    calendar.events.put(event.id, event, world.next_seq())
    return event


def _invitation(hub: Hub, owner: str, calendar: Calendar, body: EventIn) -> Event:
    """`owner` invited by `body.organizer`: the owner's copy of the meeting."""
    assert body.organizer is not None
    organizer = body.organizer
    if organizer.lower() == owner.lower():
        raise ControlError(422, "invalidOrganizer", "the organizer cannot invite themselves")
    attendees = [organizer, owner, *(a for a in body.attendees
                                     if a.lower() not in (organizer.lower(), owner.lower()))]
    attendee, host = hub.world.ms_user(owner), hub.world.ms_user(organizer)
    if attendee is None or host is None:
        if attendee is not None or host is not None:
            raise ControlError(422, "invalidOrganizer",
                               "a Microsoft invitation needs an organizer of the same tenant")
        return _new_event(hub, calendar, body, organizer, attendees)
    if host.tenant_id != attendee.tenant_id:
        raise ControlError(422, "invalidOrganizer",
                           "a Microsoft invitation needs an organizer of the same tenant")
    original = _new_event(hub, host.mailbox.default_calendar, body, host.upn, attendees[1:])
    meetings.deliver_invitation(hub.world, host, original)
    copy = next((e for u, _, e in meetings.copies(hub.world, original) if u.id == attendee.id),
                None)
    if copy is None:  # deliver_invitation reaches every attendee of the tenant
        raise ControlError(409, "notDelivered", "the invitation did not reach the attendee")
    return copy


def _calendars(hub: Hub, owner: str) -> dict[str, Calendar]:
    """Every calendar of the mailbox or Google user (the default one and the others)."""
    ms = hub.world.ms_user(owner)
    if ms is not None:
        return ms.mailbox.calendars
    google = hub.world.google_user(owner)
    if google is not None:
        return google.calendars
    raise ControlError(404, "mailboxNotFound", f"no mailbox or Google calendar for {owner!r}")


def _calendar_in(hub: Hub, params: Mapping[str, Any]) -> Calendar:
    """The calendar a path names: `calendar_id` when it has one, else the default calendar."""
    owner = params["owner"]
    if "calendar_id" not in params:
        return _calendar(hub, owner)
    calendar = _calendars(hub, owner).get(params["calendar_id"])
    if calendar is None:
        raise ControlError(404, "calendarNotFound",
                           f"no calendar {params['calendar_id']!r} of {owner!r}")
    return calendar


def event_view(event: Event) -> dict[str, Any]:
    return {"id": event.id, "type": "seriesMaster" if event.recurrence else "singleInstance",
            "subject": event.subject, "start": event.start.isoformat(),
            "end": event.end.isoformat(), "sensitivity": event.sensitivity,
            # Google's "public" (a normal event shown to everyone) has no sensitivity of its own
            "public": event.extra.get("visibility") == "public",
            "location": event.location, "is_online_meeting": event.is_online_meeting,
            "join_url": event.join_url, "attendees": [a.email for a in event.attendees],
            "organizer": event.organizer_email,
            "responses": {a.email: a.response for a in event.attendees},
            "ical_uid": event.ical_uid, "change_key": event.change_key,
            "transaction_id": event.transaction_id,
            "last_modified": event.last_modified.isoformat()}


def occurrence_view(master: Event, inst: Instance) -> dict[str, Any]:
    """One occurrence of a series (its exception applied); its id is the master's id and the
    original start in UTC, `{id}_{YYYYMMDDTHHMMSSZ}`, the same key every protocol uses."""
    out = event_view(master)
    change = inst.change
    for name in ("subject", "body", "location", "sensitivity"):
        value = getattr(change, name, None) if change is not None else None
        if value is not None and name in out:
            out[name] = value
    original = inst.original_start.astimezone(UTC)
    out.update(id=f"{master.id}_{original:%Y%m%dT%H%M%SZ}",
               type="exception" if inst.is_exception else "occurrence",
               series_master_id=master.id, original_start=original.isoformat(),
               start=inst.start.isoformat(), end=inst.end.isoformat())
    if change is not None and change.change_key:
        out["change_key"] = change.change_key
    if change is not None and change.last_modified:
        out["last_modified"] = change.last_modified.isoformat()
    return out


def expanded_views(calendar: Calendar, start: datetime, end: datetime) -> list[dict[str, Any]]:
    """The calendar's events overlapping [start, end), each series as its occurrences."""
    rows: list[tuple[datetime, str, dict[str, Any]]] = []
    for event in calendar.events:
        if event.recurrence is None:
            if event.end > start and event.start < end or event.start == event.end == start:
                rows.append((event.start, event.id, event_view(event)))
            continue
        for inst in expand(event.recurrence, event.start, event.end, event.exceptions,
                           start, end):
            view = occurrence_view(event, inst)
            rows.append((inst.start, view["id"], view))
    rows.sort(key=lambda r: (r[0], r[1]))
    return [r[2] for r in rows]


def routes(hub: Hub) -> list[BaseRoute]:
    guard = _Guard(hub)

    def endpoint(handler: Any, *, needs_token: bool = True) -> Any:
        async def wrapped(request: Request) -> Response:
            try:
                guard.check(request, needs_token=needs_token)
                return await handler(request)
            except _Unauthorized as exc:
                return _error(exc.status, exc.code, exc.message,
                              {"WWW-Authenticate": 'Bearer realm="calharness-control"'})
            except ControlError as exc:
                return _error(exc.status, exc.code, exc.message)
            except ValueError as exc:  # the providers' own validation of admin-side actions
                return _error(400, "invalidRequest", str(exc))
        return wrapped

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok", "seed": hub.world.seed, "seq": hub.world.seq,
                             "now": hub.world.now().isoformat()})

    async def world(request: Request) -> Response:
        return JSONResponse(describe(hub, secrets=_secrets_wanted(request)))

    async def reset(request: Request) -> Response:
        with_secrets = _secrets_wanted(request)
        body: ResetIn = await _body(request, ResetIn)
        hub.reset(body.seed)
        return JSONResponse(describe(hub, secrets=with_secrets))

    async def clock(request: Request) -> Response:
        c = hub.world.clock
        return JSONResponse({"now": c.now().isoformat(), "offset_seconds": c.offset_seconds})

    async def clock_advance(request: Request) -> Response:
        body: AdvanceIn = await _body(request, AdvanceIn)
        if hub.world.clock.offset_seconds + body.seconds > MAX_CLOCK_OFFSET_S:
            raise ControlError(422, "invalidRequest", "seconds: the world clock moves at most "
                               f"{MAX_CLOCK_OFFSET_S} s ahead of real time in total")
        now = hub.world.clock.advance(body.seconds)
        return JSONResponse({"now": now.isoformat(),
                             "offset_seconds": hub.world.clock.offset_seconds})

    async def faults(request: Request) -> Response:
        plan = hub.world.faults
        if request.method == "GET":
            return JSONResponse({"faults": [f.to_dict() for f in plan.list()]})
        if request.method == "DELETE":
            plan.clear()
            return Response(status_code=204)
        spec: FaultSpec = await _body(request, FaultSpec)
        return JSONResponse(plan.add(spec).to_dict(), status_code=201)

    async def fault_delete(request: Request) -> Response:
        if not hub.world.faults.remove(request.path_params["fault_id"]):
            raise ControlError(404, "faultNotFound", "no such fault")
        return Response(status_code=204)

    async def audit(request: Request) -> Response:
        q = request.query_params
        try:
            since = int(q.get("since", "0"))
            limit = int(q["limit"]) if "limit" in q else None
        except ValueError:
            raise ControlError(400, "invalidQuery", "since and limit must be integers") from None
        if not 0 <= since < 2**63:
            raise ControlError(400, "invalidQuery", "since must be 0 or more")
        if limit is not None and not 0 <= limit <= MAX_AUDIT_LIMIT:
            raise ControlError(400, "invalidQuery", f"limit must be 0 to {MAX_AUDIT_LIMIT}")
        for name in ("provider", "user", "client_id", "operation"):
            if len(q.get(name, "")) > 320:
                raise ControlError(400, "invalidQuery", f"{name} is at most 320 characters")
        entries = [] if limit == 0 else hub.world.audit.query(
            since=since, provider=q.get("provider"), user=q.get("user"),
            client_id=q.get("client_id"), operation=q.get("operation"), limit=limit)
        return JSONResponse({"last_seq": hub.world.audit.last_seq,
                             "entries": [e.to_dict() for e in entries]})

    async def password(request: Request) -> Response:
        user = _ms_user(hub, request.path_params["upn"])
        body: PasswordIn = await _body(request, PasswordIn)
        _microsoft(hub).change_password(user, body.password)
        return JSONResponse({"upn": user.upn, "password_changed": True})

    async def revoke(request: Request) -> Response:
        user = _ms_user(hub, request.path_params["upn"])
        _microsoft(hub).revoke_sessions(user)
        return JSONResponse({"upn": user.upn, "revoked": True})

    async def withdraw_consent(request: Request) -> Response:
        user = _ms_user(hub, request.path_params["upn"])
        client_id = request.path_params["client_id"]
        try:
            withdrawn = _microsoft(hub).withdraw_user_consent(user, client_id)
        except ValueError:
            raise ControlError(404, "appNotFound",
                               f"no app {client_id!r} in the user's tenant") from None
        return JSONResponse({"upn": user.upn, "client_id": client_id, "withdrawn": withdrawn})

    async def consent_policy(request: Request) -> Response:
        tenant = _tenant(hub, request.path_params["tenant"])
        body: ConsentPolicyIn = await _body(request, ConsentPolicyIn)
        _microsoft(hub).set_user_consent_policy(tenant, body.users_may_consent, body.delay_seconds)
        return JSONResponse({"tenant": tenant.id, "users_may_consent": tenant.users_may_consent,
                             "pending": tenant.pending_users_may_consent})

    async def admin_consent(request: Request) -> Response:
        tenant = _tenant(hub, request.path_params["tenant"])
        body: AdminConsentIn = await _body(request, AdminConsentIn)
        if body.client_id not in tenant.apps:
            raise ControlError(404, "appNotFound", f"no app {body.client_id!r} in the tenant")
        _microsoft(hub).grant_admin_consent(tenant, body.client_id, body.scopes)
        return JSONResponse({"tenant": tenant.id, "client_id": body.client_id,
                             "scopes": sorted(tenant.admin_consents.get(body.client_id, ()))})

    async def app_roles(request: Request) -> Response:
        tenant = _tenant(hub, request.path_params["tenant"])
        client_id = request.path_params["client_id"]
        if client_id not in tenant.apps:
            raise ControlError(404, "appNotFound", f"no app {client_id!r} in the tenant")
        body: RolesIn = await _body(request, RolesIn)
        _microsoft(hub).set_app_roles(tenant, client_id, body.roles)
        return JSONResponse({"client_id": client_id,
                             "roles": sorted(tenant.apps[client_id].granted_roles)})

    async def calendars(request: Request) -> Response:
        owned = _calendars(hub, request.path_params["owner"])
        return JSONResponse({"calendars": [
            {"id": c.id, "name": c.name, "is_default": c.is_default, "events": len(c.events)}
            for c in owned.values()]})

    async def events(request: Request) -> Response:
        calendar = _calendar_in(hub, request.path_params)
        if request.method == "GET":
            query: EventListQuery = _query(request, EventListQuery)
            if query.expand and query.start is not None and query.end is not None:
                return JSONResponse({"calendar": calendar.id, "expanded": True,
                                     "events": expanded_views(calendar, query.start,
                                                              query.end)})
            ordered = sorted(calendar.events, key=lambda e: (e.start, e.id))
            return JSONResponse({"calendar": calendar.id, "expanded": False,
                                 "events": [event_view(e) for e in ordered]})
        body: EventIn = await _body(request, EventIn)
        if body.organizer is not None:
            return JSONResponse(event_view(_invitation(hub, request.path_params["owner"],
                                                       calendar, body)), status_code=201)
        event = _new_event(hub, calendar, body, calendar.owner_email, body.attendees)
        return JSONResponse(event_view(event), status_code=201)

    async def event_item(request: Request) -> Response:
        calendar = _calendar(hub, request.path_params["owner"])
        event_id = request.path_params["event_id"]
        event = calendar.events.get(event_id)
        if event is None:
            raise ControlError(404, "eventNotFound", f"no event {event_id!r}")
        world = hub.world
        if request.method == "DELETE":
            calendar.events.delete(event_id, world.next_seq())
            return Response(status_code=204)
        if request.method == "GET":
            return JSONResponse(event_view(event))
        patch: EventPatch = await _body(request, EventPatch)
        for name, value in patch.model_dump(exclude_none=True).items():
            if isinstance(value, datetime):
                value = (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)
            setattr(event, name, value)
        if event.end <= event.start:
            event.end = event.start + timedelta(minutes=30)
        event.last_modified = world.now()
        event.sequence += 1
        event.change_key = change_key(event.id, event.sequence)
        calendar.events.put(event.id, event, world.next_seq())
        return JSONResponse(event_view(event))

    async def graph_limits(request: Request) -> Response:
        if request.method == "DELETE":
            limits = _graph(hub).reset_limits()
        else:
            body: GraphLimitsIn = await _body(request, GraphLimitsIn)
            limits = _graph(hub).set_limits(body.concurrency, body.per_10_min)
        return JSONResponse({"concurrency": limits.concurrency, "per_10_min": limits.per_10_min,
                             "window_seconds": limits.window_seconds})

    async def contacts(request: Request) -> Response:
        owner = request.path_params["owner"]
        ms, google = hub.world.ms_user(owner), hub.world.google_user(owner)
        if ms is not None:
            items = list(ms.mailbox.default_contacts.contacts)
        elif google is not None:
            items = list(google.contacts)
        else:
            raise ControlError(404, "mailboxNotFound", f"no mailbox or Google account {owner!r}")
        return JSONResponse({"contacts": [
            {"id": c.id, "display_name": c.display_name, "emails": list(c.emails)}
            for c in sorted(items, key=lambda c: (c.display_name, c.id))]})

    async def permission(request: Request) -> Response:
        calendar = _calendar(hub, request.path_params["owner"])
        delegate = request.path_params["delegate"].lower()
        if len(delegate) > 320:
            raise ControlError(422, "invalidRequest", "delegate: at most 320 characters")
        if request.method == "DELETE":
            calendar.permissions.pop(delegate, None)
            return Response(status_code=204)
        body: PermissionIn = await _body(request, PermissionIn)
        calendar.permissions[delegate] = body.role
        return JSONResponse({"calendar": calendar.id, "delegate": delegate, "role": body.role})

    async def exchange(request: Request) -> Response:
        tenant = _tenant(hub, request.path_params["tenant"])
        body: ExchangeIn = await _body(request, ExchangeIn)
        if body.build is not None:
            try:
                parse_build(body.build)
            except ValueError as exc:
                raise ControlError(422, "invalidRequest", f"build: {exc}") from None
            tenant.exchange_build = body.build.strip()
        if body.deployment is not None:
            tenant.exchange = body.deployment
        if body.enforce_oauth is not None:
            tenant.enforce_oauth = body.enforce_oauth
        return JSONResponse({"tenant": tenant.id, "deployment": tenant.exchange,
                             "build": tenant.exchange_build,
                             "enforce_oauth": tenant.enforce_oauth})

    async def google_password(request: Request) -> Response:
        email = request.path_params["email"]
        user = hub.world.google_user(email)
        if user is None:
            raise ControlError(404, "userNotFound", f"no Google user {email!r}")
        body: PasswordIn = await _body(request, PasswordIn)
        _google(hub).change_password(user, body.password)
        return JSONResponse({"email": user.email, "password_changed": True})

    async def google_revoke(request: Request) -> Response:
        email = request.path_params["email"]
        user = hub.world.google_user(email)
        if user is None:
            raise ControlError(404, "userNotFound", f"no Google user {email!r}")
        client_id = request.query_params.get("client_id") or None
        if client_id is not None and len(client_id) > 320:
            raise ControlError(400, "invalidQuery", "client_id is at most 320 characters")
        revoked = _google(hub).revoke_grants(user, client_id)
        return JSONResponse({"email": user.email, "client_id": client_id, "revoked": revoked})

    # -- the load population (world/bulk.py): seeded once per world, claimed one by one ---------
    def _population() -> Any:
        population = hub.world.load
        if population is None:
            raise ControlError(404, "loadNotSeeded", "no load population: POST /load/seed first")
        return population

    async def load_seed(request: Request) -> Response:
        body: LoadSeed = await _body(request, LoadSeed)
        if hub.world.load is not None:
            raise ControlError(409, "loadAlreadySeeded",
                               "this world holds a load population already: POST /reset first")
        try:
            hub.world.load = seed_load(hub.world, body)
        except ValueError as exc:
            raise ControlError(422, "invalidRequest", str(exc)) from None
        return JSONResponse(hub.world.load.manifest(), status_code=201)

    async def load_info(request: Request) -> Response:
        return JSONResponse(_population().manifest())

    async def load_claim(request: Request) -> Response:
        population = _population()
        mailbox = population.claim()
        if mailbox is None:
            raise ControlError(409, "loadExhausted",
                               f"all {len(population.mailboxes)} load mailboxes of this shard "
                               "are claimed")
        return JSONResponse({**mailbox.view(secrets=True), **population.manifest()})

    async def load_release(request: Request) -> Response:
        _population().release_all()
        return Response(status_code=204)

    async def load_mailboxes(request: Request) -> Response:
        claimed = request.query_params.get("claimed", "false").lower() == "true"
        return JSONResponse({"mailboxes": [
            m.view(secrets=False) for m in _population().mailboxes
            if m.claimed or not claimed]})

    async def load_links(request: Request) -> Response:
        prefix = request.query_params.get("prefix", "")
        if len(prefix) > 64:
            raise ControlError(400, "invalidQuery", "prefix is at most 64 characters")
        claimed = request.query_params.get("claimed", "true").lower() != "false"
        address = request.query_params.get("address")
        if address is not None and len(address) > 320:
            raise ControlError(400, "invalidQuery", "address is at most 320 characters")
        return JSONResponse({"mailboxes": link_counts(hub.world, _population(), prefix,
                                                      claimed, address)})

    async def audit_summary(request: Request) -> Response:
        try:
            since = int(request.query_params.get("since", "0"))
        except ValueError:
            raise ControlError(400, "invalidQuery", "since must be an integer") from None
        if not 0 <= since < 2**63:
            raise ControlError(400, "invalidQuery", "since must be 0 or more")
        audit = hub.world.audit
        return JSONResponse({"last_seq": audit.last_seq, "rows": audit.summary(since)})

    table: list[tuple[str, Any, list[str]]] = [
        ("/health", health, ["GET"]),
        ("/world", world, ["GET"]),
        ("/reset", reset, ["POST"]),
        ("/clock", clock, ["GET"]),
        ("/clock/advance", clock_advance, ["POST"]),
        ("/faults", faults, ["GET", "POST", "DELETE"]),
        ("/faults/{fault_id}", fault_delete, ["DELETE"]),
        ("/audit", audit, ["GET"]),
        ("/audit/summary", audit_summary, ["GET"]),
        ("/load", load_info, ["GET"]),
        ("/load/seed", load_seed, ["POST"]),
        ("/load/claim", load_claim, ["POST"]),
        ("/load/release", load_release, ["POST"]),
        ("/load/links", load_links, ["GET"]),
        ("/load/mailboxes", load_mailboxes, ["GET"]),
        ("/microsoft/users/{upn}/password", password, ["POST"]),
        ("/microsoft/users/{upn}/revoke", revoke, ["POST"]),
        ("/microsoft/users/{upn}/consents/{client_id}", withdraw_consent, ["DELETE"]),
        ("/microsoft/tenants/{tenant}/consent-policy", consent_policy, ["POST"]),
        ("/microsoft/tenants/{tenant}/admin-consent", admin_consent, ["POST"]),
        ("/microsoft/tenants/{tenant}/apps/{client_id}/roles", app_roles, ["PUT"]),
        ("/mailboxes/{owner}/events", events, ["GET", "POST"]),
        ("/mailboxes/{owner}/events/{event_id}", event_item, ["GET", "PATCH", "DELETE"]),
        ("/mailboxes/{owner}/calendars", calendars, ["GET"]),
        ("/mailboxes/{owner}/calendars/{calendar_id}/events", events, ["GET", "POST"]),
        ("/microsoft/graph/limits", graph_limits, ["PUT", "DELETE"]),
        ("/mailboxes/{owner}/contacts", contacts, ["GET"]),
        ("/mailboxes/{owner}/calendar/permissions/{delegate}", permission, ["PUT", "DELETE"]),
        ("/microsoft/tenants/{tenant}/exchange", exchange, ["PUT"]),
        ("/google/users/{email}/password", google_password, ["POST"]),
        ("/google/users/{email}/revoke", google_revoke, ["POST"]),
    ]
    return [Route(path, endpoint(handler, needs_token=path != "/health"), methods=methods)
            for path, handler, methods in table]
