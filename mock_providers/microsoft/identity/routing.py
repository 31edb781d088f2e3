"""The identity URL table: every path, its methods, and the endpoint that answers it.

The routes sit at the hub root because MSAL reads the tenant from the authority's first path
segment; `mock_providers.app` mounts them last so `/{tenant}` shadows no other prefix.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.routing import BaseRoute, Route

from mock_providers.microsoft.identity.authorize import Authorize
from mock_providers.microsoft.identity.consent import Consent
from mock_providers.microsoft.identity.discovery import Discovery
from mock_providers.microsoft.identity.grants import TokenEndpoint
from mock_providers.microsoft.identity.logout import Logout
from mock_providers.microsoft.identity.signin import SignIn

if TYPE_CHECKING:
    from mock_providers.hub import Hub


def routes(hub: Hub) -> list[BaseRoute]:
    discovery, authorize, signin = Discovery(hub), Authorize(hub), SignIn(hub)
    consent, token, logout = Consent(hub), TokenEndpoint(hub), Logout(hub)
    return [
        Route("/error", discovery.error_info, methods=["GET"]),
        Route("/{tenant}/v2.0/.well-known/openid-configuration", discovery.discovery,
              methods=["GET"]),
        Route("/{tenant}/discovery/v2.0/keys", discovery.jwks, methods=["GET"]),
        Route("/{tenant}/discovery/keys", discovery.jwks, methods=["GET"]),
        Route("/{tenant}/oauth2/v2.0/authorize", authorize.authorize, methods=["GET", "POST"]),
        Route("/{tenant}/oauth2/v2.0/token", token.token,
              methods=["POST", "GET", "PUT", "PATCH", "DELETE"]),
        Route("/{tenant}/oauth2/v2.0/logout", logout.logout, methods=["GET", "POST"]),
        Route("/{tenant}/v2.0/adminconsent", consent.adminconsent, methods=["GET"]),
        Route("/{tenant}/login", signin.login, methods=["POST"]),
        Route("/{tenant}/Consent/Set", consent.consent, methods=["POST"]),
        Route("/{tenant}/userrealm/{username}", discovery.userrealm, methods=["GET"]),
    ]
