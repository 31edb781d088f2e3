"""The reference's side of the tenant's consent rules (CONSENT-01/07, APPROVAL-02/03): what it
asks Microsoft for, which consent it records for the account, and whether a user stopped for
admin approval can try again once the tenant changed its mind.

APPROVAL-02 (the error comes from the tenant's disabled user consent) and APPROVAL-03 (the
re-enabled option counts after about 30 minutes) are rules the mock tenant enforces; what the
reference can break is asking for what needs admin consent where user consent suffices (the
error then has another cause: a permission only an admin may grant) and not sending the user
to Microsoft again after the tenant changed."""

from urllib.parse import parse_qsl, urlsplit

from harness.api.errors import DriverError
from harness.api.models import AdminConsentResult
from harness.reference.mutants.core import mutant

CONSENT = "harness.reference.service.consent"
SETUP = "harness.reference.service.setup"
GRAPH = "harness.reference.providers.microsoft_graph"


def _account_consent_judged_as_application(original):
    """With consent on behalf of the entire account, the admin's callback is judged as the
    application-permissions flow's: without Microsoft's admin_consent=True (which the
    delegated consent never carries) the account's consent is not recorded."""
    from harness.reference.store import PendingConsentRow

    def complete_admin_consent(self, actor, callback_url):
        params = dict(parse_qsl(urlsplit(callback_url).query))
        if self.settings.settings().consent_on_behalf_of_account and "error" not in params \
                and params.get("admin_consent", "").lower() != "true":
            with self.ctx.store.session() as s:
                pending = s.get(PendingConsentRow, actor.lower())
                if pending is not None:
                    s.delete(pending)
            return AdminConsentResult(granted=False, message="consent was not granted")
        return original(self, actor, callback_url)

    return complete_admin_consent


def _stopped_user_waits_for_platform_consent(original):
    """A user whose earlier sign-in never came back (stopped for admin approval) is not sent
    to Microsoft again until the Office 365 admin consents through the platform: a change in
    Entra ID (user consent re-enabled, admin consent granted there) goes unnoticed."""
    from harness.reference.store import IntegrationRow, TenantConsentRow

    def begin_connect(self, user, request):
        with self.ctx.store.session() as s:
            row = s.get(IntegrationRow, user.lower())
            stopped = row is not None and row.state == "pending" and bool(row.pending_flow) \
                and row.credentials is None
            consented = row is not None and row.tenant_id is not None and \
                s.get(TenantConsentRow, row.tenant_id) is not None
        if stopped and not consented:
            raise DriverError("admin_consent_pending",
                              "waiting for the Office 365 admin to approve this application")
        return original(self, user, request)

    return begin_connect


def _users_ask_admin_only_permission(original):
    """The users' set-up also asks User.Read.All (to resolve attendees from the directory), a
    permission only an admin can consent to: users need admin approval even in a tenant that
    lets them consent to apps."""

    def graph_scopes(calendar, contacts):
        return [*original(calendar, contacts), "User.Read.All"]

    return graph_scopes


MUTANTS = [
    mutant(
        "account-consent-judged-as-application",
        "CONSENT-01",
        "with consent on behalf of the entire account, the Office 365 admin's consent is "
        "judged by the application-permissions flow's flag and never recorded for the account",
        (f"{CONSENT}:AdminConsent.complete_admin_consent",
         _account_consent_judged_as_application),
    ),
    mutant(
        "approval-stop-not-retried",
        ("CONSENT-07", "APPROVAL-03", "CONSENT-06", "CONSENT-09", "CONSENT-02"),
        "a user stopped for admin approval is not sent to Microsoft again until the admin "
        "consents through the platform: user consent re-enabled (or admin consent granted) in "
        "Entra ID goes unnoticed",
        (f"{SETUP}:Setup.begin_connect", _stopped_user_waits_for_platform_consent),
    ),
    mutant(
        "users-ask-admin-only-permission",
        "APPROVAL-02",
        "the users' set-up also asks User.Read.All, which only an admin can consent to, so "
        "users need admin approval even where the tenant lets them consent to apps",
        (f"{GRAPH}:graph_scopes", _users_ask_admin_only_permission),
    ),
]
