"""Setting resolution: which value applies to a group or a user, and who locked it.

Rules, in order (the documents: an account lock greys the setting out below the account; a
group lock makes it mandatory for the group's users; otherwise users choose):

1. locked at the account: the account's value, whatever a group or user set;
2. locked by the user's group: the group's value (its own, or the one it inherits);
3. otherwise the most specific level that sets it: user, then group, then account, then the
   default.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from harness.reference.policy.state import PolicyState

Source = Literal["default", "account", "group", "user"]


@dataclass(frozen=True, slots=True)
class Resolved:
    value: Any
    source: Source
    locked_at: Literal["account", "group"] | None = None
    locked_by: str | None = None  # the group's name when a group locked it


def _account(state: PolicyState, name: str) -> Resolved:
    if name in state.account.values:
        return Resolved(state.account.values[name], "account")
    return Resolved(state.defaults.get(name), "default")


def resolve_setting(state: PolicyState, name: str, *, group: str | None = None,
                    user: str | None = None) -> Resolved:
    """The value of `name` for `user` (whose group is looked up) or for `group`."""
    if user is not None:
        group = state.group_of(user)
    if name in state.account.locks:
        found = _account(state, name)
        return Resolved(found.value, found.source, "account")
    group_state = state.groups.get(group) if group is not None else None
    if group_state is not None and name in group_state.locks:
        if name in group_state.values:
            return Resolved(group_state.values[name], "group", "group", group)
        found = _account(state, name)
        return Resolved(found.value, found.source, "group", group)
    user_state = state.users.get(user.lower()) if user is not None else None
    if user_state is not None and name in user_state.values:
        return Resolved(user_state.values[name], "user")
    if group_state is not None and name in group_state.values:
        return Resolved(group_state.values[name], "group")
    return _account(state, name)


def setting_names(state: PolicyState) -> list[str]:
    names = dict.fromkeys(state.defaults)
    names.update(dict.fromkeys(state.account.values))
    return list(names)


def resolve_all(state: PolicyState, *, group: str | None = None,
                user: str | None = None) -> dict[str, Resolved]:
    return {name: resolve_setting(state, name, group=group, user=user)
            for name in setting_names(state)}


def values_of(resolved: dict[str, Resolved]) -> dict[str, Any]:
    return {name: r.value for name, r in resolved.items()}


def locked_above(state: PolicyState, level: str, target: str | None) -> dict[str, str]:
    """Settings a level cannot change because a level above locked them (greyed out)."""
    if level == "account":
        return {}
    out = {name: "account" for name in state.account.locks}
    if level == "user" and target is not None:
        group = state.group_of(target)
        group_state = state.groups.get(group) if group else None
        if group_state is not None:
            for name in group_state.locks:
                out.setdefault(name, f"group {group}")
    return out
