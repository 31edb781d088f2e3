"""Graph error responses, the per-app-per-mailbox throttle and fault-plan rendering.

Error body (as Graph): `{"error": {"code", "message", "innerError": {"date", "request-id",
"client-request-id"}}}`; every response carries `request-id` / `client-request-id` (echoed).

Throttling follows the Outlook limits Microsoft documents *per app per mailbox*: at most
`per_10_min` requests in a fixed 10-minute window of the world clock (windows start at multiples
of 600 s) and at most `concurrency` requests in flight at once. Over either limit the answer is
429 `TooManyRequests` with an integer `Retry-After` (seconds to the end of the window, or 1 s for
the concurrency limit) and `innerError.code` `ApplicationThrottled`. The limits are per hub:
`set_limits(hub, concurrency, per_10_min)` changes them (None switches a limit off) and
`reset_limits(hub)` restores `DEFAULT_LIMITS`. They survive a world reset; the counters do not.
"""

from __future__ import annotations

import json
import math
import weakref
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mock_providers.hub import Hub
    from mock_providers.world import Fault

CONTENT_TYPE = (b"application/json;odata.metadata=minimal;odata.streaming=true;"
                b"IEEE754Compatible=false;charset=utf-8")
WWW_AUTHENTICATE = (b'Bearer realm="", authorization_uri="https://login.microsoftonline.com/'
                    b'common/oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000"')

Headers = list[tuple[bytes, bytes]]

_DEFAULT_CODES = {
    400: "BadRequest", 401: "InvalidAuthenticationToken", 403: "ErrorAccessDenied",
    404: "ErrorItemNotFound", 409: "ErrorIrresolvableConflict", 410: "SyncStateNotFound",
    412: "ErrorIrresolvableConflict", 429: "TooManyRequests", 500: "InternalServerError",
    502: "BadGateway", 503: "ServiceUnavailable", 504: "GatewayTimeout",
}
_DEFAULT_MESSAGES = {
    429: "Too many requests.",
    500: "An internal server error occurred.",
    502: "Bad gateway.",
    503: "The service is temporarily unavailable. Please try again later.",
    504: "The gateway timed out.",
}


