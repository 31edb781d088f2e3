"""The one interface step definitions use to act on "the integration under test".

Implementations: `ReferenceDriver` (the in-process reference implementation) and `HttpDriver`
(any implementation behind the conformance API, `docs/conformance-openapi.json`). Steps never
import the reference implementation; whatever they need to observe about providers they read
from the mock hub's control API (the audit log), not from the integration's own account.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from datetime import datetime
from typing import Any

from harness.api.errors import DriverError
from harness.api.models import (
    AccountSettings,
    AccountSpec,
    AdminConsentResult,
    CalendarSelection,
    CalendarSync,
    CallHistoryEntry,
    ClientInfo,
    ConnectRequest,
    ConnectStart,
    ContactEntry,
    ContactRequest,
    EffectiveSettings,
    GroupInfo,
    IntegrationStatus,
    Meeting,
    MeetingRequest,
    MeetingResponse,
    MeetingUpdate,
    PolicyChange,
    PolicyChangeResult,
    PolicyTarget,
    PolicyView,
    SchedulingGrant,
    SettingAuditEntry,
    SettingsChangeResult,
    SignInMethod,
    SignInResult,
    StoredDataHit,
    StoredSyncRecord,
    SyncRunResult,
)

__all__ = ["DriverError", "IntegrationDriver"]


class IntegrationDriver(ABC):
    name: str

    @abstractmethod
    def setup_account(self, account: AccountSpec) -> None:
        """Start from a clean account with these people in it."""

    @abstractmethod
    def get_settings(self) -> AccountSettings: ...

    @abstractmethod
    def change_settings(self, actor: str, changes: dict[str, Any]) -> SettingsChangeResult:
        """`actor` changes account settings; a refusal is a result, not an exception."""

    @abstractmethod
    def begin_connect(self, user: str, request: ConnectRequest) -> ConnectStart:
        """The user starts "Configure Calendar and Contacts Service"; returns where to send the
        user's browser. Raises DriverError when the set-up is refused."""

    @abstractmethod
    def complete_connect(self, user: str, callback_url: str) -> IntegrationStatus:
        """The browser came back to the integration's redirect URI with this URL."""

    @abstractmethod
    def begin_admin_consent(self, actor: str) -> ConnectStart:
        """The account admin, as Office 365 admin, agrees on behalf of the company (Room
        Management > Calendar Integration, or consent on behalf of the account)."""

    @abstractmethod
    def complete_admin_consent(self, actor: str, callback_url: str) -> AdminConsentResult: ...

    @abstractmethod
    def integration_status(self, user: str) -> IntegrationStatus: ...

    @abstractmethod
    def sync_now(self, user: str) -> IntegrationStatus:
        """Run now the periodic sync the integration runs on its own schedule."""

    @abstractmethod
    def list_meetings(self, user: str, start: datetime, end: datetime) -> list[Meeting]:
        """The user's meeting list for the window (the integration syncs as it sees fit)."""

    @abstractmethod
    def list_contacts(self, user: str) -> list[ContactEntry]: ...

    @abstractmethod
    def schedule_meeting(self, user: str, request: MeetingRequest) -> Meeting: ...

    @abstractmethod
    def update_meeting(self, user: str, meeting_id: str, update: MeetingUpdate) -> Meeting:
        """The user edits a meeting of their calendar (needs calendar write)."""

    @abstractmethod
    def delete_meeting(self, user: str, meeting_id: str) -> None:
        """The user deletes a meeting of their calendar (needs calendar write)."""

    # -- policy: account, group and user levels -----------------------------------------------
    @abstractmethod
    def create_group(self, actor: str, name: str, members: list[str]) -> GroupInfo:
        """The owner or an admin creates a user group; a user belongs to at most one group.
        Raises DriverError when refused."""

    @abstractmethod
    def get_policy(self, target: PolicyTarget) -> PolicyView:
        """A level as its admin sees it: values set and locked there, what is locked above."""

    @abstractmethod
    def change_policy(self, actor: str, target: PolicyTarget,
                      change: PolicyChange) -> PolicyChangeResult:
        """Set values, drop overrides and set or remove locks at one level, all or nothing; a
        refusal is a result naming the reason, and changes nothing."""

    @abstractmethod
    def effective_settings(self, user: str) -> EffectiveSettings:
        """What applies to the user after account, group and user levels and their locks."""

    @abstractmethod
    def settings_audit(self) -> list[SettingAuditEntry]:
        """Every accepted settings change (who, when, level, old -> new), oldest first."""

    # -- signing in and set-up variants ---------------------------------------------------------
    @abstractmethod
    def sign_in(self, user: str, client: ClientInfo, method: SignInMethod) -> SignInResult:
        """The user signs in to the platform with this client; returns the prompt they get and,
        for an Office 365 redirect, where their browser goes (complete with complete_connect).
        Raises DriverError when the sign-in itself is refused (e.g. SSO not configured)."""

    @abstractmethod
    def connect_mapi(self, user: str, client: ClientInfo) -> IntegrationStatus:
        """The desktop client integrates Exchange through MAPI; raises DriverError naming every
        failed condition when that is not allowed."""

    # -- the platform's contacts ---------------------------------------------------------------
    @abstractmethod
    def invite_contact(self, user: str, email: str) -> ContactRequest:
        """Invite a contact by email: the platform sends them a contact request."""

    @abstractmethod
    def contact_requests(self, user: str) -> list[ContactRequest]:
        """Contact requests the user sent or received."""

    @abstractmethod
    def save_contact_from_call(self, user: str, entry: CallHistoryEntry) -> ContactEntry:
        """Create a contact at the provider from the call history (needs Contacts Write)."""

    # -- scheduling privilege ------------------------------------------------------------------
    @abstractmethod
    def grant_scheduling_privilege(self, owner: str, assignee: str,
                                   manage_private_events: bool) -> SchedulingGrant: ...

    @abstractmethod
    def revoke_scheduling_privilege(self, owner: str, assignee: str) -> None: ...

    @abstractmethod
    def scheduling_privileges(self, user: str) -> list[SchedulingGrant]:
        """Grants the user gave or received."""

    @abstractmethod
    def schedule_meeting_for(self, actor: str, owner: str, request: MeetingRequest) -> Meeting:
        """Schedule For: `actor` schedules on `owner`'s calendar with the owner's grant."""

    @abstractmethod
    def calendar_of(self, viewer: str, owner: str, start: datetime,
                    end: datetime) -> list[Meeting]:
        """The owner's meetings as `viewer` (with scheduling privilege) may see them."""

    # -- meeting responses, the Web Calendaring Service (bi-directional sync), stored data, the
    # clock. Not abstract, so drivers written before these operations keep working; a driver that
    # cannot offer one says so with `not_supported`.
    def respond_to_meeting(self, user: str, meeting_id: str, response: MeetingResponse) -> None:
        """The user accepts, tentatively accepts or declines an invitation in their calendar
        (needs calendar write: under Calendar/Read it is refused with `calendar_read_only`)."""
        raise DriverError("not_supported", f"{self.name} cannot answer meeting invitations")

    def run_sync_service(self, user: str) -> SyncRunResult:
        """Run the bi-directional sync service for the user now (one round)."""
        raise DriverError("not_supported", f"{self.name} cannot run the sync service")

    def platform_meetings(self, user: str) -> list[Meeting]:
        """The meetings the platform holds for the user (bi-directional sync on)."""
        raise DriverError("not_supported", f"{self.name} cannot list platform meetings")

    def sync_records(self, user: str) -> list[StoredSyncRecord]:
        """Stored-data inspection: the user's sync records as the store holds them."""
        raise DriverError("not_supported", f"{self.name} cannot show its stored sync records")

    def search_stored_data(self, text: str) -> list[StoredDataHit]:
        """Stored-data inspection: every table and column of the store holding `text`."""
        raise DriverError("not_supported", f"{self.name} cannot search its stored data")

    def clock_now(self) -> datetime:
        """The time on the integration's clock (which scenarios move with the mocks')."""
        raise DriverError("not_supported", f"{self.name} does not show its clock")

    def advance_clock(self, seconds: float) -> datetime:
        """Move the integration's clock forward (it follows the mock providers' clock)."""
        raise DriverError("not_supported", f"{self.name} has no clock to move")

    # -- "Sync Zoom Meetings from calendars" ------------------------------------------------------
    def list_calendars(self, user: str) -> CalendarSync:
        """The user's calendars at the provider, the ones the meeting list reads checked."""
        raise DriverError("not_supported", f"{self.name} cannot list the user's calendars")

    def select_calendars(self, user: str, selection: CalendarSelection) -> CalendarSync:
        """Set the toggle and which calendars the meeting list reads; answers the new state."""
        raise DriverError("not_supported", f"{self.name} cannot select calendars")

    def close(self) -> None:  # noqa: B027 - optional hook, most drivers hold nothing
        """Release resources (connections, files)."""
