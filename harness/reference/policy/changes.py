"""Applying one change at one level: all of it, or a refusal that changed nothing.

The engine checks, in this order: the actor's role, that the target exists, that every setting
named exists at that level and may be locked there, that nothing is locked above (an account lock
must be changed at the account level; a group lock is mandatory for the group's users), and that
the resulting values are valid wherever they apply (an account change is checked against every
group that inherits it). The validator both checks and normalises (e.g. allowed domains).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from harness.reference.policy.refusal import Refusal
from harness.reference.policy.resolution import resolve_all, values_of
from harness.reference.policy.roles import may_change
from harness.reference.policy.settings import SETTINGS, Level, label, levels_text
from harness.reference.policy.state import LevelState, PolicyState

# Audit marker for an override removed (the level inherits again).
INHERITED = "(inherited)"

# Checks and normalises the full set of values in effect somewhere; `where` names that place
# ("" for the account, "group Sales") for messages.
Validator = Callable[[dict[str, Any], str], dict[str, Any] | Refusal]


@dataclass(frozen=True, slots=True)
class ChangeRequest:
    actor: str
    role: str | None  # the actor's role in the account: owner, admin, member or None
    level: Level
    target: str | None = None  # group name or user email; None for the account
    values: Mapping[str, Any] = field(default_factory=dict)
    inherit: tuple[str, ...] = ()
    lock: Mapping[str, bool] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class AuditChange:
    level: Level
    target: str | None
    setting: str
    kind: Literal["value", "lock"]
    old: Any
    new: Any


@dataclass(frozen=True, slots=True)
class Applied:
    state: PolicyState
    changes: tuple[AuditChange, ...]


def accept_all(values: dict[str, Any], where: str) -> dict[str, Any] | Refusal:
    return values


def _target_refusal(state: PolicyState, request: ChangeRequest) -> Refusal | None:
    if request.level == "group" and (request.target or "") not in state.groups:
        return Refusal("no_such_group", f"there is no group {request.target!r} in this account")
    if request.level == "user" and (request.target or "").lower() not in state.members:
        return Refusal("not_a_member", f"{request.target} is not a user of this account")
    return None


def _setting_refusal(state: PolicyState, request: ChangeRequest, name: str) -> Refusal | None:
    spec = SETTINGS.get(name)
    if spec is None:
        return Refusal("unknown_setting", f"there is no setting {name!r}")
    level = request.level
    if level not in spec.levels:
        return Refusal("wrong_level", f"{spec.label} can only be set at the "
                                      f"{levels_text(spec.levels)} level")
    if name in request.lock and level == "user":
        return Refusal("not_lockable", f"{spec.label} can be locked only at account or group "
                                       "level")
    if name in request.lock and not spec.lockable:
        return Refusal("not_lockable", f"{spec.label} is set for the whole account; there is no "
                                       "level below it to lock it for")
    if name in request.inherit and level == "account":
        return Refusal("wrong_level", f"{spec.label}: the account level has nothing above it to "
                                      "inherit from")
    if level != "account" and name in state.account.locks:
        return Refusal("locked_at_account", f"{spec.label} is locked at the account level; it "
                                            "must be changed at the account level")
    if level == "user":
        group = state.group_of(request.target or "")
        group_state = state.groups.get(group) if group else None
        if group_state is not None and name in group_state.locks:
            return Refusal("locked_by_group", f"{spec.label} is locked by the group {group}: it "
                                              "is mandatory for all users in the group")
    return None


def _new_level(old: LevelState, request: ChangeRequest) -> LevelState:
    values = {k: v for k, v in old.values.items() if k not in request.inherit}
    values.update(request.values)
    locks = set(old.locks)
    for name, on in request.lock.items():
        (locks.add if on else locks.discard)(name)
    return LevelState(values=values, locks=frozenset(locks))


def _view(state: PolicyState, level: str, target: str | None) -> dict[str, Any]:
    if level == "account":
        return {**state.defaults, **state.account.values}
    if level == "group":
        return values_of(resolve_all(state, group=target))
    return values_of(resolve_all(state, user=target))


def _validated(state: PolicyState, request: ChangeRequest, validate: Validator
               ) -> PolicyState | Refusal:
    old = state.level(request.level, request.target)
    assert old is not None
    candidate = _new_level(old, request)
    trial = state.with_level(request.level, request.target, candidate)
    where = "" if request.level == "account" else f"{request.level} {request.target}"
    checked = validate(_view(trial, request.level, request.target), where)
    if isinstance(checked, Refusal):
        return checked
    # Keep the validator's normalised form of what was set at this level.
    values = {k: (checked[k] if k in request.values else v)
              for k, v in candidate.values.items()}
    trial = trial.with_level(request.level, request.target,
                             LevelState(values=values, locks=candidate.locks))
    if request.level == "account":
        # An account change reaches every group that inherits it: each must stay valid.
        for group in sorted(trial.groups):
            result = validate(_view(trial, "group", group), f"group {group}")
            if isinstance(result, Refusal):
                return result
    return trial


def _diff(old: LevelState, new: LevelState, level: Level, target: str | None
          ) -> list[AuditChange]:
    out = []
    for name in sorted(set(old.values) | set(new.values)):
        before = old.values.get(name, INHERITED)
        after = new.values.get(name, INHERITED)
        if before != after:
            out.append(AuditChange(level, target, name, "value", before, after))
    for name in sorted(old.locks ^ new.locks):
        out.append(AuditChange(level, target, name, "lock", name in old.locks,
                               name in new.locks))
    return out


def apply_change(state: PolicyState, request: ChangeRequest,
                 validate: Validator = accept_all) -> Applied | Refusal:
    refusal = may_change(request.level, request.actor, request.role, request.target)
    if refusal is None:
        refusal = _target_refusal(state, request)
    if refusal is not None:
        return refusal
    names = list(dict.fromkeys([*request.values, *request.inherit, *request.lock]))
    for name in names:
        refusal = _setting_refusal(state, request, name)
        if refusal is not None:
            return refusal
    both = set(request.values) & set(request.inherit)
    if both:
        name = sorted(both)[0]
        return Refusal("conflicting_change", f"{label(name)} cannot be set and inherited in "
                                             "the same change")
    if request.level == "user" and request.target is not None:
        request = ChangeRequest(request.actor, request.role, "user", request.target.lower(),
                                request.values, request.inherit, request.lock)
    trial = _validated(state, request, validate)
    if isinstance(trial, Refusal):
        return trial
    old = state.level(request.level, request.target)
    new = trial.level(request.level, request.target)
    assert old is not None and new is not None
    return Applied(trial, tuple(_diff(old, new, request.level, request.target)))
