"""Meeting actions on an event: an attendee's `accept`, `tentativelyAccept`, `decline` (body
`{"comment", "sendResponse"}`) and the organizer's `cancel` (body `{"comment"}`), each answered
202 Accepted with no body, as Graph does. The world's `meetings` module does the work (the
organizer's attendee status, the attendee's copy, the messages in Inbox / Sent Items), so EWS
and Graph show the same outcome.

`cancel` on an occurrence id cancels that occurrence (as DELETE does); responding to one
occurrence is not modelled (400): the response is to the whole meeting.
"""

from __future__ import annotations

from typing import Any

from mock_providers.microsoft.graph.auth import calendar_access
from mock_providers.microsoft.graph.bodies import parse_json_body
from mock_providers.microsoft.graph.errors import GraphError, access_denied
from mock_providers.microsoft.graph.events import find_item, remove_item
from mock_providers.microsoft.graph.request import Req, Result
from mock_providers.world import meetings

_ACTIONS = {"accept": "accepted", "tentativelyaccept": "tentativelyAccepted",
            "decline": "declined"}


def _invalid(message: str) -> GraphError:
    return GraphError(400, "ErrorInvalidRequest", f"Your request can't be completed. {message}")


def _body(raw: bytes, allowed: frozenset[str]) -> dict[str, Any]:
    """The action's parameters by their canonical names; Graph matches action parameter names
    without regard to case (msgraph-sdk sends `Comment`, `SendResponse`)."""
    given = parse_json_body(raw) if raw.strip() else {}
    canonical = {name.lower(): name for name in allowed}
    body: dict[str, Any] = {}
    for name, value in given.items():
        if name.startswith("@"):
            continue
        if name.lower() not in canonical:
            raise GraphError(400, "RequestBodyRead",
                             f"The parameter '{name[:64]}' in the request payload is not a valid "
                             "parameter for the operation.")
        body[canonical[name.lower()]] = value
    comment = body.get("comment", "")
    if comment is None:
        body["comment"] = ""
    elif not isinstance(comment, str):
        raise GraphError(400, "RequestBodyRead",
                         "Cannot convert a primitive value to the expected type 'Edm.String'.")
    elif len(comment) > 32_768:
        raise _invalid("The comment is too long.")
    send = body.get("sendResponse", True)
    if send is None:
        body["sendResponse"] = True
    elif not isinstance(send, bool):
        raise GraphError(400, "RequestBodyRead",
                         "Cannot convert a primitive value to the expected type 'Edm.Boolean'.")
    return body


def _action(args: list[str]) -> tuple[str | None, str, str]:
    """(calendar id, event id, action) from the route's arguments."""
    if len(args) == 3:
        return args[0], args[1], args[2]
    return None, args[0], args[1]


async def respond(req: Req, args: list[str]) -> Result:
    calendar_id, event_id, action = _action(args)
    response = _ACTIONS[action.lower().removeprefix("microsoft.graph.")]
    body = _body(await req.body(), frozenset({"comment", "sendResponse", "proposedNewTime"}))
    calendar, event, occ = find_item(req.user, event_id, calendar_id)
    req.detail["event"] = event_id
    redact = calendar_access(req.caller, req.user, calendar, write=True)
    if redact and event.sensitivity == "private":
        raise access_denied()
    if occ is not None:
        raise _invalid("Responding to one occurrence is not supported; respond to the series.")
    if event.organizer_email.lower() == req.user.upn.lower():
        raise _invalid("You can't respond to a meeting you organized.")
    if event.is_cancelled:
        raise _invalid("The meeting has been cancelled.")
    if not any(a.email.lower() == req.user.upn.lower() for a in event.attendees):
        raise _invalid("You aren't an attendee of this meeting.")
    meetings.respond(req.hub.world, req.user, event, response,  # type: ignore[arg-type]
                     comment=body.get("comment") or "",
                     send_response=body.get("sendResponse", True))
    req.detail["response"] = response
    return Result(202, b"")


async def cancel(req: Req, args: list[str]) -> Result:
    calendar_id, event_id, _ = _action(args)
    body = _body(await req.body(), frozenset({"comment"}))
    calendar, event, occ = find_item(req.user, event_id, calendar_id)
    req.detail["event"] = event_id
    redact = calendar_access(req.caller, req.user, calendar, write=True)
    if redact and event.sensitivity == "private":
        raise access_denied()
    if event.organizer_email.lower() != req.user.upn.lower():
        raise _invalid("Only the meeting organizer can cancel the meeting.")
    remove_item(req, calendar, event, occ, comment=body.get("comment") or "")
    return Result(202, b"")
