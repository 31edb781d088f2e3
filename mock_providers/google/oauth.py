"""Google OAuth 2.0 / OpenID Connect mock (mounted at /google, and at the hub root where the
paths are those of accounts.google.com, oauth2.googleapis.com, www.googleapis.com/oauth2 and
openidconnect.googleapis.com).

Routes (relative to the mount; a method a route does not take is an OAuth-shaped 405):

    GET        /.well-known/openid-configuration
    GET        /oauth2/v3/certs                      JWKS of the hub's RS256 key (id_tokens)
    GET, POST  /o/oauth2/v2/auth, /o/oauth2/auth     authorization endpoint
    POST       /signin, /consent                     the sign-in and consent form posts
    POST       /token, /o/oauth2/token, /oauth2/v4/token   authorization_code, refresh_token
    GET, POST  /revoke, /o/oauth2/revoke             ?token= (query or form)
    GET, POST  /v1/userinfo, /oauth2/v3/userinfo     OIDC userinfo (v3 shape)
    GET, POST  /oauth2/v1/userinfo, /oauth2/v2/userinfo   legacy shape (id, verified_email)
    GET, POST  /oauth2/v3/tokeninfo, /tokeninfo      ?access_token= / ?id_token=

Documented choices (to be mirrored in docs/architecture.md):
- `iss` of id_tokens and of the discovery document is `https://accounts.google.com`, what
  google-auth's `verify_oauth2_token` and most connectors check; keys are at `{base}/google/
  oauth2/v3/certs` (google-auth: `id_token.verify_token(..., certs_url=...)`). Their `iat`/`exp`
  are host time, not world time: clients check them against the host clock.
- Granted scopes come back canonical, as Google returns them: `email` → `.../auth/
  userinfo.email`, `profile` → `.../auth/userinfo.profile`; `openid` stays as is. They are
  space-separated and sorted.
- A refresh token is issued when `access_type=offline` and the consent page was shown and
  accepted in this flow: on the first consent, on `prompt=consent`, and when new scopes are added.
  A later sign-in that needs no consent returns no refresh token, as Google does; so after a
  password change or revocation the integration must ask with `prompt=consent` to get a new one.
- Refresh tokens do not rotate. At most 100 live refresh tokens per user and client; the oldest
  dies when a 101st is issued. Unused for 183 days, a refresh token expires.
- A password change kills the user's refresh tokens (and sign-in sessions) for every scope;
  Google documents this only for Gmail scopes, the harness applies it to all. Access tokens
  already issued keep working until they expire (3599 s); revocation kills them at once.
- Revoking any token (access or refresh) revokes the user's whole grant for that client: every
  token of the pair dies and the next authorization shows the consent page again.
- Request errors the user cannot fix (unknown client, unregistered redirect URI, bad parameters,
  unknown scopes) render an error page; decisions (decline, prompt=none without a session or
  consent) redirect with `error=access_denied|login_required|consent_required`.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple
from urllib.parse import parse_qsl, unquote_plus, urlencode, urlsplit

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from mock_providers.google import pages
from mock_providers.google.errors import ALL_METHODS, REALM, DroppedResponse, log, oauth_error
from mock_providers.google.intake import IntakeError, parse_json, read_capped
from mock_providers.google.tokens import (
    ACCESS_TOKEN_LIFETIME,
    REFRESH_TOKENS_PER_CLIENT,
    AccessToken,
    GoogleTokens,
    google_tokens,
    new_code,
    new_refresh_token,
    subject_id,
)
from mock_providers.world import AuthCode, Fault, GoogleClient, GoogleUser, RefreshGrant, World
from mock_providers.world.extensions import per_world

if TYPE_CHECKING:
    from mock_providers.hub import Hub

ISSUER = "https://accounts.google.com"
AUTH = "https://www.googleapis.com/auth/"
EMAIL_SCOPE = AUTH + "userinfo.email"
PROFILE_SCOPE = AUTH + "userinfo.profile"
CODE_LIFETIME = 600
FLOW_LIFETIME = 3600
REFRESH_INACTIVITY = 183 * 86400
SESSION_COOKIE = "GCH_SID"
PROMPTS = frozenset({"none", "consent", "select_account"})
PICTURE = "https://lh3.googleusercontent.com/a/default-user=s96-c"
_LOOPBACK = frozenset({"localhost", "127.0.0.1", "[::1]", "::1"})

# Canonical scope -> what the consent page says. Requests may use the short aliases below.
SCOPE_TEXT: dict[str, str] = {
    "openid": "Associate you with your personal info on Google",
    EMAIL_SCOPE: "See your primary Google Account email address",
    PROFILE_SCOPE: "See your personal info, including any personal info you've made publicly "
                   "available",
    AUTH + "calendar": "See, edit, share, and permanently delete all the calendars you can "
                       "access using Google Calendar",
    AUTH + "calendar.readonly": "See and download any calendar you can access using your "
                                "Google Calendar",
    AUTH + "calendar.events": "View and edit events on all your calendars",
    AUTH + "calendar.events.readonly": "View events on all your calendars",
    AUTH + "calendar.events.owned": "See, create, change, and delete events on Google calendars "
                                    "you own",
    AUTH + "calendar.events.owned.readonly": "See the events on Google calendars you own",
    AUTH + "calendar.freebusy": "See the availability on Google calendars you have access to",
    AUTH + "calendar.events.freebusy": "See the availability on Google calendars you have "
                                       "access to",
    AUTH + "calendar.calendarlist.readonly": "See the list of Google calendars you're "
                                             "subscribed to",
    AUTH + "calendar.calendarlist": "See, add, and remove Google calendars you're subscribed to",
    AUTH + "calendar.calendars.readonly": "See the title, description, default time zone, and "
                                          "other properties of Google calendars you have "
                                          "access to",
    AUTH + "calendar.settings.readonly": "View your Calendar settings",
    AUTH + "contacts": "See, edit, download, and permanently delete your contacts",
    AUTH + "contacts.readonly": "See and download your contacts",
    AUTH + "contacts.other.readonly": "See and download contact info automatically saved in "
                                      "your \"Other contacts\"",
    AUTH + "directory.readonly": "See and download your organization's Google Workspace "
                                 "directory",
}
SCOPE_ALIASES = {"email": EMAIL_SCOPE, "profile": PROFILE_SCOPE}


def canonical_scope(scope: str) -> str | None:
    scope = SCOPE_ALIASES.get(scope, scope)
    return scope if scope in SCOPE_TEXT else None


# -- server-side state ----------------------------------------------------------------------------
@dataclass(slots=True)
class Flow:
    id: str
    client_id: str
    app_name: str
    redirect_uri: str
    state: str | None
    raw_scopes: list[str]  # as sent
    scopes: list[str]  # canonical, in request order, unique
    offline: bool
    prompt: frozenset[str]
    include_granted: bool
    login_hint: str
    code_challenge: str | None
    code_challenge_method: str | None
    nonce: str | None
    created: float
    email: str | None = None


@dataclass(slots=True)
class Session:
    id: str
    email: str
    auth_time: float


@dataclass(slots=True)
class CodeExtra:
    offline: bool  # the consent page was accepted in an access_type=offline flow


@dataclass
class AuthState:
    flows: dict[str, Flow] = field(default_factory=dict)
    sessions: dict[str, Session] = field(default_factory=dict)
    codes: dict[str, CodeExtra] = field(default_factory=dict)
    _created: int = 0

    def add_flow(self, flow: Flow, world: World) -> None:
        self._created += 1
        if self._created % 256 == 0:  # amortised pruning keeps long load runs bounded
            now = flow.created
            for stale in [f.id for f in self.flows.values() if now - f.created > FLOW_LIFETIME]:
                del self.flows[stale]
            registry = world.tokens.codes
            for code in [c for c, v in registry.items()
                         if v.issuer == "google" and now - v.issued_at > CODE_LIFETIME]:
                del registry[code]
                self.codes.pop(code, None)
        self.flows[flow.id] = flow

    def live_flow(self, flow_id: str | None, now: float) -> Flow | None:
        flow = self.flows.get(flow_id or "")
        if flow is None or now - flow.created > FLOW_LIFETIME:
            return None
        return flow


auth_state = per_world(AuthState)


# -- admin-side operations (the control API calls these) -------------------------------------------
def change_password(hub: Hub, user: GoogleUser, new_password: str) -> None:
    """New password: refresh tokens and sign-in sessions from before it stop working."""
    if not new_password:
        raise ValueError("the new password must not be empty")
    user.password = new_password
    user.tokens_valid_after = hub.world.clock.timestamp()
    _end_sessions(hub.world, user.email)


@dataclass(frozen=True)
class GoogleAccountAdmin:
    """The control API's view of the two operations (`mock_providers.hub.GoogleAdmin`)."""

    hub: Hub

    def change_password(self, user: GoogleUser, new_password: str) -> None:
        change_password(self.hub, user, new_password)

    def revoke_grants(self, user: GoogleUser, client_id: str | None = None) -> int:
        return revoke_grants(self.hub, user, client_id)


