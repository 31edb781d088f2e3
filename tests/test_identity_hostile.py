"""Hostile input to the Microsoft identity mock, through real HTTP against a running hub (TLS,
127.0.0.1): malformed form posts, huge parameters, bad PKCE, redirect_uri tricks and unicode on
every route (discovery, keys, user realm, authorize, sign-in, consent, admin consent, token,
logout).

It asserts no 5xx (no fault is injected), every refusal in Entra's shape (token-endpoint JSON with
`error`, an `AADSTS…` `error_description`, `error_codes`, trace and correlation ids; or Entra's
HTML error page; or an error sent back to a registered redirect URI), no exception text or file
path in any answer, no refused-by-contract case accepted, and no open redirect: every 3xx goes to
the hub itself or to a redirect URI registered for an app, exactly (scheme, host, port and path).
A real sign-in still works afterwards. The figures are printed at the end.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.net import httpx_verify
from harness.useragent import UserAgent
from mock_providers.server import HubServer
from mock_providers.world import MsApp, MsTenant
from mock_providers.world.seed import MS_REDIRECT_URI
from tests.hostile_support import Tally as SweepTally

LEAKS = ("Traceback", 'File "', "mock_providers/", "site-packages", "Exception:")
EVIL = [
    "https://evil.example/cb",
    "//evil.example/cb",
    "https://evil.example",
    f"{MS_REDIRECT_URI}.evil.example",
    f"{MS_REDIRECT_URI}/../../evil",
    MS_REDIRECT_URI.replace("https://", "https://user@evil.example/"),
    MS_REDIRECT_URI.replace("https://", "http://"),
    MS_REDIRECT_URI.upper(),
    MS_REDIRECT_URI + "/",
    MS_REDIRECT_URI + "?x=1",
    MS_REDIRECT_URI + "#frag",
    MS_REDIRECT_URI + "%00",
    "javascript:alert(1)",
    "data:text/html,x",
    "/\\evil.example",
    "https:evil.example",
    "\u202ehttps://evil.example",
    "ｈttps://evil.example",
    "https://evil.example\\@" + MS_REDIRECT_URI.removeprefix("https://"),
]
HOSTILE = [
    "",
    "²",
    "５",
    "9" * 5000,
    "-1",
    "x" * 10_000,
    "\x00",
    "\x01",
    "\u202e",
    "😀",
    "\ud800",
    "../../../etc/passwd",
    "%",
    "%zz",
    "null",
    "[]",
    "{}",
    "a=b&c",
    "=",
    "<script>x</script>",
    "' OR 1=1 --",
    "\r\nSet-Cookie: x=1",
    "\ufffd",
    "common",
    "organizations",
    "consumers",
    "00000000-0000-0000-0000-000000000000",
]


@dataclass
class Tally(SweepTally):
    """The sweeps' tally, and the redirects that left for a URI the app did not register."""

    open_redirects: list[str] = field(default_factory=list)


TALLY = Tally()


def entra_json(reply: httpx.Response) -> bool:
    try:
        body = reply.json()
    except ValueError:
        return False
    return (
        isinstance(body, dict)
        and isinstance(body.get("error"), str)
        and str(body.get("error_description", "")).startswith("AADSTS")
        and isinstance(body.get("error_codes"), list)
        and "trace_id" in body
        and "correlation_id" in body
    )


def entra_page(reply: httpx.Response) -> bool:
    return reply.headers.get("content-type", "").startswith("text/html") and "AADSTS" in reply.text


