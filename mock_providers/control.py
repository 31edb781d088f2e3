"""The control API (`/_control`): seed/reset the world, move the clock, schedule faults, read the
audit log, and change provider-side state the way an admin or a user would outside the
integration (password change, consent policy, calendar content, delegate permissions)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from mock_providers.describe import describe
from mock_providers.hub import GoogleAdmin, GraphAdmin, Hub, MicrosoftAdmin
from mock_providers.world import Attendee, Calendar, Event, FaultSpec, MsTenant, MsUser
from mock_providers.world.model import parse_build
from mock_providers.world.seed import change_key


class ControlError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


async def _body(request: Request, model: type[BaseModel]) -> Any:
    raw = await request.body()
    try:
        data = json.loads(raw or b"{}")
    except json.JSONDecodeError as exc:
        raise ControlError(400, "invalidJson", f"request body is not JSON: {exc.msg}") from None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        raise ControlError(422, "invalidRequest", f"{where}: {first['msg']}") from None


class ResetIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    seed: int | None = None


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
    client_id: str
    scopes: list[str] = Field(min_length=1)


class RolesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    roles: list[str]


class EventIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    subject: str = Field(max_length=255)
    start: datetime
    end: datetime
    body: str = ""
    location: str = ""
    sensitivity: Literal["normal", "personal", "private", "confidential"] = "normal"
    attendees: list[str] = Field(default_factory=list)
    is_online_meeting: bool = False
    join_url: str | None = None

    @model_validator(mode="after")
    def _window(self) -> EventIn:
        for name in ("start", "end"):
            value = getattr(self, name)
            if value.tzinfo is None:
                setattr(self, name, value.replace(tzinfo=UTC))
        if self.end <= self.start:
            raise ValueError("end must be after start")
        return self


class EventPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    subject: str | None = Field(None, max_length=255)
    start: datetime | None = None
    end: datetime | None = None
    body: str | None = None
    location: str | None = None
    sensitivity: Literal["normal", "personal", "private", "confidential"] | None = None


class GraphLimitsIn(BaseModel):
    """Graph's per app per mailbox limits; null switches a limit off (load tests)."""

    model_config = ConfigDict(extra="forbid")
    concurrency: int | None = Field(..., ge=1)
    per_10_min: int | None = Field(..., ge=1)


class PermissionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Literal["freeBusyRead", "limitedRead", "read", "write",
                  "delegateWithoutPrivateEventAccess", "delegateWithPrivateEventAccess"]


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


def event_view(event: Event) -> dict[str, Any]:
    return {"id": event.id, "subject": event.subject, "start": event.start.isoformat(),
            "end": event.end.isoformat(), "sensitivity": event.sensitivity,
            "location": event.location, "is_online_meeting": event.is_online_meeting,
            "join_url": event.join_url, "attendees": [a.email for a in event.attendees],
            "ical_uid": event.ical_uid, "change_key": event.change_key,
            "transaction_id": event.transaction_id,
            "last_modified": event.last_modified.isoformat()}


