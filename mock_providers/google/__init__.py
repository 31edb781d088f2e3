"""Google mocks: OAuth 2.0 / OpenID Connect, Calendar v3 and People v1, under /google.

The URLs other tools read (mock_providers/describe.py) resolve here: auth_uri
`/google/o/oauth2/v2/auth`, token_uri `/google/token`, the Calendar api_endpoint
`/google/calendar/v3/` and the People api_endpoint `/google/` (its paths start with `v1/`).
"""

from __future__ import annotations

from starlette.routing import BaseRoute

from mock_providers.google import calendar, oauth, people
from mock_providers.google.oauth import GoogleAccountAdmin
from mock_providers.hub import Hub

__all__ = ["GoogleAccountAdmin", "routes"]


def routes(hub: Hub) -> list[BaseRoute]:
    """Routes mounted at GOOGLE_PREFIX. OAuth first: its `/v1/userinfo` must win over the People
    API's `/v1/{rest}`."""
    return [*oauth.routes(hub), *calendar.routes(hub), *people.routes(hub)]
