"""The user's set-up flow: choose the service, confirm permissions, authenticate, accept."""

from __future__ import annotations

from typing import Any

from pytest_bdd import given, parsers, then, when

from harness.api.models import ConnectRequest
from harness.bdd.attribution import RequirementFailure, checks, verify
from harness.bdd.context import ScenarioContext
from harness.driver.base import DriverError
from harness.steps.judgement import default_setup_failure, scope_requirements
from harness.steps.vocabulary import bare_scope

OIDC_SCOPES = frozenset({"openid", "profile", "offline_access", "email"})
# What an identity provider answers a prompt=none request that needs the user.
SILENT_SIGN_IN_ERRORS = frozenset({"login_required", "interaction_required",
                                   "account_selection_required"})


def sign_in(ctx: ScenarioContext, url: str, who: str, stop_at: str, consent: str = "accept",
            on_behalf_of_org: bool = False) -> Any:
    """The harness's user agent signs `who` in on the provider's real pages."""
    from harness.useragent import UserAgent

    agent = UserAgent(ctx.ca_bundle)
    try:
        return agent.authorize(url, username=who, password=ctx.password_of(who),
                               consent=consent, on_behalf_of_org=on_behalf_of_org,  # type: ignore[arg-type]
                               stop_at=stop_at)
    finally:
        agent.close()


def connect(ctx: ScenarioContext, request: ConnectRequest, consent: str = "accept",
            must_succeed: bool = False) -> None:
    """Start the set-up through the driver, sign in at the provider when it sends the user
    there, then hand the redirect back to the integration. `must_succeed`: a set-up with the
    admin's default service that fails otherwise than with a documented refusal is SVC-03's."""
    assert ctx.user, "no current user: name the user in an earlier step"
    ctx.values.pop("authorization", None)
    ctx.values["connect_request"] = request
    try:
        start = ctx.driver.begin_connect(ctx.user, request)
    except DriverError as exc:
        # the set-up is the user's own, whatever their role (SETUP-07)
        verify(exc.code != "not_an_admin", "SETUP-07",
               f"the set-up was refused to a user who is no admin: {exc.message}")
        blamed = default_setup_failure(exc) if must_succeed and request.service is None else ()
        if blamed:
            raise RequirementFailure(blamed, f"the set-up with the default service failed: "
                                             f"{exc.code}: {exc.message}") from exc
        raise
    ctx.values["connect_start"] = start
    if start.authorization_url is None:  # nothing for the user to do (application permissions)
        return
    if request.service is None:
        check_default_service(ctx, start.authorization_url)
    assert start.redirect_uri
    outcome = sign_in(ctx, start.authorization_url, ctx.user, start.redirect_uri, consent)
    ctx.values["authorization"] = outcome
    # the user authenticates at the provider themselves: a set-up that asks for a silent
    # sign-in comes back with an interaction error before they could (SETUP-04)
    verify(outcome.error not in SILENT_SIGN_IN_ERRORS, "SETUP-04",
           f"the user was not let authenticate: {outcome.error} {outcome.error_description}")
    if outcome.callback_url:
        ctx.values["status"] = ctx.driver.complete_connect(ctx.user, outcome.callback_url)


def _service_of(ctx: ScenarioContext, url: str) -> str | None:
    """Which calendar service an authorization URL signs the user in to."""
    if url.startswith(ctx.world["google"]["auth_uri"]):
        return "google"
    if url.startswith(ctx.world["microsoft"]["authority_host"]) and "/oauth2/" in url:
        return "office365"
    return None


def check_default_service(ctx: ScenarioContext, url: str) -> None:
    """A set-up without a choice of service goes to the default service in effect for the user
    (the account's, or their group's): SVC-03."""
    assert ctx.user
    try:
        expected = ctx.driver.effective_settings(ctx.user).settings.default_calendar_service
    except DriverError:  # not a user of the account: the set-up's own refusal says so
        return
    went = _service_of(ctx, url)
    if went is not None and expected in ("office365", "google"):
        verify(went == expected, "SVC-03",
               f"the set-up sent the user to sign in at {went}; the default calendar service "
               f"in effect for them is {expected}")


def require_callback(ctx: ScenarioContext) -> None:
    outcome = ctx.values.get("authorization")
    if outcome is not None:
        assert outcome.callback_url, (
            f"the sign-in did not come back to the integration: "
            f"{outcome.blocked_page_title or outcome.error} {outcome.error_description or ''}")


def connect_user(ctx: ScenarioContext, user: str) -> None:
    """`user` sets up the integration with the admin's defaults and it must succeed."""
    ctx.user = user
    connect(ctx, ConnectRequest(), must_succeed=True)
    require_callback(ctx)
    status = ctx.driver.integration_status(user)
    assert status.state == "connected", f"set-up failed: {status.state} ({status.message})"


