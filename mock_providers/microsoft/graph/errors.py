"""Graph error answers: the `GraphError` raised anywhere in request handling, its JSON body,
Graph's common errors in Graph's own wording, and the answer a scheduled fault stands for.

Error body (as Graph): `{"error": {"code", "message", "innerError": {"date", "request-id",
"client-request-id"}}}`; every response carries `request-id` / `client-request-id` (echoed).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from mock_providers.intake import IntakeError

if TYPE_CHECKING:
    from mock_providers.world import Fault

CONTENT_TYPE = (b"application/json;odata.metadata=minimal;odata.streaming=true;"
                b"IEEE754Compatible=false;charset=utf-8")
WWW_AUTHENTICATE = (b'Bearer realm="", authorization_uri="https://login.microsoftonline.com/'
                    b'common/oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000"')

Headers = list[tuple[bytes, bytes]]

# Graph's limit on a request, body included ("The maximum request length supported is 4MB.").
MAX_BODY_BYTES = 4 << 20
# Deeper than any event or contact body (an attendee's emailAddress is 3 levels), as deep as
# OData's JSON reader allows by default (MaxNestingDepth 100).
MAX_DEPTH = 100

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


def body_error(exc: IntakeError) -> GraphError:
    """Graph's answer to a body the intake refused: 413 over the size limit, else 400 as
    Graph's JSON reader words it."""
    if exc.kind == "size":
        return GraphError(413, "RequestEntityTooLarge",
                          "The maximum request length supported is 4MB.")
    if exc.kind == "length":
        return bad_request("The request's Content-Length is not a valid length.")
    return bad_request("Unable to read JSON request payload. Please ensure Content-Type header "
                       f"is set and payload is of valid JSON format. {exc.message}".rstrip())
