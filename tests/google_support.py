"""Shared by the Google mock tests: the real authorization-code flow through the sign-in pages."""

from __future__ import annotations

import base64
import hashlib
import secrets
from urllib.parse import urlencode

from google.oauth2.credentials import Credentials

from harness.net import pinned_session
from harness.useragent import UserAgent
from mock_providers.server import HubServer
from mock_providers.world import GoogleUser
from mock_providers.world.seed import GOOGLE_REDIRECT_URI


def users_of(server: HubServer) -> list[GoogleUser]:
    return [u for d in server.hub.world.google_domains.values() for u in d.users.values()]


def connect(server: HubServer, user: GoogleUser, scopes: list[str]) -> Credentials:
    """The real authorization-code flow (PKCE, offline) through the sign-in pages."""
    client = next(iter(server.hub.world.google_clients.values()))
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(
        hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    query = urlencode({"client_id": client.client_id, "redirect_uri": GOOGLE_REDIRECT_URI,
                       "response_type": "code", "scope": " ".join(scopes),
                       "access_type": "offline", "prompt": "consent",
                       "code_challenge": challenge, "code_challenge_method": "S256"})
    with UserAgent(server.ca_bundle) as ua:
        outcome = ua.authorize(f"{server.base_url}/google/o/oauth2/v2/auth?{query}",
                               username=user.email, password=user.password,
                               stop_at=GOOGLE_REDIRECT_URI)
    assert outcome.code, outcome
    token_uri = f"{server.base_url}/google/token"
    reply = pinned_session(server.ca_bundle).post(token_uri, data={
        "grant_type": "authorization_code", "code": outcome.code, "code_verifier": verifier,
        "redirect_uri": GOOGLE_REDIRECT_URI, "client_id": client.client_id,
        "client_secret": client.client_secret}).json()
    return Credentials(reply["access_token"], refresh_token=reply["refresh_token"],
                       token_uri=token_uri, client_id=client.client_id,
                       client_secret=client.client_secret)
