"""Who may change what: account owner and admins manage the account and its groups; a user may
change their own user-level settings (so may the owner and admins)."""

from __future__ import annotations

from harness.reference.policy.refusal import Refusal

ADMIN_ROLES = frozenset({"owner", "admin"})


def is_admin(role: str | None) -> bool:
    return role in ADMIN_ROLES


def may_change(level: str, actor: str, role: str | None, target: str | None) -> Refusal | None:
    if role is None:
        return Refusal("not_a_member", f"{actor} is not a user of this account")
    if level in ("account", "group"):
        if is_admin(role):
            return None
        where = "account settings" if level == "account" else "group settings"
        return Refusal("not_an_admin", f"{actor} is not the account owner or an admin; only they "
                                       f"can change {where}")
    if is_admin(role) or (target or "").lower() == actor.lower():
        return None
    return Refusal("not_allowed", f"{actor} may change only their own settings; another user's "
                                  "settings are changed by that user, the account owner or an "
                                  "admin")