class GraphError(Exception):
    """An error answer; raised anywhere in request handling and rendered by the route."""

    def __init__(self, status: int, code: str, message: str, *,
                 headers: Headers | None = None, inner_code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or []
        self.inner_code = inner_code


def error_body(err: GraphError, request_id: str, client_request_id: str, now: float) -> bytes:
    inner: dict[str, str] = {}
    if err.inner_code:
        inner["code"] = err.inner_code
    inner["date"] = datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    inner["request-id"] = request_id
    inner["client-request-id"] = client_request_id
    return json.dumps({"error": {"code": err.code, "message": err.message,
                                 "innerError": inner}}).encode()


# -- the common errors, with Graph's own wording ---------------------------------------------------
def bad_request(message: str, code: str = "BadRequest") -> GraphError:
    return GraphError(400, code, message)


def segment_not_found(segment: str) -> GraphError:
    return GraphError(400, "BadRequest", f"Resource not found for the segment '{segment}'.")


def method_not_allowed(method: str, segment: str) -> GraphError:
    return GraphError(405, "BadRequest",
                      f"The HTTP method '{method}' is not allowed on the segment '{segment}'.")


def access_denied() -> GraphError:
    return GraphError(403, "ErrorAccessDenied",
                      "Access is denied. Check credentials and try again.")


def item_not_found() -> GraphError:
    return GraphError(404, "ErrorItemNotFound", "The specified object was not found in the store.")


def invalid_user(segment: str) -> GraphError:
    return GraphError(404, "ErrorInvalidUser", f"The requested user '{segment}' is invalid.")


def unauthenticated(message: str) -> GraphError:
    return GraphError(401, "InvalidAuthenticationToken", message,
                      headers=[(b"www-authenticate", WWW_AUTHENTICATE)])


def sync_state_not_found() -> GraphError:
    return GraphError(410, "SyncStateNotFound",
                      "The sync state generation is not found; a full synchronization is "
                      "required.", inner_code="resyncRequired")


def invalid_sync_state() -> GraphError:
    return GraphError(400, "ErrorInvalidSyncStateData",
                      "The sync state data is invalid or was issued for another mailbox or "
                      "application.")


def fault_error(fault: Fault) -> GraphError:
    """The answer a scheduled `status` or `throttle` fault stands for."""
    spec = fault.spec
    if spec.kind == "throttle":
        status = 429
        retry_after: int | None = spec.retry_after if spec.retry_after is not None else 10
    else:
        status = spec.status or 503
        retry_after = spec.retry_after
    code = spec.code or _DEFAULT_CODES.get(status, "UnknownError")
    message = _DEFAULT_MESSAGES.get(status, "The request failed.")
    headers: Headers = []
    if retry_after is not None:
        headers.append((b"retry-after", str(retry_after).encode()))
    inner = "ApplicationThrottled" if status == 429 else None
    return GraphError(status, code, message, headers=headers, inner_code=inner)


# -- throttling ------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class GraphLimits:
    """Outlook's documented per-app-per-mailbox limits; None switches one off."""

    concurrency: int | None = 4
    per_10_min: int | None = 10_000
    window_seconds: int = 600


DEFAULT_LIMITS = GraphLimits()
_hub_limits: dict[int, GraphLimits] = {}


def limits_for(hub: Hub) -> GraphLimits:
    return _hub_limits.get(id(hub), DEFAULT_LIMITS)


def set_limits(hub: Hub, concurrency: int | None, per_10_min: int | None) -> GraphLimits:
    """Change this hub's Graph limits (None = no limit); the control API and benchmarks call it."""
    for name, value in (("concurrency", concurrency), ("per_10_min", per_10_min)):
        if value is not None and value < 1:
            raise ValueError(f"{name} must be a positive integer or None")
    key = id(hub)
    if key not in _hub_limits:
        weakref.finalize(hub, _hub_limits.pop, key, None)
    limits = GraphLimits(concurrency, per_10_min, DEFAULT_LIMITS.window_seconds)
    _hub_limits[key] = limits
    return limits


def reset_limits(hub: Hub) -> GraphLimits:
    _hub_limits.pop(id(hub), None)
    return DEFAULT_LIMITS


@dataclass(frozen=True)
class GraphLimitsAdmin:
    """The control API's view of the limits (`mock_providers.hub.GraphAdmin`)."""

    hub: Hub

    def set_limits(self, concurrency: int | None, per_10_min: int | None) -> GraphLimits:
        return set_limits(self.hub, concurrency, per_10_min)

    def reset_limits(self) -> GraphLimits:
        return reset_limits(self.hub)


@dataclass(slots=True)
class Throttle:
    """Counters keyed by (client_id, mailbox user id)."""

    windows: dict[tuple[str, str], list[int]] = field(default_factory=dict)  # key -> [window, n]
    in_flight: dict[tuple[str, str], int] = field(default_factory=dict)

    def clear(self) -> None:
        self.windows.clear()
        self.in_flight.clear()

    def enter(self, key: tuple[str, str], limits: GraphLimits, now: float) -> None:
        """Count one request in, or raise the 429; a caller that got through must `leave`."""
        if limits.per_10_min is not None:
            window = int(now // limits.window_seconds)
            slot = self.windows.get(key)
            if slot is None or slot[0] != window:
                slot = [window, 0]
                self.windows[key] = slot
            if slot[1] >= limits.per_10_min:
                retry = max(1, math.ceil((window + 1) * limits.window_seconds - now))
                raise GraphError(
                    429, "TooManyRequests",
                    "Application is over its request limit for this mailbox "
                    f"({limits.per_10_min} requests per {limits.window_seconds // 60} minutes).",
                    headers=[(b"retry-after", str(retry).encode())],
                    inner_code="ApplicationThrottled")
            slot[1] += 1
        n = self.in_flight.get(key, 0)
        if limits.concurrency is not None and n >= limits.concurrency:
            raise GraphError(429, "TooManyRequests",
                             "Application is over its MailboxConcurrency limit.",
                             headers=[(b"retry-after", b"1")], inner_code="ApplicationThrottled")
        # Counted even with the limit off, so switching it on mid-flight stays consistent.
        self.in_flight[key] = n + 1

    def leave(self, key: tuple[str, str]) -> None:
        n = self.in_flight.get(key, 0) - 1
        if n > 0:
            self.in_flight[key] = n
        else:
            self.in_flight.pop(key, None)
