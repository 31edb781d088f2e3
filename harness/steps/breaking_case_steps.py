"""Breaking cases judged at the provider for rules whose mutants were caught only through a
neighbouring rule (`calharness prove` showed 0 killed in their Power column): a domain
restriction, the admin's permissions, waiting for the account's consent, the group level, the
first-sign-in prompt after a decline, application permissions and the room calendar service.

Each step checks one rule's own breaking case, so a failure is charged to it: what reached
Microsoft or Exchange (the hub's audit log), not the integration's word about it.
"""

from __future__ import annotations

from typing import Any

from pytest_bdd import parsers, then, when

from harness.bdd.attribution import checks, verify
from harness.bdd.context import ScenarioContext
from harness.driver.base import DriverError
from harness.steps.connect_steps import OIDC_SCOPES, _service_of, sign_in
from harness.steps.vocabulary import SERVICES, bare_scope, lookup

# What each permission lets the integration ask Microsoft for (write includes read).
ALLOWED_SCOPES: dict[tuple[str, str], frozenset[str]] = {
    ("calendar", "read"): frozenset({"Calendars.Read"}),
    ("calendar", "write"): frozenset({"Calendars.Read", "Calendars.ReadWrite"}),
    ("contacts", "none"): frozenset(),
    ("contacts", "read"): frozenset({"Contacts.Read"}),
    ("contacts", "write"): frozenset({"Contacts.Read", "Contacts.ReadWrite"}),
}
# Identity operations that mean the user was sent to (or signed in at) Microsoft.
SIGN_IN_OPERATIONS = frozenset({"authorize", "login", "consent"})


def _identity_since_attempt(ctx: ScenarioContext) -> list[dict[str, Any]]:
    since = ctx.values.get("attempt_audit", ctx.audit_start)
    return ctx.control.audit(since=since, provider="identity")


def _users_sign_ins(ctx: ScenarioContext) -> list[dict[str, Any]]:
    """The current user's requests at Microsoft since the set-up was tried: an authorize
    request carries the login hint when the integration sends one, so one without a user
    counts too (nobody else signs in between)."""
    assert ctx.user, "no current user"
    return [e for e in _identity_since_attempt(ctx)
            if e.get("operation") in SIGN_IN_OPERATIONS
            and (e.get("user") or ctx.user).lower() == ctx.user.lower()]


@then("Microsoft was never asked to authorize anything for the user")
@checks("DOMAIN-01", "CONSENT-03")
def microsoft_asked_nothing(calharness_ctx: ScenarioContext) -> None:
    """DOMAIN-01: a user outside the allowed domains gets no calendar or contacts access, so
    the integration must not send them to Microsoft at all. CONSENT-03: with consent on
    behalf of the account required, not before the Office 365 admin consented."""
    ctx = calharness_ctx
    asked = _users_sign_ins(ctx)
    verify(not asked, ("DOMAIN-01", "CONSENT-03"),
           "the user was sent to Microsoft: "
           + "; ".join(f"{e['operation']} {sorted(e.get('scopes') or [])}" for e in asked[:3]))


@then("Microsoft was asked for no calendar or contacts permission beyond those the admin set")
@checks("GRAPH-02")
def no_scope_beyond_admin(calharness_ctx: ScenarioContext) -> None:
    """GRAPH-02: the admin sets the calendar and contacts permissions of Office 365 through
    Graph; whatever the user chose, Microsoft must not be asked for more."""
    ctx = calharness_ctx
    assert ctx.user
    settings = ctx.driver.effective_settings(ctx.user).settings
    allowed = ALLOWED_SCOPES[("calendar", settings.calendar_permission)] | \
        ALLOWED_SCOPES[("contacts", settings.contacts_permission)]
    asked = {bare_scope(s) for e in _identity_since_attempt(ctx)
             if e.get("operation") == "authorize" or str(e.get("operation")).startswith("token:")
             for s in e.get("scopes") or []} - OIDC_SCOPES
    beyond = sorted(s for s in asked if s not in allowed and not s.endswith(".default"))
    verify(not beyond, "GRAPH-02",
           f"Microsoft was asked for {beyond}; the admin allows {sorted(allowed) or 'nothing'}")


@then("the user who declined is not asked again and is left to integrate manually")
@checks("PROMPT-03", "PROMPT-02")
def declined_not_asked_again(calharness_ctx: ScenarioContext) -> None:
    """PROMPT-03: after declining the first sign-in's redirect the user integrates manually;
    asking again at the next sign-in also breaks the first-sign-in-only mode (PROMPT-02)."""
    result = calharness_ctx.values["sign_in"]
    verify(result.prompt == "none" and result.redirect is None, ("PROMPT-03", "PROMPT-02"),
           f"the user who declined was asked again: {result.prompt!r} ({result.prompt_reason})")


@then(parsers.parse('the set-up of the group\'s member went to "{service}", the group\'s '
                    'default service'))