class Sweep:
    def __init__(self, server: HubServer) -> None:
        self.server = server
        self.client = httpx.Client(
            base_url=server.base_url, timeout=30.0, verify=httpx_verify(server.ca_bundle)
        )
        world = server.hub.world
        self.redirects = {
            uri
            for t in world.ms_tenants.values()
            for a in t.apps.values()
            for uri in a.redirect_uris
        }
        self.hub_origin = urlsplit(server.base_url)

    def allowed_location(self, location: str) -> bool:
        """The hub itself, or exactly a registered redirect URI (its query/fragment free)."""
        parts = urlsplit(location)
        if (
            not parts.scheme
            and not parts.netloc
            and location.startswith("/")
            and not location.startswith(("//", "/\\"))
        ):
            return True
        if (parts.scheme, parts.netloc) == (self.hub_origin.scheme, self.hub_origin.netloc):
            return True
        bare = f"{parts.scheme}://{parts.netloc}{parts.path}"
        return bare in self.redirects

    def send(
        self,
        method: str,
        path: str,
        *,
        shape: str,
        refuse: bool = False,
        params: dict[str, str] | list[tuple[str, str]] | None = None,
        form: dict[str, str] | None = None,
        content: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        """One request, tallied. `shape`: "json" (token endpoint), "page" (HTML error page or a
        redirect carrying the error), "any" (either). `refuse`: a 2xx is a wrong acceptance."""
        sent: dict[str, Any] = {}
        if form is not None:
            content = urlencode(form, encoding="utf-8", errors="surrogatepass").encode()
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        sent.update({k: v.encode("utf-8", "surrogatepass") for k, v in (headers or {}).items()})
        if params is not None:  # encoded here: httpx refuses a lone surrogate, a client need not
            path += "?" + urlencode(params, encoding="utf-8", errors="surrogatepass")
        began = time.monotonic()
        reply = self.client.request(method, path, content=content, headers=sent)
        elapsed = time.monotonic() - began
        label = f"{method} {path[:70]} {str(params)[:120]} {str(form)[:120]}"
        TALLY.requests += 1
        TALLY.statuses[reply.status_code] += 1
        TALLY.slowest = max(TALLY.slowest, elapsed)
        status = reply.status_code
        if status >= 500:
            TALLY.five_xx.append(f"{status} {label}: {reply.text[:200]}")
        elif status >= 400:
            ok = {
                "json": entra_json,
                "page": entra_page,
                "any": lambda r: entra_json(r) or entra_page(r),
            }[shape](reply)
            if not ok:
                TALLY.bad_shape.append(f"{status} {label}: {reply.text[:200]}")
        if 300 <= status < 400:
            location = reply.headers.get("location", "")
            if not self.allowed_location(location):
                TALLY.open_redirects.append(f"{label} -> {location[:200]}")
        if refuse and status < 300:
            TALLY.wrong_acceptance.append(f"{status} {label}: {reply.text[:120]}")
        if any(leak in reply.text for leak in LEAKS):
            TALLY.bad_shape.append(f"leak {label}: {reply.text[:200]}")
        return reply


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubServer]:
    with HubServer(seed=19, tls=True, state_dir=tmp_path_factory.mktemp("identity-hub")) as srv:
        TALLY.start(srv.hub)
        yield srv


@pytest.fixture(scope="module")
def sweep(server: HubServer) -> Iterator[Sweep]:
    swept = Sweep(server)
    yield swept
    swept.client.close()


@pytest.fixture(scope="module")
def tenant(server: HubServer) -> MsTenant:
    found = server.hub.world.tenant("contoso")
    assert found is not None
    return found


@pytest.fixture(scope="module")
def app(tenant: MsTenant) -> MsApp:
    return next(
        a for a in tenant.apps.values() if a.client_secret and MS_REDIRECT_URI in a.redirect_uris
    )


def values_for(index: int, count: int = 6) -> list[str]:
    return [HOSTILE[(index * 5 + k) % len(HOSTILE)] for k in range(count)]


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = (
        base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    )
    return verifier, challenge


def auth_params(app: MsApp, **changed: str) -> dict[str, str]:
    _, challenge = pkce()
    return {
        "client_id": app.client_id,
        "redirect_uri": MS_REDIRECT_URI,
        "response_type": "code",
        "scope": "openid offline_access https://graph.microsoft.com/Calendars.Read",
        "state": "s",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        **changed,
    }


def code_for(server: HubServer, tenant: MsTenant, app: MsApp, challenge: str) -> str:
    """A real authorization code, through the sign-in pages."""
    user = next(u for u in tenant.users.values() if not u.is_admin)
    query = urlencode(auth_params(app, code_challenge=challenge, login_hint=user.upn))
    with UserAgent(server.ca_bundle) as agent:
        outcome = agent.authorize(
            f"{server.base_url}/{tenant.id}/oauth2/v2.0/authorize?{query}",
            username=user.upn,
            password=user.password,
            stop_at=MS_REDIRECT_URI,
        )
    assert outcome.code, outcome
    return outcome.code


