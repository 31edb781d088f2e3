"""What the reference implementation needs from a calendar service, whatever the protocol.

The integration core (set-up flow, sync loop, store, status) is provider-neutral; each service
(Office 365 through Graph, Exchange through EWS, Google) implements `Provider` in its own module.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import httpx
import requests

from harness.api.errors import DriverError
from harness.api.models import Access, MeetingRequest, MeetingResponse, MeetingUpdate
from harness.reference.config import ReferenceConfig

Mode = Literal["delegated", "application"]


class AuthError(Exception):
    """The provider's identity service refused; `reauth` tells whether only the user can fix it."""

    REAUTH_ERRORS = frozenset({"invalid_grant", "interaction_required", "consent_required"})

    def __init__(self, error: str, description: str, codes: list[int] | None = None) -> None:
        super().__init__(f"{error}: {description}")
        self.error, self.description, self.codes = error, description, codes or []

    @property
    def reauth(self) -> bool:
        return self.error in self.REAUTH_ERRORS

    @property
    def summary(self) -> str:
        return self.description.splitlines()[0] if self.description else self.error


class ProviderError(Exception):
    """The provider's API refused or failed a call (after the provider's own retries)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"HTTP {status} {code}: {message}")
        self.status, self.code, self.message = status, code, message

    @property
    def denied(self) -> bool:
        return self.status == 403


@dataclass(slots=True)
class MeetingData:
    provider_id: str
    subject: str | None
    start: datetime
    end: datetime
    location: str | None = None
    join_url: str | None = None
    attendees: list[str] = field(default_factory=list)
    private: bool = False
    change_key: str | None = None


@dataclass(slots=True)
class CalendarData:
    """One of the user's calendars as the provider lists it."""

    provider_id: str
    name: str
    is_default: bool


@dataclass(slots=True)
class ContactData:
    provider_id: str
    display_name: str
    emails: list[str] = field(default_factory=list)


@dataclass(slots=True)
class AuthStart:
    url: str
    redirect_uri: str
    scopes: list[str]
    pending: dict[str, Any]  # JSON-serialisable state kept until the browser comes back


@dataclass(slots=True)
class Credentials:
    """What the store keeps to act for a user. `blob` is provider-specific (an MSAL token cache,
    an OAuth token set); providers replace it when tokens rotate and set `changed`."""

    mode: Mode
    blob: str | None = None
    account_ref: str | None = None
    scopes: list[str] = field(default_factory=list)
    changed: bool = False
    # Entra directory role template ids of the signed-in account (the ID token's `wids`); not
    # stored: read when an admin authorizes for the company, and at any Office 365 sign-in to
    # note whether the member is an Office 365 admin (`MemberRow.office365_admin`).
    directory_roles: list[str] = field(default_factory=list)


@dataclass
class ProviderEnv:
    """Shared by every provider of one integration: configuration and HTTP clients."""

    config: ReferenceConfig
    http: httpx.Client
    requests_session: requests.Session
    cache: dict[str, Any] = field(default_factory=dict)  # per-provider reusable clients
    # How providers wait before a retry (Retry-After, back-off); tests record instead of sleeping.
    sleep: Callable[[float], None] = time.sleep


class Provider(ABC):
    """One calendar service acting for one user of the account."""

    def __init__(self, env: ProviderEnv, user: str) -> None:
        self.env, self.user = env, user

    # -- authorization -------------------------------------------------------------------------
    @abstractmethod
    def begin_auth(self, calendar: Access, contacts: Access, prompt: str | None = None
                   ) -> AuthStart: ...

    @abstractmethod
    def finish_auth(self, pending: dict[str, Any], params: dict[str, str]) -> Credentials: ...

    def password_credentials(self, password: str) -> Credentials:
        """Credentials from the user's own mailbox password (Exchange EWS without OAuth)."""
        raise DriverError("unsupported", f"{type(self).__name__} does not take a password")

    def application_credentials(self) -> Credentials:
        raise DriverError("unsupported", f"{type(self).__name__} has no application permissions")

    def admin_consent_start(self, state: str) -> AuthStart:
        raise DriverError("unsupported", f"{type(self).__name__} has no admin consent")

    def tenant_key(self) -> str:
        """Which organisation the user belongs to at the provider (admin consent is per tenant)."""
        return self.user.rsplit("@", 1)[-1].lower()

    # -- data ----------------------------------------------------------------------------------
    @abstractmethod
    def create_event(self, creds: Credentials, request: MeetingRequest) -> MeetingData: ...

    @abstractmethod
    def update_event(self, creds: Credentials, provider_id: str,
                     update: MeetingUpdate) -> MeetingData: ...

    @abstractmethod
    def delete_event(self, creds: Credentials, provider_id: str) -> None: ...

    @abstractmethod
    def list_contacts(self, creds: Credentials) -> list[ContactData]: ...

    def respond_event(self, creds: Credentials, provider_id: str,
                      response: MeetingResponse) -> None:
        """The user's answer to an invitation in their calendar (a write on the calendar)."""
        raise DriverError("not_supported",
                          f"{type(self).__name__} cannot answer meeting invitations")

    def create_contact(self, creds: Credentials, contact: ContactData) -> ContactData:
        raise DriverError("unsupported", f"{type(self).__name__} cannot create contacts yet")

    # -- "Sync Zoom Meetings from calendars" ---------------------------------------------------
    @abstractmethod
    def list_calendars(self, creds: Credentials) -> list[CalendarData]:
        """Every calendar of the user's own at the provider, the default one first."""

    @abstractmethod
    def read_events(self, creds: Credentials, calendar_id: str | None,
                    window: tuple[datetime, datetime]) -> list[MeetingData]:
        """The events (a series as its occurrences) of one calendar overlapping `window`;
        `calendar_id` None is the default calendar, named by the provider's own alias so it is
        read without listing the calendars first."""
