"""The vocabulary of the driver seam: what step definitions say to an integration under test.

These pydantic models double as the conformance API's JSON schema, so a vendor's implementation
and the reference implementation are held to exactly the same shapes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, StrictBool

Service = Literal["office365", "exchange", "google"]
AuthorizeWith = Literal["graph", "ews"]
Access = Literal["none", "read", "write"]
# reintegration_required: the integration no longer matches what the admin locked (or the user's
# domain is no longer allowed); access is suspended until the user sets it up again.
IntegrationState = Literal["not_connected", "pending", "connected", "reauth_required",
                           "reintegration_required", "error"]
# Per capability: working, refused by the provider (permission missing), or not granted at all.
CapabilityState = Literal["ok", "denied", "off"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AccountSpec(_Model):
    """The meeting-platform account a scenario runs in: who owns and administers it."""

    owner: str
    admins: list[str] = Field(default_factory=list)
    members: list[str] = Field(default_factory=list)


SignInPromptMode = Literal["off", "first_sign_in", "every_sign_in"]
Office365Environment = Literal["full", "hybrid", "on_premises"]


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
    # "Only users in specific domains can integrate": normalised domains (A-labels, lower case);
    # empty means no restriction. change operations also accept one comma-separated string.
    allowed_domains: list[str] = Field(default_factory=list)
    ask_to_integrate_on_sign_in: SignInPromptMode = "off"
    consent_on_behalf_of_account: bool = False
    # "Office 365 users can consent to enterprise applications accessing company data on their
    # behalf" (needed by the automatic account-level integration).
    office365_users_can_consent: bool = False
    enforce_oauth: bool = False
    bidirectional_sync: bool = False  # optional per the documents; the sync issue acts on it
    auto_integrate_on_login: bool = False  # Office 365 only
    mapi: bool = False  # Exchange through MAPI on the Windows desktop client
    # What the admin tells the platform about their Microsoft environment: the integration
    # cannot see it from outside, so it is configuration, as in the real portal.
    office365_environment: Office365Environment = "full"
    exchange_onprem_build: str | None = None  # e.g. 15.1.466.34 (Exchange 2016 CU2)
    sso_configured: bool = False
    idp_federated: bool = False  # the SSO identity provider is federated with Entra ID


class SettingsChangeResult(_Model):
    accepted: bool
    settings: AccountSettings
    reason: str | None = None  # why a change was refused
    code: str | None = None  # machine-readable reason of a refusal
    notices: list[str] = Field(default_factory=list)  # what the admin must know (EWS access…)


class ConnectRequest(_Model):
    service: Service | None = None  # None: the admin's default
    calendar: Access | None = None  # None: what the admin set
    contacts: Access | None = None
    # Exchange through the EWS URL without OAuth: the user's mailbox password (Basic).
    password: SecretStr | None = None


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
    desktop_mapi: bool = False  # Exchange through MAPI on the user's Windows desktop client


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


class MeetingUpdate(_Model):
    """What the user changes on a meeting (absent fields stay as they are)."""

    subject: str | None = Field(None, min_length=1, max_length=255)
    start: datetime | None = None
    end: datetime | None = None


# The user's answer to a meeting invitation in their calendar (Graph accept / tentativelyAccept
# / decline, EWS AcceptItem / TentativelyAcceptItem / DeclineItem, Google's responseStatus).
MeetingAnswer = Literal["accept", "tentative", "decline"]


class MeetingResponse(_Model):
    """The user answers an invitation (a meeting someone else organizes) in their calendar:
    a write on their calendar, so it needs calendar write like any other change."""

    response: MeetingAnswer
    comment: str = Field("", max_length=1000)
    # Whether the organizer is told (Graph/EWS sendResponse, Google sendUpdates).
    send_response: StrictBool = True


class ContactEntry(_Model):
    id: str
    display_name: str
    emails: list[str] = Field(default_factory=list)


# -- policy: account, group and user levels ---------------------------------------------------
PolicyLevel = Literal["account", "group", "user"]
SettingSource = Literal["default", "account", "group", "user"]


class PolicyTarget(_Model):
    """Where a setting is read or changed: the account, a group (by name) or a user (email)."""

    level: PolicyLevel
    name: str | None = None  # None for the account

    @classmethod
    def account(cls) -> PolicyTarget:
        return cls(level="account")


class PolicyChange(_Model):
    """One all-or-nothing change at one level: values to set, overrides to drop (back to
    inheriting), and locks to set (True) or remove (False)."""

    values: dict[str, Any] = Field(default_factory=dict)
    inherit: list[str] = Field(default_factory=list)
    # StrictBool: true/false only; the conformance API must not read 0 or "yes" as a lock.
    lock: dict[str, StrictBool] = Field(default_factory=dict)


class PolicyView(_Model):
    """A level as its admin sees it: what is set and locked here, what is locked above it
    (greyed out: setting -> "account" or "group <name>") and the values in effect."""

    target: PolicyTarget
    values: dict[str, Any] = Field(default_factory=dict)
    locked: list[str] = Field(default_factory=list)
    locked_above: dict[str, str] = Field(default_factory=dict)
    effective: AccountSettings


class PolicyChangeResult(_Model):
    accepted: bool
    view: PolicyView
    code: str | None = None
    reason: str | None = None


class EffectiveSetting(_Model):
    value: Any
    source: SettingSource
    locked_at: Literal["account", "group"] | None = None


class EffectiveSettings(_Model):
    """What applies to one user after account, group and user levels and their locks."""

    user: str
    group: str | None = None
    settings: AccountSettings
    details: dict[str, EffectiveSetting]


class GroupInfo(_Model):
    name: str = Field(min_length=1, max_length=120)
    members: list[str] = Field(default_factory=list)


class SettingAuditEntry(_Model):
    at: datetime
    actor: str
    level: PolicyLevel
    target: str | None = None
    setting: str
    kind: Literal["value", "lock"]
    old: Any = None
    new: Any = None


# -- sign-in ----------------------------------------------------------------------------------
ClientPlatform = Literal["windows", "mac", "linux", "ios", "android", "web"]
SignInMethod = Literal["password", "sso"]
SignInPrompt = Literal["none", "reintegrate", "integrate_office365"]


class ClientInfo(_Model):
    """The platform client a user signs in with (the re-integration prompt needs 5.2.2+)."""

    version: str = Field(pattern=r"^[0-9]{1,5}(\.[0-9]{1,9}){0,3}( \([0-9]{1,9}\))?$")
    platform: ClientPlatform = "windows"


class SignInResult(_Model):
    user: str
    method: SignInMethod
    first_sign_in: bool
    prompt: SignInPrompt = "none"
    prompt_reason: str | None = None
    # Where the platform redirects the user's browser (the Office 365 OAuth URL); hand the
    # browser's return to complete_connect like any set-up.
    redirect: ConnectStart | None = None
    auto_integration: bool = False  # "Automatically integrate user's calendar upon login"
    integration: IntegrationStatus


# -- contacts, scheduling privilege ---------------------------------------------------------------
class ContactRequest(_Model):
    id: str
    sender: str
    recipient: str
    status: Literal["pending", "accepted", "declined"] = "pending"
    created_at: datetime


class CallHistoryEntry(_Model):
    """Someone the user was in a call with, as the platform's call history shows them."""

    display_name: str = Field(min_length=1, max_length=255)
    email: str = Field(min_length=3, max_length=320)


