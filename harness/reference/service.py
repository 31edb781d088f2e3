"""ReferenceIntegration: the meeting platform's calendar & contacts integration, per the documents.

Provider-neutral core: account settings with roles and an audit trail; the user's set-up flow
(service -> permissions -> authenticate -> accept) or, with application permissions, the admin's
set-up for the whole tenant; credentials in the store; re-authentication status; the sync loop
into the store. What differs per calendar service lives in `providers/`.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
from pydantic import ValidationError
from sqlalchemy.orm import Session

from harness.driver.base import DriverError
from harness.driver.models import (
    AccountSettings,
    AccountSpec,
    AdminConsentResult,
    ConnectRequest,
    ConnectStart,
    ContactEntry,
    IntegrationStatus,
    Meeting,
    MeetingRequest,
    SettingsChangeResult,
)
from harness.net import httpx_verify, pinned_session
from harness.reference.config import ReferenceConfig
from harness.reference.providers import Provider, ProviderEnv, provider_for
from harness.reference.providers.base import (
    AuthError,
    Credentials,
    MeetingData,
    ProviderError,
)
from harness.reference.store import (
    AccountRow,
    IntegrationRow,
    MeetingRow,
    MemberRow,
    PendingConsentRow,
    Store,
    TenantConsentRow,
)

_ACCESS_ORDER = {"none": 0, "read": 1, "write": 2}
SETTINGS_ROLES = frozenset({"owner", "admin"})


def _row_from(user: str, m: MeetingData) -> MeetingRow:
    return MeetingRow(user=user, provider_id=m.provider_id, subject=m.subject,
                      start=m.start.astimezone(UTC), end=m.end.astimezone(UTC),
                      location=m.location, join_url=m.join_url, attendees=list(m.attendees),
                      private=m.private, change_key=m.change_key)


def _meeting(row: MeetingRow) -> Meeting:
    start, end = row.start, row.end
    # SQLite hands timezone-aware columns back naive; they were stored as UTC.
    start = start.replace(tzinfo=UTC) if start.tzinfo is None else start.astimezone(UTC)
    end = end.replace(tzinfo=UTC) if end.tzinfo is None else end.astimezone(UTC)
    return Meeting(id=row.provider_id, subject=row.subject, start=start, end=end,
                   location=row.location, join_url=row.join_url,
                   attendees=list(row.attendees or []), private=row.private)


def _status(row: IntegrationRow) -> IntegrationStatus:
    return IntegrationStatus.model_validate({
        "user": row.user, "state": row.state, "service": row.service,
        "authorize_with": row.authorize_with, "calendar": row.calendar,
        "contacts": row.contacts, "granted_scopes": list(row.granted_scopes or []),
        "setup_by": row.setup_by, "calendar_state": row.calendar_state,
        "contacts_state": row.contacts_state, "message": row.message})


def _credentials(row: IntegrationRow) -> Credentials:
    data = row.credentials or {}
    return Credentials(mode=data.get("mode", "delegated"), blob=data.get("blob"),
                       account_ref=data.get("account_ref"), scopes=list(data.get("scopes", [])))


def _store_credentials(row: IntegrationRow, creds: Credentials) -> None:
    row.credentials = {"mode": creds.mode, "blob": creds.blob, "account_ref": creds.account_ref,
                       "scopes": list(creds.scopes)}


def _error_text(params: dict[str, str]) -> str:
    description = params.get("error_description", "").splitlines()
    return f"{params['error']}: {description[0] if description else ''}".strip()


class ReferenceIntegration:
    def __init__(self, config: ReferenceConfig) -> None:
        self.config = config
        self.store = Store(config.db_url)
        self.env = ProviderEnv(config=config,
                               http=httpx.Client(verify=httpx_verify(config.ca_bundle),
                                                 timeout=30.0),
                               requests_session=pinned_session(config.ca_bundle))

    def close(self) -> None:
        self.env.http.close()
        self.env.requests_session.close()
        self.store.close()

    # -- account and settings ------------------------------------------------------------------
    def setup_account(self, spec: AccountSpec) -> None:
        self.store.reset()
        with self.store.session() as s:
            s.add(AccountRow(id=1, owner=spec.owner.lower(),
                             settings=AccountSettings().model_dump()))
            s.add(MemberRow(email=spec.owner.lower(), role="owner"))
            for admin in spec.admins:
                s.merge(MemberRow(email=admin.lower(), role="admin"))
            for member in spec.members:
                if s.get(MemberRow, member.lower()) is None:
                    s.add(MemberRow(email=member.lower(), role="member"))

    def settings(self) -> AccountSettings:
        with self.store.session() as s:
            return AccountSettings.model_validate(self._account(s).settings)

    def _account(self, s: Session) -> AccountRow:
        account = self.store.account(s)
        if account is None:
            raise DriverError("no_account", "the account has not been set up")
        return account

    def change_settings(self, actor: str, changes: dict[str, Any]) -> SettingsChangeResult:
        with self.store.session() as s:
            account = self._account(s)
            current = AccountSettings.model_validate(account.settings)
            if self.store.role_of(s, actor) not in SETTINGS_ROLES:
                return SettingsChangeResult(
                    accepted=False, settings=current,
                    reason=f"{actor} is not the account owner or an admin; only they can change "
                           "account settings")
            try:
                updated = AccountSettings.model_validate({**current.model_dump(), **changes})
            except ValidationError as exc:
                first = exc.errors()[0]
                return SettingsChangeResult(
                    accepted=False, settings=current,
                    reason=f"{'.'.join(map(str, first['loc']))}: {first['msg']}")
            before, after = current.model_dump(), updated.model_dump()
            for key in after:
                if before[key] != after[key]:
                    self.store.audit_setting(s, actor, key, before[key], after[key])
            account.settings = after
            return SettingsChangeResult(accepted=True, settings=updated)

    # -- providers -----------------------------------------------------------------------------
    def _provider(self, user: str, service: str, authorize_with: str | None) -> Provider:
        return provider_for(self.env, user, service, authorize_with)

    def _provider_of(self, row: IntegrationRow) -> Provider:
        return self._provider(row.user, row.service, row.authorize_with)

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
                return AdminConsentResult(granted=False, message=_error_text(params))
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
                                     granted_at=datetime.now(UTC)))
        return AdminConsentResult(granted=True, tenant_id=tenant)

    # -- connecting ----------------------------------------------------------------------------
    def begin_connect(self, user: str, request: ConnectRequest) -> ConnectStart:
        settings = self.settings()
        with self.store.session() as s:
            if self.store.role_of(s, user) is None:
                raise DriverError("not_a_member", f"{user} is not a user of this account")
        if not settings.calendar_integration:
            raise DriverError("integration_disabled",
                              "calendar and contacts integration is turned off for this account")
        service = request.service or settings.default_calendar_service
        calendar = request.calendar or settings.calendar_permission
        contacts = request.contacts or settings.contacts_permission
        if _ACCESS_ORDER[calendar] > _ACCESS_ORDER[settings.calendar_permission] or \
                _ACCESS_ORDER[contacts] > _ACCESS_ORDER[settings.contacts_permission]:
            raise DriverError("permission_not_allowed",
                              "the requested permissions exceed what the admin allows")
        authorize_with = settings.authorize_with if service == "office365" else None
        provider = self._provider(user, service, authorize_with)
        if settings.setup_by == "admin_application":
            return self._connect_with_app_permissions(user, provider, service, calendar,
                                                      contacts)
        start = provider.begin_auth(calendar, contacts)
        with self.store.session() as s:
            row = self._integration_row(s, user, service, calendar, contacts)
            if row.state != "connected":
                row.state = "pending"
            row.authorize_with, row.setup_by = authorize_with, "user_oauth"
            row.pending_flow = {"pending": start.pending, "calendar": calendar,
                                "contacts": contacts, "service": service}
            row.tenant_id = provider.tenant_key()
        return ConnectStart(authorization_url=start.url, redirect_uri=start.redirect_uri,
                            requested_scopes=start.scopes)

    def _integration_row(self, s: Session, user: str, service: str, calendar: str,
                         contacts: str) -> IntegrationRow:
        row = self.store.integration(s, user)
        if row is None:
            row = IntegrationRow(user=user.lower(), service=service, calendar=calendar,
                                 contacts=contacts, state="pending", granted_scopes=[],
                                 updated_at=datetime.now(UTC))
            s.add(row)
        row.updated_at = datetime.now(UTC)
        return row

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
            row = self._integration_row(s, user, service, calendar, contacts)
            row.service, row.calendar, row.contacts = service, calendar, contacts
            row.authorize_with = "graph" if service == "office365" else None
            row.setup_by, row.tenant_id = "admin_application", tenant
            _store_credentials(row, creds)
            row.granted_scopes, row.state, row.message = creds.scopes, "connected", None
            row.sync_cursor = None
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
                row.message = _error_text(params)
                return _status(row)
            provider = self._provider(user, pending["service"], row.authorize_with)
            try:
                creds = provider.finish_auth(pending["pending"], params)
            except AuthError as exc:
                row.state, row.message = "error", exc.summary
                return _status(row)
            if row.service != pending["service"]:
                row.sync_cursor = None  # another calendar: start its sync from scratch
            row.service = pending["service"]
            _store_credentials(row, creds)
            row.granted_scopes = creds.scopes
            row.calendar, row.contacts = pending["calendar"], pending["contacts"]
            row.state, row.message = "connected", None
            # Re-authorizing keeps the stored meetings and the sync cursor: what changed
            # meanwhile arrives with the next round and nothing is fetched twice.
        self._after_connect(user)
        return self.integration_status(user)

    def _after_connect(self, user: str) -> None:
        self.sync_now(user)

    def integration_status(self, user: str) -> IntegrationStatus:
        with self.store.session() as s:
            row = self.store.integration(s, user)
            if row is None:
                return IntegrationStatus(user=user.lower(), state="not_connected")
            return _status(row)

    # -- acting for the user -------------------------------------------------------------------
    def _acting(self, user: str) -> tuple[Provider, Credentials, IntegrationStatus] | None:
        with self.store.session() as s:
            row = self.store.integration(s, user)
            if row is None or row.state != "connected" or row.credentials is None:
                return None
            return self._provider_of(row), _credentials(row), _status(row)

    def _save_credentials(self, user: str, creds: Credentials) -> None:
        if creds.changed:
            with self.store.session() as s:
                row = self.store.integration(s, user)
                if row is not None:
                    _store_credentials(row, creds)

    def _set_state(self, user: str, **fields: Any) -> None:
        with self.store.session() as s:
            row = self.store.integration(s, user)
            if row is not None:
                for name, value in fields.items():
                    setattr(row, name, value)

    def _auth_failure(self, user: str, exc: AuthError) -> None:
        self._set_state(user, state="reauth_required" if exc.reauth else "error",
                        message=exc.summary)

    # -- sync and use --------------------------------------------------------------------------
    def _sync(self, user: str) -> None:
        acting = self._acting(user)
        if acting is None or acting[2].calendar == "none":
            return
        provider, creds, _ = acting
        with self.store.session() as s:
            row = self.store.integration(s, user)
            assert row is not None
            cursor = row.sync_cursor
        now = datetime.now(UTC)
        window = (now - timedelta(days=self.config.sync_past_days),
                  now + timedelta(days=self.config.sync_future_days))
        try:
            result = provider.sync_events(creds, cursor, window)
        except AuthError as exc:
            self._auth_failure(user, exc)
            return
        except ProviderError as exc:
            self._set_state(user, calendar_state="denied" if exc.denied else "off",
                            message=f"calendar: {exc}")
            return
        finally:
            self._save_credentials(user, creds)
        with self.store.session() as s:
            row = self.store.integration(s, user)
            assert row is not None
            if result.replace_all:
                self.store.clear_meetings(s, user)
            for provider_id in result.removed:
                existing = s.get(MeetingRow, (user.lower(), provider_id))
                if existing is not None:
                    s.delete(existing)
            for meeting in result.upserts:
                s.merge(_row_from(user.lower(), meeting))
            row.sync_cursor = result.cursor
            row.calendar_state = "ok"

    def sync_now(self, user: str) -> IntegrationStatus:
        self._sync(user)
        status = self.integration_status(user)
        if status.state == "connected" and status.contacts != "none":
            self.list_contacts(user)  # probes contacts access so the status tells the truth
        return self.integration_status(user)

    def list_meetings(self, user: str, start: datetime, end: datetime) -> list[Meeting]:
        self._sync(user)
        with self.store.session() as s:
            return [_meeting(r) for r in self.store.meetings(s, user, start, end)]

    def list_contacts(self, user: str) -> list[ContactEntry]:
        acting = self._acting(user)
        if acting is None or acting[2].contacts == "none":
            return []
        provider, creds, _ = acting
        try:
            items = provider.list_contacts(creds)
        except AuthError as exc:
            self._auth_failure(user, exc)
            return []
        except ProviderError as exc:
            if not exc.denied:
                raise DriverError("provider_error", str(exc)) from exc
            self._set_state(user, contacts_state="denied",
                            message=f"contacts: the provider refused access ({exc.code}); the "
                                    "granted permissions do not cover contacts")
            return []
        finally:
            self._save_credentials(user, creds)
        self._set_state(user, contacts_state="ok")
        return [ContactEntry(id=c.provider_id, display_name=c.display_name, emails=c.emails)
                for c in items]

    def schedule_meeting(self, user: str, request: MeetingRequest) -> Meeting:
        acting = self._acting(user)
        if acting is None:
            raise DriverError("not_connected", "the user has no working calendar integration")
        provider, creds, status = acting
        if status.calendar != "write":
            raise DriverError("calendar_read_only",
                              "calendar write permission is needed to put meetings on the "
                              "user's calendar")
        try:
            created = provider.create_event(creds, request)
        except AuthError as exc:
            self._auth_failure(user, exc)
            raise DriverError("reauth_required", exc.summary) from exc
        except ProviderError as exc:
            raise DriverError("provider_error", str(exc)) from exc
        finally:
            self._save_credentials(user, creds)
        row = _row_from(user.lower(), created)
        with self.store.session() as s:
            s.merge(_row_from(user.lower(), created))
        return _meeting(row)
