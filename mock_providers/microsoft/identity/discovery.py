"""What a client reads before signing in: the OpenID configuration, the signing keys (JWKS), the
user realm, and the `/error?code=` page that every `error_uri` links to.

The issuer is `{hub.base_url}/{tenant id}/v2.0` (`{tenantid}` literally for
common/organizations, as Entra publishes it); MSAL does not compare it for Entra authorities.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from mock_providers.microsoft.identity import pages
from mock_providers.microsoft.identity.directory import resolve_tenant
from mock_providers.microsoft.identity.endpoint import RESPONSE_MODES, Endpoint
from mock_providers.microsoft.identity.errors import (
    AadError,
    catalogue_message,
    token_error_response,
)
from mock_providers.world import MsTenant

if TYPE_CHECKING:
    from mock_providers.hub import Hub


def issuer(hub: Hub, tenant_id: str | None) -> str:
    return f"{hub.base_url}/{tenant_id or '{tenantid}'}/v2.0"


class Discovery(Endpoint):
    async def discovery(self, request: Request) -> Response:
        alias = request.path_params["tenant"]
        trace = self.trace(request)
        try:
            tenant = resolve_tenant(self.world, alias)
        except AadError as err:
            self.record(request, err.status, operation="discovery", outcome=err.outcome,
                        detail={"tenant": alias})
            return token_error_response(err, trace, self.hub.base_url)
        self.record(request, 200, operation="discovery", detail={"tenant": alias})
        return JSONResponse(self.openid_configuration(tenant, alias))

    def openid_configuration(self, tenant: MsTenant | None, alias: str) -> dict[str, Any]:
        base = f"{self.hub.base_url}/{tenant.id if tenant else alias.lower()}"
        return {
            "token_endpoint": f"{base}/oauth2/v2.0/token",
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt",
                                                      "client_secret_basic"],
            "jwks_uri": f"{base}/discovery/v2.0/keys",
            "response_modes_supported": sorted(RESPONSE_MODES),
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["code"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "issuer": issuer(self.hub, tenant.id if tenant else None),
            "request_uri_parameter_supported": False,
            "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
            "end_session_endpoint": f"{base}/oauth2/v2.0/logout",
            "http_logout_supported": True,
            "frontchannel_logout_supported": True,
            "code_challenge_methods_supported": ["plain", "S256"],
            "grant_types_supported": ["authorization_code", "refresh_token",
                                      "client_credentials", "password"],
            "claims_supported": ["sub", "iss", "aud", "exp", "iat", "nbf", "auth_time", "nonce",
                                 "name", "preferred_username", "email", "oid", "tid", "ver",
                                 "uti"],
            "tenant_region_scope": "NA" if tenant else None,
            "cloud_instance_name": "microsoftonline.com",
            "cloud_graph_host_name": "graph.windows.net",
            "msgraph_host": "graph.microsoft.com",
            "rbac_url": "https://pas.windows.net",
        }

    async def jwks(self, request: Request) -> Response:
        alias = request.path_params["tenant"]
        try:
            resolve_tenant(self.world, alias)
        except AadError as err:
            self.record(request, err.status, operation="jwks", outcome=err.outcome)
            return token_error_response(err, self.trace(request), self.hub.base_url)
        self.record(request, 200, operation="jwks", detail={"tenant": alias})
        return JSONResponse(self.hub.signer.jwks())

    async def userrealm(self, request: Request) -> Response:
        username = request.path_params["username"]
        user = self.world.ms_user(username)
        domain = username.rpartition("@")[2]
        body: dict[str, Any] = {"ver": "1.0", "account_type": "Managed" if user else "Unknown",
                                "domain_name": domain, "cloud_instance_name":
                                "microsoftonline.com", "cloud_audience_urn":
                                "urn:federation:MicrosoftOnline"}
        if user is not None:
            body["federation_brand_name"] = self.world.ms_tenants[user.tenant_id].name
        self.record(request, 200, operation="userrealm", user=username)
        return JSONResponse(body)

    async def error_info(self, request: Request) -> Response:
        raw = request.query_params.get("code", "")
        code = int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 10 else 0
        message = catalogue_message(code)
        return HTMLResponse(pages.error_code_page(code=code, message=message),
                            status_code=200 if message else 404)
