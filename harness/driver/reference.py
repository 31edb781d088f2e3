"""In-process driver: the reference implementation behind the driver seam."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from harness import __version__
from harness.api.capabilities import Capabilities, Implementation
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
from harness.driver.base import IntegrationDriver
from harness.reference import ReferenceConfig, ReferenceIntegration


class ReferenceDriver(IntegrationDriver):
    name = "reference"
    # The reference implementation claims every capability: every scenario runs against it.
    CAPABILITIES = Capabilities.everything(Implementation(
        name="calharness reference implementation", version=__version__, vendor="calharness"))

    def __init__(self, config: ReferenceConfig) -> None:
        self._impl = ReferenceIntegration(config)

    def setup_account(self, account: AccountSpec) -> None:
        self._impl.setup_account(account)

    def get_settings(self) -> AccountSettings:
        return self._impl.settings()

    def change_settings(self, actor: str, changes: dict[str, Any]) -> SettingsChangeResult:
        return self._impl.change_settings(actor, changes)

    def begin_connect(self, user: str, request: ConnectRequest) -> ConnectStart:
        return self._impl.begin_connect(user, request)

    def complete_connect(self, user: str, callback_url: str) -> IntegrationStatus:
        return self._impl.complete_connect(user, callback_url)

    def begin_admin_consent(self, actor: str) -> ConnectStart:
        return self._impl.begin_admin_consent(actor)

    def complete_admin_consent(self, actor: str, callback_url: str) -> AdminConsentResult:
        return self._impl.complete_admin_consent(actor, callback_url)

    def integration_status(self, user: str) -> IntegrationStatus:
        return self._impl.integration_status(user)

    def sync_now(self, user: str) -> IntegrationStatus:
        return self._impl.sync_now(user)

    def list_meetings(self, user: str, start: datetime, end: datetime) -> list[Meeting]:
        return self._impl.list_meetings(user, start, end)

    def list_contacts(self, user: str) -> list[ContactEntry]:
        return self._impl.list_contacts(user)

    def schedule_meeting(self, user: str, request: MeetingRequest) -> Meeting:
        return self._impl.schedule_meeting(user, request)

    def update_meeting(self, user: str, meeting_id: str, update: MeetingUpdate) -> Meeting:
        return self._impl.update_meeting(user, meeting_id, update)

    def delete_meeting(self, user: str, meeting_id: str) -> None:
        self._impl.delete_meeting(user, meeting_id)

    def respond_to_meeting(self, user: str, meeting_id: str, response: MeetingResponse) -> None:
        self._impl.respond_to_meeting(user, meeting_id, response)

    def create_group(self, actor: str, name: str, members: list[str]) -> GroupInfo:
        return self._impl.create_group(actor, name, members)

    def get_policy(self, target: PolicyTarget) -> PolicyView:
        return self._impl.get_policy(target)

    def change_policy(self, actor: str, target: PolicyTarget,
                      change: PolicyChange) -> PolicyChangeResult:
        return self._impl.change_policy(actor, target, change)

    def effective_settings(self, user: str) -> EffectiveSettings:
        return self._impl.effective_settings(user)

    def settings_audit(self) -> list[SettingAuditEntry]:
        return self._impl.settings_audit()

    def sign_in(self, user: str, client: ClientInfo, method: SignInMethod) -> SignInResult:
        return self._impl.sign_in(user, client, method)

    def connect_mapi(self, user: str, client: ClientInfo) -> IntegrationStatus:
        return self._impl.connect_mapi(user, client)

    def invite_contact(self, user: str, email: str) -> ContactRequest:
        return self._impl.invite_contact(user, email)

    def contact_requests(self, user: str) -> list[ContactRequest]:
        return self._impl.contact_requests(user)

    def save_contact_from_call(self, user: str, entry: CallHistoryEntry) -> ContactEntry:
        return self._impl.save_contact_from_call(user, entry)

    def grant_scheduling_privilege(self, owner: str, assignee: str,
                                   manage_private_events: bool) -> SchedulingGrant:
        return self._impl.grant_scheduling_privilege(owner, assignee, manage_private_events)

    def revoke_scheduling_privilege(self, owner: str, assignee: str) -> None:
        self._impl.revoke_scheduling_privilege(owner, assignee)

    def scheduling_privileges(self, user: str) -> list[SchedulingGrant]:
        return self._impl.scheduling_privileges(user)

    def schedule_meeting_for(self, actor: str, owner: str, request: MeetingRequest) -> Meeting:
        return self._impl.schedule_meeting_for(actor, owner, request)

    def calendar_of(self, viewer: str, owner: str, start: datetime,
                    end: datetime) -> list[Meeting]:
        return self._impl.calendar_of(viewer, owner, start, end)

    def run_sync_service(self, user: str) -> SyncRunResult:
        return self._impl.run_sync_service(user)

    def platform_meetings(self, user: str) -> list[Meeting]:
        return self._impl.platform_meetings(user)

    def sync_records(self, user: str) -> list[StoredSyncRecord]:
        return self._impl.sync_records(user)

    def search_stored_data(self, text: str) -> list[StoredDataHit]:
        return self._impl.search_stored_data(text)

    def clock_now(self) -> datetime:
        return self._impl.clock_now()

    def advance_clock(self, seconds: float) -> datetime:
        return self._impl.advance_clock(seconds)

    def list_calendars(self, user: str) -> CalendarSync:
        return self._impl.list_calendars(user)

    def select_calendars(self, user: str, selection: CalendarSelection) -> CalendarSync:
        return self._impl.select_calendars(user, selection)

    def close(self) -> None:
        self._impl.close()
