"""Microsoft identity platform v2.0 mock: OIDC discovery, JWKS, the authorize leg (real HTML login,
account picker, consent and "Need admin approval" pages), the token endpoint (authorization_code,
refresh_token, client_credentials, password), v2 admin consent, user realm and logout.

Routes sit at the hub root because MSAL reads the tenant from the authority's first path segment.
Server-side state that a browser session needs (sign-in flows in progress, SSO sessions) lives in
an `IdentityState` tied to the World object, so `hub.reset()` drops it with the world.

Documented choices (to be mirrored in docs/architecture.md):
- issuer: `{hub.base_url}/{tenant id}/v2.0` (`{tenantid}` literally for common/organizations, as
  Entra publishes it); MSAL does not compare it for Entra authorities.
- client_credentials for an app with no granted roles returns a token without a `roles` claim,
  as Entra does; the resource API then refuses it.
- delegated `scp` carries exactly the permissions requested (and consented), not every consented
  permission on the resource as Entra does, so a token never exceeds what the integration asked.
- refresh tokens rotate (every refresh returns a new one) but the old one stays valid until it
  expires by inactivity, is revoked, or predates a password change, as in Entra.
- `.default` in a delegated request means "what is already consented" (the world model has no
  static API-permission list per app), so it never shows a consent page.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import re
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal, NamedTuple
from urllib.parse import parse_qsl, unquote_plus, urlencode, urlsplit

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import Receive, Scope, Send

from mock_providers.microsoft import login_pages as pages
from mock_providers.microsoft.aad_errors import (
    AadError,
    Trace,
    aad_error,
    catalogue_message,
    no_store_headers,
    redirect_error_params,
    token_error_response,
)
from mock_providers.microsoft.claims import (
    ACCESS_TOKEN_LIFETIME,
    app_access_claims,
    delegated_access_claims,
)
from mock_providers.microsoft.scopes import (
    Permission,
    ScopeError,
    ScopeRequest,
    app_roles_for,
    canonical_scopes,
    consent_lines,
    consented_for,
    parse_scopes,
    response_scope,
    single_resource,
    split_scope,
)
from mock_providers.world import Fault, MsApp, MsTenant, MsUser, RefreshGrant, World
from mock_providers.world.extensions import per_world

if TYPE_CHECKING:
    from mock_providers.hub import Hub

CODE_LIFETIME = 600  # seconds on the world clock
REFRESH_INACTIVITY = 90 * 86400
FLOW_LIFETIME = 3600
EXPIRES_IN = ACCESS_TOKEN_LIFETIME - 1
SESSION_COOKIE = "ESTSAUTH"
MULTI_TENANT = frozenset({"common", "organizations"})
PROMPTS = frozenset({"none", "login", "consent", "select_account", "admin_consent"})
RESPONSE_MODES = frozenset({"query", "fragment", "form_post"})
_LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "[::1]"})


# -- server-side state ---------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ClientTarget:
    """Where answers of the authorize leg go."""

    redirect_uri: str
    response_mode: str
    state: str | None


@dataclass(slots=True)
class Flow:
    id: str
    kind: Literal["authorize", "adminconsent"]
    tenant_alias: str
    tenant_id: str | None  # None for common/organizations until a user signs in
    client_id: str
    app_name: str
    target: ClientTarget
    request: ScopeRequest
    created: float
    correlation_id: str
    nonce: str | None = None
    code_challenge: str | None = None
    code_challenge_method: str | None = None
    prompt: str | None = None
    login_hint: str = ""
    max_age: int | None = None
    user_id: str | None = None
    auth_time: float | None = None
    session_state: str = ""


@dataclass(slots=True)
class SsoSession:
    id: str
    user_id: str
    auth_time: float
    session_state: str


@dataclass
class IdentityState:
    flows: dict[str, Flow] = field(default_factory=dict)
    sessions: dict[str, SsoSession] = field(default_factory=dict)
    code_auth_times: dict[str, float] = field(default_factory=dict)
    _created: int = 0

    def add_flow(self, flow: Flow, now: float) -> None:
        self._created += 1
        if self._created % 256 == 0:  # amortised pruning keeps long load runs bounded
            for stale in [f.id for f in self.flows.values() if now - f.created > FLOW_LIFETIME]:
                del self.flows[stale]
            if len(self.code_auth_times) > 50_000:
                self.code_auth_times.clear()
        self.flows[flow.id] = flow

    def live_flow(self, flow_id: str | None, now: float) -> Flow | None:
        flow = self.flows.get(flow_id or "")
        if flow is None or now - flow.created > FLOW_LIFETIME:
            return None
        return flow


identity_state = per_world(IdentityState)


# -- control-API operations ----------------------------------------------------------------------
def change_password(hub: Hub, user: MsUser, new_password: str) -> None:
    """New password; refresh tokens and SSO sessions from before it stop working (AADSTS50173)."""
    if not new_password:
        raise ValueError("the new password must not be empty")
    user.password = new_password
    user.tokens_valid_after = hub.world.clock.timestamp()
    user.tokens_invalid_reason = "password"
    _end_sessions(hub.world, user)


def revoke_sessions(hub: Hub, user: MsUser) -> None:
    """revokeSignInSessions: every refresh token and SSO session of the user dies (AADSTS70008)."""
    user.tokens_valid_after = hub.world.clock.timestamp()
    user.tokens_invalid_reason = "revoked"
    hub.world.tokens.revoke_subject("microsoft", user.id)
    _end_sessions(hub.world, user)


def set_user_consent_policy(hub: Hub, tenant: MsTenant, allowed: bool,
                            delay_seconds: int = 1800) -> None:
    """Entra applies consent-policy changes after a propagation delay (30 minutes by default)."""
    if delay_seconds < 0:
        raise ValueError("delay_seconds must be zero or positive")
    now = hub.world.clock.timestamp()
    tenant.user_consent_allowed(now)  # settle an earlier pending change first
    if delay_seconds == 0:
        tenant.users_may_consent = allowed
        tenant.pending_users_may_consent = None
    else:
        tenant.pending_users_may_consent = (allowed, now + delay_seconds)


def grant_admin_consent(hub: Hub, tenant: MsTenant, client_id: str, scopes: list[str]) -> None:
    """Tenant-wide consent to delegated `scopes` (any form: `Calendars.Read`,
    `https://graph.microsoft.com/Calendars.Read`, …); raises ValueError for an unknown app/scope."""
    if client_id not in tenant.apps:
        raise ValueError(f"no app {client_id!r} in tenant {tenant.key!r}")
    entries = _canonical_or_value_error([s for value in scopes for s in split_scope(value)])
    tenant.admin_consents.setdefault(client_id, set()).update(entries)


def set_app_roles(hub: Hub, tenant: MsTenant, client_id: str, roles: list[str]) -> None:
    """Replace the application permissions granted to the app (what client_credentials carries)."""
    app = tenant.apps.get(client_id)
    if app is None:
        raise ValueError(f"no app {client_id!r} in tenant {tenant.key!r}")
    app.granted_roles = set(roles)


@dataclass(frozen=True)
class IdentityAdmin:
    """The control API's view of the operations above (`mock_providers.hub.MicrosoftAdmin`)."""

    hub: Hub

    def change_password(self, user: MsUser, new_password: str) -> None:
        change_password(self.hub, user, new_password)

    def revoke_sessions(self, user: MsUser) -> None:
        revoke_sessions(self.hub, user)

    def set_user_consent_policy(self, tenant: MsTenant, allowed: bool,
                                delay_seconds: int = 1800) -> None:
        set_user_consent_policy(self.hub, tenant, allowed, delay_seconds)

    def grant_admin_consent(self, tenant: MsTenant, client_id: str, scopes: list[str]) -> None:
        grant_admin_consent(self.hub, tenant, client_id, scopes)

    def set_app_roles(self, tenant: MsTenant, client_id: str, roles: list[str]) -> None:
        set_app_roles(self.hub, tenant, client_id, roles)