class SchedulingGrant(_Model):
    owner: str
    assignee: str
    manage_private_events: bool = False
    granted_at: datetime


# -- the Web Calendaring Service (bi-directional sync) -------------------------------------------
class SyncRunResult(_Model):
    """What one run of the bi-directional sync service did for a user (`ran` False: sync is off
    for them, or there is no integration with calendar write to act with)."""

    ran: bool
    full: bool = False
    created: list[str] = Field(default_factory=list)  # platform meeting ids pushed as events
    updated_remote: list[str] = Field(default_factory=list)
    deleted_remote: list[str] = Field(default_factory=list)
    updated_meetings: list[str] = Field(default_factory=list)  # provider edits taken in
    cancelled_meetings: list[str] = Field(default_factory=list)  # provider deletions taken in
    linked: list[str] = Field(default_factory=list)
    discarded: list[str] = Field(default_factory=list)  # records deleted after their event
    message: str | None = None


class StoredSyncRecord(_Model):
    """One stored sync record exactly as the store holds it (stored-data inspection): every
    column of the row, by name, values as text (None for NULL)."""

    meeting_id: str
    columns: dict[str, str | None]


class StoredDataHit(_Model):
    """Where a piece of text occurs in the integration's store (table and column)."""

    table: str
    column: str


# -- "Sync Zoom Meetings from calendars": which of the user's calendars the meeting list reads ----
CalendarId = Annotated[str, Field(min_length=1, max_length=512)]
MAX_SELECTED_CALENDARS = 100


class CalendarChoice(_Model):
    """One of the user's calendars as the provider lists it, with its check mark."""

    id: str = Field(description="the provider's id of the calendar (Graph calendar id, EWS "
                                "folder id, Google calendarId)")
    name: str
    is_default: bool = Field(description="the provider's default (primary) calendar")
    selected: bool = Field(description="checked: the meeting list shows its events while "
                                       "the toggle is on")


class CalendarSync(_Model):
    """The user's "Sync Zoom Meetings from calendars" setting: the toggle and every calendar of
    theirs at the provider, the selected ones checked. Until the user picks, the toggle is on
    and only the default calendar is selected."""

    sync_from_calendars: bool
    calendars: list[CalendarChoice]


class CalendarSelection(_Model):
    """What the user sets: the toggle, and the calendars to sync (ids from `CalendarSync`).
    With the toggle off the meeting list shows no calendar events and no calendar is read."""

    sync_from_calendars: StrictBool = True
    calendar_ids: list[CalendarId] | None = Field(
        None, max_length=MAX_SELECTED_CALENDARS,
        description="the calendars to sync; absent: keep the ones picked before")
