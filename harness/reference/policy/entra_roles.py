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
