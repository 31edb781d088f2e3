"""The user's set-up flows: service -> permissions -> authenticate -> accept over OAuth, the
mailbox password for Exchange through the EWS URL, application permissions once the admin has
set them up for the tenant, and the wait for the admin's consent on behalf of the account. A
completed set-up syncs at once."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

from harness.api.errors import DriverError
from harness.api.models import AccountSettings, ConnectRequest, ConnectStart, IntegrationStatus
from harness.reference import policy
from harness.reference.policy.entra_roles import holds_admin_role
from harness.reference.policy.resolution import values_of
from harness.reference.policy.setup import connect_refusals
from harness.reference.providers import Provider
from harness.reference.providers.base import AuthError
from harness.reference.service import convert
from harness.reference.service.context import Context
from harness.reference.service.settings import Settings
from harness.reference.service.status import Status
from harness.reference.service.sync import Sync
from harness.reference.store import TenantConsentRow


class Setup:
    def __init__(self, ctx: Context, settings: Settings, status: Status, sync: Sync) -> None:
        self.ctx, self.settings, self.status, self.sync = ctx, settings, status, sync

    def begin_connect(self, user: str, request: ConnectRequest) -> ConnectStart:
        with self.ctx.store.session() as s:
            self.settings.member(s, user)
            resolved = self.settings.resolved(s, user)
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
        provider = self.ctx.provider(user, service, authorize_with, settings.ews_url)
        if request.password is not None:
            return self._connect_with_password(user, provider, service, calendar, contacts,
                                               request.password.get_secret_value(), settings)
        if settings.setup_by == "admin_application":
            return self._connect_with_app_permissions(user, provider, service, calendar,
                                                      contacts)
        if settings.consent_on_behalf_of_account:
            self._require_account_consent(user, provider, service, calendar, contacts)
        start = provider.begin_auth(calendar, contacts)
        with self.ctx.store.session() as s:
            row = self.status.integration_row(s, user, service, calendar, contacts)
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
        with self.ctx.store.session() as s:
            row = self.status.integration_row(s, user, service, calendar, contacts)
            row.service, row.calendar, row.contacts = service, calendar, contacts
            row.authorize_with = "ews" if service == "office365" else None
            row.setup_by, row.tenant_id = "user_oauth", provider.tenant_key()
            convert.store_credentials(row, creds)
            row.granted_scopes, row.state, row.message = creds.scopes, "connected", None
            row.pending_flow, row.sync_cursor = None, None
            self.ctx.store.clear_sync(s, user)
        self._after_connect(user)
        return ConnectStart(authorization_url=None, redirect_uri=None,
                            requested_scopes=creds.scopes)

    def _require_account_consent(self, user: str, provider: Provider, service: str,
                                 calendar: str, contacts: str) -> None:
        """With consent on behalf of the entire account, a user's integration waits until the
        Office 365 admin has consented for the account."""
        tenant = provider.tenant_key()
        with self.ctx.store.session() as s:
            if s.get(TenantConsentRow, tenant) is not None:
                return
            row = self.status.integration_row(s, user, service, calendar, contacts)
            message = ("waiting for the Office 365 admin to consent on behalf of the entire "
                       "account before this integration can be set up")
            if row.state != "connected":
                row.state, row.message, row.tenant_id = "pending", message, tenant
        raise DriverError("admin_consent_pending", message)

    def _connect_with_app_permissions(self, user: str, provider: Provider, service: str,
                                      calendar: str, contacts: str) -> ConnectStart:
        tenant = provider.tenant_key()
        with self.ctx.store.session() as s:
            consent = s.get(TenantConsentRow, tenant)
            if consent is None or consent.mode != "admin_application":
                raise DriverError("admin_setup_required",
                                  "the Office 365 admin has not set up the integration with "
                                  "application permissions for this tenant yet")
        try:
            creds = provider.application_credentials()
        except AuthError as exc:
            raise DriverError("app_token_refused", exc.summary) from exc
        with self.ctx.store.session() as s:
            row = self.status.integration_row(s, user, service, calendar, contacts)
            row.service, row.calendar, row.contacts = service, calendar, contacts
            row.authorize_with = "graph" if service == "office365" else None
            row.setup_by, row.tenant_id = "admin_application", tenant
            convert.store_credentials(row, creds)
            row.granted_scopes, row.state, row.message = creds.scopes, "connected", None
            row.sync_cursor, row.desktop_mapi = None, False
            self.ctx.store.clear_sync(s, user)
        self._after_connect(user)
        return ConnectStart(authorization_url=None, redirect_uri=None, requested_scopes=[])

    def complete_connect(self, user: str, callback_url: str) -> IntegrationStatus:
        params = dict(parse_qsl(urlsplit(callback_url).query))
        with self.ctx.store.session() as s:
            row = self.ctx.store.integration(s, user)
            if row is None or not row.pending_flow:
                raise DriverError("no_pending_flow", "no set-up is in progress for this user")
            pending, row.pending_flow = row.pending_flow, None
            was_connected = row.credentials is not None
            if "error" in params:
                row.state = "connected" if was_connected else "error"
                row.message = convert.error_text(params)
                return convert.status(row)
            provider = self.ctx.provider(user, pending["service"], row.authorize_with)
            try:
                creds = provider.finish_auth(pending["pending"], params)
            except AuthError as exc:
                row.state, row.message = "error", exc.summary
                return convert.status(row)
            if pending["service"] == "office365":  # the ID token shows the Entra roles
                self.ctx.store.note_office365_admin(s, user,
                                                    holds_admin_role(creds.directory_roles))
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
        return self.status.integration_status(user)

    def _after_connect(self, user: str) -> None:
        self.sync.sync_now(user)
