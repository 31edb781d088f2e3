"""A user of the mock world signed in through the real authorization-code flow on the mocks'
pages, and the sync connector of their protocol built on the reference providers' clients and
credentials: what the connector tests, `scenarios/bench_sync.py` and the load scenarios share."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import httpx

from harness.net import httpx_verify, pinned_session
from harness.reference import ReferenceConfig
from harness.reference.connectors import connector_for
from harness.reference.providers import ProviderEnv, provider_for
from harness.reference.providers.base import Credentials, Provider
from harness.sync.connector import Connector
from harness.useragent import UserAgent

Kind = Literal["graph", "ews", "google"]
SERVICES: dict[str, tuple[str, str | None]] = {
    "graph": ("office365", "graph"), "ews": ("office365", "ews"), "google": ("google", None)}


class SignInFailed(RuntimeError):
    """The authorization-code flow did not come back to the integration."""


@dataclass
class SignedIn:
    kind: Kind
    user: str
    provider: Provider
    creds: Credentials
    connector: Connector
    env: ProviderEnv

    def close(self) -> None:
        self.env.http.close()
        self.env.requests_session.close()


def config_for(world: dict[str, Any]) -> ReferenceConfig:
    return ReferenceConfig.from_hub(world, db_url="sqlite://")


def sign_in_user(config: ReferenceConfig, kind: Kind, user: str, password: str,
                 ca_bundle: str | None, sleep: Callable[[float], None] | None = None,
                 timeout: float = 30.0) -> SignedIn:
    """`user` connects `kind` with write access through the mocks' real sign-in pages."""
    env = ProviderEnv(config=config,
                      http=httpx.Client(verify=httpx_verify(config.ca_bundle), timeout=timeout),
                      requests_session=pinned_session(config.ca_bundle))
    try:
        if sleep is not None:
            env.sleep = sleep
        service, how = SERVICES[kind]
        provider = provider_for(env, user, service, how)
        start = provider.begin_auth("write", "none")
        with UserAgent(ca_bundle) as agent:
            outcome = agent.authorize(start.url, username=user, password=password,
                                      stop_at=start.redirect_uri)
        if not outcome.callback_url:
            raise SignInFailed(f"{kind} sign-in of {user} did not come back: "
                               f"{outcome.blocked_page_title or outcome.error}")
        creds = provider.finish_auth(start.pending, outcome.params)
        return SignedIn(kind, user, provider, creds, connector_for(provider, creds), env)
    except BaseException:
        env.http.close()
        env.requests_session.close()
        raise


def user_of(world: dict[str, Any], kind: Kind) -> tuple[str, str]:
    """(address, password) of the user a connector test acts for."""
    if kind == "google":
        user = world["google"]["users"][0]
        return user["email"], user["password"]
    tenant = next(t for t in world["microsoft"]["tenants"] if t["key"] == "contoso")
    member = next(u for u in tenant["users"] if not u["is_admin"])
    return member["upn"], member["password"]


def sign_in(world: dict[str, Any], kind: Kind, ca_bundle: str | None,
            sleep: Any = None) -> SignedIn:
    """The seeded world's own test user of `kind`, signed in."""
    user, password = user_of(world, kind)
    return sign_in_user(config_for(world), kind, user, password, ca_bundle, sleep)
