"""The policy state: values and locks at account and group level, values at user level.

Immutable on purpose: a change produces a new state or a refusal, so a refusal cannot have
changed anything, which is what users expect and what the property tests check.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any


@dataclass(frozen=True, slots=True)
class LevelState:
    values: Mapping[str, Any] = field(default_factory=dict)  # set at this level
    locks: frozenset[str] = frozenset()  # locked here for every level below


@dataclass(frozen=True, slots=True)
class PolicyState:
    account: LevelState
    groups: Mapping[str, LevelState] = field(default_factory=dict)
    membership: Mapping[str, str] = field(default_factory=dict)  # user -> the user's group
    users: Mapping[str, LevelState] = field(default_factory=dict)  # user-level values
    members: frozenset[str] = frozenset()  # every user of the account (lower case)
    defaults: Mapping[str, Any] = field(default_factory=dict)

    def group_of(self, user: str) -> str | None:
        return self.membership.get(user.lower())

    def with_level(self, level: str, target: str | None, new: LevelState) -> PolicyState:
        if level == "account":
            return replace(self, account=new)
        if level == "group":
            assert target is not None
            return replace(self, groups={**self.groups, target: new})
        assert target is not None
        return replace(self, users={**self.users, target: new})

    def level(self, level: str, target: str | None) -> LevelState | None:
        if level == "account":
            return self.account
        if level == "group":
            return self.groups.get(target or "")
        if (target or "").lower() not in self.members:
            return None
        return self.users.get((target or "").lower(), LevelState())
