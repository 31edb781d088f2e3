"""The user's own set-up from the profile (issue #15): configure (SETUP-01), choose the service
(SETUP-02), confirm the permissions (SETUP-03), authenticate (SETUP-04), accept (SETUP-05), back
on the profile connected (SETUP-06), as a user who is no admin (SETUP-07), with what the admin
configured (ADMIN-03), and setting it up again with OAuth after a revoked grant (OAUTH-02)."""

from __future__ import annotations

from typing import Any

from harness.api.errors import DriverError
from harness.api.models import AccountSettings
from harness.reference.mutants.core import mutant

SETUP = "harness.reference.service.setup"


def _reconfigure_refused(original: Any) -> Any:
    """The profile offers Configure only to users without a working integration."""
    def begin_connect(self: Any, user: str, request: Any) -> Any:
        with self.ctx.store.session() as s:
            row = self.ctx.store.integration(s, user)
            connected = row is not None and row.state == "connected"
        if connected:
            raise DriverError("already_configured",
                              "the calendar and contacts integration is already configured")
        return original(self, user, request)
    return begin_connect


def _chosen_service_dropped(original: Any) -> Any:
    """The service the user selects is checked against the policy, then the set-up goes on
    with the admin's default service."""
    from harness.reference.policy.setup import connect_refusals

    def begin_connect(self: Any, user: str, request: Any) -> Any:
        if request.service is not None:
            with self.ctx.store.session() as s:
                resolved = self.settings.resolved(s, user)
            if not connect_refusals(user, resolved, service=request.service,
                                    calendar=request.calendar, contacts=request.contacts):
                request = request.model_copy(update={"service": None})
        return original(self, user, request)
    return begin_connect


def _confirmation_without_contacts(original: Any) -> Any:
    """The permissions shown to confirm list the calendar scope only, while Microsoft is asked
    for the contacts scope too."""
    def begin_connect(self: Any, user: str, request: Any) -> Any:
        start = original(self, user, request)
        shown = [s for s in start.requested_scopes if not s.startswith("Contacts.")]
        return start.model_copy(update={"requested_scopes": shown})
    return begin_connect


def _silent_user_sign_in(original: Any) -> Any:
    """The user's set-up asks Microsoft for a silent sign-in (prompt=none) instead of letting
    the user authenticate."""
    def begin_connect(self: Any, user: str, request: Any) -> Any:
        ctx = self.ctx

        class _Silent:
            def provider(self, *args: Any, **kwargs: Any) -> Any:
                provider = ctx.provider(*args, **kwargs)
                begin = provider.begin_auth

                def begin_auth(calendar: Any, contacts: Any, prompt: Any = None) -> Any:
                    return begin(calendar, contacts, prompt="none")

                provider.begin_auth = begin_auth
                return provider

            def __getattr__(self, name: str) -> Any:
                return getattr(ctx, name)

        self.ctx = _Silent()
        try:
            return original(self, user, request)
        finally:
            self.ctx = ctx
    return begin_connect


def _first_pending_flow_kept(original: Any) -> Any:
    """A new set-up keeps the pending flow of an earlier, abandoned one: the answer Microsoft
    sends back after the user clicks Accept is checked against the old flow and refused."""
    def begin_connect(self: Any, user: str, request: Any) -> Any:
        with self.ctx.store.session() as s:
            row = self.ctx.store.integration(s, user)
            earlier = dict(row.pending_flow) if row is not None and row.pending_flow else None
        start = original(self, user, request)
        if earlier is not None:
            with self.ctx.store.session() as s:
                row = self.ctx.store.integration(s, user)
                if row is not None:
                    row.pending_flow = earlier
        return start
    return begin_connect


def _stale_status_answered(original: Any) -> Any:
    """The callback answers with the status read before it completed the set-up: the user
    comes back to a profile that still shows the set-up pending."""
    def complete_connect(self: Any, user: str, callback_url: str) -> Any:
        before = self.status.integration_status(user)
        original(self, user, callback_url)
        return before
    return complete_connect


