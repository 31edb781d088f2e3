"""Prerequisites of a set-up and what an integration may do (HYBRID, MAPI, PERM, SVC, GRAPH,
OAUTH-04)."""

from harness.reference.mutants.core import mutant

RULES = "harness.reference.policy.rules"
SETUP = "harness.reference.policy.setup"


def _writer_without_check(original):
    def _writer(self, user):
        provider, creds, _status = self.acting.require(user)
        return provider, creds
    return _writer


def _respond_without_check(original):
    """Answers invitations through the integration without the read-only check (a respond
    path added later than the other writes, which forgot `_writer`)."""
    def respond_to_meeting(self, user, meeting_id, response):
        provider, creds, _status = self.acting.require(user)
        self.acting.write(user, creds,
                          lambda: provider.respond_event(creds, meeting_id, response))
    return respond_to_meeting


def _respond_then_refuse(original):
    """Sends the answer first and checks the permission after: the user is told it was refused
    while the provider already has it (only the provider's audit shows it)."""
    from harness.api.errors import DriverError

    def respond_to_meeting(self, user, meeting_id, response):
        provider, creds, status = self.acting.require(user)
        self.acting.write(user, creds,
                          lambda: provider.respond_event(creds, meeting_id, response))
        if status.calendar != "write":
            raise DriverError("calendar_read_only", "calendar write permission is needed to "
                              "answer meetings on the user's calendar")
    return respond_to_meeting


def _contacts_save_without_check(original):
    def save_contact_from_call(self, user, entry):
        acting = self.acting

        class _Writable:
            def require(self, user):
                provider, creds, status = acting.require(user)
                return provider, creds, status.model_copy(update={"contacts": "write"})

            def __getattr__(self, name):
                return getattr(acting, name)

        self.acting = _Writable()
        try:
            return original(self, user, entry)
        finally:
            self.acting = acting
    return save_contact_from_call


def _connect_without(code: str):
    def wrap(original):
        def connect_refusals(user, policy, **kw):
            return [r for r in original(user, policy, **kw) if r.code != code]
        return connect_refusals
    return wrap


MUTANTS = [
    mutant("hybrid-graph-allowed", "HYBRID-01",
           "Office 365 through Graph is accepted for a hybrid environment",
           (f"{RULES}:graph_environment_refusal", lambda orig: lambda env, build: orig(
               env, build) if build and orig(env, build) and orig(env, build).code
            == "hybrid_exchange_before_cu3" else None)),
    mutant("ews-url-not-required", "HYBRID-03",
           "Authorize with EWS URL can be saved without an EWS URL",
           (f"{RULES}:ews_refusals", lambda orig: lambda values: [
               r for r in orig(values) if r.code != "ews_url_required"])),
    mutant("mapi-lock-not-required", "MAPI-02",
           "MAPI calendar integration works when MAPI is enabled but not locked",
           (f"{RULES}:mapi_refusals", lambda orig: lambda platform, enabled, locked: orig(
               platform, enabled, True))),
    mutant("mapi-any-platform", "MAPI-01",
           "MAPI calendar integration is offered on macOS and other platforms too",
           (f"{RULES}:mapi_refusals", lambda orig: lambda platform, enabled, locked: orig(
               "windows", enabled, locked))),
    mutant("calendar-write-under-read-only", "PERM-02",
           "a Calendar/Read integration may create, change and delete events",
           ("harness.reference.service.meetings:Meetings._writer", _writer_without_check)),
    mutant("respond-under-read-only", "PERM-02",
           "a Calendar/Read integration may answer meeting invitations (accept, decline)",
           ("harness.reference.service.meetings:Meetings.respond_to_meeting",
            _respond_without_check)),
    mutant("respond-sent-then-refused", "PERM-02",
           "under Calendar/Read a meeting answer is sent to the provider, then reported refused",
           ("harness.reference.service.meetings:Meetings.respond_to_meeting",
            _respond_then_refuse)),
    mutant("contacts-write-under-read-only", "PERM-04",
           "a Contacts/Read integration may create contacts from the call history",
           ("harness.reference.service.contacts:Contacts.save_contact_from_call",
            _contacts_save_without_check)),
    mutant("permission-above-admin-allowed", ("GRAPH-02", "ADMIN-01"),
           "a user may ask for more than the permissions the admin allows",
           (f"{SETUP}:connect_refusals", _connect_without("permission_not_allowed"))),
    mutant("integration-disabled-ignored", ("SVC-01", "ADMIN-01"),
           "turning the integration off does not stop users from setting it up",
           (f"{SETUP}:connect_refusals", _connect_without("integration_disabled"))),
    mutant("ews-permissions-editable", "GRAPH-04",
           "the Office 365 permissions can be changed while Authorize with EWS URL is selected",
           (f"{RULES}:ews_permission_refusal", lambda _: lambda before, after: None)),
    mutant("reauth-not-flagged", "OAUTH-04",
           "a revoked grant or changed password marks the integration as a plain error, never "
           "as needing re-authentication",
           ("harness.reference.service.status:Status.auth_failure",
            lambda orig: lambda self, user, exc: self.set_state(
                user, state="error", message=exc.summary))),
]

