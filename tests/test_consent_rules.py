"""The consent rules the reference applies: who can consent for the company (by Entra directory
role) and when the platform's user-consent option may be off."""

from __future__ import annotations

from harness.reference.policy.entra_roles import (
    ADMIN_CONSENT_ROLES,
    admin_consent_refusal,
    holds_admin_role,
    sso_admin_refusal,
)
from harness.reference.policy.rules import auto_integrate_refusals

DEFAULT_USER = "b79fbf4d-3ef9-4689-8143-76b194e85509"
GLOBAL_ADMIN = "62e90394-69f5-4237-9190-012177145e10"
AUTO = {
    "default_calendar_service": "office365",
    "calendar_integration": True,
    "sso_configured": True,
    "idp_federated": True,
    "office365_environment": "full",
    "auto_integrate_on_login": True,
}


def test_only_an_admin_consent_role_consents_for_the_company() -> None:
    assert admin_consent_refusal("ann@contoso.example", [DEFAULT_USER, GLOBAL_ADMIN]) is None
    refusal = admin_consent_refusal("bob@contoso.example", [DEFAULT_USER])
    assert refusal is not None and refusal.code == "not_an_office365_admin"
    assert "not an administrator" in refusal.message
    assert admin_consent_refusal("bob@contoso.example", []) is not None
    assert GLOBAL_ADMIN in ADMIN_CONSENT_ROLES and DEFAULT_USER not in ADMIN_CONSENT_ROLES


def test_user_consent_option_may_be_off_only_after_the_company_consent() -> None:
    off = {**AUTO, "office365_users_can_consent": False}
    assert [r.code for r in auto_integrate_refusals(off)] == ["users_cannot_consent"]
    assert auto_integrate_refusals(off, company_consent=True) == []
    assert auto_integrate_refusals({**AUTO, "office365_users_can_consent": True}) == []


def test_only_a_known_office365_admin_switches_the_sso_integration_on() -> None:
    assert holds_admin_role([DEFAULT_USER, GLOBAL_ADMIN]) and not holds_admin_role([DEFAULT_USER])
    on = {"ask_to_integrate_on_sign_in"}
    assert sso_admin_refusal("ann@contoso.example", on, True) is None
    unknown = sso_admin_refusal("ann@contoso.example", on, None)
    assert unknown is not None and unknown.code == "office365_admin_required"
    assert "has not signed in at Microsoft" in unknown.message
    member = sso_admin_refusal("bob@contoso.example", on, False)
    assert member is not None and "holds no administrator role" in member.message
    # Switching it off (nothing switched on) needs no role.
    assert sso_admin_refusal("bob@contoso.example", set(), False) is None
