"""May this user start a set-up with these choices? The checks the set-up flow makes before it
sends anyone to a provider, in the order a user would want to hear about them."""

from __future__ import annotations

from collections.abc import Mapping

from harness.reference.policy.domains import domain_allowed, email_domain
from harness.reference.policy.refusal import Refusal
from harness.reference.policy.resolution import Resolved
from harness.reference.policy.rules import graph_environment_refusal
from harness.reference.policy.settings import label

ACCESS_ORDER = {"none": 0, "read": 1, "write": 2}


def _where(setting: Resolved) -> str:
    if setting.locked_at == "account":
        return " (locked at the account level)"
    if setting.locked_at == "group":
        return f" (locked by the group {setting.locked_by})"
    return ""


def connect_refusals(user: str, policy: Mapping[str, Resolved], *, service: str | None,
                     calendar: str | None, contacts: str | None) -> list[Refusal]:
    """`service`, `calendar`, `contacts`: what the user chose (None: the admin's default)."""
    enabled = policy["calendar_integration"]
    if not enabled.value:
        return [Refusal("integration_disabled", "calendar and contacts integration is turned "
                                                f"off for this account{_where(enabled)}")]
    allowed = policy["allowed_domains"].value or []
    if not domain_allowed(user, allowed):
        return [Refusal("domain_not_allowed",
                        "only users in the allowed domains can integrate calendar and contacts; "
                        f"{email_domain(user) or user} is not one of them")]
    out = []
    for name, chosen in (("default_calendar_service", service), ("calendar_permission", calendar),
                         ("contacts_permission", contacts)):
        setting = policy[name]
        if chosen is not None and setting.locked_at and chosen != setting.value:
            out.append(Refusal("locked", f"the admin locked the {label(name)} to "
                                         f"{setting.value}{_where(setting)}: users must use it, "
                                         f"not {chosen}"))
    if out:
        return out
    for name, chosen in (("calendar_permission", calendar), ("contacts_permission", contacts)):
        if chosen is not None and ACCESS_ORDER[chosen] > ACCESS_ORDER[policy[name].value]:
            return [Refusal("permission_not_allowed",
                            "the requested permissions exceed what the admin allows")]
    chosen_service = service or policy["default_calendar_service"].value
    if chosen_service == "office365" and policy["authorize_with"].value == "graph":
        refusal = graph_environment_refusal(policy["office365_environment"].value,
                                            policy["exchange_onprem_build"].value)
        if refusal is not None:
            return [refusal]
    return []
