"""The Microsoft identity platform mock, driven by the official MSAL Python over TLS and by the
harness's own user agent; plain HTTP-shape checks through the Starlette test client.

MSAL replays an identical failing POST from its cache for 60 s and caches discovery per
application object, so every negative case builds its own application object.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import msal
import pytest
import requests
from starlette.applications import Starlette
from starlette.testclient import TestClient

from harness.useragent import AuthorizationOutcome, UserAgent
from mock_providers.hub import Hub
from mock_providers.microsoft import identity
from mock_providers.microsoft.claims import EXCHANGE_RESOURCE, GRAPH_RESOURCE, access_context
from mock_providers.microsoft.identity import admin as identity_admin
from mock_providers.microsoft.identity.state import SsoSession, identity_state
from mock_providers.server import HubServer
from mock_providers.world import FaultSpec, MsApp, MsTenant, MsUser
from mock_providers.world.seed import MS_REDIRECT_URI, PUBLIC_CLIENT_REDIRECT

# MSAL's own advice to web apps; the query mode is what these tests exercise on purpose.
pytestmark = pytest.mark.filterwarnings("ignore:response_mode='form_post' is recommended")

READ = ["Calendars.Read"]
DAY = 86400


# -- world helpers --------------------------------------------------------------------------------
def tenant_of(hub: Hub, key: str) -> MsTenant:
    tenant = hub.world.tenant(key)
    assert tenant is not None
    return tenant


def confidential(tenant: MsTenant) -> MsApp:
    return next(a for a in tenant.apps.values() if a.client_secret)


def public(tenant: MsTenant) -> MsApp:
    return next(a for a in tenant.apps.values() if a.client_secret is None)


def member(tenant: MsTenant) -> MsUser:
    return next(u for u in tenant.users.values() if not u.is_admin)


def admin(tenant: MsTenant) -> MsUser:
    return next(u for u in tenant.users.values() if u.is_admin)


def unverified_claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


# -- MSAL over TLS ---------------------------------------------------------------------------------
@pytest.fixture
def server(hub_server: HubServer) -> HubServer:
    hub_server.hub.reset()
    return hub_server


@pytest.fixture(scope="module")
def clock_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubServer]:
    """A hub of its own for tests that move the world clock, so the shared one is not aged."""
    with HubServer(seed=7, tls=True, state_dir=tmp_path_factory.mktemp("clock-hub")) as srv:
        yield srv


class _HubSession(requests.Session):
    """MSAL's username/password flow builds the user-realm URL from the authority's host name
    alone (`https://{host}/common/userrealm/…`), dropping the port; put the hub's port back."""

    def __init__(self, base_url: str) -> None:
        super().__init__()
        parts = urlsplit(base_url)
        self._portless = f"{parts.scheme}://{parts.hostname}/"
        self._base = base_url + "/"

    def request(self, method: str | bytes, url: str | bytes,  # type: ignore[override]
                *args: Any, **kwargs: Any) -> requests.Response:
        if isinstance(url, str) and url.startswith(self._portless):
            url = self._base + url[len(self._portless):]
        return super().request(method, url, *args, **kwargs)


def http(server: HubServer) -> requests.Session:
    session = _HubSession(server.base_url)
    # Otherwise REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE in the environment override `verify`.
    session.trust_env = False
    session.verify = server.ca_bundle
    return session


def web_app(server: HubServer, tenant: MsTenant, secret: str | None = None
            ) -> msal.ConfidentialClientApplication:
    app = confidential(tenant)
    return msal.ConfidentialClientApplication(
        app.client_id, client_credential=secret or app.client_secret,
        authority=f"{server.base_url}/{tenant.id}", instance_discovery=False,
        http_client=http(server))


def desktop_app(server: HubServer, tenant: MsTenant) -> msal.PublicClientApplication:
    return msal.PublicClientApplication(
        public(tenant).client_id, authority=f"{server.base_url}/{tenant.id}",
        instance_discovery=False, http_client=http(server))


def sign_in(server: HubServer, client: msal.ClientApplication, user: MsUser,
            scopes: list[str], *, consent: str = "accept", on_behalf: bool = False,
            **flow_kwargs: Any) -> tuple[dict[str, Any], AuthorizationOutcome]:
    flow = client.initiate_auth_code_flow(scopes, redirect_uri=MS_REDIRECT_URI, **flow_kwargs)
    with UserAgent(server.ca_bundle) as agent:
        outcome = agent.authorize(flow["auth_uri"], username=user.upn, password=user.password,
                                  consent=consent,  # type: ignore[arg-type]
                                  on_behalf_of_org=on_behalf, stop_at=MS_REDIRECT_URI)
    return flow, outcome


def connect(server: HubServer, tenant: MsTenant, user: MsUser,
            scopes: list[str] = READ) -> tuple[msal.ConfidentialClientApplication, dict[str, Any]]:
    client = web_app(server, tenant)
    flow, outcome = sign_in(server, client, user, scopes)
    assert outcome.callback_url, outcome
    result = client.acquire_token_by_auth_code_flow(flow, outcome.params)
    assert "access_token" in result, result
    return client, result


