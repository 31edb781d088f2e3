"""Grants the identity mocks issued: authorization codes and refresh tokens (access tokens are
self-contained signed JWTs and need no registry)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field


@dataclass(slots=True)
class AuthCode:
    code: str
    issuer: str  # "microsoft" or "google"
    client_id: str
    tenant_id: str | None
    subject: str  # Microsoft oid or Google email
    scopes: list[str]
    redirect_uri: str
    issued_at: float
    code_challenge: str | None = None
    code_challenge_method: str | None = None
    nonce: str | None = None
    used: bool = False


@dataclass(slots=True)
class RefreshGrant:
    token: str
    issuer: str
    client_id: str
    tenant_id: str | None
    subject: str
    scopes: list[str]
    issued_at: float
    last_used: float
    revoked: bool = False
    extra: dict[str, str] = field(default_factory=dict)


class TokenRegistry:
    def __init__(self) -> None:
        self.codes: dict[str, AuthCode] = {}
        self.refresh: dict[str, RefreshGrant] = {}

    @staticmethod
    def new_secret(prefix: str, nbytes: int = 32) -> str:
        return prefix + secrets.token_urlsafe(nbytes)

    def issue_code(self, **fields: object) -> AuthCode:
        code = AuthCode(code=self.new_secret("M.C1_"), **fields)  # type: ignore[arg-type]
        self.codes[code.code] = code
        return code

    def issue_refresh(self, **fields: object) -> RefreshGrant:
        grant = RefreshGrant(token=self.new_secret("1.AR_"), **fields)  # type: ignore[arg-type]
        self.refresh[grant.token] = grant
        return grant

    def revoke_subject(self, issuer: str, subject: str, client_id: str | None = None) -> int:
        n = 0
        for grant in self.refresh.values():
            if (grant.issuer == issuer and grant.subject == subject and not grant.revoked
                    and (client_id is None or grant.client_id == client_id)):
                grant.revoked = True
                n += 1
        return n