def _canonical_or_value_error(scopes: list[str]) -> set[str]:
    try:
        return canonical_scopes(scopes)
    except ScopeError as exc:
        detail = exc.fields.get("scope") or exc.fields.get("resource") or ""
        raise ValueError(f"not a known delegated permission or resource: {detail!r}") from None


def _end_sessions(world: World, user: MsUser) -> None:
    sessions = identity_state(world).sessions
    for sid in [s.id for s in sessions.values() if s.user_id == user.id]:
        del sessions[sid]


# -- small helpers ------------------------------------------------------------------------------
def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _issuer(hub: Hub, tenant_id: str | None) -> str:
    return f"{hub.base_url}/{tenant_id or '{tenantid}'}/v2.0"


def _resolve_tenant(world: World, alias: str) -> MsTenant | None:
    """The tenant named in the path; None for common/organizations; AADSTS90002 if unknown."""
    if alias.lower() in MULTI_TENANT:
        return None
    tenant = world.tenant(alias)
    if tenant is None:
        raise aad_error(90002, tenant=alias)
    return tenant


def _find_app(world: World, tenant: MsTenant | None,
              client_id: str) -> tuple[MsApp, MsTenant] | None:
    candidates = [tenant] if tenant is not None else list(world.ms_tenants.values())
    for candidate in candidates:
        app = candidate.apps.get(client_id)
        if app is not None:
            return app, candidate
    return None


