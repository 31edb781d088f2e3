"""The Google OAuth 2.0 / OpenID Connect mock over TLS, driven by the harness's user agent (the
sign-in and consent pages) and by google-auth unchanged (refresh, id_token verification)."""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Iterator
from typing import Any, Literal
from urllib.parse import urlencode

import pytest
import requests
from google.auth.exceptions import RefreshError
from google.auth.transport.requests import Request
from google.oauth2 import id_token
from google.oauth2.credentials import Credentials

from harness.control_client import ControlClient
from harness.net import pinned_session
from harness.useragent import AuthorizationOutcome, UserAgent
from mock_providers.google.tokens import ACCESS_TOKEN_LIFETIME
from mock_providers.server import HubServer
from mock_providers.world import FaultSpec, GoogleClient, GoogleUser
from mock_providers.world.seed import GOOGLE_REDIRECT_URI

AUTH = "https://www.googleapis.com/auth/"
CAL_RO = AUTH + "calendar.readonly"
CONTACTS_RO = AUTH + "contacts.readonly"


# -- helpers --------------------------------------------------------------------------------------
def client_of(server: HubServer) -> GoogleClient:
    return next(iter(server.hub.world.google_clients.values()))


def users_of(server: HubServer) -> list[GoogleUser]:
    return [u for d in server.hub.world.google_domains.values() for u in d.users.values()]


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).decode().rstrip("=")


def auth_url(server: HubServer, scopes: list[str], challenge: str | None = None,
             **extra: str) -> str:
    params = {"client_id": client_of(server).client_id, "redirect_uri": GOOGLE_REDIRECT_URI,
              "response_type": "code", "scope": " ".join(scopes), "state": "st-123",
              "access_type": "offline", **extra}
    if challenge:
        params.update(code_challenge=challenge, code_challenge_method="S256")
    return f"{server.base_url}/google/o/oauth2/v2/auth?{urlencode(params)}"


def sign_in(server: HubServer, url: str, user: GoogleUser, *,
            consent: Literal["accept", "decline"] = "accept",
            password: str | None = None, ua: UserAgent | None = None) -> AuthorizationOutcome:
    agent = ua or UserAgent(server.ca_bundle)
    try:
        return agent.authorize(url, username=user.email, password=password or user.password,
                               consent=consent, stop_at=GOOGLE_REDIRECT_URI)
    finally:
        if ua is None:
            agent.close()


def token_request(server: HubServer, **form: str) -> requests.Response:
    client = client_of(server)
    data = {"client_id": client.client_id, "client_secret": client.client_secret, **form}
    return pinned_session(server.ca_bundle).post(f"{server.base_url}/google/token", data=data)


def exchange(server: HubServer, code: str, verifier: str | None) -> dict[str, Any]:
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": GOOGLE_REDIRECT_URI}
    if verifier:
        form["code_verifier"] = verifier
    reply = token_request(server, **form)
    assert reply.status_code == 200, reply.text
    return dict(reply.json())


def credentials(server: HubServer, tokens: dict[str, Any]) -> Credentials:
    client = client_of(server)
    return Credentials(tokens["access_token"], refresh_token=tokens.get("refresh_token"),
                       token_uri=f"{server.base_url}/google/token", client_id=client.client_id,
                       client_secret=client.client_secret)


def connect(server: HubServer, user: GoogleUser, scopes: list[str]) -> dict[str, Any]:
    verifier, challenge = pkce()
    outcome = sign_in(server, auth_url(server, scopes, challenge), user)
    assert outcome.code, outcome
    return exchange(server, outcome.code, verifier)


def userinfo(server: HubServer, access_token: str) -> requests.Response:
    return pinned_session(server.ca_bundle).get(
        f"{server.base_url}/google/oauth2/v3/userinfo",
        headers={"Authorization": f"Bearer {access_token}"})


@pytest.fixture
def server(hub_server: HubServer) -> HubServer:
    hub_server.hub.reset()
    return hub_server


@pytest.fixture
def control(server: HubServer) -> Iterator[ControlClient]:
    client = ControlClient(server.hub.control_url, server.ca_bundle,
                           server.hub.control_token)
    yield client
    client.close()


# -- discovery ------------------------------------------------------------------------------------
def test_discovery_document_points_at_the_mock(server: HubServer) -> None:
    base = f"{server.base_url}/google"
    doc = pinned_session(server.ca_bundle).get(f"{base}/.well-known/openid-configuration").json()
    assert doc["issuer"] == "https://accounts.google.com"
    assert doc["authorization_endpoint"] == f"{base}/o/oauth2/v2/auth"
    assert doc["token_endpoint"] == f"{base}/token"
    assert doc["revocation_endpoint"] == f"{base}/revoke"
    assert doc["userinfo_endpoint"] == f"{base}/v1/userinfo"
    keys = pinned_session(server.ca_bundle).get(doc["jwks_uri"]).json()["keys"]
    assert keys and keys[0]["alg"] == "RS256"