def verified(server: HubServer, token: str) -> dict[str, Any]:
    return server.hub.signer.verify(token, server.hub.world.clock.timestamp())


def assert_aad_error(result: dict[str, Any], error: str, code: int) -> None:
    assert result.get("error") == error, result
    assert code in result.get("error_codes", []), result
    assert result["error_description"].startswith(f"AADSTS{code}:"), result


# -- client credentials ------------------------------------------------------------------------
def test_client_credentials_token_carries_granted_roles(server: HubServer) -> None:
    contoso = tenant_of(server.hub, "contoso")
    result = web_app(server, contoso).acquire_token_for_client(
        ["https://graph.microsoft.com/.default"])
    assert "access_token" in result, result
    assert result["token_type"] == "Bearer"
    context = access_context(verified(server, result["access_token"]))
    assert context.kind == "application"
    assert context.resource == GRAPH_RESOURCE
    assert context.tenant_id == contoso.id
    assert context.roles == frozenset(confidential(contoso).granted_roles)
    assert "Calendars.ReadWrite" in context.roles


def test_client_credentials_without_granted_roles_has_no_roles_claim(server: HubServer) -> None:
    fabrikam = tenant_of(server.hub, "fabrikam")
    result = web_app(server, fabrikam).acquire_token_for_client(
        ["https://graph.microsoft.com/.default"])
    claims = verified(server, result["access_token"])
    assert "roles" not in claims
    assert access_context(claims).roles == frozenset()


def test_wrong_client_secret_is_invalid_client_7000215(server: HubServer) -> None:
    contoso = tenant_of(server.hub, "contoso")
    result = web_app(server, contoso, secret="not-the-secret").acquire_token_for_client(
        ["https://graph.microsoft.com/.default"])
    assert_aad_error(result, "invalid_client", 7000215)
    assert "Trace ID: " in result["error_description"]
    assert "Correlation ID: " in result["error_description"]


# -- authorization code flow ----------------------------------------------------------------------
def test_auth_code_flow_with_pkce_through_login_and_consent_pages(server: HubServer) -> None:
    contoso = tenant_of(server.hub, "contoso")
    user = member(contoso)
    client = web_app(server, contoso)
    flow, outcome = sign_in(server, client, user, READ)
    assert outcome.callback_url and outcome.callback_url.startswith(MS_REDIRECT_URI)
    assert {"code", "state", "session_state"} <= outcome.params.keys()
    assert "client_info" not in outcome.params
    titles = [p.title for p in outcome.pages if p.title]
    assert titles == ["Sign in to your account", "Permissions requested"]
    assert "code_challenge" in parse_qs(urlsplit(flow["auth_uri"]).query)

    result = client.acquire_token_by_auth_code_flow(flow, outcome.params)
    assert "access_token" in result, result
    scp = verified(server, result["access_token"])["scp"].split()
    assert "Calendars.Read" in scp
    assert not [s for s in scp if "Write" in s]
    assert result["id_token_claims"]["preferred_username"] == user.upn
    assert result["id_token_claims"]["tid"] == contoso.id
    assert result["id_token_claims"]["aud"] == confidential(contoso).client_id
    assert result["refresh_token"]
    assert contoso.user_consents[(user.id, confidential(contoso).client_id)] == {"Calendars.Read"}

    authorize = server.hub.world.audit.query(provider="identity", operation="authorize")
    assert len(authorize) == 1
    assert sorted(authorize[0].scopes) == sorted(flow["scope"])
    token = server.hub.world.audit.query(provider="identity",
                                         operation="token:authorization_code")
    assert len(token) == 1 and token[0].outcome == "ok" and token[0].user == user.upn
    assert sorted(token[0].scopes) == sorted(["Calendars.Read", "offline_access", "openid",
                                              "profile"])
    assert not [s for e in authorize + token for s in e.scopes if "Write" in s]


def test_refresh_silently_and_by_refresh_token(server: HubServer) -> None:
    contoso = tenant_of(server.hub, "contoso")
    user = member(contoso)
    client, first = connect(server, contoso, user)
    account = client.get_accounts(username=user.upn)[0]
    silent = client.acquire_token_silent(READ, account=account, force_refresh=True)
    assert silent and "access_token" in silent, silent
    assert silent["access_token"] != first["access_token"]
    rotated = client.acquire_token_by_refresh_token(first["refresh_token"], READ)
    assert "access_token" in rotated, rotated
    assert rotated["refresh_token"] != first["refresh_token"]
    assert server.hub.world.audit.query(operation="token:refresh_token")[-1].outcome == "ok"


def test_refresh_after_password_change_is_50173(server: HubServer) -> None:
    contoso = tenant_of(server.hub, "contoso")
    user = member(contoso)
    _, first = connect(server, contoso, user)
    identity_admin.change_password(server.hub, user, "Changed-Passw0rd!")
    result = web_app(server, contoso).acquire_token_by_refresh_token(first["refresh_token"], READ)
    assert_aad_error(result, "invalid_grant", 50173)


