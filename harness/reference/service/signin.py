"""Signing in to the platform: the prompts a sign-in brings (re-integration, the SSO prompt to
integrate Office 365, automatic integration upon login) and Exchange through MAPI on the
desktop client, where the integration decides only whether it is allowed."""

from __future__ import annotations

from harness.api.errors import DriverError
from harness.api.models import (
    AccountSettings,
    ClientInfo,
    ConnectRequest,
    IntegrationStatus,
    SignInMethod,
    SignInResult,
)
from harness.reference import policy
from harness.reference.policy.resolution import values_of
from harness.reference.policy.setup import connect_refusals
from harness.reference.service import convert
from harness.reference.service.context import Context
from harness.reference.service.settings import Settings
from harness.reference.service.setup import Setup
from harness.reference.service.status import Status
from harness.reference.store import SignInRow


class SignIn:
    def __init__(self, ctx: Context, settings: Settings, status: Status, setup: Setup) -> None:
        self.ctx, self.settings, self.status, self.setup = ctx, settings, status, setup

    def sign_in(self, user: str, client: ClientInfo, method: SignInMethod) -> SignInResult:
        """The user signs in to the platform with this client: the re-integration prompt after
        a lock or a domain restriction (clients 5.2.2+), the SSO prompt to integrate Office 365
        (first sign-in, or every sign-in until integrated) or the automatic integration upon
        login. A redirect carries a real authorization URL; its return goes to
        complete_connect like any set-up."""
        with self.ctx.store.session() as s:
            self.settings.member(s, user)
            resolved = self.settings.resolved(s, user)
            settings = AccountSettings.model_validate(values_of(resolved))
            if method == "sso" and not settings.sso_configured:
                raise DriverError("sso_not_configured",
                                  "single sign-on is not configured for this account")
            first = self.ctx.store.sign_in_count(s, user) == 0
            row = self.ctx.store.integration(s, user)
            found = self.status.conflicts(s, row) if row is not None else []
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
                start = self.setup.begin_connect(user, ConnectRequest(service="office365"))
                redirect = start if start.authorization_url else None
            except DriverError as exc:  # e.g. a domain outside the allowed ones
                prompt, reason = "none", exc.message
        with self.ctx.store.session() as s:
            s.add(SignInRow(user=user.lower(), at=self.ctx.now(), method=method,
                            platform=client.platform, client_version=client.version,
                            prompt=prompt))
        return SignInResult(user=user.lower(), method=method, first_sign_in=first,
                            prompt=prompt, prompt_reason=reason, redirect=redirect,
                            auto_integration=decision.auto and prompt != "none",
                            integration=self.status.integration_status(user))

    def connect_mapi(self, user: str, client: ClientInfo) -> IntegrationStatus:
        """The desktop client integrates Exchange through MAPI. The transport itself is the
        desktop's; what the integration decides is whether it is allowed."""
        with self.ctx.store.session() as s:
            self.settings.member(s, user)
            resolved = self.settings.resolved(s, user)
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
            row = self.status.integration_row(s, user, "exchange", calendar, "none")
            row.service, row.authorize_with, row.calendar, row.contacts = \
                "exchange", None, calendar, "none"
            row.credentials, row.pending_flow, row.granted_scopes = None, None, []
            row.state, row.desktop_mapi, row.setup_by = "connected", True, "user_oauth"
            row.message = "Exchange calendar through MAPI on the Windows desktop client"
            row.calendar_state, row.contacts_state = "off", "off"
            self.ctx.store.clear_sync(s, user)
        return self.status.integration_status(user)
