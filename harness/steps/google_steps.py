"""Google as the calendar and contacts service: the account, the user, what Google saw."""

from __future__ import annotations

from pytest_bdd import given, parsers, then, when

from harness.api.models import AccountSpec
from harness.bdd.attribution import checks, verify
from harness.bdd.context import ScenarioContext
from harness.steps.connect_steps import connect_user
from harness.steps.provider_steps import assert_no_writes

GOOGLE_SCOPE_ROOT = "https://www.googleapis.com/auth/"
# Identity scopes Google adds or renames (email -> userinfo.email): not resource access.
GOOGLE_IDENTITY_SCOPES = frozenset({"openid", "email", "profile", "userinfo.email",
                                    "userinfo.profile"})
GOOGLE_PROVIDERS = ("google-calendar", "google-people")


def _short(scope: str) -> str:
    return scope.removeprefix(GOOGLE_SCOPE_ROOT)


@given("a meeting platform account owned by the first user of the Google Workspace domain")
def account_owned_by_google_user(calharness_ctx: ScenarioContext) -> None:
    ctx = calharness_ctx
    users = [u["email"] for u in ctx.world["google"]["users"]]
    ctx.owner = users[0]
    ctx.driver.setup_account(AccountSpec(owner=ctx.owner, members=users[1:]))
    ctx.values["settings_before"] = ctx.driver.get_settings()


@given(parsers.parse('the admin sets the default calendar and contact service to "Google"'))
def admin_sets_google(calharness_ctx: ScenarioContext) -> None:
    ctx = calharness_ctx
    assert ctx.owner
    result = ctx.driver.change_settings(ctx.owner, {"default_calendar_service": "google",
                                                    "default_contacts_service": "google"})
    assert result.accepted, result.reason
    saved = (result.settings.default_calendar_service, result.settings.default_contacts_service)
    # the admin chooses both defaults: each is saved as chosen (SVC-02)
    verify(saved == ("google", "google"), "SVC-02",
           f"the default calendar and contact services saved are {saved}, not Google")


@given("the user is the first member of the Google Workspace domain")
def user_is_google_member(calharness_ctx: ScenarioContext) -> None:
    calharness_ctx.user = calharness_ctx.google_user(1)["email"]


@given("the first member of the Google Workspace domain has connected Google with the default "
       "settings")
def google_member_connected(calharness_ctx: ScenarioContext) -> None:
    connect_user(calharness_ctx, calharness_ctx.google_user(1)["email"])


@then(parsers.parse('Google was asked for exactly the scopes "{scopes}"'))
@checks("GOOGLE-01")
def google_asked_exactly(calharness_ctx: ScenarioContext, scopes: str) -> None:
    ctx = calharness_ctx
    entries = [e for e in ctx.control.audit(since=ctx.audit_start, provider="google-oauth")
               if e.get("operation") == "authorize"]
    assert entries, "the integration made no authorization request to Google"
    asked = {_short(s) for e in entries for s in e.get("scopes") or []} - GOOGLE_IDENTITY_SCOPES
    assert asked == set(scopes.split()), f"asked for {sorted(asked)}, expected {scopes}"


@then("no write call reached Google")
@checks("PERM-02", "PERM-04")
def no_google_writes(calharness_ctx: ScenarioContext) -> None:
    assert_no_writes(calharness_ctx, GOOGLE_PROVIDERS, "Google")


@when("Google throttles the next calendar request")
def google_throttles(calharness_ctx: ScenarioContext) -> None:
    calharness_ctx.control.add_fault(kind="throttle", provider="google-calendar", times=1)


@then(parsers.parse('Google answered a calendar sync with "{status:d}" and then served it again'))
@checks("GOOGLE-01")
def google_answered_then_served(calharness_ctx: ScenarioContext, status: int) -> None:
    ctx = calharness_ctx
    statuses = [e["status"] for e in ctx.control.audit(since=ctx.audit_start,
                                                       provider="google-calendar")
                if e.get("operation") == "events.list"]
    assert status in statuses, f"Google never answered {status}: {statuses}"
    assert statuses[-1] == 200, f"the last calendar sync did not succeed: {statuses}"


@given("the executive and the assistant are the first and second members of the Google "
       "Workspace domain")
def google_executive_and_assistant(calharness_ctx: ScenarioContext) -> None:
    ctx = calharness_ctx
    ctx.values["people"] = {"executive": ctx.google_user(1)["email"],
                            "assistant": ctx.google_user(2)["email"]}


@given("the executive has connected Google with the default settings")
def google_executive_connected(calharness_ctx: ScenarioContext) -> None:
    connect_user(calharness_ctx, calharness_ctx.values["people"]["executive"])