@checks("ADMIN-05")
def member_went_to_group_service(calharness_ctx: ScenarioContext, service: str) -> None:
    """ADMIN-05: a setting configured at the group level is what the member's set-up uses,
    not only what their settings page shows (judged by where the user is sent). Sent to the
    account's default instead, the group level was ignored; sent anywhere else, the default
    service itself was (SVC-03)."""
    ctx = calharness_ctx
    error = ctx.values.get("connect_error")
    verify(error is None, "ADMIN-05", f"the member's set-up was refused: {error}")
    start = ctx.values["connect_start"]
    went = _service_of(ctx, start.authorization_url or "")
    account = ctx.driver.get_settings().default_calendar_service
    # (only where the group's service differs from the account's can following the account be
    # told apart from following the group)
    verify(went != account or lookup(SERVICES, service, "service") == account, "ADMIN-05",
           f"the group's member was sent to the account's default service {went}, not to the "
           f"group's {service}")
    verify(went == lookup(SERVICES, service, "service"), "SVC-03",
           f"the group's member was sent to {went or 'nowhere'}, not to the group's {service}")


@then("no Basic credentials of the group's member reached Exchange")
@checks("ADMIN-05")
def member_no_basic(calharness_ctx: ScenarioContext) -> None:
    """ADMIN-05: Enforce OAuth 2.0 set for the group holds for its member at Exchange. A
    set-up refused as the group says but only after the password was tried is OAUTH-01's
    (the order of the check); one never refused ignored the group's setting."""
    ctx = calharness_ctx
    assert ctx.user
    basic = [f"{e['method']} {e['path']} ({e['status']})"
             for e in ctx.control.audit(since=ctx.audit_start, provider="ews")
             if (e.get("detail") or {}).get("auth") == "basic"
             and (e.get("user") or ctx.user).lower() == ctx.user.lower()]
    error = ctx.values.get("connect_error")
    refused = error is not None and error.code == "oauth_enforced"
    verify(not basic, "OAUTH-01" if refused else "ADMIN-05",
           f"the member's mailbox password reached Exchange although their group enforces "
           f"OAuth 2.0 (the set-up {'was' if refused else 'was not'} refused): {basic}")


@then("the user's set-up waits until the Office 365 admin has set up application permissions")
@checks("APPPERM-01")
def waits_for_app_permissions(calharness_ctx: ScenarioContext) -> None:
    """APPPERM-01: with application permissions the Office 365 admin sets the integration up
    in Microsoft 365; when Microsoft refused the admin's approval, nothing is set up, so the
    user's set-up is refused as not set up yet (not connected on a grant that never was)."""
    ctx = calharness_ctx
    assert ctx.user
    error = ctx.values.get("connect_error")
    status = ctx.driver.integration_status(ctx.user)
    verify(error is not None and error.code == "admin_setup_required"
           and status.state != "connected", "APPPERM-01",
           f"after Microsoft refused the admin's approval the user's set-up gave "
           f"{getattr(error, 'code', None) or 'no refusal'} and the status {status.state!r}")


@when("the admin authorizes the room calendar service as Office 365 admin on behalf of the "
      "company")
def admin_authorizes_rooms(calharness_ctx: ScenarioContext) -> None:
    """Room Management > Calendar Integration with Office 365 selected: the admin signs in
    wherever the integration sends them; what reached Microsoft is judged afterwards."""
    ctx = calharness_ctx
    assert ctx.owner
    ctx.values["room_authorization"] = None
    try:
        start = ctx.driver.begin_admin_consent(ctx.owner)
    except DriverError as exc:
        ctx.values["room_authorization"] = exc
        return
    if not (start.authorization_url and start.redirect_uri):
        return
    outcome = sign_in(ctx, start.authorization_url, ctx.owner, start.redirect_uri,
                      on_behalf_of_org=True)
    if outcome.callback_url:
        ctx.values["room_authorization"] = ctx.driver.complete_admin_consent(
            ctx.owner, outcome.callback_url)


@then("the admin's authorization for the room calendar service was given at Microsoft")
@checks("ROOMS-03")
def room_authorization_at_microsoft(calharness_ctx: ScenarioContext) -> None:
    """ROOMS-03: Office 365 selected as the room calendar service means the company's
    authorization is Microsoft's: a consent on behalf of the organisation by the admin."""
    ctx = calharness_ctx
    assert ctx.owner
    consents = [e for e in ctx.control.audit(since=ctx.audit_start, provider="identity")
                if e.get("operation") == "consent"
                and (e.get("user") or "").lower() == ctx.owner.lower()
                and (e.get("detail") or {}).get("on_behalf_of_org")]
    verify(bool(consents), "ROOMS-03",
           f"no consent on behalf of the company reached Microsoft (the integration answered "
           f"{ctx.values.get('room_authorization')!r})")


@when("91 days pass without the integration refreshing its token")
def refresh_token_idle(calharness_ctx: ScenarioContext) -> None:
    """Entra's refresh tokens expire after 90 days unused (AADSTS700082): a re-authentication
    trigger of its own beside a changed password and revoked sessions (OAUTH-04)."""
    from harness.steps.provider_steps import time_passes

    time_passes(calharness_ctx, 91 * 86400)


@when("the user withdraws the app's permissions at Microsoft")
def user_withdraws_consent(calharness_ctx: ScenarioContext) -> None:
    """My Apps > Revoke permissions: the user's own delegated grant to the integration's app
    goes, so its next refresh is refused for want of consent (AADSTS65001), a re-authentication
    trigger of its own (OAUTH-04)."""
    ctx = calharness_ctx
    assert ctx.user
    tenant = ctx.tenant(ctx.user.rsplit("@", 1)[-1])
    (app,) = [a["client_id"] for a in tenant["apps"] if a.get("client_secret")]
    assert ctx.control.withdraw_user_consent(ctx.user, app), \
        "the user had granted the integration's app nothing to withdraw"
