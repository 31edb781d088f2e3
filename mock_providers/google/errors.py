"""Google's error bodies, and `serve`: the one path an API request takes through the fault plan,
authentication, scope checks, its handler and the audit log.

Two shapes, as Google answers them:
- REST APIs (Calendar v3, People v1): `{"error": {"code", "message", "errors": [{"message",
  "domain", "reason", ...}], "status", "details"?}}`. The 410 `fullSyncRequired` body carries no
  `status`, exactly as Calendar sends it.
- OAuth endpoints: `{"error": "invalid_grant", "error_description": "Bad Request"}`.

googleapiclient reads `error.message` (HttpError.reason), then `details`, else `errors`
(HttpError.error_details), and decides retries from `errors[0].reason` on a 403 (only
`rateLimitExceeded` / `userRateLimitExceeded`), always on 429 and 5xx.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send

from mock_providers.google.intake import IntakeError, parse_json, read_capped
from mock_providers.google.tokens import AccessToken, google_tokens
from mock_providers.world import Fault

if TYPE_CHECKING:
    from mock_providers.hub import Hub

REALM = 'Bearer realm="https://accounts.google.com/"'
JSON_TYPE = "application/json; charset=UTF-8"
STATUS_TEXT = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED",
               404: "NOT_FOUND", 409: "ALREADY_EXISTS", 410: "NOT_FOUND",
               412: "FAILED_PRECONDITION", 429: "RESOURCE_EXHAUSTED", 500: "INTERNAL",
               501: "UNIMPLEMENTED", 502: "UNAVAILABLE", 503: "UNAVAILABLE",
               504: "DEADLINE_EXCEEDED"}
UNAUTHENTICATED_MESSAGE = (
    "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie "
    "or other valid authentication credential. See "
    "https://developers.google.com/identity/sign-in/web/devconsole-project.")
FULL_SYNC_MESSAGE = "Sync token is no longer valid, a full sync is required."
MAX_ECHO = 200  # characters of a refused value an error message repeats
Flavor = Literal["apiary", "one"]
# Routes that answer every method themselves (Starlette's default would be GET only, and a method
# a route does not list gets its plain-text 405, not an error in Google's shape).
ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
log = logging.getLogger("calharness.google")


class GoogleError(Exception):
    """An API error; `body()` renders it the way the Google REST APIs do."""

    def __init__(self, code: int, message: str, *, reason: str, domain: str = "global",
                 status: str | None = "", error_fields: dict[str, str] | None = None,
                 details: list[dict[str, Any]] | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.reason, self.domain = code, message, reason, domain
        # "" means "derive from the HTTP code"; None means "no status member at all".
        self.status = STATUS_TEXT.get(code, "UNKNOWN") if status == "" else status
        self.error_fields = error_fields or {}
        self.details = details
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        if self.status is None:  # the legacy shape Calendar keeps for 410 fullSyncRequired
            return {"error": {"errors": [{"domain": self.domain, "reason": self.reason,
                                          "message": self.message}],
                              "code": self.code, "message": self.message}}
        inner: dict[str, Any] = {"code": self.code, "message": self.message,
                                 "errors": [{"message": self.message, "domain": self.domain,
                                             "reason": self.reason, **self.error_fields}],
                                 "status": self.status}
        if self.details is not None:
            inner["details"] = self.details
        return {"error": inner}


# -- the errors the mocks raise --------------------------------------------------------------
def bad_request(message: str, reason: str = "badRequest") -> GoogleError:
    return GoogleError(400, message, reason=reason)


def echo(value: str) -> str:
    """A client's value as an error message repeats it: bounded."""
    return value if len(value) <= MAX_ECHO else value[:MAX_ECHO] + "…"


def invalid_value(name: str, value: str) -> GoogleError:
    return GoogleError(400, f"Invalid value '{echo(value)}' for {name}.", reason="invalid",
                       error_fields={"location": name, "locationType": "parameter"})


def not_found(message: str = "Not Found") -> GoogleError:
    return GoogleError(404, message, reason="notFound")


def deleted() -> GoogleError:
    return GoogleError(410, "Resource has been deleted", reason="deleted")


def full_sync_required() -> GoogleError:
    return GoogleError(410, FULL_SYNC_MESSAGE, reason="fullSyncRequired", status=None)


def backend_error() -> GoogleError:
    """What a request that hit a bug in the mock gets: Google's 500, never exception text."""
    return GoogleError(500, "Backend Error", reason="backendError")