def test_refresh_after_session_revocation_is_70008(server: HubServer) -> None:
    contoso = tenant_of(server.hub, "contoso")
    user = member(contoso)
    _, first = connect(server, contoso, user)
    identity_admin.revoke_sessions(server.hub, user)
    result = web_app(server, contoso).acquire_token_by_refresh_token(first["refresh_token"], READ)
    assert_aad_error(result, "invalid_grant", 70008)


def test_refresh_token_unused_for_91_days_is_700082(clock_server: HubServer) -> None:
    clock_server.hub.reset()
    contoso = tenant_of(clock_server.hub, "contoso")
    _, first = connect(clock_server, contoso, member(contoso))
    clock_server.hub.world.clock.advance(91 * DAY)
    result = web_app(clock_server, contoso).acquire_token_by_refresh_token(
        first["refresh_token"], READ)
    assert_aad_error(result, "invalid_grant", 700082)


def test_withdrawn_user_consent_makes_the_refresh_65001(server: HubServer) -> None:
    """My Apps > Revoke permissions: the user's grant goes, the refresh token then finds no
    consent (AADSTS65001); withdrawing again finds nothing; an unknown app is refused."""
    contoso = tenant_of(server.hub, "contoso")
    user = member(contoso)
    _, first = connect(server, contoso, user)
    app = confidential(contoso).client_id
    assert identity_admin.withdraw_user_consent(server.hub, user, app)
    assert not identity_admin.withdraw_user_consent(server.hub, user, app)
    with pytest.raises(ValueError, match="no app"):
        identity_admin.withdraw_user_consent(server.hub, user, "not-an-app")
    result = web_app(server, contoso).acquire_token_by_refresh_token(first["refresh_token"], READ)
    assert_aad_error(result, "invalid_grant", 65001)


def test_user_consent_disabled_shows_need_admin_approval_until_admin_consent(
        server: HubServer) -> None:
    fabrikam = tenant_of(server.hub, "fabrikam")
    _, outcome = sign_in(server, web_app(server, fabrikam), member(fabrikam), READ)
    assert outcome.callback_url is None
    assert outcome.blocked_page_title == "Need admin approval"
    assert outcome.error == "AADSTS90094"
    identity_admin.grant_admin_consent(server.hub, fabrikam, confidential(fabrikam).client_id,
                                       ["https://graph.microsoft.com/Calendars.Read"])
    _, result = connect(server, fabrikam, member(fabrikam))
    assert verified(server, result["access_token"])["scp"] == "Calendars.Read"


def test_admin_may_consent_on_behalf_of_the_organisation(server: HubServer) -> None:
    fabrikam = tenant_of(server.hub, "fabrikam")
    client = web_app(server, fabrikam)
    flow, outcome = sign_in(server, client, admin(fabrikam), READ, on_behalf=True)
    assert outcome.code, outcome
    assert "access_token" in client.acquire_token_by_auth_code_flow(flow, outcome.params)
    assert fabrikam.admin_consents[confidential(fabrikam).client_id] == {"Calendars.Read"}
    _, later = sign_in(server, web_app(server, fabrikam), member(fabrikam), READ)
    assert later.code and [p.title for p in later.pages if p.title] == ["Sign in to your account"]


def test_enabling_user_consent_takes_effect_after_30_minutes(clock_server: HubServer) -> None:
    hub = clock_server.hub
    hub.reset()
    fabrikam = tenant_of(hub, "fabrikam")
    identity_admin.set_user_consent_policy(hub, fabrikam, True)
    _, before = sign_in(clock_server, web_app(clock_server, fabrikam), member(fabrikam), READ)
    assert before.blocked_page_title == "Need admin approval"
    hub.world.clock.advance(29 * 60)
    _, still = sign_in(clock_server, web_app(clock_server, fabrikam), member(fabrikam), READ)
    assert still.blocked_page_title == "Need admin approval"
    hub.world.clock.advance(2 * 60)
    _, result = connect(clock_server, fabrikam, member(fabrikam))
    assert "Calendars.Read" in verified(clock_server, result["access_token"])["scp"]


def test_declining_consent_is_access_denied_65004(server: HubServer) -> None:
    contoso = tenant_of(server.hub, "contoso")
    client = web_app(server, contoso)
    flow, outcome = sign_in(server, client, member(contoso), READ, consent="decline")
    assert outcome.error == "access_denied"
    assert outcome.params["error_subcodes"] == "cancel"
    assert outcome.error_description and outcome.error_description.startswith("AADSTS65004: ")
    result = client.acquire_token_by_auth_code_flow(flow, outcome.params)
    assert result["error"] == "access_denied" and "AADSTS65004" in result["error_description"]
    assert not contoso.user_consents


def test_code_redeemed_twice_is_54005(server: HubServer) -> None:
    contoso = tenant_of(server.hub, "contoso")
    client = web_app(server, contoso)
    flow, outcome = sign_in(server, client, member(contoso), READ)
    assert "access_token" in client.acquire_token_by_auth_code_flow(dict(flow), outcome.params)
    again = web_app(server, contoso).acquire_token_by_auth_code_flow(dict(flow), outcome.params)
    assert_aad_error(again, "invalid_grant", 54005)