def revoke_grants(hub: Hub, user: GoogleUser, client_id: str | None = None) -> int:
    """The user removes the app's access (one client, or all): every token of the pair dies and
    the consent is forgotten. Returns how many clients lost access."""
    world = hub.world
    if client_id is not None and client_id not in world.google_clients:
        raise ValueError(f"no Google OAuth client {client_id!r}")
    tokens = google_tokens(world)
    email = user.email.lower()
    pairs = [key for key in tokens.grants
             if key[0] == email and (client_id is None or key[1] == client_id)]
    for _, cid in pairs:
        _revoke_pair(world, tokens, email, cid)
    world.tokens.revoke_subject("google", user.email, client_id)
    return len(pairs)


def _revoke_pair(world: World, tokens: GoogleTokens, email: str, client_id: str) -> None:
    grant = tokens.revoke(email, client_id)
    for value in grant.refresh_tokens:
        refresh = world.tokens.refresh.get(value)
        if refresh is not None:
            refresh.revoked = True
    grant.refresh_tokens.clear()


def _end_sessions(world: World, email: str) -> None:
    sessions = auth_state(world).sessions
    for sid in [s.id for s in sessions.values() if s.email.lower() == email.lower()]:
        del sessions[sid]


# -- helpers --------------------------------------------------------------------------------------
def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _pkce_matches(challenge: str, method: str | None, verifier: str) -> bool:
    expected = verifier if method in (None, "plain") else _b64url(
        hashlib.sha256(verifier.encode()).digest())
    return hmac.compare_digest(expected.encode(), challenge.encode())


def _redirect_registered(uri: str, registered: list[str]) -> bool:
    if uri in registered:
        return True
    # Loopback redirects of installed apps may use any port, as Google allows.
    asked = urlsplit(uri)
    if asked.scheme != "http" or asked.hostname not in _LOOPBACK:
        return False
    for candidate in registered:
        reg = urlsplit(candidate)
        if (reg.scheme == "http" and reg.hostname == asked.hostname
                and reg.path.rstrip("/") == asked.path.rstrip("/")):
            return True
    return False


