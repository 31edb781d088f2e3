"""What the Office 365 admin grants in Entra ID (outside the integration, through the mock
tenant's admin interface) and what the identity provider then did with the integration's
requests, judged from the hub's audit log rather than the integration's own word."""

from __future__ import annotations

from typing import Any

from pytest_bdd import given, parsers, then, when

from harness.bdd.attribution import checks
from harness.bdd.context import ScenarioContext
from harness.steps.account_steps import _admin_change
from harness.steps.connect_steps import OIDC_SCOPES
from harness.steps.vocabulary import ACCESS, bare_scope, lookup


def _tenant_id(ctx: ScenarioContext) -> str:
    assert ctx.owner, "no account owner: start with 'a meeting platform account owned by …'"
    return str(ctx.tenant(ctx.owner.rsplit("@", 1)[-1])["id"])


def _integration_app(ctx: ScenarioContext) -> str:
    """The tenant's confidential web-app registration: the app the integration signs in as."""
    tenant = ctx.tenant(_tenant_id(ctx))
    apps = [a for a in tenant["apps"] if a.get("client_secret")]
    assert len(apps) == 1, f"expected one web-app registration in the tenant, found {len(apps)}"
    return str(apps[0]["client_id"])


def _user_entries(ctx: ScenarioContext, operation: str) -> list[dict[str, Any]]:
    assert ctx.user, "no current user"
    return [
        e
        for e in ctx.control.audit(since=ctx.audit_start, provider="identity")
        if e.get("operation") == operation and (e.get("user") or "").lower() == ctx.user.lower()
    ]


@given(
    parsers.parse('the Office 365 admin grants admin consent to the app in Entra ID for "{scopes}"')
)
@when(
    parsers.parse('the Office 365 admin grants admin consent to the app in Entra ID for "{scopes}"')
)
def entra_grants_app_consent(calharness_ctx: ScenarioContext, scopes: str) -> None:
    """Enterprise applications > the app > Permissions > Grant admin consent: tenant-wide
    consent to these delegated permissions for this app only."""
    ctx = calharness_ctx
    ctx.control.grant_admin_consent(_tenant_id(ctx), _integration_app(ctx), scopes.split())


@when(
    parsers.parse(
        'the admin changes the calendar permission to "{calendar}" and the '
        'contacts permission to "{contacts}"'
    )
)
def admin_changes_permissions(
    calharness_ctx: ScenarioContext, calendar: str, contacts: str
) -> None:
    _admin_change(
        calharness_ctx,
        calendar_permission=lookup(ACCESS, calendar, "permission"),
        contacts_permission=lookup(ACCESS, contacts, "permission"),
    )


@then(parsers.parse('the identity provider stopped the user for admin approval of "{scopes}"'))
@checks("CONSENT-02")
def stopped_for_approval(calharness_ctx: ScenarioContext, scopes: str) -> None:
    ctx = calharness_ctx
    stopped = [
        e
        for e in _user_entries(ctx, "login")
        if (e.get("detail") or {}).get("next") == "need_admin_approval"
    ]
    assert stopped, "the identity provider never stopped the user for admin approval"
    asked = {bare_scope(s) for s in stopped[-1].get("scopes") or []} - OIDC_SCOPES
    assert asked == set(scopes.split()), f"the refused request asked for {sorted(asked)}"


@then("the user's last sign-in at Microsoft went straight back without a consent page")
@checks("CONSENT-09", "CONSENT-02", "APPROVAL-04")
def straight_back(calharness_ctx: ScenarioContext) -> None:
    ctx = calharness_ctx
    logins = _user_entries(ctx, "login")
    assert logins, "the user never signed in at Microsoft"
    last = logins[-1]
    assert (last.get("detail") or {}).get("next") == "code", (
        f"the last sign-in went to {(last.get('detail') or {}).get('next')!r}, not back"
    )
    consents = [e for e in _user_entries(ctx, "consent") if e["seq"] > last["seq"]]
    assert not consents, f"the user consented at Microsoft after signing in: {consents}"


@then(
    parsers.parse(
        "the Office 365 admin's consent for the company covered exactly the "
        'resource scopes "{scopes}"'
    )
)
@checks("ROOMS-04", "APPROVAL-05")  # which protocol the company's authorization went through
def admin_consent_covered(calharness_ctx: ScenarioContext, scopes: str) -> None:
    ctx = calharness_ctx
    assert ctx.owner
    consents = [
        e
        for e in ctx.control.audit(since=ctx.audit_start, provider="identity")
        if e.get("operation") == "consent"
        and (e.get("user") or "").lower() == ctx.owner.lower()
        and (e.get("detail") or {}).get("on_behalf_of_org")
    ]
    assert consents, "the Office 365 admin never consented on behalf of the organisation"
    granted = {bare_scope(s) for s in consents[-1].get("scopes") or []} - OIDC_SCOPES
    assert granted == set(scopes.split()), f"the admin consented to {sorted(granted)}"


@then(
    "the Office 365 admin's approval asked Microsoft for the app's whole set of application "
    "permissions"
)
@checks("APPPERM-03")
def approval_asked_default(calharness_ctx: ScenarioContext) -> None:
    """v2 admin consent with `.default`: the approval has no choice of scopes to narrow."""
    ctx = calharness_ctx
    asked = [
        e
        for e in ctx.control.audit(since=ctx.audit_start, provider="identity")
        if e.get("operation") == "adminconsent"
    ]
    assert asked, "the admin's approval never reached Microsoft's admin consent"
    scopes = {s for e in asked for s in e.get("scopes") or []}
    assert scopes == {"https://graph.microsoft.com/.default"}, f"the approval asked {scopes}"


def _app_token_roles(ctx: ScenarioContext) -> set[str]:
    tokens = [
        e
        for e in ctx.control.audit(since=ctx.audit_start, provider="identity")
        if (e.get("operation") or "").startswith("token")
        and e.get("status") == 200
        and "roles" in (e.get("detail") or {})
    ]
    assert tokens, "Microsoft issued the integration no app token"
    return set(tokens[-1]["detail"]["roles"])


@then(parsers.parse('Microsoft gave the integration an app token with the roles "{roles}"'))
@checks("APPPERM-03")
def app_token_roles(calharness_ctx: ScenarioContext, roles: str) -> None:
    got = _app_token_roles(calharness_ctx)
    assert got == set(roles.split()), f"the app token carries {sorted(got)}"


@then(parsers.parse('the user\'s integration reports the access "{scopes}" that Microsoft granted'))
@checks("APPPERM-03")
def integration_reports_granted(calharness_ctx: ScenarioContext, scopes: str) -> None:
    ctx = calharness_ctx
    assert ctx.user
    status = ctx.driver.integration_status(ctx.user)
    reported = {bare_scope(s) for s in status.granted_scopes}
    assert reported == set(scopes.split()) == _app_token_roles(ctx), (
        f"the integration reports {sorted(reported)}"
    )
