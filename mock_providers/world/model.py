"""Entities of the simulated world, shared by every mock provider.

Events and contacts are provider-neutral: Graph, EWS and Google each render them in their own wire
format (Graph `subject`/`sensitivity`, Google `summary`/`visibility`, EWS `t:Subject`/
`t:Sensitivity`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from mock_providers.world.collection import Collection
from mock_providers.world.recurrence import Recurrence, SeriesExceptions

Sensitivity = Literal["normal", "personal", "private", "confidential"]
CalendarRole = Literal[
    "freeBusyRead", "limitedRead", "read", "write",
    "delegateWithoutPrivateEventAccess", "delegateWithPrivateEventAccess",
]
ExchangeDeployment = Literal["online", "hybrid", "onpremises"]


@dataclass(slots=True)
class Attendee:
    email: str
    name: str = ""
    type: Literal["required", "optional", "resource"] = "required"
    response: Literal["none", "accepted", "declined", "tentativelyAccepted", "organizer"] = "none"


@dataclass(slots=True)
class Event:
    id: str
    subject: str
    start: datetime  # aware, UTC
    end: datetime
    created: datetime
    last_modified: datetime
    ical_uid: str
    change_key: str
    time_zone: str = "UTC"
    body: str = ""
    body_type: Literal["text", "html"] = "text"
    location: str = ""
    attendees: list[Attendee] = field(default_factory=list)
    organizer_email: str = ""
    organizer_name: str = ""
    sensitivity: Sensitivity = "normal"
    is_all_day: bool = False
    show_as: str = "busy"
    is_online_meeting: bool = False
    online_meeting_provider: str = "unknown"
    join_url: str | None = None
    recurrence: Recurrence | None = None  # set on a series master only
    exceptions: SeriesExceptions = field(default_factory=SeriesExceptions)  # of a series master
    is_cancelled: bool = False  # an attendee's copy of a meeting its organizer cancelled
    transaction_id: str | None = None
    categories: list[str] = field(default_factory=list)
    sequence: int = 0  # Google's sequence / iCalendar SEQUENCE
    extra: dict[str, Any] = field(default_factory=dict)  # provider-only fields (conferenceData…)


@dataclass(slots=True)
class Contact:
    id: str
    display_name: str
    created: datetime
    last_modified: datetime
    change_key: str
    given_name: str = ""
    surname: str = ""
    emails: list[str] = field(default_factory=list)
    business_phones: list[str] = field(default_factory=list)
    mobile_phone: str | None = None
    company_name: str | None = None
    job_title: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class Calendar:
    id: str
    name: str
    owner_email: str
    is_default: bool
    events: Collection[Event]
    # delegate principal (upn/email, lower-case) -> role
    permissions: dict[str, CalendarRole] = field(default_factory=dict)
    color: str = "auto"


@dataclass(slots=True)
class ContactFolder:
    id: str
    name: str
    contacts: Collection[Contact]


@dataclass(slots=True)
class Mailbox:
    calendars: dict[str, Calendar]
    contact_folders: dict[str, ContactFolder]

    @property
    def default_calendar(self) -> Calendar:
        return next(c for c in self.calendars.values() if c.is_default)

    @property
    def default_contacts(self) -> ContactFolder:
        return next(iter(self.contact_folders.values()))


@dataclass(slots=True)
class MsUser:
    id: str  # object id (oid)
    upn: str
    display_name: str
    given_name: str
    surname: str
    password: str
    tenant_id: str
    mailbox: Mailbox
    is_admin: bool = False
    # Refresh tokens issued before this world-clock time are dead (password change, revocation).
    tokens_valid_after: float = 0.0
    tokens_invalid_reason: Literal["password", "revoked"] | None = None


@dataclass(slots=True)
class MsApp:
    client_id: str
    display_name: str
    client_secret: str | None  # None for a public client
    redirect_uris: list[str]
    # Application permissions (app roles) an admin has granted in this tenant.
    granted_roles: set[str] = field(default_factory=set)


@dataclass(slots=True)
class MsTenant:
    id: str
    key: str  # stable label used by features ("contoso"), independent of the seed
    name: str
    domains: list[str]
    users: dict[str, MsUser]
    apps: dict[str, MsApp]
    users_may_consent: bool = True
    # A policy change takes effect only at this world-clock time (Entra propagation delay).
    pending_users_may_consent: tuple[bool, float] | None = None
    admin_consents: dict[str, set[str]] = field(default_factory=dict)  # client_id -> scopes
    user_consents: dict[tuple[str, str], set[str]] = field(default_factory=dict)  # (oid, client)
    exchange: ExchangeDeployment = "online"
    exchange_build: str = "15.20.8207.17"
    enforce_oauth: bool = False

    def user_consent_allowed(self, now: float) -> bool:
        pending = self.pending_users_may_consent
        if pending is not None and now >= pending[1]:
            self.users_may_consent = pending[0]
            self.pending_users_may_consent = None
        return self.users_may_consent

    def user_by_upn(self, upn: str) -> MsUser | None:
        upn = upn.lower()
        return next((u for u in self.users.values() if u.upn.lower() == upn), None)


@dataclass(slots=True)
class GoogleUser:
    email: str
    name: str
    password: str
    calendars: dict[str, Calendar]  # the primary calendar's id is the email
    contacts: Collection[Contact]
    tokens_valid_after: float = 0.0


@dataclass(slots=True)
class GoogleClient:
    client_id: str
    client_secret: str
    redirect_uris: list[str]
    name: str = "calharness"


@dataclass(slots=True)
class GoogleDomain:
    domain: str
    users: dict[str, GoogleUser]  # lower-case email -> user


# An Exchange build is world data (the tenant's server); EWS renders it and the control API sets it.
def parse_build(build: str) -> tuple[int, int, int, int]:
    """`15.1.466.34` → (15, 1, 466, 34); ValueError for anything else."""
    parts = build.strip().split(".")
    if len(parts) != 4 or not all(p.isdigit() and len(p) <= 6 for p in parts):
        raise ValueError(f"an Exchange build is four dot-separated numbers, not {build!r}")
    major, minor, major_build, minor_build = (int(p) for p in parts)
    if major < 8 or major > 15:
        raise ValueError(f"Exchange major version {major} is not one EWS ever had (8–15)")
    return major, minor, major_build, minor_build
