"""Microsoft Graph v1.0 mock (mounted at GRAPH_PREFIX): `routes(hub)` for the app, and the
per-hub throttling limits for the control API and benchmarks.

    router   the raw ASGI route: routing, auth, faults, throttling, handlers
    auth     bearer tokens (401), the permission table (403), delegate calendar access
    errors   error bodies, Graph's common errors, fault-plan answers
    throttling  per-app-per-mailbox limits (per hub) and their counters
    render   entity JSON out, per-caller event views, the render cache
    bodies   known/writable properties, create/PATCH body validation
    recurrence  calendarView instances of a recurring event
    timezones   Graph time zone names -> tzinfo
    odata    OData query options, the Prefer header, paging links
    delta    delta rounds: pages, signed skip/delta tokens, the ids a client may hold
"""

from mock_providers.microsoft.graph.router import routes
from mock_providers.microsoft.graph.throttling import GraphLimitsAdmin, reset_limits, set_limits

__all__ = ["GraphLimitsAdmin", "routes", "set_limits", "reset_limits"]
