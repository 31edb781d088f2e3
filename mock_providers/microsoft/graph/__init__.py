"""Microsoft Graph v1.0 mock, mounted at GRAPH_PREFIX: `routes(hub)` for the app, and the per-hub
throttling limits (`GraphLimitsAdmin`, `set_limits`, `reset_limits`) for the control API and the
benchmarks.

Modules, each importing only those below it:

    router         the one raw ASGI route: path matching, dispatch, auth, faults, throttle, audit
    users          handlers: /me, /users/{id|upn}, /users
    mail           handlers: well-known mail folders and the meeting messages they hold
    meeting_actions handlers: accept, tentativelyAccept, decline, cancel (world.meetings)
    calendar_view  handlers: calendarView, events/{id}/instances, calendarView/delta (over
                   occurrences)
    events         handlers: calendars and events (occurrence ids too), the calendar lookups
                   calendarView shares
    contacts       handlers: contacts, contact folders, contacts/delta
    request        GraphState, Req, Result, and the shared answers: paged list, delta page, If-Match
    delta          delta rounds: pages, signed skip/delta tokens, the ids a client may hold
    odata          query options ($select, $filter, $orderby, …), Prefer, paging links
    auth           bearer tokens (401), the permission table (403), delegate calendar access
    throttling     per-app-per-mailbox limits (per hub) and their counters (429)
    render         JSON out: entities, per-caller event views, the render cache, envelopes
    bodies         JSON in: known/writable properties, create/PATCH body validation
    recurrence     patternedRecurrence in/out, occurrences and their ids
    timezones      Graph time zone names (UTC, Windows, IANA) -> tzinfo
    errors         GraphError, error bodies, Graph's common errors, fault-plan answers
"""

from mock_providers.microsoft.graph.router import routes
from mock_providers.microsoft.graph.throttling import GraphLimitsAdmin, reset_limits, set_limits

__all__ = ["GraphLimitsAdmin", "routes", "set_limits", "reset_limits"]
