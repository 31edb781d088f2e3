"""What each assertion checks, and how the providers' audit log is read.

Assertion helpers use these tables to charge a failure to the requirement the failing detail
belongs to (`harness.bdd.attribution`): a refusal's code names the rule that refuses, a Graph
scope the permission mapping it comes from, a write reaching a provider the read-only
permission it breaks.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

# The rule behind each refusal code a scenario expects (what a missing or other refusal breaks).
REFUSAL_REQUIREMENTS: dict[str, str] = {
    "locked": "LOCK-01",
    "locked_at_account": "LOCK-05",
    "locked_by_group": "LOCK-06",
    "not_an_admin": "ADMIN-04",
    "permission_not_allowed": "ADMIN-01",
    "integration_disabled": "SVC-01",
    "permissions_fixed_by_ews": "GRAPH-04",
    "graph_hybrid_unsupported": "HYBRID-01",
    "hybrid_exchange_before_cu3": "HYBRID-02",
    "ews_url_required": "HYBRID-03",
    "sso_not_configured": "SSO-04",
    "idp_not_federated": "SSO-04",
    "on_premises_unsupported": "SSO-06",
    "office365_integration_required": "SSO-07",
    "office365_only": "SSO-08",
    "users_cannot_consent": "CONSENT-11",
    "invalid_domain": "DOMAIN-05",
    "domain_not_allowed": "DOMAIN-04",
    "admin_consent_pending": "CONSENT-04",
    "oauth_enforced": "OAUTH-01",
    "credentials_refused": "OAUTH-01",
    "contacts_write_required": "PERM-04",
    "calendar_read_only": "PERM-02",
    "mapi_windows_only": "MAPI-01",
    "mapi_not_enabled": "MAPI-02",
    "mapi_not_locked": "MAPI-02",
}

# Office 365 resource scopes and the documented mapping each comes from.
SCOPE_REQUIREMENTS: dict[str, str] = {
    "Calendars.Read": "SCOPE-01",
    "Calendars.ReadWrite": "SCOPE-02",
    "Contacts.Read": "SCOPE-03",
    "Contacts.ReadWrite": "SCOPE-04",
    "EWS.AccessAsUser.All": "EWS-01",
}


def refusal_requirements(code: str) -> tuple[str, ...]:
    rid = REFUSAL_REQUIREMENTS.get(code)
    return (rid,) if rid else ()


def scope_requirements(expected: Iterable[str], actual: Iterable[str]) -> tuple[str, ...]:
    """The requirements a difference between the scopes expected and asked for breaks: each
    scope's mapping (a scope outside the documented list: SCOPE-05), and OAUTH-03 (exactly the
    scopes selected are granted)."""
    diff = set(expected) ^ set(actual)
    ids = [SCOPE_REQUIREMENTS.get(s, "SCOPE-05") for s in sorted(diff)]
    return tuple(dict.fromkeys([*ids, "OAUTH-03"]))


def write_scope_requirements(scopes: Iterable[str]) -> tuple[str, ...]:
    """A write scope asked for under read-only choices breaks the read mapping."""
    ids = []
    for scope in scopes:
        if scope.startswith("Calendars."):
            ids.append("SCOPE-01")
        elif scope.startswith("Contacts."):
            ids.append("SCOPE-03")
        else:
            ids.append("SCOPE-05")
    return tuple(dict.fromkeys([*ids, "OAUTH-03"]))


# What the admin must be told, by the words scenarios look for.
NOTICE_REQUIREMENTS: dict[str, str] = {
    "full access to the mailbox": "EWS-01",
    "legacy": "EWS-03",
    "not recommended": "EWS-03",
}


def notice_requirements(text: str, service_exchange: bool | None) -> tuple[str, ...]:
    """The rule a notice states: full mailbox access (Office 365 through the EWS URL: EWS-01,
    whose permission choices then have no effect, EWS-02; Exchange: EXCH-02) or EWS being
    legacy (EWS-03). `service_exchange` None: not known yet, every candidate."""
    for words, rid in NOTICE_REQUIREMENTS.items():
        if words in text.lower():
            if rid != "EWS-01":
                return (rid,)
            if service_exchange is None:
                return ("EWS-01", "EWS-02", "EXCH-02")
            return ("EXCH-02",) if service_exchange else ("EWS-01", "EWS-02")
    return ()


# -- writes at the providers -------------------------------------------------------------------
# Exchange Web Services operations that only read; any other operation changes the mailbox
# (CreateItem also sends meeting responses and creates contacts; MoveItem, SendItem ...).
EWS_READS = frozenset({
    "ConvertId", "GetFolder", "FindFolder", "FindItem", "GetItem", "SyncFolderItems",
    "SyncFolderHierarchy", "ResolveNames", "ExpandDL", "GetAttachment", "GetUserAvailability",
    "GetServerTimeZones", "GetRoomLists", "GetRooms", "GetUserOofSettings", "GetDelegate",
    "GetUserConfiguration", "GetUserPhoto", "GetPersona", "FindPeople", "GetInboxRules",
    "GetSharingMetadata", "GetSharingFolder", "GetReminders", "GetEvents", "Subscribe",
    "Unsubscribe", "GetStreamingEvents", "GetItemFields",
})
# Requests that use POST yet only read.
POST_READS = frozenset({"freebusy.query", "calendar.getSchedule"})
PROVIDERS_WITH_WRITES = ("graph", "ews", "google-calendar", "google-people")
_CONTACT_OPS = ("contacts.", "people.", "connections.")


def is_write(entry: dict[str, Any]) -> bool:
    """Did this request ask the provider to change something (whatever it answered)?"""
    provider, operation = entry.get("provider"), entry.get("operation") or ""
    if provider == "ews":
        # a request whose body was never read (401 before authentication) named nothing
        return bool(operation) and operation not in EWS_READS
    if provider in ("graph", "google-calendar", "google-people"):
        return entry.get("method") not in ("GET", "HEAD", "OPTIONS") and \
            operation not in POST_READS
    return False


def write_requirement(entry: dict[str, Any]) -> str:
    """Which read-only permission a write breaks: contacts (PERM-04) or calendar (PERM-02)."""
    operation = entry.get("operation") or ""
    if entry.get("provider") == "google-people" or operation.startswith(_CONTACT_OPS):
        return "PERM-04"
    detail = entry.get("detail") or {}
    if detail.get("item_kind") == "contact":
        return "PERM-04"
    return "PERM-02"


def describe(entry: dict[str, Any]) -> str:
    return f"{entry.get('provider')} {entry.get('method')} {entry.get('path')} " \
           f"({entry.get('operation')}, {entry.get('status')})"
