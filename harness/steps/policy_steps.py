"""Policy: account, group and user settings with locks, domains, the Microsoft environment,
MAPI, sign-in prompts over SSO, and "nothing changed" checks after a refusal."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

from pytest_bdd import given, parsers, then, when

from harness.api.models import (
    AccountSettings,
    ClientInfo,
    ConnectRequest,
    PolicyChange,
    PolicyChangeResult,
    PolicyTarget,
)
from harness.bdd.attribution import checks, verify
from harness.bdd.context import ScenarioContext
from harness.driver.base import DriverError
from harness.steps.account_steps import member_of
from harness.steps.connect_steps import OIDC_SCOPES, connect, sign_in
from harness.steps.judgement import (
    admin_consent_refusal_requirements,
    default_setup_failure,
    documented_scopes,
    refusal_requirements,
    scope_requirements,
)
from harness.steps.vocabulary import ACCESS, SERVICES, bare_scope, lookup
from harness.steps.world_time import world_window

PLATFORMS = {"windows": "windows", "mac": "mac", "macos": "mac", "linux": "linux",
             "ios": "ios", "android": "android"}


# -- values as scenarios write them ------------------------------------------------------------
def domain_text(ctx: ScenarioContext, text: str) -> str:
    """`<contoso>` is the domain of tenant contoso's users; `<CONTOSO>` the same upper-case."""
    for tenant in ctx.world["microsoft"]["tenants"]:
        domain = ctx.tenant_member(tenant["key"])["upn"].rsplit("@", 1)[1]
        text = text.replace(f"<{tenant['key']}>", domain)
        text = text.replace(f"<{tenant['key'].upper()}>", domain.upper())
    return text


def setting_value(ctx: ScenarioContext, name: str, text: str) -> Any:
    word = text.strip()
    field = AccountSettings.model_fields.get(name)
    if field is not None and field.annotation is bool:
        if word.lower() in ("on", "true", "yes"):
            return True
        if word.lower() in ("off", "false", "no"):
            return False
    if word == "(empty)":
        return None
    if word == "(inherited)":  # the audit trail's word for a removed override
        return word
    if word == "<hub EWS URL>":
        return ctx.world["microsoft"]["ews"]
    if name in ("default_calendar_service", "default_contacts_service"):
        return lookup(SERVICES, word, "service")
    if name in ("calendar_permission", "contacts_permission"):
        return lookup(ACCESS, word, "permission")
    if name == "allowed_domains":
        return domain_text(ctx, word)
    return word


def _table(ctx: ScenarioContext, datatable: list[list[str]]) -> dict[str, Any]:
    header, *rows = datatable
    assert header == ["setting", "value"], f"expected | setting | value |, not {header}"
    return {name: setting_value(ctx, name, value) for name, value in rows}


# -- snapshots: "nothing changed" ----------------------------------------------------------------
def _snapshot(ctx: ScenarioContext) -> dict[str, Any]:
    driver = ctx.driver
    views = {"account": driver.get_policy(PolicyTarget.account()).model_dump()}
    for group in ctx.values.get("groups", []):
        views[f"group {group}"] = driver.get_policy(
            PolicyTarget(level="group", name=group)).model_dump()
    people = {u["upn"] for t in ctx.world["microsoft"]["tenants"] for u in t["users"]}
    for person in sorted(people):
        try:
            views[f"user {person}"] = driver.effective_settings(person).model_dump()
            views[f"status {person}"] = driver.integration_status(person).model_dump()
        except DriverError:
            continue  # not a user of this account
    views["audit"] = [e.model_dump() for e in driver.settings_audit()]
    return views


def remember_state(ctx: ScenarioContext) -> None:
    ctx.values["snapshot"] = _snapshot(ctx)
    ctx.values["attempt_audit"] = ctx.control.audit_position()


@then("the policy is unchanged")
@then("nothing changed")
@checks("ADMIN-04", "LOCK-01", "LOCK-05", "LOCK-06", "ADMIN-01", "SVC-01", "CONSENT-05", "PERM-04",
        "DOMAIN-04", "DOMAIN-05", "MAPI-01", "MAPI-02", "SSO-04", "SSO-05", "SSO-06", "SSO-07",
        "SSO-08", "HYBRID-01", "HYBRID-02", "HYBRID-03", "GRAPH-04", "CONSENT-11")
def nothing_changed(calharness_ctx: ScenarioContext) -> None:
    ctx = calharness_ctx
    before, after = ctx.values["snapshot"], _snapshot(ctx)
    changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
    assert not changed, f"changed after a refusal: {changed}"


# -- changes at a level ------------------------------------------------------------------------
def _policy_change(ctx: ScenarioContext, actor: str, target: PolicyTarget,
                   change: PolicyChange) -> PolicyChangeResult:
    remember_state(ctx)
    result = ctx.driver.change_policy(actor, target, change)
    ctx.values["policy_change"] = result
    return result


