"""ReferenceIntegration: the meeting platform's calendar & contacts integration, per the documents.

Provider-neutral core: settings at account, group and user level with locks, roles and an audit
trail (the rules are the pure functions of `policy/`; this module loads, asks and stores); the
user's set-up flow (service -> permissions -> authenticate -> accept) or, with application
permissions, the admin's set-up for the whole tenant; sign-in prompts; credentials in the store;
re-authentication status; the sync loop into the store; contact requests and scheduling
privileges. What differs per calendar service lives in `providers/`.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from harness.api.errors import DriverError
from harness.api.models import (
    AccountSettings,
    AccountSpec,
    AdminConsentResult,
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
)
from harness.reference import policy
from harness.reference.config import ReferenceConfig
from harness.reference.policy.resolution import values_of
from harness.reference.policy.setup import connect_refusals
from harness.reference.providers import Provider, ProviderEnv
from harness.reference.providers.base import (
    AuthError,
    Credentials,
)
from harness.reference.service import convert
from harness.reference.service.acting import Acting
from harness.reference.service.contacts import Contacts
from harness.reference.service.context import Context
from harness.reference.service.delegates import Delegates
from harness.reference.service.meetings import Meetings
from harness.reference.service.settings import Settings
from harness.reference.service.status import Status
from harness.reference.service.sync import Sync
from harness.reference.store import (
    IntegrationRow,
    PendingConsentRow,
    SignInRow,
    Store,
    TenantConsentRow,
)

SETTINGS_ROLES = policy.ADMIN_ROLES


class ReferenceIntegration:
    def __init__(self, config: ReferenceConfig) -> None:
        self._ctx = Context.open(config)
        self._settings = Settings(self._ctx)
        self._status = Status(self._ctx, self._settings)
        self._act = Acting(self._ctx, self._status)
        self._contacts = Contacts(self._ctx, self._settings, self._status, self._act)
        self._sync_ = Sync(self._ctx, self._status, self._act, self._contacts)
        self._meetings = Meetings(self._ctx, self._status, self._act, self._sync_)
        self._delegates = Delegates(self._ctx, self._settings, self._meetings)

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

    # -- account and policy: settings.py ------------------------------------------------------
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

    # -- providers -----------------------------------------------------------------------------
    def _provider(self, user: str, service: str, authorize_with: str | None,
                  ews_url: str | None = None) -> Provider:
        return self._ctx.provider(user, service, authorize_with, ews_url)

    def _provider_of(self, row: IntegrationRow) -> Provider:
        return self._ctx.provider_of(row)

    # -- admin consent on behalf of the company ------------------------------------------------
    def begin_admin_consent(self, actor: str) -> ConnectStart:
        settings = self.settings()
        with self.store.session() as s:
            if self.store.role_of(s, actor) not in SETTINGS_ROLES:
                raise DriverError("not_an_admin", f"{actor} is not the account owner or an admin")
        provider = self._provider(actor, settings.default_calendar_service,
                                  settings.authorize_with)
        if settings.setup_by == "admin_application":
            start = provider.admin_consent_start(secrets.token_urlsafe(16))
            state = start.pending["state"]
        else:
            start = provider.begin_auth(settings.calendar_permission,
                                        settings.contacts_permission, prompt="consent")
            state = start.pending["flow"]["state"]
        with self.store.session() as s:
            s.merge(PendingConsentRow(actor=actor.lower(), mode=settings.setup_by, state=state,
                                      flow=start.pending))
        return ConnectStart(authorization_url=start.url, redirect_uri=start.redirect_uri,
                            requested_scopes=start.scopes)

    def complete_admin_consent(self, actor: str, callback_url: str) -> AdminConsentResult:
        params = dict(parse_qsl(urlsplit(callback_url).query))
        settings = self.settings()
        provider = self._provider(actor, settings.default_calendar_service,
                                  settings.authorize_with)
        with self.store.session() as s:
            pending = s.get(PendingConsentRow, actor.lower())
            if pending is None:
                raise DriverError("no_pending_flow", "no admin consent is in progress")
            s.delete(pending)
            if "error" in params:
                return AdminConsentResult(granted=False, message=convert.error_text(params))
            if params.get("state") != pending.state:
                return AdminConsentResult(granted=False, message="state mismatch: refused")
            if pending.mode == "admin_application":
                if params.get("admin_consent", "").lower() != "true":
                    return AdminConsentResult(granted=False, message="consent was not granted")
            else:
                try:
                    provider.finish_auth(pending.flow or {}, params)
                except AuthError as exc:
                    return AdminConsentResult(granted=False, message=exc.summary)
            tenant = provider.tenant_key()
            s.merge(TenantConsentRow(tenant_id=tenant, mode=pending.mode, admin=actor.lower(),
                                     granted_at=self._ctx.now()))
        return AdminConsentResult(granted=True, tenant_id=tenant)

    # -- connecting ----------------------------------------------------------------------------
    def begin_connect(self, user: str, request: ConnectRequest) -> ConnectStart:
        with self.store.session() as s:
            self._settings.member(s, user)
            resolved = self._settings.resolved(s, user)
        settings = AccountSettings.model_validate(values_of(resolved))
        refusal = policy.combined(connect_refusals(
            user, resolved, service=request.service, calendar=request.calendar,
            contacts=request.contacts))
        if refusal is not None:
            raise convert.refused(refusal)
        service = request.service or settings.default_calendar_service
        calendar = request.calendar or settings.calendar_permission
        contacts = request.contacts or settings.contacts_permission
        authorize_with = settings.authorize_with if service == "office365" else None
        provider = self._provider(user, service, authorize_with, settings.ews_url)
        if request.password is not None:
            return self._connect_with_password(user, provider, service, calendar, contacts,
                                               request.password.get_secret_value(), settings)
        if settings.setup_by == "admin_application":
            return self._connect_with_app_permissions(user, provider, service, calendar,
                                                      contacts)
        if settings.consent_on_behalf_of_account:
            self._require_account_consent(user, provider, service, calendar, contacts)
        start = provider.begin_auth(calendar, contacts)
        with self.store.session() as s:
            row = self._status.integration_row(s, user, service, calendar, contacts)
            if row.state != "connected":
                row.state = "pending"
            row.authorize_with, row.setup_by = authorize_with, "user_oauth"
            row.pending_flow = {"pending": start.pending, "calendar": calendar,
                                "contacts": contacts, "service": service}
            row.tenant_id = provider.tenant_key()
        return ConnectStart(authorization_url=start.url, redirect_uri=start.redirect_uri,
                            requested_scopes=start.scopes)

    def _connect_with_password(self, user: str, provider: Provider, service: str,
                               calendar: str, contacts: str, password: str,
                               settings: AccountSettings) -> ConnectStart:
        """Exchange through the EWS URL with the user's mailbox credentials: full mailbox
        access, which "Enforce OAuth 2.0" rules out."""
        if settings.enforce_oauth:
            raise DriverError("oauth_enforced",
                              "Enforce OAuth 2.0 is on: calendar services authenticate with "
                              "OAuth 2.0, not with a mailbox password")
        try:
            creds = provider.password_credentials(password)
        except AuthError as exc:
            raise DriverError("credentials_refused", exc.summary) from exc
        with self.store.session() as s:
            row = self._status.integration_row(s, user, service, calendar, contacts)
            row.service, row.calendar, row.contacts = service, calendar, contacts
            row.authorize_with = "ews" if service == "office365" else None
            row.setup_by, row.tenant_id = "user_oauth", provider.tenant_key()
            convert.store_credentials(row, creds)
            row.granted_scopes, row.state, row.message = creds.scopes, "connected", None
            row.pending_flow, row.sync_cursor = None, None
            self.store.clear_meetings(s, user)
        self._after_connect(user)
        return ConnectStart(authorization_url=None, redirect_uri=None,
                            requested_scopes=creds.scopes)

    def _require_account_consent(self, user: str, provider: Provider, service: str,
                                 calendar: str, contacts: str) -> None:
        """With consent on behalf of the entire account, a user's integration waits until the
        Office 365 admin has consented for the account."""
        tenant = provider.tenant_key()
        with self.store.session() as s:
            if s.get(TenantConsentRow, tenant) is not None:
                return
            row = self._status.integration_row(s, user, service, calendar, contacts)
            message = ("waiting for the Office 365 admin to consent on behalf of the entire "
                       "account before this integration can be set up")
            if row.state != "connected":
                row.state, row.message, row.tenant_id = "pending", message, tenant
        raise DriverError("admin_consent_pending", message)

    def _connect_with_app_permissions(self, user: str, provider: Provider, service: str,
                                      calendar: str, contacts: str) -> ConnectStart:
        tenant = provider.tenant_key()
        with self.store.session() as s:
            consent = s.get(TenantConsentRow, tenant)
            if consent is None or consent.mode != "admin_application":
                raise DriverError("admin_setup_required",
                                  "the Office 365 admin has not set up the integration with "
                                  "application permissions for this tenant yet")
        try:
            creds = provider.application_credentials()
        except AuthError as exc:
            raise DriverError("app_token_refused", exc.summary) from exc
        with self.store.session() as s:
            row = self._status.integration_row(s, user, service, calendar, contacts)
            row.service, row.calendar, row.contacts = service, calendar, contacts
            row.authorize_with = "graph" if service == "office365" else None
            row.setup_by, row.tenant_id = "admin_application", tenant
            convert.store_credentials(row, creds)
            row.granted_scopes, row.state, row.message = creds.scopes, "connected", None
            row.sync_cursor, row.desktop_mapi = None, False
            self.store.clear_meetings(s, user)
        self._after_connect(user)
        return ConnectStart(authorization_url=None, redirect_uri=None, requested_scopes=[])

    def complete_connect(self, user: str, callback_url: str) -> IntegrationStatus:
        params = dict(parse_qsl(urlsplit(callback_url).query))
        with self.store.session() as s:
            row = self.store.integration(s, user)
            if row is None or not row.pending_flow:
                raise DriverError("no_pending_flow", "no set-up is in progress for this user")
            pending, row.pending_flow = row.pending_flow, None
            was_connected = row.credentials is not None
            if "error" in params:
                row.state = "connected" if was_connected else "error"
                row.message = convert.error_text(params)
                return convert.status(row)
            provider = self._provider(user, pending["service"], row.authorize_with)
            try:
                creds = provider.finish_auth(pending["pending"], params)
            except AuthError as exc:
                row.state, row.message = "error", exc.summary
                return convert.status(row)
            if row.service != pending["service"]:
                row.sync_cursor = None  # another calendar: start its sync from scratch
            row.service = pending["service"]
            convert.store_credentials(row, creds)
            row.granted_scopes = creds.scopes
            row.calendar, row.contacts = pending["calendar"], pending["contacts"]
            row.state, row.message, row.desktop_mapi = "connected", None, False
            # Re-authorizing keeps the stored meetings and the sync cursor: what changed
            # meanwhile arrives with the next round and nothing is fetched twice.
        self._after_connect(user)
        return self.integration_status(user)

    def _after_connect(self, user: str) -> None:
        self.sync_now(user)

    def integration_status(self, user: str) -> IntegrationStatus:
        return self._status.integration_status(user)

    # -- acting for the user -------------------------------------------------------------------
    def _acting(self, user: str) -> tuple[Provider, Credentials, IntegrationStatus] | None:
        return self._act.get(user)

    def _save_credentials(self, user: str, creds: Credentials) -> None:
        self._act.save_credentials(user, creds)

    # -- sync, meetings, contacts: sync.py, meetings.py, contacts.py ---------------------------
    def _sync(self, user: str) -> None:
        self._sync_.round(user)

    def sync_now(self, user: str) -> IntegrationStatus:
        return self._sync_.sync_now(user)

    def list_meetings(self, user: str, start: datetime, end: datetime) -> list[Meeting]:
        return self._meetings.list_meetings(user, start, end)

    def schedule_meeting(self, user: str, request: MeetingRequest) -> Meeting:
        return self._meetings.schedule_meeting(user, request)

    def update_meeting(self, user: str, meeting_id: str, update: MeetingUpdate) -> Meeting:
        return self._meetings.update_meeting(user, meeting_id, update)

    def delete_meeting(self, user: str, meeting_id: str) -> None:
        self._meetings.delete_meeting(user, meeting_id)

    def list_contacts(self, user: str) -> list[ContactEntry]:
        return self._contacts.list_contacts(user)

    # -- signing in ----------------------------------------------------------------------------
    def sign_in(self, user: str, client: ClientInfo, method: SignInMethod) -> SignInResult:
        """The user signs in to the platform with this client: the re-integration prompt after
        a lock or a domain restriction (clients 5.2.2+), the SSO prompt to integrate Office 365
        (first sign-in, or every sign-in until integrated) or the automatic integration upon
        login. A redirect carries a real authorization URL; its return goes to
        complete_connect like any set-up."""
        with self.store.session() as s:
            self._settings.member(s, user)
            resolved = self._settings.resolved(s, user)
            settings = AccountSettings.model_validate(values_of(resolved))
            if method == "sso" and not settings.sso_configured:
                raise DriverError("sso_not_configured",
                                  "single sign-on is not configured for this account")
            first = self.store.sign_in_count(s, user) == 0
            row = self.store.integration(s, user)
            found = self._status.conflicts(s, row) if row is not None else []
            connected = row is not None and row.state == "connected" and not found
        decision = policy.decide(policy.SignInFacts(
            method=method, first_sign_in=first, client_version=client.version,
            connected=connected, conflicts=tuple(found),
            ask_mode=settings.ask_to_integrate_on_sign_in,
            auto_integrate=settings.auto_integrate_on_login,
            service=settings.default_calendar_service))
        prompt, reason, redirect = decision.prompt, decision.reason, None
        if decision.start_office365:
            try:
                start = self.begin_connect(user, ConnectRequest(service="office365"))
                redirect = start if start.authorization_url else None
            except DriverError as exc:  # e.g. a domain outside the allowed ones
                prompt, reason = "none", exc.message
        with self.store.session() as s:
            s.add(SignInRow(user=user.lower(), at=self._ctx.now(), method=method,
                            platform=client.platform, client_version=client.version,
                            prompt=prompt))
        return SignInResult(user=user.lower(), method=method, first_sign_in=first,
                            prompt=prompt, prompt_reason=reason, redirect=redirect,
                            auto_integration=decision.auto and prompt != "none",
                            integration=self.integration_status(user))

    # -- Exchange through MAPI on the desktop client -------------------------------------------
    def connect_mapi(self, user: str, client: ClientInfo) -> IntegrationStatus:
        """The desktop client integrates Exchange through MAPI. The transport itself is the
        desktop's; what the integration decides is whether it is allowed."""
        with self.store.session() as s:
            self._settings.member(s, user)
            resolved = self._settings.resolved(s, user)
            mapi = resolved["mapi"]
            refusals = connect_refusals(user, resolved, service="exchange", calendar=None,
                                        contacts=None)
            if not refusals or refusals[0].code not in ("integration_disabled",
                                                        "domain_not_allowed"):
                refusals += policy.mapi_refusals(client.platform, bool(mapi.value),
                                                 mapi.locked_at is not None)
            refusal = policy.combined(refusals)
            if refusal is not None:
                raise convert.refused(refusal)
            calendar = str(resolved["calendar_permission"].value)
            row = self._status.integration_row(s, user, "exchange", calendar, "none")
            row.service, row.authorize_with, row.calendar, row.contacts = \
                "exchange", None, calendar, "none"
            row.credentials, row.pending_flow, row.granted_scopes = None, None, []
            row.state, row.desktop_mapi, row.setup_by = "connected", True, "user_oauth"
            row.message = "Exchange calendar through MAPI on the Windows desktop client"
            row.calendar_state, row.contacts_state = "off", "off"
            self.store.clear_meetings(s, user)
        return self.integration_status(user)

    # -- contacts and scheduling privilege: contacts.py, delegates.py --------------------------
    def invite_contact(self, user: str, email: str) -> ContactRequest:
        return self._contacts.invite_contact(user, email)

    def contact_requests(self, user: str) -> list[ContactRequest]:
        return self._contacts.contact_requests(user)

    def save_contact_from_call(self, user: str, entry: CallHistoryEntry) -> ContactEntry:
        return self._contacts.save_contact_from_call(user, entry)

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
