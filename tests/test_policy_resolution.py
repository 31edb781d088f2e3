"""Setting resolution across account, group and user levels with locks, and the change engine:
unit cases for each rule and hypothesis properties over random policies and changes."""

from __future__ import annotations

import copy
import os
from typing import Any

from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st
from property_support import examples

from harness.reference.policy import (
    SETTINGS,
    Applied,
    ChangeRequest,
    LevelState,
    PolicyState,
    Refusal,
    apply_change,
    locked_above,
    resolve_setting,
    validate_settings,
)
from harness.reference.policy.changes import INHERITED

HARNESS_SEED = int(os.environ.get("CALHARNESS_SEED", "42"))
PROPERTY = settings(max_examples=examples(300), database=None, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])

# The pure engine is exercised with abstract values (ints); types are the validator's business.
NAMES = sorted(SETTINGS)
GROUP_NAMES = sorted(n for n, s in SETTINGS.items() if "group" in s.levels)
USER_NAMES = sorted(n for n, s in SETTINGS.items() if "user" in s.levels)
LOCKABLE = sorted(n for n, s in SETTINGS.items() if s.lockable)
USERS = ["ann@example.com", "bob@example.com", "cy@example.com"]
GROUPS = ["Sales", "Support"]
VALUES = st.integers(0, 3)


@st.composite
def states(draw: st.DrawFn) -> PolicyState:
    account = LevelState(values={n: draw(VALUES) for n in NAMES},
                         locks=frozenset(draw(st.sets(st.sampled_from(LOCKABLE)))))
    groups = {}
    for group in draw(st.lists(st.sampled_from(GROUPS), unique=True)):
        values = draw(st.dictionaries(st.sampled_from(GROUP_NAMES), VALUES))
        locks = draw(st.sets(st.sampled_from([n for n in LOCKABLE if n in GROUP_NAMES])))
        groups[group] = LevelState(values=values, locks=frozenset(locks))
    membership = {u: g for u in USERS
                  if (g := draw(st.sampled_from([None, *groups]))) is not None}
    users = {u: LevelState(values=draw(st.dictionaries(st.sampled_from(USER_NAMES), VALUES)))
             for u in USERS}
    return PolicyState(account=account, groups=groups, membership=membership, users=users,
                       members=frozenset(USERS))


@st.composite
def requests(draw: st.DrawFn, state: PolicyState) -> ChangeRequest:
    level = draw(st.sampled_from(["account", "group", "user"]))
    target = {"account": None, "group": draw(st.sampled_from(GROUPS)),
              "user": draw(st.sampled_from([*USERS, "stranger@example.com"]))}[level]
    actor = draw(st.sampled_from(["owner@example.com", *USERS]))
    role = draw(st.sampled_from(["owner", "admin", "member", None]))
    names = st.sampled_from(NAMES + ["no_such_setting"])
    return ChangeRequest(
        actor=actor, role=role, level=level, target=target,  # type: ignore[arg-type]
        values=draw(st.dictionaries(names, VALUES, max_size=3)),
        inherit=tuple(draw(st.lists(names, max_size=2))),
        lock=draw(st.dictionaries(names, st.booleans(), max_size=2)))


# -- properties of resolution -------------------------------------------------------------------
@seed(HARNESS_SEED)
@PROPERTY
@given(states())
def test_an_account_lock_always_wins(state: PolicyState) -> None:
    for name in state.account.locks:
        for user in USERS:
            found = resolve_setting(state, name, user=user)
            assert (found.value, found.source, found.locked_at) == (
                state.account.values[name], "account", "account")


@seed(HARNESS_SEED)
@PROPERTY
@given(states())
def test_a_group_lock_binds_the_groups_users(state: PolicyState) -> None:
    for user in USERS:
        group = state.group_of(user)
        if group is None:
            continue
        level = state.groups[group]
        for name in level.locks - state.account.locks:
            expected = level.values.get(name, state.account.values[name])
            found = resolve_setting(state, name, user=user)
            assert (found.value, found.locked_at, found.locked_by) == (expected, "group", group)


