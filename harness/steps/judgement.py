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
    "not_allowed": "ADMIN-04",  # a user changing settings other than their own
    "admin_setup_required": "APPPERM-01",  # application permissions the admin has not set up
    "permission_not_allowed": "ADMIN-01",
    "integration_disabled": "SVC-01",
    "permissions_fixed_by_ews": "GRAPH-04",
    "graph_hybrid_unsupported": "HYBRID-01",
    "hybrid_exchange_before_cu3": "HYBRID-02",
    "ews_url_required": "HYBRID-03",
    "sso_not_configured": "SSO-04",
    "idp_not_federated": "SSO-04",
    "on_premises_unsupported": "SSO-06",
    "office365_admin_required": "SSO-05",
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


# Two refusals whose difference is one rule's boundary: refused with one where the other was
# due, that rule is broken (the CU3 build comparison between the two hybrid refusals).
BOUNDARIES: dict[frozenset[str], str] = {
    frozenset({"graph_hybrid_unsupported", "hybrid_exchange_before_cu3"}): "HYBRID-02",
    frozenset({"locked", "permission_not_allowed"}): "LOCK-01",
}


def default_setup_failure(exc: Exception) -> tuple[str, ...]:
    """A set-up with the admin's default service that had to succeed failed with an error that
    is no refusal the documents state (the integration picked a service that cannot serve the
    user): the default service was not what the set-up used, SVC-03. () for a documented
    refusal, which its own rule answers for."""
    code = getattr(exc, "code", None)
    return () if code in REFUSAL_REQUIREMENTS else ("SVC-03",)


def refusal_requirements(code: str, actual: str | None = None) -> tuple[str, ...]:
    """The rule a refusal with `code` enforces; with the code actually given (`actual`, when
    it differs), the rule whose boundary separates the two when there is one."""
    if actual is not None and actual != code:
        boundary = BOUNDARIES.get(frozenset({code, actual}))
        if boundary:
            return (boundary,)
    rid = REFUSAL_REQUIREMENTS.get(code)
    return (rid,) if rid else ()


def _resource(scope: str) -> str:
    return scope.split(".", 1)[0]


def scope_requirements(expected: Iterable[str], actual: Iterable[str]) -> tuple[str, ...]:
    """The requirements a difference between the scopes expected and asked for breaks, and
    OAUTH-03 (exactly the scopes selected are granted): a scope expected but not asked for
    breaks its own mapping; one asked for instead of the expected scope of the same resource
    (Calendars.ReadWrite for Calendars.Read) breaks the expected one's mapping; one outside the
    documented list breaks SCOPE-05."""
    expected, actual = set(expected), set(actual)
    ids = [SCOPE_REQUIREMENTS.get(s, "SCOPE-05") for s in sorted(expected - actual)]
    for extra in sorted(actual - expected):
        counterpart = [e for e in expected if _resource(e) == _resource(extra)]
        if counterpart:
            ids += [SCOPE_REQUIREMENTS.get(c, "SCOPE-05") for c in counterpart]
        elif extra not in SCOPE_REQUIREMENTS:
            ids.append("SCOPE-05")
    return tuple(dict.fromkeys([*ids, "OAUTH-03"]))


def documented_scopes(calendar: str, contacts: str) -> set[str]:
    """The Office 365 Graph scopes the documents map these permissions to."""
    out = {"read": {"Calendars.Read"}, "write": {"Calendars.ReadWrite"}}.get(calendar, set())
    return out | {"read": {"Contacts.Read"}, "write": {"Contacts.ReadWrite"}}.get(contacts, set())


# Provider answers that mean the grant does not cover what was asked: the consent is missing
# for a scope, or the token carries no permission for the call.
# AADSTS70011: Entra rejects a scope it does not know (a misspelt one) before any grant.
GRANT_ERRORS = ("AADSTS65001", "AADSTS70011", "ErrorAccessDenied",
                "Authorization_RequestDenied", "insufficient privileges", "AccessDenied")
_OIDC = frozenset({"openid", "profile", "offline_access", "email"})


def diagnose_grant(ctx: Any, exc: BaseException) -> tuple[str, ...]:
    """A step that failed where the provider refused the integration's grant (a write the
    consent does not cover, in the step's error or in the providers' audit log): when the
    Office 365 Graph scopes the integration last asked for differ from the documented mapping
    of its permissions, the failure is the mapping's (the scope requirements), not the
    scenario's. () when that is not the cause."""
    if not getattr(ctx, "user", None):
        return ()
    try:
        identity = ctx.control.audit(since=ctx.audit_start, provider="identity")
        refused = any(code in str(exc) for code in GRANT_ERRORS) or any(
            any(code in (e.get("outcome") or "") for code in GRANT_ERRORS)
            for e in identity + ctx.control.audit(since=ctx.audit_start, provider="graph"))
        if not refused:
            return ()
        status = ctx.driver.integration_status(ctx.user)
        entries = [e for e in identity if e.get("operation") == "authorize"
                   and (e.get("user") or "").lower() in ("", ctx.user.lower())]
    except Exception:  # diagnosis is best effort: the step's own charge stands
        return ()
    if status.service != "office365" or status.authorize_with != "graph" or not entries:
        return ()
    asked = {s.rsplit("/", 1)[-1] for s in entries[-1].get("scopes") or []} - _OIDC
    expected = documented_scopes(status.calendar, status.contacts)
    return scope_requirements(expected, asked) if asked != expected else ()


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


# Why Microsoft's answer to an authorization for the company was no consent, by the words
# scenarios look for.
ADMIN_CONSENT_REFUSALS: dict[str, str] = {
    "not an administrator": "CONSENT-08",
}


def admin_consent_refusal_requirements(text: str) -> tuple[str, ...]:
    return tuple(rid for words, rid in ADMIN_CONSENT_REFUSALS.items() if words in text.lower())


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
    if detail.get("item_kind") == "contact" or "Contact" in (detail.get("items") or ()):
        return "PERM-04"
    return "PERM-02"


# How each provider names a meeting response in its audit log: Graph's actions on the event,
# the EWS response items a CreateItem carries (the EWS mock lists each CreateItem's item kinds),
# and Google's patch of the event (an attendee answers by setting their own responseStatus).
GRAPH_RESPONSES = frozenset({"events.accept", "events.tentativelyAccept", "events.decline"})
EWS_RESPONSE_ITEMS = frozenset({"AcceptItem", "TentativelyAcceptItem", "DeclineItem"})
GOOGLE_RESPONSES = frozenset({"events.patch", "events.update"})


def is_meeting_response(entry: dict[str, Any]) -> bool:
    """Is this audit entry a meeting response (whatever the provider answered)? Every one is
    also a write (`is_write`)."""
    provider, operation = entry.get("provider"), entry.get("operation") or ""
    if provider == "graph":
        return operation in GRAPH_RESPONSES
    if provider == "ews":
        items = (entry.get("detail") or {}).get("items") or ()
        return operation == "CreateItem" and any(i in EWS_RESPONSE_ITEMS for i in items)
    if provider == "google-calendar":
        return operation in GOOGLE_RESPONSES
    return False


def describe(entry: dict[str, Any]) -> str:
    return f"{entry.get('provider')} {entry.get('method')} {entry.get('path')} " \
           f"({entry.get('operation')}, {entry.get('status')})"
