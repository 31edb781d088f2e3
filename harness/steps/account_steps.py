"""Account set-up and admin settings."""

from __future__ import annotations

from pytest_bdd import given, parsers, then, when

from harness.api.models import AccountSpec
from harness.bdd.attribution import checks, verify
from harness.bdd.context import ScenarioContext
from harness.steps.vocabulary import ACCESS, AUTHORIZE_WITH, SERVICES, lookup

ORDINALS = {"first": 0, "second": 1, "third": 2}


def member_of(ctx: ScenarioContext, ordinal: str, tenant: str) -> str:
    """`first` member: the tenant's first user who is not its Office 365 admin."""
    try:
        index = ORDINALS[ordinal]
    except KeyError:
        raise ValueError(f"unknown ordinal {ordinal!r}; expected {', '.join(ORDINALS)}") from None
    return str(ctx.tenant_member(tenant, index)["upn"])


def _set_up_account(ctx: ScenarioContext, tenant: str, admins: list[str]) -> None:
    ctx.owner = ctx.tenant_admin(tenant)["upn"]
    members = [u["upn"] for u in ctx.tenant(tenant)["users"] if u["upn"] != ctx.owner]
    ctx.driver.setup_account(AccountSpec(owner=ctx.owner, admins=admins, members=members))
    ctx.values["settings_before"] = ctx.driver.get_settings()


@given(parsers.parse('a meeting platform account owned by the admin of tenant "{tenant}"'))
def account_owned_by_tenant_admin(calharness_ctx: ScenarioContext, tenant: str) -> None:
    _set_up_account(calharness_ctx, tenant, [])


@given(parsers.parse('a meeting platform account owned by the admin of tenant "{tenant}" whose '
                     '{ordinal} member is an account admin'))
def account_with_admin(calharness_ctx: ScenarioContext, tenant: str, ordinal: str) -> None:
    admin = member_of(calharness_ctx, ordinal, tenant)
    _set_up_account(calharness_ctx, tenant, [admin])
    calharness_ctx.values["account_admin"] = admin


def _admin_change(ctx: ScenarioContext, **changes: object) -> None:
    assert ctx.owner, "no account owner: start with 'a meeting platform account owned by …'"
    result = ctx.driver.change_settings(ctx.owner, changes)
    assert result.accepted, f"the admin's change {changes} was refused: {result.reason}"
    ctx.values["last_settings_change"] = result


@given("the admin enables calendar and contacts integration")
def admin_enables_integration(calharness_ctx: ScenarioContext) -> None:
    _admin_change(calharness_ctx, calendar_integration=True)


@given(parsers.parse('the admin sets the default calendar service to "{service}" authorized '
                     'with "{method}"'))
@when(parsers.parse('the admin sets the default calendar service to "{service}" authorized '
                     'with "{method}"'))
def admin_sets_default_service(calharness_ctx: ScenarioContext, service: str,
                               method: str) -> None:
    svc = lookup(SERVICES, service, "service")
    how = lookup(AUTHORIZE_WITH, method, "authorization method")
    changes: dict[str, object] = {"default_calendar_service": svc,
                                   "default_contacts_service": svc, "authorize_with": how}
    if how == "ews":  # selecting Authorize with EWS URL means entering the URL too
        changes["ews_url"] = calharness_ctx.world["microsoft"]["ews"]
    _admin_change(calharness_ctx, **changes)
    saved = calharness_ctx.values["last_settings_change"].settings
    # the admin chooses both defaults: each is saved as chosen (SVC-02)
    verify((saved.default_calendar_service, saved.default_contacts_service) == (svc, svc),
           "SVC-02", f"the default services saved are {saved.default_calendar_service} and "
                     f"{saved.default_contacts_service}, not {svc}")


@given(parsers.parse('the admin sets the calendar permission to "{calendar}" and the contacts '
                     'permission to "{contacts}"'))
def admin_sets_permissions(calharness_ctx: ScenarioContext, calendar: str, contacts: str) -> None:
    _admin_change(calharness_ctx, calendar_permission=lookup(ACCESS, calendar, "permission"),
                  contacts_permission=lookup(ACCESS, contacts, "permission"))


@when(parsers.parse('the first member of tenant "{tenant}" sets the default calendar service to '
                    '"{service}" authorized with "{method}"'))
def member_changes_settings(calharness_ctx: ScenarioContext, tenant: str, service: str,
                            method: str) -> None:
    ctx = calharness_ctx
    actor = ctx.tenant_member(tenant)["upn"]
    ctx.values["change"] = ctx.driver.change_settings(
        actor, {"default_calendar_service": lookup(SERVICES, service, "service"),
                "authorize_with": lookup(AUTHORIZE_WITH, method, "authorization method")})


@then("the change is refused because the actor is not an owner or admin")
@checks("ADMIN-04")
def change_refused_for_role(calharness_ctx: ScenarioContext) -> None:
    result = calharness_ctx.values["change"]
    assert not result.accepted, "a member's change of account settings was accepted"
    assert result.reason and "owner" in result.reason and "admin" in result.reason, \
        f"the refusal does not say who may change settings: {result.reason!r}"


@then("the account settings are unchanged")
@checks("ADMIN-04")
def settings_unchanged(calharness_ctx: ScenarioContext) -> None:
    before = calharness_ctx.values["settings_before"]
    after = calharness_ctx.driver.get_settings()
    assert after == before, f"settings changed: {before} -> {after}"


@then(parsers.parse('the account setting "{name}" is on'))
@checks("SVC-01")
def account_setting_on(calharness_ctx: ScenarioContext, name: str) -> None:
    settings = calharness_ctx.driver.get_settings()
    assert getattr(settings, name) is True, f"{name} is {getattr(settings, name)!r}"