def condition_not_met() -> GoogleError:
    return GoogleError(412, "Precondition Failed", reason="conditionNotMet",
                       error_fields={"locationType": "header", "location": "If-Match"})


def failed_precondition(message: str, detail_reason: str | None = None,
                        domain: str = "people.googleapis.com") -> GoogleError:
    details = None
    if detail_reason is not None:
        details = [{"@type": "type.googleapis.com/google.rpc.ErrorInfo",
                    "reason": detail_reason, "domain": domain}]
    return GoogleError(400, message, reason="failedPrecondition", status="FAILED_PRECONDITION",
                       details=details)


def unauthenticated() -> GoogleError:
    return GoogleError(401, UNAUTHENTICATED_MESSAGE, reason="authError",
                       error_fields={"location": "Authorization", "locationType": "header"},
                       headers={"WWW-Authenticate": REALM})


def insufficient_scopes(service: str, method: str, accepted: frozenset[str]) -> GoogleError:
    details = [{"@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": "ACCESS_TOKEN_SCOPE_INSUFFICIENT", "domain": "googleapis.com",
                "metadata": {"service": service, "method": method}}]
    err = GoogleError(403, "Request had insufficient authentication scopes.",
                      reason="insufficientPermissions", details=details,
                      headers={"WWW-Authenticate": f'{REALM}, error="insufficient_scope", '
                                                   f'scope="{" ".join(sorted(accepted))}"'})
    # Google words the legacy entry differently from the top-level message.
    err.error_fields = {"message": "Insufficient Permission"}
    return err


def fault_error(fault: Fault) -> GoogleError:
    """`throttle` → 403 rateLimitExceeded (usageLimits) unless the spec asks for 429;
    `status` → the 5xx (default 503) as backendError. `code` overrides the reason."""
    spec = fault.spec
    headers = {"Retry-After": str(spec.retry_after)} if spec.retry_after is not None else {}
    if spec.kind == "throttle":
        status = spec.status or 403
        reason = spec.code or "rateLimitExceeded"
        message = "User Rate Limit Exceeded" if reason == "userRateLimitExceeded" \
            else "Rate Limit Exceeded"
        return GoogleError(status, message, reason=reason, domain="usageLimits",
                           headers=headers)
    status = spec.status or 503
    reason = spec.code or "backendError"
    message = "Backend Error" if reason == "backendError" else reason
    return GoogleError(status, message, reason=reason, headers=headers)


def oauth_error(error: str, description: str, status: int = 400,
                headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": error, "error_description": description}, status_code=status,
                        headers={"Cache-Control": "no-store", "Pragma": "no-cache",
                                 **(headers or {})})


# -- responses ---------------------------------------------------------------------------------
def dumps(data: Any) -> bytes:
    text = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    try:
        return text.encode()
    except UnicodeEncodeError:
        # Google's intake refuses lone surrogates, but another protocol's mock may have stored
        # one in the shared world: the read still answers, with U+FFFD's stand-in "?".
        return text.encode("utf-8", "replace")


def json_response(status: int, data: Any, headers: dict[str, str] | None = None) -> Response:
    if status == 204:
        return Response(status_code=204, headers=headers)
    return Response(dumps(data), status_code=status, media_type=JSON_TYPE, headers=headers)


def error_response(err: GoogleError) -> Response:
    return json_response(err.code, err.body(), err.headers or None)


class DroppedResponse(Response):
    """A `drop` fault: the status line and headers go out, then the connection is cut."""

    def __init__(self) -> None:
        super().__init__(status_code=200)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", JSON_TYPE.encode()),
                                (b"content-length", b"1024")]})
        await send({"type": "http.response.body", "body": b"{", "more_body": True})
        raise ConnectionAbortedError("calharness fault plan: connection dropped")


# -- the request pipeline -----------------------------------------------------------------------
@dataclass(slots=True)
class Call:
    """One authenticated API request as a handler sees it."""

    hub: Hub
    request: Request
    token: AccessToken
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def email(self) -> str:
        return self.token.email


@dataclass(frozen=True, slots=True)
class Operation:
    name: str  # audit operation, e.g. "events.list"
    method: str  # Google's RPC method name for ErrorInfo, e.g. "calendar.v3.Events.List"
    scopes: frozenset[str]  # any one of them suffices


Reply = tuple[int, Any]
Handler = Callable[[Call], Awaitable[Reply]]


def bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return request.query_params.get("access_token") or request.query_params.get("oauth_token")


