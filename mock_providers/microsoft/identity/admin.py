"""What an Entra admin (or the user) does outside the protocol, for the control API: change a
password, revoke sign-in sessions, set the user-consent policy, grant tenant-wide consent, set an
app's application permissions. `IdentityAdmin` offers them as `mock_providers.hub.MicrosoftAdmin`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from mock_providers.microsoft.identity.state import end_sessions
from mock_providers.microsoft.scopes import ScopeError, canonical_scopes, split_scope
from mock_providers.world import MsTenant, MsUser

if TYPE_CHECKING:
    from mock_providers.hub import Hub


def change_password(hub: Hub, user: MsUser, new_password: str) -> None:
    """New password; refresh tokens and SSO sessions from before it stop working (AADSTS50173)."""
    if not new_password:
        raise ValueError("the new password must not be empty")
    user.password = new_password
    user.tokens_valid_after = hub.world.clock.timestamp()
    user.tokens_invalid_reason = "password"
    end_sessions(hub.world, user)


def revoke_sessions(hub: Hub, user: MsUser) -> None:
    """revokeSignInSessions: every refresh token and SSO session of the user dies (AADSTS70008)."""
    user.tokens_valid_after = hub.world.clock.timestamp()
    user.tokens_invalid_reason = "revoked"
    hub.world.tokens.revoke_subject("microsoft", user.id)
    end_sessions(hub.world, user)


def set_user_consent_policy(hub: Hub, tenant: MsTenant, allowed: bool,
                            delay_seconds: int = 1800) -> None:
    """Entra applies consent-policy changes after a propagation delay (30 minutes by default)."""
    if delay_seconds < 0:
        raise ValueError("delay_seconds must be zero or positive")
    now = hub.world.clock.timestamp()
    tenant.user_consent_allowed(now)  # settle an earlier pending change first
    if delay_seconds == 0:
        tenant.users_may_consent = allowed
        tenant.pending_users_may_consent = None
    else:
        tenant.pending_users_may_consent = (allowed, now + delay_seconds)


def withdraw_user_consent(hub: Hub, user: MsUser, client_id: str) -> bool:
    """The user removes the app's permissions (My Apps > Manage > Revoke permissions): their
    own delegated grant goes; a refresh then fails with AADSTS65001 unless an admin consented
    for the tenant. False when the user had granted the app nothing."""
    tenant = hub.world.tenant(user.tenant_id)
    if tenant is None or client_id not in tenant.apps:
        raise ValueError(f"no app {client_id!r} in the user's tenant")
    return tenant.user_consents.pop((user.id, client_id), None) is not None


def grant_admin_consent(hub: Hub, tenant: MsTenant, client_id: str, scopes: list[str]) -> None:
    """Tenant-wide consent to delegated `scopes` (any form: `Calendars.Read`,
    `https://graph.microsoft.com/Calendars.Read`, …); raises ValueError for an unknown app/scope."""
    if client_id not in tenant.apps:
        raise ValueError(f"no app {client_id!r} in tenant {tenant.key!r}")
    entries = _canonical_or_value_error([s for value in scopes for s in split_scope(value)])
    tenant.admin_consents.setdefault(client_id, set()).update(entries)


def set_app_roles(hub: Hub, tenant: MsTenant, client_id: str, roles: list[str]) -> None:
    """Replace the application permissions granted to the app (what client_credentials carries)."""
    app = tenant.apps.get(client_id)
    if app is None:
        raise ValueError(f"no app {client_id!r} in tenant {tenant.key!r}")
    app.granted_roles = set(roles)


@dataclass(frozen=True)
class IdentityAdmin:
    """The control API's view of the operations above (`mock_providers.hub.MicrosoftAdmin`)."""

    hub: Hub

    def change_password(self, user: MsUser, new_password: str) -> None:
        change_password(self.hub, user, new_password)

    def revoke_sessions(self, user: MsUser) -> None:
        revoke_sessions(self.hub, user)

    def set_user_consent_policy(self, tenant: MsTenant, allowed: bool,
                                delay_seconds: int = 1800) -> None:
        set_user_consent_policy(self.hub, tenant, allowed, delay_seconds)

    def grant_admin_consent(self, tenant: MsTenant, client_id: str, scopes: list[str]) -> None:
        grant_admin_consent(self.hub, tenant, client_id, scopes)

    def withdraw_user_consent(self, user: MsUser, client_id: str) -> bool:
        return withdraw_user_consent(self.hub, user, client_id)

    def set_app_roles(self, tenant: MsTenant, client_id: str, roles: list[str]) -> None:
        set_app_roles(self.hub, tenant, client_id, roles)


def _canonical_or_value_error(scopes: list[str]) -> set[str]:
    try:
        return canonical_scopes(scopes)
    except ScopeError as exc:
        detail = exc.fields.get("scope") or exc.fields.get("resource") or ""
        raise ValueError(f"not a known delegated permission or resource: {detail!r}") from None