@given(parsers.parse('the user is the first member of tenant "{tenant}"'))
def user_is_first_member(calharness_ctx: ScenarioContext, tenant: str) -> None:
    calharness_ctx.user = calharness_ctx.tenant_member(tenant)["upn"]


@given(parsers.parse('the first member of tenant "{tenant}" has connected Office 365 with the '
                     'default settings'))
def member_has_connected(calharness_ctx: ScenarioContext, tenant: str) -> None:
    connect_user(calharness_ctx, calharness_ctx.tenant_member(tenant)["upn"])


def connect_own_calendar(ctx: ScenarioContext, who: str) -> None:
    """An admin integrates their own calendar with the account's defaults: their sign-in at
    Microsoft is where the integration learns their Office 365 role (SSO-05). The current
    user stays who they were."""
    user = ctx.user
    try:
        connect_user(ctx, who)
    finally:
        ctx.user = user


@given("the admin has integrated their own Office 365 calendar")
@when("the admin integrates their own Office 365 calendar")
def admin_integrates_own(calharness_ctx: ScenarioContext) -> None:
    assert calharness_ctx.owner, "no account owner: start with 'a meeting platform account …'"
    connect_own_calendar(calharness_ctx, calharness_ctx.owner)


@given("the account admin has integrated their own Office 365 calendar")
def account_admin_integrates_own(calharness_ctx: ScenarioContext) -> None:
    connect_own_calendar(calharness_ctx, calharness_ctx.values["account_admin"])


@given(parsers.parse('the first member of tenant "{tenant}" started the set-up and closed the '
                     'Microsoft sign-in page'))
def member_abandoned_setup(calharness_ctx: ScenarioContext, tenant: str) -> None:
    ctx = calharness_ctx
    ctx.user = ctx.tenant_member(tenant)["upn"]
    start = ctx.driver.begin_connect(ctx.user, ConnectRequest())
    assert start.authorization_url, "the set-up sent the user nowhere"


@when("the user tries to set up the calendar integration with the default service")
def user_tries_setup(calharness_ctx: ScenarioContext) -> None:
    connect(calharness_ctx, ConnectRequest())


@when("the user sets up the calendar integration again with the default service")
def user_sets_up_again(calharness_ctx: ScenarioContext) -> None:
    connect(calharness_ctx, ConnectRequest(), must_succeed=True)
    require_callback(calharness_ctx)


@then(parsers.parse('the sign-in stops on the page "{title}"'))
@checks("APPROVAL-01", "APPROVAL-03", "CONSENT-06", "CONSENT-02", "APPROVAL-05", "ROOMS-07",
        "ROOMS-05")
def sign_in_blocked(calharness_ctx: ScenarioContext, title: str) -> None:
    outcome = calharness_ctx.values.get("authorization")
    assert outcome is not None, "no sign-in happened"
    assert outcome.callback_url is None, "the sign-in came back to the integration"
    assert outcome.blocked_page_title and title in outcome.blocked_page_title, \
        f"stopped on {outcome.blocked_page_title!r} ({outcome.error})"


@then("the sign-in did not stop for admin approval")
@checks("APPROVAL-02")
def not_stopped_for_approval(calharness_ctx: ScenarioContext) -> None:
    """The tenant lets users consent: "Need admin approval" has no cause here."""
    outcome = calharness_ctx.values.get("authorization")
    assert outcome is not None, "no sign-in happened"
    verify(outcome.callback_url is not None, "APPROVAL-02",
           f"the sign-in stopped on {outcome.blocked_page_title!r} ({outcome.error})")


@then(parsers.parse('the integration status is not "{state}"'))
@checks("OAUTH-01", "APPROVAL-01", "CONSENT-02", "ROOMS-07", "ROOMS-05", "PROMPT-03")
def integration_status_is_not(calharness_ctx: ScenarioContext, state: str) -> None:
    ctx = calharness_ctx
    assert ctx.user
    status = ctx.driver.integration_status(ctx.user)
    assert status.state != state, f"status is {status.state!r}"


@then(parsers.parse('the identity provider was asked for exactly the resource scopes "{scopes}"'))
@checks("OAUTH-03", "SCOPE-01", "SCOPE-02", "SCOPE-03", "SCOPE-04", "SCOPE-05", "EWS-01")
def asked_exactly(calharness_ctx: ScenarioContext, scopes: str) -> None:
    ctx = calharness_ctx
    entries = [e for e in ctx.control.audit(since=ctx.audit_start, provider="identity")
               if e.get("operation") == "authorize"]
    assert entries, "the integration made no authorization request"
    asked = {bare_scope(s) for e in entries for s in e.get("scopes") or []} - OIDC_SCOPES
    expected = set(scopes.split())
    verify(asked == expected, scope_requirements(expected, asked),
           f"asked for {sorted(asked)}, expected {scopes}")


