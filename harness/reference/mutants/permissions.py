"""Application permissions after the set-up (APPPERM-02/04/05): the app token renewed without the
user, and what the integration does when the admin narrows the app's permissions in Entra ID."""

from harness.reference.mutants.core import mutant

TOKENS = "harness.reference.providers.msal_tokens"
CONTACTS = "harness.reference.service.contacts"


def _app_token_never_renewed(original):
    """A refused app token is asked for again from MSAL's cache, which hands back the same
    (expired) token: once it expires the integration needs someone to re-authenticate."""

    def app_token(self, force_refresh=False):
        return original(self, False)

    return app_token


def _denied_contacts_read_as_empty(original):
    """A contacts read the provider refuses is taken as an empty contact list: nothing says the
    app's narrowed permissions no longer cover contacts."""

    def list_contacts(self, user):
        items = original(self, user)
        if not items and self.status.integration_status(user).contacts_state == "denied":
            self.status.set_state(user, contacts_state="ok", message=None)
        return items

    return list_contacts


def _denied_contacts_stop_everything(original):
    """A contacts read the provider refuses is taken as the loss of the whole integration, the
    calendar included."""

    def list_contacts(self, user):
        items = original(self, user)
        status = self.status.integration_status(user)
        if not items and status.contacts_state == "denied":
            self.status.set_state(user, state="error", message=status.message)
        return items

    return list_contacts


MUTANTS = [
    mutant(
        "app-token-not-renewed",
        "APPPERM-02",
        "with application permissions the expired app token is not renewed (force_refresh "
        "ignored), so the integration asks for re-authentication as delegated ones do",
        (f"{TOKENS}:MsalClients.app_token", _app_token_never_renewed),
    ),
    mutant(
        "narrowed-contacts-read-as-empty",
        "APPPERM-04",
        "after the admin narrows the app's permissions in Entra ID, the refused contacts read "
        "is shown as an empty contact list with an ok status",
        (f"{CONTACTS}:Contacts.list_contacts", _denied_contacts_read_as_empty),
    ),
    mutant(
        "narrowed-contacts-stop-calendar",
        "APPPERM-05",
        "with only Calendars.ReadWrite left, the refused contacts read puts the whole "
        "integration in error: the calendar stops too",
        (f"{CONTACTS}:Contacts.list_contacts", _denied_contacts_stop_everything),
    ),
]
