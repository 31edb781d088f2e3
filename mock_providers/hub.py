"""The hub's contract: what every provider and the control API are given.

This module sits between the world and the providers and imports neither a provider nor the
control API (the composition root, `mock_providers.app`, assembles them). A provider gets a `Hub`:
the world (always read as `hub.world` at request time, never captured, because a reset swaps in a
fresh one), the token signer, the audit recorder and the public URLs. Admin actions a provider
offers to the control API are registered in `hub.admin` by the composition root, typed by the
protocols below, so the control API never reaches into a provider module by name.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any, Protocol

from mock_providers.signing import TokenSigner
from mock_providers.world import AuditEntry, GoogleUser, MsTenant, MsUser, World
from mock_providers.world.seed import WorldProfile, build_world

# URL layout. The Microsoft identity platform must sit at the root: MSAL reads the tenant from the
# first path segment of the authority, so it cannot live under a prefix.
CONTROL_PREFIX = "/_control"
GRAPH_PREFIX = "/graph/v1.0"
EWS_PATH = "/EWS/Exchange.asmx"
GOOGLE_PREFIX = "/google"


class MicrosoftAdmin(Protocol):
    """What an Entra admin (or the user) does outside the protocol: the identity mock offers it."""

    def change_password(self, user: MsUser, new_password: str) -> None: ...
    def revoke_sessions(self, user: MsUser) -> None: ...
    def set_user_consent_policy(self, tenant: MsTenant, allowed: bool,
                                delay_seconds: int = 1800) -> None: ...
    def grant_admin_consent(self, tenant: MsTenant, client_id: str,
                            scopes: list[str]) -> None: ...
    def set_app_roles(self, tenant: MsTenant, client_id: str, roles: list[str]) -> None: ...


class GraphLimitsView(Protocol):
    @property
    def concurrency(self) -> int | None: ...
    @property
    def per_10_min(self) -> int | None: ...
    @property
    def window_seconds(self) -> int: ...


class GraphAdmin(Protocol):
    """Graph's throttling limits, liftable for load tests."""

    def set_limits(self, concurrency: int | None, per_10_min: int | None) -> GraphLimitsView: ...
    def reset_limits(self) -> GraphLimitsView: ...


class GoogleAdmin(Protocol):
    """What a Google account holder does outside the protocol."""

    def change_password(self, user: GoogleUser, new_password: str) -> None: ...
    def revoke_grants(self, user: GoogleUser, client_id: str | None = None) -> int: ...


@dataclass
class HubAdmin:
    """Admin interfaces of the mounted providers; None where a provider is not mounted."""

    microsoft: MicrosoftAdmin | None = None
    graph: GraphAdmin | None = None
    google: GoogleAdmin | None = None


@dataclass
class Hub:
    world: World
    base_url: str  # scheme://host:port, no trailing slash
    ca_bundle: str | None = None
    profile: WorldProfile = field(default_factory=WorldProfile)
    signer: TokenSigner = field(default_factory=TokenSigner)
    admin: HubAdmin = field(default_factory=HubAdmin)
    # Bearer secret of the control API, new for every hub: a web page the user's browser opens
    # cannot know it, so it cannot reset the world or move the clock (`calharness serve --json`
    # prints it as `control_token`).
    control_token: str = field(default_factory=lambda: secrets.token_urlsafe(32), repr=False)
    ca_bundle_with_system: str | None = None  # the system's CAs plus ca_bundle (see tls.py)

    @classmethod
    def seeded(cls, seed: int, base_url: str, ca_bundle: str | None = None,
               profile: WorldProfile | None = None, *,
               ca_bundle_with_system: str | None = None) -> Hub:
        profile = profile or WorldProfile()
        return cls(world=build_world(seed, profile), base_url=base_url, ca_bundle=ca_bundle,
                   profile=profile, ca_bundle_with_system=ca_bundle_with_system)

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
