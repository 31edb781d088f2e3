"""What the providers saw: assertions on the mock hub's audit log (observe at the provider)."""

from __future__ import annotations

from typing import Any

from pytest_bdd import given, parsers, then, when

from harness.bdd.attribution import checks, verify
from harness.bdd.context import ScenarioContext
from harness.driver.base import DriverError
from harness.steps.judgement import (
    SCOPE_REQUIREMENTS,
    describe,
    is_write,
    write_requirement,
    write_scope_requirements,
)
from harness.steps.vocabulary import bare_scope, is_write_scope


def _identity_requests(ctx: ScenarioContext) -> list[dict[str, Any]]:
    entries = ctx.control.audit(since=ctx.audit_start, provider="identity")
    return [e for e in entries
            if (e.get("operation") or "").startswith(("authorize", "token"))]


@then(parsers.parse('the identity provider was asked for the scope "{scope}"'))
@checks("OAUTH-03", "SCOPE-01", "SCOPE-02", "SCOPE-03", "SCOPE-04")
def identity_asked_for_scope(calharness_ctx: ScenarioContext, scope: str) -> None:
    requests = _identity_requests(calharness_ctx)
    asked = {bare_scope(s) for e in requests for s in e.get("scopes") or []}
    assert requests, "the integration made no authorization request to the identity provider"
    verify(scope in asked, (SCOPE_REQUIREMENTS.get(bare_scope(scope), "SCOPE-05"), "OAUTH-03"),
           f"{scope} was not asked for; scopes asked: {sorted(asked)}")


@then("the identity provider was asked for no write scope")
@checks("OAUTH-03", "SCOPE-01", "SCOPE-03")
def identity_asked_no_write_scope(calharness_ctx: ScenarioContext) -> None:
    requests = _identity_requests(calharness_ctx)
    assert requests, "the integration made no authorization request to the identity provider"
    written = sorted({bare_scope(s) for e in requests for s in e.get("scopes") or []
                      if is_write_scope(s)})
    verify(not written, write_scope_requirements(written),
           f"write scopes were asked for: {written}")


def assert_no_writes(ctx: ScenarioContext, providers: tuple[str, ...], name: str,
                     since: int | None = None) -> None:
    """No request that changes provider data (create, update, move, delete, a meeting
    response, a contact) reached these providers, whatever they answered: charged to the
    read-only permission each write breaks (calendar PERM-02, contacts PERM-04)."""
    start = ctx.audit_start if since is None else since
    calls = [e for p in providers for e in ctx.control.audit(since=start, provider=p)]
    assert calls, f"the integration made no {name} call at all: the check would be empty"
    writes = [c for c in calls if is_write(c)]
    verify(not writes, sorted({write_requirement(c) for c in writes}),
           f"write calls reached {name}: {[describe(c) for c in writes]}")


@then("no write call reached Microsoft Graph")
@checks("PERM-02", "PERM-04")
def no_graph_writes(calharness_ctx: ScenarioContext) -> None:
    assert_no_writes(calharness_ctx, ("graph",), "Microsoft Graph")


# -- what happens at Microsoft, outside the integration ----------------------------------------
@when("the user's password is changed at Microsoft")
def password_changed(calharness_ctx: ScenarioContext) -> None:
    ctx = calharness_ctx
    assert ctx.user
    passwords = ctx.values.setdefault("passwords", {})
    new = f"Changed-{ctx.seed}-{len(passwords) + 1}-Pw!"
    ctx.control.change_password(ctx.user, new)
    passwords[ctx.user.lower()] = new


@when("the user's sessions are revoked by the Office 365 admin")
def sessions_revoked(calharness_ctx: ScenarioContext) -> None:
    assert calharness_ctx.user
    calharness_ctx.control.revoke_sessions(calharness_ctx.user)


def _tenant_of(ctx: ScenarioContext, email: str) -> dict[str, Any]:
    return ctx.tenant(email.rsplit("@", 1)[-1])


@when("the Office 365 admin allows users to consent to apps")
def tenant_allows_user_consent(calharness_ctx: ScenarioContext) -> None:
    ctx = calharness_ctx
    assert ctx.owner
    ctx.control.set_consent_policy(_tenant_of(ctx, ctx.owner)["id"], True)


@when(parsers.parse('the Office 365 admin removes every application permission of the app but '
                    '"{role}"'))
def app_roles_cut(calharness_ctx: ScenarioContext, role: str) -> None:
    ctx = calharness_ctx
    assert ctx.owner
    tenant = _tenant_of(ctx, ctx.owner)
    app = next(a for a in tenant["apps"] if a["client_secret"])
    ctx.control.set_app_roles(tenant["id"], app["client_id"], [role])


def time_passes(ctx: ScenarioContext, seconds: float) -> None:
    """The mocks' clock and the integration's move together, as they would in the world."""
    ctx.control.advance_clock(seconds)
    try:
        ctx.driver.advance_clock(seconds)
    except DriverError as exc:
        if exc.code != "not_supported":
            raise


@when(parsers.parse("{minutes:d} minutes pass"))
def minutes_pass(calharness_ctx: ScenarioContext, minutes: int) -> None:
    time_passes(calharness_ctx, minutes * 60)


@when("an hour and a half passes")
def ninety_minutes_pass(calharness_ctx: ScenarioContext) -> None:
    time_passes(calharness_ctx, 90 * 60)


@given("the integration runs its periodic sync")
@when("the integration runs its periodic sync")
def integration_syncs(calharness_ctx: ScenarioContext) -> None:
    assert calharness_ctx.user
    calharness_ctx.driver.sync_now(calharness_ctx.user)


@then("the integration read the calendar without anyone re-authenticating")
@checks("APPPERM-02", "APPPERM-05")
def read_without_reauthentication(calharness_ctx: ScenarioContext) -> None:
    """Application permissions: the app renews its own token, however much time has passed,
    so the periodic sync still reads the calendar and nobody is asked to sign in again."""
    ctx = calharness_ctx
    assert ctx.user
    status = ctx.driver.integration_status(ctx.user)
    verify(status.state != "reauth_required" and status.calendar_state == "ok", "APPPERM-02",
           f"after the periodic sync the integration is {status.state!r} and the calendar "
           f"{status.calendar_state!r}: {status.message}")


@when(parsers.parse("{days:d} days pass"))
def days_pass(calharness_ctx: ScenarioContext, days: int) -> None:
    time_passes(calharness_ctx, days * 86400)