def _granted(tenant: MsTenant, oid: str, client_id: str) -> set[str]:
    return (tenant.admin_consents.get(client_id, set())
            | tenant.user_consents.get((oid, client_id), set()))


def _missing_consent(tenant: MsTenant, user: MsUser, flow: Flow) -> list[Permission]:
    granted = _granted(tenant, user.id, flow.client_id)
    return [p for p in flow.request.permissions
            if not p.is_default and p.canonical not in granted]


def _redirect_registered(uri: str, registered: list[str]) -> bool:
    if uri in registered:
        return True
    # Entra ignores the port of loopback redirect URIs (native apps listen on any free port).
    asked = urlsplit(uri)
    if asked.scheme != "http" or asked.hostname is None:
        return False
    for candidate in registered:
        reg = urlsplit(candidate)
        if (reg.scheme == "http" and reg.netloc.split(":")[0] in _LOOPBACK_HOSTS
                and reg.hostname == asked.hostname
                and reg.path.rstrip("/") == asked.path.rstrip("/")):
            return True
    return False


def _pkce_matches(challenge: str, method: str | None, verifier: str) -> bool:
    expected = verifier if method in (None, "plain") else _b64url(
        hashlib.sha256(verifier.encode()).digest())
    return hmac.compare_digest(expected, challenge)


def _pairwise_sub(oid: str, client_id: str) -> str:
    return _b64url(hashlib.sha256(f"{oid}|{client_id}".encode()).digest())


def _trace_lines(trace: Trace) -> list[str]:
    return [f"Trace ID: {trace.trace_id}", f"Correlation ID: {trace.correlation_id}",
            f"Timestamp: {trace.timestamp}"]


