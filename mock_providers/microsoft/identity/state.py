"""Per-world identity state: sign-in flows in progress, SSO sessions (the `ESTSAUTH` cookie) and
the sign-in time behind each unredeemed code. It hangs off the World object, so `hub.reset()`
drops it with the world."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from mock_providers.microsoft.scopes import ScopeRequest
from mock_providers.world import MsUser, World
from mock_providers.world.extensions import per_world

FLOW_LIFETIME = 3600
SESSION_COOKIE = "ESTSAUTH"


@dataclass(frozen=True, slots=True)
class ClientTarget:
    """Where answers of the authorize leg go."""

    redirect_uri: str
    response_mode: str
    state: str | None


@dataclass(slots=True)
class Flow:
    id: str
    kind: Literal["authorize", "adminconsent"]
    tenant_alias: str
    tenant_id: str | None  # None for common/organizations until a user signs in
    client_id: str
    app_name: str
    target: ClientTarget
    request: ScopeRequest
    created: float
    correlation_id: str
    nonce: str | None = None
    code_challenge: str | None = None
    code_challenge_method: str | None = None
    prompt: str | None = None
    login_hint: str = ""
    max_age: int | None = None
    user_id: str | None = None
    auth_time: float | None = None
    session_state: str = ""


@dataclass(slots=True)
class SsoSession:
    id: str
    user_id: str
    auth_time: float
    session_state: str


@dataclass
class IdentityState:
    flows: dict[str, Flow] = field(default_factory=dict)
    sessions: dict[str, SsoSession] = field(default_factory=dict)
    code_auth_times: dict[str, float] = field(default_factory=dict)
    _created: int = 0

    def add_flow(self, flow: Flow, now: float) -> None:
        self._created += 1
        if self._created % 256 == 0:  # amortised pruning keeps long load runs bounded
            for stale in [f.id for f in self.flows.values() if now - f.created > FLOW_LIFETIME]:
                del self.flows[stale]
            if len(self.code_auth_times) > 50_000:
                self.code_auth_times.clear()
        self.flows[flow.id] = flow

    def live_flow(self, flow_id: str | None, now: float) -> Flow | None:
        flow = self.flows.get(flow_id or "")
        if flow is None or now - flow.created > FLOW_LIFETIME:
            return None
        return flow


identity_state = per_world(IdentityState)


def end_sessions(world: World, user: MsUser) -> None:
    """Every SSO session of the user ends (password change, revoked sign-in sessions)."""
    sessions = identity_state(world).sessions
    for sid in [s.id for s in sessions.values() if s.user_id == user.id]:
        del sessions[sid]
