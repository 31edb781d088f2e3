"""How the reference implementation is wired to providers: endpoints and its app registrations.

Built from the hub description (`calharness serve --json`), exactly as a real deployment would be
configured with real endpoints and real registrations; it never reaches into the mocks' world.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from harness.reference.store import fernet


@dataclass(frozen=True, slots=True)
class AppRegistration:
    tenant_id: str
    domains: tuple[str, ...]
    client_id: str
    client_secret: str
    redirect_uri: str


@dataclass(frozen=True, slots=True)
class GoogleEndpoints:
    auth_uri: str
    token_uri: str
    calendar: str  # api_endpoint for Calendar v3 (ends with /calendar/v3/)
    people: str  # api_endpoint for People v1 (the root before /v1/)
    client_id: str
    client_secret: str
    redirect_uri: str


@dataclass(frozen=True, slots=True)
class ReferenceConfig:
    authority_host: str
    graph_url: str
    ews_url: str
    ca_bundle: str | None
    registrations: tuple[AppRegistration, ...]
    google: GoogleEndpoints | None = None
    db_url: str = "sqlite://"
    # Ceiling on one Retry-After wait, so a hostile or broken provider cannot stall a run.
    max_retry_wait_s: float = 30.0
    max_retries: int = 4
    sync_past_days: int = 30
    sync_future_days: int = 90
    extra: dict[str, Any] = field(default_factory=dict)
    # Fernet key (url-safe base64 of 32 bytes) for the tokens and passwords the store keeps;
    # None: a key generated for this run, never written, so stores left behind are unreadable.
    store_key: str | None = field(default=None, repr=False)
    # What "now" is for the integration (sync windows, retention, audit times); None: real UTC
    # time plus an offset the driver moves with the mock providers' clock.
    clock: Callable[[], datetime] | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.store_key is not None:
            fernet(self.store_key)  # a malformed key fails here, not at the first credential

    @classmethod
    def from_hub(cls, description: dict[str, Any], db_url: str = "sqlite://",
                 store_key: str | None = None) -> ReferenceConfig:
        if description.get("secrets_included") is False:
            raise ValueError("the hub description has no client secrets: ask the control API "
                             "for them (GET /_control/world?secrets=true)")
        ms = description["microsoft"]
        registrations = []
        for tenant in ms["tenants"]:
            for app in tenant["apps"]:
                if app.get("client_secret"):  # the confidential web-app registration
                    registrations.append(AppRegistration(
                        tenant_id=tenant["id"], domains=tuple(d.lower() for d in tenant["domains"]),
                        client_id=app["client_id"], client_secret=app["client_secret"],
                        redirect_uri=app["redirect_uris"][0]))
        google = None
        g = description.get("google") or {}
        if g.get("clients"):
            client = g["clients"][0]
            google = GoogleEndpoints(auth_uri=g["auth_uri"], token_uri=g["token_uri"],
                                     calendar=g["calendar"], people=g["people"],
                                     client_id=client["client_id"],
                                     client_secret=client["client_secret"],
                                     redirect_uri=client["redirect_uris"][0])
        return cls(authority_host=ms["authority_host"], graph_url=ms["graph"], ews_url=ms["ews"],
                   ca_bundle=description.get("ca_bundle"), registrations=tuple(registrations),
                   google=google, db_url=db_url, store_key=store_key)

    def registration_for(self, email: str) -> AppRegistration | None:
        domain = email.rsplit("@", 1)[-1].lower()
        return next((r for r in self.registrations if domain in r.domains), None)
