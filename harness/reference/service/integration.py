"""ReferenceIntegration: the meeting platform's calendar & contacts integration, per the documents.

A thin facade with the integration's public operations. It builds one Context (config, store,
the providers' environment, clock) and the parts, each with one job and its collaborators
handed in (no mixins: a part sees only what it is given, and the wiring below is the whole
dependency graph):

    settings.py   settings, policy, groups, audit; membership and effective-setting lookups
    status.py     the integration row, its status, policy conflicts, failure state
    acting.py     the provider and stored credentials to act for the user, provider writes
    contacts.py   provider contacts, Contacts Write, contact requests
    sync.py       the client view (the calendar read from the provider when asked), sync on
                  demand
    calendaring.py  the Web Calendaring Service: bi-directional sync (optional, off by
                  default) through the sync core, sanitized records, retention
    meetings.py   listing and writing meetings (platform meetings when sync is on)
    delegates.py  scheduling privilege and the delegate's view of a calendar
    setup.py      the user's set-up flows (OAuth, mailbox password, application permissions)
    consent.py    the admin's consent on behalf of the company
    signin.py     sign-in prompts, Exchange through MAPI on the desktop

The rules are the pure functions of `policy/`; what differs per calendar service lives in
`providers/`; row <-> model conversions are in `convert.py`.
"""

from __future__ import annotations

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
from harness.reference.config import ReferenceConfig
from harness.reference.providers import Provider, ProviderEnv
from harness.reference.providers.base import Credentials
from harness.reference.service import inspection
from harness.reference.service.acting import Acting
from harness.reference.service.calendaring import WebCalendaring
from harness.reference.service.calendars import Calendars
from harness.reference.service.consent import AdminConsent
from harness.reference.service.contacts import Contacts
from harness.reference.service.context import Clock, Context
from harness.reference.service.delegates import Delegates
from harness.reference.service.meetings import Meetings
from harness.reference.service.settings import Settings
from harness.reference.service.setup import Setup
from harness.reference.service.signin import SignIn
from harness.reference.service.status import Status
from harness.reference.service.sync import Sync
from harness.reference.store import Store