@seed(HARNESS_SEED)
@PROPERTY
@given(states())
def test_without_locks_the_most_specific_level_wins(state: PolicyState) -> None:
    for user in USERS:
        group = state.group_of(user)
        group_state = state.groups.get(group) if group else None
        for name in NAMES:
            if name in state.account.locks or (group_state and name in group_state.locks):
                continue
            chain = [("user", state.users[user].values),
                     ("group", group_state.values if group_state else {}),
                     ("account", state.account.values)]
            source, values = next((s, v) for s, v in chain if name in v)
            found = resolve_setting(state, name, user=user)
            assert (found.value, found.source, found.locked_at) == (values[name], source, None)


# -- properties of changes ----------------------------------------------------------------------
@seed(HARNESS_SEED)
@PROPERTY
@given(st.data())
def test_a_change_is_all_or_nothing_and_audited(data: st.DataObject) -> None:
    state = data.draw(states())
    request = data.draw(requests(state))
    before = copy.deepcopy(state)
    outcome = apply_change(state, request)
    assert state == before, "apply_change mutated its input"
    if isinstance(outcome, Refusal):
        assert outcome.code and outcome.message
        return
    assert isinstance(outcome, Applied)
    target = request.target.lower() if request.level == "user" and request.target else \
        request.target
    new = outcome.state.level(request.level, target)
    old = state.level(request.level, target)
    assert new is not None and old is not None
    for name, value in request.values.items():
        assert new.values[name] == value
    for name in request.inherit:
        assert name not in new.values
    for name, on in request.lock.items():
        assert (name in new.locks) == on
    # Nothing outside the target level moved.
    for level, other in (("account", None), *(("group", g) for g in GROUPS),
                         *(("user", u) for u in USERS)):
        if (level, other) != (request.level, target):
            assert outcome.state.level(level, other) == state.level(level, other)
    # The audit names every difference once, old -> new.
    diffs = {(c.setting, c.kind) for c in outcome.changes}
    changed_values = {n for n in set(old.values) | set(new.values)
                      if old.values.get(n, INHERITED) != new.values.get(n, INHERITED)}
    assert diffs == {(n, "value") for n in changed_values} | {
        (n, "lock") for n in old.locks ^ new.locks}


@seed(HARNESS_SEED)
@PROPERTY
@given(st.data())
def test_locks_above_refuse_every_change_below(data: st.DataObject) -> None:
    state = data.draw(states())
    request = data.draw(requests(state))
    outcome = apply_change(state, request)
    names = set(request.values) | set(request.inherit) | set(request.lock)
    if request.role in ("owner", "admin") and request.level == "group" and \
            request.target in state.groups and names & state.account.locks and \
            names <= set(GROUP_NAMES):
        assert isinstance(outcome, Refusal)
        assert outcome.code in ("locked_at_account", "not_lockable", "wrong_level",
                                "conflicting_change")
    if request.role == "member" and request.level in ("account", "group"):
        assert isinstance(outcome, Refusal) and outcome.code == "not_an_admin"


# -- unit cases ---------------------------------------------------------------------------------
def _state(**account: Any) -> PolicyState:
    return PolicyState(
        account=LevelState(values={"calendar_permission": "write",
                                   "calendar_integration": True, **account}),
        groups={"Sales": LevelState()}, membership={"ann@example.com": "Sales"},
        members=frozenset({"ann@example.com", "bob@example.com"}))


def _change(state: PolicyState, level: str, target: str | None, role: str = "owner",
            actor: str = "owner@example.com", **kwargs: Any) -> Applied | Refusal:
    return apply_change(state, ChangeRequest(actor=actor, role=role, level=level,  # type: ignore[arg-type]
                                             target=target, **kwargs))


