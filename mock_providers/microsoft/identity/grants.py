"""The token endpoint: client authentication (secret in the form or HTTP Basic, none for public
clients), then the grants: authorization_code (with PKCE), refresh_token, client_credentials and
password, and the access, refresh and id tokens they issue.

- client_credentials for an app with no granted roles returns a token without a `roles` claim,
  as Entra does; the resource API then refuses it.
- delegated `scp` carries exactly the permissions requested (and consented), not every consented
  permission on the resource as Entra does, so a token never exceeds what the integration asked.
- refresh tokens rotate (every refresh returns a new one) but the old one stays valid until it
  expires by inactivity, is revoked, or predates a password change, as in Entra.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote_plus

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from mock_providers.microsoft.claims import (
    ACCESS_TOKEN_LIFETIME,
    app_access_claims,
    delegated_access_claims,
    directory_role_ids,
)
from mock_providers.microsoft.identity.directory import find_app, granted, resolve_tenant
from mock_providers.microsoft.identity.discovery import issuer
from mock_providers.microsoft.identity.endpoint import Endpoint, read_form
from mock_providers.microsoft.identity.errors import (
    AadError,
    Trace,
    aad_error,
    no_store_headers,
    scope_error,
    token_error_response,
)
from mock_providers.microsoft.identity.faults import DroppedResponse, fault_error, take_fault
from mock_providers.microsoft.scopes import (
    Permission,
    ScopeError,
    ScopeRequest,
    app_roles_for,
    consented_for,
    parse_scopes,
    response_scope,
    single_resource,
    split_scope,
)
from mock_providers.world import MsApp, MsTenant, MsUser, RefreshGrant

CODE_LIFETIME = 600  # seconds on the world clock
REFRESH_INACTIVITY = 90 * 86400
EXPIRES_IN = ACCESS_TOKEN_LIFETIME - 1


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _pkce_matches(challenge: str, method: str | None, verifier: str) -> bool:
    expected = verifier if method in (None, "plain") else _b64url(
        hashlib.sha256(verifier.encode()).digest())
    return hmac.compare_digest(expected, challenge)


def _pairwise_sub(oid: str, client_id: str) -> str:
    return _b64url(hashlib.sha256(f"{oid}|{client_id}".encode()).digest())


def _fmt_time(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%m/%d/%Y %H:%M:%S")


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


class TokenEndpoint(Endpoint):
    async def token(self, request: Request) -> Response:
        trace = self.trace(request)
        if request.method != "POST":  # Entra's JSON error, not the web server's plain 405
            err = aad_error(900561, method=request.method)
            self.record(request, err.status, outcome=err.outcome, operation="token")
            return token_error_response(err, trace, self.hub.base_url)
        form = await read_form(request)
        grant_type = form.get("grant_type", "")
        basic = _basic_credentials(request.headers.get("authorization"))
        principal = self.token_principal(form)
        audit: dict[str, Any] = {
            "operation": f"token:{grant_type or 'missing'}",
            "client_id": form.get("client_id") or (basic[0] if basic else None),
            "user": principal, "scopes": split_scope(form.get("scope")),
        }
        fault = await take_fault(self.hub, request, principal)
        if fault is not None and fault.spec.kind == "drop":
            self.record(request, 200, outcome="fault:drop", **audit)
            return DroppedResponse()
        try:
            if fault is not None:
                err, headers = fault_error(fault)
                raise _FaultRaised(err, headers)
            grant = TokenGrant(self, request, form, basic, trace)
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


class TokenGrant:
    """One token request: client authentication, then the grant's own checks and issuance."""

    def __init__(self, endpoint: Endpoint, request: Request, form: dict[str, str],
                 basic: tuple[str, str] | None, trace: Trace) -> None:
        self.endpoint = endpoint
        self.hub = endpoint.hub
        self.world = endpoint.world
        self.request = request
        self.form = form
        self.basic = basic
        self.trace = trace
        self.now = endpoint.now()
        self.alias = request.path_params["tenant"]
        self.app: MsApp
        self.tenant: MsTenant

    def run(self, grant_type: str) -> tuple[dict[str, Any], dict[str, Any]]:
        path_tenant = resolve_tenant(self.world, self.alias)
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
        found = find_app(self.world, path_tenant, client_id)
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
            raise scope_error(exc, self.tenant.name) from None

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
        auth_times = self.endpoint.state.code_auth_times
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
            raise scope_error(exc, self.tenant.name) from None
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
        consented = granted(self.tenant, user.id, self.app.client_id)
        asked = request.for_resource(resource)
        if any(p.is_default for p in asked):
            permissions = consented_for(resource, consented)
            if not permissions:
                raise self.consent_required()
            return permissions
        if any(p.canonical not in consented for p in asked):
            raise self.consent_required()
        return asked

    def consent_required(self) -> AadError:
        return aad_error(65001, client_id=self.app.client_id, app_name=self.app.display_name)

    def id_token_claims(self, user: MsUser, request: ScopeRequest, nonce: str | None,
                        auth_time: float | None) -> dict[str, Any]:
        issued = int(self.now)
        claims: dict[str, Any] = {
            "aud": self.app.client_id, "iss": issuer(self.hub, self.tenant.id),
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
        claims["wids"] = directory_role_ids(user)
        return claims