def test_wrong_pkce_verifier_is_invalid_grant_501481(server: HubServer) -> None:
    contoso = tenant_of(server.hub, "contoso")
    client = web_app(server, contoso)
    flow, outcome = sign_in(server, client, member(contoso), READ)
    tampered = dict(flow, code_verifier="x" * 43)
    assert_aad_error(client.acquire_token_by_auth_code_flow(tampered, outcome.params),
                     "invalid_grant", 501481)


def test_second_sign_in_uses_the_sso_session_unless_prompt_login(server: HubServer) -> None:
    contoso = tenant_of(server.hub, "contoso")
    user = member(contoso)
    client = web_app(server, contoso)
    with UserAgent(server.ca_bundle) as agent:
        def run(**kwargs: Any) -> AuthorizationOutcome:
            flow = client.initiate_auth_code_flow(READ, redirect_uri=MS_REDIRECT_URI, **kwargs)
            return agent.authorize(flow["auth_uri"], username=user.upn, password=user.password,
                                   stop_at=MS_REDIRECT_URI)

        first, second, forced = run(), run(), run(prompt="login")
        picked = run(prompt="select_account")
    assert first.code and second.code and forced.code and picked.code
    assert [p.title for p in second.pages if p.title] == []
    assert [p.title for p in forced.pages if p.title] == ["Sign in to your account"]
    assert second.params["session_state"] == first.params["session_state"]
    assert picked.params["session_state"] == forced.params["session_state"]
    logins = server.hub.world.audit.query(operation="login")
    assert [e.outcome for e in logins] == ["ok", "ok", "ok"]  # picker post: no password


def test_common_authority_resolves_the_tenant_from_the_user(server: HubServer) -> None:
    contoso = tenant_of(server.hub, "contoso")
    user = member(contoso)
    app = confidential(contoso)
    client = msal.ConfidentialClientApplication(
        app.client_id, client_credential=app.client_secret,
        authority=f"{server.base_url}/common", instance_discovery=False,
        http_client=http(server))
    flow, outcome = sign_in(server, client, user, READ)
    result = client.acquire_token_by_auth_code_flow(flow, outcome.params)
    assert result["id_token_claims"]["tid"] == contoso.id, result
    assert verified(server, result["access_token"])["tid"] == contoso.id
    assert client.acquire_token_for_client(["https://graph.microsoft.com/.default"])[
        "error_codes"] == [50059]


def test_prompt_none_without_a_session_is_login_required(server: HubServer) -> None:
    contoso = tenant_of(server.hub, "contoso")
    _, outcome = sign_in(server, web_app(server, contoso), member(contoso), READ, prompt="none")
    assert outcome.error == "login_required"
    assert outcome.error_description and outcome.error_description.startswith("AADSTS50058")


def test_form_post_response_mode_is_an_auto_submitting_form(server: HubServer) -> None:
    contoso = tenant_of(server.hub, "contoso")
    client = web_app(server, contoso)
    flow, outcome = sign_in(server, client, member(contoso), READ, response_mode="form_post")
    assert outcome.via_form_post and outcome.code
    assert "access_token" in client.acquire_token_by_auth_code_flow(flow, outcome.params)


def test_wrong_password_on_the_login_page_is_50126(server: HubServer) -> None:
    contoso = tenant_of(server.hub, "contoso")
    user = member(contoso)
    flow = web_app(server, contoso).initiate_auth_code_flow(READ, redirect_uri=MS_REDIRECT_URI)
    with UserAgent(server.ca_bundle) as agent:
        outcome = agent.authorize(flow["auth_uri"], username=user.upn, password="wrong",
                                  stop_at=MS_REDIRECT_URI)
    assert outcome.callback_url is None
    assert outcome.error == "AADSTS50126"
    assert outcome.blocked_page_title == "Sign in to your account"
    assert server.hub.world.audit.query(operation="login")[-1].outcome == "AADSTS50126"


def test_exchange_scope_gets_an_exchange_token_and_mixing_resources_is_28000(
        server: HubServer) -> None:
    contoso = tenant_of(server.hub, "contoso")
    user = member(contoso)
    ews = [f"{EXCHANGE_RESOURCE}/EWS.AccessAsUser.All"]
    client, result = connect(server, contoso, user, ews)
    claims = verified(server, result["access_token"])
    assert claims["aud"] == EXCHANGE_RESOURCE and claims["scp"] == "EWS.AccessAsUser.All"
    mixed = web_app(server, contoso).acquire_token_by_refresh_token(
        result["refresh_token"], ews + READ)
    assert_aad_error(mixed, "invalid_scope", 28000)


