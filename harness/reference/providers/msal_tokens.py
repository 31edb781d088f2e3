"""Microsoft tokens for the reference implementation (MSAL), per set-up mode.

Delegated (users set up by OAuth): MSAL auth code + PKCE, the user's token cache kept in the
store, refresh through the refresh token. Application permissions (the Office 365 admin set it
up): MSAL client credentials, one token for every user of the tenant.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import msal
import requests

from harness.api.errors import DriverError
from harness.reference.config import AppRegistration, ReferenceConfig
from harness.reference.providers.base import AuthError, ProviderEnv

GRAPH_DEFAULT = "https://graph.microsoft.com/.default"
TokenFn = Callable[[bool], str]  # force_refresh -> bearer


def auth_failed(result: dict[str, Any]) -> AuthError:
    return AuthError(result.get("error", "unknown_error"), result.get("error_description", ""),
                      result.get("error_codes"))


def token_roles(access_token: str) -> list[str]:
    """The application permissions a token carries (read, not verified: it is our own token
    from the identity platform, used only to report status)."""
    try:
        payload = access_token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        return []
    return sorted(claims.get("roles", []))


def msal_clients(env: ProviderEnv, user: str) -> MsalClients:
    """The MSAL applications of the app registration serving `user`'s tenant, built once per
    integration (they hold MSAL's HTTP cache, so tenant discovery is fetched once)."""
    registration = env.config.registration_for(user)
    if registration is None:
        raise DriverError("no_tenant", f"no Microsoft tenant is registered for {user}")
    key = f"msal:{registration.tenant_id}"
    clients = env.cache.get(key)
    if clients is None:
        clients = env.cache[key] = MsalClients(env.config, registration, env.requests_session)
    return clients


class MsalClients:
    """MSAL applications for one app registration (one per tenant in the mock world)."""

    def __init__(self, config: ReferenceConfig, registration: AppRegistration,
                 http: requests.Session) -> None:
        self.config, self.registration, self.http = config, registration, http
        self._app_only: msal.ConfidentialClientApplication | None = None
        # MSAL's own HTTP cache: tenant discovery is fetched once, not for every app instance
        # (one is made per user token cache, as MSAL recommends for web apps).
        self._http_cache: dict[Any, Any] = {}

    @property
    def authority(self) -> str:
        return f"{self.config.authority_host}/{self.registration.tenant_id}"

    def app(self, cache: msal.SerializableTokenCache | None = None
            ) -> msal.ConfidentialClientApplication:
        reg = self.registration
        return msal.ConfidentialClientApplication(
            reg.client_id, client_credential=reg.client_secret, authority=self.authority,
            token_cache=cache, http_client=self.http, instance_discovery=False,
            http_cache=self._http_cache)

    # -- delegated -----------------------------------------------------------------------------
    def begin(self, scopes: list[str], login_hint: str, prompt: str | None = None
              ) -> dict[str, Any]:
        return self.app().initiate_auth_code_flow(
            scopes, redirect_uri=self.registration.redirect_uri, login_hint=login_hint,
            prompt=prompt)

    def finish(self, flow: dict[str, Any], params: dict[str, str],
               cache: msal.SerializableTokenCache) -> dict[str, Any]:
        result = self.app(cache).acquire_token_by_auth_code_flow(flow, params)
        if "error" in result:
            raise auth_failed(result)
        return result

    def delegated(self, cache: msal.SerializableTokenCache, home_account_id: str,
                  scopes: list[str], force_refresh: bool) -> str:
        app = self.app(cache)
        account = next((a for a in app.get_accounts()
                        if a.get("home_account_id") == home_account_id), None)
        if account is None:
            raise AuthError("interaction_required", "no signed-in account in the token cache")
        result = app.acquire_token_silent_with_error(scopes, account, force_refresh=force_refresh)
        if not result:
            raise AuthError("interaction_required", "no token could be obtained silently")
        if "error" in result:
            raise auth_failed(result)
        return str(result["access_token"])

    # -- application ---------------------------------------------------------------------------
    def app_token(self, force_refresh: bool = False) -> str:
        if self._app_only is None or force_refresh:
            # A fresh cache is how MSAL is made to drop an app token the resource refused.
            self._app_only = self.app(msal.SerializableTokenCache())
        result = self._app_only.acquire_token_for_client([GRAPH_DEFAULT])
        if "error" in result:
            raise auth_failed(result)
        return str(result["access_token"])

    def admin_consent_url(self, state: str) -> str:
        from urllib.parse import urlencode

        query = urlencode({"client_id": self.registration.client_id, "scope": GRAPH_DEFAULT,
                           "redirect_uri": self.registration.redirect_uri, "state": state})
        return f"{self.authority}/v2.0/adminconsent?{query}"
