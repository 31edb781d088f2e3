"""Waiting for and giving the Office 365 admin's approval (CONSENT-03/04/05, APPROVAL-01,
ROOMS-06/07, APPPERM-01): the set-up's own bookkeeping around Microsoft's answers."""

from urllib.parse import parse_qsl, urlencode, urlsplit

from harness.reference.mutants.core import mutant

CONSENT = "harness.reference.service.consent"
SETUP = "harness.reference.service.setup"


def _no_wait_for_account_consent(original):
    """With consent on behalf of the account, users are sent to Microsoft at once."""

    def _require_account_consent(self, user, provider, service, calendar, contacts):
        return None

    return _require_account_consent


def _error_taken_as_granted(original):
    """The callback's admin_consent flag is read and Microsoft's error beside it ignored."""

    def complete_admin_consent(self, actor, callback_url):
        parts = urlsplit(callback_url)
        params = dict(parse_qsl(parts.query))
        if "error" in params:
            params = {k: v for k, v in params.items() if not k.startswith("error")}
            params["admin_consent"] = "True"
            callback_url = parts._replace(query=urlencode(params)).geturl()
        return original(self, actor, callback_url)

    return complete_admin_consent


def _connected_when_started(original):
    """The integration shows as connected as soon as the user is sent to Microsoft."""

    def begin_connect(self, user, request):
        start = original(self, user, request)
        if start.authorization_url:
            with self.ctx.store.session() as s:
                row = self.ctx.store.integration(s, user)
                if row is not None:
                    row.state, row.message = "connected", None
        return start

    return begin_connect


def _silent_admin_sign_in(original):
    """The admin's authorization asks Microsoft for a silent sign-in (prompt=none) instead of
    sending the admin to the sign-in page."""

    def begin_admin_consent(self, actor):
        ctx = self.ctx

        class _Silent:
            def provider(self, *args, **kwargs):
                provider = ctx.provider(*args, **kwargs)
                begin = provider.begin_auth

                def begin_auth(calendar, contacts, prompt=None):
                    return begin(calendar, contacts, prompt="none")

                provider.begin_auth = begin_auth
                return provider

            def __getattr__(self, name):
                return getattr(ctx, name)

        self.ctx = _Silent()
        try:
            return original(self, actor)
        finally:
            self.ctx = ctx

    return begin_admin_consent


MUTANTS = [
    mutant(
        "account-consent-not-awaited",
        ("CONSENT-03", "CONSENT-04"),
        "with consent on behalf of the entire account, users are sent to Microsoft without "
        "waiting for the Office 365 admin's consent",
        (f"{SETUP}:Setup._require_account_consent", _no_wait_for_account_consent),
    ),
    mutant(
        "admin-consent-error-taken-as-granted",
        # Microsoft's refusal of an account without the admin-consent role counts as granted too
        ("CONSENT-05", "APPPERM-01", "CONSENT-08"),
        "the admin-consent callback's error is ignored: a refusal by Microsoft counts as the "
        "Office 365 admin's approval of the application permissions",
        (f"{CONSENT}:AdminConsent.complete_admin_consent", _error_taken_as_granted),
    ),
    mutant(
        "status-connected-before-callback",
        ("APPROVAL-01", "ROOMS-07"),
        "the integration shows as connected as soon as the user is sent to Microsoft, even when "
        "Microsoft stops them for admin approval",
        (f"{SETUP}:Setup.begin_connect", _connected_when_started),
    ),
    mutant(
        "admin-authorization-silent",
        ("ROOMS-06", "ROOMS-01"),
        "the admin's authorization for the company asks Microsoft for a silent sign-in "
        "(prompt=none) instead of redirecting the admin to the sign-in page",
        (f"{CONSENT}:AdminConsent.begin_admin_consent", _silent_admin_sign_in),
    ),
]