def test_refresh_for_unconsented_scope_is_65001(server: HubServer) -> None:
    contoso = tenant_of(server.hub, "contoso")
    _, result = connect(server, contoso, member(contoso))
    wider = web_app(server, contoso).acquire_token_by_refresh_token(
        result["refresh_token"], ["Calendars.ReadWrite"])
    assert_aad_error(wider, "invalid_grant", 65001)
    assert wider["suberror"] == "consent_required"


# -- resource owner password credentials ---------------------------------------------------------
def test_username_password_needs_consent_then_works(server: HubServer) -> None:
    contoso = tenant_of(server.hub, "contoso")
    user = member(contoso)
    before = desktop_app(server, contoso).acquire_token_by_username_password(
        user.upn, user.password, READ)
    assert_aad_error(before, "invalid_grant", 65001)
    identity_admin.grant_admin_consent(server.hub, contoso, public(contoso).client_id, READ)
    result = desktop_app(server, contoso).acquire_token_by_username_password(
        user.upn, user.password, READ)
    assert "access_token" in result, result
    assert result["id_token_claims"]["preferred_username"] == user.upn
    assert verified(server, result["access_token"])["scp"] == "Calendars.Read"
    entry = server.hub.world.audit.query(operation="token:password")[-1]
    assert entry.user == user.upn and "Calendars.Read" in entry.scopes


def test_username_password_with_bad_password_is_50126(server: HubServer) -> None:
    contoso = tenant_of(server.hub, "contoso")
    identity_admin.grant_admin_consent(server.hub, contoso, public(contoso).client_id, READ)
    result = desktop_app(server, contoso).acquire_token_by_username_password(
        member(contoso).upn, "not-my-password", READ)
    assert_aad_error(result, "invalid_grant", 50126)


# -- v2 admin consent endpoint ---------------------------------------------------------------------
def admin_consent_url(server: HubServer, tenant: MsTenant, scope: str) -> str:
    query = urlencode({"client_id": confidential(tenant).client_id, "scope": scope,
                       "redirect_uri": MS_REDIRECT_URI, "state": "st-1"})
    return f"{server.base_url}/{tenant.id}/v2.0/adminconsent?{query}"


def test_admin_consent_endpoint_records_tenant_wide_consent(server: HubServer) -> None:
    fabrikam = tenant_of(server.hub, "fabrikam")
    boss = admin(fabrikam)
    url = admin_consent_url(server, fabrikam, "https://graph.microsoft.com/Calendars.Read")
    with UserAgent(server.ca_bundle) as agent:
        outcome = agent.authorize(url, username=boss.upn, password=boss.password,
                                  stop_at=MS_REDIRECT_URI)
    assert outcome.params == {"admin_consent": "True", "tenant": fabrikam.id, "state": "st-1",
                              "scope": "https://graph.microsoft.com/Calendars.Read"}
    assert fabrikam.admin_consents[confidential(fabrikam).client_id] == {"Calendars.Read"}


def test_admin_consent_endpoint_refuses_a_non_admin(server: HubServer) -> None:
    fabrikam = tenant_of(server.hub, "fabrikam")
    user = member(fabrikam)
    url = admin_consent_url(server, fabrikam, "https://graph.microsoft.com/Calendars.Read")
    with UserAgent(server.ca_bundle) as agent:
        outcome = agent.authorize(url, username=user.upn, password=user.password,
                                  stop_at=MS_REDIRECT_URI)
    assert outcome.error == "access_denied"
    assert outcome.error_description and outcome.error_description.startswith("AADSTS90094")
    assert not fabrikam.admin_consents


# -- HTTP shape (Starlette test client, no TLS) ----------------------------------------------------
@pytest.fixture
def local() -> tuple[Hub, TestClient]:
    hub = Hub.seeded(42, "http://testserver")
    return hub, TestClient(Starlette(routes=identity.routes(hub)), follow_redirects=False)


def token_post(client: TestClient, tenant: str, **form: str) -> Any:
    return client.post(f"/{tenant}/oauth2/v2.0/token", data=form)


def test_discovery_document_and_keys(local: tuple[Hub, TestClient]) -> None:
    hub, client = local
    contoso = tenant_of(hub, "contoso")
    for alias in (contoso.id, contoso.key, contoso.domains[0]):
        doc = client.get(f"/{alias}/v2.0/.well-known/openid-configuration").json()
        assert doc["issuer"] == f"http://testserver/{contoso.id}/v2.0"
        assert doc["token_endpoint"] == f"http://testserver/{contoso.id}/oauth2/v2.0/token"
        assert doc["authorization_endpoint"].endswith(f"/{contoso.id}/oauth2/v2.0/authorize")
        assert set(doc["response_modes_supported"]) == {"query", "fragment", "form_post"}
    common = client.get("/common/v2.0/.well-known/openid-configuration").json()
    assert common["issuer"] == "http://testserver/{tenantid}/v2.0"
    keys = client.get(f"/{contoso.id}/discovery/v2.0/keys").json()
    assert keys == hub.signer.jwks()
    missing = client.get("/no-such-tenant/v2.0/.well-known/openid-configuration")
    assert missing.status_code == 400
    assert missing.json()["error_codes"] == [90002]
    assert [e.operation for e in hub.world.audit] == ["discovery"] * 4 + ["jwks", "discovery"]