def _accepted(result: PolicyChangeResult) -> None:
    assert result.accepted, f"the change was refused: {result.code}: {result.reason}"


def _owner(ctx: ScenarioContext) -> str:
    assert ctx.owner, "no account owner: start with 'a meeting platform account owned by …'"
    return ctx.owner


@given(parsers.parse('the account has a group "{group}" with the {ordinal} member of tenant '
                     '"{tenant}"'))
def account_has_group(calharness_ctx: ScenarioContext, group: str, ordinal: str,
                      tenant: str) -> None:
    ctx = calharness_ctx
    ctx.driver.create_group(_owner(ctx), group, [member_of(ctx, ordinal, tenant)])
    ctx.values.setdefault("groups", []).append(group)


@given("the admin changes the account settings:")
@when("the admin changes the account settings:")
def admin_changes_account(calharness_ctx: ScenarioContext, datatable: list[list[str]]) -> None:
    ctx = calharness_ctx
    _accepted(_policy_change(ctx, _owner(ctx), PolicyTarget.account(),
                             PolicyChange(values=_table(ctx, datatable))))


@when("the admin tries to change the account settings:")
def admin_tries_account(calharness_ctx: ScenarioContext, datatable: list[list[str]]) -> None:
    ctx = calharness_ctx
    _policy_change(ctx, _owner(ctx), PolicyTarget.account(),
                   PolicyChange(values=_table(ctx, datatable)))


@when("the account admin tries to change the account settings:")
def account_admin_tries_account(calharness_ctx: ScenarioContext,
                                datatable: list[list[str]]) -> None:
    ctx = calharness_ctx
    _policy_change(ctx, ctx.values["account_admin"], PolicyTarget.account(),
                   PolicyChange(values=_table(ctx, datatable)))


@when("the account admin changes the account settings:")
def account_admin_changes_account(calharness_ctx: ScenarioContext,
                                  datatable: list[list[str]]) -> None:
    ctx = calharness_ctx
    _accepted(_policy_change(ctx, ctx.values["account_admin"], PolicyTarget.account(),
                             PolicyChange(values=_table(ctx, datatable))))


@given(parsers.parse('the admin locks "{setting}" at the account level'))
@when(parsers.parse('the admin locks "{setting}" at the account level'))
def admin_locks_account(calharness_ctx: ScenarioContext, setting: str) -> None:
    ctx = calharness_ctx
    _accepted(_policy_change(ctx, _owner(ctx), PolicyTarget.account(),
                             PolicyChange(lock={setting: True})))


@given(parsers.parse('the admin leaves "{setting}" unlocked'))
def admin_leaves_unlocked(calharness_ctx: ScenarioContext, setting: str) -> None:
    view = calharness_ctx.driver.get_policy(PolicyTarget.account())
    assert setting not in view.locked, f"{setting} is locked at the account level"


@given(parsers.parse('the admin sets "{setting}" to "{value}" and locks it at the account level'))
@when(parsers.parse('the admin sets "{setting}" to "{value}" and locks it at the account level'))
def admin_sets_and_locks(calharness_ctx: ScenarioContext, setting: str, value: str) -> None:
    ctx = calharness_ctx
    change = PolicyChange(values={setting: setting_value(ctx, setting, value)},
                          lock={setting: True})
    _accepted(_policy_change(ctx, _owner(ctx), PolicyTarget.account(), change))


@given(parsers.parse('the admin locks "{setting}" for the group "{group}"'))
def admin_locks_group(calharness_ctx: ScenarioContext, setting: str, group: str) -> None:
    ctx = calharness_ctx
    _accepted(_policy_change(ctx, _owner(ctx), PolicyTarget(level="group", name=group),
                             PolicyChange(lock={setting: True})))


@given(parsers.parse('the admin sets "{setting}" to "{value}" for the group "{group}"'))
@when(parsers.parse('the admin sets "{setting}" to "{value}" for the group "{group}"'))
def admin_sets_group(calharness_ctx: ScenarioContext, setting: str, value: str,
                     group: str) -> None:
    ctx = calharness_ctx
    change = PolicyChange(values={setting: setting_value(ctx, setting, value)})
    _accepted(_policy_change(ctx, _owner(ctx), PolicyTarget(level="group", name=group), change))


@when(parsers.parse('the admin tries to set "{setting}" to "{value}" for the group "{group}"'))
def admin_tries_group(calharness_ctx: ScenarioContext, setting: str, value: str,
                      group: str) -> None:
    ctx = calharness_ctx
    change = PolicyChange(values={setting: setting_value(ctx, setting, value)})
    _policy_change(ctx, _owner(ctx), PolicyTarget(level="group", name=group), change)