# -- redirect URIs: no open redirect ---------------------------------------------------------------
def test_authorize_never_redirects_to_an_unregistered_uri(
    sweep: Sweep, tenant: MsTenant, app: MsApp
) -> None:
    path = f"/{tenant.id}/oauth2/v2.0/authorize"
    for evil in EVIL:
        for changed in (
            {"redirect_uri": evil},
            {"redirect_uri": evil, "response_type": "x"},
            {"redirect_uri": evil, "prompt": "none"},
            {"redirect_uri": evil, "response_mode": "form_post"},
        ):
            reply = sweep.send(
                "GET", path, shape="page", refuse=True, params=auth_params(app, **changed)
            )
            assert reply.status_code == 400 and "AADSTS50011" in reply.text, (evil, changed)
            assert evil not in reply.headers.get("location", "")
        sweep.send(
            "POST", path, shape="page", refuse=True, form=auth_params(app, redirect_uri=evil)
        )
        sweep.send(
            "GET",
            f"/{tenant.id}/v2.0/adminconsent",
            shape="page",
            refuse=True,
            params={"client_id": app.client_id, "redirect_uri": evil},
        )


def test_logout_never_redirects_to_an_unregistered_uri(
    sweep: Sweep, tenant: MsTenant, app: MsApp
) -> None:
    for alias in (tenant.id, "common", "organizations", "nope", "x" * 1_000):
        for evil in EVIL:
            for extra in ({}, {"client_id": app.client_id}, {"id_token_hint": "x.y.z"}):
                params = {"post_logout_redirect_uri": evil, **extra}
                reply = sweep.send(
                    "GET", f"/{alias}/oauth2/v2.0/logout", shape="page", params=params
                )
                assert reply.status_code < 300 or reply.status_code >= 400
                sweep.send("POST", f"/{alias}/oauth2/v2.0/logout", shape="page", form=params)
    registered = sweep.send(
        "GET",
        f"/{tenant.id}/oauth2/v2.0/logout",
        shape="page",
        params={"post_logout_redirect_uri": MS_REDIRECT_URI, "client_id": app.client_id},
    )
    assert registered.status_code == 302 and registered.headers["location"] == MS_REDIRECT_URI


# -- authorize and the sign-in pages -------------------------------------------------------------
AUTHORIZE_FIELDS = (
    "client_id",
    "response_type",
    "scope",
    "state",
    "code_challenge",
    "code_challenge_method",
    "prompt",
    "response_mode",
    "login_hint",
    "nonce",
    "domain_hint",
    "max_age",
    "claims",
)


def test_sweep_authorize_parameters(sweep: Sweep, tenant: MsTenant, app: MsApp) -> None:
    for alias in (tenant.id, "common"):
        path = f"/{alias}/oauth2/v2.0/authorize"
        for index, name in enumerate(AUTHORIZE_FIELDS):
            for value in values_for(index, 5):
                sweep.send("GET", path, shape="page", params=auth_params(app, **{name: value}))
            sweep.send("POST", path, shape="page", form=auth_params(app, **{name: "x" * 10_000}))
    # (A value with "/" in it makes another path, which is no identity route's.)
    for bad_tenant in [v for v in values_for(3, 8) if "/" not in v] + ["x" * 300]:
        segment = quote(bad_tenant, safe="", errors="surrogatepass") or "%20"
        sweep.send(
            "GET",
            f"/{segment}/oauth2/v2.0/authorize",
            shape="page",
            refuse=True,
            params=auth_params(app),
        )
    # PKCE: a challenge that cannot be S256 output, or a method Entra refuses.
    for challenge, method in (
        ("short", "S256"),
        ("x" * 200, "S256"),
        ("a b", "S256"),
        (pkce()[1], "S512"),
        (pkce()[1], "plainly"),
        ("", "S256"),
    ):
        sweep.send(
            "GET",
            f"/{tenant.id}/oauth2/v2.0/authorize",
            shape="page",
            params=auth_params(app, code_challenge=challenge, code_challenge_method=method),
        )


