"""Shared by the connector tests and the bench: a user of the mock world signed in through the
real authorization-code flow, and the sync connector of each protocol built on the reference
providers' clients and credentials."""

from __future__ import annotations

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
    config = ReferenceConfig.from_hub(world, db_url="sqlite://")
    env = ProviderEnv(config=config,
                      http=httpx.Client(verify=httpx_verify(config.ca_bundle), timeout=30.0),
                      requests_session=pinned_session(config.ca_bundle))
    if sleep is not None:
        env.sleep = sleep
    user, password = user_of(world, kind)
    service, how = {"graph": ("office365", "graph"), "ews": ("office365", "ews"),
                    "google": ("google", None)}[kind]
    provider = provider_for(env, user, service, how)
    start = provider.begin_auth("write", "none")
    with UserAgent(ca_bundle) as agent:
        outcome = agent.authorize(start.url, username=user, password=password,
                                  stop_at=start.redirect_uri)
    assert outcome.callback_url, outcome
    creds = provider.finish_auth(start.pending, outcome.params)
    return SignedIn(kind, user, provider, creds, connector_for(provider, creds), env)