@when(parsers.parse('the admin tries to lock "{setting}" for the group "{group}"'))
def admin_tries_group_lock(calharness_ctx: ScenarioContext, setting: str, group: str) -> None:
    ctx = calharness_ctx
    _policy_change(ctx, _owner(ctx), PolicyTarget(level="group", name=group),
                   PolicyChange(lock={setting: True}))


@when(parsers.parse('the {ordinal} member of tenant "{tenant}" tries to set "{setting}" to '
                    '"{value}" for the group "{group}"'))
def member_tries_group(calharness_ctx: ScenarioContext, ordinal: str, tenant: str,
                       setting: str, value: str, group: str) -> None:
    ctx = calharness_ctx
    change = PolicyChange(values={setting: setting_value(ctx, setting, value)})
    _policy_change(ctx, member_of(ctx, ordinal, tenant), PolicyTarget(level="group", name=group),
                   change)


@when(parsers.parse('the account admin sets "{setting}" to "{value}" for the account'))
def account_admin_sets(calharness_ctx: ScenarioContext, setting: str, value: str) -> None:
    ctx = calharness_ctx
    change = PolicyChange(values={setting: setting_value(ctx, setting, value)})
    _accepted(_policy_change(ctx, ctx.values["account_admin"], PolicyTarget.account(), change))


def _user_change(ctx: ScenarioContext, ordinal: str, tenant: str, setting: str,
                 value: str) -> PolicyChangeResult:
    user = member_of(ctx, ordinal, tenant)
    change = PolicyChange(values={setting: setting_value(ctx, setting, value)})
    return _policy_change(ctx, user, PolicyTarget(level="user", name=user), change)


@when(parsers.parse('the {ordinal} member of tenant "{tenant}" tries to turn "{setting}" '
                    '{value} for themselves'))
def member_tries_own(calharness_ctx: ScenarioContext, ordinal: str, tenant: str, setting: str,
                     value: str) -> None:
    _user_change(calharness_ctx, ordinal, tenant, setting, value)


@when(parsers.parse('the {ordinal} member of tenant "{tenant}" turns "{setting}" {value} for '
                    'themselves'))
def member_turns_own(calharness_ctx: ScenarioContext, ordinal: str, tenant: str, setting: str,
                     value: str) -> None:
    _accepted(_user_change(calharness_ctx, ordinal, tenant, setting, value))


@then("the change is accepted")
@checks("HYBRID-03", "GRAPH-04", "HYBRID-02", "ADMIN-05", "LOCK-06", "ADMIN-04", "SSO-06")
def change_accepted(calharness_ctx: ScenarioContext) -> None:
    _accepted(calharness_ctx.values["policy_change"])


@then(parsers.parse('the change is refused with "{code}" and a message containing "{text}"'))
@checks(by=lambda code, text: refusal_requirements(code))
def change_refused(calharness_ctx: ScenarioContext, code: str, text: str) -> None:
    result: PolicyChangeResult = calharness_ctx.values["policy_change"]
    rule = refusal_requirements(code)
    if rule:  # a missing or other refusal breaks the rule this code stands for
        verify(not result.accepted, rule, "the change was accepted")
        verify(result.code == code, refusal_requirements(code, result.code),
               f"refused with {result.code!r}: {result.reason}")
    assert not result.accepted, "the change was accepted"
    assert result.code == code, f"refused with {result.code!r}: {result.reason}"
    expected = domain_text(calharness_ctx, text)
    assert result.reason and expected.lower() in result.reason.lower(), \
        f"the reason does not say {expected!r}: {result.reason!r}"


@then(parsers.parse('the group "{group}" shows "{setting}" greyed out by the account'))
@checks("LOCK-05")
def group_greyed_out(calharness_ctx: ScenarioContext, group: str, setting: str) -> None:
    view = calharness_ctx.driver.get_policy(PolicyTarget(level="group", name=group))
    assert view.locked_above.get(setting) == "account", \
        f"{setting} is not shown as locked at the account: {view.locked_above}"


@then(parsers.parse('the effective "{setting}" of the {ordinal} member of tenant "{tenant}" is '
                    '"{value}" from the {source} level'))
@checks("LOCK-01", "ADMIN-05", "LOCK-06", "ADMIN-04")
def effective_is(calharness_ctx: ScenarioContext, setting: str, ordinal: str, tenant: str,
                 value: str, source: str) -> None:
    ctx = calharness_ctx
    effective = ctx.driver.effective_settings(member_of(ctx, ordinal, tenant))
    detail = effective.details[setting]
    expected = setting_value(ctx, setting, value)
    assert detail.value == expected, f"{setting} is {detail.value!r}, expected {expected!r}"
    assert detail.source == source, f"{setting} comes from the {detail.source} level"
    assert getattr(effective.settings, setting) == expected


