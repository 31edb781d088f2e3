"""Suite precision (issue #17): group rules on members' integrations, rules judged at the
provider (Basic credentials under Enforce OAuth, writes under read-only on every route), the
privacy rule on every sensitivity value, and MAPI unlocked under a desktop integration."""

from __future__ import annotations

from contextlib import suppress
from typing import Any

from harness.reference.mutants.core import mutant
from harness.reference.providers.base import AuthError
from harness.reference.service import convert

SETUP = "harness.reference.service.setup:Setup"
MEETINGS = "harness.reference.service.meetings:Meetings"
K = "harness.reference.policy.conformance"


def _account_default_service(original: Any) -> Any:
    """The set-up preselects the account's default service, not the user's group's."""
    def begin_connect(self: Any, user: str, request: Any) -> Any:
        if request.service is None:
            account = self.settings.settings()
            request = request.model_copy(update={"service": account.default_calendar_service})
        return original(self, user, request)
    return begin_connect


def _account_enforce_oauth(original: Any) -> Any:
    """Enforce OAuth 2.0 read from the account only: a group's setting is ignored."""
    def connect_with_password(self: Any, user: str, provider: Any, service: str,
                              calendar: str, contacts: str, password: str,
                              settings: Any) -> Any:
        account = self.settings.settings()
        return original(self, user, provider, service, calendar, contacts, password,
                        settings.model_copy(update={"enforce_oauth": account.enforce_oauth}))
    return connect_with_password


def _basic_first(original: Any) -> Any:
    """Signs in to Exchange with the mailbox password first, then refuses for Enforce OAuth."""
    def connect_with_password(self: Any, user: str, provider: Any, service: str,
                              calendar: str, contacts: str, password: str,
                              settings: Any) -> Any:
        if settings.enforce_oauth:
            with suppress(AuthError):
                provider.password_credentials(password)
        return original(self, user, provider, service, calendar, contacts, password, settings)
    return connect_with_password


def _office365_preselected(original: Any) -> Any:
    """The set-up preselects Office 365 whatever default service the admin chose."""
    def begin_connect(self: Any, user: str, request: Any) -> Any:
        if request.service is None:
            request = request.model_copy(update={"service": "office365"})
        return original(self, user, request)
    return begin_connect


def _without_legacy_notice(original: Any) -> Any:
    def service_notices(values: Any) -> Any:
        return [n for n in original(values) if "legacy" not in n]
    return service_notices


def _allowed_domain_as_typed(original: Any) -> Any:
    """The allowed-domain check compares the address's domain as typed (no case folding)."""
    from harness.reference.policy import domains

    def domain_allowed(email: str, allowed: Any) -> bool:
        entries = [domains.normalise_domain(e) for e in allowed or []]
        if not entries:
            return True
        return email.strip().rpartition("@")[2].rstrip(".") in entries
    return domain_allowed


def _group_locks_not_compared(original: Any) -> Any:
    def locked_differences(facts: Any, policy: Any) -> Any:
        return original(facts, {k: v for k, v in policy.items() if v.locked_at != "group"})
    return locked_differences


def _move_without_check_on_ews(original: Any) -> Any:
    """The EWS path checks the calendar permission on create and delete only."""
    def update_meeting(self: Any, user: str, meeting_id: str, update: Any) -> Any:
        provider, creds, status = self.acting.require(user)
        if status.service == "exchange" or status.authorize_with == "ews":
            updated = self.acting.write(
                user, creds, lambda: provider.update_event(creds, meeting_id, update))
            return convert.meeting(updated)
        return original(self, user, meeting_id, update)
    return update_meeting


def _mapi_enabled_is_enough(original: Any) -> Any:
    """A desktop MAPI integration is kept while MAPI is on, locked or not."""
    def conflicts(facts: Any, policy: Any) -> Any:
        found = original(facts, policy)
        mapi = policy.get("mapi")
        if mapi is not None and mapi.value:
            found = [c for c in found if c.kind != "mapi"]
        return found
    return conflicts


MUTANTS = [
    mutant("group-default-service-ignored", ("SVC-03", "ADMIN-05"),
           "a member's set-up preselects the account's default service, not their group's",
           (f"{SETUP}.begin_connect", _account_default_service)),
    mutant("default-service-not-preselected", "SVC-03",
           "the set-up preselects Office 365, not the default service the admin chose",
           (f"{SETUP}.begin_connect", _office365_preselected)),
    mutant("ews-legacy-notice-missing", "EWS-03",
           "choosing Office 365 with the EWS URL no longer tells the admin EWS is legacy",
           ("harness.reference.policy.rules:service_notices", _without_legacy_notice)),
    mutant("group-enforce-oauth-ignored", ("OAUTH-01", "ADMIN-05"),
           "Enforce OAuth 2.0 set for a group is ignored: its members connect with a password",
           (f"{SETUP}._connect_with_password", _account_enforce_oauth)),
    mutant("oauth-enforced-after-basic-sign-in", "OAUTH-01",
           "with Enforce OAuth 2.0 on, the mailbox password is tried at Exchange (Basic) before "
           "the set-up is refused",
           (f"{SETUP}._connect_with_password", _basic_first)),
    mutant("group-lock-difference-kept", ("LOCK-06", "LOCK-01", "LOCK-02", "LOCK-03"),
           "a group lock leaves its members' differing integrations connected and unprompted",
           (f"{K}:_locked_differences", _group_locks_not_compared)),
    mutant("read-only-move-allowed-on-ews", "PERM-02",
           "through the EWS URL (Office 365 or Exchange) a Calendar/Read integration moves and "
           "changes meetings",
           (f"{MEETINGS}.update_meeting", _move_without_check_on_ews)),
    mutant("mapi-unlock-keeps-desktop", "MAPI-02",
           "unlocking MAPI leaves the desktop MAPI integration working",
           (f"{K}:conflicts", _mapi_enabled_is_enough)),
    mutant("domain-allowed-case-sensitive", ("DOMAIN-02", "DOMAIN-04"),
           "the allowed-domain check compares an address's domain as typed: a user whose "
           "address is in mixed case is outside their own domain",
           ("harness.reference.policy.domains:domain_allowed", _allowed_domain_as_typed)),
    mutant("privacy-confidential-shown", ("PRIV-02", "PRIV-03"),
           "Office 365 events marked confidential are not treated as private",
           ("harness.reference.providers.microsoft_graph:_PRIVATE",
            lambda _: frozenset({"private"}))),
]