def test_account_lock_greys_out_the_group() -> None:
    locked = _change(_state(), "account", None, lock={"calendar_permission": True})
    assert isinstance(locked, Applied)
    refused = _change(locked.state, "group", "Sales", values={"calendar_permission": "read"})
    assert isinstance(refused, Refusal) and refused.code == "locked_at_account"
    assert "must be changed at the account level" in refused.message
    assert locked_above(locked.state, "group", "Sales") == {"calendar_permission": "account"}


def test_group_lock_is_mandatory_for_its_users_only() -> None:
    locked = _change(_state(), "group", "Sales", lock={"calendar_integration": True})
    assert isinstance(locked, Applied)
    ann = _change(locked.state, "user", "ann@example.com", role="member",
                  actor="ann@example.com", values={"calendar_integration": False})
    assert isinstance(ann, Refusal) and ann.code == "locked_by_group"
    assert "mandatory for all users in the group" in ann.message
    bob = _change(locked.state, "user", "bob@example.com", role="member",
                  actor="bob@example.com", values={"calendar_integration": False})
    assert isinstance(bob, Applied)
    assert resolve_setting(bob.state, "calendar_integration", user="bob@example.com").value \
        is False


def test_users_change_only_their_own_settings() -> None:
    other = _change(_state(), "user", "bob@example.com", role="member", actor="ann@example.com",
                    values={"calendar_integration": False})
    assert isinstance(other, Refusal) and other.code == "not_allowed"


def test_levels_and_lockability_are_enforced() -> None:
    wrong = _change(_state(), "group", "Sales", values={"setup_by": "admin_application"})
    assert isinstance(wrong, Refusal) and wrong.code == "wrong_level"
    assert "account level" in wrong.message
    lock_user = _change(_state(), "user", "ann@example.com", lock={"calendar_integration": True})
    assert isinstance(lock_user, Refusal) and lock_user.code == "not_lockable"
    unknown = _change(_state(), "account", None, values={"colour": "blue"})
    assert isinstance(unknown, Refusal) and unknown.code == "unknown_setting"
    no_group = _change(_state(), "group", "Nope", values={"calendar_permission": "read"})
    assert isinstance(no_group, Refusal) and no_group.code == "no_such_group"


def test_inherit_removes_the_override_and_is_audited() -> None:
    state = _change(_state(), "group", "Sales", values={"calendar_permission": "read"})
    assert isinstance(state, Applied)
    back = _change(state.state, "group", "Sales", inherit=("calendar_permission",))
    assert isinstance(back, Applied)
    assert resolve_setting(back.state, "calendar_permission", group="Sales").source == "account"
    assert [(c.old, c.new) for c in back.changes] == [("read", INHERITED)]


def test_an_account_change_is_checked_against_every_group() -> None:
    base = PolicyState(account=LevelState(values=dict(validate_settings_defaults())),
                       groups={"Sales": LevelState(values={"authorize_with": "graph"})},
                       members=frozenset())
    change = ChangeRequest(actor="o@example.com", role="owner", level="account", values={
        "office365_environment": "hybrid", "authorize_with": "ews",
        "ews_url": "https://mail.example.com/EWS/Exchange.asmx"})
    refused = apply_change(base, change, validate_settings)
    assert isinstance(refused, Refusal) and refused.code == "graph_hybrid_unsupported"
    assert refused.message.startswith("group Sales: ")


def test_the_validator_normalises_what_is_stored() -> None:
    base = PolicyState(account=LevelState(values=dict(validate_settings_defaults())))
    applied = apply_change(base, ChangeRequest(
        actor="o@example.com", role="owner", level="account",
        values={"allowed_domains": " Example.COM., b\u00fccher.example"}), validate_settings)
    assert isinstance(applied, Applied)
    assert applied.state.account.values["allowed_domains"] == ["example.com",
                                                                "xn--bcher-kva.example"]


def validate_settings_defaults() -> dict[str, Any]:
    from harness.reference.policy import DEFAULTS

    return dict(DEFAULTS)


def test_the_settings_table_matches_the_schema() -> None:
    from harness.api.models import AccountSettings

    assert set(SETTINGS) == set(AccountSettings.model_fields)