def routes(hub: Hub) -> list[BaseRoute]:
    def endpoint(handler: Any) -> Any:
        async def wrapped(request: Request) -> Response:
            try:
                return await handler(request)
            except ControlError as exc:
                return _error(exc.status, exc.code, exc.message)
            except ValueError as exc:  # the providers' own validation of admin-side actions
                return _error(400, "invalidRequest", str(exc))
        return wrapped

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok", "seed": hub.world.seed, "seq": hub.world.seq,
                             "now": hub.world.now().isoformat()})

    async def world(request: Request) -> Response:
        return JSONResponse(describe(hub))

    async def reset(request: Request) -> Response:
        body: ResetIn = await _body(request, ResetIn)
        hub.reset(body.seed)
        return JSONResponse(describe(hub))

    async def clock(request: Request) -> Response:
        c = hub.world.clock
        return JSONResponse({"now": c.now().isoformat(), "offset_seconds": c.offset_seconds})

    async def clock_advance(request: Request) -> Response:
        body: AdvanceIn = await _body(request, AdvanceIn)
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
        entries = hub.world.audit.query(since=since, provider=q.get("provider"),
                                        user=q.get("user"), client_id=q.get("client_id"),
                                        operation=q.get("operation"), limit=limit)
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

    async def events(request: Request) -> Response:
        calendar = _calendar(hub, request.path_params["owner"])
        if request.method == "GET":
            ordered = sorted(calendar.events, key=lambda e: (e.start, e.id))
            return JSONResponse({"calendar": calendar.id,
                                 "events": [event_view(e) for e in ordered]})
        body: EventIn = await _body(request, EventIn)
        world = hub.world
        now = world.now()
        event_id = world.new_id()
        event = Event(
            id=event_id, subject=body.subject, start=body.start.astimezone(UTC),
            end=body.end.astimezone(UTC), created=now, last_modified=now,
            ical_uid=f"{event_id}@calharness", change_key=change_key(event_id, 0),
            body=body.body, location=body.location,
            attendees=[Attendee(email=a) for a in body.attendees],
            organizer_email=calendar.owner_email, sensitivity=body.sensitivity,
            is_online_meeting=body.is_online_meeting, join_url=body.join_url,
        )
        calendar.events.put(event.id, event, world.next_seq())
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
        if request.method == "DELETE":
            calendar.permissions.pop(delegate, None)
            return Response(status_code=204)
        body: PermissionIn = await _body(request, PermissionIn)
        calendar.permissions[delegate] = body.role
        return JSONResponse({"calendar": calendar.id, "delegate": delegate, "role": body.role})

    class ExchangeIn(BaseModel):
        model_config = ConfigDict(extra="forbid")
        deployment: Literal["online", "hybrid", "onpremises"] | None = None
        build: str | None = Field(None, max_length=32, description="e.g. 15.1.544.27")
        enforce_oauth: bool | None = None

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
        revoked = _google(hub).revoke_grants(user, client_id)
        return JSONResponse({"email": user.email, "client_id": client_id, "revoked": revoked})

    table: list[tuple[str, Any, list[str]]] = [
        ("/health", health, ["GET"]),
        ("/world", world, ["GET"]),
        ("/reset", reset, ["POST"]),
        ("/clock", clock, ["GET"]),
        ("/clock/advance", clock_advance, ["POST"]),
        ("/faults", faults, ["GET", "POST", "DELETE"]),
        ("/faults/{fault_id}", fault_delete, ["DELETE"]),
        ("/audit", audit, ["GET"]),
        ("/microsoft/users/{upn}/password", password, ["POST"]),
        ("/microsoft/users/{upn}/revoke", revoke, ["POST"]),
        ("/microsoft/tenants/{tenant}/consent-policy", consent_policy, ["POST"]),
        ("/microsoft/tenants/{tenant}/admin-consent", admin_consent, ["POST"]),
        ("/microsoft/tenants/{tenant}/apps/{client_id}/roles", app_roles, ["PUT"]),
        ("/mailboxes/{owner}/events", events, ["GET", "POST"]),
        ("/mailboxes/{owner}/events/{event_id}", event_item, ["GET", "PATCH", "DELETE"]),
        ("/microsoft/graph/limits", graph_limits, ["PUT", "DELETE"]),
        ("/mailboxes/{owner}/contacts", contacts, ["GET"]),
        ("/mailboxes/{owner}/calendar/permissions/{delegate}", permission, ["PUT", "DELETE"]),
        ("/microsoft/tenants/{tenant}/exchange", exchange, ["PUT"]),
        ("/google/users/{email}/password", google_password, ["POST"]),
        ("/google/users/{email}/revoke", google_revoke, ["POST"]),
    ]
    return [Route(path, endpoint(handler), methods=methods) for path, handler, methods in table]
