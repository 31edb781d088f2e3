"""The access-token contract between the identity mock (which issues) and Graph/EWS (which check).

Claims follow Entra ID v1.0 access tokens for Graph and Exchange Online: `aud` is the resource,
delegated tokens carry `scp` (space-separated), application tokens `roles` and `idtyp: app`.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from mock_providers.world import MsUser

GRAPH_RESOURCE = "https://graph.microsoft.com"
GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
EXCHANGE_RESOURCE = "https://outlook.office365.com"
EXCHANGE_APP_ID = "00000002-0000-0ff1-ce00-000000000000"
RESOURCE_AUDIENCES = {
    GRAPH_RESOURCE: {GRAPH_RESOURCE, GRAPH_RESOURCE + "/", GRAPH_APP_ID},
    EXCHANGE_RESOURCE: {EXCHANGE_RESOURCE, EXCHANGE_RESOURCE + "/", EXCHANGE_APP_ID},
}
ACCESS_TOKEN_LIFETIME = 3600
# Entra built-in role template ids, as the `wids` claim carries them: every member has the
# default user role; the tenant's admin is a Global Administrator (who can grant admin consent).
DEFAULT_USER_ROLE = "b79fbf4d-3ef9-4689-8143-76b194e85509"
GLOBAL_ADMINISTRATOR_ROLE = "62e90394-69f5-4237-9190-012177145e10"


def _common(tenant_id: str, client_id: str, resource: str, now: float,
            lifetime: int) -> dict[str, Any]:
    issued = int(now)
    return {
        "aud": resource,
        "iss": f"https://sts.windows.net/{tenant_id}/",
        "iat": issued,
        "nbf": issued,
        "exp": issued + lifetime,
        "tid": tenant_id,
        "appid": client_id,
        "azp": client_id,
        "ver": "1.0",
        "uti": secrets.token_urlsafe(16),
    }


def delegated_access_claims(*, tenant_id: str, client_id: str, resource: str, oid: str,
                            upn: str, name: str, scopes: list[str], now: float,
                            lifetime: int = ACCESS_TOKEN_LIFETIME) -> dict[str, Any]:
    claims = _common(tenant_id, client_id, resource, now, lifetime)
    claims.update({"oid": oid, "sub": oid, "upn": upn, "unique_name": upn,
                   "preferred_username": upn, "name": name, "scp": " ".join(scopes),
                   "idtyp": "user"})
    return claims


def app_access_claims(*, tenant_id: str, client_id: str, resource: str, roles: list[str],
                      now: float, lifetime: int = ACCESS_TOKEN_LIFETIME) -> dict[str, Any]:
    claims = _common(tenant_id, client_id, resource, now, lifetime)
    claims.update({"oid": client_id, "sub": client_id, "roles": sorted(roles), "idtyp": "app"})
    return claims


@dataclass(frozen=True, slots=True)
class AccessContext:
    """What a resource server knows about the caller once the token verified."""

    kind: Literal["delegated", "application"]
    tenant_id: str
    client_id: str
    resource: str
    user_id: str | None  # oid of the signed-in user, delegated only
    upn: str | None
    scopes: frozenset[str]  # delegated permissions (scp)
    roles: frozenset[str]  # application permissions

    @property
    def permissions(self) -> frozenset[str]:
        return self.scopes if self.kind == "delegated" else self.roles


def access_context(claims: dict[str, Any]) -> AccessContext:
    aud = str(claims.get("aud", ""))
    resource = next((r for r, auds in RESOURCE_AUDIENCES.items() if aud in auds), aud)
    if claims.get("idtyp") == "app" or ("roles" in claims and "scp" not in claims):
        return AccessContext("application", claims["tid"], claims["appid"], resource, None, None,
                             frozenset(), frozenset(claims.get("roles", [])))
    return AccessContext("delegated", claims["tid"], claims["appid"], resource, claims.get("oid"),
                         claims.get("upn"), frozenset(str(claims.get("scp", "")).split()),
                         frozenset())


def directory_role_ids(user: MsUser) -> list[str]:
    """The `wids` claim of a user's tokens: the tenant-wide directory roles they hold."""
    roles = [DEFAULT_USER_ROLE]
    if user.is_admin:
        roles.append(GLOBAL_ADMINISTRATOR_ROLE)
    return roles
