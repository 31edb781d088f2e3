"""Admin consent, who may give it, and what the users' set-up then asks Microsoft for (CONSENT,
ROOMS, APPPERM)."""

from harness.api.models import ConnectRequest
from harness.reference.mutants.core import mutant

GRAPH = "harness.reference.providers.microsoft_graph"
CONSENT = "harness.reference.service.consent"
SETUP = "harness.reference.service.setup"


def _always_prompt_consent(original):
    """The users' Graph sign-in sends prompt=consent every time: Entra then shows the consent
    page even when the admin consented for the tenant, and a user who may not consent is
    stopped for admin approval."""

    def begin_auth(self, calendar, contacts, prompt=None):
        return original(self, calendar, contacts, prompt=prompt or "consent")

    return begin_auth


def _retry_keeps_earlier_permissions(original):
    """A set-up tried again asks for the permissions of the earlier attempt, not the admin's
    current ones."""

    def begin_connect(self, user, request):
        with self.ctx.store.session() as s:
            row = self.ctx.store.integration(s, user)
            earlier = (row.calendar, row.contacts) if row is not None else None
        if earlier and request.calendar is None and request.contacts is None:
            request = ConnectRequest(
                service=request.service,
                calendar=earlier[0],
                contacts=earlier[1],
                password=request.password,
            )
        return original(self, user, request)

    return begin_connect


def _room_authorization_through(method: str):
    """The admin's authorization for the company always goes through `method` ("graph":
    OAuth 2.0, "ews"), whatever the room calendar service's choice."""

    def wrap(original):
        def begin_admin_consent(self, actor):
            settings = self.settings

            class _Forced:
                def settings(self):
                    return settings.settings().model_copy(update={"authorize_with": method})

                def __getattr__(self, name):
                    return getattr(settings, name)

            self.settings = _Forced()
            try:
                return original(self, actor)
            finally:
                self.settings = settings

        return begin_admin_consent

    return wrap


def _app_access_reported_as_chosen(original):
    """The integration reports the platform's permission choices as its access, hiding the
    wider application permissions Microsoft granted on approval."""

    def _connect_with_app_permissions(self, user, provider, service, calendar, contacts):
        from harness.reference.providers.microsoft_graph import graph_scopes

        start = original(self, user, provider, service, calendar, contacts)
        with self.ctx.store.session() as s:
            row = self.ctx.store.integration(s, user)
            if row is not None:
                row.granted_scopes = graph_scopes(calendar, contacts)
        return start

    return _connect_with_app_permissions


MUTANTS = [
    mutant(
        "admin-consent-by-any-member",
        ("CONSENT-05", "ROOMS-05"),
        "any member of the account may start the account-wide admin consent",
        (
            f"{CONSENT}:SETTINGS_ROLES",
            lambda _: frozenset({"owner", "admin", "member", "user"}),
            False,
        ),
    ),
    mutant(
        "user-sign-in-forces-consent-prompt",
        ("CONSENT-06", "CONSENT-09", "ROOMS-01"),
        "the users' Graph sign-in always sends prompt=consent, so the admin's consent for the "
        "tenant does not spare users who may not consent the admin-approval stop",
        (f"{GRAPH}:GraphProvider.begin_auth", _always_prompt_consent),
    ),
    mutant(
        "retry-keeps-earlier-permissions",
        ("CONSENT-02", "LOCK-03"),
        "a set-up tried again asks for the permissions of the earlier attempt, not the "
        "admin's current ones, so matching them to Office 365 does not help",
        (f"{SETUP}:Setup.begin_connect", _retry_keeps_earlier_permissions),
    ),
    mutant(
        "room-authorization-always-graph",
        # a consent given "through EWS" then clears Graph users, which APPROVAL-05 says it won't;
        # Office 365 is still the service authorized, so ROOMS-03 holds
        ("ROOMS-04", "APPROVAL-05"),
        "the Office 365 room calendar service's admin authorization goes through Graph even "
        "when EWS is chosen",
        (f"{CONSENT}:AdminConsent.begin_admin_consent", _room_authorization_through("graph")),
    ),
    mutant(
        "app-permissions-reported-as-chosen",
        "APPPERM-03",
        "with application permissions the integration reports the platform's permission "
        "choices as its access, not the wider roles Microsoft granted on approval",
        (f"{SETUP}:Setup._connect_with_app_permissions", _app_access_reported_as_chosen),
    ),
    mutant(
        "admin-consent-role-not-checked",
        "CONSENT-08",
        "an account admin's authorization for the company counts even when their Microsoft "
        "account holds no role that can grant admin consent (Microsoft recorded a personal "
        "consent only)",
        ("harness.reference.policy.entra_roles:admin_consent_refusal", lambda _: lambda a, r: None),
    ),
    mutant(
        "room-authorization-always-ews",
        ("APPROVAL-05", "ROOMS-04"),
        "the admin's authorization for the company goes through EWS even when OAuth 2.0 is "
        "chosen, so it never covers the Graph permissions users ask for",
        (f"{CONSENT}:AdminConsent.begin_admin_consent", _room_authorization_through("ews")),
    ),
]