def test_token_error_shape(local: tuple[Hub, TestClient]) -> None:
    hub, client = local
    contoso = tenant_of(hub, "contoso")
    app = confidential(contoso)
    response = client.post(f"/{contoso.id}/oauth2/v2.0/token", data={"client_id": app.client_id},
                           headers={"client-request-id": "11111111-2222-3333-4444-555555555555"})
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "invalid_request" and body["error_codes"] == [900144]
    assert body["correlation_id"] == "11111111-2222-3333-4444-555555555555"
    lines = body["error_description"].split("\r\n")
    assert lines[0] == ("AADSTS900144: The request body must contain the following parameter: "
                        "'grant_type'.")
    assert lines[1] == f"Trace ID: {body['trace_id']}"
    assert lines[2] == f"Correlation ID: {body['correlation_id']}"
    assert lines[3] == f"Timestamp: {body['timestamp']}"
    assert body["error_uri"] == "http://testserver/error?code=900144"
    assert response.headers["cache-control"] == "no-store, no-cache"


@pytest.mark.parametrize(("form", "status", "error", "code"), [
    ({"grant_type": "magic"}, 400, "unsupported_grant_type", 70003),
    ({"grant_type": "client_credentials", "scope": "Calendars.Read"}, 400, "invalid_scope",
     1002012),
    ({"grant_type": "client_credentials", "scope": "api://elsewhere/.default"}, 400,
     "invalid_resource", 500011),
    ({"grant_type": "client_credentials", "scope": "Calendars.Nonsense"}, 400, "invalid_scope",
     70011),
    ({"grant_type": "refresh_token", "refresh_token": "1.AR_forged"}, 400, "invalid_grant",
     9002313),
    ({"grant_type": "client_credentials", "scope": "https://graph.microsoft.com/.default",
      "client_secret": ""}, 401, "invalid_client", 7000218),
])
def test_token_request_errors(local: tuple[Hub, TestClient], form: dict[str, str], status: int,
                              error: str, code: int) -> None:
    hub, client = local
    contoso = tenant_of(hub, "contoso")
    app = confidential(contoso)
    data = {"client_id": app.client_id, "client_secret": app.client_secret or "", **form}
    response = token_post(client, contoso.id, **data)
    assert (response.status_code, response.json()["error"], response.json()["error_codes"]) == (
        status, error, [code])
    assert hub.world.audit.query(operation="token:")[-1].outcome == f"AADSTS{code}"


def test_client_secret_by_http_basic_and_public_client_secret(
        local: tuple[Hub, TestClient]) -> None:
    hub, client = local
    contoso = tenant_of(hub, "contoso")
    app = confidential(contoso)
    ok = client.post(f"/{contoso.id}/oauth2/v2.0/token",
                     data={"grant_type": "client_credentials",
                           "scope": "https://outlook.office365.com/.default"},
                     auth=(app.client_id, app.client_secret or ""))
    assert ok.status_code == 200
    assert unverified_claims(ok.json()["access_token"])["aud"] == EXCHANGE_RESOURCE
    pub = public(contoso)
    refused = token_post(client, contoso.id, grant_type="password", client_id=pub.client_id,
                         client_secret="anything", username="x", password="y", scope="User.Read")
    assert (refused.status_code, refused.json()["error_codes"]) == (401, [700025])


def test_authorize_errors_before_the_redirect_uri_is_trusted_render_a_page(
        local: tuple[Hub, TestClient]) -> None:
    hub, client = local
    contoso = tenant_of(hub, "contoso")
    app = confidential(contoso)
    base = {"response_type": "code", "scope": "openid Calendars.Read", "state": "s"}
    unknown = client.get(f"/{contoso.id}/oauth2/v2.0/authorize",
                         params={**base, "client_id": "00000000-0000-0000-0000-000000000000",
                                 "redirect_uri": MS_REDIRECT_URI})
    assert unknown.status_code == 400 and "AADSTS700016" in unknown.text
    wrong_uri = client.get(f"/{contoso.id}/oauth2/v2.0/authorize",
                           params={**base, "client_id": app.client_id,
                                   "redirect_uri": "https://evil.invalid/cb"})
    assert wrong_uri.status_code == 400 and "AADSTS50011" in wrong_uri.text
    assert "location" not in wrong_uri.headers
    bad_scope = client.get(f"/{contoso.id}/oauth2/v2.0/authorize",
                           params={**base, "client_id": app.client_id,
                                   "redirect_uri": MS_REDIRECT_URI, "scope": "Calendars.Bogus"})
    assert bad_scope.status_code == 302
    query = parse_qs(urlsplit(bad_scope.headers["location"]).query)
    assert query["error"] == ["invalid_scope"] and query["state"] == ["s"]
    assert query["error_description"][0].startswith("AADSTS70011")
    outcomes = [e.outcome for e in hub.world.audit.query(operation="authorize")]
    assert outcomes == ["AADSTS700016", "AADSTS50011", "AADSTS70011"]


