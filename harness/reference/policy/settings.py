"""The calendar & contacts settings the documents name, and where each can be set and locked.

Values and their types live in the driver's `AccountSettings` (it is also the conformance API's
schema); this table adds what the policy engine needs: the levels a setting exists at, whether
an admin can lock it for the levels below, and the label people read in refusals.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Level = Literal["account", "group", "user"]
LEVEL_ORDER: tuple[Level, ...] = ("account", "group", "user")

_AGU: frozenset[Level] = frozenset({"account", "group", "user"})
_AG: frozenset[Level] = frozenset({"account", "group"})
_A: frozenset[Level] = frozenset({"account"})


@dataclass(frozen=True, slots=True)
class SettingSpec:
    name: str
    label: str
    levels: frozenset[Level]
    lockable: bool


def _spec(name: str, label: str, levels: frozenset[Level], lockable: bool = True) -> SettingSpec:
    return SettingSpec(name, label, levels, lockable)


# Account-only settings describe the account itself (how it signs in, its Microsoft environment,
# consent given on its behalf): a group or a user has nothing of their own to choose there, so
# there is nothing to lock either. Users choose only whether they integrate and sync.
SETTINGS: dict[str, SettingSpec] = {s.name: s for s in (
    _spec("calendar_integration", "Calendar and Contact Integration", _AGU),
    _spec("default_calendar_service", "default calendar service", _AG),
    _spec("default_contacts_service", "default contact service", _AG),
    _spec("authorize_with", "Office 365 authorization (Graph API or EWS URL)", _AG),
    _spec("ews_url", "EWS URL", _AG),
    _spec("calendar_permission", "calendar permission", _AG),
    _spec("contacts_permission", "contacts permission", _AG),
    _spec("setup_by", "who can set up the integration", _A, lockable=False),
    _spec("allowed_domains", "allowed domains", _AG),
    _spec("ask_to_integrate_on_sign_in", "ask users to integrate Office 365 on sign-in", _AG),
    _spec("consent_on_behalf_of_account",
          "consent to Office 365 permissions on behalf of the entire account", _A,
          lockable=False),
    _spec("office365_users_can_consent",
          "Office 365 users can consent to enterprise applications", _A, lockable=False),
    _spec("enforce_oauth", "enforce OAuth 2.0 for Office 365", _AG),
    _spec("bidirectional_sync", "bi-directional calendar sync", _AGU),
    _spec("auto_integrate_on_login", "automatically integrate user's calendar upon login", _A,
          lockable=False),
    _spec("mapi", "MAPI", _AG),
    _spec("office365_environment", "Office 365 environment", _A, lockable=False),
    _spec("exchange_onprem_build", "on-premises Exchange build", _A, lockable=False),
    _spec("sso_configured", "single sign-on", _A, lockable=False),
    _spec("idp_federated", "identity provider federation with Entra ID", _A, lockable=False),
)}


def label(name: str) -> str:
    spec = SETTINGS.get(name)
    return spec.label if spec else name


def levels_text(levels: frozenset[Level]) -> str:
    return " or ".join(level for level in LEVEL_ORDER if level in levels)
