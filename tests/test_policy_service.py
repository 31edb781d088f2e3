"""The reference implementation's policy operations on its real store (SQLite), without the
mock hub: refusals leave the store unchanged, accepted changes are resolved and audited."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, seed, settings
from hypothesis import strategies as st

from harness.api.models import AccountSpec, PolicyChange, PolicyTarget
from harness.driver.base import DriverError
from harness.reference import ReferenceConfig, ReferenceIntegration

HARNESS_SEED = int(os.environ.get("CALHARNESS_SEED", "42"))
OWNER, ADMIN, ANN, BOB = ("owner@example.com", "admin@example.com", "ann@example.com",
                          "bob@example.com")


def _config() -> ReferenceConfig:
    # No provider is reached by these operations; the URLs only have to be well formed.
    return ReferenceConfig(authority_host="https://login.invalid", graph_url="https://graph.invalid",
                           ews_url="https://ews.invalid/EWS/Exchange.asmx", ca_bundle=None,
                           registrations=())


@pytest.fixture(scope="module")
def impl() -> Iterator[ReferenceIntegration]:
    integration = ReferenceIntegration(_config())
    yield integration
    integration.close()


def _fresh(impl: ReferenceIntegration) -> None:
    impl.setup_account(AccountSpec(owner=OWNER, admins=[ADMIN], members=[ANN, BOB]))
    impl.create_group(OWNER, "Sales", [ANN])


def _snapshot(impl: ReferenceIntegration) -> dict[str, Any]:
    return {
        "account": impl.get_policy(PolicyTarget.account()).model_dump(),
        "group": impl.get_policy(PolicyTarget(level="group", name="Sales")).model_dump(),
        "ann": impl.effective_settings(ANN).model_dump(),
        "bob": impl.effective_settings(BOB).model_dump(),
        "audit": [e.model_dump() for e in impl.settings_audit()],
    }


SETTING_VALUES: dict[str, list[Any]] = {
    "calendar_integration": [True, False, "maybe"],
    "calendar_permission": ["read", "write", "none", "admin"],
    "contacts_permission": ["none", "read", "write"],
    "authorize_with": ["graph", "ews"],
    "ews_url": [None, "https://mail.example.com/EWS/Exchange.asmx", "ftp://x"],
    "allowed_domains": ["example.com", "Example.COM., b\u00fccher.example", "bad entry.com",
                        "*.example.com", ""],
    "ask_to_integrate_on_sign_in": ["off", "first_sign_in", "every_sign_in", "sometimes"],
    "sso_configured": [True, False],
    "idp_federated": [True, False],
    "office365_environment": ["full", "hybrid", "on_premises"],
    "exchange_onprem_build": [None, "15.1.466.34", "15.1.544.27", "CU2"],
    "mapi": [True, False],
    "setup_by": ["user_oauth", "admin_application"],
    "no_such_setting": [1],
}


@st.composite
def changes(draw: st.DrawFn) -> tuple[str, PolicyTarget, PolicyChange]:
    actor = draw(st.sampled_from([OWNER, ADMIN, ANN, BOB, "stranger@example.com"]))
    target = draw(st.sampled_from([PolicyTarget.account(),
                                   PolicyTarget(level="group", name="Sales"),
                                   PolicyTarget(level="group", name="Nope"),
                                   PolicyTarget(level="user", name=ANN),
                                   PolicyTarget(level="user", name=BOB)]))
    names = st.sampled_from(sorted(SETTING_VALUES))
    values = {n: draw(st.sampled_from(SETTING_VALUES[n]))
              for n in draw(st.lists(names, max_size=3, unique=True))}
    lock = draw(st.dictionaries(names, st.booleans(), max_size=2))
    return actor, target, PolicyChange(values=values, lock=lock)


@seed(HARNESS_SEED)
@settings(max_examples=60, database=None, deadline=None)
@given(st.lists(changes(), min_size=1, max_size=6))
def test_refusals_change_nothing_and_acceptances_are_audited(
        impl: ReferenceIntegration, steps: list[tuple[str, PolicyTarget, PolicyChange]]) -> None:
    _fresh(impl)
    for actor, target, change in steps:
        before = _snapshot(impl)
        result = impl.change_policy(actor, target, change)
        after = _snapshot(impl)
        if not result.accepted:
            assert result.code and result.reason
            assert after == before, f"refused ({result.code}) but the store changed"
            continue
        new_entries = after["audit"][len(before["audit"]):]
        assert after["audit"][:len(before["audit"])] == before["audit"]
        assert all(e["actor"] == actor.lower() for e in new_entries)
        assert all(e["level"] == target.level for e in new_entries)
        for entry in new_entries:
            assert entry["old"] != entry["new"]


def test_existing_change_settings_keeps_its_contract(impl: ReferenceIntegration) -> None:
    _fresh(impl)
    refused = impl.change_settings(ANN, {"calendar_permission": "write"})
    assert not refused.accepted and refused.code == "not_an_admin"
    assert "owner" in (refused.reason or "") and "admin" in (refused.reason or "")
    accepted = impl.change_settings(ADMIN, {"calendar_permission": "write"})
    assert accepted.accepted and accepted.settings.calendar_permission == "write"
    entry = impl.settings_audit()[-1]
    assert (entry.actor, entry.setting, entry.old, entry.new, entry.level) == (
        ADMIN, "calendar_permission", "read", "write", "account")


def test_effective_settings_follow_levels_and_locks(impl: ReferenceIntegration) -> None:
    _fresh(impl)
    group = PolicyTarget(level="group", name="Sales")
    assert impl.change_policy(OWNER, group, PolicyChange(
        values={"contacts_permission": "none"}, lock={"contacts_permission": True})).accepted
    ann = impl.effective_settings(ANN)
    assert ann.group == "Sales" and ann.settings.contacts_permission == "none"
    assert ann.details["contacts_permission"].locked_at == "group"
    assert impl.effective_settings(BOB).settings.contacts_permission == "read"
    assert impl.change_policy(OWNER, PolicyTarget.account(), PolicyChange(
        values={"contacts_permission": "write"}, lock={"contacts_permission": True})).accepted
    assert impl.effective_settings(ANN).settings.contacts_permission == "write"
    assert impl.get_policy(group).locked_above == {"contacts_permission": "account"}


def test_groups_are_created_by_admins_only_and_hold_a_user_once(
        impl: ReferenceIntegration) -> None:
    _fresh(impl)
    with pytest.raises(DriverError) as member:
        impl.create_group(BOB, "Support", [BOB])
    assert member.value.code == "not_an_admin"
    with pytest.raises(DriverError) as twice:
        impl.create_group(OWNER, "Support", [ANN])
    assert twice.value.code == "already_in_group" and "Sales" in twice.value.message
    with pytest.raises(DriverError) as stranger:
        impl.create_group(OWNER, "Support", ["nobody@example.com"])
    assert stranger.value.code == "not_a_member"
    with pytest.raises(DriverError) as exists:
        impl.create_group(OWNER, "Sales", [BOB])
    assert exists.value.code == "group_exists"
    assert impl.create_group(OWNER, "Support", [BOB]).members == [BOB]


def test_contact_requests_and_scheduling_grants(impl: ReferenceIntegration) -> None:
    _fresh(impl)
    request = impl.invite_contact(ANN, " Carol@Partner.Example. ")
    assert (request.recipient, request.status) == ("carol@partner.example", "pending")
    with pytest.raises(DriverError) as again:
        impl.invite_contact(ANN, "carol@partner.example")
    assert again.value.code == "already_requested"
    with pytest.raises(DriverError) as self_invite:
        impl.invite_contact(ANN, ANN.upper())
    assert self_invite.value.code == "cannot_invite_self"
    assert [r.id for r in impl.contact_requests(ANN)] == [request.id]
    grant = impl.grant_scheduling_privilege(ANN, BOB, manage_private_events=False)
    assert (grant.owner, grant.assignee, grant.manage_private_events) == (ANN, BOB, False)
    assert impl.scheduling_privileges(BOB) == [grant]
    with pytest.raises(DriverError) as own:
        impl.grant_scheduling_privilege(ANN, ANN, manage_private_events=True)
    assert own.value.code == "cannot_grant_self"
    impl.revoke_scheduling_privilege(ANN, BOB)
    assert impl.scheduling_privileges(BOB) == []
    with pytest.raises(DriverError) as none:
        impl.revoke_scheduling_privilege(ANN, BOB)
    assert none.value.code == "no_scheduling_privilege"
