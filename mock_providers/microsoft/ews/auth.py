"""Who may call EWS, as whom, and on which mailbox.

Authentication (HTTP level, 401 with Exchange's challenge headers on failure):

- `Authorization: Bearer` with a token this hub signed for the Exchange resource
  (`https://outlook.office365.com`; Graph tokens are refused as Exchange refuses a wrong audience).
  Delegated tokens need the `EWS.AccessAsUser.All` scope and act as the token's user; application
  tokens need the `full_access_as_app` role and act only through `t:ExchangeImpersonation`.
  Bearer tokens are accepted for every deployment (Exchange Online, and hybrid/on-premises
  servers set up for OAuth).
- `Authorization: Basic upn:password` for users of a tenant whose Exchange is `onpremises` or
  `hybrid` (on-premises mailboxes) while `enforce_oauth` is false. Exchange Online, or any tenant
  with `enforce_oauth`, refuses everything but a bearer token.
- No credentials: the probe exchangelib sends. The 401 offers `Bearer …` always, `Basic Realm=""`
  where Basic is allowed, and `ms-diagnostics-public`/`x-ms-diagnostics` saying Modern Auth is
  required where it is not. The probe names no mailbox, and one hub serves every tenant, so
  (documented choice) it answers for the tenant `X-AnchorMailbox` names when it names a known
  user, else for the hub as a whole: Basic is offered when any tenant allows it.

Mailbox access (per folder/item, ErrorAccessDenied as a per-message error):

- the acting user (the token's/Basic user, or the impersonated one) has full access to their own
  mailbox; another mailbox of the same tenant needs a role in that calendar's `permissions`
  (read: limitedRead, read, write, delegate*; write: write, delegate*; freeBusyRead gives no item
  access), as in the Graph mock; contacts are never shared. A mailbox of another tenant does not
  exist for the caller (ErrorNonExistentMailbox).
- private events seen by a delegate without delegateWithPrivateEventAccess are redacted exactly as
  the Graph mock documents (subject "Private Appointment" here, no body/location/attendees), and
  may not be changed or deleted; limitedRead delegates get no body.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from mock_providers.microsoft.claims import EXCHANGE_APP_ID, EXCHANGE_RESOURCE, access_context
from mock_providers.microsoft.ews.render import Rights
from mock_providers.microsoft.ews.xml import RequestRejected
from mock_providers.signing import TokenInvalid

if TYPE_CHECKING:
    from mock_providers.hub import Hub
    from mock_providers.world import Calendar, MsTenant, MsUser, World

EWS_SCOPE = "EWS.AccessAsUser.All"
APP_ROLE = "full_access_as_app"
_BEARER_CHALLENGE = (
    f'Bearer client_id="{EXCHANGE_APP_ID}", '
    'trusted_issuers="00000001-0000-0000-c000-000000000000@*", '
    'token_types="app_asserted_user_v1 service_asserted_app_v1", '
    'authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", '
    'error="invalid_token"')
_MODERN_AUTH = ('4000000;reason="Modern Auth is required: Basic authentication is disabled for '
                'this organization. Send an OAuth 2.0 bearer token.";error_category="invalid_user"')
_READ_ROLES = frozenset({"limitedRead", "read", "write", "delegateWithoutPrivateEventAccess",
                         "delegateWithPrivateEventAccess"})
_WRITE_ROLES = frozenset({"write", "delegateWithoutPrivateEventAccess",
                          "delegateWithPrivateEventAccess"})
FULL_RIGHTS = Rights(write=True, view_private=True)


@dataclass(frozen=True, slots=True)
class Principal:
    """A caller that passed authentication."""

    kind: Literal["delegated", "application", "basic"]
    tenant: MsTenant
    user: MsUser | None  # the signed-in user (None for application tokens)
    client_id: str | None
    scopes: list[str]  # scp or roles, for the audit log

    @property
    def label(self) -> str:
        return self.user.upn if self.user is not None else (self.client_id or "")


class Unauthorized(Exception):
    """An HTTP 401; `tenant` picks the challenge headers, `diagnostics` the x-ms-diagnostics."""

    def __init__(self, diagnostics: str, tenant: MsTenant | None = None) -> None:
        super().__init__(diagnostics)
        self.diagnostics, self.tenant = diagnostics, tenant


class AccessDenied(Exception):
    """Per-folder/per-item ErrorAccessDenied."""


def basic_allowed(tenant: MsTenant) -> bool:
    return tenant.exchange in ("onpremises", "hybrid") and not tenant.enforce_oauth


def _diag(code: int, reason: str, category: str = "invalid_token") -> str:
    return f'{code};reason="{reason}";error_category="{category}"'


def authenticate(hub: Hub, authorization: str | None) -> Principal:
    if not authorization or not authorization.strip():
        raise Unauthorized(_diag(2000000, "The request has no Authorization header."))
    scheme, _, value = authorization.strip().partition(" ")
    if scheme.lower() == "bearer":
        return _bearer(hub, value.strip())
    if scheme.lower() == "basic":
        return _basic(hub.world, value.strip())
    raise Unauthorized(_diag(2000000, f"The authentication scheme '{scheme}' is not supported."))


def _bearer(hub: Hub, token: str) -> Principal:
    try:
        claims = hub.signer.verify(token, now=hub.world.clock.timestamp())
    except TokenInvalid as exc:
        if exc.reason == "expired":
            raise Unauthorized(_diag(2000001, "The token has expired.")) from None
        raise Unauthorized(_diag(2000001, "The token is not valid.")) from None
    try:
        ctx = access_context(claims)
    except (KeyError, TypeError):
        raise Unauthorized(_diag(2000001, "The token is not valid.")) from None
    tenant = hub.world.tenant(ctx.tenant_id)
    if ctx.resource != EXCHANGE_RESOURCE:
        raise Unauthorized(_diag(
            2000003, f"The audience claim value '{claims.get('aud', '')}' is invalid. Expected "
            f"'{EXCHANGE_RESOURCE}'.", "invalid_resource"), tenant)
    if tenant is None:
        raise Unauthorized(_diag(2000001, "The token's tenant does not exist."))
    if ctx.kind == "application":
        if APP_ROLE not in ctx.roles:
            raise _no_permissions(tenant)
        return Principal("application", tenant, None, ctx.client_id, sorted(ctx.roles))
    user = hub.world.ms_user(ctx.user_id or "")
    if user is None or user.tenant_id != tenant.id:
        raise Unauthorized(_diag(2000001, "The token's user does not exist."), tenant)
    if EWS_SCOPE not in ctx.scopes:
        raise _no_permissions(tenant)
    return Principal("delegated", tenant, user, ctx.client_id, sorted(ctx.scopes))


def _no_permissions(tenant: MsTenant) -> Unauthorized:
    return Unauthorized(_diag(2000008, "The token contains no permissions, or permissions can "
                              "not be understood.", "invalid_grant"), tenant)


def _basic(world: World, value: str) -> Principal:
    try:
        login, sep, password = base64.b64decode(value, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise Unauthorized(_diag(2000000, "The Basic credentials are malformed.")) from None
    user = world.ms_user(login.split("\\")[-1]) if sep else None
    tenant = world.tenant(user.tenant_id) if user is not None else None
    if user is None or tenant is None:
        raise Unauthorized(_diag(2000000, "The user name or password is incorrect."))
    if not basic_allowed(tenant):
        raise Unauthorized(_MODERN_AUTH, tenant)
    if not hmac.compare_digest(password.encode(), user.password.encode()):
        raise Unauthorized(_diag(2000000, "The user name or password is incorrect."), tenant)
    return Principal("basic", tenant, user, None, [])


def challenge_headers(world: World, unauthorized: Unauthorized,
                      anchor: str | None = None) -> list[tuple[str, str]]:
    """The 401 headers Exchange sends for this tenant (or, unknown, for the hub as a whole)."""
    tenant = unauthorized.tenant
    if tenant is None and anchor:
        anchored = world.ms_user(anchor.strip())
        tenant = world.tenant(anchored.tenant_id) if anchored is not None else None
    if tenant is not None:
        basic = basic_allowed(tenant)
    else:
        basic = any(basic_allowed(t) for t in world.ms_tenants.values())
    headers = [("WWW-Authenticate", _BEARER_CHALLENGE)]
    if basic:
        headers.append(("WWW-Authenticate", 'Basic Realm=""'))
        headers.append(("x-ms-diagnostics", unauthorized.diagnostics))
    else:
        headers.append(("x-ms-diagnostics", unauthorized.diagnostics))
        headers.append(("ms-diagnostics-public", _MODERN_AUTH))
    return headers


# -- which mailbox the request acts as ---------------------------------------------------------
def acting_user(world: World, principal: Principal, impersonate: str | None) -> MsUser:
    """The user whose rights every folder and item check uses."""
    if impersonate is None:
        if principal.user is None:
            raise RequestRejected("ErrorInvalidExchangeImpersonationHeaderData",
                               "ExchangeImpersonation SOAP header must be present for this type "
                               "of OAuth token.")
        return principal.user
    if principal.kind != "application":
        raise RequestRejected("ErrorImpersonateUserDenied",
                           "The account does not have permission to impersonate the requested "
                           "user.")
    target = world.ms_user(impersonate)
    if target is None or target.tenant_id != principal.tenant.id:
        raise RequestRejected("ErrorNonExistentMailbox",
                           "The SMTP address has no mailbox associated with it.")
    return target


def mailbox_owner(world: World, acting: MsUser, address: str | None) -> MsUser | None:
    """The owner of the mailbox a t:Mailbox names (the acting user's when none): None when no
    such mailbox exists for this caller (ErrorNonExistentMailbox)."""
    if not address:
        return acting
    owner = world.ms_user(address.strip())
    if owner is None or owner.tenant_id != acting.tenant_id:
        return None
    return owner


def calendar_rights(acting: MsUser, owner: MsUser, calendar: Calendar, write: bool) -> Rights:
    """The acting user's rights on `calendar`; AccessDenied when it has none (or no write)."""
    if acting.id == owner.id:
        return FULL_RIGHTS
    role = calendar.permissions.get(acting.upn.lower())
    if role is None or role not in (_WRITE_ROLES if write else _READ_ROLES):
        raise AccessDenied()
    private = role == "delegateWithPrivateEventAccess"
    return Rights(write=role in _WRITE_ROLES, view_private=private, redact_private=not private,
                  limited=role == "limitedRead")


def contacts_rights(acting: MsUser, owner: MsUser) -> Rights:
    if acting.id != owner.id:
        raise AccessDenied()
    return FULL_RIGHTS


def root_visible(acting: MsUser, owner: MsUser) -> Rights:
    """The mailbox root of another user is visible once they shared their calendar with us."""
    if acting.id == owner.id:
        return FULL_RIGHTS
    if not any(acting.upn.lower() in c.permissions for c in owner.mailbox.calendars.values()):
        raise AccessDenied()
    return Rights(write=False, view_private=False)