def _shown(value: Any) -> Any:
    """Lists (allowed domains) as the comma-separated text scenarios write; empty as None."""
    if isinstance(value, list):
        return ", ".join(value) or None
    if isinstance(value, str) and "," in value:
        return ", ".join(part.strip() for part in value.split(","))
    return value


@then(parsers.parse('the audit trail records "{setting}" changed from "{old}" to "{new}" at the '
                    '{level} level by the {who}'))
@checks("ADMIN-05", "DOMAIN-05", "ADMIN-04")
def audit_records(calharness_ctx: ScenarioContext, setting: str, old: str, new: str, level: str,
                  who: str) -> None:
    ctx = calharness_ctx
    actor = (ctx.owner if who == "admin" else ctx.values["account_admin"]) or ""
    entries = [e for e in ctx.driver.settings_audit()
               if e.setting == setting and e.level == level and e.kind == "value"]
    assert entries, f"no audit entry for {setting} at the {level} level"
    last = entries[-1]
    assert (_shown(last.old), _shown(last.new)) == (
        _shown(setting_value(ctx, setting, old)), _shown(setting_value(ctx, setting, new))), \
        f"audit says {last.old!r} -> {last.new!r}"
    assert last.actor == actor.lower(), f"audit names {last.actor}, expected {actor}"
    assert last.at is not None


@then(parsers.parse('the audit trail records the lock of "{setting}" at the {level} level'))
@checks("ADMIN-05")
def audit_records_lock(calharness_ctx: ScenarioContext, setting: str, level: str) -> None:
    entries = [e for e in calharness_ctx.driver.settings_audit()
               if e.setting == setting and e.level == level and e.kind == "lock"]
    assert entries and (entries[-1].old, entries[-1].new) == (False, True), \
        f"no lock of {setting} in the audit trail: {entries}"


# -- allowed domains -----------------------------------------------------------------------------
@then(parsers.parse('the allowed domains are "{text}"'))
@checks("DOMAIN-05")
def allowed_domains_are(calharness_ctx: ScenarioContext, text: str) -> None:
    expected = [d.strip() for d in domain_text(calharness_ctx, text).split(",")]
    actual = calharness_ctx.driver.get_settings().allowed_domains
    assert actual == expected, f"allowed domains {actual}, expected {expected}"


# -- the set-up flow under the policy ------------------------------------------------------------
@given(parsers.re(r'the user is the (?P<ordinal>second|third) member of tenant '
                  r'"(?P<tenant>[^"]+)"'))
def user_is_member(calharness_ctx: ScenarioContext, ordinal: str, tenant: str) -> None:
    calharness_ctx.user = member_of(calharness_ctx, ordinal, tenant)


@given(parsers.parse('the {ordinal} member of tenant "{tenant}" has connected Office 365 '
                     'choosing calendar "{calendar}" and contacts "{contacts}"'))
def member_connected_choosing(calharness_ctx: ScenarioContext, ordinal: str, tenant: str,
                              calendar: str, contacts: str) -> None:
    ctx = calharness_ctx
    ctx.user = member_of(ctx, ordinal, tenant)
    connect(ctx, ConnectRequest(calendar=lookup(ACCESS, calendar, "permission"),
                                contacts=lookup(ACCESS, contacts, "permission")))
    status = ctx.driver.integration_status(ctx.user)
    assert status.state == "connected", f"set-up failed: {status.state} ({status.message})"


def _try_connect(ctx: ScenarioContext, request: ConnectRequest) -> None:
    assert ctx.user
    ctx.values["status_before"] = ctx.driver.integration_status(ctx.user)
    remember_state(ctx)
    ctx.values.pop("connect_error", None)
    try:
        connect(ctx, request)
    except DriverError as exc:
        ctx.values["connect_error"] = exc


@when(parsers.parse('the user tries to set up the calendar integration choosing calendar '
                    '"{calendar}" and contacts "{contacts}"'))
def user_tries_choosing(calharness_ctx: ScenarioContext, calendar: str, contacts: str) -> None:
    _try_connect(calharness_ctx, ConnectRequest(
        calendar=lookup(ACCESS, calendar, "permission"),
        contacts=lookup(ACCESS, contacts, "permission")))


@when(parsers.parse('the user tries to set up the calendar integration choosing the service '
                    '"{service}"'))
def user_tries_service(calharness_ctx: ScenarioContext, service: str) -> None:
    _try_connect(calharness_ctx, ConnectRequest(service=lookup(SERVICES, service, "service")))


@when(parsers.parse('the user configures the calendar integration again from the profile '
                    'choosing calendar "{calendar}" and contacts "{contacts}"'))