def _admins_only(original: Any) -> Any:
    """The set-up reuses the settings' role check: only the owner or an admin may start it."""
    def begin_connect(self: Any, user: str, request: Any) -> Any:
        with self.ctx.store.session() as s:
            role = self.ctx.store.role_of(s, user)
        if role not in ("owner", "admin"):
            raise DriverError("not_an_admin", "only the account owner or an admin can "
                                              "configure the calendar and contacts integration")
        return original(self, user, request)
    return begin_connect


def _built_in_permissions(original: Any) -> Any:
    """The set-up reads the calendar and contacts permissions from the built-in defaults, not
    from what the admin configured (the policy's refusals still see the admin's values)."""
    defaults = AccountSettings()

    def values_of(resolved: Any) -> Any:
        values = dict(original(resolved))
        values["calendar_permission"] = defaults.calendar_permission
        values["contacts_permission"] = defaults.contacts_permission
        return values
    return values_of


def _reauthorization_keeps_old_tokens(original: Any) -> Any:
    """Authorizing again keeps the credentials already stored (the revoked grant) and throws
    the new ones away."""
    def complete_connect(self: Any, user: str, callback_url: str) -> Any:
        with self.ctx.store.session() as s:
            row = self.ctx.store.integration(s, user)
            old = row.credentials if row is not None else None
        status = original(self, user, callback_url)
        if old is None:
            return status
        with self.ctx.store.session() as s:
            row = self.ctx.store.integration(s, user)
            if row is not None:
                row.credentials = old
        return self.sync.sync_now(user)
    return complete_connect


MUTANTS = [
    mutant("reconfigure-refused-when-connected", "SETUP-01",
           "a user whose integration is connected cannot configure it again from the profile",
           (f"{SETUP}:Setup.begin_connect", _reconfigure_refused)),
    mutant("chosen-service-ignored", "SETUP-02",
           "the service the user selects is checked, then the set-up goes on with the admin's "
           "default service",
           (f"{SETUP}:Setup.begin_connect", _chosen_service_dropped)),
    mutant("confirmation-omits-contacts", "SETUP-03",
           "the permissions the user confirms leave out the contacts permission that Microsoft "
           "is asked for",
           (f"{SETUP}:Setup.begin_connect", _confirmation_without_contacts)),
    mutant("user-sign-in-silent", "SETUP-04",
           "the user's set-up asks Microsoft for a silent sign-in (prompt=none): the user "
           "never authenticates",
           (f"{SETUP}:Setup.begin_connect", _silent_user_sign_in)),
    mutant("accept-checked-against-abandoned-flow", "SETUP-05",
           "after an abandoned attempt, the answer to the user's Accept is checked against the "
           "earlier set-up's flow and refused",
           (f"{SETUP}:Setup.begin_connect", _first_pending_flow_kept)),
    mutant("profile-shows-stale-status", "SETUP-06",
           "after the set-up the user comes back to a profile that still shows it pending",
           (f"{SETUP}:Setup.complete_connect", _stale_status_answered)),
    mutant("setup-admins-only", "SETUP-07",
           "only the account owner or an admin may set up the integration; members are refused",
           (f"{SETUP}:Setup.begin_connect", _admins_only)),
    mutant("setup-ignores-admin-permissions", "ADMIN-03",
           "the user's set-up asks for the built-in default permissions (Read/Read), not the "
           "ones the admin configured",
           (f"{SETUP}:values_of", _built_in_permissions, False)),
    mutant("reauthorization-keeps-revoked-grant", "OAUTH-02",
           "setting the integration up again with OAuth keeps the revoked grant and throws the "
           "new tokens away",
           (f"{SETUP}:Setup.complete_connect", _reauthorization_keeps_old_tokens)),
]
