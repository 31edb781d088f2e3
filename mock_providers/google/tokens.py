"""Google's tokens and grants, kept per World (a weak mapping, so `hub.reset()` drops them).

Formats (opaque to clients, shaped like Google's):
- access tokens `ya29.a0…` (3599 s on the world clock), checked by one dict lookup;
- authorization codes `4/0A…` and refresh tokens `1//0…` (in the world's TokenRegistry with
  issuer "google");
- page and sync tokens: base64url of a small JSON payload plus an HMAC bound to what they are
  valid for (calendar, user, list kind) under a per-World secret, so a token from another
  calendar or user, or from before a reset, fails verification.

A grant is what a user consented to for one client (the union of every accepted consent). Revoking
it bumps its generation, which kills every access token minted under the older generation.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass, field
from typing import Any

from mock_providers.world.extensions import per_world

ACCESS_TOKEN_LIFETIME = 3599
REFRESH_TOKENS_PER_CLIENT = 100  # Google's limit per account per OAuth client
_MAC_BYTES = 12
_PRUNE_EVERY = 1024


@dataclass(slots=True)
class AccessToken:
    token: str
    email: str
    client_id: str
    scopes: frozenset[str]
    scope_list: tuple[str, ...]  # sorted, for audit entries
    expires_at: float
    generation: int
    offline: bool = False


@dataclass(slots=True)
class Grant:
    scopes: set[str] = field(default_factory=set)
    generation: int = 0
    refresh_tokens: list[str] = field(default_factory=list)  # oldest first


class GoogleTokens:
    def __init__(self) -> None:
        self.access: dict[str, AccessToken] = {}
        self.grants: dict[tuple[str, str], Grant] = {}  # (lower-case email, client id)
        self.secret = secrets.token_bytes(32)
        self._issued = 0

    def grant(self, email: str, client_id: str) -> Grant:
        key = (email.lower(), client_id)
        found = self.grants.get(key)
        if found is None:
            found = self.grants[key] = Grant()
        return found

    def issue_access(self, email: str, client_id: str, scopes: list[str], now: float,
                     offline: bool = False) -> AccessToken:
        self._issued += 1
        if self._issued % _PRUNE_EVERY == 0:  # amortised: long load runs stay bounded
            for stale in [t for t, a in self.access.items() if a.expires_at <= now]:
                del self.access[stale]
        grant = self.grant(email, client_id)
        token = AccessToken(token="ya29.a0" + secrets.token_urlsafe(96), email=email.lower(),
                            client_id=client_id, scopes=frozenset(scopes),
                            scope_list=tuple(sorted(set(scopes))),
                            expires_at=now + ACCESS_TOKEN_LIFETIME,
                            generation=grant.generation, offline=offline)
        self.access[token.token] = token
        return token

    def lookup(self, token: str, now: float) -> AccessToken | None:
        found = self.access.get(token)
        if found is None or now >= found.expires_at:
            return None
        grant = self.grants.get((found.email, found.client_id))
        if grant is None or grant.generation != found.generation:
            return None
        return found

    def revoke(self, email: str, client_id: str) -> Grant:
        grant = self.grant(email, client_id)
        grant.generation += 1
        grant.scopes.clear()
        return grant

    # -- page and sync tokens --------------------------------------------------------------------
    def mint(self, kind: str, bound_to: str, payload: list[Any]) -> str:
        data = json.dumps([kind, *payload], separators=(",", ":")).encode()
        mac = hmac.new(self.secret, kind.encode() + b"\0" + bound_to.encode() + b"\0" + data,
                       hashlib.sha256).digest()[:_MAC_BYTES]
        return base64.urlsafe_b64encode(data + mac).decode().rstrip("=")

    def open(self, kind: str, bound_to: str, token: str) -> list[Any] | None:
        """The payload of a token minted here for (kind, bound_to), else None."""
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        except (binascii.Error, ValueError):
            return None
        data, mac = raw[:-_MAC_BYTES], raw[-_MAC_BYTES:]
        expected = hmac.new(self.secret, kind.encode() + b"\0" + bound_to.encode() + b"\0" + data,
                            hashlib.sha256).digest()[:_MAC_BYTES]
        if len(raw) <= _MAC_BYTES or not hmac.compare_digest(mac, expected):
            return None
        try:
            decoded = json.loads(data)
        except (json.JSONDecodeError, UnicodeDecodeError):
            return None
        if not isinstance(decoded, list) or not decoded or decoded[0] != kind:
            return None
        return decoded[1:]


google_tokens = per_world(GoogleTokens)


def new_code() -> str:
    return "4/0A" + secrets.token_urlsafe(54)


def new_refresh_token() -> str:
    return "1//0" + secrets.token_urlsafe(72)


def subject_id(email: str) -> str:
    """Google's `sub`: a stable 21-digit number per account."""
    digest = int.from_bytes(hashlib.sha256(email.lower().encode()).digest()[:9], "big")
    return "1" + str(digest).zfill(22)[-20:]
