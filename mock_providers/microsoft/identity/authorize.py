"""The authorize endpoint: checks an `/authorize` request (tenant, client, redirect URI, then
response mode and type, prompt, PKCE method and scopes) and turns it into a sign-in flow that
`signin` drives. `/adminconsent` (in `consent`) starts its flows with the same checks.

Failures before the redirect URI is trusted render an error page; later ones go back to the
client's redirect URI.
"""

from __future__ import annotations

import secrets
import uuid
from typing import TYPE_CHECKING, Any, Literal

from starlette.requests import Request
from starlette.responses import Response

from mock_providers.microsoft.identity.directory import (
    find_app,
    redirect_registered,
    resolve_tenant,
)
from mock_providers.microsoft.identity.endpoint import (
    RESPONSE_MODES,
    Endpoint,
    Step,
    read_form,
)
from mock_providers.microsoft.identity.errors import AadError, Trace, aad_error, scope_error
from mock_providers.microsoft.identity.faults import DroppedResponse, fault_error, take_fault
from mock_providers.microsoft.identity.signin import SignIn
from mock_providers.microsoft.identity.state import ClientTarget, Flow
from mock_providers.microsoft.scopes import ScopeError, parse_scopes, split_scope
from mock_providers.world import Fault, MsApp, MsTenant

if TYPE_CHECKING:
    from mock_providers.hub import Hub

PROMPTS = frozenset({"none", "login", "consent", "select_account", "admin_consent"})


def small_number(text: str) -> int | None:
    """A non-negative number in ASCII digits of at most 10 (str.isdigit() also takes "²", which
    int() refuses, and int() refuses 4,300 digits), else None: an unreadable max_age is no
    max_age."""
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 10 else None


class Authorize(Endpoint):
    def __init__(self, hub: Hub) -> None:
        super().__init__(hub)
        self.signin = SignIn(hub)

    async def authorize(self, request: Request) -> Response:
        params = dict(request.query_params)
        if request.method == "POST":
            params.update(await read_form(request))
        trace = self.trace(request)
        scopes = split_scope(params.get("scope"))
        audit: dict[str, Any] = {
            "operation": "authorize", "client_id": params.get("client_id"),
            "user": params.get("login_hint"), "scopes": scopes,
            "detail": {"tenant": request.path_params["tenant"],
                       "redirect_uri": params.get("redirect_uri"),
                       "response_type": params.get("response_type"),
                       "response_mode": params.get("response_mode"),
                       "prompt": params.get("prompt"),
                       "code_challenge_method": params.get("code_challenge_method")},
        }
        step = await self._authorize_step(request, params, trace)
        audit["detail"]["next"] = step.next
        self.record(request, step.response.status_code, outcome=step.outcome, **audit)
        return step.response

    async def _authorize_step(self, request: Request, params: dict[str, str],
                              trace: Trace) -> Step:
        fault = await take_fault(self.hub, request, params.get("login_hint"))
        if fault is not None:
            return self.fault_page(fault, trace)
        try:
            tenant, app, target = self.client_target(request.path_params["tenant"], params)
        except AadError as err:
            return Step(self.error_page(err, trace), err.outcome, "error_page")
        try:
            flow = self.new_flow("authorize", request, params, tenant, app, target)
        except AadError as err:
            return self.error_to_client(target, err, trace)
        return self.signin.advance(request, flow, trace)

    def fault_page(self, fault: Fault, trace: Trace) -> Step:
        if fault.spec.kind == "drop":
            return Step(DroppedResponse(), "fault:drop", "fault")
        err, headers = fault_error(fault)
        page = self.error_page(err, trace)
        page.headers.update(headers)
        return Step(page, err.outcome, "fault")

    def client_target(self, alias: str, params: dict[str, str]
                      ) -> tuple[MsTenant | None, MsApp, ClientTarget]:
        """Checks made before the redirect URI is trusted: failures render a page."""
        tenant = resolve_tenant(self.world, alias)
        client_id = params.get("client_id")
        if not client_id:
            raise aad_error(900144, param="client_id")
        found = find_app(self.world, tenant, client_id)
        if found is None:
            raise aad_error(700016, client_id=client_id, tenant=tenant.name if tenant else alias)
        app, _ = found
        redirect_uri = params.get("redirect_uri") or (app.redirect_uris[:1] or [""])[0]
        if not redirect_registered(redirect_uri, app.redirect_uris):
            raise aad_error(50011, redirect_uri=redirect_uri, client_id=client_id)
        mode = params.get("response_mode") or "query"
        # An unknown response_mode still gets its error back, by query as Entra does.
        target = ClientTarget(redirect_uri, mode if mode in RESPONSE_MODES else "query",
                              params.get("state"))
        return tenant, app, target

    def new_flow(self, kind: Literal["authorize", "adminconsent"], request: Request,
                 params: dict[str, str], tenant: MsTenant | None, app: MsApp,
                 target: ClientTarget) -> Flow:
        """Checks whose failures go back to the client's redirect URI."""
        alias = request.path_params["tenant"]
        if params.get("response_mode", "query") not in RESPONSE_MODES:
            raise aad_error(90023, param="response_mode", value=params["response_mode"])
        if kind == "authorize":
            self.check_response_type(params)
        prompt = params.get("prompt") or None
        if prompt is not None and prompt not in PROMPTS:
            raise aad_error(90023, param="prompt", value=prompt)
        method = params.get("code_challenge_method") or None
        if params.get("code_challenge") and method not in (None, "S256", "plain"):
            raise aad_error(90023, param="code_challenge_method", value=method or "")
        raw_scope = split_scope(params.get("scope"))
        if not raw_scope:
            raise aad_error(900144, param="scope")
        try:
            scope_request = parse_scopes(raw_scope)
        except ScopeError as exc:
            raise scope_error(exc, tenant.name if tenant else alias) from None
        max_age = params.get("max_age", "")
        flow = Flow(
            id=secrets.token_urlsafe(24), kind=kind, tenant_alias=alias,
            tenant_id=tenant.id if tenant else None, client_id=app.client_id,
            app_name=app.display_name, target=target, request=scope_request, created=self.now(),
            correlation_id=request.headers.get("client-request-id") or str(uuid.uuid4()),
            nonce=params.get("nonce") or None,
            code_challenge=params.get("code_challenge") or None,
            code_challenge_method=(method or "plain") if params.get("code_challenge") else None,
            prompt=prompt, login_hint=params.get("login_hint", ""),
            max_age=small_number(max_age),
        )
        self.state.add_flow(flow, self.now())
        return flow

    @staticmethod
    def check_response_type(params: dict[str, str]) -> None:
        response_type = params.get("response_type")
        if not response_type:
            raise aad_error(900144, param="response_type")
        if response_type.split() != ["code"]:
            raise aad_error(70005, response_type=response_type)