def test_public_client_loopback_redirect_accepts_any_port_and_fragment_mode(
        local: tuple[Hub, TestClient]) -> None:
    hub, client = local
    contoso = tenant_of(hub, "contoso")
    response = client.get(f"/{contoso.id}/oauth2/v2.0/authorize", params={
        "client_id": public(contoso).client_id, "response_type": "code", "scope": "openid",
        "redirect_uri": f"{PUBLIC_CLIENT_REDIRECT}:53121", "prompt": "none",
        "response_mode": "fragment", "state": "abc"})
    assert response.status_code == 302
    location = urlsplit(response.headers["location"])
    assert location.netloc == "localhost:53121" and not location.query
    assert parse_qs(location.fragment)["error"] == ["login_required"]


CALLBACK = "https://calharness.invalid/cb"


def logout(client: TestClient, tenant: str, **params: str) -> Any:
    return client.get(f"/{tenant}/oauth2/v2.0/logout", params=params)


def assert_signed_out_without_redirect(response: Any) -> None:
    assert response.status_code == 200 and "location" not in response.headers
    assert "You signed out of your account" in response.text


def test_logout_redirects_to_a_redirect_uri_registered_for_the_named_app(
        local: tuple[Hub, TestClient]) -> None:
    hub, client = local
    contoso = tenant_of(hub, "contoso")
    app = confidential(contoso)
    app.redirect_uris.append(CALLBACK)
    for tenant, uri in ((contoso.id, MS_REDIRECT_URI), (contoso.id, CALLBACK),
                        ("common", CALLBACK)):
        response = logout(client, tenant, client_id=app.client_id, post_logout_redirect_uri=uri)
        assert response.status_code == 302 and response.headers["location"] == uri
    posted = client.post(f"/{contoso.id}/oauth2/v2.0/logout",
                         data={"client_id": app.client_id, "post_logout_redirect_uri": CALLBACK})
    assert posted.status_code == 302 and posted.headers["location"] == CALLBACK
    now = hub.world.clock.timestamp()
    hint = hub.signer.sign({"aud": app.client_id, "tid": contoso.id, "iat": int(now),
                            "exp": int(now) + 3600})
    by_hint = logout(client, contoso.id, id_token_hint=hint, post_logout_redirect_uri=CALLBACK)
    assert by_hint.status_code == 302 and by_hint.headers["location"] == CALLBACK
    entry = hub.world.audit.query(operation="logout")[-1]
    assert entry.client_id == app.client_id and entry.detail["redirected"] is True


@pytest.mark.parametrize("uri", [
    "https://evil.example/cb",
    f"{CALLBACK}.evil.example",
    f"{CALLBACK}/../x",
    f"{CALLBACK}/",
    f"{CALLBACK}?next=https://evil.example",
    "https://calharness.invalid.evil.example/cb",
    "https://CALHARNESS.invalid/cb",
    "http://calharness.invalid/cb",
])
def test_logout_does_not_redirect_to_an_unregistered_uri(
        local: tuple[Hub, TestClient], uri: str) -> None:
    hub, client = local
    contoso = tenant_of(hub, "contoso")
    app = confidential(contoso)
    app.redirect_uris.append(CALLBACK)
    assert_signed_out_without_redirect(
        logout(client, contoso.id, client_id=app.client_id, post_logout_redirect_uri=uri))
    entry = hub.world.audit.query(operation="logout")[-1]
    assert entry.detail == {"post_logout_redirect_uri": uri, "redirected": False}


def test_logout_without_a_matching_app_does_not_redirect(local: tuple[Hub, TestClient]) -> None:
    hub, client = local
    contoso, fabrikam = tenant_of(hub, "contoso"), tenant_of(hub, "fabrikam")
    app, other = confidential(contoso), confidential(fabrikam)
    pub = public(contoso)
    signer_of_someone_else = Hub.seeded(1, "http://elsewhere").signer
    now = int(hub.world.clock.timestamp())
    forged = signer_of_someone_else.sign({"aud": app.client_id, "exp": now + 3600})
    expired = hub.signer.sign({"aud": app.client_id, "exp": now - 1})
    for tenant, params in [
        (contoso.id, {}),  # no client_id, no id_token_hint
        (contoso.id, {"client_id": "00000000-0000-0000-0000-000000000000"}),
        (contoso.id, {"client_id": other.client_id}),  # registered, but in another tenant
        ("no-such-tenant", {"client_id": app.client_id}),
        (contoso.id, {"id_token_hint": forged}),
        (contoso.id, {"id_token_hint": expired}),
        (contoso.id, {"id_token_hint": "not-a-token"}),
    ]:
        assert_signed_out_without_redirect(
            logout(client, tenant, post_logout_redirect_uri=MS_REDIRECT_URI, **params))
    # exact match only: the loopback port leniency of /authorize does not apply here
    assert_signed_out_without_redirect(logout(
        client, contoso.id, client_id=pub.client_id,
        post_logout_redirect_uri=f"{PUBLIC_CLIENT_REDIRECT}:53121"))
    assert_signed_out_without_redirect(logout(client, contoso.id, client_id=app.client_id))