@checks("SETUP-01")
def user_reconfigures(calharness_ctx: ScenarioContext, calendar: str, contacts: str) -> None:
    """Configure Calendar and Contacts Service stays on the profile once the user is set up."""
    ctx = calharness_ctx
    _try_connect(ctx, ConnectRequest(calendar=lookup(ACCESS, calendar, "permission"),
                                     contacts=lookup(ACCESS, contacts, "permission")))
    error = ctx.values.get("connect_error")
    verify(error is None, "SETUP-01", f"configuring the integration again from the profile was "
                                      f"refused: {getattr(error, 'code', '')}: "
                                      f"{getattr(error, 'message', '')}")


@when("the user tries to set up the calendar integration with the default service from the "
      "profile")
def user_tries_default(calharness_ctx: ScenarioContext) -> None:
    _try_connect(calharness_ctx, ConnectRequest())


@then(parsers.parse('the set-up is refused with "{code}" and a message containing "{text}"'))
@checks(by=lambda code, text: refusal_requirements(code))
def setup_refused(calharness_ctx: ScenarioContext, code: str, text: str) -> None:
    ctx = calharness_ctx
    error = ctx.values.get("connect_error")
    rule = refusal_requirements(code)
    if rule:
        verify(error is not None, rule, "the set-up was not refused")
        verify(error.code == code, refusal_requirements(code, error.code),
               f"refused with {error.code!r}: {error.message}")
    assert error is not None, "the set-up was not refused"
    assert error.code == code, f"refused with {error.code!r}: {error.message}"
    expected = domain_text(ctx, text)
    assert expected.lower() in error.message.lower(), \
        f"the message does not say {expected!r}: {error.message!r}"


@then("the user was never sent to sign in at Microsoft")
@checks("ADMIN-01", "SVC-01", "CONSENT-04", "DOMAIN-04", "LOCK-01", "LOCK-06")
def never_sent_to_microsoft(calharness_ctx: ScenarioContext) -> None:
    ctx = calharness_ctx
    assert ctx.user
    asked = [e for e in ctx.control.audit(since=ctx.values["attempt_audit"], provider="identity")
             if e.get("operation") == "authorize"]
    assert not asked, f"the identity provider was asked to authorize: {asked[:2]}"


@then(parsers.parse('the set-up asks the user to confirm exactly the permissions "{scopes}"'))
@checks("SETUP-03")
def setup_confirms(calharness_ctx: ScenarioContext, scopes: str) -> None:
    ctx = calharness_ctx
    error = ctx.values.get("connect_error")
    if error is not None:
        verify(False, default_setup_failure(error) or refusal_requirements(error.code)
               or ("SETUP-01",), f"the set-up was refused: {error.code}: {error.message}")
    start = ctx.values["connect_start"]
    expected, shown = set(scopes.split()), set(start.requested_scopes)
    # what the user confirms is what Microsoft is then asked to grant
    at_provider = _asked_at_identity_provider(ctx)
    verify(at_provider is None or shown == at_provider, "SETUP-03",
           f"the user confirms {sorted(shown)}; Microsoft was asked for "
           f"{sorted(at_provider or [])}")
    if shown != expected:
        # the documented mapping of the permissions the integration took: when that is what
        # it asked for, it took other permissions than the admin configured (ADMIN-03)
        assert ctx.user
        status = ctx.driver.integration_status(ctx.user)
        verify(shown != documented_scopes(status.calendar, status.contacts), "ADMIN-03",
               f"the set-up asked for {sorted(shown)}: calendar {status.calendar} and contacts "
               f"{status.contacts}, not what the admin configured")
    # the permissions to confirm are the documented mapping of the admin's choices
    verify(shown == expected, scope_requirements(expected, shown),
           f"the set-up asked for {start.requested_scopes}")


def _asked_at_identity_provider(ctx: ScenarioContext) -> set[str] | None:
    """The resource scopes of the set-up's last authorization request, None if there was none."""
    since = ctx.values.get("attempt_audit", ctx.audit_start)
    entries = [e for e in ctx.control.audit(since=since, provider="identity")
               if e.get("operation") == "authorize"]
    if not entries:
        return None
    return {bare_scope(s) for s in entries[-1].get("scopes") or []} - OIDC_SCOPES


@then(parsers.parse('the user\'s integration uses the service "{service}" with calendar '
                    '"{calendar}" and contacts "{contacts}"'))
@checks("SVC-03", "ADMIN-03", "SETUP-02", "SETUP-01")
def integration_uses(calharness_ctx: ScenarioContext, service: str, calendar: str,
                     contacts: str) -> None:
    ctx = calharness_ctx
    assert ctx.user
    status = ctx.driver.integration_status(ctx.user)
    actual = (status.service, status.calendar, status.contacts)
    # the service is the one the user selected (SETUP-02), else the admin's default (SVC-03);
    # the permissions are what the admin configured (ADMIN-03)
    request = ctx.values.get("connect_request")
    chose = request is not None and request.service is not None
    verify(status.service == lookup(SERVICES, service, "service"),
           "SETUP-02" if chose else "SVC-03", f"the integration is {actual}")
    verify((status.calendar, status.contacts) == (lookup(ACCESS, calendar, "access"),
                                                  lookup(ACCESS, contacts, "access")),
           "ADMIN-03", f"the integration is {actual}")


