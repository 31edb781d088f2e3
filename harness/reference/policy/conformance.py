"""Does a user's existing integration still match the policy?

After an admin locks a configuration, users whose integration differs (another service, another
permission level) lose access and are prompted to integrate again; after a domain restriction,
users outside the allowed domains lose it too. This module says which conflicts there are; the
integration suspends access while any remains, and the user's next set-up resolves them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from harness.reference.policy.domains import domain_allowed, email_domain
from harness.reference.policy.resolution import Resolved
from harness.reference.policy.settings import label

ConflictKind = Literal["disabled", "domain", "lock", "mapi"]


@dataclass(frozen=True, slots=True)
class IntegrationFacts:
    user: str
    service: str
    authorize_with: str | None
    calendar: str
    contacts: str
    desktop_mapi: bool = False


@dataclass(frozen=True, slots=True)
class Conflict:
    kind: ConflictKind
    message: str


def _locked_differences(facts: IntegrationFacts, policy: Mapping[str, Resolved]
                        ) -> list[Conflict]:
    compared = [("default_calendar_service", facts.service),
                ("calendar_permission", facts.calendar),
                ("contacts_permission", facts.contacts)]
    if facts.service == "office365" and not facts.desktop_mapi:
        compared.append(("authorize_with", facts.authorize_with))
    out = []
    for name, actual in compared:
        setting = policy.get(name)
        if setting is not None and setting.locked_at and setting.value != actual:
            out.append(Conflict("lock", f"the admin locked the {label(name)} to "
                                        f"{setting.value}; this integration uses {actual}"))
    return out


def conflicts(facts: IntegrationFacts, policy: Mapping[str, Resolved]) -> list[Conflict]:
    out = []
    enabled = policy.get("calendar_integration")
    if enabled is not None and not enabled.value:
        out.append(Conflict("disabled", "calendar and contacts integration is turned off for "
                                        "this user"))
    allowed = policy.get("allowed_domains")
    if allowed is not None and not domain_allowed(facts.user, allowed.value or []):
        out.append(Conflict("domain", f"the user's domain {email_domain(facts.user)} is not "
                                      "among the allowed domains"))
    out += _locked_differences(facts, policy)
    if facts.desktop_mapi:
        mapi = policy.get("mapi")
        if mapi is None or not mapi.value or not mapi.locked_at:
            out.append(Conflict("mapi", "MAPI is no longer enabled and locked by the admin"))
    return out