def test_logout_ends_the_sso_session_whether_or_not_it_redirects(
        local: tuple[Hub, TestClient]) -> None:
    hub, client = local
    contoso = tenant_of(hub, "contoso")
    user, app = member(contoso), confidential(contoso)
    sessions = identity_state(hub.world).sessions
    for uri in (MS_REDIRECT_URI, "https://evil.example/cb"):
        sessions["sid"] = SsoSession("sid", user.id, hub.world.clock.timestamp(), "ss")
        client.cookies.set("ESTSAUTH", "sid")
        response = logout(client, contoso.id, client_id=app.client_id,
                          post_logout_redirect_uri=uri)
        assert "sid" not in sessions
        assert 'ESTSAUTH="";' in response.headers["set-cookie"]
        client.cookies.clear()


def test_code_expires_after_ten_minutes(local: tuple[Hub, TestClient]) -> None:
    hub, client = local
    contoso = tenant_of(hub, "contoso")
    user, app = member(contoso), confidential(contoso)
    contoso.user_consents[(user.id, app.client_id)] = {"Calendars.Read"}
    code = hub.world.tokens.issue_code(
        issuer="microsoft", client_id=app.client_id, tenant_id=contoso.id, subject=user.id,
        scopes=["Calendars.Read", "openid"], redirect_uri=MS_REDIRECT_URI,
        issued_at=hub.world.clock.timestamp())
    hub.world.clock.advance(601)
    response = token_post(client, contoso.id, grant_type="authorization_code",
                          client_id=app.client_id, client_secret=app.client_secret or "",
                          code=code.code, redirect_uri=MS_REDIRECT_URI)
    assert response.json()["error_codes"] == [70008]


def test_faults_render_in_the_aadsts_shape(local: tuple[Hub, TestClient]) -> None:
    hub, client = local
    contoso = tenant_of(hub, "contoso")
    app = confidential(contoso)
    form = {"grant_type": "client_credentials", "client_id": app.client_id,
            "client_secret": app.client_secret or "",
            "scope": "https://graph.microsoft.com/.default"}
    hub.world.faults.add(FaultSpec(kind="throttle", provider="identity", path="/token$",
                                   retry_after=7))
    throttled = token_post(client, contoso.id, **form)
    assert throttled.status_code == 429 and throttled.headers["retry-after"] == "7"
    assert throttled.json()["error"] == "temporarily_unavailable"
    hub.world.faults.add(FaultSpec(kind="status", provider="identity", path="/token$"))
    unavailable = token_post(client, contoso.id, **form)
    assert unavailable.status_code == 503
    assert unavailable.json()["error_codes"] == [90033]
    hub.world.faults.add(FaultSpec(kind="latency", provider="identity", delay_ms=10))
    assert token_post(client, contoso.id, **form).status_code == 200
    hub.world.faults.add(FaultSpec(kind="status", provider="identity", status=500,
                                   path="/authorize$"))
    page = client.get(f"/{contoso.id}/oauth2/v2.0/authorize",
                      params={"client_id": app.client_id})
    assert page.status_code == 500 and "text/html" in page.headers["content-type"]
    assert [e.status for e in hub.world.audit] == [429, 503, 200, 500]


def test_control_functions(local: tuple[Hub, TestClient]) -> None:
    hub, _ = local
    fabrikam = tenant_of(hub, "fabrikam")
    app = confidential(fabrikam)
    identity_admin.grant_admin_consent(hub, fabrikam, app.client_id,
                                       ["https://graph.microsoft.com/Calendars.Read User.Read",
                                        "https://outlook.office365.com/EWS.AccessAsUser.All"])
    assert fabrikam.admin_consents[app.client_id] == {
        "Calendars.Read", "User.Read", "https://outlook.office365.com/EWS.AccessAsUser.All"}
    with pytest.raises(ValueError, match="Calendars.Bogus"):
        identity_admin.grant_admin_consent(hub, fabrikam, app.client_id, ["Calendars.Bogus"])
    with pytest.raises(ValueError, match="no app"):
        identity_admin.set_app_roles(hub, fabrikam, "nope", ["Calendars.Read"])
    identity_admin.set_app_roles(hub, fabrikam, app.client_id, ["Calendars.Read"])
    assert app.granted_roles == {"Calendars.Read"}
    identity_admin.set_user_consent_policy(hub, fabrikam, True, delay_seconds=0)
    assert fabrikam.user_consent_allowed(hub.world.clock.timestamp())
    identity_admin.set_user_consent_policy(hub, fabrikam, False)
    now = hub.world.clock.timestamp()
    assert fabrikam.user_consent_allowed(now)
    assert fabrikam.user_consent_allowed(now + 1801) is False


def test_state_belongs_to_the_world_and_goes_with_reset() -> None:
    hub = Hub.seeded(3, "http://testserver")
    before = identity_state(hub.world)
    hub.reset()
    assert identity_state(hub.world) is not before