@then(parsers.parse('the integration status says "{text}"'))
@checks("DOMAIN-03", "MAPI-02", "LOCK-02")
def status_says(calharness_ctx: ScenarioContext, text: str) -> None:
    ctx = calharness_ctx
    assert ctx.user
    status = ctx.driver.integration_status(ctx.user)
    expected = domain_text(ctx, text)
    assert status.message and expected.lower() in status.message.lower(), \
        f"the status message does not say {expected!r}: {status.message!r}"


@then("the meeting list is empty")
@checks("LOCK-02", "DOMAIN-03", "LOCK-03")
def meeting_list_empty(calharness_ctx: ScenarioContext) -> None:
    ctx = calharness_ctx
    assert ctx.user
    start, end = world_window(ctx)
    # An empty list proves something only where the provider has meetings to show.
    assert ctx.control.events(ctx.user, start, end), (
        "the provider calendar has no meeting in the window: the check proves nothing")
    shown = ctx.driver.list_meetings(ctx.user, start, end)
    assert shown == [], f"the user still sees {len(shown)} meetings"


# -- signing in ----------------------------------------------------------------------------------
def _sign_in(ctx: ScenarioContext, method: str, version: str, platform: str) -> None:
    assert ctx.user
    how = {"sso": "sso", "a password": "password", "password": "password"}[method.lower()]
    client = ClientInfo(version=version, platform=lookup(PLATFORMS, platform, "platform"))
    ctx.values.pop("sign_in_error", None)
    remember_state(ctx)
    try:
        ctx.values["sign_in"] = ctx.driver.sign_in(ctx.user, client, how)  # type: ignore[arg-type]
    except DriverError as exc:
        ctx.values["sign_in_error"] = exc


@when(parsers.parse('the user signs in with {method} using client {version} on {platform}'))
def user_signs_in(calharness_ctx: ScenarioContext, method: str, version: str,
                  platform: str) -> None:
    _sign_in(calharness_ctx, method, version, platform)
    error = calharness_ctx.values.get("sign_in_error")
    assert error is None, f"the sign-in was refused: {error}"


@when(parsers.parse('the user tries to sign in with {method} using client {version} on '
                    '{platform}'))
def user_tries_sign_in(calharness_ctx: ScenarioContext, method: str, version: str,
                       platform: str) -> None:
    _sign_in(calharness_ctx, method, version, platform)


@then(parsers.parse('the sign-in is refused with "{code}" and a message containing "{text}"'))
@checks(by=lambda code, text: refusal_requirements(code))
def sign_in_refused(calharness_ctx: ScenarioContext, code: str, text: str) -> None:
    error = calharness_ctx.values.get("sign_in_error")
    verify(error is not None and error.code == code, refusal_requirements(code) or ("SSO-04",),
           f"the sign-in was not refused with {code}: {error}")
    assert error is not None, "the sign-in was not refused"
    assert error.code == code and text.lower() in error.message.lower(), \
        f"refused with {error.code}: {error.message}"


@then("the user is prompted to integrate again")
@checks("LOCK-03", "DOMAIN-03")
def prompted_again(calharness_ctx: ScenarioContext) -> None:
    result = calharness_ctx.values["sign_in"]
    assert result.prompt == "reintegrate", f"prompt {result.prompt!r} ({result.prompt_reason})"
    assert result.redirect is None


@then(parsers.parse('the user gets the prompt "{prompt}"'))
@checks("LOCK-04", "LOCK-03")
def gets_prompt(calharness_ctx: ScenarioContext, prompt: str) -> None:
    result = calharness_ctx.values["sign_in"]
    assert result.prompt == prompt, f"prompt {result.prompt!r} ({result.prompt_reason})"


@then("the user gets no prompt")
@checks("DOMAIN-02", "PROMPT-01", "PROMPT-02", "PROMPT-04", "LOCK-03", "SSO-09")
def no_prompt(calharness_ctx: ScenarioContext) -> None:
    ctx = calharness_ctx
    result = ctx.values["sign_in"]
    if result.prompt == "integrate_office365" and ctx.user:
        # Asked when no ask was due: the rule of the mode the account set (first sign-in
        # only, PROMPT-02; every sign-in until integrated, PROMPT-01).
        mode = ctx.driver.effective_settings(ctx.user).settings.ask_to_integrate_on_sign_in
        verify(False, "PROMPT-02" if mode == "first_sign_in" else "PROMPT-01",
               f"prompted {result.prompt!r}: {result.prompt_reason}")
    assert result.prompt == "none", f"prompted {result.prompt!r}: {result.prompt_reason}"
    assert result.redirect is None, "the user was redirected"


