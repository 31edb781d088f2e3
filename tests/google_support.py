"""Shared by the Google mock tests: the real authorization-code flow through the sign-in pages."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import socket
import ssl
from typing import Any
from urllib.parse import urlencode

from google.oauth2.credentials import Credentials

from harness.net import pinned_session
from harness.useragent import UserAgent
from mock_providers.server import HubServer
from mock_providers.world import GoogleUser
from mock_providers.world.seed import GOOGLE_REDIRECT_URI


def users_of(server: HubServer) -> list[GoogleUser]:
    return [u for d in server.hub.world.google_domains.values() for u in d.users.values()]


def connect(server: HubServer, user: GoogleUser, scopes: list[str], prefix: str = "/google"
            ) -> Credentials:
    """The real authorization-code flow (PKCE, offline) through the sign-in pages; `prefix` ""
    signs in at the hub root, at accounts.google.com's and oauth2.googleapis.com's paths."""
    client = next(iter(server.hub.world.google_clients.values()))
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(
        hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    query = urlencode({"client_id": client.client_id, "redirect_uri": GOOGLE_REDIRECT_URI,
                       "response_type": "code", "scope": " ".join(scopes),
                       "access_type": "offline", "prompt": "consent",
                       "code_challenge": challenge, "code_challenge_method": "S256"})
    with UserAgent(server.ca_bundle) as ua:
        outcome = ua.authorize(f"{server.base_url}{prefix}/o/oauth2/v2/auth?{query}",
                               username=user.email, password=user.password,
                               stop_at=GOOGLE_REDIRECT_URI)
    assert outcome.code, outcome
    token_uri = f"{server.base_url}{prefix}/token"
    reply = pinned_session(server.ca_bundle).post(token_uri, data={
        "grant_type": "authorization_code", "code": outcome.code, "code_verifier": verifier,
        "redirect_uri": GOOGLE_REDIRECT_URI, "client_id": client.client_id,
        "client_secret": client.client_secret}).json()
    return Credentials(reply["access_token"], refresh_token=reply["refresh_token"],
                       token_uri=token_uri, client_id=client.client_id,
                       client_secret=client.client_secret)


def access_token(server: HubServer, user: GoogleUser, scopes: list[str]) -> str:
    """A bearer token for `user`, from the real sign-in flow."""
    token = connect(server, user, scopes).token
    assert token
    return token


class RawConnection:
    """One HTTP/1.1 request over its own TLS connection, sent in pieces on demand: the headers
    and part of a body now, the rest later. What a slow client (or a slow network) does, and the
    only way to make a write's body arrive while other requests complete."""

    def __init__(self, server: HubServer, timeout: float = 20.0) -> None:
        host, port = server.host, server.hub.base_url.rsplit(":", 1)[1]
        context = ssl.create_default_context(cafile=server.ca_bundle)
        raw = socket.create_connection((host, int(port)), timeout=timeout)
        self.sock = context.wrap_socket(raw, server_hostname=host)
        self.host = f"{host}:{port}"

    def start(self, method: str, path: str, token: str, body: bytes = b"",
              headers: dict[str, str] | None = None, send: int | None = None,
              length: int | None = None) -> None:
        """Headers and the first `send` bytes of `body` (all of it when None); `length` declares
        a Content-Length other than the body's."""
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}",
                 f"Authorization: Bearer {token}", "Connection: close"]
        if body or length is not None or method in ("POST", "PUT", "PATCH"):
            declared = len(body) if length is None else length
            lines += ["Content-Type: application/json", f"Content-Length: {declared}"]
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        self.rest = body[send:] if send is not None else b""
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + body[:send])

    def finish(self) -> tuple[int, Any]:
        """The rest of the body, then the response: (status, parsed JSON body or None)."""
        if self.rest:
            self.sock.sendall(self.rest)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = self.sock.recv(65536)
            assert chunk, "connection closed before the response headers"
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip())
        while len(body) < length:
            chunk = self.sock.recv(65536)
            assert chunk, "connection closed before the response body"
            body += chunk
        self.sock.close()
        return status, json.loads(body) if body else None


def request(server: HubServer, method: str, path: str, token: str, body: Any = None,
            headers: dict[str, str] | None = None) -> tuple[int, Any]:
    """One whole request through a RawConnection."""
    conn = RawConnection(server)
    conn.start(method, path, token, json.dumps(body).encode() if body is not None else b"",
               headers)
    return conn.finish()