# -- the authorization code flow ------------------------------------------------------------------
def test_code_flow_with_pkce_then_refresh_with_google_auth(server: HubServer) -> None:
    user = users_of(server)[0]
    verifier, challenge = pkce()
    outcome = sign_in(server, auth_url(server, ["openid", "email", CAL_RO], challenge), user)
    assert outcome.error is None and outcome.code
    assert outcome.params["state"] == "st-123"
    assert outcome.params["scope"].split() == sorted(
        ["openid", AUTH + "userinfo.email", CAL_RO])
    assert [p.title for p in outcome.pages][:2] == ["Sign in - Google Accounts"] * 2

    tokens = exchange(server, outcome.code, verifier)
    assert tokens["access_token"].startswith("ya29.")
    assert tokens["refresh_token"].startswith("1//")
    assert tokens["token_type"] == "Bearer" and tokens["expires_in"] == ACCESS_TOKEN_LIFETIME
    session = pinned_session(server.ca_bundle)
    claims = id_token.verify_token(tokens["id_token"], Request(session),
                                   audience=client_of(server).client_id,
                                   certs_url=f"{server.base_url}/google/oauth2/v3/certs")
    assert claims["iss"] == "https://accounts.google.com" and claims["email"] == user.email

    creds = credentials(server, tokens)
    creds.refresh(Request(session))
    assert creds.valid and creds.token != tokens["access_token"]
    assert creds.refresh_token == tokens["refresh_token"]  # Google does not rotate them
    info = userinfo(server, creds.token)
    assert info.status_code == 200 and info.json()["email"] == user.email


def test_code_is_single_use_and_pkce_is_verified(server: HubServer) -> None:
    user = users_of(server)[0]
    verifier, challenge = pkce()
    outcome = sign_in(server, auth_url(server, [CAL_RO], challenge), user)
    assert outcome.code
    form = {"grant_type": "authorization_code", "code": outcome.code,
            "redirect_uri": GOOGLE_REDIRECT_URI}
    wrong = token_request(server, **form, code_verifier="x" * 50)
    assert wrong.status_code == 400
    assert wrong.json() == {"error": "invalid_grant", "error_description": "Invalid code verifier."}
    missing = token_request(server, **form)
    assert missing.json()["error_description"] == "Missing code verifier."
    assert token_request(server, **form, code_verifier=verifier).status_code == 200
    again = token_request(server, **form, code_verifier=verifier)
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"


def test_bad_client_secret_is_invalid_client_401(server: HubServer) -> None:
    reply = token_request(server, grant_type="refresh_token", refresh_token="1//0nope",
                          client_secret="GOCSPX-wrong")
    assert reply.status_code == 401
    assert reply.json() == {"error": "invalid_client", "error_description": "Unauthorized"}


def test_online_access_gives_no_refresh_token(server: HubServer) -> None:
    user = users_of(server)[0]
    outcome = sign_in(server, auth_url(server, [CAL_RO], access_type="online"), user)
    assert outcome.code
    assert "refresh_token" not in exchange(server, outcome.code, None)


# -- losing access ---------------------------------------------------------------------------------
def test_revoke_endpoint_kills_refresh_and_access_tokens(server: HubServer) -> None:
    user = users_of(server)[0]
    tokens = connect(server, user, [CAL_RO])
    session = pinned_session(server.ca_bundle)
    revoked = session.post(f"{server.base_url}/google/revoke",
                           params={"token": tokens["refresh_token"]})
    assert revoked.status_code == 200
    with pytest.raises(RefreshError, match="invalid_grant"):
        credentials(server, tokens).refresh(Request(session))
    assert userinfo(server, tokens["access_token"]).status_code == 401
    again = session.post(f"{server.base_url}/google/revoke",
                         params={"token": tokens["refresh_token"]})
    assert again.status_code == 400 and again.json()["error"] == "invalid_token"


def test_password_change_kills_refresh_tokens(server: HubServer,
                                              control: ControlClient) -> None:
    user = users_of(server)[0]
    tokens = connect(server, user, [CAL_RO])
    control.change_google_password(user.email, "N3w-Passw0rd!")
    with pytest.raises(RefreshError) as caught:
        credentials(server, tokens).refresh(Request(pinned_session(server.ca_bundle)))
    assert "invalid_grant: Token has been expired or revoked." in str(caught.value)
    # The consent survives: signing in again needs no consent page, so no refresh token unless
    # the integration asks with prompt=consent.
    again = sign_in(server, auth_url(server, [CAL_RO]), user, password="N3w-Passw0rd!")
    assert again.code and again.params["prompt"] == "none"
    assert "refresh_token" not in exchange(server, again.code, None)
    forced = sign_in(server, auth_url(server, [CAL_RO], prompt="consent"), user,
                     password="N3w-Passw0rd!")
    assert forced.code and "refresh_token" in exchange(server, forced.code, None)


