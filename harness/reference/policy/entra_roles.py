"""Who in the Microsoft tenant can grant admin consent for the whole organisation: the Entra
built-in directory roles that may consent to delegated permissions tenant-wide, by the role
template ids the `wids` claim of the signed-in admin's ID token carries."""

from __future__ import annotations

from collections.abc import Iterable

from harness.reference.policy.refusal import Refusal

# Global Administrator, Privileged Role Administrator, Cloud Application Administrator and
# Application Administrator can grant tenant-wide admin consent to delegated permissions.
ADMIN_CONSENT_ROLES = frozenset(
    {
        "62e90394-69f5-4237-9190-012177145e10",
        "e8611ab8-c189-46e8-94e1-60213ab1f814",
        "158c047a-c907-4556-b7ef-446551a6b5f7",
        "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3",
    }
)


def admin_consent_refusal(actor: str, directory_roles: Iterable[str]) -> Refusal | None:
    """None when the signed-in Microsoft account holds a role that can grant admin consent."""
    if ADMIN_CONSENT_ROLES & set(directory_roles):
        return None
    return Refusal(
        "not_an_office365_admin",
        f"{actor} signed in at Microsoft with an account that is not an administrator "
        "who can grant admin consent for the Office 365 tenant: sign in with the "
        "Office 365 admin's account",
    )


def holds_admin_role(directory_roles: Iterable[str]) -> bool:
    """An administrator in Office 365, as the SSO integration's prerequisite means it: one of
    the roles above. The SSO integration authorizes every user's calendar and contacts, which
    is what only these roles may consent to for the tenant."""
    return bool(ADMIN_CONSENT_ROLES & set(directory_roles))


# The settings of the SSO-based Office 365 integration, by the value that leaves them off.
SSO_FEATURES = {"ask_to_integrate_on_sign_in": "off", "auto_integrate_on_login": False}


def sso_admin_refusal(actor: str, switched_on: Iterable[str],
                      office365_admin: bool | None) -> Refusal | None:
    """The SSO integration's prerequisite "Role as an administrator in Office 365": `switched_on`
    names the SSO settings a change turns on (turning them off needs no role);
    `office365_admin` is what the actor's last sign-in at Microsoft showed, None when they
    have not signed in there through the integration, so nothing is known of their role."""
    names = sorted(switched_on)
    if not names or office365_admin:
        return None
    what = " and ".join(names)
    if office365_admin is None:
        why = (f"{actor} has not signed in at Microsoft through the integration, so their "
               "Office 365 role is unknown: integrate your own Office 365 calendar (or authorize "
               "the integration for the company) with your Office 365 admin account first")
    else:
        why = (f"{actor} signed in at Microsoft with an account that holds no administrator "
               "role in Office 365")
    return Refusal("office365_admin_required",
                   f"the SSO integration ({what}) needs a role as an administrator in "
                   f"Office 365: {why}")
