"""Edges the issue names that one mutant covered all together, or not at all: the room
calendar service (ROOMS-03), each re-authentication trigger on its own (OAUTH-04), and the
timing of consent changes at Microsoft (CONSENT-06/09, APPROVAL-03)."""

from datetime import UTC, timedelta

from harness.api.errors import DriverError
from harness.reference.mutants.core import mutant

BASE = "harness.reference.providers.base"
CONSENT = "harness.reference.service.consent"
SETUP = "harness.reference.service.setup"


def _through_contacts_service(original):
    """The room calendar service's authorization is built from the account's default
    *contacts* service (two settings side by side, the wrong one read): Office 365 selected
    for rooms goes elsewhere when the contacts service is not Office 365."""

    def method(self, *args):
        settings = self.settings

        class _ContactsService:
            def settings(self):
                values = settings.settings()
                return values.model_copy(
                    update={"default_calendar_service": values.default_contacts_service})

            def __getattr__(self, name):
                return getattr(settings, name)

        self.settings = _ContactsService()
        try:
            return original(self, *args)
        finally:
            self.settings = settings

    return method


def _reauth_unless_code(code):
    """`AuthError.reauth` for an implementation that knows Entra's re-authentication errors
    by their AADSTS code and misses one: that trigger is taken for a passing failure (the
    token refresh is retried later), never as needing the user."""

    def factory(original):
        return property(lambda self: original.fget(self) and code not in (self.codes or []))

    return factory


def _retry_held(minutes):
    """A user stopped for admin approval is not sent to Microsoft again until `minutes` after
    the stop, as if every consent change in Entra ID took the user-consent option's ~30 minutes
    to propagate (an admin consent granted in Entra ID is effective at once)."""
    from harness.reference.store import IntegrationRow

    def factory(original):
        def begin_connect(self, user, request):
            with self.ctx.store.session() as s:
                row = s.get(IntegrationRow, user.lower())
                stopped = row is not None and row.state == "pending" \
                    and bool(row.pending_flow) and row.credentials is None
                since = None
                if stopped:
                    at = row.updated_at if row.updated_at.tzinfo else \
                        row.updated_at.replace(tzinfo=UTC)
                    since = self.ctx.now() - at
            if since is not None and since < timedelta(minutes=minutes):
                raise DriverError("admin_consent_pending",
                                  "waiting for the tenant's consent change to propagate")
            return original(self, user, request)

        return begin_connect

    return factory


MUTANTS = [
    mutant("room-authorization-through-contacts-service", "ROOMS-03",
           "the room calendar service's admin authorization follows the default contacts "
           "service, so Office 365 selected for rooms is not what the admin authorizes",
           (f"{CONSENT}:AdminConsent.begin_admin_consent", _through_contacts_service),
           (f"{CONSENT}:AdminConsent.complete_admin_consent", _through_contacts_service)),
    mutant("reauth-password-change-missed", "OAUTH-04",
           "a refresh refused because the user's password changed (AADSTS50173) is retried as "
           "a passing failure, never flagged as needing re-authentication",
           (f"{BASE}:AuthError.reauth", _reauth_unless_code(50173))),
    mutant("reauth-revoked-sessions-missed", "OAUTH-04",
           "a refresh token revoked with the user's sessions (AADSTS70008) is retried as a "
           "passing failure, never flagged as needing re-authentication",
           (f"{BASE}:AuthError.reauth", _reauth_unless_code(70008))),
    mutant("reauth-idle-refresh-token-missed", "OAUTH-04",
           "a refresh token expired after 90 days unused (AADSTS700082) is retried as a "
           "passing failure, never flagged as needing re-authentication",
           (f"{BASE}:AuthError.reauth", _reauth_unless_code(700082))),
    mutant("reauth-consent-withdrawn-missed", "OAUTH-04",
           "a refresh refused because the user withdrew the app's permissions (AADSTS65001) "
           "is retried as a passing failure, never flagged as needing re-authentication",
           (f"{BASE}:AuthError.reauth", _reauth_unless_code(65001))),
    mutant("approval-retry-held-for-propagation", ("CONSENT-06", "CONSENT-09"),
           "after a stop for admin approval the user is held back 30 minutes, as if an admin "
           "consent granted in Entra ID took the user-consent option's time to propagate",
           (f"{SETUP}:Setup.begin_connect", _retry_held(30))),
    mutant("approval-retry-held-an-hour", ("APPROVAL-03", "CONSENT-07", "CONSENT-06",
                                           "CONSENT-09"),
           "after a stop for admin approval the user is held back an hour, longer than the "
           "~30 minutes re-enabled user consent takes to propagate",
           (f"{SETUP}:Setup.begin_connect", _retry_held(60))),
]
