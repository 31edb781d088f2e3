"""Exchange and Office 365 through the EWS URL: on-premises servers, mailbox credentials,
OAuth enforcement, and what the admin is told about EWS."""

from __future__ import annotations

from pydantic import SecretStr
from pytest_bdd import given, parsers, then, when

from harness.api.models import ConnectRequest
from harness.bdd.attribution import checks, verify
from harness.bdd.context import ScenarioContext
from harness.driver.base import DriverError
from harness.steps.judgement import (
    REFUSAL_REQUIREMENTS,
    default_setup_failure,
    notice_requirements,
    refusal_requirements,
)


@given(parsers.parse('the admin sets the default calendar service to "Exchange" through the EWS '
                     'URL'))
def admin_sets_exchange(calharness_ctx: ScenarioContext) -> None:
    ctx = calharness_ctx
    assert ctx.owner
    result = ctx.driver.change_settings(ctx.owner, {
        "default_calendar_service": "exchange", "default_contacts_service": "exchange",
        "ews_url": ctx.world["microsoft"]["ews"]})
    assert result.accepted, result.reason
    ctx.values["last_settings_change"] = result


@then(parsers.parse('the admin is told that "{text}"'))
@checks("EWS-01", by=lambda text: notice_requirements(text, None))
def admin_told(calharness_ctx: ScenarioContext, text: str) -> None:
    result = calharness_ctx.values.get("last_settings_change")
    assert result is not None, "the admin changed no setting"
    notices = " | ".join(result.notices)
    exchange = result.settings.default_calendar_service == "exchange"
    verify(text.lower() in notices.lower(), notice_requirements(text, exchange) or ("EWS-01",),
           f"the admin was told: {notices or 'nothing'}")


@then("the admin is told nothing about EWS")
@checks("EWS-03", "GRAPH-03")
def admin_told_nothing(calharness_ctx: ScenarioContext) -> None:
    result = calharness_ctx.values.get("last_settings_change")
    assert result is not None, "the admin changed no setting"
    assert not [n for n in result.notices if "EWS" in n], result.notices


@given(parsers.parse('the Exchange server of tenant "{tenant}" runs on-premises, build '
                     '"{build}"'))
def exchange_on_premises(calharness_ctx: ScenarioContext, tenant: str, build: str) -> None:
    ctx = calharness_ctx
    ctx.control.set_exchange(ctx.tenant(tenant)["id"], deployment="onpremises", build=build,
                             enforce_oauth=False)


@given(parsers.parse('the Exchange server of tenant "{tenant}" accepts only OAuth 2.0'))
def exchange_enforces_oauth(calharness_ctx: ScenarioContext, tenant: str) -> None:
    ctx = calharness_ctx
    ctx.control.set_exchange(ctx.tenant(tenant)["id"], enforce_oauth=True)


def _connect_with_password(ctx: ScenarioContext) -> None:
    assert ctx.user
    ctx.values.pop("connect_error", None)
    try:
        ctx.values["connect_start"] = ctx.driver.begin_connect(
            ctx.user, ConnectRequest(password=SecretStr(ctx.password_of(ctx.user))))
    except DriverError as exc:
        ctx.values["connect_error"] = exc


@when("the user connects Exchange with their mailbox password")
def user_connects_with_password(calharness_ctx: ScenarioContext) -> None:
    _connect_with_password(calharness_ctx)
    error = calharness_ctx.values.get("connect_error")
    if error is not None:
        verify(False, default_setup_failure(error) or refusal_requirements(error.code),
               f"connecting was refused: {error.code}: {error.message}")


@when("the user tries to connect Exchange with their mailbox password")
def user_tries_password(calharness_ctx: ScenarioContext) -> None:
    _connect_with_password(calharness_ctx)


@then(parsers.parse('connecting is refused with "{code}" and a message containing "{text}"'))
@checks(by=lambda code, text: refusal_requirements(code))
def connecting_refused(calharness_ctx: ScenarioContext, code: str, text: str) -> None:
    error = calharness_ctx.values.get("connect_error")
    rule = refusal_requirements(code)
    verify(error is not None, rule or ("OAUTH-01",), "connecting was not refused")
    # an error no rule states (the set-up took another service than the default) is SVC-03's
    wrong = refusal_requirements(code, error.code) if error.code in REFUSAL_REQUIREMENTS else \
        default_setup_failure(error)
    verify(error.code == code, wrong or rule or ("OAUTH-01",),
           f"refused with {error.code}: {error.message}")
    assert text.lower() in error.message.lower(), error.message


def _ews_calls(ctx: ScenarioContext) -> list[dict[str, object]]:
    calls = [c for c in ctx.control.audit(since=ctx.audit_start, provider="ews")
             if c["status"] == 200]
    assert calls, "no request reached Exchange Web Services"
    return calls


@then("Exchange was used with the user's mailbox password")
@checks("EXCH-02", "EXCH-01")
def exchange_basic(calharness_ctx: ScenarioContext) -> None:
    calls = _ews_calls(calharness_ctx)
    assert all(c["client_id"] is None for c in calls), "some EWS requests used OAuth"


@then("every Exchange request carried an OAuth 2.0 token")
@checks("OAUTH-01")
def exchange_oauth(calharness_ctx: ScenarioContext) -> None:
    calls = _ews_calls(calharness_ctx)
    basic = [c["operation"] for c in calls if c["client_id"] is None]
    assert not basic, f"EWS requests without an OAuth token: {basic}"


@given(parsers.parse('the admin turns "{setting}" on'))
def admin_turns_on(calharness_ctx: ScenarioContext, setting: str) -> None:
    ctx = calharness_ctx
    assert ctx.owner
    result = ctx.driver.change_settings(ctx.owner, {setting: True})
    assert result.accepted, result.reason