def test_sweep_sign_in_and_consent_forms(sweep: Sweep, tenant: MsTenant) -> None:
    fields = (
        "flow",
        "login",
        "loginfmt",
        "passwd",
        "username",
        "password",
        "consent",
        "decision",
        "on_behalf_of_org",
        "ctx",
    )
    for index, name in enumerate(fields):
        for value in values_for(index, 5):
            for path in (f"/{tenant.id}/login", f"/{tenant.id}/Consent/Set"):
                sweep.send("POST", path, shape="page", form={"flow": "nope", name: value})
    for path in (f"/{tenant.id}/login", f"/{tenant.id}/Consent/Set"):
        for content, ctype in (
            (b"flow=%zz&x=%", "application/x-www-form-urlencoded"),
            (b"\xff\xfe\xed\xa0\x80", "application/x-www-form-urlencoded"),
            (b'{"flow": "x"}', "application/json"),
            (b"--b\r\n\r\nx", "multipart/form-data; boundary=b"),
            (b"flow=" + b"x" * (2 << 20), "application/x-www-form-urlencoded"),
            (b"a[" * 50_000, "application/x-www-form-urlencoded"),
        ):
            sweep.send("POST", path, shape="page", content=content, headers={"Content-Type": ctype})


# -- the token endpoint --------------------------------------------------------------------------
TOKEN_FIELDS = (
    "grant_type",
    "client_id",
    "client_secret",
    "code",
    "redirect_uri",
    "code_verifier",
    "scope",
    "refresh_token",
    "username",
    "password",
    "client_assertion",
    "client_assertion_type",
)
GRANTS = (
    "authorization_code",
    "refresh_token",
    "client_credentials",
    "password",
    "urn:ietf:params:oauth:grant-type:device_code",
    "x",
)


def test_sweep_token_endpoint(sweep: Sweep, tenant: MsTenant, app: MsApp) -> None:
    path = f"/{tenant.id}/oauth2/v2.0/token"
    for grant in GRANTS:
        for index, name in enumerate(TOKEN_FIELDS):
            for value in values_for(index + len(grant), 3):
                form = {
                    "grant_type": grant,
                    "client_id": app.client_id,
                    "client_secret": app.client_secret or "",
                    "scope": "openid",
                    "redirect_uri": MS_REDIRECT_URI,
                    name: value,
                }
                sweep.send("POST", path, shape="json", refuse=True, form=form)
    for content, ctype in (
        (b"grant_type=%zz", "application/x-www-form-urlencoded"),
        (b"\xff\xfe\xed\xa0\x80", "application/x-www-form-urlencoded"),
        (b'{"grant_type": "client_credentials"}', "application/json"),
        (b"", "application/x-www-form-urlencoded"),
        (b"x", "text/plain"),
        (b"grant_type=" + b"x" * (3 << 20), "application/x-www-form-urlencoded"),
        (b"&" * 100_000, "application/x-www-form-urlencoded"),
    ):
        sweep.send(
            "POST",
            path,
            shape="json",
            refuse=True,
            content=content,
            headers={"Content-Type": ctype},
        )
    for method in ("GET", "PUT", "DELETE"):
        sweep.send(method, path, shape="any", refuse=True)
    for alias in [v for v in values_for(1, 8) if "/" not in v]:
        segment = quote(alias, safe="", errors="surrogatepass") or "%20"
        sweep.send(
            "POST",
            f"/{segment}/oauth2/v2.0/token",
            shape="any",
            refuse=True,
            form={"grant_type": "client_credentials", "client_id": app.client_id},
        )


