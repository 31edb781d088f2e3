"""Steps for the breaking edges of rules that `calharness prove` found unchecked: an address
written in another case than its domain, a user changing someone else's settings, a group lock
placed over a member's own choice, a private meeting with a location, a plain member starting
the account-wide consent."""

from __future__ import annotations

from datetime import timedelta

from pytest_bdd import given, parsers, then, when

from harness.api.models import PolicyChange, PolicyTarget
from harness.bdd.attribution import checks
from harness.bdd.context import ScenarioContext
from harness.driver.base import DriverError
from harness.steps.account_steps import member_of
from harness.steps.policy_steps import remember_state, setting_value
from harness.steps.privacy_steps import _person, _tomorrow_at


def _shouting_domain(address: str) -> str:
    """The same mailbox with its domain in capitals: addresses are case-insensitive."""
    local, _, domain = address.rpartition("@")
    return f"{local}@{domain.upper()}"


@given(
    parsers.parse(
        'the user is the {ordinal} member of tenant "{tenant}", who writes the '
        "domain of their address in capitals"
    )
)
def user_with_capital_domain(calharness_ctx: ScenarioContext, ordinal: str, tenant: str) -> None:
    calharness_ctx.user = _shouting_domain(member_of(calharness_ctx, ordinal, tenant))


@when(
    parsers.parse(
        'the {ordinal} member of tenant "{tenant}" tries to turn "{setting}" '
        '{value} for the {other} member of tenant "{other_tenant}"'
    )
)
def member_tries_other(
    calharness_ctx: ScenarioContext,
    ordinal: str,
    tenant: str,
    setting: str,
    value: str,
    other: str,
    other_tenant: str,
) -> None:
    ctx = calharness_ctx
    actor, target = member_of(ctx, ordinal, tenant), member_of(ctx, other, other_tenant)
    remember_state(ctx)
    ctx.values["policy_change"] = ctx.driver.change_policy(
        actor,
        PolicyTarget(level="user", name=target),
        PolicyChange(values={setting: setting_value(ctx, setting, value)}),
    )


@when(parsers.parse('the admin then locks "{setting}" for the group "{group}"'))
def admin_then_locks_group(calharness_ctx: ScenarioContext, setting: str, group: str) -> None:
    ctx = calharness_ctx
    assert ctx.owner, "no account owner"
    result = ctx.driver.change_policy(
        ctx.owner, PolicyTarget(level="group", name=group), PolicyChange(lock={setting: True})
    )
    assert result.accepted, f"the group lock was refused: {result.code}: {result.reason}"


@given(
    parsers.parse(
        'the executive has a private meeting "{subject}" tomorrow at {hhmm} in '
        '"{location}" with an invitation link and attendees'
    )
)
def executive_private_meeting_at(
    calharness_ctx: ScenarioContext, subject: str, hhmm: str, location: str
) -> None:
    ctx = calharness_ctx
    start = _tomorrow_at(hhmm)
    ctx.control.create_event(
        _person(ctx, "executive"),
        subject,
        start,
        start + timedelta(minutes=45),
        sensitivity="private",
        location=location,
        attendees=["board.member@partner.example.net"],
        is_online_meeting=True,
        join_url="https://meet.calharness.invalid/j/private-2",
    )


@when(
    parsers.parse(
        'the {ordinal} member of tenant "{tenant}" tries to authorize the '
        "integration as Office 365 admin on behalf of the company"
    )
)
def member_tries_company_consent(
    calharness_ctx: ScenarioContext, ordinal: str, tenant: str
) -> None:
    ctx = calharness_ctx
    actor = member_of(ctx, ordinal, tenant)
    ctx.values["attempt_audit"] = ctx.control.audit_position()
    ctx.values.pop("consent_error", None)
    try:
        ctx.values["consent_start"] = ctx.driver.begin_admin_consent(actor)
    except DriverError as exc:
        ctx.values["consent_error"] = exc


@then(
    parsers.parse('the authorization is refused with "{code}" before anyone is sent to Microsoft')
)
@checks("CONSENT-05")
def consent_refused_before_microsoft(calharness_ctx: ScenarioContext, code: str) -> None:
    ctx = calharness_ctx
    error = ctx.values.get("consent_error")
    assert error is not None, f"the authorization started: {ctx.values.get('consent_start')}"
    assert error.code == code, f"refused with {error.code!r}: {error.message}"
    asked = [
        e
        for e in ctx.control.audit(since=ctx.values["attempt_audit"], provider="identity")
        if e.get("operation") in ("authorize", "adminconsent")
    ]
    assert not asked, f"the identity provider was asked anyway: {asked[:2]}"
