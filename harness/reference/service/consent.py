"""Admin consent on behalf of the company: the account owner or an admin consents for the
whole tenant, to application permissions or to delegated ones for every user; the tenant's
consent is what the users' set-up then waits for or builds on."""

from __future__ import annotations

import secrets
from urllib.parse import parse_qsl, urlsplit

from harness.api.errors import DriverError
from harness.api.models import AdminConsentResult, ConnectStart
from harness.reference import policy
from harness.reference.policy.entra_roles import admin_consent_refusal, holds_admin_role
from harness.reference.providers.base import AuthError
from harness.reference.service import convert
from harness.reference.service.context import Context
from harness.reference.service.settings import Settings
from harness.reference.store import PendingConsentRow, TenantConsentRow

SETTINGS_ROLES = policy.ADMIN_ROLES


class AdminConsent:
    def __init__(self, ctx: Context, settings: Settings) -> None:
        self.ctx, self.settings = ctx, settings

    def begin_admin_consent(self, actor: str) -> ConnectStart:
        settings = self.settings.settings()
        with self.ctx.store.session() as s:
            if self.ctx.store.role_of(s, actor) not in SETTINGS_ROLES:
                raise DriverError("not_an_admin", f"{actor} is not the account owner or an admin")
        provider = self.ctx.provider(actor, settings.default_calendar_service,
                                     settings.authorize_with)
        if settings.setup_by == "admin_application":
            start = provider.admin_consent_start(secrets.token_urlsafe(16))
            state = start.pending["state"]
        else:
            start = provider.begin_auth(settings.calendar_permission,
                                        settings.contacts_permission, prompt="consent")
            state = start.pending["flow"]["state"]
        with self.ctx.store.session() as s:
            s.merge(PendingConsentRow(actor=actor.lower(), mode=settings.setup_by, state=state,
                                      flow=start.pending))
        return ConnectStart(authorization_url=start.url, redirect_uri=start.redirect_uri,
                            requested_scopes=start.scopes)

    def complete_admin_consent(self, actor: str, callback_url: str) -> AdminConsentResult:
        params = dict(parse_qsl(urlsplit(callback_url).query))
        settings = self.settings.settings()
        provider = self.ctx.provider(actor, settings.default_calendar_service,
                                     settings.authorize_with)
        with self.ctx.store.session() as s:
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
                # Microsoft grants application permissions only to an admin's sign-in.
                self.ctx.store.note_office365_admin(s, actor, True)
            else:
                try:
                    creds = provider.finish_auth(pending.flow or {}, params)
                except AuthError as exc:
                    return AdminConsentResult(granted=False, message=exc.summary)
                # Microsoft lets a member without an admin role consent for themselves only;
                # that is no consent for the company, whatever the account role here.
                self.ctx.store.note_office365_admin(s, actor,
                                                    holds_admin_role(creds.directory_roles))
                refusal = admin_consent_refusal(actor, creds.directory_roles)
                if refusal is not None:
                    return AdminConsentResult(granted=False, message=refusal.message)
            tenant = provider.tenant_key()
            s.merge(TenantConsentRow(tenant_id=tenant, mode=pending.mode, admin=actor.lower(),
                                     granted_at=self.ctx.now()))
        return AdminConsentResult(granted=True, tenant_id=tenant)
