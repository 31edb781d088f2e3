"""The mock hub: one ASGI app serving every mock provider and the control API.

Providers are modules exposing `routes(hub) -> list[BaseRoute]`. They always reach the world as
`hub.world` at request time (never capture it), because the control API swaps in a fresh world on
reset.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.routing import BaseRoute, Mount

from mock_providers.signing import TokenSigner
from mock_providers.world import AuditEntry, World
from mock_providers.world.seed import WorldProfile, build_world

# URL layout. The Microsoft identity platform must sit at the root: MSAL reads the tenant from the
# first path segment of the authority, so it cannot live under a prefix.
CONTROL_PREFIX = "/_control"
GRAPH_PREFIX = "/graph/v1.0"
EWS_PATH = "/EWS/Exchange.asmx"
GOOGLE_PREFIX = "/google"


@dataclass
class Hub:
    world: World
    base_url: str  # scheme://host:port, no trailing slash
    ca_bundle: str | None = None
    profile: WorldProfile = field(default_factory=WorldProfile)
    signer: TokenSigner = field(default_factory=TokenSigner)

    @classmethod
    def seeded(cls, seed: int, base_url: str, ca_bundle: str | None = None,
               profile: WorldProfile | None = None) -> Hub:
        profile = profile or WorldProfile()
        return cls(world=build_world(seed, profile), base_url=base_url, ca_bundle=ca_bundle,
                   profile=profile)

    def reset(self, seed: int | None = None) -> World:
        """A fresh world from `seed` (default: the current one). The clock keeps its offset."""
        seed = self.world.seed if seed is None else seed
        self.world = build_world(seed, self.profile, World(seed, clock=self.world.clock))
        return self.world

    def record(self, provider: str, method: str, path: str, status: int,
               **fields: Any) -> AuditEntry:
        return self.world.audit.record(self.world.clock.timestamp(), provider, method, path,
                                       status, **fields)

    # -- URLs other tools read (see `calharness serve --json`) --------------------------------
    @property
    def authority_host(self) -> str:
        return self.base_url

    @property
    def graph_url(self) -> str:
        return self.base_url + GRAPH_PREFIX

    @property
    def ews_url(self) -> str:
        return self.base_url + EWS_PATH

    @property
    def control_url(self) -> str:
        return self.base_url + CONTROL_PREFIX

    @property
    def google_base(self) -> str:
        return self.base_url + GOOGLE_PREFIX


RouteFactory = Callable[[Hub], list[BaseRoute]]


def _provider_route_factories() -> list[tuple[str | None, RouteFactory]]:
    """(mount prefix, factory) in match order; identity last because its routes start with a
    path parameter (the tenant) that would otherwise shadow every other prefix."""
    from mock_providers import control, google
    from mock_providers.microsoft import ews, graph, identity

    return [
        (GRAPH_PREFIX, graph.routes),
        (None, ews.routes),  # the one EWS_PATH route, at the root as Exchange serves it
        (GOOGLE_PREFIX, google.routes),
        (CONTROL_PREFIX, control.routes),
        (None, identity.routes),
    ]


def create_app(hub: Hub) -> Starlette:
    routes: list[BaseRoute] = []
    for prefix, factory in _provider_route_factories():
        provider_routes = factory(hub)
        if prefix:
            routes.append(Mount(prefix, routes=provider_routes))
        else:
            routes.extend(provider_routes)
    app = Starlette(routes=routes)
    app.state.hub = hub
    return app