async def serve(hub: Hub, request: Request, provider: str, service: str, op: Operation,
                handler: Handler, target_user: str | None = None) -> Response:
    """Fault plan → authentication → scopes → handler → one audit entry → response."""
    world = hub.world
    raw = bearer(request)
    token = google_tokens(world).lookup(raw, world.clock.timestamp()) if raw else None
    user = target_user or (token.email if token else None)
    audit: dict[str, Any] = {"client_id": token.client_id if token else None,
                             "user": user, "scopes": list(token.scope_list) if token else [],
                             "operation": op.name}
    path = request.url.path
    fault = world.faults.take(provider, request.method, path, user)
    detail: dict[str, Any] = {}
    if request.url.query:  # evidence of what was asked: syncToken, timeMin, pageToken ...
        detail["query"] = request.url.query
    header = request.headers.get("authorization", "").strip()
    detail["auth"] = header.partition(" ")[0].lower() if header else \
        "access_token" if raw else "none"
    if "overridden" in request.scope:  # the wire method; the audit entry names the effective one
        detail["sent_as"] = request.scope["overridden"]
    if token is not None and user != token.email:
        detail["caller"] = token.email
    try:
        if fault is not None:
            detail["fault"] = fault.id
            if fault.spec.kind == "latency":
                await asyncio.sleep(fault.spec.delay_ms / 1000)
            elif fault.spec.kind == "drop":
                hub.record(provider, request.method, path, 0, outcome="ConnectionDropped",
                           detail=detail, **audit)
                return DroppedResponse()
            else:
                raise fault_error(fault)
        if token is None:
            raise unauthenticated()
        if op.scopes.isdisjoint(token.scopes):
            raise insufficient_scopes(service, op.method, op.scopes)
        call = Call(hub, request, token, detail)
        status, data = await handler(call)
        body = json_response(status, data)
    except GoogleError as err:
        hub.record(provider, request.method, path, err.code, outcome=err.reason, detail=detail,
                   **audit)
        return error_response(err)
    except Exception:  # a bug in the mock: Google's 500 body, the traceback only in the log
        log.exception("%s %s %s failed", provider, request.method, path)
        err = backend_error()
        hub.record(provider, request.method, path, err.code, outcome="internalError",
                   detail=detail, **audit)
        return error_response(err)
    hub.record(provider, request.method, path, status, detail=detail, **audit)
    return body


OVERRIDABLE = frozenset({"GET", "DELETE", "PUT", "PATCH"})


async def method_override(request: Request) -> Request:
    """A POST with `X-HTTP-Method-Override` is the overriding method; for a GET its
    form-encoded body is the query. google-api-python-client turns every GET whose URI is longer
    than 2,048 characters into one (a long `q`, many `eventTypes`), and Google accepts it.
    Raises GoogleError 400 for a body the intake refuses or an unknown method."""
    override = request.headers.get("x-http-method-override")
    if request.method != "POST" or not override:
        return request
    method = override.strip().upper()
    if method not in OVERRIDABLE:
        raise bad_request(f"Invalid X-HTTP-Method-Override: {echo(override)}")
    if method != "GET":
        scope = dict(request.scope, method=method, overridden="POST")
        return Request(scope, request.receive)
    try:
        raw = await read_capped(request.stream(), request.headers.get("content-length"))
    except IntakeError as err:
        raise bad_request(err.message) from None
    if not raw.isascii():
        raise bad_request("Invalid query in the request body.")
    query = request.scope.get("query_string", b"")
    scope = dict(request.scope, method="GET", overridden="POST",
                 query_string=query + b"&" + raw if query and raw else query or raw)
    return Request(scope)


async def json_body(request: Request, flavor: Flavor = "apiary") -> dict[str, Any]:
    """The request's JSON object ({} for an empty body), read through the intake (capped,
    UTF-8, depth-checked, strict numbers, no lone surrogates). `flavor` picks the wording of the
    400: Calendar's Apiary front end says "Parse Error" (reason parseError); People's proto JSON
    reader says "Invalid JSON payload received. …" (INVALID_ARGUMENT)."""
    cached = getattr(request.state, "google_json", None)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    try:
        raw = await read_capped(request.stream(), request.headers.get("content-length"))
        data = parse_json(raw)
    except IntakeError as err:
        if err.kind in ("size", "length"):
            raise bad_request(err.message) from None
        if flavor == "apiary":
            raise bad_request("Parse Error", reason="parseError") from None
        raise bad_request(err.message) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        if flavor == "apiary":
            raise bad_request("Parse Error", reason="parseError")
        raise bad_request("Invalid JSON payload received. Expected an object.")
    request.state.google_json = data
    return data