@then("the user never had to sign in at Microsoft")
@checks("APPPERM-01")
def user_never_signed_in(calharness_ctx: ScenarioContext) -> None:
    ctx = calharness_ctx
    assert ctx.user
    entries = ctx.control.audit(since=ctx.audit_start, provider="identity")
    user_flows = [e for e in entries if (e.get("user") or "").lower() == ctx.user.lower()
                  and (e.get("operation") or "").startswith(("authorize", "login", "token"))]
    assert not user_flows, f"the user was sent to sign in: {user_flows[:3]}"


# -- the admin, as Office 365 admin ------------------------------------------------------------
@given("the admin chooses that the Office 365 admin sets up the integration with application "
       "permissions")
def admin_chooses_app_permissions(calharness_ctx: ScenarioContext) -> None:
    ctx = calharness_ctx
    assert ctx.owner
    result = ctx.driver.change_settings(ctx.owner, {"setup_by": "admin_application"})
    assert result.accepted, result.reason


@given("the admin authorizes the integration as Office 365 admin on behalf of the company")
@when("the admin authorizes the integration as Office 365 admin on behalf of the company")
def admin_consents_for_company(calharness_ctx: ScenarioContext) -> None:
    ctx = calharness_ctx
    assert ctx.owner
    start = ctx.driver.begin_admin_consent(ctx.owner)
    assert start.authorization_url and start.redirect_uri
    outcome = sign_in(ctx, start.authorization_url, ctx.owner, start.redirect_uri,
                      on_behalf_of_org=True)
    assert outcome.callback_url, f"admin consent stopped: {outcome.blocked_page_title} " \
                                 f"{outcome.error} {outcome.error_description}"
    result = ctx.driver.complete_admin_consent(ctx.owner, outcome.callback_url)
    assert result.granted, f"admin consent not granted: {result.message}"


@when("the user sets up the calendar integration with the default service and accepts the "
      "consent")
def user_sets_up_default(calharness_ctx: ScenarioContext) -> None:
    connect(calharness_ctx, ConnectRequest(), must_succeed=True)
    require_callback(calharness_ctx)


@when("the user authorizes the integration again with OAuth from their profile")
@checks("OAUTH-02")
def user_authorizes_again(calharness_ctx: ScenarioContext) -> None:
    """Users set up the integration with OAuth (delegated): authorizing again after the grant
    stopped working gives a working integration."""
    ctx = calharness_ctx
    connect(ctx, ConnectRequest(), must_succeed=True)
    require_callback(ctx)
    assert ctx.user
    status = ctx.driver.integration_status(ctx.user)
    verify(status.state == "connected", "OAUTH-02",
           f"after authorizing again the integration is {status.state} ({status.message})")


@then("the set-up brings the user back to their profile showing the integration connected")
@checks("SETUP-06")
def back_on_profile_connected(calharness_ctx: ScenarioContext) -> None:
    """What the set-up's last step answers is what the profile page shows."""
    status = calharness_ctx.values.get("status")
    assert status is not None, "the set-up did not come back to the integration"
    assert status.state == "connected", \
        f"the profile shows the integration {status.state} ({status.message})"


# The rule a status the user sees states (a revoked grant is the user's to re-authorize).
# What a status verifies, per state: the scenario's tags pick the rule among them. "connected"
# after a set-up is that set-up's rule (the route's, the consent path's, the default service's,
# the domain's, the re-integration's ...); the other states are the rule that puts the
# integration there.
STATUS_REQUIREMENTS: dict[str, tuple[str, ...]] = {
    "reauth_required": ("OAUTH-04",),
    "connected": ("SETUP-01", "SETUP-02", "SETUP-05", "SETUP-06", "SETUP-07", "SVC-03",
                  "OAUTH-03", "OAUTH-04", "EWS-01", "EXCH-01", "GOOGLE-01", "APPPERM-01",
                  "APPROVAL-02", "APPROVAL-03", "APPROVAL-04", "APPROVAL-05", "CONSENT-02",
                  "CONSENT-03", "CONSENT-04", "CONSENT-09", "ROOMS-01", "ROOMS-03",
                  "DOMAIN-02", "DOMAIN-04", "LOCK-02", "LOCK-03", "PROMPT-02", "PROMPT-04",
                  "SSO-09"),
    "pending": ("CONSENT-04",),
    "reintegration_required": ("DOMAIN-03", "MAPI-02", "LOCK-02", "LOCK-03", "LOCK-04"),
    "not_connected": ("PROMPT-01", "SSO-09"),
}


@then(parsers.parse('the integration status is "{state}"'))
@checks(by=lambda state: STATUS_REQUIREMENTS.get(state, ()))
def integration_status_is(calharness_ctx: ScenarioContext, state: str) -> None:
    ctx = calharness_ctx
    assert ctx.user
    status = ctx.driver.integration_status(ctx.user)
    assert status.state == state, f"status is {status.state!r} ({status.message})"
