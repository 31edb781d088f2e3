"""What every part of the integration shares: its configuration, the store, the providers'
environment (HTTP clients, retry sleep) and the clock. One per ReferenceIntegration; the parts
are handed it and never build their own."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx

from harness.net import httpx_verify, pinned_session
from harness.reference.config import ReferenceConfig
from harness.reference.providers import Provider, ProviderEnv, provider_for
from harness.reference.store import IntegrationRow, Store


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(slots=True)
class Clock:
    """Real UTC time plus an offset moved forward on demand, as the mock providers' clock."""

    offset: timedelta = timedelta(0)

    def __call__(self) -> datetime:
        return _utc_now() + self.offset

    def advance(self, seconds: float) -> datetime:
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        self.offset += timedelta(seconds=seconds)
        return self()


@dataclass(slots=True)
class Context:
    config: ReferenceConfig
    store: Store
    env: ProviderEnv
    now: Callable[[], datetime] = _utc_now

    @classmethod
    def open(cls, config: ReferenceConfig) -> Context:
        """The store and the HTTP clients for `config`; `close` releases them."""
        return cls(config=config, store=Store(config.db_url, key=config.store_key),
                   now=config.clock or Clock(),
                   env=ProviderEnv(config=config,
                                   http=httpx.Client(verify=httpx_verify(config.ca_bundle),
                                                     timeout=30.0),
                                   requests_session=pinned_session(config.ca_bundle)))

    def close(self) -> None:
        self.env.http.close()
        self.env.requests_session.close()
        self.store.close()

    def provider(self, user: str, service: str, authorize_with: str | None,
                 ews_url: str | None = None) -> Provider:
        return provider_for(self.env, user, service, authorize_with, ews_url)

    def provider_of(self, row: IntegrationRow) -> Provider:
        return self.provider(row.user, row.service, row.authorize_with)