def test_bad_pkce_never_redeems_a_code(
    sweep: Sweep, server: HubServer, tenant: MsTenant, app: MsApp
) -> None:
    path = f"/{tenant.id}/oauth2/v2.0/token"
    verifier, challenge = pkce()
    wrong = [
        pkce()[0],
        "",
        "x" * 10_000,
        verifier + "x",
        verifier[:-1],
        verifier.upper(),
        "\u202e" + verifier,
        challenge,
    ]
    for bad in wrong:
        code = code_for(server, tenant, app, challenge)
        form = {
            "grant_type": "authorization_code",
            "client_id": app.client_id,
            "client_secret": app.client_secret or "",
            "code": code,
            "redirect_uri": MS_REDIRECT_URI,
            "code_verifier": bad,
            "scope": "https://graph.microsoft.com/Calendars.Read",
        }
        reply = sweep.send("POST", path, shape="json", refuse=True, form=form)
        assert reply.status_code == 400 and reply.json()["error"] == "invalid_grant", reply.text
    # The redirect URI at redemption must be the one the code was issued for.
    code = code_for(server, tenant, app, challenge)
    for evil in EVIL[:6]:
        form = {
            "grant_type": "authorization_code",
            "client_id": app.client_id,
            "client_secret": app.client_secret or "",
            "code": code,
            "redirect_uri": evil,
            "code_verifier": verifier,
            "scope": "https://graph.microsoft.com/Calendars.Read",
        }
        sweep.send("POST", path, shape="json", refuse=True, form=form)
    form.update(redirect_uri=MS_REDIRECT_URI)
    reply = sweep.send("POST", path, shape="json", form=form)
    assert reply.status_code == 200 and "access_token" in reply.json(), reply.text


def test_sweep_discovery_and_user_realm(sweep: Sweep, tenant: MsTenant) -> None:
    for value in HOSTILE + ["x" * 300]:
        if "/" in value or value in ("", "%"):
            continue  # another route, or none: not this endpoint's input
        segment = quote(value, safe="", errors="surrogatepass")
        sweep.send("GET", f"/{segment}/v2.0/.well-known/openid-configuration", shape="any")
        sweep.send("GET", f"/{segment}/discovery/v2.0/keys", shape="any")
        sweep.send(
            "GET", f"/common/userrealm/{segment}", shape="any", params={"api-version": value}
        )
        sweep.send(
            "GET",
            f"/{tenant.id}/v2.0/adminconsent",
            shape="page",
            params={"client_id": value, "redirect_uri": MS_REDIRECT_URI, "state": value},
        )
        sweep.send("GET", "/error", shape="any", params={"code": value})


SETTINGS = settings(
    max_examples=80,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


@SETTINGS
@given(form=st.dictionaries(st.sampled_from(TOKEN_FIELDS), st.text(max_size=40), max_size=6))
def test_hypothesis_token_forms(sweep: Sweep, tenant: MsTenant, form: dict[str, str]) -> None:
    sweep.send(
        "POST",
        f"/{tenant.id}/oauth2/v2.0/token",
        shape="json",
        form=form,
        refuse="client_secret" not in form,
    )


@SETTINGS
@given(
    params=st.dictionaries(
        st.sampled_from(AUTHORIZE_FIELDS + ("redirect_uri",)), st.text(max_size=40), max_size=6
    )
)
def test_hypothesis_authorize_queries(
    sweep: Sweep, tenant: MsTenant, app: MsApp, params: dict[str, str]
) -> None:
    sweep.send(
        "GET",
        f"/{tenant.id}/oauth2/v2.0/authorize",
        shape="page",
        params={"client_id": app.client_id, **params},
    )


# -- afterwards ----------------------------------------------------------------------------------
def test_after_the_sweep_sign_in_still_works(
    sweep: Sweep, server: HubServer, tenant: MsTenant, app: MsApp
) -> None:
    verifier, challenge = pkce()
    code = code_for(server, tenant, app, challenge)
    reply = sweep.send(
        "POST",
        f"/{tenant.id}/oauth2/v2.0/token",
        shape="json",
        form={
            "grant_type": "authorization_code",
            "client_id": app.client_id,
            "client_secret": app.client_secret or "",
            "code": code,
            "redirect_uri": MS_REDIRECT_URI,
            "code_verifier": verifier,
            "scope": "https://graph.microsoft.com/Calendars.Read",
        },
    )
    assert reply.status_code == 200, reply.text
    assert "access_token" in reply.json()


def test_sweep_figures(server: HubServer, capsys: pytest.CaptureFixture[str]) -> None:
    with capsys.disabled():
        print(TALLY.figures("Identity", server.hub,
                            extra={"open redirects": len(TALLY.open_redirects)}))
    assert "\n".join(TALLY.five_xx + TALLY.bad_shape) == ""
    assert TALLY.requests >= 800
    assert TALLY.five_xx == []
    assert TALLY.bad_shape == []
    assert TALLY.open_redirects == []
    assert TALLY.wrong_acceptance == []
