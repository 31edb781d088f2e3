"""Consent: the consent page's form post (`/Consent/Set`: accept, decline, or accept on behalf
of the organisation) and v2 admin consent (`/v2.0/adminconsent`), whose flow is checked like
`/authorize` and signed in like any other, then asks a tenant admin for tenant-wide consent."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response

from mock_providers.microsoft.identity.authorize import Authorize
from mock_providers.microsoft.identity.endpoint import Endpoint, Step, read_form
from mock_providers.microsoft.identity.errors import AadError, Trace, aad_error
from mock_providers.microsoft.identity.faults import take_fault
from mock_providers.microsoft.identity.signin import missing_consent
from mock_providers.microsoft.identity.state import Flow
from mock_providers.microsoft.scopes import split_scope
from mock_providers.world import MsTenant, MsUser

if TYPE_CHECKING:
    from mock_providers.hub import Hub


class Consent(Endpoint):
    def __init__(self, hub: Hub) -> None:
        super().__init__(hub)
        self.authorize = Authorize(hub)
        self.signin = self.authorize.signin

    # -- the consent form post ------------------------------------------------------------------
    async def consent(self, request: Request) -> Response:
        form = await read_form(request)
        trace = self.trace(request)
        flow = self.state.live_flow(form.get("flow"), self.now())
        user = self.world.ms_user(flow.user_id) if flow and flow.user_id else None
        if flow is None or user is None:
            step = self.signin.expired_flow(trace)
        else:
            step = self.consent_step(flow, user, form, trace)
        on_behalf = form.get("consent_on_behalf", "") in ("1", "true", "on")
        self.record(request, step.response.status_code, operation="consent",
                    client_id=flow.client_id if flow else None,
                    user=user.upn if user else None,
                    scopes=list(flow.request.raw) if flow else [], outcome=step.outcome,
                    detail={"choice": form.get("consent"), "on_behalf_of_org": on_behalf,
                            "kind": flow.kind if flow else None, "next": step.next})
        return step.response

    def consent_step(self, flow: Flow, user: MsUser, form: dict[str, str], trace: Trace) -> Step:
        choice = form.get("consent")
        extra = {"admin_consent": "True"} if flow.kind == "adminconsent" else {}
        if choice == "decline":
            self.state.flows.pop(flow.id, None)
            err = aad_error(65004)
            return self.error_to_client(flow.target, err, trace,
                                        {"error_subcodes": "cancel", **extra})
        if choice != "accept":
            err = aad_error(900144, param="consent")
            return Step(self.error_page(err, trace), err.outcome, "error_page")
        tenant = self.world.ms_tenants[user.tenant_id]
        permissions = {p.canonical for p in flow.request.permissions if not p.is_default}
        on_behalf = form.get("consent_on_behalf", "") in ("1", "true", "on")
        if flow.kind == "adminconsent":
            return self.admin_consent_done(flow, user, tenant, permissions, trace)
        if on_behalf and user.is_admin:
            tenant.admin_consents.setdefault(flow.client_id, set()).update(permissions)
        elif user.is_admin or self.signin.user_may_consent(
                tenant, missing_consent(tenant, user, flow)):
            tenant.user_consents.setdefault((user.id, flow.client_id), set()).update(permissions)
        else:
            return self.signin.need_admin_approval(flow, user, trace)
        return self.signin.code_to_client(flow, user)

    def admin_consent_done(self, flow: Flow, user: MsUser, tenant: MsTenant,
                           permissions: set[str], trace: Trace) -> Step:
        self.state.flows.pop(flow.id, None)
        if not user.is_admin:
            return self.error_to_client(flow.target, self.signin.not_admin_error(user), trace,
                                        {"admin_consent": "True"})
        tenant.admin_consents.setdefault(flow.client_id, set()).update(permissions)
        params = {"admin_consent": "True", "tenant": tenant.id}
        if flow.target.state is not None:
            params["state"] = flow.target.state
        params["scope"] = " ".join(flow.request.raw)
        return Step(self.to_client(flow.target, params), "ok", "admin_consent")

    # -- v2 admin consent ---------------------------------------------------------------------
    async def adminconsent(self, request: Request) -> Response:
        params = dict(request.query_params)
        trace = self.trace(request)
        step = await self._adminconsent_step(request, params, trace)
        self.record(request, step.response.status_code, operation="adminconsent",
                    client_id=params.get("client_id"), scopes=split_scope(params.get("scope")),
                    outcome=step.outcome, detail={"tenant": request.path_params["tenant"],
                                                  "redirect_uri": params.get("redirect_uri"),
                                                  "next": step.next})
        return step.response

    async def _adminconsent_step(self, request: Request, params: dict[str, str],
                                 trace: Trace) -> Step:
        fault = await take_fault(self.hub, request, None)
        if fault is not None:
            return self.authorize.fault_page(fault, trace)
        try:
            tenant, app, target = self.authorize.client_target(request.path_params["tenant"],
                                                               params)
        except AadError as err:
            return Step(self.error_page(err, trace), err.outcome, "error_page")
        try:
            flow = self.authorize.new_flow("adminconsent", request, params, tenant, app, target)
        except AadError as err:
            return self.error_to_client(target, err, trace, {"admin_consent": "True"})
        return self.signin.advance(request, flow, trace)