@then("the user is redirected to the Office 365 OAuth URL")
@checks("PROMPT-02", "PROMPT-04", "SSO-01")
def redirected_to_office365(calharness_ctx: ScenarioContext) -> None:
    ctx = calharness_ctx
    result = ctx.values["sign_in"]
    assert result.prompt == "integrate_office365", f"prompt {result.prompt!r}"
    assert result.redirect and result.redirect.authorization_url, "no redirect"
    assert ctx.user
    url = urlsplit(result.redirect.authorization_url)
    tenant = ctx.tenant(ctx.user.rsplit("@", 1)[1])
    authority = urlsplit(ctx.world["microsoft"]["authority_host"])
    app = next(a for a in tenant["apps"] if a["client_secret"])
    query = parse_qs(url.query)
    assert (url.scheme, url.netloc) == (authority.scheme, authority.netloc), url.netloc
    assert url.path == f"/{tenant['id']}/oauth2/v2.0/authorize", url.path
    assert query.get("client_id") == [app["client_id"]], query.get("client_id")
    assert query.get("response_type") == ["code"], query.get("response_type")


@then("the sign-in integrates automatically")
@checks("SSO-09", "APPROVAL-04")
def sign_in_integrates_automatically(calharness_ctx: ScenarioContext) -> None:
    assert calharness_ctx.values["sign_in"].auto_integration, "no automatic integration"


@then("the user's calendar and contacts were read at once, with nothing more for the user to do")
@checks("SSO-02")
def populated_at_once(calharness_ctx: ScenarioContext) -> None:
    """Read before anything else asks for them: only the set-up itself can have read them."""
    ctx = calharness_ctx
    assert ctx.user
    status = ctx.driver.integration_status(ctx.user)
    verify(status.calendar_state == "ok" and status.contacts_state == "ok", "SSO-02",
           f"right after the authorization the calendar is {status.calendar_state!r} and the "
           f"contacts are {status.contacts_state!r}, not read")


@then("the SSO sign-in authorized both the calendar and the contacts integration")
@checks("SSO-01")
def sso_authorized_both(calharness_ctx: ScenarioContext) -> None:
    ctx = calharness_ctx
    assert ctx.user
    status = ctx.driver.integration_status(ctx.user)
    chosen = ctx.driver.effective_settings(ctx.user).settings
    verify((status.calendar, status.contacts) == (chosen.calendar_permission,
                                                  chosen.contacts_permission), "SSO-01",
           f"the integration holds calendar {status.calendar!r} and contacts "
           f"{status.contacts!r}; the admin chose {chosen.calendar_permission!r} and "
           f"{chosen.contacts_permission!r}")
    scopes = {bare_scope(s) for s in status.granted_scopes}
    verify(any(s.startswith("Calendars.") for s in scopes)
           and any(s.startswith("Contacts.") for s in scopes), "SSO-01",
           f"the token collected at the SSO sign-in covers {sorted(scopes)}")


def _follow(ctx: ScenarioContext, consent: str) -> None:
    assert ctx.user
    start = ctx.values["sign_in"].redirect
    assert start and start.authorization_url and start.redirect_uri, "no redirect to follow"
    outcome = sign_in(ctx, start.authorization_url, ctx.user, start.redirect_uri, consent)
    assert outcome.callback_url, f"the sign-in stopped at {outcome.blocked_page_title}"
    ctx.driver.complete_connect(ctx.user, outcome.callback_url)


@when("the user follows the redirect and accepts the consent")
def follow_accept(calharness_ctx: ScenarioContext) -> None:
    _follow(calharness_ctx, "accept")


@when("the user follows the redirect and declines the consent")
def follow_decline(calharness_ctx: ScenarioContext) -> None:
    _follow(calharness_ctx, "decline")


# -- Exchange through MAPI -----------------------------------------------------------------------
@when(parsers.parse('the user tries to integrate Exchange through MAPI from the {platform} '
                    'desktop client'))
def user_tries_mapi(calharness_ctx: ScenarioContext, platform: str) -> None:
    ctx = calharness_ctx
    assert ctx.user
    remember_state(ctx)
    ctx.values.pop("connect_error", None)
    client = ClientInfo(version="5.17.11", platform=lookup(PLATFORMS, platform, "platform"))
    try:
        ctx.values["status"] = ctx.driver.connect_mapi(ctx.user, client)
    except DriverError as exc:
        ctx.values["connect_error"] = exc


