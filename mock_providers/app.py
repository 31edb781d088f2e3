"""The composition root: assembles the hub's ASGI app from the providers and the control API.

The only module that imports every provider. Providers and the control API depend on the hub's
contract (`mock_providers.hub`), never on this module or on each other, so the dependency runs
one way: world → hub contract → providers / control → app.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.applications import Starlette
from starlette.routing import BaseRoute, Mount

from mock_providers import control, google
from mock_providers.hub import CONTROL_PREFIX, GOOGLE_PREFIX, GRAPH_PREFIX, Hub, HubAdmin
from mock_providers.microsoft import ews, graph, identity

RouteFactory = Callable[[Hub], list[BaseRoute]]


def _route_factories() -> list[tuple[str | None, RouteFactory]]:
    """(mount prefix, factory) in match order; identity last because its routes start with a
    path parameter (the tenant) that would otherwise shadow every other prefix. Google's root
    routes (the real hosts' paths: /calendar/v3, /v1/people, /o/oauth2, /token, …) come before
    identity; they are explicit paths, so they shadow only a "tenant" named like one of their
    first segments (calendar, discovery, o, oauth2, v1, …), which no tenant id or domain is."""
    return [
        (GRAPH_PREFIX, graph.routes),
        (None, ews.routes),  # the one EWS_PATH route, at the root as Exchange serves it
        (GOOGLE_PREFIX, google.routes),
        (CONTROL_PREFIX, control.routes),
        (None, google.root_routes),
        (None, identity.routes),
    ]


def register_admin(hub: Hub) -> None:
    """Give the control API the providers' admin interfaces, bound to this hub."""
    hub.admin = HubAdmin(microsoft=identity.IdentityAdmin(hub), graph=graph.GraphLimitsAdmin(hub),
                         google=google.GoogleAccountAdmin(hub))


def create_app(hub: Hub) -> Starlette:
    register_admin(hub)
    routes: list[BaseRoute] = []
    for prefix, factory in _route_factories():
        provider_routes = factory(hub)
        if prefix:
            routes.append(Mount(prefix, routes=provider_routes))
        else:
            routes.extend(provider_routes)
    app = Starlette(routes=routes)
    app.state.hub = hub
    return app
