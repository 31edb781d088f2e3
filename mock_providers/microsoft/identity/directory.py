"""Who is asking, read from the world: the tenant a path names, the app a client_id names,
whether a redirect URI is registered for that app, and the consent already granted to it."""

from __future__ import annotations

from urllib.parse import urlsplit

from mock_providers.microsoft.identity.errors import aad_error
from mock_providers.world import MsApp, MsTenant, World

MULTI_TENANT = frozenset({"common", "organizations"})
_LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "[::1]"})


def resolve_tenant(world: World, alias: str) -> MsTenant | None:
    """The tenant named in the path; None for common/organizations; AADSTS90002 if unknown."""
    if alias.lower() in MULTI_TENANT:
        return None
    tenant = world.tenant(alias)
    if tenant is None:
        raise aad_error(90002, tenant=alias)
    return tenant


def find_app(world: World, tenant: MsTenant | None,
             client_id: str) -> tuple[MsApp, MsTenant] | None:
    candidates = [tenant] if tenant is not None else list(world.ms_tenants.values())
    for candidate in candidates:
        app = candidate.apps.get(client_id)
        if app is not None:
            return app, candidate
    return None


def redirect_registered(uri: str, registered: list[str]) -> bool:
    if uri in registered:
        return True
    # Entra ignores the port of loopback redirect URIs (native apps listen on any free port).
    asked = urlsplit(uri)
    if asked.scheme != "http" or asked.hostname is None:
        return False
    for candidate in registered:
        reg = urlsplit(candidate)
        if (reg.scheme == "http" and reg.netloc.split(":")[0] in _LOOPBACK_HOSTS
                and reg.hostname == asked.hostname
                and reg.path.rstrip("/") == asked.path.rstrip("/")):
            return True
    return False


def granted(tenant: MsTenant, oid: str, client_id: str) -> set[str]:
    """Delegated permissions consented for the user and app: tenant-wide plus the user's own."""
    return (tenant.admin_consents.get(client_id, set())
            | tenant.user_consents.get((oid, client_id), set()))
