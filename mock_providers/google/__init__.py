"""Google mocks: OAuth 2.0 / OpenID Connect, Calendar v3 and People v1, with their discovery
documents; under /google and at the paths the real hosts use.

The URLs other tools read (mock_providers/describe.py) resolve here: auth_uri
`/google/o/oauth2/v2/auth`, token_uri `/google/token`, the Calendar api_endpoint
`/google/calendar/v3/` and the People api_endpoint `/google/` (its paths start with `v1/`).

The same APIs also answer at the hub root (`root_routes`), at the paths of www.googleapis.com
(`/calendar/v3/…`, `/discovery/v1/apis/…`, `/oauth2/…`), people.googleapis.com (`/v1/people/…`,
`/$discovery/rest`), oauth2.googleapis.com (`/token`, `/revoke`, `/tokeninfo`),
accounts.google.com (`/o/oauth2/…`, `/.well-known/openid-configuration`) and
openidconnect.googleapis.com (`/v1/userinfo`): a client that keeps only the origin of a root URL
(the Node `googleapis` package) or a proxy that sends those hosts to the hub reaches them there.
Those routes are explicit paths (no catch-all), so the Microsoft identity routes behind them,
which start with a tenant segment, are shadowed only for tenants named like a Google path
segment (`calendar`, `discovery`, `o`, `oauth2`, `v1`), which no tenant is.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from mock_providers.google import calendar, discovery, oauth, people
from mock_providers.google.errors import ALL_METHODS, error_response, not_found
from mock_providers.google.oauth import GoogleAccountAdmin
from mock_providers.hub import GOOGLE_PREFIX, Hub

__all__ = ["GoogleAccountAdmin", "root_routes", "routes"]


def routes(hub: Hub) -> list[BaseRoute]:
    """Routes mounted at GOOGLE_PREFIX. OAuth first: its `/v1/userinfo` must win over the People
    API's `/v1/{rest}`. Anything else under the prefix is Google's 404, in its JSON shape."""

    async def unknown(request: Request) -> Response:
        hub.record("google-calendar", request.method, request.url.path, 404, outcome="notFound")
        return error_response(not_found())

    return [*_api_routes(hub, GOOGLE_PREFIX),
            Route("/{rest:path}", unknown, methods=ALL_METHODS)]


def root_routes(hub: Hub) -> list[BaseRoute]:
    """The same APIs at the hub root, at the real hosts' paths (see the module's docstring)."""
    return _api_routes(hub, "")


def _api_routes(hub: Hub, prefix: str) -> list[BaseRoute]:
    return [*oauth.routes(hub, prefix), *discovery.routes(hub, prefix), *calendar.routes(hub),
            *people.routes(hub)]