def test_admin_revocation_through_the_control_api(server: HubServer,
                                                  control: ControlClient) -> None:
    user = users_of(server)[0]
    tokens = connect(server, user, [CAL_RO])
    assert control.revoke_google_grants(user.email, client_of(server).client_id) == 1
    with pytest.raises(RefreshError, match="invalid_grant"):
        credentials(server, tokens).refresh(Request(pinned_session(server.ca_bundle)))
    # The consent is gone too: the next sign-in shows the consent page again.
    outcome = sign_in(server, auth_url(server, [CAL_RO]), user)
    assert outcome.params["prompt"] == "consent"


# -- consent ---------------------------------------------------------------------------------------
def test_decline_redirects_with_access_denied(server: HubServer) -> None:
    user = users_of(server)[0]
    outcome = sign_in(server, auth_url(server, [CAL_RO]), user, consent="decline")
    assert outcome.error == "access_denied" and outcome.code is None
    assert outcome.params["state"] == "st-123"


def test_include_granted_scopes_returns_the_union(server: HubServer) -> None:
    user = users_of(server)[0]
    with UserAgent(server.ca_bundle) as ua:
        first = sign_in(server, auth_url(server, [CAL_RO]), user, ua=ua)
        assert first.params["scope"] == CAL_RO
        both = sign_in(server, auth_url(server, [CONTACTS_RO], include_granted_scopes="true"),
                       user, ua=ua)
        assert both.params["scope"].split() == [CAL_RO, CONTACTS_RO]
        assert exchange(server, str(both.code), None)["scope"].split() == [CAL_RO, CONTACTS_RO]
        # Without the flag only what was asked for; all granted already, so no consent page.
        only = sign_in(server, auth_url(server, [CONTACTS_RO]), user, ua=ua)
        assert only.params["scope"] == CONTACTS_RO and only.params["prompt"] == "none"
        assert only.pages[0].title is None  # a straight redirect: signed in, nothing to consent


def test_prompt_none_without_a_session_is_login_required(server: HubServer) -> None:
    outcome = sign_in(server, auth_url(server, [CAL_RO], prompt="none"), users_of(server)[0])
    assert outcome.error == "login_required" and outcome.params["state"] == "st-123"


def test_request_errors_render_a_page_without_a_form(server: HubServer) -> None:
    user = users_of(server)[0]
    bad_redirect = auth_url(server, [CAL_RO]).replace("calharness.invalid", "evil.example")
    outcome = sign_in(server, bad_redirect, user)
    assert outcome.callback_url is None and outcome.error == "redirect_uri_mismatch"
    assert outcome.blocked_page_title == "Error 400: redirect_uri_mismatch"
    unknown = sign_in(server, auth_url(server, [AUTH + "gmail.everything"]), user)
    assert unknown.error == "invalid_scope"
    wrong = sign_in(server, auth_url(server, [CAL_RO]), user, password="not-it")
    assert wrong.callback_url is None
    assert wrong.error_description and wrong.error_description.startswith("Wrong password")


# -- audit and faults ------------------------------------------------------------------------------
def test_audit_entries_carry_the_requested_scopes(server: HubServer) -> None:
    user = users_of(server)[0]
    asked = ["openid", "email", CAL_RO]
    since = server.hub.world.audit.last_seq
    connect(server, user, asked)
    entries = server.hub.world.audit.query(since=since, provider="google-oauth")
    by_op = {e.operation: e for e in entries}
    assert by_op["authorize"].scopes == asked
    assert by_op["authorize"].client_id == client_of(server).client_id
    assert by_op["login"].scopes == asked and by_op["login"].user == user.email
    assert by_op["consent"].scopes == asked and by_op["consent"].detail["choice"] == "accept"
    token = by_op["token:authorization_code"]
    assert token.status == 200 and token.user == user.email
    assert token.detail["granted"] == sorted(["openid", AUTH + "userinfo.email", CAL_RO])


def test_token_endpoint_fault_is_retried_by_google_auth(server: HubServer) -> None:
    tokens = connect(server, users_of(server)[0], [CAL_RO])
    server.hub.world.faults.add(FaultSpec(kind="status", provider="google-oauth", status=503,
                                          path="/google/token$", times=1))
    creds = credentials(server, tokens)
    creds.refresh(Request(pinned_session(server.ca_bundle)))
    assert creds.valid
    statuses = [e.status for e in server.hub.world.audit.query(operation="token:refresh_token")]
    assert statuses == [503, 200]