async def _form(request: Request) -> dict[str, str]:
    """Form fields (first value wins); the token endpoint also takes a JSON object. Read through
    the intake (capped, UTF-8, no lone surrogates, bounded depth): a body it refuses reads as an
    empty form, which every endpoint answers with its own "missing parameter" error."""
    cached = getattr(request.state, "google_form", None)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    try:
        raw = await read_capped(request.stream(), request.headers.get("content-length"))
        text = raw.decode("utf-8")
        data = parse_json(raw) if ctype == "application/json" else None
    except (IntakeError, UnicodeDecodeError):
        request.state.google_form = {}
        return {}
    out = _fields(ctype, text, data)
    request.state.google_form = out
    return out


def _fields(ctype: str, text: str, data: Any) -> dict[str, str]:
    if ctype == "application/json":
        if not isinstance(data, dict):
            return {}
        return {k: v if isinstance(v, str) else json.dumps(v) for k, v in data.items()}
    if ctype != "application/x-www-form-urlencoded":
        return {}
    out: dict[str, str] = {}
    for key, value in parse_qsl(text, keep_blank_values=True):
        out.setdefault(key, value)
    return out


def _basic_credentials(header: str | None) -> tuple[str, str] | None:
    scheme, _, value = (header or "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return None
    client_id, sep, secret = decoded.partition(":")
    return (unquote_plus(client_id), unquote_plus(secret)) if sep else None


def _domain(email: str) -> str:
    return email.rpartition("@")[2]


def _names(user: GoogleUser) -> tuple[str, str]:
    given, _, family = user.name.partition(" ")
    return given, family


class OAuthError(Exception):
    """A token-endpoint error: `{"error", "error_description"}` with its HTTP status."""

    def __init__(self, error: str, description: str, status: int = 400,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(description)
        self.error, self.description, self.status = error, description, status
        self.headers = headers or {}

    def response(self) -> JSONResponse:
        return oauth_error(self.error, self.description, self.status, self.headers)


class PageError(Exception):
    """An authorization request Google answers with its error page, not a redirect."""

    def __init__(self, status: int, error: str, description: str,
                 details: list[str] | None = None) -> None:
        super().__init__(description)
        self.status, self.error, self.description = status, error, description
        self.details = details or []


class Step(NamedTuple):
    response: Response
    outcome: str  # "ok" or the OAuth error
    next: str  # what the user sees next: signin_page, consent_page, code, error_redirect, …


def _fault_oauth_error(fault: Fault) -> OAuthError:
    spec = fault.spec
    headers = {"Retry-After": str(spec.retry_after)} if spec.retry_after is not None else {}
    if spec.kind == "throttle":
        return OAuthError(spec.code or "rate_limit_exceeded", "Rate Limit Exceeded",
                          spec.status or 429, headers)
    status = spec.status or 503
    error = spec.code or ("temporarily_unavailable" if status in (502, 503, 504)
                          else "internal_failure")
    return OAuthError(error, "Backend Error", status, headers)


# -- the routes -----------------------------------------------------------------------------------
def routes(hub: Hub, prefix: str = "") -> list[BaseRoute]:
    """The OAuth routes for a mount at `prefix` ("" for the hub root, where they sit at the
    paths of accounts.google.com, oauth2.googleapis.com, www.googleapis.com/oauth2 and
    openidconnect.googleapis.com): the URLs it hands out (discovery, the sign-in pages' forms)
    and its session cookie's path stay under the same prefix."""
    return _OAuth(hub, prefix).routes()


def _methods(endpoint: Callable[[Request], Awaitable[Response]], allowed: list[str]
             ) -> Callable[[Request], Awaitable[Response]]:
    """Any method reaches the route; one it does not take gets an OAuth-shaped 405 rather than
    Starlette's plain-text one, and an unexpected exception an OAuth-shaped 500."""
    accepted = frozenset(allowed) | ({"HEAD"} if "GET" in allowed else frozenset())

    async def guarded(request: Request) -> Response:
        if request.method not in accepted:
            return oauth_error("invalid_request", f"Method {request.method} is not allowed.",
                               405, {"Allow": ", ".join(allowed)})
        try:
            return await endpoint(request)
        except Exception:  # a bug in the mock: Google's OAuth 500, the traceback only in the log
            log.exception("google-oauth %s %s failed", request.method, request.url.path)
            return oauth_error("internal_failure", "Backend Error", 500)

    return guarded


class _OAuth:
    def __init__(self, hub: Hub, prefix: str = "") -> None:
        self.hub = hub
        self.prefix = prefix

    def routes(self) -> list[BaseRoute]:
        both = ["GET", "POST"]
        table: list[tuple[str, Callable[[Request], Awaitable[Response]], list[str]]] = [
            ("/.well-known/openid-configuration", self.discovery, ["GET"]),
            ("/oauth2/v3/certs", self.certs, ["GET"]),
            ("/o/oauth2/v2/auth", self.authorize, both),
            ("/o/oauth2/auth", self.authorize, both),
            ("/signin", self.signin, ["POST"]),
            ("/consent", self.consent, ["POST"]),
            ("/token", self.token, ["POST"]),
            ("/o/oauth2/token", self.token, ["POST"]),
            ("/oauth2/v4/token", self.token, ["POST"]),
            ("/revoke", self.revoke, both),
            ("/o/oauth2/revoke", self.revoke, both),
            ("/v1/userinfo", self.userinfo, both),
            ("/oauth2/v3/userinfo", self.userinfo, both),
            ("/oauth2/v1/userinfo", self.userinfo, both),
            ("/oauth2/v2/userinfo", self.userinfo, both),
            ("/oauth2/v3/tokeninfo", self.tokeninfo, both),
            ("/tokeninfo", self.tokeninfo, both),
        ]
        return [Route(path, _methods(endpoint, allowed), methods=ALL_METHODS)
                for path, endpoint, allowed in table]

    # -- plumbing -------------------------------------------------------------------------------
    @property
    def world(self) -> World:
        return self.hub.world  # per request: reset swaps the world

    @property
    def state(self) -> AuthState:
        return auth_state(self.world)

    @property
    def tokens(self) -> GoogleTokens:
        return google_tokens(self.world)

    def now(self) -> float:
        return self.world.clock.timestamp()

    def url(self, path: str) -> str:
        return self.hub.base_url + self.prefix + path

    def record(self, request: Request, status: int, **fields: Any) -> None:
        self.hub.record("google-oauth", request.method, request.url.path, status, **fields)

    async def take_fault(self, request: Request, user: str | None) -> Fault | None:
        fault = self.world.faults.take("google-oauth", request.method, request.url.path, user)
        if fault is not None and fault.spec.kind == "latency":
            await asyncio.sleep(fault.spec.delay_ms / 1000)
            return None
        return fault

    async def fault_response(self, request: Request, principal: str | None,
                             **audit: Any) -> Response | None:
        """The fault plan's answer for a JSON endpoint, if it has one for this request."""
        fault = await self.take_fault(request, principal)
        if fault is None:
            return None
        if fault.spec.kind == "drop":
            self.record(request, 0, outcome="ConnectionDropped", detail={"fault": fault.id},
                        **audit)
            return DroppedResponse()
        err = _fault_oauth_error(fault)
        self.record(request, err.status, outcome=err.error, detail={"fault": fault.id}, **audit)
        return err.response()

    @staticmethod
    def html(body: str, status: int = 200) -> HTMLResponse:
        return HTMLResponse(body, status_code=status, headers={"Cache-Control": "no-store"})

    def error_page(self, err: PageError) -> Step:
        body = pages.error_page(status=err.status, error=err.error, description=err.description,
                                details=err.details)
        return Step(self.html(body, err.status), err.error, "error_page")

    @staticmethod
    def to_client(redirect_uri: str, params: dict[str, str]) -> RedirectResponse:
        sep = "&" if "?" in redirect_uri else "?"
        return RedirectResponse(redirect_uri + sep + urlencode(params), status_code=302,
                                headers={"Cache-Control": "no-store"})

    def error_to_client(self, flow: Flow, error: str) -> Step:
        self.state.flows.pop(flow.id, None)
        params = {"error": error}
        if flow.state is not None:
            params["state"] = flow.state
        return Step(self.to_client(flow.redirect_uri, params), error, "error_redirect")

    # -- discovery and keys ---------------------------------------------------------------------
    async def discovery(self, request: Request) -> Response:
        faulted = await self.fault_response(request, None, operation="discovery")
        if faulted is not None:
            return faulted
        self.record(request, 200, operation="discovery")
        return JSONResponse({
            "issuer": ISSUER,
            "authorization_endpoint": self.url("/o/oauth2/v2/auth"),
            "token_endpoint": self.url("/token"),
            "userinfo_endpoint": self.url("/v1/userinfo"),
            "revocation_endpoint": self.url("/revoke"),
            "jwks_uri": self.url("/oauth2/v3/certs"),
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid", "email", "profile"],
            "token_endpoint_auth_methods_supported": ["client_secret_post",
                                                      "client_secret_basic"],
            "claims_supported": ["aud", "email", "email_verified", "exp", "family_name",
                                 "given_name", "iat", "iss", "name", "picture", "sub"],
            "code_challenge_methods_supported": ["plain", "S256"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
        })

    async def certs(self, request: Request) -> Response:
        faulted = await self.fault_response(request, None, operation="certs")
        if faulted is not None:
            return faulted
        self.record(request, 200, operation="certs")
        return JSONResponse(self.hub.signer.jwks())

    # -- authorize ------------------------------------------------------------------------------
    async def authorize(self, request: Request) -> Response:
        params = dict(request.query_params)
        if request.method == "POST":
            params.update(await _form(request))
        detail = {k: params.get(k) for k in ("redirect_uri", "response_type", "access_type",
                                             "prompt", "include_granted_scopes",
                                             "code_challenge_method")}
        step = await self._authorize_step(request, params)
        detail["next"] = step.next
        self.record(request, step.response.status_code, operation="authorize",
                    client_id=params.get("client_id"), user=params.get("login_hint") or None,
                    scopes=params.get("scope", "").split(), outcome=step.outcome, detail=detail)
        return step.response

    async def _authorize_step(self, request: Request, params: dict[str, str]) -> Step:
        fault = await self.take_fault(request, params.get("login_hint"))
        if fault is not None:
            if fault.spec.kind == "drop":
                return Step(DroppedResponse(), "fault:drop", "fault")
            err = _fault_oauth_error(fault)
            page = self.error_page(PageError(err.status, err.error, "Something went wrong. "
                                             "Please try again later."))
            page.response.headers.update(err.headers)
            return page
        try:
            flow = self.new_flow(params)
        except PageError as err:
            return self.error_page(err)
        return self.advance(request, flow)

    def new_flow(self, params: dict[str, str]) -> Flow:
        client_id = params.get("client_id")
        if not client_id:
            raise PageError(400, "invalid_request", "Missing required parameter: client_id")
        client = self.world.google_clients.get(client_id)
        if client is None:
            raise PageError(401, "invalid_client", "The OAuth client was not found.",
                            [f"client_id={client_id}"])
        redirect_uri = params.get("redirect_uri")
        if not redirect_uri:
            raise PageError(400, "invalid_request", "Missing required parameter: redirect_uri")
        if not _redirect_registered(redirect_uri, client.redirect_uris):
            raise PageError(400, "redirect_uri_mismatch",
                            "You can't sign in to this app because it doesn't comply with "
                            "Google's OAuth 2.0 policy. The redirect URI in the request does not "
                            "match the ones authorized for the OAuth client.",
                            [f"redirect_uri={redirect_uri}"])
        response_type = params.get("response_type")
        if not response_type:
            raise PageError(400, "invalid_request", "Required parameter is missing: "
                            "response_type")
        if response_type.split() != ["code"]:
            raise PageError(400, "unsupported_response_type",
                            f"Unsupported response type: {response_type}")
        raw_scopes = params.get("scope", "").split()
        if not raw_scopes:
            raise PageError(400, "invalid_request", "Missing required parameter: scope")
        invalid = [s for s in raw_scopes if canonical_scope(s) is None]
        if invalid:
            raise PageError(400, "invalid_scope", "Some requested scopes were invalid. "
                            f"{{invalid=[{', '.join(invalid)}]}}")
        scopes = list(dict.fromkeys(s for s in (canonical_scope(r) for r in raw_scopes) if s))
        prompt = frozenset(params.get("prompt", "").split())
        if not prompt <= PROMPTS or ("none" in prompt and len(prompt) > 1):
            raise PageError(400, "invalid_request", f"Invalid prompt: {params['prompt']}")
        access_type = params.get("access_type", "online")
        if access_type not in ("online", "offline"):
            raise PageError(400, "invalid_request", f"Invalid access_type: {access_type}")
        challenge = params.get("code_challenge") or None
        method = params.get("code_challenge_method") or None
        if challenge is not None and method not in (None, "S256", "plain"):
            raise PageError(400, "invalid_request", "Invalid code_challenge_method value.")
        flow = Flow(
            id=secrets.token_urlsafe(24), client_id=client.client_id, app_name=client.name,
            redirect_uri=redirect_uri, state=params.get("state"), raw_scopes=raw_scopes,
            scopes=scopes, offline=access_type == "offline", prompt=prompt,
            include_granted=params.get("include_granted_scopes", "").lower() == "true",
            login_hint=params.get("login_hint", ""), code_challenge=challenge,
            code_challenge_method=(method or "plain") if challenge else None,
            nonce=params.get("nonce") or None, created=self.now())
        self.state.add_flow(flow, self.world)
        return flow

    def signed_in(self, request: Request, flow: Flow) -> tuple[Session, GoogleUser] | None:
        session = self.state.sessions.get(request.cookies.get(SESSION_COOKIE, ""))
        if session is None:
            return None
        user = self.world.google_user(session.email)
        if user is None or session.auth_time < user.tokens_valid_after:
            return None
        if flow.login_hint and flow.login_hint.lower() != user.email.lower():
            return None
        return session, user

    def advance(self, request: Request, flow: Flow) -> Step:
        signed = self.signed_in(request, flow)
        if "none" in flow.prompt:
            if signed is None:
                return self.error_to_client(flow, "login_required")
            return self.after_login(flow, signed[1])
        if signed is None:
            return Step(self.signin_page(flow), "ok", "signin_page")
        if "select_account" in flow.prompt:
            user = signed[1]
            html = pages.account_chooser_page(action=self.url("/signin"), flow_id=flow.id,
                                              app_name=flow.app_name, email=user.email,
                                              name=user.name)
            return Step(self.html(html), "ok", "account_chooser")
        return self.after_login(flow, signed[1])

    def signin_page(self, flow: Flow, *, identifier: str | None = None,
                    error: str | None = None) -> HTMLResponse:
        html = pages.signin_page(action=self.url("/signin"), flow_id=flow.id,
                                 app_name=flow.app_name,
                                 login_hint=flow.login_hint if identifier is None else identifier,
                                 error=error)
        return self.html(html)

    def after_login(self, flow: Flow, user: GoogleUser) -> Step:
        flow.email = user.email
        granted = self.tokens.grant(user.email, flow.client_id).scopes
        missing = [s for s in flow.scopes if s not in granted]
        if not missing and "consent" not in flow.prompt:
            return self.code_to_client(flow, user, consent_shown=False)
        if "none" in flow.prompt:
            return self.error_to_client(flow, "consent_required")
        html = pages.consent_page(
            action=self.url("/consent"), flow_id=flow.id, app_name=flow.app_name,
            email=user.email, requested=[(s, SCOPE_TEXT[s]) for s in flow.scopes],
            already_granted=[(s, SCOPE_TEXT.get(s, s)) for s in sorted(granted)
                             if s not in flow.scopes])
        return Step(self.html(html), "ok", "consent_page")

    def code_to_client(self, flow: Flow, user: GoogleUser, *, consent_shown: bool) -> Step:
        now = self.now()
        scopes = set(flow.scopes)
        if flow.include_granted:
            scopes |= self.tokens.grant(user.email, flow.client_id).scopes
        code = AuthCode(code=new_code(), issuer="google", client_id=flow.client_id,
                        tenant_id=None, subject=user.email, scopes=sorted(scopes),
                        redirect_uri=flow.redirect_uri, issued_at=now,
                        code_challenge=flow.code_challenge,
                        code_challenge_method=flow.code_challenge_method, nonce=flow.nonce)
        self.world.tokens.codes[code.code] = code
        self.state.codes[code.code] = CodeExtra(offline=flow.offline and consent_shown)
        self.state.flows.pop(flow.id, None)
        params: dict[str, str] = {}
        if flow.state is not None:
            params["state"] = flow.state
        params.update({"code": code.code, "scope": " ".join(code.scopes), "authuser": "0",
                       "hd": _domain(user.email),
                       "prompt": "consent" if consent_shown else "none"})
        return Step(self.to_client(flow.redirect_uri, params), "ok", "code")

    # -- sign-in and consent form posts --------------------------------------------------------
    async def signin(self, request: Request) -> Response:
        form = await _form(request)
        flow = self.state.live_flow(form.get("flow"), self.now())
        identifier = form.get("identifier", "").strip()
        if flow is None:
            step = self.expired_flow()
        else:
            step = self.signin_step(request, flow, identifier, form.get("Passwd"))
        self.record(request, step.response.status_code, operation="login",
                    client_id=flow.client_id if flow else None, user=identifier or None,
                    scopes=list(flow.raw_scopes) if flow else [], outcome=step.outcome,
                    detail={"next": step.next})
        return step.response

    def expired_flow(self) -> Step:
        return self.error_page(PageError(400, "invalid_request", "The sign-in session is "
                                         "unknown or has expired. Start again from the app."))

    def signin_step(self, request: Request, flow: Flow, identifier: str,
                    password: str | None) -> Step:
        if password is None:  # the account chooser: no password for the signed-in account
            signed = self.signed_in(request, flow)
            if signed is not None and signed[1].email.lower() == identifier.lower():
                return self.after_login(flow, signed[1])
            return Step(self.signin_page(flow, identifier=identifier), "ok", "signin_page")
        user = self.world.google_user(identifier) if "@" in identifier else None
        if user is None:
            return Step(self.signin_page(flow, identifier=identifier,
                                         error="Couldn't find your Google Account"),
                        "account_not_found", "signin_page")
        if not hmac.compare_digest(password.encode(), user.password.encode()):
            return Step(self.signin_page(flow, identifier=identifier,
                                         error="Wrong password. Try again or click Forgot "
                                               "password to reset it."),
                        "wrong_password", "signin_page")
        session = Session(secrets.token_urlsafe(32), user.email, self.now())
        self.state.sessions[session.id] = session
        step = self.after_login(flow, user)
        step.response.set_cookie(SESSION_COOKIE, session.id, path=self.prefix or "/", httponly=True,
                                 secure=self.hub.base_url.startswith("https:"), samesite="lax")
        return step

    async def consent(self, request: Request) -> Response:
        form = await _form(request)
        flow = self.state.live_flow(form.get("flow"), self.now())
        user = self.world.google_user(flow.email) if flow and flow.email else None
        choice = form.get("consent")
        if flow is None or user is None:
            step = self.expired_flow()
        elif choice == "decline":
            step = self.error_to_client(flow, "access_denied")
        elif choice == "accept":
            self.tokens.grant(user.email, flow.client_id).scopes.update(flow.scopes)
            step = self.code_to_client(flow, user, consent_shown=True)
        else:
            step = self.error_page(PageError(400, "invalid_request",
                                             "Missing required parameter: consent"))
        self.record(request, step.response.status_code, operation="consent",
                    client_id=flow.client_id if flow else None,
                    user=user.email if user else None,
                    scopes=list(flow.raw_scopes) if flow else [], outcome=step.outcome,
                    detail={"choice": choice, "next": step.next})
        return step.response

    # -- token ----------------------------------------------------------------------------------
    async def token(self, request: Request) -> Response:
        form = await _form(request)
        basic = _basic_credentials(request.headers.get("authorization"))
        grant_type = form.get("grant_type", "")
        principal = self.token_principal(form)
        audit: dict[str, Any] = {
            "operation": f"token:{grant_type or 'missing'}",
            "client_id": form.get("client_id") or (basic[0] if basic else None),
            "user": principal, "scopes": form.get("scope", "").split(),
        }
        fault = await self.take_fault(request, principal)
        if fault is not None and fault.spec.kind == "drop":
            self.record(request, 0, outcome="ConnectionDropped", detail={"fault": fault.id},
                        **audit)
            return DroppedResponse()
        try:
            if fault is not None:
                raise _fault_oauth_error(fault)
            client = self.authenticate_client(form, basic)
            handler = {"authorization_code": self.authorization_code,
                       "refresh_token": self.refresh_token}.get(grant_type)
            if handler is None:
                raise OAuthError("unsupported_grant_type", f"Invalid grant_type: {grant_type}")
            body, detail = handler(form, client)
        except OAuthError as err:
            self.record(request, err.status, outcome=err.error,
                        detail={"error_description": err.description}, **audit)
            return err.response()
        audit["user"] = detail.pop("user", principal)
        self.record(request, 200, detail=detail, **audit)
        return JSONResponse(body, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})

    def token_principal(self, form: dict[str, str]) -> str | None:
        registry = self.world.tokens
        code = registry.codes.get(form.get("code", ""))
        if code is not None and code.issuer == "google":
            return code.subject
        refresh = registry.refresh.get(form.get("refresh_token", ""))
        if refresh is not None and refresh.issuer == "google":
            return refresh.subject
        return None

    def authenticate_client(self, form: dict[str, str],
                            basic: tuple[str, str] | None) -> GoogleClient:
        client_id = form.get("client_id") or (basic[0] if basic else "")
        if not client_id:
            raise OAuthError("invalid_request", "Could not determine client ID from request.")
        client = self.world.google_clients.get(client_id)
        if client is None:
            raise OAuthError("invalid_client", "The OAuth client was not found.", 401)
        secret = form.get("client_secret") or (basic[1] if basic else "")
        if not secret:
            raise OAuthError("invalid_request", "client_secret is missing.")
        if not hmac.compare_digest(secret.encode(), client.client_secret.encode()):
            raise OAuthError("invalid_client", "Unauthorized", 401)
        return client

    def authorization_code(self, form: dict[str, str],
                           client: GoogleClient) -> tuple[dict[str, Any], dict[str, Any]]:
        value = form.get("code")
        if not value:
            raise OAuthError("invalid_request", "Missing required parameter: code")
        code = self.world.tokens.codes.get(value)
        if code is None or code.issuer != "google":
            raise OAuthError("invalid_grant", "Malformed auth code.")
        now = self.now()
        if code.client_id != client.client_id or code.used or now - code.issued_at > CODE_LIFETIME:
            raise OAuthError("invalid_grant", "Bad Request")
        redirect_uri = form.get("redirect_uri")
        if not redirect_uri:
            raise OAuthError("invalid_request", "Missing parameter: redirect_uri")
        if redirect_uri != code.redirect_uri:
            raise OAuthError("redirect_uri_mismatch", "Bad Request")
        verifier = form.get("code_verifier")
        if code.code_challenge is None:
            if verifier:
                raise OAuthError("invalid_request", "code_verifier or verifier is not needed.")
        elif not verifier:
            raise OAuthError("invalid_grant", "Missing code verifier.")
        elif not _pkce_matches(code.code_challenge, code.code_challenge_method, verifier):
            raise OAuthError("invalid_grant", "Invalid code verifier.")
        user = self.world.google_user(code.subject)
        grant = self.tokens.grant(code.subject, client.client_id)
        if (user is None or code.issued_at < user.tokens_valid_after
                or not set(code.scopes) <= grant.scopes):
            raise OAuthError("invalid_grant", "Token has been expired or revoked.")
        code.used = True
        extra = self.state.codes.pop(value, None) or CodeExtra(offline=False)
        return self.issue(user, client, code.scopes, nonce=code.nonce,
                          with_refresh=extra.offline)

    def refresh_token(self, form: dict[str, str],
                      client: GoogleClient) -> tuple[dict[str, Any], dict[str, Any]]:
        value = form.get("refresh_token")
        if not value:
            raise OAuthError("invalid_request", "Missing required parameter: refresh_token")
        refresh = self.world.tokens.refresh.get(value)
        if refresh is None or refresh.issuer != "google":
            raise OAuthError("invalid_grant", "Bad Request")
        if refresh.client_id != client.client_id:
            raise OAuthError("unauthorized_client", "Unauthorized")
        now = self.now()
        user = self.world.google_user(refresh.subject)
        if (user is None or refresh.revoked or refresh.issued_at < user.tokens_valid_after
                or now - refresh.last_used > REFRESH_INACTIVITY):
            raise OAuthError("invalid_grant", "Token has been expired or revoked.")
        scopes = list(refresh.scopes)
        asked = form.get("scope", "").split()
        if asked:
            wanted = [canonical_scope(s) for s in asked]
            if any(s is None or s not in refresh.scopes for s in wanted):
                raise OAuthError("invalid_scope", "Bad Request")
            scopes = sorted({s for s in wanted if s})
        refresh.last_used = now
        return self.issue(user, client, scopes, nonce=None, with_refresh=False)

    def issue(self, user: GoogleUser, client: GoogleClient, scopes: list[str], *,
              nonce: str | None, with_refresh: bool) -> tuple[dict[str, Any], dict[str, Any]]:
        now = self.now()
        access = self.tokens.issue_access(user.email, client.client_id, scopes, now,
                                          offline=with_refresh)
        body: dict[str, Any] = {"access_token": access.token,
                                "expires_in": ACCESS_TOKEN_LIFETIME}
        if with_refresh:
            body["refresh_token"] = self.issue_refresh(user, client, scopes, now).token
        body.update({"scope": " ".join(scopes), "token_type": "Bearer"})
        if "openid" in scopes:
            body["id_token"] = self.hub.signer.sign(
                self.id_token_claims(user, client, scopes, access, nonce))
        detail = {"user": user.email, "granted": list(scopes),
                  "refresh_token_issued": with_refresh}
        return body, detail

    def issue_refresh(self, user: GoogleUser, client: GoogleClient, scopes: list[str],
                      now: float) -> RefreshGrant:
        refresh = RefreshGrant(token=new_refresh_token(), issuer="google",
                               client_id=client.client_id, tenant_id=None, subject=user.email,
                               scopes=list(scopes), issued_at=now, last_used=now)
        self.world.tokens.refresh[refresh.token] = refresh
        grant = self.tokens.grant(user.email, client.client_id)
        grant.refresh_tokens.append(refresh.token)
        while len(grant.refresh_tokens) > REFRESH_TOKENS_PER_CLIENT:
            oldest = self.world.tokens.refresh.get(grant.refresh_tokens.pop(0))
            if oldest is not None:
                oldest.revoked = True
        return refresh

    @staticmethod
    def id_token_claims(user: GoogleUser, client: GoogleClient, scopes: list[str],
                        access: AccessToken, nonce: str | None) -> dict[str, Any]:
        # Host time, not world time: clients check iat/exp against their own clock, and the mock
        # never reads an id_token back, so a world clock moved ahead must not make them "future".
        issued = int(time.time())
        digest = hashlib.sha256(access.token.encode()).digest()
        claims: dict[str, Any] = {
            "iss": ISSUER, "azp": client.client_id, "aud": client.client_id,
            "sub": subject_id(user.email), "hd": _domain(user.email),
            "at_hash": _b64url(digest[:16]), "iat": issued,
            "exp": issued + ACCESS_TOKEN_LIFETIME + 1,
        }
        if EMAIL_SCOPE in scopes:
            claims.update({"email": user.email, "email_verified": True})
        if PROFILE_SCOPE in scopes:
            given, family = _names(user)
            claims.update({"name": user.name, "picture": PICTURE, "given_name": given,
                           "family_name": family})
        if nonce:
            claims["nonce"] = nonce
        return claims

    # -- revoke, userinfo, tokeninfo ------------------------------------------------------------
    async def revoke(self, request: Request) -> Response:
        params = dict(request.query_params)
        if request.method == "POST":
            params.update(await _form(request))
        value = params.get("token", "")
        world, tokens = self.world, self.tokens
        pair: tuple[str, str] | None = None
        access = tokens.access.get(value)
        refresh = world.tokens.refresh.get(value)
        if access is not None:
            pair = (access.email, access.client_id)
        elif refresh is not None and refresh.issuer == "google" and not refresh.revoked:
            pair = (refresh.subject, refresh.client_id)
        audit: dict[str, Any] = {"operation": "revoke", "user": pair[0] if pair else None,
                                 "client_id": pair[1] if pair else None}
        faulted = await self.fault_response(request, audit["user"], **audit)
        if faulted is not None:
            return faulted
        if pair is None or (access is not None and tokens.lookup(value, self.now()) is None):
            self.record(request, 400, outcome="invalid_token", **audit)
            return oauth_error("invalid_token", "Token expired or revoked")
        _revoke_pair(world, tokens, *pair)
        self.record(request, 200, **audit)
        return JSONResponse({}, headers={"Cache-Control": "no-store"})

    async def _caller(self, request: Request, provider_op: str) -> AccessToken | Response:
        params = dict(request.query_params)
        if request.method == "POST":
            params.update(await _form(request))
        header = request.headers.get("authorization", "")
        scheme, _, value = header.partition(" ")
        raw = value.strip() if scheme.lower() == "bearer" else params.get("access_token", "")
        token = self.tokens.lookup(raw, self.now()) if raw else None
        faulted = await self.fault_response(request, token.email if token else None,
                                            operation=provider_op,
                                            user=token.email if token else None)
        if faulted is not None:
            return faulted
        if token is None:
            self.record(request, 401, operation=provider_op, outcome="invalid_token")
            return oauth_error("invalid_request", "Invalid Credentials", 401,
                               {"WWW-Authenticate": f'{REALM}, error="invalid_token"'})
        return token

    async def userinfo(self, request: Request) -> Response:
        token = await self._caller(request, "userinfo")
        if isinstance(token, Response):
            return token
        user = self.world.google_user(token.email)
        if user is None:
            return oauth_error("invalid_request", "Invalid Credentials", 401)
        legacy = request.url.path.endswith(("/oauth2/v1/userinfo", "/oauth2/v2/userinfo"))
        given, family = _names(user)
        body: dict[str, Any] = {"id" if legacy else "sub": subject_id(user.email)}
        if PROFILE_SCOPE in token.scopes:
            body.update({"name": user.name, "given_name": given, "family_name": family,
                         "picture": PICTURE})
        if EMAIL_SCOPE in token.scopes:
            body.update({"email": user.email,
                         "verified_email" if legacy else "email_verified": True})
        body["hd"] = _domain(user.email)
        self.record(request, 200, operation="userinfo", client_id=token.client_id,
                    user=user.email, scopes=list(token.scope_list))
        return JSONResponse(body)

    async def tokeninfo(self, request: Request) -> Response:
        params = dict(request.query_params)
        if request.method == "POST":
            params.update(await _form(request))
        now = self.now()
        token = self.tokens.lookup(params.get("access_token", ""), now)
        faulted = await self.fault_response(request, token.email if token else None,
                                            operation="tokeninfo",
                                            user=token.email if token else None)
        if faulted is not None:
            return faulted
        if token is None:
            self.record(request, 400, operation="tokeninfo", outcome="invalid_token")
            return JSONResponse({"error": "invalid_token", "error_description": "Invalid Value"},
                                status_code=400)
        body: dict[str, Any] = {"azp": token.client_id, "aud": token.client_id,
                                "sub": subject_id(token.email),
                                "scope": " ".join(token.scope_list),
                                "exp": str(int(token.expires_at)),
                                "expires_in": str(max(0, int(token.expires_at - now))),
                                "access_type": "offline" if token.offline else "online"}
        if EMAIL_SCOPE in token.scopes:
            body.update({"email": token.email, "email_verified": "true"})
        self.record(request, 200, operation="tokeninfo", client_id=token.client_id,
                    user=token.email, scopes=list(token.scope_list))
        return JSONResponse(body)


__all__ = ["AuthState", "auth_state", "canonical_scope", "change_password", "revoke_grants",
           "routes"]