@then("the user's calendar is integrated through MAPI on the desktop")
@checks("MAPI-02", "MAPI-01", "EXCH-01")
def integrated_through_mapi(calharness_ctx: ScenarioContext) -> None:
    ctx = calharness_ctx
    assert ctx.user
    assert ctx.values.get("connect_error") is None, ctx.values.get("connect_error")
    status = ctx.driver.integration_status(ctx.user)
    assert status.state == "connected" and status.desktop_mapi, \
        f"status {status.state} mapi={status.desktop_mapi} service={status.service}"
    # MAPI is one of Exchange's two ways: the calendar integrated is Exchange (EXCH-01)
    verify(status.service == "exchange", "EXCH-01",
           f"the MAPI integration is recorded as {status.service}, not Exchange")


@then(parsers.parse('the MAPI integration is refused with a message containing "{text}"'))
@checks("MAPI-01", "MAPI-02")
def mapi_refused(calharness_ctx: ScenarioContext, text: str) -> None:
    error = calharness_ctx.values.get("connect_error")
    parts = text.split(" | ")
    # each condition named is its rule's: Windows only (MAPI-01), enabled and locked (MAPI-02)
    rules = tuple(dict.fromkeys("MAPI-01" if "windows" in p.lower() else "MAPI-02"
                                for p in parts))
    verify(error is not None, rules, "the MAPI integration was accepted")
    for part in parts:
        verify(part.lower() in error.message.lower(),
               "MAPI-01" if "windows" in part.lower() else "MAPI-02",
               f"the message does not say {part!r}: {error.message!r}")


@then(parsers.parse('the account setting "{name}" is "{value}"'))
@checks("APPROVAL-04", "GRAPH-01", "HYBRID-03", "GRAPH-04", "HYBRID-02", "MAPI-02", "SSO-06",
        "SSO-05")
def account_setting_is(calharness_ctx: ScenarioContext, name: str, value: str) -> None:
    settings = calharness_ctx.driver.get_settings()
    expected = setting_value(calharness_ctx, name, value)
    assert getattr(settings, name) == expected, f"{name} is {getattr(settings, name)!r}"


# -- consent on behalf of the company --------------------------------------------------------------
def _authorize_for_company(ctx: ScenarioContext, actor: str, on_behalf: bool) -> None:
    start = ctx.driver.begin_admin_consent(actor)
    assert start.authorization_url and start.redirect_uri
    outcome = sign_in(ctx, start.authorization_url, actor, start.redirect_uri,
                      on_behalf_of_org=on_behalf)
    assert outcome.callback_url, f"the authorization stopped at {outcome.blocked_page_title}"
    ctx.values["admin_consent"] = ctx.driver.complete_admin_consent(actor, outcome.callback_url)


@when("the admin authorizes the integration as Office 365 admin without agreeing on behalf of "
      "the company")
def admin_authorizes_for_self(calharness_ctx: ScenarioContext) -> None:
    _authorize_for_company(calharness_ctx, _owner(calharness_ctx), on_behalf=False)


@when("the admin consents as Office 365 admin on behalf of the entire account")
def admin_consents_for_account(calharness_ctx: ScenarioContext) -> None:
    _authorize_for_company(calharness_ctx, _owner(calharness_ctx), on_behalf=True)


@then("the consent on behalf of the entire account is granted")
@checks("CONSENT-01")
def account_consent_granted(calharness_ctx: ScenarioContext) -> None:
    result = calharness_ctx.values["admin_consent"]
    verify(result.granted, "CONSENT-01",
           f"the Office 365 admin's consent for the account was not granted: {result.message}")


@when("the account admin tries to authorize the integration as Office 365 admin on behalf of "
      "the company")
def account_admin_authorizes(calharness_ctx: ScenarioContext) -> None:
    ctx = calharness_ctx
    _authorize_for_company(ctx, ctx.values["account_admin"], on_behalf=True)


@then(parsers.parse('the authorization is not granted and says "{text}"'))
@checks(by=admin_consent_refusal_requirements)
def authorization_not_granted(calharness_ctx: ScenarioContext, text: str) -> None:
    result = calharness_ctx.values["admin_consent"]
    assert not result.granted, "the authorization was granted"
    assert result.message and text.lower() in result.message.lower(), result.message


@then("the identity provider recorded no consent on behalf of the organisation")
@checks("ROOMS-05", "CONSENT-08")
def no_org_consent(calharness_ctx: ScenarioContext) -> None:
    ctx = calharness_ctx
    consents = [e for e in ctx.control.audit(since=ctx.audit_start, provider="identity")
                if e.get("operation") == "consent"]
    assert consents, "no consent was given at all"
    on_behalf = [e for e in consents if (e.get("detail") or {}).get("on_behalf_of_org")]
    assert not on_behalf, f"consent on behalf of the organisation was recorded: {on_behalf}"
