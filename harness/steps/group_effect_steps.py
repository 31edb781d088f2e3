"""What a group's settings do to its members' integrations: set-up, sign-in and integrations
that already exist, for a member of the group and a user outside it; and rules judged at the
provider (no Basic credentials reach Exchange under Enforce OAuth 2.0)."""

from __future__ import annotations

from pydantic import SecretStr
from pytest_bdd import given, parsers, then, when

from harness.api.models import ConnectRequest, PolicyChange, PolicyTarget
from harness.bdd.attribution import checks, verify
from harness.bdd.context import ScenarioContext
from harness.driver.base import DriverError
from harness.steps.account_steps import member_of
from harness.steps.connect_steps import _service_of, connect_user
from harness.steps.judgement import (
    default_setup_failure,
    documented_scopes,
    refusal_requirements,
    scope_requirements,
)
from harness.steps.policy_steps import _accepted, _owner, _policy_change, _sign_in, setting_value
from harness.steps.vocabulary import SERVICES, lookup

SERVICE_WORDS = {"office365": "Office 365", "google": "Google", "exchange": "Exchange"}


# -- the admin, at group and account level ---------------------------------------------------
@given(parsers.parse('the admin sets "{setting}" to "{value}" and locks it for the group '
                     '"{group}"'))
@when(parsers.parse('the admin sets "{setting}" to "{value}" and locks it for the group '
                    '"{group}"'))
def admin_sets_and_locks_group(calharness_ctx: ScenarioContext, setting: str, value: str,
                               group: str) -> None:
    ctx = calharness_ctx
    change = PolicyChange(values={setting: setting_value(ctx, setting, value)},
                          lock={setting: True})
    _accepted(_policy_change(ctx, _owner(ctx), PolicyTarget(level="group", name=group), change))


@when(parsers.parse('the admin locks "{setting}" for the group "{group}"'))
def admin_locks_group_now(calharness_ctx: ScenarioContext, setting: str, group: str) -> None:
    ctx = calharness_ctx
    _accepted(_policy_change(ctx, _owner(ctx), PolicyTarget(level="group", name=group),
                             PolicyChange(lock={setting: True})))


@when(parsers.parse('the admin unlocks "{setting}" for the group "{group}"'))
def admin_unlocks_group(calharness_ctx: ScenarioContext, setting: str, group: str) -> None:
    ctx = calharness_ctx
    _accepted(_policy_change(ctx, _owner(ctx), PolicyTarget(level="group", name=group),
                             PolicyChange(lock={setting: False})))


@when(parsers.parse('the admin unlocks "{setting}" at the account level'))
def admin_unlocks_account(calharness_ctx: ScenarioContext, setting: str) -> None:
    ctx = calharness_ctx
    _accepted(_policy_change(ctx, _owner(ctx), PolicyTarget.account(),
                             PolicyChange(lock={setting: False})))


# -- members and users outside the group -----------------------------------------------------
def _as(ctx: ScenarioContext, ordinal: str, tenant: str) -> str:
    ctx.user = member_of(ctx, ordinal, tenant)
    return ctx.user


@given(parsers.parse('the {ordinal} member of tenant "{tenant}" has also connected Office 365 '
                     'with the default settings'))
def member_also_connected(calharness_ctx: ScenarioContext, ordinal: str, tenant: str) -> None:
    """Another user connects too; the scenario's user stays who it was."""
    ctx = calharness_ctx
    before = ctx.user
    connect_user(ctx, member_of(ctx, ordinal, tenant))
    ctx.user = before or ctx.user


@then(parsers.parse('the integration of the {ordinal} member of tenant "{tenant}" is '
                    '"{state}"'))
@checks("LOCK-06", "LOCK-02", "DOMAIN-03", "MAPI-02", "LOCK-01")
def integration_of_member_is(calharness_ctx: ScenarioContext, ordinal: str, tenant: str,
                             state: str) -> None:
    ctx = calharness_ctx
    status = ctx.driver.integration_status(member_of(ctx, ordinal, tenant))
    assert status.state == state, f"status is {status.state!r} ({status.message})"


@when(parsers.parse('the {ordinal} member of tenant "{tenant}" signs in with {method} using '
                    'client {version} on {platform}'))
def member_signs_in(calharness_ctx: ScenarioContext, ordinal: str, tenant: str, method: str,
                    version: str, platform: str) -> None:
    ctx = calharness_ctx
    _as(ctx, ordinal, tenant)
    _sign_in(ctx, method, version, platform)
    error = ctx.values.get("sign_in_error")
    assert error is None, f"the sign-in was refused: {error}"


# -- set-ups started, not completed: where they send the user, what they ask for --------------
def _start(ctx: ScenarioContext, ordinal: str, tenant: str) -> None:
    user = _as(ctx, ordinal, tenant)
    ctx.values.pop("connect_error", None)
    ctx.values.pop("connect_start", None)
    try:
        ctx.values["connect_start"] = ctx.driver.begin_connect(user, ConnectRequest())
    except DriverError as exc:
        ctx.values["connect_error"] = exc


@when(parsers.parse('the {ordinal} member of tenant "{tenant}" starts the set-up with the '
                    'default service from the profile'))
