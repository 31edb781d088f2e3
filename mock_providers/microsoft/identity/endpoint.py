"""What every identity endpoint shares: the hub's current world and identity state, the world
clock, trace ids, the audit log, reading a form, and how an answer of the browser-facing leg
reaches the user (an error page) or the client (its redirect URI, by query, fragment or
form_post)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple
from urllib.parse import parse_qsl, urlencode

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from mock_providers.intake import IntakeError, read_capped
from mock_providers.microsoft.identity import pages
from mock_providers.microsoft.identity.errors import AadError, Trace, redirect_error_params
from mock_providers.microsoft.identity.state import ClientTarget, IdentityState, identity_state
from mock_providers.world import World

if TYPE_CHECKING:
    from mock_providers.hub import Hub

RESPONSE_MODES = frozenset({"query", "fragment", "form_post"})


class Step(NamedTuple):
    """One answer of the browser-facing leg and what the audit log says about it."""

    response: Response
    outcome: str  # "ok" or "AADSTSnnnnn"
    next: str  # what the user sees next: login_page, consent_page, code, error_redirect, …


class Endpoint:
    """Base of the endpoint classes: bound to the hub, reads the world anew on every request."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub

    @property
    def world(self) -> World:
        return self.hub.world  # read per request: the control API swaps worlds on reset

    @property
    def state(self) -> IdentityState:
        return identity_state(self.world)

    def now(self) -> float:
        return self.world.clock.timestamp()

    def trace(self, request: Request) -> Trace:
        return Trace.new(self.now(), request.headers.get("client-request-id"))

    def record(self, request: Request, status: int, **fields: Any) -> None:
        self.hub.record("identity", request.method, request.url.path, status, **fields)

    def error_page(self, err: AadError, trace: Trace) -> HTMLResponse:
        html = pages.error_page(code=err.outcome, description=str(err),
                                trace_lines=trace_lines(trace))
        return HTMLResponse(html, status_code=err.status)

    def to_client(self, target: ClientTarget, params: dict[str, str]) -> Response:
        if target.response_mode == "form_post":
            return HTMLResponse(pages.form_post_page(action=target.redirect_uri, params=params),
                                headers={"Cache-Control": "no-store"})
        uri = target.redirect_uri
        sep = "#" if target.response_mode == "fragment" else ("&" if "?" in uri else "?")
        return RedirectResponse(uri + sep + urlencode(params), status_code=302)

    def error_to_client(self, target: ClientTarget, err: AadError, trace: Trace,
                        extra: dict[str, str] | None = None) -> Step:
        params = redirect_error_params(err, trace, self.hub.base_url, target.state)
        params.update(extra or {})
        return Step(self.to_client(target, params), err.outcome, "error_redirect")


def trace_lines(trace: Trace) -> list[str]:
    return [f"Trace ID: {trace.trace_id}", f"Correlation ID: {trace.correlation_id}",
            f"Timestamp: {trace.timestamp}"]


# Far above any form a flow posts (an authorize POST with a long claims parameter is a few KiB).
MAX_FORM_BYTES = 1 << 20


async def read_form(request: Request) -> dict[str, str]:
    """Form fields (first value wins); anything but urlencoded reads as empty, which then fails
    as a missing parameter exactly like Entra. So does a form over MAX_FORM_BYTES, and it is
    read no further than that (a declared length over it is not read at all)."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype != "application/x-www-form-urlencoded":
        return {}
    try:
        raw = await read_capped(request.stream(), request.headers.get("content-length"),
                                MAX_FORM_BYTES)
        text = raw.decode("utf-8")
    except (IntakeError, UnicodeDecodeError):
        return {}
    out: dict[str, str] = {}
    for key, value in parse_qsl(text, keep_blank_values=True):
        out.setdefault(key, value)
    return out