def _fmt_time(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%m/%d/%Y %H:%M:%S")


async def _form(request: Request) -> dict[str, str]:
    """Form fields (first value wins); anything but urlencoded reads as empty, which then fails
    as a missing parameter exactly like Entra."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype != "application/x-www-form-urlencoded":
        return {}
    try:
        text = (await request.body()).decode("utf-8")
    except UnicodeDecodeError:
        return {}
    out: dict[str, str] = {}
    for key, value in parse_qsl(text, keep_blank_values=True):
        out.setdefault(key, value)
    return out


def _basic_credentials(header: str | None) -> tuple[str, str] | None:
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return None
    client_id, sep, secret = decoded.partition(":")
    return (unquote_plus(client_id), unquote_plus(secret)) if sep else None


def _scope_error(exc: ScopeError, tenant_label: str) -> AadError:
    return aad_error(exc.code, tenant=tenant_label, **exc.fields)


class _DroppedResponse(Response):
    """A `drop` fault: the response starts, then the connection is cut mid-body."""

    def __init__(self) -> None:
        super().__init__(status_code=200)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-length", b"512")]})
        await send({"type": "http.response.body", "body": b"{", "more_body": True})
        raise ConnectionAbortedError("calharness fault plan: connection dropped")


def _fault_error(fault: Fault) -> tuple[AadError, dict[str, str]]:
    spec = fault.spec
    throttle = spec.kind == "throttle"
    status = spec.status or (429 if throttle else 503)
    code, error = (90055 if throttle else 90033), None
    if spec.code:
        numeric = re.fullmatch(r"(?:AADSTS)?(\d+)", spec.code.strip(), re.IGNORECASE)
        if numeric:
            code = int(numeric[1])
        else:
            error = spec.code
    if catalogue_message(code) is not None:
        err = aad_error(code, status=status, error=error or _error_for_status(status))
    else:
        err = AadError(code, error or _error_for_status(status), status,
                       "The request failed (injected by the calharness fault plan).")
    headers = {"Retry-After": str(spec.retry_after if spec.retry_after is not None else 5)} \
        if throttle or spec.retry_after is not None else {}
    return err, headers


def _error_for_status(status: int) -> str:
    if status == 429 or status >= 502:
        return "temporarily_unavailable"
    if status >= 500:
        return "server_error"
    return "invalid_client" if status == 401 else "invalid_request"


async def _take_fault(hub: Hub, request: Request, user: str | None) -> Fault | None:
    fault = hub.world.faults.take("identity", request.method, request.url.path, user)
    if fault is not None and fault.spec.kind == "latency":
        await asyncio.sleep(fault.spec.delay_ms / 1000)
        return None
    return fault


class Step(NamedTuple):
    """One answer of the browser-facing leg and what the audit log says about it."""

    response: Response
    outcome: str  # "ok" or "AADSTSnnnnn"
    next: str  # what the user sees next: login_page, consent_page, code, error_redirect, …


# -- the routes ---------------------------------------------------------------------------------
def routes(hub: Hub) -> list[BaseRoute]:
    return _Identity(hub).routes()


class _Identity:
    def __init__(self, hub: Hub) -> None:
        self.hub = hub

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/error", self.error_info, methods=["GET"]),
            Route("/{tenant}/v2.0/.well-known/openid-configuration", self.discovery,
                  methods=["GET"]),
            Route("/{tenant}/discovery/v2.0/keys", self.jwks, methods=["GET"]),
            Route("/{tenant}/discovery/keys", self.jwks, methods=["GET"]),
            Route("/{tenant}/oauth2/v2.0/authorize", self.authorize, methods=["GET", "POST"]),
            Route("/{tenant}/oauth2/v2.0/token", self.token, methods=["POST"]),
            Route("/{tenant}/oauth2/v2.0/logout", self.logout, methods=["GET", "POST"]),
            Route("/{tenant}/v2.0/adminconsent", self.adminconsent, methods=["GET"]),
            Route("/{tenant}/login", self.login, methods=["POST"]),
            Route("/{tenant}/Consent/Set", self.consent, methods=["POST"]),
            Route("/{tenant}/userrealm/{username}", self.userrealm, methods=["GET"]),
        ]

    # -- plumbing ---------------------------------------------------------------------------
    @property
    def world(self) -> World:
        return self.hub.world  # read per request: the control API swaps worlds on reset

    @property
    def state(self) -> IdentityState:
        return identity_state(self.world)

    def now(self) -> float:
        return self.world.clock.timestamp()

    def trace(self, request: Request) -> Trace:
        return Trace.new(self.now(), request.headers.get("client-request-id"))

    def record(self, request: Request, status: int, **fields: Any) -> None:
        self.hub.record("identity", request.method, request.url.path, status, **fields)

    def secure_cookies(self) -> bool:
        return self.hub.base_url.startswith("https:")

    def error_page(self, err: AadError, trace: Trace) -> HTMLResponse:
        html = pages.error_page(code=err.outcome, description=str(err),
                                trace_lines=_trace_lines(trace))
        return HTMLResponse(html, status_code=err.status)

    def to_client(self, target: ClientTarget, params: dict[str, str]) -> Response:
        if target.response_mode == "form_post":
            return HTMLResponse(pages.form_post_page(action=target.redirect_uri, params=params),
                                headers={"Cache-Control": "no-store"})
        uri = target.redirect_uri
        sep = "#" if target.response_mode == "fragment" else ("&" if "?" in uri else "?")
        return RedirectResponse(uri + sep + urlencode(params), status_code=302)

    def error_to_client(self, target: ClientTarget, err: AadError, trace: Trace,
                        extra: dict[str, str] | None = None) -> Step:
        params = redirect_error_params(err, trace, self.hub.base_url, target.state)
        params.update(extra or {})
        return Step(self.to_client(target, params), err.outcome, "error_redirect")

    # -- discovery, keys, realm, error info ---------------------------------------------------
    async def discovery(self, request: Request) -> Response:
        alias = request.path_params["tenant"]
        trace = self.trace(request)
        try:
            tenant = _resolve_tenant(self.world, alias)
        except AadError as err:
            self.record(request, err.status, operation="discovery", outcome=err.outcome,
                        detail={"tenant": alias})
            return token_error_response(err, trace, self.hub.base_url)
        self.record(request, 200, operation="discovery", detail={"tenant": alias})
        return JSONResponse(self.openid_configuration(tenant, alias))

    def openid_configuration(self, tenant: MsTenant | None, alias: str) -> dict[str, Any]:
        base = f"{self.hub.base_url}/{tenant.id if tenant else alias.lower()}"
        return {
            "token_endpoint": f"{base}/oauth2/v2.0/token",
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt",
                                                      "client_secret_basic"],
            "jwks_uri": f"{base}/discovery/v2.0/keys",
            "response_modes_supported": sorted(RESPONSE_MODES),
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["code"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "issuer": _issuer(self.hub, tenant.id if tenant else None),
            "request_uri_parameter_supported": False,
            "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
            "end_session_endpoint": f"{base}/oauth2/v2.0/logout",
            "http_logout_supported": True,
            "frontchannel_logout_supported": True,
            "code_challenge_methods_supported": ["plain", "S256"],
            "grant_types_supported": ["authorization_code", "refresh_token",
                                      "client_credentials", "password"],
            "claims_supported": ["sub", "iss", "aud", "exp", "iat", "nbf", "auth_time", "nonce",
                                 "name", "preferred_username", "email", "oid", "tid", "ver",
                                 "uti"],
            "tenant_region_scope": "NA" if tenant else None,
            "cloud_instance_name": "microsoftonline.com",
            "cloud_graph_host_name": "graph.windows.net",
            "msgraph_host": "graph.microsoft.com",
            "rbac_url": "https://pas.windows.net",
        }

    async def jwks(self, request: Request) -> Response:
        alias = request.path_params["tenant"]
        try:
            _resolve_tenant(self.world, alias)
        except AadError as err:
            self.record(request, err.status, operation="jwks", outcome=err.outcome)
            return token_error_response(err, self.trace(request), self.hub.base_url)
        self.record(request, 200, operation="jwks", detail={"tenant": alias})
        return JSONResponse(self.hub.signer.jwks())

    async def userrealm(self, request: Request) -> Response:
        username = request.path_params["username"]
        user = self.world.ms_user(username)
        domain = username.rpartition("@")[2]
        body: dict[str, Any] = {"ver": "1.0", "account_type": "Managed" if user else "Unknown",
                                "domain_name": domain, "cloud_instance_name":
                                "microsoftonline.com", "cloud_audience_urn":
                                "urn:federation:MicrosoftOnline"}
        if user is not None:
            body["federation_brand_name"] = self.world.ms_tenants[user.tenant_id].name
        self.record(request, 200, operation="userrealm", user=username)
        return JSONResponse(body)

    async def error_info(self, request: Request) -> Response:
        raw = request.query_params.get("code", "")
        code = int(raw) if raw.isdigit() else 0
        message = catalogue_message(code)
        return HTMLResponse(pages.error_code_page(code=code, message=message),
                            status_code=200 if message else 404)

    # -- authorize -------------------------------------------------------------------------------
    async def authorize(self, request: Request) -> Response:
        params = dict(request.query_params)
        if request.method == "POST":
            params.update(await _form(request))
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
        fault = await _take_fault(self.hub, request, params.get("login_hint"))
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
        return self.advance(request, flow, trace)

    def fault_page(self, fault: Fault, trace: Trace) -> Step:
        if fault.spec.kind == "drop":
            return Step(_DroppedResponse(), "fault:drop", "fault")
        err, headers = _fault_error(fault)
        page = self.error_page(err, trace)
        page.headers.update(headers)
        return Step(page, err.outcome, "fault")

    def client_target(self, alias: str, params: dict[str, str]
                      ) -> tuple[MsTenant | None, MsApp, ClientTarget]:
        """Checks made before the redirect URI is trusted: failures render a page."""
        tenant = _resolve_tenant(self.world, alias)
        client_id = params.get("client_id")
        if not client_id:
            raise aad_error(900144, param="client_id")
        found = _find_app(self.world, tenant, client_id)
        if found is None:
            raise aad_error(700016, client_id=client_id, tenant=tenant.name if tenant else alias)
        app, _ = found
        redirect_uri = params.get("redirect_uri") or (app.redirect_uris[:1] or [""])[0]
        if not _redirect_registered(redirect_uri, app.redirect_uris):
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
            raise _scope_error(exc, tenant.name if tenant else alias) from None
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
            max_age=int(max_age) if max_age.isdigit() else None,
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
        missing = _missing_consent(tenant, user, flow)
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
                                              trace_lines=_trace_lines(trace))
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

    # -- login and consent form posts -----------------------------------------------------------
    async def login(self, request: Request) -> Response:
        form = await _form(request)
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

    async def consent(self, request: Request) -> Response:
        form = await _form(request)
        trace = self.trace(request)
        flow = self.state.live_flow(form.get("flow"), self.now())
        user = self.world.ms_user(flow.user_id) if flow and flow.user_id else None
        if flow is None or user is None:
            step = self.expired_flow(trace)
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
        elif user.is_admin or self.user_may_consent(tenant, _missing_consent(tenant, user, flow)):
            tenant.user_consents.setdefault((user.id, flow.client_id), set()).update(permissions)
        else:
            return self.need_admin_approval(flow, user, trace)
        return self.code_to_client(flow, user)

    def admin_consent_done(self, flow: Flow, user: MsUser, tenant: MsTenant,
                           permissions: set[str], trace: Trace) -> Step:
        self.state.flows.pop(flow.id, None)
        if not user.is_admin:
            return self.error_to_client(flow.target, self.not_admin_error(user), trace,
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
        fault = await _take_fault(self.hub, request, None)
        if fault is not None:
            return self.fault_page(fault, trace)
        try:
            tenant, app, target = self.client_target(request.path_params["tenant"], params)
        except AadError as err:
            return Step(self.error_page(err, trace), err.outcome, "error_page")
        try:
            flow = self.new_flow("adminconsent", request, params, tenant, app, target)
        except AadError as err:
            return self.error_to_client(target, err, trace, {"admin_consent": "True"})
        return self.advance(request, flow, trace)

    # -- logout ---------------------------------------------------------------------------------
    async def logout(self, request: Request) -> Response:
        params = dict(request.query_params)
        if request.method == "POST":
            params.update(await _form(request))
        self.state.sessions.pop(request.cookies.get(SESSION_COOKIE, ""), None)
        target = params.get("post_logout_redirect_uri")
        response: Response
        if target:
            response = RedirectResponse(target, status_code=302)
        else:
            response = HTMLResponse(pages.error_code_page(code=0, message="You signed out of "
                                                          "your account."))
        response.delete_cookie(SESSION_COOKIE, path="/")
        self.record(request, response.status_code, operation="logout")
        return response

    # -- token ----------------------------------------------------------------------------------
    async def token(self, request: Request) -> Response:
        form = await _form(request)
        trace = self.trace(request)
        grant_type = form.get("grant_type", "")
        basic = _basic_credentials(request.headers.get("authorization"))
        principal = self.token_principal(form)
        audit: dict[str, Any] = {
            "operation": f"token:{grant_type or 'missing'}",
            "client_id": form.get("client_id") or (basic[0] if basic else None),
            "user": principal, "scopes": split_scope(form.get("scope")),
        }
        fault = await _take_fault(self.hub, request, principal)
        if fault is not None and fault.spec.kind == "drop":
            self.record(request, 200, outcome="fault:drop", **audit)
            return _DroppedResponse()
        try:
            if fault is not None:
                err, headers = _fault_error(fault)
                raise _FaultRaised(err, headers)
            grant = _TokenGrant(self, request, form, basic, trace)
            body, detail = grant.run(grant_type)
        except _FaultRaised as raised:
            self.record(request, raised.err.status, outcome=raised.err.outcome,
                        detail={"fault": True}, **audit)
            return token_error_response(raised.err, trace, self.hub.base_url, raised.headers)
        except AadError as err:
            self.record(request, err.status, outcome=err.outcome, **audit)
            return token_error_response(err, trace, self.hub.base_url)
        audit["user"] = detail.pop("user", principal)
        self.record(request, 200, detail=detail, **audit)
        return JSONResponse(body, headers=no_store_headers(trace))

    def token_principal(self, form: dict[str, str]) -> str | None:
        """The user a token request is about (for fault matching and the audit log)."""
        subject: str | None = None
        if form.get("username"):
            return form["username"]
        if form.get("code") and form["code"] in self.world.tokens.codes:
            subject = self.world.tokens.codes[form["code"]].subject
        elif form.get("refresh_token") and form["refresh_token"] in self.world.tokens.refresh:
            subject = self.world.tokens.refresh[form["refresh_token"]].subject
        user = self.world.ms_user(subject) if subject else None
        return user.upn if user else None


class _FaultRaised(Exception):
    def __init__(self, err: AadError, headers: dict[str, str]) -> None:
        super().__init__(str(err))
        self.err, self.headers = err, headers


class _TokenGrant:
    """One token request: client authentication, then the grant's own checks and issuance."""

    def __init__(self, identity: _Identity, request: Request, form: dict[str, str],
                 basic: tuple[str, str] | None, trace: Trace) -> None:
        self.identity = identity
        self.hub = identity.hub
        self.world = identity.world
        self.request = request
        self.form = form
        self.basic = basic
        self.trace = trace
        self.now = identity.now()
        self.alias = request.path_params["tenant"]
        self.app: MsApp
        self.tenant: MsTenant

    def run(self, grant_type: str) -> tuple[dict[str, Any], dict[str, Any]]:
        path_tenant = _resolve_tenant(self.world, self.alias)
        if not grant_type:
            raise aad_error(900144, param="grant_type")
        handler = self._handlers().get(grant_type)
        if handler is None:
            raise aad_error(70003, grant_type=grant_type)
        self.authenticate_client(path_tenant)
        if grant_type == "client_credentials" and path_tenant is None:
            raise aad_error(50059)
        return handler()

    def _handlers(self) -> dict[str, Callable[[], tuple[dict[str, Any], dict[str, Any]]]]:
        return {"authorization_code": self.authorization_code,
                "refresh_token": self.refresh_token,
                "client_credentials": self.client_credentials,
                "password": self.password}

    def param(self, name: str) -> str:
        value = self.form.get(name)
        if not value:
            raise aad_error(900144, param=name)
        return value

    def authenticate_client(self, path_tenant: MsTenant | None) -> None:
        client_id = self.form.get("client_id") or (self.basic[0] if self.basic else "")
        if not client_id:
            raise aad_error(900144, param="client_id")
        found = _find_app(self.world, path_tenant, client_id)
        if found is None:
            raise aad_error(700016, client_id=client_id,
                            tenant=path_tenant.name if path_tenant else self.alias)
        self.app, self.tenant = found
        secret = self.form.get("client_secret") or (self.basic[1] if self.basic else "")
        if self.app.client_secret is None:
            if secret:
                raise aad_error(700025)
        elif not secret:
            raise aad_error(7000218)
        elif not hmac.compare_digest(secret.encode(), self.app.client_secret.encode()):
            raise aad_error(7000215, client_id=client_id)

    def scope_request(self, raw: list[str]) -> ScopeRequest:
        try:
            return parse_scopes(raw)
        except ScopeError as exc:
            raise _scope_error(exc, self.tenant.name) from None

    # -- grants ---------------------------------------------------------------------------------
    def client_credentials(self) -> tuple[dict[str, Any], dict[str, Any]]:
        if self.app.client_secret is None:
            raise aad_error(7000218)
        raw = split_scope(self.param("scope"))
        request = self.scope_request(raw)
        if len(request.permissions) != 1:
            raise aad_error(70011, scope=" ".join(raw))
        permission = request.permissions[0]
        if not permission.is_default:
            raise aad_error(1002012, scope=" ".join(raw))
        roles = app_roles_for(permission.resource, self.app.granted_roles)
        claims = app_access_claims(tenant_id=self.tenant.id, client_id=self.app.client_id,
                                   resource=permission.resource, roles=roles, now=self.now)
        if not roles:
            del claims["roles"]  # Entra omits the claim when nothing is granted
        body = {"token_type": "Bearer", "expires_in": EXPIRES_IN, "ext_expires_in": EXPIRES_IN,
                "access_token": self.hub.signer.sign(claims)}
        return body, {"resource": permission.resource, "roles": roles}

    def password(self) -> tuple[dict[str, Any], dict[str, Any]]:
        username, password = self.param("username"), self.param("password")
        user = self.world.ms_user(username)
        if user is None or user.tenant_id != self.tenant.id:
            raise aad_error(50034, upn=username, tenant=self.tenant.name)
        if not hmac.compare_digest(password.encode(), user.password.encode()):
            raise aad_error(50126)
        raw = split_scope(self.param("scope"))
        return self.delegated(user, self.scope_request(raw), nonce=None, auth_time=self.now,
                              rt_scopes=raw)

    def authorization_code(self) -> tuple[dict[str, Any], dict[str, Any]]:
        value = self.param("code")
        code = self.world.tokens.codes.get(value)
        if code is None or code.issuer != "microsoft":
            raise aad_error(9002313, error="invalid_grant")
        if code.client_id != self.app.client_id or code.tenant_id != self.tenant.id:
            raise aad_error(70000, param="code", reason="The code was issued to another client.")
        if code.used:
            raise aad_error(54005)
        if self.now - code.issued_at > CODE_LIFETIME:
            raise aad_error(70008)
        redirect_uri = self.param("redirect_uri")
        if redirect_uri != code.redirect_uri:
            raise aad_error(500112, redirect_uri=redirect_uri, expected=code.redirect_uri)
        if code.code_challenge is not None:
            verifier = self.form.get("code_verifier", "")
            if not _pkce_matches(code.code_challenge, code.code_challenge_method, verifier):
                raise aad_error(501481)
        user = self.user_for_grant(code.subject, code.issued_at)
        raw = split_scope(self.form.get("scope")) or code.scopes
        auth_times = self.identity.state.code_auth_times
        result = self.delegated(user, self.scope_request(raw), nonce=code.nonce,
                                auth_time=auth_times.get(value), rt_scopes=code.scopes)
        code.used = True
        auth_times.pop(value, None)
        return result

    def refresh_token(self) -> tuple[dict[str, Any], dict[str, Any]]:
        grant = self.world.tokens.refresh.get(self.param("refresh_token"))
        if grant is None or grant.issuer != "microsoft":
            raise aad_error(9002313, error="invalid_grant")
        if grant.client_id != self.app.client_id or grant.tenant_id != self.tenant.id:
            raise aad_error(70000, param="refresh_token",
                            reason="The refresh token was issued to another client.")
        user = self.user_for_grant(grant.subject, grant.issued_at)
        self.check_refresh_grant(grant)
        raw = split_scope(self.form.get("scope")) or grant.scopes
        auth_time = float(grant.extra["auth_time"]) if "auth_time" in grant.extra else None
        result = self.delegated(user, self.scope_request(raw), nonce=None, auth_time=auth_time,
                                rt_scopes=grant.scopes)
        grant.last_used = self.now
        return result

    def user_for_grant(self, oid: str, issued_at: float) -> MsUser:
        user = self.world.ms_user(oid)
        if user is None:
            raise aad_error(70008)
        if issued_at < user.tokens_valid_after:
            if user.tokens_invalid_reason == "password":
                raise aad_error(50173, issued=_fmt_time(issued_at),
                                valid_from=_fmt_time(user.tokens_valid_after))
            raise aad_error(70008, message="The refresh token has been revoked (the user's "
                            "sessions were revoked). Send a new interactive authorization request "
                            "for this user and resource.")
        return user

    def check_refresh_grant(self, grant: RefreshGrant) -> None:
        if grant.revoked:
            raise aad_error(70008, message="The refresh token has been revoked. Send a new "
                            "interactive authorization request for this user and resource.")
        idle = self.now - grant.last_used
        if idle > REFRESH_INACTIVITY:
            raise aad_error(700082, issued=_fmt_time(grant.issued_at),
                            inactive=f"{int(idle // 86400)}.00:00:00")

    # -- delegated issuance --------------------------------------------------------------------
    def delegated(self, user: MsUser, request: ScopeRequest, *, nonce: str | None,
                  auth_time: float | None, rt_scopes: list[str]
                  ) -> tuple[dict[str, Any], dict[str, Any]]:
        try:
            resource = single_resource(request)
        except ScopeError as exc:
            raise _scope_error(exc, self.tenant.name) from None
        permissions = self.consented_permissions(user, request, resource)
        scp = [p.name for p in permissions] or [s for s in request.oidc if s != "offline_access"]
        access = delegated_access_claims(
            tenant_id=self.tenant.id, client_id=self.app.client_id, resource=resource,
            oid=user.id, upn=user.upn, name=user.display_name, scopes=scp, now=self.now)
        body: dict[str, Any] = {
            "token_type": "Bearer", "scope": response_scope(permissions, request.oidc),
            "expires_in": EXPIRES_IN, "ext_expires_in": EXPIRES_IN,
            "access_token": self.hub.signer.sign(access),
        }
        if request.offline or "offline_access" in [s.lower() for s in rt_scopes]:
            body["refresh_token"] = self.world.tokens.issue_refresh(
                issuer="microsoft", client_id=self.app.client_id, tenant_id=self.tenant.id,
                subject=user.id, scopes=list(rt_scopes), issued_at=self.now,
                last_used=self.now,
                extra={"auth_time": str(auth_time)} if auth_time is not None else {}).token
        if request.openid:
            body["id_token"] = self.hub.signer.sign(
                self.id_token_claims(user, request, nonce, auth_time))
        if self.form.get("client_info") == "1":
            body["client_info"] = _b64url(json.dumps(
                {"uid": user.id, "utid": self.tenant.id}, separators=(",", ":")).encode())
        detail = {"user": user.upn, "resource": resource, "granted": scp,
                  "refresh_token_issued": "refresh_token" in body}
        return body, detail

    def consented_permissions(self, user: MsUser, request: ScopeRequest,
                              resource: str) -> list[Permission]:
        granted = _granted(self.tenant, user.id, self.app.client_id)
        asked = request.for_resource(resource)
        if any(p.is_default for p in asked):
            permissions = consented_for(resource, granted)
            if not permissions:
                raise self.consent_required()
            return permissions
        if any(p.canonical not in granted for p in asked):
            raise self.consent_required()
        return asked

    def consent_required(self) -> AadError:
        return aad_error(65001, client_id=self.app.client_id, app_name=self.app.display_name)

    def id_token_claims(self, user: MsUser, request: ScopeRequest, nonce: str | None,
                        auth_time: float | None) -> dict[str, Any]:
        issued = int(self.now)
        claims: dict[str, Any] = {
            "aud": self.app.client_id, "iss": _issuer(self.hub, self.tenant.id),
            "iat": issued, "nbf": issued, "exp": issued + ACCESS_TOKEN_LIFETIME,
            "name": user.display_name, "oid": user.id, "preferred_username": user.upn,
            "sub": _pairwise_sub(user.id, self.app.client_id), "tid": self.tenant.id,
            "uti": secrets.token_urlsafe(16), "ver": "2.0",
        }
        if nonce:
            claims["nonce"] = nonce
        if auth_time is not None:
            claims["auth_time"] = int(auth_time)
        if "email" in request.oidc:
            claims["email"] = user.upn
        return claims


__all__ = [
    "IdentityState", "change_password", "grant_admin_consent", "identity_state",
    "revoke_sessions", "routes", "set_app_roles", "set_user_consent_policy",
]