class ReferenceIntegration:
    def __init__(self, config: ReferenceConfig) -> None:
        ctx = self._ctx = Context.open(config)
        settings = self._settings = Settings(ctx)
        status = self._status = Status(ctx, settings)
        acting = self._acting_for = Acting(ctx, status)
        contacts = self._contacts = Contacts(ctx, settings, status, acting)
        calendaring = self._calendaring = WebCalendaring(ctx, settings, status, acting)
        calendars = self._calendars = Calendars(ctx, acting)
        sync = self._sync_loop = Sync(ctx, status, acting, contacts, calendaring, calendars)
        meetings = self._meetings = Meetings(ctx, status, acting, sync, calendaring)
        self._delegates = Delegates(ctx, settings, meetings)
        setup = self._setup = Setup(ctx, settings, status, sync)
        self._consent = AdminConsent(ctx, settings)
        self._sign_in = SignIn(ctx, settings, status, setup)

    @property
    def config(self) -> ReferenceConfig:
        return self._ctx.config

    @property
    def store(self) -> Store:
        return self._ctx.store

    @property
    def env(self) -> ProviderEnv:
        return self._ctx.env

    def close(self) -> None:
        self._ctx.close()

    # -- account and policy --------------------------------------------------------------------
    def setup_account(self, spec: AccountSpec) -> None:
        self._settings.setup_account(spec)

    def settings(self) -> AccountSettings:
        return self._settings.settings()

    def change_settings(self, actor: str, changes: dict[str, Any]) -> SettingsChangeResult:
        return self._settings.change_settings(actor, changes)

    def change_policy(self, actor: str, target: PolicyTarget,
                      change: PolicyChange) -> PolicyChangeResult:
        return self._settings.change_policy(actor, target, change)

    def get_policy(self, target: PolicyTarget) -> PolicyView:
        return self._settings.get_policy(target)

    def effective_settings(self, user: str) -> EffectiveSettings:
        return self._settings.effective_settings(user)

    def create_group(self, actor: str, name: str, members: list[str]) -> GroupInfo:
        return self._settings.create_group(actor, name, members)

    def settings_audit(self) -> list[SettingAuditEntry]:
        return self._settings.settings_audit()

    # -- set-up and admin consent --------------------------------------------------------------
    def begin_admin_consent(self, actor: str) -> ConnectStart:
        return self._consent.begin_admin_consent(actor)

    def complete_admin_consent(self, actor: str, callback_url: str) -> AdminConsentResult:
        return self._consent.complete_admin_consent(actor, callback_url)

    def begin_connect(self, user: str, request: ConnectRequest) -> ConnectStart:
        return self._setup.begin_connect(user, request)

    def complete_connect(self, user: str, callback_url: str) -> IntegrationStatus:
        return self._setup.complete_connect(user, callback_url)

    def integration_status(self, user: str) -> IntegrationStatus:
        return self._status.integration_status(user)

    # -- signing in, MAPI ----------------------------------------------------------------------
    def sign_in(self, user: str, client: ClientInfo, method: SignInMethod) -> SignInResult:
        return self._sign_in.sign_in(user, client, method)

    def connect_mapi(self, user: str, client: ClientInfo) -> IntegrationStatus:
        return self._sign_in.connect_mapi(user, client)

    # -- sync and meetings ---------------------------------------------------------------------
    def sync_now(self, user: str) -> IntegrationStatus:
        return self._sync_loop.sync_now(user)

    def list_meetings(self, user: str, start: datetime, end: datetime) -> list[Meeting]:
        return self._meetings.list_meetings(user, start, end)

    def schedule_meeting(self, user: str, request: MeetingRequest) -> Meeting:
        return self._meetings.schedule_meeting(user, request)

    def update_meeting(self, user: str, meeting_id: str, update: MeetingUpdate) -> Meeting:
        return self._meetings.update_meeting(user, meeting_id, update)

    def delete_meeting(self, user: str, meeting_id: str) -> None:
        self._meetings.delete_meeting(user, meeting_id)

    def respond_to_meeting(self, user: str, meeting_id: str, response: MeetingResponse) -> None:
        self._meetings.respond_to_meeting(user, meeting_id, response)

    # -- contacts ------------------------------------------------------------------------------
    def list_contacts(self, user: str) -> list[ContactEntry]:
        return self._contacts.list_contacts(user)

    def invite_contact(self, user: str, email: str) -> ContactRequest:
        return self._contacts.invite_contact(user, email)

    def contact_requests(self, user: str) -> list[ContactRequest]:
        return self._contacts.contact_requests(user)

    def save_contact_from_call(self, user: str, entry: CallHistoryEntry) -> ContactEntry:
        return self._contacts.save_contact_from_call(user, entry)

    # -- scheduling privilege ------------------------------------------------------------------
    def grant_scheduling_privilege(self, owner: str, assignee: str,
                                   manage_private_events: bool) -> SchedulingGrant:
        return self._delegates.grant_scheduling_privilege(owner, assignee,
                                                          manage_private_events)

    def revoke_scheduling_privilege(self, owner: str, assignee: str) -> None:
        self._delegates.revoke_scheduling_privilege(owner, assignee)

    def scheduling_privileges(self, user: str) -> list[SchedulingGrant]:
        return self._delegates.scheduling_privileges(user)

    def schedule_meeting_for(self, actor: str, owner: str, request: MeetingRequest) -> Meeting:
        return self._delegates.schedule_meeting_for(actor, owner, request)

    def calendar_of(self, viewer: str, owner: str, start: datetime,
                    end: datetime) -> list[Meeting]:
        return self._delegates.calendar_of(viewer, owner, start, end)

    # -- the Web Calendaring Service, stored-data inspection, the clock -----------------------
    def run_sync_service(self, user: str) -> SyncRunResult:
        return self._calendaring.run_result(user)

    def platform_meetings(self, user: str) -> list[Meeting]:
        return self._meetings.platform_meetings(user)

    def sync_records(self, user: str) -> list[StoredSyncRecord]:
        return inspection.sync_records(self._ctx.store, user)

    def search_stored_data(self, text: str) -> list[StoredDataHit]:
        return inspection.search(self._ctx.store, text)

    def clock_now(self) -> datetime:
        return self._ctx.now()

    def advance_clock(self, seconds: float) -> datetime:
        clock = self._ctx.now
        if not isinstance(clock, Clock):
            raise DriverError("clock_fixed", "the configured clock cannot be moved")
        return clock.advance(seconds)

    # -- the sync core's hooks for scenarios/bench_sync.py (and docs/performance.md) -----------
    def _sync(self, user: str) -> None:
        self._sync_loop.round(user)

    def _acting(self, user: str) -> tuple[Provider, Credentials, IntegrationStatus] | None:
        return self._acting_for.get(user)

    def _save_credentials(self, user: str, creds: Credentials) -> None:
        self._acting_for.save_credentials(user, creds)

    # -- "Sync Zoom Meetings from calendars" ---------------------------------------------------
    def list_calendars(self, user: str) -> CalendarSync:
        return self._calendars.list_calendars(user)

    def select_calendars(self, user: str, selection: CalendarSelection) -> CalendarSync:
        return self._calendars.select_calendars(user, selection)
