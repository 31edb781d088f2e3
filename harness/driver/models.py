"""The vocabulary of the driver seam: what step definitions say to an integration under test.

These pydantic models double as the conformance API's JSON schema, so a vendor's implementation
and the reference implementation are held to exactly the same shapes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Service = Literal["office365", "exchange", "google"]
AuthorizeWith = Literal["graph", "ews"]
Access = Literal["none", "read", "write"]
IntegrationState = Literal["not_connected", "pending", "connected", "reauth_required", "error"]
# Per capability: working, refused by the provider (permission missing), or not granted at all.
CapabilityState = Literal["ok", "denied", "off"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AccountSpec(_Model):
    """The meeting-platform account a scenario runs in: who owns and administers it."""

    owner: str
    admins: list[str] = Field(default_factory=list)
    members: list[str] = Field(default_factory=list)


class AccountSettings(_Model):
    """Account-level calendar and contacts settings (documents: "Calendar and Contacts" section)."""

    calendar_integration: bool = True  # "By default, users have this option enabled."
    default_calendar_service: Service = "office365"
    default_contacts_service: Service = "office365"
    authorize_with: AuthorizeWith = "graph"  # Office 365: Graph API (default) or EWS URL
    ews_url: str | None = None
    calendar_permission: Literal["read", "write"] = "read"
    contacts_permission: Access = "read"
    setup_by: Literal["user_oauth", "admin_application"] = "user_oauth"


class SettingsChangeResult(_Model):
    accepted: bool
    settings: AccountSettings
    reason: str | None = None  # why a change was refused


class ConnectRequest(_Model):
    service: Service | None = None  # None: the admin's default
    calendar: Access | None = None  # None: what the admin set
    contacts: Access | None = None


class ConnectStart(_Model):
    """Where to send the user's browser; no URL when no browser step is needed (application
    permissions: the admin consented for everyone)."""

    authorization_url: str | None
    redirect_uri: str | None
    requested_scopes: list[str]


class AdminConsentResult(_Model):
    granted: bool
    tenant_id: str | None = None
    message: str | None = None


class IntegrationStatus(_Model):
    user: str
    state: IntegrationState
    service: Service | None = None
    authorize_with: AuthorizeWith | None = None
    calendar: Access = "none"
    contacts: Access = "none"
    granted_scopes: list[str] = Field(default_factory=list)
    setup_by: Literal["user_oauth", "admin_application"] | None = None
    calendar_state: CapabilityState = "off"
    contacts_state: CapabilityState = "off"
    message: str | None = None


class Meeting(_Model):
    id: str
    subject: str | None
    start: datetime
    end: datetime
    location: str | None = None
    join_url: str | None = None
    attendees: list[str] = Field(default_factory=list)
    private: bool = False


class MeetingRequest(_Model):
    subject: str = Field(min_length=1, max_length=255)
    start: datetime
    end: datetime
    attendees: list[str] = Field(default_factory=list)
    body: str = ""


class ContactEntry(_Model):
    id: str
    display_name: str
    emails: list[str] = Field(default_factory=list)
