"""Calendar services the reference implementation connects, by (service, authorize with)."""

from __future__ import annotations

from harness.api.errors import DriverError
from harness.reference.providers.base import Provider, ProviderEnv
from harness.reference.providers.exchange_ews import EwsProvider
from harness.reference.providers.google import GoogleProvider
from harness.reference.providers.microsoft_graph import GraphProvider

PROVIDERS: dict[tuple[str, str | None], type[Provider]] = {
    ("office365", "graph"): GraphProvider,
    ("office365", "ews"): EwsProvider,
    ("exchange", None): EwsProvider,  # Exchange through the EWS URL (MAPI is a desktop client)
    ("google", None): GoogleProvider,
}


def provider_for(env: ProviderEnv, user: str, service: str, authorize_with: str | None,
                 ews_url: str | None = None) -> Provider:
    key = (service, authorize_with if service == "office365" else None)
    cls = PROVIDERS.get(key)
    if cls is None:
        how = f" authorized with {authorize_with}" if service == "office365" else ""
        raise DriverError("unsupported_service",
                          f"the reference implementation cannot connect {service}{how} yet")
    if cls is EwsProvider:
        return EwsProvider(env, user, ews_url)
    return cls(env, user)


__all__ = ["PROVIDERS", "Provider", "ProviderEnv", "provider_for"]
