"""The SSO integration's prerequisite "Role as an administrator in Office 365" (SSO-05): who
may switch the SSO-based integration on, as the admin's sign-in at Microsoft showed."""

from harness.reference.mutants.core import mutant

ROLES = "harness.reference.policy.entra_roles"
STORE = "harness.reference.store"


def _account_role_taken_for_microsoft_role(original):
    """The check reads "an administrator" as the account's own admin role: an account owner or
    admin counts as an Office 365 admin, whatever Microsoft said of their Entra role."""

    def sso_admin_refusal(actor, switched_on, office365_admin):
        return original(actor, switched_on, True if office365_admin is not None else None)

    return sso_admin_refusal


MUTANTS = [
    mutant(
        "sso-office365-admin-not-required",
        "SSO-05",
        "the SSO integration's settings are switched on by any account admin, without the "
        "role as an administrator in Office 365",
        (f"{ROLES}:sso_admin_refusal", lambda _: lambda actor, switched_on, admin: None),
    ),
    mutant(
        "sso-any-microsoft-sign-in-is-admin",
        "SSO-05",
        "any sign-in at Microsoft makes the member an Office 365 admin: the Entra roles of "
        "their ID token are not read",
        (f"{ROLES}:sso_admin_refusal", _account_role_taken_for_microsoft_role),
    ),
]


SIGNIN = "harness.reference.service.signin"
SETUP = "harness.reference.service.setup"
MEETINGS = "harness.reference.service.meetings"


def _login_authorizes_calendar_only(original):
    """Automatic integration upon login collects a token for the calendar only: the set-up
    it starts asks no contacts permission."""
    from harness.api.models import ConnectRequest

    def sign_in(self, user, client, method):
        setup = self.setup
        auto = self.settings.settings().auto_integrate_on_login

        class _CalendarOnly:
            def begin_connect(self, who, request):
                if auto and request.contacts is None:
                    request = ConnectRequest(service=request.service, calendar=request.calendar,
                                             contacts="none", password=request.password)
                return setup.begin_connect(who, request)

            def __getattr__(self, name):
                return getattr(setup, name)

        self.setup = _CalendarOnly()
        try:
            return original(self, user, client, method)
        finally:
            self.setup = setup

    return sign_in


def _login_integration_not_read(original):
    """After the automatic integration upon login the calendar and contacts are not read: the
    desktop client stays empty until the next periodic sync."""

    def _after_connect(self, user):
        if self.settings.settings().auto_integrate_on_login:
            return None
        return original(self, user)

    return _after_connect


def _own_list_hides_private(original):
    """The user's own meeting list applies the delegate's privacy view: their own private
    meetings show as time slots without a topic."""
    from harness.reference.policy.privacy import assistant_view

    def list_meetings(self, user, start, end):
        return assistant_view(original(self, user, start, end), False)

    return list_meetings


MUTANTS += [
    mutant(
        "sso-login-authorizes-calendar-only",
        "SSO-01",
        "automatic integration upon SSO login collects a token for the calendar only: the "
        "contacts integration is not authorized for the user",
        (f"{SIGNIN}:SignIn.sign_in", _login_authorizes_calendar_only),
    ),
    mutant(
        "sso-login-integration-not-populated",
        "SSO-02",
        "after the automatic integration upon login nothing is read until the next periodic "
        "sync: calendar and contacts are not populated at once",
        (f"{SETUP}:Setup._after_connect", _login_integration_not_read),
    ),
    mutant(
        "meeting-list-hides-own-private-meetings",
        ("SSO-03", "PERM-01"),
        "the user's own meeting list shows their private meetings as time slots without a "
        "topic (the delegate's privacy view applied to the owner)",
        (f"{MEETINGS}:Meetings.list_meetings", _own_list_hides_private),
    ),
]
