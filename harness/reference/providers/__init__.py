"""Calendar services the reference implementation connects, by (service, authorize with)."""

from __future__ import annotations

from harness.driver.base import DriverError
from harness.reference.providers.base import Provider, ProviderEnv
from harness.reference.providers.google import GoogleProvider
from harness.reference.providers.microsoft_graph import GraphProvider

PROVIDERS: dict[tuple[str, str | None], type[Provider]] = {
    ("office365", "graph"): GraphProvider,
    ("google", None): GoogleProvider,
}


def provider_for(env: ProviderEnv, user: str, service: str,
                 authorize_with: str | None) -> Provider:
    key = (service, authorize_with if service == "office365" else None)
    cls = PROVIDERS.get(key)
    if cls is None:
        how = f" authorized with {authorize_with}" if service == "office365" else ""
        raise DriverError("unsupported_service",
                          f"the reference implementation cannot connect {service}{how} yet")
    return cls(env, user)


__all__ = ["PROVIDERS", "Provider", "ProviderEnv", "provider_for"]
