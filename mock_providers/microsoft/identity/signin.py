"""Signing the user in to a validated flow (`/authorize` or `/adminconsent`): the SSO session,
the login page or account picker and its `/login` form post, then, once the user is known, the
consent page, "Need admin approval", or the authorization code sent to the client.

`.default` in a delegated request means "what is already consented" (the world model has no
static API-permission list per app), so it never shows a consent page.
"""

from __future__ import annotations

import hmac
import secrets
import uuid

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from mock_providers.microsoft.identity import pages
from mock_providers.microsoft.identity.directory import granted
from mock_providers.microsoft.identity.endpoint import Endpoint, Step, read_form, trace_lines
from mock_providers.microsoft.identity.errors import AadError, Trace, aad_error
from mock_providers.microsoft.identity.state import SESSION_COOKIE, Flow, SsoSession
from mock_providers.microsoft.scopes import Permission, consent_lines
from mock_providers.world import MsTenant, MsUser


def missing_consent(tenant: MsTenant, user: MsUser, flow: Flow) -> list[Permission]:
    consented = granted(tenant, user.id, flow.client_id)
    return [p for p in flow.request.permissions
            if not p.is_default and p.canonical not in consented]


class SignIn(Endpoint):
    def secure_cookies(self) -> bool:
        return self.hub.base_url.startswith("https:")

    def sso_session(self, request: Request, flow: Flow) -> tuple[SsoSession, MsUser] | None:
        session = self.state.sessions.get(request.cookies.get(SESSION_COOKIE, ""))
        if session is None:
            return None
        user = self.world.ms_user(session.user_id)
        if user is None or session.auth_time < user.tokens_valid_after:
            return None
        if flow.tenant_id is not None and user.tenant_id != flow.tenant_id:
            return None
        if flow.login_hint and flow.login_hint.lower() != user.upn.lower():
            return None
        if flow.max_age is not None and self.now() - session.auth_time > flow.max_age:
            return None
        return session, user

    def advance(self, request: Request, flow: Flow, trace: Trace) -> Step:
        """Right after the request was validated: SSO, login page, or account picker."""
        signed_in = self.sso_session(request, flow)
        if flow.prompt == "none" and signed_in is None:
            return self.error_to_client(flow.target, aad_error(50058), trace)
        if signed_in is not None and flow.prompt == "select_account":
            user = signed_in[1]
            html = pages.account_picker_page(action=self.login_action(flow), flow_id=flow.id,
                                             upn=user.upn, display_name=user.display_name)
            return Step(HTMLResponse(html), "ok", "account_picker")
        if signed_in is None or flow.prompt == "login":
            return Step(self.login_page(flow), "ok", "login_page")
        session, user = signed_in
        return self.after_login(flow, user, session, trace)

    def login_action(self, flow: Flow) -> str:
        return f"{self.hub.base_url}/{flow.tenant_alias}/login"

    def consent_action(self, flow: Flow) -> str:
        return f"{self.hub.base_url}/{flow.tenant_alias}/Consent/Set"

    def login_page(self, flow: Flow, *, login: str | None = None,
                   error: str | None = None) -> HTMLResponse:
        tenant = self.world.ms_tenants.get(flow.tenant_id or "")
        html = pages.login_page(action=self.login_action(flow), flow_id=flow.id,
                                app_name=flow.app_name,
                                organisation=tenant.name if tenant else "Work or school account",
                                login_hint=flow.login_hint if login is None else login,
                                error=error)
        return HTMLResponse(html, headers={"Cache-Control": "no-store"})

    def after_login(self, flow: Flow, user: MsUser, session: SsoSession, trace: Trace) -> Step:
        """The user is known: admin-consent, consent, Need-admin-approval, or the code."""
        tenant = self.world.ms_tenants[user.tenant_id]
        app = tenant.apps.get(flow.client_id)
        if app is None:
            err = aad_error(700016, client_id=flow.client_id, tenant=tenant.name)
            return Step(self.error_page(err, trace), err.outcome, "error_page")
        flow.user_id, flow.tenant_id = user.id, tenant.id
        flow.auth_time, flow.session_state = session.auth_time, session.session_state
        if flow.kind == "adminconsent":
            if not user.is_admin:
                return self.error_to_client(flow.target, self.not_admin_error(user),
                                            trace, {"admin_consent": "True"})
            return Step(self.consent_page(flow, user, organisation=True), "ok", "consent_page")
        missing = missing_consent(tenant, user, flow)
        if not missing and flow.prompt not in ("consent", "admin_consent"):
            return self.code_to_client(flow, user)
        if flow.prompt == "none":
            err = aad_error(65001, error="consent_required", client_id=flow.client_id,
                            app_name=flow.app_name)
            return self.error_to_client(flow.target, err, trace)
        if user.is_admin:
            return Step(self.consent_page(flow, user), "ok", "consent_page")
        if not self.user_may_consent(tenant, missing):
            return self.need_admin_approval(flow, user, trace)
        return Step(self.consent_page(flow, user), "ok", "consent_page")

    def user_may_consent(self, tenant: MsTenant, permissions: list[Permission]) -> bool:
        return (tenant.user_consent_allowed(self.now())
                and not any(p.admin_only for p in permissions))

    @staticmethod
    def not_admin_error(user: MsUser) -> AadError:
        return aad_error(90094, message="The grant requires admin permission. The signed-in user "
                         f"'{user.upn}' is not an administrator of the tenant.")

    def consent_page(self, flow: Flow, user: MsUser, *, organisation: bool = False
                     ) -> HTMLResponse:
        html = pages.consent_page(action=self.consent_action(flow), flow_id=flow.id,
                                  app_name=flow.app_name, upn=user.upn,
                                  permissions=consent_lines(flow.request),
                                  offer_on_behalf=user.is_admin, for_organisation=organisation)
        return HTMLResponse(html, headers={"Cache-Control": "no-store"})

    def need_admin_approval(self, flow: Flow, user: MsUser, trace: Trace) -> Step:
        err = aad_error(90094)
        html = pages.need_admin_approval_page(app_name=flow.app_name, upn=user.upn,
                                              code=err.outcome, description=str(err),
                                              trace_lines=trace_lines(trace))
        return Step(HTMLResponse(html), err.outcome, "need_admin_approval")

    def code_to_client(self, flow: Flow, user: MsUser) -> Step:
        now = self.now()
        code = self.world.tokens.issue_code(
            issuer="microsoft", client_id=flow.client_id, tenant_id=user.tenant_id,
            subject=user.id, scopes=list(flow.request.raw), redirect_uri=flow.target.redirect_uri,
            issued_at=now, code_challenge=flow.code_challenge,
            code_challenge_method=flow.code_challenge_method, nonce=flow.nonce)
        self.state.code_auth_times[code.code] = flow.auth_time or now
        self.state.flows.pop(flow.id, None)
        params = {"code": code.code}
        if flow.target.state is not None:
            params["state"] = flow.target.state
        params["session_state"] = flow.session_state
        return Step(self.to_client(flow.target, params), "ok", "code")

    # -- the login form post ----------------------------------------------------------------------
    async def login(self, request: Request) -> Response:
        form = await read_form(request)
        trace = self.trace(request)
        flow = self.state.live_flow(form.get("flow"), self.now())
        login = form.get("login", "").strip()
        if flow is None:
            step = self.expired_flow(trace)
        else:
            step = self.login_step(request, flow, login, form.get("passwd"), trace)
        self.record(request, step.response.status_code, operation="login",
                    client_id=flow.client_id if flow else None, user=login or None,
                    scopes=list(flow.request.raw) if flow else [], outcome=step.outcome,
                    detail={"next": step.next})
        return step.response

    def expired_flow(self, trace: Trace) -> Step:
        err = aad_error(9002313, message="Invalid request. Request is malformed or invalid. "
                        "The sign-in session is unknown or has expired; start again.")
        return Step(self.error_page(err, trace), err.outcome, "error_page")

    def login_step(self, request: Request, flow: Flow, login: str, password: str | None,
                   trace: Trace) -> Step:
        if password is None:  # the account picker: no password for the signed-in account
            signed_in = self.sso_session(request, flow)
            if signed_in is not None and signed_in[1].upn.lower() == login.lower():
                return self.after_login(flow, signed_in[1], signed_in[0], trace)
            return Step(self.login_page(flow, login=login), "ok", "login_page")
        user = self.world.ms_user(login) if login else None
        tenant = self.world.ms_tenants.get(flow.tenant_id or "")
        if user is None:
            return self.login_error(flow, login, 50034, "This username may be incorrect. Make "
                                    "sure you typed it correctly. Otherwise, contact your admin.")
        if tenant is not None and user.tenant_id != tenant.id:
            return self.login_error(flow, login, 50020, f"User account '{login}' does not exist "
                                    f"in tenant '{tenant.name}' and cannot access the "
                                    f"application '{flow.client_id}' in that tenant.")
        if not hmac.compare_digest(password.encode(), user.password.encode()):
            return self.login_error(flow, login, 50126, "Your account or password is incorrect. "
                                    "If you don't remember your password, reset it now.")
        session = SsoSession(secrets.token_urlsafe(32), user.id, self.now(), str(uuid.uuid4()))
        self.state.sessions[session.id] = session
        step = self.after_login(flow, user, session, trace)
        step.response.set_cookie(SESSION_COOKIE, session.id, path="/", httponly=True,
                                 secure=self.secure_cookies(), samesite="lax")
        return step

    def login_error(self, flow: Flow, login: str, code: int, text: str) -> Step:
        return Step(self.login_page(flow, login=login, error=f"{text} (AADSTS{code})"),
                    f"AADSTS{code}", "login_page")