def member_starts_setup(calharness_ctx: ScenarioContext, ordinal: str, tenant: str) -> None:
    _start(calharness_ctx, ordinal, tenant)


@then(parsers.parse('the set-up sends them to sign in at "{service}"'))
@checks("SVC-03", "ADMIN-05")
def setup_sends_to(calharness_ctx: ScenarioContext, service: str) -> None:
    ctx = calharness_ctx
    error = ctx.values.get("connect_error")
    assert error is None, f"the set-up was refused: {error}"
    start = ctx.values["connect_start"]
    assert start.authorization_url, "the set-up sent the user nowhere"
    went = _service_of(ctx, start.authorization_url)
    expected = lookup(SERVICES, service, "service")
    assert ctx.user
    effective = ctx.driver.effective_settings(ctx.user).settings.default_calendar_service
    words = SERVICE_WORDS.get(went or "", went)
    # the default in effect for them is right: a set-up that goes elsewhere ignores it (SVC-03)
    if effective == expected:
        verify(went == expected, "SVC-03", f"the set-up sends the user to {words}")
    assert went == expected, f"the set-up sends the user to {words}; the default service in " \
                             f"effect for them is {effective}"


@then(parsers.parse('the set-up asks them to confirm exactly the permissions "{scopes}"'))
@checks("ADMIN-05", "LOCK-01", "ADMIN-02")
def setup_asks_them(calharness_ctx: ScenarioContext, scopes: str) -> None:
    ctx = calharness_ctx
    error = ctx.values.get("connect_error")
    assert error is None, f"the set-up was refused: {error}"
    asked = sorted(ctx.values["connect_start"].requested_scopes)
    assert ctx.user
    effective = ctx.driver.effective_settings(ctx.user).settings
    policy = documented_scopes(effective.calendar_permission, effective.contacts_permission)
    if policy == set(scopes.split()):
        # the permissions in effect are the ones expected: a difference is the scope mapping's
        verify(set(asked) == policy, scope_requirements(policy, asked),
               f"the set-up asks for {asked}, expected {scopes}")
    assert asked == sorted(scopes.split()), f"the set-up asks for {asked}, expected {scopes} " \
                                            f"(the permissions in effect map to {sorted(policy)})"


@then(parsers.parse('their set-up is refused with "{code}"'))
@checks(by=lambda code: refusal_requirements(code))
def their_setup_refused(calharness_ctx: ScenarioContext, code: str) -> None:
    error = calharness_ctx.values.get("connect_error")
    assert error is not None, "the set-up was not refused"
    assert error.code == code, f"refused with {error.code!r}: {error.message}"


# -- Exchange with the mailbox password, judged at Exchange ---------------------------------
def _password_connect(ctx: ScenarioContext, ordinal: str, tenant: str) -> None:
    user = _as(ctx, ordinal, tenant)
    ctx.values.pop("connect_error", None)
    ctx.values["ews_position"] = ctx.control.audit_position()
    try:
        ctx.values["connect_start"] = ctx.driver.begin_connect(
            user, ConnectRequest(password=SecretStr(ctx.password_of(user))))
    except DriverError as exc:
        ctx.values["connect_error"] = exc


@when(parsers.parse('the {ordinal} member of tenant "{tenant}" tries to connect Exchange with '
                    'their mailbox password'))
def member_tries_password(calharness_ctx: ScenarioContext, ordinal: str, tenant: str) -> None:
    _password_connect(calharness_ctx, ordinal, tenant)


@when(parsers.parse('the {ordinal} member of tenant "{tenant}" connects Exchange with their '
                    'mailbox password'))
def member_connects_password(calharness_ctx: ScenarioContext, ordinal: str,
                             tenant: str) -> None:
    _password_connect(calharness_ctx, ordinal, tenant)
    error = calharness_ctx.values.get("connect_error")
    if error is not None:
        verify(False, default_setup_failure(error) or refusal_requirements(error.code),
               f"connecting was refused: {error.code}: {error.message}")


@then("no Basic credentials reached Exchange")
@checks("OAUTH-01")
def no_basic_at_exchange(calharness_ctx: ScenarioContext) -> None:
    """Judged at Exchange: every request the hub's EWS saw since the scenario began, whatever
    it answered, and which scheme it authenticated (or tried to) with."""
    ctx = calharness_ctx
    entries = ctx.control.audit(since=ctx.audit_start, provider="ews")
    basic = [f"{e['method']} {e['path']} ({e.get('operation')}, {e['status']})"
             for e in entries if (e.get("detail") or {}).get("auth") == "basic"]
    verify(not basic, "OAUTH-01",
           f"Basic credentials reached Exchange although OAuth 2.0 is enforced: {basic}")


@then(parsers.parse('Exchange saw their mailbox password'))
@checks("OAUTH-01", "EXCH-02")
def exchange_saw_password(calharness_ctx: ScenarioContext) -> None:
    ctx = calharness_ctx
    assert ctx.user
    entries = ctx.control.audit(since=ctx.values.get("ews_position", ctx.audit_start),
                                provider="ews")
    basic = [e for e in entries if (e.get("detail") or {}).get("auth") == "basic"
             and e["status"] == 200 and (e.get("user") or "").lower() == ctx.user.lower()]
    assert basic, "no request with the user's mailbox password reached Exchange"
