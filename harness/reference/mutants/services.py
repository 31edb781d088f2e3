"""Services and what they give access to (issue #15): the default services the admin chooses
(SVC-02), Office 365 through Graph or the EWS URL (GRAPH-01/03, EWS-01..03), Exchange through the
EWS URL or MAPI (EXCH-01/02), Google (GOOGLE-01), and what Read lets the user see (PERM-01/03)."""

from __future__ import annotations

from typing import Any

from harness.reference.mutants.core import mutant

RULES = "harness.reference.policy.rules"
SETTINGS = "harness.reference.service.settings:Settings"
G = "harness.reference.providers.google"

def _ews_url_prefilled(original: Any) -> Any:
    """A new account starts with Exchange Online's EWS URL filled in, as if EWS URL
    authorization had been chosen."""
    def setup_account(self: Any, spec: Any) -> None:
        original(self, spec)
        with self.ctx.store.session() as s:
            account = self.account(s)
            account.settings = {**account.settings,
                                "ews_url": "https://outlook.office365.com/EWS/Exchange.asmx"}
    return setup_account


def _every_office365_legacy(original: Any) -> Any:
    """The legacy warning is keyed on the service alone: Office 365 through Graph gets it too."""
    def service_notices(values: Any) -> list[str]:
        if values.get("default_calendar_service") == "office365":
            return original({**values, "authorize_with": "ews"})
        return original(values)
    return service_notices


def _full_access_for_exchange_only(original: Any) -> Any:
    """The full-mailbox notice is given for Exchange only, not for Office 365 through EWS."""
    from harness.reference.policy.rules import EWS_FULL_ACCESS

    def service_notices(values: Any) -> list[str]:
        notices = original(values)
        if values.get("default_calendar_service") != "exchange":
            notices = [n for n in notices if n != EWS_FULL_ACCESS]
        return notices
    return service_notices


def _full_access_for_office365_only(original: Any) -> Any:
    """The full-mailbox notice is given for Office 365 through EWS only, not for Exchange."""
    from harness.reference.policy.rules import EWS_FULL_ACCESS

    def service_notices(values: Any) -> list[str]:
        notices = original(values)
        if values.get("default_calendar_service") == "exchange":
            notices = [n for n in notices if n != EWS_FULL_ACCESS]
        return notices
    return service_notices


def _mapi_under_default_service(original: Any) -> Any:
    """The desktop MAPI integration is recorded under the admin's default calendar service."""
    def connect_mapi(self: Any, user: str, client: Any) -> Any:
        original(self, user, client)
        with self.ctx.store.session() as s:
            default = self.settings.resolved(s, user)["default_calendar_service"].value
            row = self.ctx.store.integration(s, user)
            if row is not None:
                row.service = str(default)
        return self.status.integration_status(user)
    return connect_mapi


def _calendar_read_not_listed(original: Any) -> Any:
    """The meeting list reads the calendar only for integrations that may write to it."""
    def read_calendar(self: Any, user: str, start: Any, end: Any) -> Any:
        acting = self.acting.get(user)
        if acting is not None and acting[2].calendar == "read":
            return []
        return original(self, user, start, end)
    return read_calendar


def _contacts_read_not_listed(original: Any) -> Any:
    """The contacts are read from the provider, then shown only for integrations with Contacts
    Write."""
    def list_contacts(self: Any, user: str) -> Any:
        entries = original(self, user)
        acting = self.acting.get(user)
        if acting is not None and acting[2].contacts == "read":
            return []
        return entries
    return list_contacts


def _contacts_service_not_saved(original: Any) -> Any:
    """The settings form saves the default calendar service and drops the contact service."""
    def change_settings(self: Any, actor: str, changes: dict[str, Any]) -> Any:
        return original(self, actor, {k: v for k, v in changes.items()
                                      if k != "default_contacts_service"})
    return change_settings


MUTANTS = [
    mutant("new-account-ews-url-prefilled", "GRAPH-01",
           "a new account starts with Exchange Online's EWS URL filled in: EWS URL "
           "authorization is not left unselected",
           (f"{SETTINGS}.setup_account", _ews_url_prefilled)),
    mutant("graph-warned-as-legacy", ("GRAPH-03", "EWS-03"),
           "choosing Office 365 with the Graph API, the recommended default, warns the admin "
           "that EWS is legacy and grants full mailbox access",
           (f"{RULES}:service_notices", _every_office365_legacy)),
    mutant("office365-ews-full-access-unsaid", ("EWS-01", "EWS-02"),
           "Office 365 authorized with the EWS URL no longer tells the admin it grants full "
           "mailbox access whatever the permissions (Exchange still does)",
           (f"{RULES}:service_notices", _full_access_for_exchange_only)),
    mutant("exchange-full-access-unsaid", "EXCH-02",
           "Exchange through the EWS URL no longer tells the admin it grants full mailbox "
           "access (Office 365 through EWS still does)",
           (f"{RULES}:service_notices", _full_access_for_office365_only)),
    mutant("mapi-recorded-as-default-service", "EXCH-01",
           "a desktop MAPI integration is recorded under the admin's default calendar service "
           "(Office 365), not as Exchange",
           ("harness.reference.service.signin:SignIn.connect_mapi",
            _mapi_under_default_service)),
    mutant("google-contacts-read-full-scope", "GOOGLE-01",
           "Contacts Read asks Google for the full contacts scope",
           (f"{G}:CONTACTS_SCOPES", lambda orig: {**orig, "read": orig["write"]})),
    mutant("calendar-read-shows-nothing", "PERM-01",
           "with Calendar/Read the meeting list stays empty: the calendar is read only for "
           "integrations that may write to it",
           ("harness.reference.service.sync:Sync.read_calendar", _calendar_read_not_listed)),
    mutant("contacts-read-shows-nothing", "PERM-03",
           "with Contacts/Read the contact list stays empty: the contacts read from the provider "
           "are shown only with Contacts Write",
           ("harness.reference.service.contacts:Contacts.list_contacts",
            _contacts_read_not_listed)),
    mutant("default-contact-service-not-saved", "SVC-02",
           "the admin's choice of default contact service is dropped when the settings are "
           "saved",
           (f"{SETTINGS}.change_settings", _contacts_service_not_saved)),
]
