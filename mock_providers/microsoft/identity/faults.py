"""The world's fault plan on the identity endpoints: added latency, a connection dropped
mid-body, or an AADSTS error (throttling with Retry-After, a 5xx, or a chosen code)."""

from __future__ import annotations

import asyncio
import re
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from mock_providers.microsoft.identity.errors import AadError, aad_error, catalogue_message
from mock_providers.world import Fault

if TYPE_CHECKING:
    from mock_providers.hub import Hub


class DroppedResponse(Response):
    """A `drop` fault: the response starts, then the connection is cut mid-body."""

    def __init__(self) -> None:
        super().__init__(status_code=200)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-length", b"512")]})
        await send({"type": "http.response.body", "body": b"{", "more_body": True})
        raise ConnectionAbortedError("calharness fault plan: connection dropped")


def fault_error(fault: Fault) -> tuple[AadError, dict[str, str]]:
    """The error a `throttle`/`status` fault answers with, and its extra headers."""
    spec = fault.spec
    throttle = spec.kind == "throttle"
    status = spec.status or (429 if throttle else 503)
    code, error = (90055 if throttle else 90033), None
    if spec.code:
        numeric = re.fullmatch(r"(?:AADSTS)?(\d+)", spec.code.strip(), re.IGNORECASE)
        if numeric:
            code = int(numeric[1])
        else:
            error = spec.code
    if catalogue_message(code) is not None:
        err = aad_error(code, status=status, error=error or _error_for_status(status))
    else:
        err = AadError(code, error or _error_for_status(status), status,
                       "The request failed (injected by the calharness fault plan).")
    headers = {"Retry-After": str(spec.retry_after if spec.retry_after is not None else 5)} \
        if throttle or spec.retry_after is not None else {}
    return err, headers


def _error_for_status(status: int) -> str:
    if status == 429 or status >= 502:
        return "temporarily_unavailable"
    if status >= 500:
        return "server_error"
    return "invalid_client" if status == 401 else "invalid_request"


async def take_fault(hub: Hub, request: Request, user: str | None) -> Fault | None:
    """The fault planned for this request, if any; latency is served here and not returned."""
    fault = hub.world.faults.take("identity", request.method, request.url.path, user)
    if fault is not None and fault.spec.kind == "latency":
        await asyncio.sleep(fault.spec.delay_ms / 1000)
        return None
    return fault
